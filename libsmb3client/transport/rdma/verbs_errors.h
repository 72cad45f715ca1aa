// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place where rdma-core's error conventions become Status: librdmacm returns -1 and sets
// errno, libibverbs returns the errno (a few calls return NULL and set errno), and a work
// completion carries an ibv_wc_status (FromIbv, in verbs_impl.h).
#pragma once

#include "smb3/status.h"
#include "transport/rdma/device.h"

namespace smb3::transport::rdma {

// errno -> Status: ENODEV/ENXIO kNotSupported (kNoRdmaDevice), ETIMEDOUT kTimeout,
// ECONNREFUSED/EHOSTUNREACH/ENETUNREACH/EADDRNOTAVAIL/ECONNRESET kUnreachable, ENOMEM
// kResourceExhausted, anything else kSystem.
Status ErrnoStatus(int err, const char* where);
// A librdmacm call's result (0, or -1 with errno).
Status CmStatus(int rc, const char* where);
// A libibverbs call's result (0, or the errno; -1 with errno from the older calls).
Status VerbsStatus(int rc, const char* where);
// (A completion's ibv_wc_status becomes a WcStatus in verbs_impl.h's FromIbv, next to the verbs
// headers, so that this header stays free of them.)

}  // namespace smb3::transport::rdma
