// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/query_info.h"

#include "smb2/body.h"
#include "smb2/create.h"
#include "smb2/header.h"

namespace smb3::smb2 {

Status EncodeQueryInfoRequest(const QueryInfoRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("query info request: no header");
  if (request.input_buffer.size() > UINT32_MAX)
    return Status::Invalid("query info request: input too long");
  const size_t base = w.size() - kHeaderSize;
  // [MS-SMB2] 2.2.37 fixed part (40 bytes).
  w.U16(41);  // StructureSize
  w.U8(request.info_type);
  w.U8(request.file_info_class);
  w.U32(request.output_buffer_length);
  const size_t input_fields = w.size();
  w.U16(0);  // InputBufferOffset (SHOULD be 0 without input)
  w.U16(0);  // Reserved
  w.U32(static_cast<uint32_t>(request.input_buffer.size()));
  w.U32(request.additional_information);
  w.U32(request.flags);
  AppendFileId(request.file_id, w);
  if (request.input_buffer.empty()) {
    w.U8(0);  // keep the Buffer non-empty
  } else {
    w.PatchU16(input_fields, static_cast<uint16_t>(w.size() - base));
    w.Bytes(request.input_buffer);
  }
  return Status::Ok();
}

Result<QueryInfoResponse> DecodeQueryInfoResponse(ByteView message) {
  // [MS-SMB2] 2.2.38.
  static_assert(kQueryInfoResponseStructureSize == 9);
  QueryInfoResponse out;
  SMB3_ASSIGN_OR_RETURN(out.output_buffer,
                        DecodeOutputBufferBody(message, {"query info response: bad body",
                                                         "query info response: buffer overlaps the fixed part",
                                                         "query info response: buffer out of bounds"}));
  return out;
}

}  // namespace smb3::smb2
