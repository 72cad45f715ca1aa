// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.5 / 2.2.6 SESSION_SETUP request and response.
#pragma once

#include <cstdint>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.5 Flags.
inline constexpr uint8_t SMB2_SESSION_FLAG_BINDING = 0x01;

// [MS-SMB2] 2.2.6 SessionFlags.
inline constexpr uint16_t SMB2_SESSION_FLAG_IS_GUEST = 0x0001;
inline constexpr uint16_t SMB2_SESSION_FLAG_IS_NULL = 0x0002;
inline constexpr uint16_t SMB2_SESSION_FLAG_ENCRYPT_DATA = 0x0004;

// [MS-SMB2] 2.2.5 SESSION_SETUP request. `security_mode` takes the 1-byte forms of
// SMB2_NEGOTIATE_SIGNING_ENABLED/REQUIRED; `capabilities` only SMB2_GLOBAL_CAP_DFS is meaningful.
struct SessionSetupRequest {
  uint8_t flags = 0;
  uint8_t security_mode = 0;
  uint32_t capabilities = 0;
  uint64_t previous_session_id = 0;
  ByteView security_buffer;  // GSS token; must outlive the Encode call
};

// [MS-SMB2] 2.2.6 SESSION_SETUP response.
struct SessionSetupResponse {
  uint16_t session_flags = 0;
  ByteView security_buffer;  // view into the message
};

// Writes the body after the header already in `w` (see header.h). An empty token is sent as one
// zero byte of Buffer, because StructureSize 25 promises a variable part.
// Errors: kInvalidArgument when the token exceeds 65535 bytes.
Status EncodeSessionSetupRequest(const SessionSetupRequest& request, ByteWriter& w);

// Parses a SESSION_SETUP response (status STATUS_SUCCESS or STATUS_MORE_PROCESSING_REQUIRED).
// Errors: kProtocol when StructureSize is not 9 or the security buffer is out of bounds.
Result<SessionSetupResponse> DecodeSessionSetupResponse(ByteView message);

}  // namespace smb3::smb2
