// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as the create context chain of a CREATE response ([MS-SMB2] 2.2.14.2):
// durable handle v1/v2 ("DHnQ", "DH2Q"), maximal access ("MxAc"), on-disk id ("QFid"); leases and
// unknown contexts are split and skipped. Every split view must lie inside the chain.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/create_context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView chain(data, size);
  auto views = smb3::smb2::SplitCreateContexts(chain);
  auto decoded = smb3::smb2::DecodeCreateContexts(chain);
  if (!views.ok()) return 0;
  if (views->size() > smb3::smb2::kMaxCreateContexts) abort();
  for (const smb3::smb2::CreateContextView& v : *views) {
    for (smb3::ByteView part : {v.name, v.data}) {
      if (!part.empty() && (part.data() < data || part.data() + part.size() > data + size)) abort();
    }
  }
  (void)decoded;
  return 0;
}
