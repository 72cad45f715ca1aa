// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 NEGOTIATE response ([MS-SMB2] 2.2.4, 2.2.4.1) and checks it
// against a fixed 3.1.1 request; every returned view must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/negotiate.h"

namespace {
void CheckInside(smb3::ByteView part, smb3::ByteView whole) {
  if (!part.empty() &&
      (part.data() < whole.data() || part.data() + part.size() > whole.data() + whole.size())) {
    abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView input(data, size);
  auto r = smb3::smb2::DecodeNegotiateResponse(input);
  if (!r.ok()) return 0;
  CheckInside(r->security_buffer, input);
  CheckInside(r->preauth_salt, input);
  smb3::smb2::NegotiateRequest request;
  request.dialects = {smb3::smb2::kDialect300, smb3::smb2::kDialect302, smb3::smb2::kDialect311};
  request.ciphers = {smb3::smb2::SMB2_ENCRYPTION_AES128_GCM};
  request.signing_algorithms = {smb3::smb2::SMB2_SIGNING_AES_GMAC};
  request.rdma_transform_ids = {smb3::smb2::SMB2_RDMA_TRANSFORM_ENCRYPTION};
  (void)smb3::smb2::CheckNegotiateResponse(request, *r);
  return 0;
}
