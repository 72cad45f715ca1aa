// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.37 SMB2 QUERY_INFO Request and 2.2.38 SMB2 QUERY_INFO Response. The output buffer
// is decoded with the class decoders of smb2/file_info.h.
#pragma once

#include <cstdint>

#include "base/byte_io.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.37 / 2.2.39 InfoType.
inline constexpr uint8_t SMB2_0_INFO_FILE = 0x01;
inline constexpr uint8_t SMB2_0_INFO_FILESYSTEM = 0x02;
inline constexpr uint8_t SMB2_0_INFO_SECURITY = 0x03;
inline constexpr uint8_t SMB2_0_INFO_QUOTA = 0x04;

// [MS-SMB2] 2.2.37 AdditionalInformation for SMB2_0_INFO_SECURITY.
inline constexpr uint32_t OWNER_SECURITY_INFORMATION = 0x00000001;
inline constexpr uint32_t GROUP_SECURITY_INFORMATION = 0x00000002;
inline constexpr uint32_t DACL_SECURITY_INFORMATION = 0x00000004;
inline constexpr uint32_t SACL_SECURITY_INFORMATION = 0x00000008;

// [MS-SMB2] 2.2.37 Flags (FileFullEaInformation queries).
inline constexpr uint32_t SL_RESTART_SCAN = 0x00000001;
inline constexpr uint32_t SL_RETURN_SINGLE_ENTRY = 0x00000002;
inline constexpr uint32_t SL_INDEX_SPECIFIED = 0x00000004;

// [MS-SMB2] 2.2.37 SMB2 QUERY_INFO Request.
struct QueryInfoRequest {
  uint8_t info_type = SMB2_0_INFO_FILE;
  uint8_t file_info_class = 0;  // FileInformationClass / FsInformationClass; 0 for security
  uint32_t output_buffer_length = 0;
  uint32_t additional_information = 0;
  uint32_t flags = 0;
  FileId file_id;
  ByteView input_buffer;  // quota / EA queries only; usually empty
};

// Appends the QUERY_INFO body after the header already in `w`: the 40-byte fixed part and the
// input buffer at offset 104 (InputBufferOffset 0 and one zero byte when it is empty). Errors
// (kInvalidArgument): an input buffer over 4 GiB.
Status EncodeQueryInfoRequest(const QueryInfoRequest& request, ByteWriter& w);

// [MS-SMB2] 2.2.38 SMB2 QUERY_INFO Response.
struct QueryInfoResponse {
  ByteView output_buffer;  // a view into the message
};

inline constexpr uint16_t kQueryInfoResponseStructureSize = 9;

// Errors (kProtocol): short body, wrong StructureSize, output buffer outside the message or
// overlapping the fixed part. Also used for STATUS_BUFFER_OVERFLOW responses, which carry a
// normal (truncated) body.
Result<QueryInfoResponse> DecodeQueryInfoResponse(ByteView message);

}  // namespace smb3::smb2
