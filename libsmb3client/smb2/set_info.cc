// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/set_info.h"

#include "smb2/body.h"
#include "smb2/create.h"
#include "smb2/header.h"

namespace smb3::smb2 {

Status EncodeSetInfoRequest(const SetInfoRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("set info request: no header");
  if (request.buffer.size() > UINT32_MAX) return Status::Invalid("set info request: too long");
  // [MS-SMB2] 2.2.39 fixed part (32 bytes); the Buffer follows at offset 96.
  w.U16(33);  // StructureSize
  w.U8(request.info_type);
  w.U8(request.file_info_class);
  w.U32(static_cast<uint32_t>(request.buffer.size()));  // BufferLength
  w.U16(kHeaderSize + 32);  // BufferOffset: right after the fixed part
  w.U16(0);                 // Reserved
  w.U32(request.additional_information);
  AppendFileId(request.file_id, w);
  if (request.buffer.empty()) {
    w.U8(0);  // keep the Buffer non-empty
  } else {
    w.Bytes(request.buffer);
  }
  return Status::Ok();
}

Status DecodeSetInfoResponse(ByteView message) {
  // [MS-SMB2] 2.2.40: StructureSize 2 only.
  auto r = OpenBody(message, 2, 2, "set info response: bad body");
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace smb3::smb2
