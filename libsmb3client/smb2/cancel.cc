// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/cancel.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.30
Status EncodeCancelRequest(ByteWriter& w) {
  w.U16(4);  // StructureSize
  w.U16(0);  // Reserved
  return Status::Ok();
}

}  // namespace smb3::smb2
