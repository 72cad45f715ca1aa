// SPDX-License-Identifier: LGPL-2.1-or-later
#include "transport/rdma/verbs_errors.h"

#include <cerrno>

#include "transport/rdma/verbs_endpoint.h"
#include "transport/rdma/verbs_impl.h"

namespace smb3::transport::rdma {

Status ErrnoStatus(int err, const char* where) {
  switch (err) {
    case 0:
      return Status::Errno(EIO, where);  // failed without saying why
    case ENODEV:
    case ENXIO:
      return Status(Code::kNotSupported, static_cast<uint32_t>(err), kNoRdmaDevice);
    case ETIMEDOUT:
      return Status(Code::kTimeout, static_cast<uint32_t>(err), where);
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
    case ECONNRESET:
      return Status(Code::kUnreachable, static_cast<uint32_t>(err), where);
    case ENOMEM:
      return Status(Code::kResourceExhausted, static_cast<uint32_t>(err), where);
    default:
      return Status::Errno(err, where);
  }
}

Status CmStatus(int rc, const char* where) {
  return rc == 0 ? Status::Ok() : ErrnoStatus(errno, where);
}

Status VerbsStatus(int rc, const char* where) {
  if (rc == 0) return Status::Ok();
  return ErrnoStatus(rc > 0 ? rc : errno, where);
}

namespace verbs {

WcStatus FromIbv(ibv_wc_status s) {
  switch (s) {
    case IBV_WC_SUCCESS:
      return WcStatus::kSuccess;
    case IBV_WC_WR_FLUSH_ERR:
      return WcStatus::kFlushed;
    case IBV_WC_LOC_LEN_ERR:
      return WcStatus::kLocalLength;
    case IBV_WC_LOC_PROT_ERR:
      return WcStatus::kLocalProtection;
    case IBV_WC_LOC_QP_OP_ERR:
      return WcStatus::kLocalQpOperation;
    case IBV_WC_MW_BIND_ERR:
      return WcStatus::kMemoryWindowBind;
    case IBV_WC_REM_ACCESS_ERR:
      return WcStatus::kRemoteAccess;
    case IBV_WC_REM_INV_REQ_ERR:
      return WcStatus::kRemoteInvalidRequest;
    case IBV_WC_REM_OP_ERR:
      return WcStatus::kRemoteOperation;
    case IBV_WC_RETRY_EXC_ERR:
      return WcStatus::kRetryExceeded;
    case IBV_WC_RNR_RETRY_EXC_ERR:
      return WcStatus::kRnrRetryExceeded;
    default:
      return WcStatus::kGeneral;
  }
}

}  // namespace verbs
}  // namespace smb3::transport::rdma
