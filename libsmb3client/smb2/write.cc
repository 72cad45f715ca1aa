// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/write.h"

#include "smb2/body.h"
#include "smb2/create.h"

namespace smb3::smb2 {

Status EncodeWriteRequest(const WriteRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("write request: no header");
  SMB3_RETURN_IF_ERROR(CheckChannelInfo(request.channel, request.remaining_bytes,
                                        request.channel_info, "write request: bad channel info"));
  const bool rdma = request.channel != SMB2_CHANNEL_NONE;
  // 3.2.4.7: with an RDMA channel, Length and DataOffset MUST be 0.
  if (rdma && request.length != 0) return Status::Invalid("write request: inline data with RDMA");
  const size_t base = w.size() - kHeaderSize;
  // [MS-SMB2] 2.2.21 fixed part (48 bytes).
  w.U16(49);  // StructureSize
  w.U16(rdma ? 0 : kWriteRequestDataOffset);
  w.U32(request.length);
  w.U64(request.offset);
  AppendFileId(request.file_id, w);
  w.U32(request.channel);
  w.U32(request.remaining_bytes);
  const size_t info_fields = w.size();
  w.U16(0);  // WriteChannelInfoOffset
  w.U16(0);  // WriteChannelInfoLength
  w.U32(request.flags);
  if (rdma) {
    // 3.2.4.7: the descriptor list is the Buffer, at offset 112.
    w.PatchU16(info_fields, static_cast<uint16_t>(w.size() - base));
    w.PatchU16(info_fields + 2, static_cast<uint16_t>(request.channel_info.size()));
    w.Bytes(request.channel_info);
  } else if (request.length == 0) {
    w.U8(0);  // keep the Buffer non-empty for a zero-length write
  }
  return Status::Ok();
}

Status EncodeWriteRequestWithData(const WriteRequest& request, ByteView data, ByteWriter& w) {
  if (request.channel != SMB2_CHANNEL_NONE) return Status::Invalid("write request: inline data with RDMA");
  if (data.size() > UINT32_MAX) return Status::Invalid("write request: data too long");
  WriteRequest with_length = request;
  with_length.length = static_cast<uint32_t>(data.size());
  SMB3_RETURN_IF_ERROR(EncodeWriteRequest(with_length, w));
  w.Bytes(data);
  return Status::Ok();
}

Result<WriteResponse> DecodeWriteResponse(ByteView message) {
  constexpr const char* kWhere = "write response: bad body";
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, kWriteResponseStructureSize, 16, kWhere));
  // [MS-SMB2] 2.2.22: Reserved, Count, then Remaining and WriteChannelInfo* (reserved, ignored).
  WriteResponse out;
  r.U16();  // StructureSize
  r.U16();  // Reserved
  out.count = r.U32();
  r.U32();  // Remaining
  r.U16();  // WriteChannelInfoOffset
  r.U16();  // WriteChannelInfoLength
  if (!r.ok()) return Status::Protocol(kWhere);
  return out;
}

}  // namespace smb3::smb2
