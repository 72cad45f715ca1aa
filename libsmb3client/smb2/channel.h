// SPDX-License-Identifier: LGPL-2.1-or-later
// Channel information of SMB2 READ/WRITE requests ([MS-SMB2] 2.2.19, 2.2.21): the Channel values and
// [MS-SMBD] 2.2.3.1 SMB_DIRECT_BUFFER_DESCRIPTOR_V1 lists that advertise registered memory.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.19 / 2.2.21 Channel.
inline constexpr uint32_t SMB2_CHANNEL_NONE = 0x00000000;
inline constexpr uint32_t SMB2_CHANNEL_RDMA_V1 = 0x00000001;
inline constexpr uint32_t SMB2_CHANNEL_RDMA_V1_INVALIDATE = 0x00000002;
inline constexpr uint32_t SMB2_CHANNEL_RDMA_TRANSFORM = 0x00000003;

// [MS-SMBD] 2.2.3.1 SMB_DIRECT_BUFFER_DESCRIPTOR_V1.
struct BufferDescriptorV1 {
  uint64_t offset = 0;  // provider-specific address of the first byte
  uint32_t token = 0;   // steering tag (rkey)
  uint32_t length = 0;  // bytes to transfer
  bool operator==(const BufferDescriptorV1&) const = default;
};

inline constexpr size_t kBufferDescriptorV1Size = 16;
// A received list longer than this is rejected.
inline constexpr size_t kMaxBufferDescriptors = 1024;

// Appends the descriptors back to back (16 bytes each).
void AppendBufferDescriptorsV1(std::span<const BufferDescriptorV1> descriptors, ByteWriter& w);
// The same, as a new buffer (for ReadRequest/WriteRequest::channel_info).
std::vector<uint8_t> EncodeBufferDescriptorsV1(std::span<const BufferDescriptorV1> descriptors);

// Parses a descriptor list. Errors (kProtocol): empty, a length that is not a multiple of 16, or
// more than kMaxBufferDescriptors entries.
Result<std::vector<BufferDescriptorV1>> DecodeBufferDescriptorsV1(ByteView data);

// Whether `channel` carries buffer descriptors (SMB2_CHANNEL_RDMA_V1 or _INVALIDATE).
constexpr bool ChannelUsesDescriptors(uint32_t channel) {
  return channel == SMB2_CHANNEL_RDMA_V1 || channel == SMB2_CHANNEL_RDMA_V1_INVALIDATE;
}

// Request-side check shared by READ and WRITE ([MS-SMB2] 2.2.19, 2.2.21): SMB2_CHANNEL_NONE takes
// no channel info and RemainingBytes 0; the RDMA_V1 channels a non-empty multiple of 16 bytes;
// SMB2_CHANNEL_RDMA_TRANSFORM non-empty; at most 65535 bytes. Returns Invalid(where) otherwise.
Status CheckChannelInfo(uint32_t channel, uint32_t remaining_bytes, ByteView channel_info,
                        const char* where);

}  // namespace smb3::smb2
