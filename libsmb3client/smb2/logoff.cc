// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/logoff.h"

#include "smb2/body.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.7
Status EncodeLogoffRequest(ByteWriter& w) {
  w.U16(4);  // StructureSize
  w.U16(0);  // Reserved
  return Status::Ok();
}

// [MS-SMB2] 2.2.8
Status DecodeLogoffResponse(ByteView message) {
  auto r = OpenBody(message, 4, 4, "logoff response: bad size");
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace smb3::smb2
