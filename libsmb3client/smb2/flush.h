// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.17 SMB2 FLUSH Request and 2.2.18 SMB2 FLUSH Response.
#pragma once

#include "base/byte_io.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.17 SMB2 FLUSH Request.
struct FlushRequest {
  FileId file_id;
};

// Appends the 24-byte FLUSH body after the header already in `w`.
Status EncodeFlushRequest(const FlushRequest& request, ByteWriter& w);

// Checks a FLUSH response (whole message): StructureSize 4. Errors (kProtocol): short or wrong body.
Status DecodeFlushResponse(ByteView message);

}  // namespace smb3::smb2
