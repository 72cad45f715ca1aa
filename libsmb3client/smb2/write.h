// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.21 SMB2 WRITE Request and 2.2.22 SMB2 WRITE Response, with the channel fields used
// for SMB Direct (RDMA) writes.
//
// Zero-copy contract: EncodeWriteRequest writes only the body that precedes the data (the 48-byte
// fixed part, plus the channel info for RDMA). For SMB2_CHANNEL_NONE, DataOffset is
// kWriteRequestDataOffset (112 = header + fixed part) and the caller sends exactly `length` bytes of
// file data right after the encoded bytes (e.g. as a second iovec); the message is then the
// encoded bytes followed by the data. For an RDMA channel the data is not in the message at all:
// Length and DataOffset are 0 and RemainingBytes says how much the server pulls through the
// descriptors in channel_info.
#pragma once

#include <cstdint>

#include "base/byte_io.h"
#include "smb2/channel.h"
#include "smb2/header.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.21 Flags.
inline constexpr uint32_t SMB2_WRITEFLAG_WRITE_THROUGH = 0x00000001;
inline constexpr uint32_t SMB2_WRITEFLAG_WRITE_UNBUFFERED = 0x00000002;

// Where inline write data starts, from the beginning of the SMB2 header.
inline constexpr uint16_t kWriteRequestDataOffset = kHeaderSize + 48;

// [MS-SMB2] 2.2.21 SMB2 WRITE Request (without the data itself).
struct WriteRequest {
  uint32_t length = 0;  // inline data bytes that follow; must be 0 with an RDMA channel
  uint64_t offset = 0;
  FileId file_id;
  uint32_t channel = SMB2_CHANNEL_NONE;
  uint32_t remaining_bytes = 0;  // RDMA: the number of bytes being written; else 0
  // RDMA: the encoded SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list (EncodeBufferDescriptorsV1) the
  // server reads from; must be empty for SMB2_CHANNEL_NONE.
  ByteView channel_info;
  uint32_t flags = 0;  // SMB2_WRITEFLAG_*
};

// Appends the WRITE body, without the data, after the header already in `w` (see the contract
// above). SMB2_CHANNEL_NONE with length 0 appends one zero byte so that the Buffer is not empty.
// Errors (kInvalidArgument): as CheckChannelInfo, or a non-zero length with an RDMA channel.
Status EncodeWriteRequest(const WriteRequest& request, ByteWriter& w);

// Convenience for small writes: the body and the data in one buffer (length := data.size(),
// SMB2_CHANNEL_NONE only).
Status EncodeWriteRequestWithData(const WriteRequest& request, ByteView data, ByteWriter& w);

// [MS-SMB2] 2.2.22 SMB2 WRITE Response.
struct WriteResponse {
  uint32_t count = 0;  // bytes written
};

inline constexpr uint16_t kWriteResponseStructureSize = 17;

// Decodes a WRITE response (whole message). Errors (kProtocol): short body, wrong StructureSize.
Result<WriteResponse> DecodeWriteResponse(ByteView message);

}  // namespace smb3::smb2
