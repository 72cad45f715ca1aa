// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 CREATE response ([MS-SMB2] 2.2.14) with its create context
// chain; every view handed out must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/create.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = smb3::smb2::DecodeCreateResponse(smb3::ByteView(data, size));
  if (!r.ok()) return 0;
  const auto& chain = r->create_contexts;
  if (!chain.empty() && (chain.data() < data || chain.data() + chain.size() > data + size)) abort();
  auto views = smb3::smb2::SplitCreateContexts(chain);
  if (!views.ok() || views->size() > smb3::smb2::kMaxCreateContexts) abort();
  (void)r->ToFileInfo();
  return 0;
}
