// SPDX-License-Identifier: LGPL-2.1-or-later
// Session keys of SMB2/SMB3: cipher and signing-algorithm identifiers, and the derivation of the
// signing, encryption, decryption and application keys from the GSS session key
// ([MS-SMB2] 3.1.4.2, 3.2.5.3.1, 3.2.5.3.3).
#pragma once

#include <array>
#include <cstdint>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::crypto {

// [MS-SMB2] 2.2.3.1.2 SMB2_ENCRYPTION_CAPABILITIES cipher ids (kNone: no cipher negotiated).
enum class CipherId : uint16_t {
  kNone = 0x0000,
  SMB2_ENCRYPTION_AES128_CCM = 0x0001,
  SMB2_ENCRYPTION_AES128_GCM = 0x0002,
  SMB2_ENCRYPTION_AES256_CCM = 0x0003,
  SMB2_ENCRYPTION_AES256_GCM = 0x0004,
};

// [MS-SMB2] 2.2.3.1.7 SMB2_SIGNING_CAPABILITIES signing algorithm ids.
enum class SigningAlgorithm : uint16_t {
  kHmacSha256 = 0x0000,
  kAesCmac = 0x0001,
  kAesGmac = 0x0002,
};

// Whether a wire value names a cipher (resp. signing algorithm) this library implements.
bool IsKnownCipher(uint16_t wire_id);
bool IsKnownSigningAlgorithm(uint16_t wire_id);
// 16 for the AES-128 ciphers, 32 for the AES-256 ones, 0 for kNone or unknown values.
size_t CipherKeySize(CipherId cipher);
// The signing algorithm a dialect uses when none was negotiated ([MS-SMB2] 3.1.4.1): HMAC-SHA256
// for 2.0.2 and 2.1, AES-CMAC for the 3.x family.
SigningAlgorithm DefaultSigningAlgorithm(uint16_t dialect);

// A 16- or 32-byte secret; wiped when destroyed or overwritten. Copyable (sessions hand keys to
// channels), never logged.
class SecretKey {
 public:
  SecretKey() = default;
  // Keeps the first min(bytes.size(), 32) bytes.
  explicit SecretKey(ByteView bytes);
  SecretKey(const SecretKey& other);
  SecretKey& operator=(const SecretKey& other);
  ~SecretKey();

  ByteView view() const { return ByteView(bytes_.data(), size_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::array<uint8_t, 32> bytes_{};
  size_t size_ = 0;
};

// Inputs of the key derivation of one authenticated session.
struct KeyDerivationInput {
  uint16_t dialect = 0;            // smb2::kDialect300 / 302 / 311, or 0x0202 / 0x0210
  CipherId cipher = CipherId::kNone;  // Connection.CipherId; kNone: derive no encryption keys
  ByteView session_key;            // the full key queried from GSS (NTLM: ExportedSessionKey)
  ByteView preauth_hash;           // 3.1.1: Session.PreauthIntegrityHashValue (64 bytes)
};

// The keys of Session ([MS-SMB2] 3.2.1.3). For 2.0.2/2.1 only `signing` is set (the session key);
// `encryption` and `decryption` are set when a cipher is given and the dialect is 3.x.
struct SessionKeys {
  SecretKey session_key;  // Session.SessionKey: first 16 bytes, right-padded with zeros
  SecretKey signing;      // Session.SigningKey (= the first Channel.SigningKey)
  SecretKey encryption;   // Session.EncryptionKey: client-to-server sealing
  SecretKey decryption;   // Session.DecryptionKey: server-to-client unsealing
  SecretKey application;  // Session.ApplicationKey
};

// [MS-SMB2] 3.2.5.3.1. Errors: kInvalidArgument for an empty session key, an unknown dialect or
// cipher, a 3.1.1 derivation without a 64-byte preauth hash, or a cipher with a 2.x dialect;
// kCrypto when the library fails.
Result<SessionKeys> DeriveSessionKeys(const KeyDerivationInput& input);

// [MS-SMB2] 3.2.5.3.3: Channel.SigningKey of a channel bound to an existing session, from the
// session key of the binding authentication (3.x only). For 3.1.1 the label is "SMBSigningKey" and
// the context the binding's own preauth hash; 3.0.x uses "SMB2AESCMAC" / "SmbSign".
Result<SecretKey> DeriveChannelSigningKey(uint16_t dialect, ByteView session_key,
                                          ByteView preauth_hash);

}  // namespace smb3::crypto
