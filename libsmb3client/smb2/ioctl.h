// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.31 / 2.2.32 IOCTL request and response. The FSCTL payloads are in fsctl.h.
#pragma once

#include <cstdint>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.31 Flags.
inline constexpr uint32_t SMB2_0_IOCTL_IS_FSCTL = 0x00000001;

// The FileId of IOCTLs that address no open ([MS-SMB2] 3.2.4.20.10, 3.2.4.20.12 ... and
// FSCTL_VALIDATE_NEGOTIATE_INFO, 3.2.5.14.12).
inline constexpr FileId kIoctlNoFileId{0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL};

// [MS-SMB2] 2.2.31 IOCTL request.
struct IoctlRequest {
  uint32_t ctl_code = 0;
  FileId file_id;
  ByteView input;  // input buffer; must outlive the Encode call
  uint32_t max_input_response = 0;
  uint32_t max_output_response = 0;
  uint32_t flags = SMB2_0_IOCTL_IS_FSCTL;
};

// [MS-SMB2] 2.2.32 IOCTL response.
struct IoctlResponse {
  uint32_t ctl_code = 0;
  FileId file_id;
  ByteView input;  // views into the message
  ByteView output;
};

// Writes the body after the header already in `w`. An empty input is sent as InputOffset 0 and
// one zero byte of Buffer (StructureSize 57 promises a variable part).
// Errors: kInvalidArgument when the input does not fit a 32-bit count.
Status EncodeIoctlRequest(const IoctlRequest& request, ByteWriter& w);

// Parses an IOCTL response (also the STATUS_BUFFER_OVERFLOW and STATUS_INVALID_PARAMETER forms
// some FSCTLs return with a full body). Both buffers must lie within the message; a zero count
// ignores its offset ([MS-SMB2] 3.2.5.14). Errors: kProtocol on any malformed field.
Result<IoctlResponse> DecodeIoctlResponse(ByteView message);

}  // namespace smb3::smb2
