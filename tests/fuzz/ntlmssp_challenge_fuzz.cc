// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an NTLMSSP CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2); whatever decodes
// must re-encode and decode to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "auth/ntlmssp_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto msg = smb3::auth::DecodeChallengeMessage(smb3::ByteView(data, size));
  if (!msg.ok()) return 0;
  auto encoded = smb3::auth::EncodeChallengeMessage(*msg);
  if (!encoded.ok()) abort();
  auto again = smb3::auth::DecodeChallengeMessage(*encoded);
  if (!again.ok() || again->target_info != msg->target_info ||
      again->target_name != msg->target_name || again->negotiate_flags != msg->negotiate_flags) {
    abort();
  }
  return 0;
}
