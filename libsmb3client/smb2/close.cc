// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/close.h"

#include "smb2/body.h"
#include "smb2/create.h"
#include "smb2/header.h"

namespace smb3::smb2 {

Status EncodeCloseRequest(const CloseRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("close request: no header");
  // [MS-SMB2] 2.2.15.
  w.U16(24);  // StructureSize
  w.U16(request.flags);
  w.U32(0);  // Reserved
  AppendFileId(request.file_id, w);
  return Status::Ok();
}

FileInfo CloseResponse::ToFileInfo() const {
  FileInfo info;
  info.creation_time = creation_time;
  info.last_access_time = last_access_time;
  info.last_write_time = last_write_time;
  info.change_time = change_time;
  info.allocation_size = allocation_size;
  info.end_of_file = end_of_file;
  info.attributes = file_attributes;
  return info;
}

Result<CloseResponse> DecodeCloseResponse(ByteView message) {
  constexpr const char* kWhere = "close response: bad body";
  SMB3_ASSIGN_OR_RETURN(ByteReader r,
                        OpenBody(message, kCloseResponseStructureSize, 60, kWhere));
  // [MS-SMB2] 2.2.16.
  CloseResponse out;
  r.U16();  // StructureSize
  out.flags = r.U16();
  r.U32();  // Reserved
  out.creation_time = r.U64();
  out.last_access_time = r.U64();
  out.last_write_time = r.U64();
  out.change_time = r.U64();
  out.allocation_size = r.U64();
  out.end_of_file = r.U64();
  out.file_attributes = r.U32();
  if (!r.ok()) return Status::Protocol(kWhere);
  return out;
}

}  // namespace smb3::smb2
