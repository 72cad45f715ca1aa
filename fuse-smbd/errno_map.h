// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place where SMB errors become errno values (what the kernel hands to the application).
//
// Every status from smb3::Client reaches FUSE through ErrnoFromStatus: a failing NTSTATUS through the
// NTSTATUS table, the library's own codes (disconnected, timeout, ...) through the code table. An
// NTSTATUS missing from the table is EIO. Thread-safe (pure functions over constant tables).
#pragma once

#include <cstdint>

#include "smb3/status.h"

namespace fuse_smbd {

// errno for a failing NTSTATUS; EIO when the table has no entry. STATUS_SUCCESS gives 0.
int ErrnoFromNtStatus(uint32_t nt_status);

// errno for any Status: 0 when ok; kSystem/kUnreachable carry their errno; kNtStatus/kAuth go through
// the NTSTATUS table; the other codes have fixed values (kDisconnected and kTimeout are EIO, so that a
// write that could not be made durable reaches the application as EIO).
int ErrnoFromStatus(const smb3::Status& status);

// The same Status re-expressed as Code::kSystem with the errno above, keeping `where`. Ok stays ok.
smb3::Status ToErrno(const smb3::Status& status);

}  // namespace fuse_smbd
