// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/echo.h"

#include "smb2/body.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.28
Status EncodeEchoRequest(ByteWriter& w) {
  w.U16(4);  // StructureSize
  w.U16(0);  // Reserved
  return Status::Ok();
}

// [MS-SMB2] 2.2.29
Status DecodeEchoResponse(ByteView message) {
  auto r = OpenBody(message, 4, 4, "echo response: bad size");
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace smb3::smb2
