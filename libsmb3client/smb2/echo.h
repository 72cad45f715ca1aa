// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.28 / 2.2.29 ECHO request and response.
#pragma once

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// Writes the 4-byte ECHO request body after the header already in `w`. Never fails.
Status EncodeEchoRequest(ByteWriter& w);

// Checks an ECHO response body. Errors: kProtocol when StructureSize is not 4 or it is truncated.
Status DecodeEchoResponse(ByteView message);

}  // namespace smb3::smb2
