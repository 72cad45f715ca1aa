// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.30 CANCEL request. The server sends no response to a CANCEL; the cancelled request
// completes instead (usually with STATUS_CANCELLED).
#pragma once

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// Writes the 4-byte CANCEL body after the header already in `w`. The header carries the MessageId
// (or, with SMB2_FLAGS_ASYNC_COMMAND, the AsyncId) of the request to cancel. Never fails.
Status EncodeCancelRequest(ByteWriter& w);

}  // namespace smb3::smb2
