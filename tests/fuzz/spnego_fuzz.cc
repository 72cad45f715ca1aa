// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as the SPNEGO tokens a server sends: NegTokenInit2 ([MS-SPNG] 2.2.1) and
// NegTokenResp ([RFC 4178] 4.2.2). A decoded NegTokenResp must survive an encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "auth/spnego.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView input(data, size);
  auto init = smb3::auth::DecodeNegTokenInit(input);
  if (init.ok()) (void)smb3::auth::OffersNtlmssp(*init);
  auto resp = smb3::auth::DecodeNegTokenResp(input);
  if (!resp.ok()) return 0;
  auto again = smb3::auth::DecodeNegTokenResp(smb3::auth::EncodeNegTokenResp(*resp));
  if (!again.ok() || again->neg_state != resp->neg_state ||
      again->supported_mech != resp->supported_mech ||
      again->response_token != resp->response_token ||
      again->mech_list_mic != resp->mech_list_mic) {
    abort();
  }
  return 0;
}
