// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/read.h"

#include "smb2/body.h"
#include "smb2/create.h"

namespace smb3::smb2 {

Status EncodeReadRequest(const ReadRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("read request: no header");
  SMB3_RETURN_IF_ERROR(CheckChannelInfo(request.channel, request.remaining_bytes,
                                        request.channel_info, "read request: bad channel info"));
  const size_t base = w.size() - kHeaderSize;
  // [MS-SMB2] 2.2.19 fixed part (48 bytes).
  w.U16(49);  // StructureSize
  w.U8(request.padding);
  w.U8(request.flags);
  w.U32(request.length);
  w.U64(request.offset);
  AppendFileId(request.file_id, w);
  w.U32(request.minimum_count);
  w.U32(request.channel);
  w.U32(request.remaining_bytes);
  const size_t info_fields = w.size();
  w.U16(0);  // ReadChannelInfoOffset
  w.U16(0);  // ReadChannelInfoLength
  if (request.channel_info.empty()) {
    w.U8(0);  // 3.2.4.6: the first byte of the Buffer field MUST be set to 0
  } else {
    w.PatchU16(info_fields, static_cast<uint16_t>(w.size() - base));
    w.PatchU16(info_fields + 2, static_cast<uint16_t>(request.channel_info.size()));
    w.Bytes(request.channel_info);
  }
  return Status::Ok();
}

Result<ReadResponse> DecodeReadResponseFixed(ByteView prefix, size_t message_size) {
  constexpr const char* kWhere = "read response: bad body";
  if (prefix.size() > message_size) return Status::Protocol(kWhere);
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(prefix, kReadResponseStructureSize, 16, kWhere));
  // [MS-SMB2] 2.2.20.
  ReadResponse out;
  r.U16();  // StructureSize
  out.data_offset = r.U8();
  r.U8();  // Reserved
  out.data_length = r.U32();
  out.data_remaining = r.U32();
  out.flags = r.U32();
  if (!r.ok()) return Status::Protocol(kWhere);
  if (out.data_length != 0) {
    if (out.data_offset < kReadResponseFixed)
      return Status::Protocol("read response: data overlaps the fixed part");
    if (out.data_length > message_size || out.data_offset > message_size - out.data_length)
      return Status::Protocol("read response: data out of bounds");
  }
  return out;
}

Result<ReadResponse> DecodeReadResponse(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ReadResponse out, DecodeReadResponseFixed(message, message.size()));
  if (out.data_length != 0) out.data = message.subspan(out.data_offset, out.data_length);
  return out;
}

}  // namespace smb3::smb2
