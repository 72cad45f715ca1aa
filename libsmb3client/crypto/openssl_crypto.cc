// SPDX-License-Identifier: LGPL-2.1-or-later
// crypto.h over OpenSSL 3: the one file of the project that includes <openssl/*>.
//
// Algorithms are fetched once (a fetch is a locked provider lookup; signing and sealing run per
// message) and kept for the life of the process; fetched EVP objects are immutable and safe to use
// from any thread. MD4 and RC4 live in the legacy provider, which is loaded into a private library
// context so that the process-wide default context (and whatever the application does with it) is
// left untouched.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "crypto/crypto.h"

namespace smb3::crypto {
namespace {

// Collects and clears OpenSSL's error queue into a Status; the detail keeps the (packed) first error.
Status CryptoError(const char* where) {
  unsigned long err = ERR_get_error();
  ERR_clear_error();
  return Status(Code::kCrypto, static_cast<uint32_t>(err), where);
}

struct Algorithms {
  EVP_MD* md5 = nullptr;
  EVP_MD* sha512 = nullptr;
  EVP_MAC* hmac = nullptr;
  EVP_MAC* cmac = nullptr;
  EVP_MAC* gmac = nullptr;
  EVP_CIPHER* aes128_ccm = nullptr;
  EVP_CIPHER* aes256_ccm = nullptr;
  EVP_CIPHER* aes128_gcm = nullptr;
  EVP_CIPHER* aes256_gcm = nullptr;
  // Legacy provider, in its own library context.
  OSSL_LIB_CTX* legacy_ctx = nullptr;
  EVP_MD* md4 = nullptr;
  EVP_CIPHER* rc4 = nullptr;
};

Algorithms FetchAll() {
  Algorithms a;
  a.md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  a.sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  a.hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  a.cmac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  a.gmac = EVP_MAC_fetch(nullptr, "GMAC", nullptr);
  a.aes128_ccm = EVP_CIPHER_fetch(nullptr, "AES-128-CCM", nullptr);
  a.aes256_ccm = EVP_CIPHER_fetch(nullptr, "AES-256-CCM", nullptr);
  a.aes128_gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  a.aes256_gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  a.legacy_ctx = OSSL_LIB_CTX_new();
  if (a.legacy_ctx != nullptr) {
    // Both providers: the legacy one has MD4 and RC4, the default one what they build on.
    OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(a.legacy_ctx, "legacy");
    OSSL_PROVIDER* deflt = OSSL_PROVIDER_load(a.legacy_ctx, "default");
    if (legacy != nullptr && deflt != nullptr) {
      a.md4 = EVP_MD_fetch(a.legacy_ctx, "MD4", nullptr);
      a.rc4 = EVP_CIPHER_fetch(a.legacy_ctx, "RC4", nullptr);
    }
  }
  // A missing algorithm surfaces as kCrypto when it is used, not here.
  ERR_clear_error();
  return a;
}

const Algorithms& Algs() {
  static const Algorithms algorithms = FetchAll();
  return algorithms;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// OpenSSL treats a null key pointer as "keep the previous key"; an empty key must still be a key.
const unsigned char* KeyPtr(ByteView key) {
  static const unsigned char kEmpty = 0;
  return key.empty() ? &kEmpty : key.data();
}

template <size_t N>
Result<std::array<uint8_t, N>> Digest(const EVP_MD* md, std::span<const ByteView> parts,
                                      const char* where) {
  if (md == nullptr) return Status(Code::kCrypto, 0, where);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) return CryptoError(where);
  for (ByteView part : parts) {
    if (!part.empty() && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      return CryptoError(where);
    }
  }
  std::array<uint8_t, N> out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) return CryptoError(where);
  if (len != N) return Status(Code::kCrypto, 0, where);
  return out;
}

template <size_t N>
Result<std::array<uint8_t, N>> Mac(EVP_MAC* mac, ByteView key, const OSSL_PARAM* params,
                                   std::span<const ByteView> parts, const char* where) {
  if (mac == nullptr) return Status(Code::kCrypto, 0, where);
  MacCtx ctx(EVP_MAC_CTX_new(mac));
  if (!ctx || EVP_MAC_init(ctx.get(), KeyPtr(key), key.size(), params) != 1) {
    return CryptoError(where);
  }
  for (ByteView part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) {
      return CryptoError(where);
    }
  }
  std::array<uint8_t, N> out;
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1) return CryptoError(where);
  if (len != N) return Status(Code::kCrypto, 0, where);
  return out;
}

template <size_t N>
Result<std::array<uint8_t, N>> Hmac(const char* digest, ByteView key,
                                    std::span<const ByteView> parts, const char* where) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  return Mac<N>(Algs().hmac, key, params, parts, where);
}

const EVP_CIPHER* AeadCipher(AeadAlgorithm alg) {
  switch (alg) {
    case AeadAlgorithm::kAes128Ccm:
      return Algs().aes128_ccm;
    case AeadAlgorithm::kAes256Ccm:
      return Algs().aes256_ccm;
    case AeadAlgorithm::kAes128Gcm:
      return Algs().aes128_gcm;
    case AeadAlgorithm::kAes256Gcm:
      return Algs().aes256_gcm;
  }
  return nullptr;
}

bool IsCcm(AeadAlgorithm alg) {
  return alg == AeadAlgorithm::kAes128Ccm || alg == AeadAlgorithm::kAes256Ccm;
}

size_t AeadKeySize(AeadAlgorithm alg) {
  return (alg == AeadAlgorithm::kAes128Ccm || alg == AeadAlgorithm::kAes128Gcm) ? 16 : 32;
}

// Checks the arguments shared by encryption and decryption. `out` may be exactly `in` (in place)
// but must not partially overlap it.
Status CheckAeadArgs(AeadAlgorithm alg, ByteView key, ByteView nonce, ByteView aad, ByteView in,
                     MutableByteView out, const char* where) {
  if (AeadCipher(alg) == nullptr) return Status(Code::kCrypto, 0, where);
  if (key.size() != AeadKeySize(alg)) return Status::Invalid(where);
  if (nonce.size() != (IsCcm(alg) ? 11u : 12u)) return Status::Invalid(where);
  if (out.size() != in.size()) return Status::Invalid(where);
  if (in.size() > INT_MAX || aad.size() > INT_MAX) return Status::Invalid(where);
  if (!in.empty() && in.data() != out.data()) {
    const uint8_t* a = in.data();
    const uint8_t* b = out.data();
    if ((a < b && b < a + in.size()) || (b < a && a < b + out.size())) {
      return Status::Invalid(where);
    }
  }
  return Status::Ok();
}

// Sets cipher, nonce length, (CCM) tag length or expected tag, then key and nonce.
Status AeadInit(EVP_CIPHER_CTX* ctx, AeadAlgorithm alg, ByteView key, ByteView nonce,
                unsigned char* ccm_tag, int enc, const char* where) {
  if (EVP_CipherInit_ex2(ctx, AeadCipher(alg), nullptr, nullptr, enc, nullptr) != 1) {
    return CryptoError(where);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) !=
      1) {
    return CryptoError(where);
  }
  // CCM fixes the tag length (and, when decrypting, the expected tag) before the key.
  if (IsCcm(alg) && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, ccm_tag) != 1) {
    return CryptoError(where);
  }
  if (EVP_CipherInit_ex2(ctx, nullptr, key.data(), nonce.data(), enc, nullptr) != 1) {
    return CryptoError(where);
  }
  return Status::Ok();
}

}  // namespace

Result<Md4Digest> Md4(ByteView data) {
  const ByteView parts[] = {data};
  return Digest<16>(Algs().md4, parts, "crypto: MD4 (legacy provider)");
}

Result<Md5Digest> Md5(ByteView data) {
  const ByteView parts[] = {data};
  return Digest<16>(Algs().md5, parts, "crypto: MD5");
}

Result<Md5Digest> HmacMd5(ByteView key, std::span<const ByteView> parts) {
  return Hmac<16>("MD5", key, parts, "crypto: HMAC-MD5");
}

Result<Sha256Digest> HmacSha256(ByteView key, std::span<const ByteView> parts) {
  return Hmac<32>("SHA256", key, parts, "crypto: HMAC-SHA256");
}

Result<Sha512Digest> Sha512(std::span<const ByteView> parts) {
  return Digest<64>(Algs().sha512, parts, "crypto: SHA-512");
}

Result<Block16> AesCmac(ByteView key, std::span<const ByteView> parts) {
  if (key.size() != 16) return Status::Invalid("crypto: AES-CMAC key must be 16 bytes");
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                                          const_cast<char*>("AES-128-CBC"), 0),
                         OSSL_PARAM_construct_end()};
  return Mac<16>(Algs().cmac, key, params, parts, "crypto: AES-CMAC");
}

Result<Block16> AesGmac(ByteView key, ByteView nonce, std::span<const ByteView> parts) {
  if (key.size() != 16) return Status::Invalid("crypto: AES-GMAC key must be 16 bytes");
  if (nonce.size() != 12) return Status::Invalid("crypto: AES-GMAC nonce must be 12 bytes");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, const_cast<char*>("AES-128-GCM"),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, const_cast<uint8_t*>(nonce.data()),
                                        nonce.size()),
      OSSL_PARAM_construct_end()};
  return Mac<16>(Algs().gmac, key, params, parts, "crypto: AES-GMAC");
}

Status Rc4(ByteView key, MutableByteView data) {
  static constexpr const char* kWhere = "crypto: RC4 (legacy provider)";
  if (Algs().rc4 == nullptr) return Status(Code::kCrypto, 0, kWhere);
  if (key.empty() || key.size() > 256) return Status::Invalid("crypto: RC4 key must be 1..256 bytes");
  if (data.size() > INT_MAX) return Status::Invalid("crypto: RC4 input too large");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), Algs().rc4, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_key_length(ctx.get(), static_cast<int>(key.size())) != 1 ||
      EVP_EncryptInit_ex2(ctx.get(), nullptr, key.data(), nullptr, nullptr) != 1) {
    return CryptoError(kWhere);
  }
  if (data.empty()) return Status::Ok();
  int len = 0;
  if (EVP_EncryptUpdate(ctx.get(), data.data(), &len, data.data(), static_cast<int>(data.size())) !=
          1 ||
      static_cast<size_t>(len) != data.size()) {
    return CryptoError(kWhere);
  }
  return Status::Ok();
}

Status RandomBytes(MutableByteView out) {
  if (out.empty()) return Status::Ok();
  if (out.size() > INT_MAX) return Status::Invalid("crypto: random request too large");
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return CryptoError("crypto: RAND_bytes");
  }
  return Status::Ok();
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void SecureZero(MutableByteView data) {
  if (!data.empty()) OPENSSL_cleanse(data.data(), data.size());
}

Status AeadEncrypt(AeadAlgorithm alg, ByteView key, ByteView nonce, ByteView aad,
                   ByteView plaintext, MutableByteView out, std::span<uint8_t, 16> tag) {
  static constexpr const char* kWhere = "crypto: AEAD encrypt";
  SMB3_RETURN_IF_ERROR(CheckAeadArgs(alg, key, nonce, aad, plaintext, out, kWhere));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return CryptoError(kWhere);
  SMB3_RETURN_IF_ERROR(AeadInit(ctx.get(), alg, key, nonce, nullptr, 1, kWhere));
  int len = 0;
  // CCM needs the message length before any associated data.
  if (IsCcm(alg) && EVP_EncryptUpdate(ctx.get(), nullptr, &len, nullptr,
                                      static_cast<int>(plaintext.size())) != 1) {
    return CryptoError(kWhere);
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return CryptoError(kWhere);
  }
  size_t written = 0;
  // CCM computes its tag in the data update, which OpenSSL needs even for an empty message (with
  // non-null pointers, or the call would read as another length/AAD update).
  if (!plaintext.empty() || IsCcm(alg)) {
    unsigned char no_data = 0;
    const unsigned char* in = plaintext.empty() ? &no_data : plaintext.data();
    unsigned char* dst = plaintext.empty() ? &no_data : out.data();
    if (EVP_EncryptUpdate(ctx.get(), dst, &len, in, static_cast<int>(plaintext.size())) != 1) {
      return CryptoError(kWhere);
    }
    written = static_cast<size_t>(len);
  }
  unsigned char final_block[16];
  if (EVP_EncryptFinal_ex(ctx.get(), final_block, &len) != 1) return CryptoError(kWhere);
  // Both modes are stream-like: Update produced every byte and Final produces none.
  if (written != plaintext.size() || len != 0) return Status(Code::kCrypto, 0, kWhere);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) != 1) {
    return CryptoError(kWhere);
  }
  return Status::Ok();
}

Status AeadDecrypt(AeadAlgorithm alg, ByteView key, ByteView nonce, ByteView aad,
                   ByteView ciphertext, std::span<const uint8_t, 16> tag, MutableByteView out) {
  static constexpr const char* kWhere = "crypto: AEAD decrypt";
  SMB3_RETURN_IF_ERROR(CheckAeadArgs(alg, key, nonce, aad, ciphertext, out, kWhere));
  unsigned char expected_tag[16];
  std::memcpy(expected_tag, tag.data(), sizeof expected_tag);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return CryptoError(kWhere);
  SMB3_RETURN_IF_ERROR(AeadInit(ctx.get(), alg, key, nonce, expected_tag, 0, kWhere));
  auto reject = [&]() {
    SecureZero(out);
    ERR_clear_error();
    return Status(Code::kSecurity, 0, "crypto: AEAD tag mismatch");
  };
  int len = 0;
  if (IsCcm(alg) && EVP_DecryptUpdate(ctx.get(), nullptr, &len, nullptr,
                                      static_cast<int>(ciphertext.size())) != 1) {
    return CryptoError(kWhere);
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return CryptoError(kWhere);
  }
  if (IsCcm(alg)) {
    // CCM verifies inside the (single) data update; OpenSSL needs that call even for no data.
    unsigned char no_data = 0;
    const unsigned char* in = ciphertext.empty() ? &no_data : ciphertext.data();
    unsigned char* dst = ciphertext.empty() ? &no_data : out.data();
    if (EVP_DecryptUpdate(ctx.get(), dst, &len, in, static_cast<int>(ciphertext.size())) != 1) {
      return reject();
    }
    return Status::Ok();
  }
  if (!ciphertext.empty() &&
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) != 1) {
    return CryptoError(kWhere);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, 16, expected_tag) != 1) {
    return CryptoError(kWhere);
  }
  unsigned char final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1) return reject();
  return Status::Ok();
}

Result<std::vector<uint8_t>> Sp800108CounterHmacSha256(ByteView key, ByteView label,
                                                       ByteView context, uint32_t length_bits) {
  // [MS-SMB2] 3.1.4.2: SP800-108 section 5.1, counter mode, PRF HMAC-SHA256, r = 32.
  if (length_bits != 128 && length_bits != 256) {
    return Status::Invalid("crypto: SP800-108 length must be 128 or 256 bits");
  }
  const uint8_t kZero = 0;
  uint8_t length_be[4];
  uint8_t counter_be[4];
  for (int i = 0; i < 4; ++i) length_be[i] = static_cast<uint8_t>(length_bits >> (24 - 8 * i));
  std::vector<uint8_t> out;
  const size_t want = length_bits / 8;
  // One HMAC-SHA256 block (256 bits) covers both lengths: i = 1 only.
  for (uint32_t i = 1; out.size() < want; ++i) {
    for (int b = 0; b < 4; ++b) counter_be[b] = static_cast<uint8_t>(i >> (24 - 8 * b));
    const ByteView parts[] = {ByteView(counter_be), label, ByteView(&kZero, 1), context,
                              ByteView(length_be)};
    SMB3_ASSIGN_OR_RETURN(Sha256Digest block, HmacSha256(key, parts));
    size_t take = std::min(block.size(), want - out.size());
    out.insert(out.end(), block.begin(), block.begin() + static_cast<ptrdiff_t>(take));
    SecureZero(block);
  }
  return out;
}

Status PreauthHash::Update(ByteView message) {
  // [MS-SMB2] 3.2.5.2 / 3.2.5.3.1: H(i) = SHA-512(H(i-1) || message).
  const ByteView parts[] = {ByteView(value_), message};
  SMB3_ASSIGN_OR_RETURN(Sha512Digest next, Sha512(parts));
  value_ = next;
  return Status::Ok();
}

}  // namespace smb3::crypto
