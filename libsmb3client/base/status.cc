// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb3/status.h"

#include <cstdio>
#include <cstring>

#include "smb3/ntstatus.h"

namespace smb3 {

std::string Status::ToString() const {
  char buf[256];
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kNtStatus:
    case Code::kAuth:
      snprintf(buf, sizeof buf, "%s: %s", where(), NtStatusName(detail_));
      return buf;
    case Code::kSystem:
    case Code::kUnreachable:
      snprintf(buf, sizeof buf, "%s: %s", where(), strerror(static_cast<int>(detail_)));
      return buf;
    default:
      break;
  }
  static const char* kNames[] = {"ok",       "invalid argument", "ntstatus",    "system error",
                                 "unreachable", "protocol error",   "security error", "authentication failed",
                                 "timeout",  "disconnected",     "cancelled",   "not supported",
                                 "crypto failure", "resource exhausted"};
  auto idx = static_cast<size_t>(code_);
  snprintf(buf, sizeof buf, "%s: %s", where(), idx < std::size(kNames) ? kNames[idx] : "error");
  return buf;
}

}  // namespace smb3
