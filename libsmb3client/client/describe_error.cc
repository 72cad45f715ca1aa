// SPDX-License-Identifier: LGPL-2.1-or-later
// One line for a person: what went wrong and what to do about it.
#include <cstring>
#include <string>

#include "smb3/client.h"
#include "smb3/ntstatus.h"

namespace smb3 {

std::string DescribeError(const Status& s) {
  std::string detail = s.ToString();
  auto with = [&](const char* what) { return std::string(what) + " (" + detail + ")"; };
  // rdma=yes failures name their cause and fix already (client/transport_select.cc).
  if (std::strncmp(s.where(), "rdma=yes: ", 10) == 0) return "SMB Direct unavailable: " + detail;
  switch (s.code()) {
    case Code::kOk:
      return "ok";
    case Code::kAuth:
      switch (s.detail()) {
        case STATUS_LOGON_FAILURE:
        case STATUS_WRONG_PASSWORD:
        case STATUS_NO_SUCH_USER:
          return with("wrong user name or password: check username/password, the credentials file or domain");
        case STATUS_ACCOUNT_DISABLED:
          return with("the account is disabled on the server");
        case STATUS_PASSWORD_EXPIRED:
          return with("the password has expired: change it on the server");
        default:
          return with("authentication failed: check the credentials and sec= option");
      }
    case Code::kNtStatus:
      switch (s.detail()) {
        case STATUS_BAD_NETWORK_NAME:
          return with("no such share on the server: check the share name (smbclient -L lists them)");
        case STATUS_ACCESS_DENIED:
          return with("access denied by the server: check the user's rights on the share");
        case STATUS_OBJECT_NAME_NOT_FOUND:
        case STATUS_OBJECT_PATH_NOT_FOUND:
          return with("no such file or directory on the share");
        default:
          return with("the server refused the request");
      }
    case Code::kUnreachable:
      switch (s.detail()) {
        case ECONNREFUSED:
          return with("connection refused: is an SMB server listening on that host and port?");
        case ETIMEDOUT:
          return with("the server did not answer: check the host name, port and firewalls");
        default:
          return with("cannot reach the server: check the host name and network");
      }
    case Code::kNotSupported:
      return with("not supported: the server and this client share no usable dialect/feature (see vers=)");
    case Code::kSecurity:
      return with("security requirement not met: the server cannot sign/seal as required, or a message failed verification");
    case Code::kProtocol:
      return with("the server sent a malformed response; the connection was dropped");
    case Code::kTimeout:
      return with("the server stopped answering");
    case Code::kDisconnected:
      return with("the connection to the server was lost");
    case Code::kInvalidArgument:
      return with("invalid argument");
    default:
      return detail;
  }
}

}  // namespace smb3
