// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an MS-SMBD negotiate request ([MS-SMBD] 2.2.1, 3.1.5.6); an accepted
// request must satisfy every rule of 3.1.5.6 and survive a re-encode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "smbd/pdu.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = smb3::smbd::DecodeNegotiateRequest(smb3::ByteView(data, size));
  if (!r.ok()) return 0;
  if (r->credits_requested == 0 || r->max_receive_size < 128 || r->max_fragmented_size < 131072 ||
      r->min_version > 0x0100 || r->max_version < 0x0100) {
    abort();
  }
  std::vector<uint8_t> out;
  smb3::ByteWriter w(out);
  if (!smb3::smbd::EncodeNegotiateRequest(*r, w).ok()) abort();
  auto again = smb3::smbd::DecodeNegotiateRequest(out);
  if (!again.ok() || !(*again == *r)) abort();
  return 0;
}
