// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as SMB2 CLOSE ([MS-SMB2] 2.2.16) and FLUSH (2.2.18) responses.
#include <cstddef>
#include <cstdint>

#include "smb2/close.h"
#include "smb2/flush.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView message(data, size);
  auto r = smb3::smb2::DecodeCloseResponse(message);
  if (r.ok() && r->has_attributes()) (void)r->ToFileInfo();
  (void)smb3::smb2::DecodeFlushResponse(message);
  return 0;
}
