// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.7 / 2.2.8 LOGOFF request and response.
#pragma once

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// Writes the 4-byte LOGOFF request body after the header already in `w`. Never fails.
Status EncodeLogoffRequest(ByteWriter& w);

// Checks a LOGOFF response body. Errors: kProtocol when StructureSize is not 4 or it is truncated.
Status DecodeLogoffResponse(ByteView message);

}  // namespace smb3::smb2
