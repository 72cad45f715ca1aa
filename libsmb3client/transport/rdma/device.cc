// SPDX-License-Identifier: LGPL-2.1-or-later
#include "transport/rdma/device.h"

#include <cerrno>

namespace smb3::transport::rdma {

const char* WindowMechanismName(WindowMechanism m) {
  switch (m) {
    case WindowMechanism::kMemoryWindow:
      return "memory-window";
    case WindowMechanism::kRegisterPerIo:
      return "register-per-io";
  }
  return "unknown";
}

const char* WcStatusName(WcStatus s) {
  switch (s) {
    case WcStatus::kSuccess:
      return "rdma: success";
    case WcStatus::kFlushed:
      return "rdma: work request flushed (queue pair in error or disconnected)";
    case WcStatus::kLocalLength:
      return "rdma: message longer than the posted receive";
    case WcStatus::kLocalProtection:
      return "rdma: local protection error (key, bounds or access of a local buffer)";
    case WcStatus::kLocalQpOperation:
      return "rdma: local queue pair operation error";
    case WcStatus::kMemoryWindowBind:
      return "rdma: memory window bind refused";
    case WcStatus::kRemoteAccess:
      return "rdma: remote access error (key, bounds or access rights refused)";
    case WcStatus::kRemoteInvalidRequest:
      return "rdma: remote invalid request";
    case WcStatus::kRemoteOperation:
      return "rdma: remote operation error";
    case WcStatus::kRetryExceeded:
      return "rdma: transport retries exceeded (peer gone)";
    case WcStatus::kRnrRetryExceeded:
      return "rdma: receiver not ready, retries exceeded";
    case WcStatus::kGeneral:
      return "rdma: work request failed";
  }
  return "rdma: unknown completion status";
}

Status WcStatusToStatus(WcStatus s) {
  switch (s) {
    case WcStatus::kSuccess:
      return Status::Ok();
    case WcStatus::kFlushed:
    case WcStatus::kRetryExceeded:
    case WcStatus::kRnrRetryExceeded:
      return Status(Code::kDisconnected, 0, WcStatusName(s));
    case WcStatus::kLocalLength:
    case WcStatus::kLocalProtection:
    case WcStatus::kMemoryWindowBind:
    case WcStatus::kRemoteAccess:
    case WcStatus::kRemoteInvalidRequest:
    case WcStatus::kRemoteOperation:
      return Status(Code::kProtocol, 0, WcStatusName(s));
    case WcStatus::kLocalQpOperation:
    case WcStatus::kGeneral:
      break;
  }
  return Status::Errno(EIO, WcStatusName(s));
}

}  // namespace smb3::transport::rdma
