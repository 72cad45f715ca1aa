// SPDX-License-Identifier: LGPL-2.1-or-later
// Cryptographic primitives the protocol needs, implemented over OpenSSL 3 in openssl_crypto.cc
// (the one file that includes <openssl/*>). All functions are thread-safe. Failures of the
// underlying library return Code::kCrypto; a failed AEAD tag check returns Code::kSecurity.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::crypto {

using Md4Digest = std::array<uint8_t, 16>;
using Md5Digest = std::array<uint8_t, 16>;
using Sha256Digest = std::array<uint8_t, 32>;
using Sha512Digest = std::array<uint8_t, 64>;
using Block16 = std::array<uint8_t, 16>;

// MD4 (for the NT hash; lives in OpenSSL 3's legacy provider, which this loads once).
Result<Md4Digest> Md4(ByteView data);
Result<Md5Digest> Md5(ByteView data);
// HMAC over the concatenation of `parts`.
Result<Md5Digest> HmacMd5(ByteView key, std::span<const ByteView> parts);
Result<Sha256Digest> HmacSha256(ByteView key, std::span<const ByteView> parts);
Result<Sha512Digest> Sha512(std::span<const ByteView> parts);
// RFC 4493 AES-128-CMAC over the concatenation of `parts`; key is 16 bytes.
Result<Block16> AesCmac(ByteView key, std::span<const ByteView> parts);
// RC4 in place (NTLM key exchange; legacy provider).
Status Rc4(ByteView key, MutableByteView data);
// Cryptographically secure random bytes.
Status RandomBytes(MutableByteView out);
// Compares in time that depends only on the lengths; false when the lengths differ.
bool ConstantTimeEqual(ByteView a, ByteView b);
// Overwrites `data` with zeros in a way the compiler cannot elide (for keys and secrets).
void SecureZero(MutableByteView data);

enum class AeadAlgorithm : uint8_t { kAes128Ccm, kAes128Gcm, kAes256Ccm, kAes256Gcm };
// Nonce: 11 bytes for CCM, 12 for GCM. Tag: 16 bytes. `out` has plaintext.size() bytes.
Status AeadEncrypt(AeadAlgorithm alg, ByteView key, ByteView nonce, ByteView aad,
                   ByteView plaintext, MutableByteView out, std::span<uint8_t, 16> tag);
// Returns kSecurity when the tag does not verify; `out` is then zeroed.
Status AeadDecrypt(AeadAlgorithm alg, ByteView key, ByteView nonce, ByteView aad,
                   ByteView ciphertext, std::span<const uint8_t, 16> tag, MutableByteView out);
// AES-GMAC (GCM with only AAD): 16-byte tag over the concatenation of `parts`; key 16 bytes,
// nonce 12 bytes.
Result<Block16> AesGmac(ByteView key, ByteView nonce, std::span<const ByteView> parts);

// NIST SP800-108 KDF in counter mode with HMAC-SHA256 as the PRF, r = 32, as [MS-SMB2] 3.1.4.2
// uses it: K(i) = HMAC(key, i || label || 0x00 || context || L). Returns L/8 bytes (L = 128 or 256).
Result<std::vector<uint8_t>> Sp800108CounterHmacSha256(ByteView key, ByteView label,
                                                       ByteView context, uint32_t length_bits);

// Incremental SHA-512 for the 3.1.1 preauth integrity hash: H = SHA512(H || message).
class PreauthHash {
 public:
  PreauthHash() { value_.fill(0); }
  Status Update(ByteView message);  // value = SHA512(value || message)
  const Sha512Digest& value() const { return value_; }

 private:
  Sha512Digest value_;
};

}  // namespace smb3::crypto
