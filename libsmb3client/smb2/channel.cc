// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/channel.h"

namespace smb3::smb2 {

void AppendBufferDescriptorsV1(std::span<const BufferDescriptorV1> descriptors, ByteWriter& w) {
  // [MS-SMBD] 2.2.3.1: Offset, Token, Length.
  for (const BufferDescriptorV1& d : descriptors) {
    w.U64(d.offset);
    w.U32(d.token);
    w.U32(d.length);
  }
}

std::vector<uint8_t> EncodeBufferDescriptorsV1(std::span<const BufferDescriptorV1> descriptors) {
  std::vector<uint8_t> out;
  out.reserve(descriptors.size() * kBufferDescriptorV1Size);
  ByteWriter w(out);
  AppendBufferDescriptorsV1(descriptors, w);
  return out;
}

Status CheckChannelInfo(uint32_t channel, uint32_t remaining_bytes, ByteView channel_info,
                        const char* where) {
  switch (channel) {
    case SMB2_CHANNEL_NONE:
      // 2.2.19/2.2.21: RemainingBytes and the channel info MUST be 0 without a channel.
      if (!channel_info.empty() || remaining_bytes != 0) return Status::Invalid(where);
      return Status::Ok();
    case SMB2_CHANNEL_RDMA_V1:
    case SMB2_CHANNEL_RDMA_V1_INVALIDATE:
      if (channel_info.empty() || channel_info.size() % kBufferDescriptorV1Size != 0)
        return Status::Invalid(where);
      break;
    case SMB2_CHANNEL_RDMA_TRANSFORM:
      if (channel_info.empty()) return Status::Invalid(where);
      break;
    default:
      return Status::Invalid(where);
  }
  if (channel_info.size() > 0xFFFF) return Status::Invalid(where);
  return Status::Ok();
}

Result<std::vector<BufferDescriptorV1>> DecodeBufferDescriptorsV1(ByteView data) {
  if (data.empty() || data.size() % kBufferDescriptorV1Size != 0)
    return Status::Protocol("buffer descriptors: bad length");
  size_t count = data.size() / kBufferDescriptorV1Size;
  if (count > kMaxBufferDescriptors) return Status::Protocol("buffer descriptors: too many");
  std::vector<BufferDescriptorV1> out(count);
  ByteReader r(data);
  for (BufferDescriptorV1& d : out) {
    d.offset = r.U64();
    d.token = r.U32();
    d.length = r.U32();
  }
  if (!r.ok()) return Status::Protocol("buffer descriptors: truncated");
  return out;
}

}  // namespace smb3::smb2
