// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an FSCTL_QUERY_NETWORK_INTERFACE_INFO output buffer ([MS-SMB2]
// 2.2.32.5): the Next chain must stay bounded and every address must be non-empty text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/fsctl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = smb3::smb2::DecodeNetworkInterfaceInfo(smb3::ByteView(data, size));
  if (!r.ok()) return 0;
  if (r->size() > smb3::smb2::kMaxNetworkInterfaces) abort();
  for (const auto& nic : *r) {
    if (nic.address.empty() || nic.address.size() > 45) abort();
  }
  return 0;
}
