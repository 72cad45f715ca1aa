// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.15 SMB2 CLOSE Request and 2.2.16 SMB2 CLOSE Response.
#pragma once

#include <cstdint>

#include "base/byte_io.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.15 / 2.2.16 Flags.
inline constexpr uint16_t SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB = 0x0001;

// [MS-SMB2] 2.2.15 SMB2 CLOSE Request.
struct CloseRequest {
  uint16_t flags = 0;  // SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB asks for the final attributes
  FileId file_id;
};

// Appends the 24-byte CLOSE body after the header already in `w`.
Status EncodeCloseRequest(const CloseRequest& request, ByteWriter& w);

// [MS-SMB2] 2.2.16 SMB2 CLOSE Response. The attribute fields are meaningful only when `flags`
// has SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB (has_attributes()).
struct CloseResponse {
  uint16_t flags = 0;
  FileTime creation_time = 0;
  FileTime last_access_time = 0;
  FileTime last_write_time = 0;
  FileTime change_time = 0;
  uint64_t allocation_size = 0;
  uint64_t end_of_file = 0;
  uint32_t file_attributes = 0;

  bool has_attributes() const { return (flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB) != 0; }
  // The attributes as a FileInfo (file_id unknown: 0). Only valid when has_attributes().
  FileInfo ToFileInfo() const;
};

inline constexpr uint16_t kCloseResponseStructureSize = 60;

// Decodes a CLOSE response (whole message). Errors (kProtocol): short body, wrong StructureSize.
Result<CloseResponse> DecodeCloseResponse(ByteView message);

}  // namespace smb3::smb2
