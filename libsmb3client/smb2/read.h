// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.19 SMB2 READ Request and 2.2.20 SMB2 READ Response, with the channel fields used for
// SMB Direct (RDMA) reads, and the CreditCharge rule of 3.1.5.2.
#pragma once

#include <cstdint>

#include "base/byte_io.h"
#include "smb2/channel.h"
#include "smb2/header.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.19 Flags.
inline constexpr uint8_t SMB2_READFLAG_READ_UNBUFFERED = 0x01;
inline constexpr uint8_t SMB2_READFLAG_REQUEST_COMPRESSED = 0x02;
// [MS-SMB2] 2.2.20 Flags (3.1.1).
inline constexpr uint32_t SMB2_READFLAG_RESPONSE_NONE = 0x00000000;
inline constexpr uint32_t SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM = 0x00000001;

// [MS-SMB2] 3.1.5.2: CreditCharge = (max(send, expected response payload) - 1) / 65536 + 1, i.e.
// max(1, ceil(bytes / 65536)); saturates at 65535 (the field is 16 bits).
constexpr uint16_t CreditChargeFor(uint32_t bytes) {
  if (bytes == 0) return 1;
  uint32_t charge = (bytes - 1) / 65536 + 1;
  return charge > 0xFFFF ? 0xFFFF : static_cast<uint16_t>(charge);
}

// [MS-SMB2] 2.2.19 SMB2 READ Request.
struct ReadRequest {
  uint8_t padding = 0x50;  // requested DataOffset of the response (3.2.4.6 SHOULD be 0x50)
  uint8_t flags = 0;       // SMB2_READFLAG_*
  uint32_t length = 0;
  uint64_t offset = 0;
  FileId file_id;
  uint32_t minimum_count = 0;
  uint32_t channel = SMB2_CHANNEL_NONE;
  uint32_t remaining_bytes = 0;  // RDMA: the length of the data to be read; else 0
  // RDMA: the encoded SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list (EncodeBufferDescriptorsV1) the
  // server writes into; must be empty for SMB2_CHANNEL_NONE.
  ByteView channel_info;
};

// Appends the READ body after the header already in `w`: the 48-byte fixed part, then either the
// channel info at offset 112 (ReadChannelInfoOffset) or, without channel info, one zero byte
// (3.2.4.6: the first byte of Buffer is 0). Errors (kInvalidArgument): an unknown channel, channel
// info missing for an RDMA channel or present (or RemainingBytes non-zero) for SMB2_CHANNEL_NONE,
// a descriptor list that is not a multiple of 16 bytes, channel info over 65535 bytes.
Status EncodeReadRequest(const ReadRequest& request, ByteWriter& w);

// [MS-SMB2] 2.2.20 SMB2 READ Response.
struct ReadResponse {
  uint8_t data_offset = 0;  // from the start of the header; 0 allowed when data_length is 0
  uint32_t data_length = 0;
  uint32_t data_remaining = 0;  // RDMA: bytes the server placed through the channel
  uint32_t flags = 0;           // SMB2_READFLAG_RESPONSE_*
  ByteView data;                // view into the message; empty from DecodeReadResponseFixed
};

inline constexpr uint16_t kReadResponseStructureSize = 17;
// Header plus the fixed READ response body: enough to learn where the data is and how long.
inline constexpr size_t kReadResponseFixed = kHeaderSize + 16;

// Decodes a complete READ response. Errors (kProtocol): short body, wrong StructureSize, data
// (DataOffset, DataLength) not inside the message or overlapping the fixed part.
Result<ReadResponse> DecodeReadResponse(ByteView message);

// For receiving the payload directly into the caller's buffer: decodes the first
// kReadResponseFixed bytes (`prefix`, more are ignored) of a message whose total length is
// `message_size`, and checks that the data lies inside it. The data occupies
// [data_offset, data_offset + data_length) of the message; bytes between kReadResponseFixed and
// data_offset are padding. `data` is left empty. Errors as DecodeReadResponse.
Result<ReadResponse> DecodeReadResponseFixed(ByteView prefix, size_t message_size);

}  // namespace smb3::smb2
