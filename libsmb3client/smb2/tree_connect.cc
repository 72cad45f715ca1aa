// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/tree_connect.h"

#include <vector>

#include "base/utf16.h"
#include "smb2/body.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.9
Status EncodeTreeConnectRequest(const TreeConnectRequest& request, ByteWriter& w) {
  if (request.flags & SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT) {
    return Status::Invalid("tree connect request: extensions are not supported");
  }
  if (request.path.empty()) return Status::Invalid("tree connect request: empty path");
  auto path = Utf8ToUtf16le(request.path);
  if (!path.ok()) return Status::Invalid("tree connect request: path is not valid UTF-8");
  if (path->size() > UINT16_MAX) return Status::Invalid("tree connect request: path too long");
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
