// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzzes the receive path of SMB3 encryption: TRANSFORM_HEADER decoding ([MS-SMB2] 2.2.41),
// in-place decryption with each cipher under a fixed key (tags will almost never verify, so this
// mostly exercises the length checks before the AEAD), and the compound-chain check applied to
// decrypted plaintext ([MS-SMB2] 3.2.5.1.1.1), here run on the raw input.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "crypto/transform.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const smb3::ByteView input(data, size);
  auto header = smb3::crypto::DecodeTransformHeader(input);
  if (header.ok()) {
    static const uint8_t kKey[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (uint16_t id = 1; id <= 4; ++id) {
      const auto cipher = static_cast<smb3::crypto::CipherId>(id);
      std::vector<uint8_t> copy(data, data + size);
      auto plain = smb3::crypto::DecryptMessageInPlace(
          cipher, smb3::ByteView(kKey, smb3::crypto::CipherKeySize(cipher)), copy);
      if (plain.ok()) (void)smb3::crypto::CheckDecryptedChain(*plain, header->session_id);
    }
  }
  (void)smb3::crypto::CheckDecryptedChain(input, size >= 48 ? smb3::LoadU64(data + 40) : 0);
  return 0;
}
