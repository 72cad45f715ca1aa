// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 SESSION_SETUP response ([MS-SMB2] 2.2.6).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/session_setup.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = smb3::smb2::DecodeSessionSetupResponse(smb3::ByteView(data, size));
  if (!r.ok() || r->security_buffer.empty()) return 0;
  if (r->security_buffer.data() < data ||
      r->security_buffer.data() + r->security_buffer.size() > data + size) {
    abort();
  }
  return 0;
}
