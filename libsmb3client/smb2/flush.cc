// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/flush.h"

#include "smb2/body.h"
#include "smb2/create.h"
#include "smb2/header.h"

namespace smb3::smb2 {

Status EncodeFlushRequest(const FlushRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("flush request: no header");
  // [MS-SMB2] 2.2.17.
  w.U16(24);  // StructureSize
  w.U16(0);   // Reserved1
  w.U32(0);   // Reserved2
  AppendFileId(request.file_id, w);
  return Status::Ok();
}

Status DecodeFlushResponse(ByteView message) {
  // [MS-SMB2] 2.2.18: StructureSize 4, Reserved.
  auto r = OpenBody(message, 4, 4, "flush response: bad body");
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace smb3::smb2
