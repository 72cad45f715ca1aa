// SPDX-License-Identifier: LGPL-2.1-or-later
#include "crypto/keys.h"

#include <algorithm>
#include <cstring>

#include "crypto/crypto.h"

namespace smb3::crypto {
namespace {

constexpr uint16_t kDialect202 = 0x0202;
constexpr uint16_t kDialect210 = 0x0210;
constexpr uint16_t kDialect300 = 0x0300;
constexpr uint16_t kDialect302 = 0x0302;
constexpr uint16_t kDialect311 = 0x0311;
constexpr size_t kPreauthHashSize = 64;

bool Is3x(uint16_t dialect) {
  return dialect == kDialect300 || dialect == kDialect302 || dialect == kDialect311;
}

// Labels and contexts are passed with their terminating NUL, as [MS-SMB2] 3.2.5.3.1 counts it
// ("The size of "SMB2AESCMAC" is 12"). sizeof on the literal includes it.
template <size_t N>
ByteView Z(const char (&literal)[N]) {
  return ByteView(reinterpret_cast<const uint8_t*>(literal), N);
}

Result<SecretKey> Kdf(ByteView key, ByteView label, ByteView context, uint32_t bits) {
  SMB3_ASSIGN_OR_RETURN(std::vector<uint8_t> derived,
                        Sp800108CounterHmacSha256(key, label, context, bits));
  SecretKey out(derived);
  SecureZero(derived);
  return out;
}

}  // namespace

bool IsKnownCipher(uint16_t wire_id) { return wire_id >= 0x0001 && wire_id <= 0x0004; }

bool IsKnownSigningAlgorithm(uint16_t wire_id) { return wire_id <= 0x0002; }

size_t CipherKeySize(CipherId cipher) {
  switch (cipher) {
    case CipherId::SMB2_ENCRYPTION_AES128_CCM:
    case CipherId::SMB2_ENCRYPTION_AES128_GCM:
      return 16;
    case CipherId::SMB2_ENCRYPTION_AES256_CCM:
    case CipherId::SMB2_ENCRYPTION_AES256_GCM:
      return 32;
    case CipherId::kNone:
      break;
  }
  return 0;
}

SigningAlgorithm DefaultSigningAlgorithm(uint16_t dialect) {
  return Is3x(dialect) ? SigningAlgorithm::kAesCmac : SigningAlgorithm::kHmacSha256;
}

SecretKey::SecretKey(ByteView bytes) : size_(std::min(bytes.size(), bytes_.size())) {
  if (size_ != 0) std::memcpy(bytes_.data(), bytes.data(), size_);
}

SecretKey::SecretKey(const SecretKey& other) : bytes_(other.bytes_), size_(other.size_) {}

SecretKey& SecretKey::operator=(const SecretKey& other) {
  if (this != &other) {
    SecureZero(bytes_);
    bytes_ = other.bytes_;
    size_ = other.size_;
  }
  return *this;
}

SecretKey::~SecretKey() { SecureZero(bytes_); }

Result<SessionKeys> DeriveSessionKeys(const KeyDerivationInput& in) {
  if (in.session_key.empty()) return Status::Invalid("keys: empty session key");
  const bool is_3x = Is3x(in.dialect);
  if (!is_3x && in.dialect != kDialect202 && in.dialect != kDialect210) {
    return Status::Invalid("keys: unknown dialect");
  }
  const size_t cipher_key_size = CipherKeySize(in.cipher);
  if (in.cipher != CipherId::kNone && cipher_key_size == 0) {
    return Status::Invalid("keys: unknown cipher");
  }
  if (!is_3x && in.cipher != CipherId::kNone) {
    return Status::Invalid("keys: encryption needs a 3.x dialect");
  }
  // [MS-SMB2] 3.2.4.1.8 / 3.1.4.3: 3.0 and 3.0.2 only know AES-128-CCM.
  if (is_3x && in.dialect != kDialect311 && in.cipher != CipherId::kNone &&
      in.cipher != CipherId::SMB2_ENCRYPTION_AES128_CCM) {
    return Status::Invalid("keys: 3.0.x encrypts with AES-128-CCM only");
  }
  const bool is_311 = in.dialect == kDialect311;
  if (is_311 && in.preauth_hash.size() != kPreauthHashSize) {
    return Status::Invalid("keys: 3.1.1 needs the 64-byte preauth integrity hash");
  }

  SessionKeys keys;
  // [MS-SMB2] 3.2.5.3.1: Session.SessionKey is the first 16 bytes of the GSS key, right-padded
  // with zeros when shorter.
  std::array<uint8_t, 16> session_key{};
  std::memcpy(session_key.data(), in.session_key.data(), std::min<size_t>(16, in.session_key.size()));
  keys.session_key = SecretKey(session_key);
  SecureZero(session_key);

  if (!is_3x) {
    // [MS-SMB2] 3.2.4.1.1: 2.0.2 and 2.1 sign with Session.SessionKey itself.
    keys.signing = keys.session_key;
    return keys;
  }

  const ByteView base = keys.session_key.view();
  // Signing and application keys are always 128-bit and derived from Session.SessionKey (Samba and
  // Windows agree; L = 256 applies to the 256-bit cipher keys only).
  SMB3_ASSIGN_OR_RETURN(keys.signing,
                        is_311 ? Kdf(base, Z("SMBSigningKey"), in.preauth_hash, 128)
                               : Kdf(base, Z("SMB2AESCMAC"), Z("SmbSign"), 128));
  SMB3_ASSIGN_OR_RETURN(keys.application,
                        is_311 ? Kdf(base, Z("SMBAppKey"), in.preauth_hash, 128)
                               : Kdf(base, Z("SMB2APP"), Z("SmbRpc"), 128));
  if (in.cipher == CipherId::kNone) return keys;

  // Encryption keys: for the AES-256 ciphers the full GSS key (Session.FullSessionKey) and L = 256.
  const bool wide = cipher_key_size == 32;
  const ByteView cipher_base = wide ? in.session_key : base;
  const uint32_t bits = wide ? 256 : 128;
  SMB3_ASSIGN_OR_RETURN(keys.encryption,
                        is_311 ? Kdf(cipher_base, Z("SMBC2SCipherKey"), in.preauth_hash, bits)
                               : Kdf(cipher_base, Z("SMB2AESCCM"), Z("ServerIn "), bits));
  SMB3_ASSIGN_OR_RETURN(keys.decryption,
                        is_311 ? Kdf(cipher_base, Z("SMBS2CCipherKey"), in.preauth_hash, bits)
                               : Kdf(cipher_base, Z("SMB2AESCCM"), Z("ServerOut"), bits));
  return keys;
}

Result<SecretKey> DeriveChannelSigningKey(uint16_t dialect, ByteView session_key,
                                          ByteView preauth_hash) {
  if (session_key.empty()) return Status::Invalid("keys: empty session key");
  if (!Is3x(dialect)) return Status::Invalid("keys: channel binding needs a 3.x dialect");
  // [MS-SMB2] 3.2.5.3.3 / 3.3.5.5.3: the binding's GSS key, first 16 bytes, zero-padded.
  std::array<uint8_t, 16> base{};
  std::memcpy(base.data(), session_key.data(), std::min<size_t>(16, session_key.size()));
  Result<SecretKey> key = Status::Invalid("keys: 3.1.1 needs the 64-byte preauth integrity hash");
  if (dialect == kDialect311) {
    if (preauth_hash.size() == kPreauthHashSize) {
      key = Kdf(base, Z("SMBSigningKey"), preauth_hash, 128);
    }
  } else {
    key = Kdf(base, Z("SMB2AESCMAC"), Z("SmbSign"), 128);
  }
  SecureZero(base);
  return key;
}

}  // namespace smb3::crypto
