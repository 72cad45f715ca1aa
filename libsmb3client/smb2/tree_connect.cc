// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/tree_connect.h"

#include <string_view>
#include <vector>

#include "base/utf16.h"
#include "smb2/body.h"

namespace smb3::smb2 {
namespace {

// [MS-SMB2] 2.2.9 PathOffset: "\\server\share", the server component under 256 characters, the
// share component at most 80. Characters are counted in UTF-16 code units.
Status CheckSharePath(std::string_view path) {
  constexpr const char* kWhere = "tree connect request: path is not \\\\server\\share";
  if (path.size() < 2 || path[0] != '\\' || path[1] != '\\') return Status::Invalid(kWhere);
  const std::string_view rest = path.substr(2);
  const size_t slash = rest.find('\\');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
    return Status::Invalid(kWhere);
  }
  const std::string_view server = rest.substr(0, slash);
  const std::string_view share = rest.substr(slash + 1);
  if (share.find('\\') != std::string_view::npos) return Status::Invalid(kWhere);
  auto server16 = Utf8ToUtf16le(server);
  auto share16 = Utf8ToUtf16le(share);
  if (!server16.ok() || !share16.ok()) {
    return Status::Invalid("tree connect request: path is not valid UTF-8");
  }
  if (server16->size() / 2 >= 256) {
    return Status::Invalid("tree connect request: server name too long");
  }
  if (share16->size() / 2 > 80) {
    return Status::Invalid("tree connect request: share name too long");
  }
  return Status::Ok();
}

}  // namespace

// [MS-SMB2] 2.2.9
Status EncodeTreeConnectRequest(const TreeConnectRequest& request, ByteWriter& w) {
  if (request.flags & SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT) {
    return Status::Invalid("tree connect request: extensions are not supported");
  }
  SMB3_RETURN_IF_ERROR(CheckSharePath(request.path));
  auto path = Utf8ToUtf16le(request.path);
  if (!path.ok()) return Status::Invalid("tree connect request: path is not valid UTF-8");
  const size_t body_start = w.size();
  w.U16(9);  // StructureSize
  w.U16(request.flags);
  w.U16(static_cast<uint16_t>(body_start + 8));  // PathOffset: Buffer follows the fixed part
  w.U16(static_cast<uint16_t>(path->size()));
  w.Bytes(*path);
  return Status::Ok();
}

// [MS-SMB2] 2.2.10
Result<TreeConnectResponse> DecodeTreeConnectResponse(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, 16, 16, "tree connect response: bad size"));
  TreeConnectResponse out;
  r.U16();  // StructureSize
  out.share_type = r.U8();
  r.U8();  // Reserved
  out.share_flags = r.U32();
  out.capabilities = r.U32();
  out.maximal_access = r.U32();
  if (!r.ok()) return Status::Protocol("tree connect response: truncated");
  if (out.share_type < SMB2_SHARE_TYPE_DISK || out.share_type > SMB2_SHARE_TYPE_PRINT) {
    return Status::Protocol("tree connect response: unknown ShareType");
  }
  return out;
}

// [MS-SMB2] 2.2.11
Status EncodeTreeDisconnectRequest(ByteWriter& w) {
  w.U16(4);  // StructureSize
  w.U16(0);  // Reserved
  return Status::Ok();
}

// [MS-SMB2] 2.2.12
Status DecodeTreeDisconnectResponse(ByteView message) {
  auto r = OpenBody(message, 4, 4, "tree disconnect response: bad size");
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace smb3::smb2
