// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 IOCTL response ([MS-SMB2] 2.2.32) and its output as the
// FSCTL payloads the client reads (2.2.32.5, 2.2.32.6).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/fsctl.h"
#include "smb2/ioctl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = smb3::smb2::DecodeIoctlResponse(smb3::ByteView(data, size));
  if (!r.ok()) return 0;
  for (smb3::ByteView part : {r->input, r->output}) {
    if (!part.empty() && (part.data() < data || part.data() + part.size() > data + size)) abort();
  }
  (void)smb3::smb2::DecodeValidateNegotiateInfoResponse(r->output);
  (void)smb3::smb2::DecodeNetworkInterfaceInfo(r->output);
  return 0;
}
