// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.39 SMB2 SET_INFO Request and 2.2.40 SMB2 SET_INFO Response. The Buffer is built
// with the class encoders of smb2/file_info.h.
#pragma once

#include <cstdint>

#include "base/byte_io.h"
#include "smb2/query_info.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.39 SMB2 SET_INFO Request.
struct SetInfoRequest {
  uint8_t info_type = SMB2_0_INFO_FILE;
  uint8_t file_info_class = 0;
  uint32_t additional_information = 0;  // security: which parts; else 0
  FileId file_id;
  ByteView buffer;  // the encoded information (EncodeFile*Information)
};

// Appends the SET_INFO body after the header already in `w`: the 32-byte fixed part and the
// buffer at offset 96 (one zero byte when it is empty). Errors (kInvalidArgument): a buffer over
// 4 GiB.
Status EncodeSetInfoRequest(const SetInfoRequest& request, ByteWriter& w);

// Checks a SET_INFO response (whole message): StructureSize 2. Errors (kProtocol).
Status DecodeSetInfoResponse(ByteView message);

}  // namespace smb3::smb2
