// SPDX-License-Identifier: LGPL-2.1-or-later
// Splits arbitrary bytes as a compounded response chain ([MS-SMB2] 3.2.5.1.9): the elements must
// tile the input exactly, each start with a header, and all but the last be 8-byte multiples.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/compound.h"
#include "smb2/oplock_break.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = smb3::smb2::SplitCompound(smb3::ByteView(data, size));
  if (!r.ok()) return 0;
  const uint8_t* expect = data;
  for (size_t i = 0; i < r->size(); ++i) {
    smb3::ByteView e = (*r)[i];
    if (e.data() != expect || e.size() < smb3::smb2::kHeaderSize) abort();
    if (i + 1 < r->size() && e.size() % 8 != 0) abort();
    expect += e.size();
    if (smb3::smb2::IsBreakNotification(e)) (void)smb3::smb2::DecodeBreakNotification(e);
  }
  if (expect != data + size) abort();
  return 0;
}
