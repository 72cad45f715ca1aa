// SPDX-License-Identifier: LGPL-2.1-or-later
#include "crypto/transform.h"

#include <climits>
#include <cstring>

#include "crypto/crypto.h"
#include "smb2/header.h"

namespace smb3::crypto {
namespace {

struct CipherInfo {
  AeadAlgorithm alg;
  size_t nonce_size;
};

Result<CipherInfo> Info(CipherId cipher) {
  switch (cipher) {
    case CipherId::SMB2_ENCRYPTION_AES128_CCM:
      return CipherInfo{AeadAlgorithm::kAes128Ccm, 11};
    case CipherId::SMB2_ENCRYPTION_AES128_GCM:
      return CipherInfo{AeadAlgorithm::kAes128Gcm, 12};
    case CipherId::SMB2_ENCRYPTION_AES256_CCM:
      return CipherInfo{AeadAlgorithm::kAes256Ccm, 11};
    case CipherId::SMB2_ENCRYPTION_AES256_GCM:
      return CipherInfo{AeadAlgorithm::kAes256Gcm, 12};
    case CipherId::kNone:
      break;
  }
  return Status::Invalid("transform: no or unknown cipher");
}

}  // namespace

void EncodeTransformHeader(const TransformHeader& h, ByteWriter& w) {
  // [MS-SMB2] 2.2.41
  w.U32(smb2::kTransformProtocolId);
  w.Bytes(h.signature);
  w.Bytes(h.nonce);
  w.U32(h.original_message_size);
  w.U16(0);  // Reserved
  w.U16(h.flags);
  w.U64(h.session_id);
}

Result<TransformHeader> DecodeTransformHeader(ByteView message) {
  // [MS-SMB2] 2.2.41
  ByteReader r(message);
  TransformHeader h;
  const uint32_t protocol = r.U32();
  r.CopyTo(h.signature.data(), h.signature.size());
  r.CopyTo(h.nonce.data(), h.nonce.size());
  h.original_message_size = r.U32();
  r.U16();  // Reserved: ignored on receipt
  h.flags = r.U16();
  h.session_id = r.U64();
  if (!r.ok()) return Status::Protocol("transform header: truncated");
  if (protocol != smb2::kTransformProtocolId) {
    return Status::Protocol("transform header: bad ProtocolId");
  }
  // [MS-SMB2] 3.2.5.1.1.1: the message must be larger than the header, and the flags 0x0001.
  if (r.remaining() == 0) return Status::Protocol("transform header: no encrypted message");
  if (h.flags != SMB2_TRANSFORM_FLAG_ENCRYPTED) {
    return Status::Protocol("transform header: Flags/EncryptionAlgorithm is not 0x0001");
  }
  // The ciphertext is exactly the original message (both AEAD modes are length-preserving).
  if (h.original_message_size != r.remaining()) {
    return Status::Protocol("transform header: OriginalMessageSize does not match the message");
  }
  return h;
}

Result<NonceSequence> NonceSequence::Create(CipherId cipher) {
  SMB3_ASSIGN_OR_RETURN(CipherInfo info, Info(cipher));
  (void)info;
  uint8_t salt[4];
  SMB3_RETURN_IF_ERROR(RandomBytes(salt));
  return NonceSequence(cipher, LoadU32(salt), 0);
}

NonceSequence::NonceSequence(CipherId cipher, uint32_t salt, uint64_t first_counter)
    : cipher_(cipher), salt_(salt), counter_(first_counter) {}

NonceSequence::NonceSequence(NonceSequence&& other) noexcept
    : cipher_(other.cipher_), salt_(other.salt_), counter_(other.counter_.load()) {}

Result<TransformNonce> NonceSequence::Next() {
  SMB3_ASSIGN_OR_RETURN(CipherInfo info, Info(cipher_));
  uint64_t value = counter_.load(std::memory_order_relaxed);
  do {
    // UINT64_MAX is never handed out, so an exhausted sequence stays exhausted.
    if (value == UINT64_MAX) {
      return Status(Code::kResourceExhausted, 0, "transform: nonce sequence exhausted");
    }
  } while (!counter_.compare_exchange_weak(value, value + 1, std::memory_order_relaxed));
  TransformNonce nonce{};
  StoreU64(nonce.data(), value);
  uint8_t salt[4];
  StoreU32(salt, salt_);
  // CCM: 3 salt bytes (11-byte nonce); GCM: 4 (12-byte nonce). Reserved bytes stay zero.
  std::memcpy(nonce.data() + 8, salt, info.nonce_size - 8);
  return nonce;
}

Status EncryptMessage(CipherId cipher, ByteView key, const TransformNonce& nonce,
                      uint64_t session_id, ByteView message, std::vector<uint8_t>& out) {
  SMB3_ASSIGN_OR_RETURN(CipherInfo info, Info(cipher));
  if (key.size() != CipherKeySize(cipher)) return Status::Invalid("transform: wrong key size");
  if (message.empty() || message.size() > INT_MAX) {
    return Status::Invalid("transform: message empty or too large to encrypt");
  }
  // [MS-SMB2] 3.1.4.3
  TransformHeader h;
  h.nonce = nonce;
  h.original_message_size = static_cast<uint32_t>(message.size());
  h.flags = SMB2_TRANSFORM_FLAG_ENCRYPTED;
  h.session_id = session_id;
  const size_t start = out.size();
  ByteWriter w(out);
  EncodeTransformHeader(h, w);
  out.resize(start + kTransformHeaderSize + message.size());
  uint8_t* base = out.data() + start;
  std::array<uint8_t, 16> tag;
  Status s = AeadEncrypt(info.alg, key, ByteView(nonce.data(), info.nonce_size),
                         ByteView(base + kTransformAadOffset, kTransformAadSize), message,
                         MutableByteView(base + kTransformHeaderSize, message.size()), tag);
  if (!s.ok()) {
    out.resize(start);
    return s;
  }
  std::memcpy(base + 4, tag.data(), tag.size());  // Signature
  return Status::Ok();
}

Result<MutableByteView> DecryptMessageInPlace(CipherId cipher, ByteView key,
                                              MutableByteView transformed) {
  SMB3_ASSIGN_OR_RETURN(CipherInfo info, Info(cipher));
  if (key.size() != CipherKeySize(cipher)) return Status::Invalid("transform: wrong key size");
  SMB3_ASSIGN_OR_RETURN(TransformHeader h, DecodeTransformHeader(transformed));
  if (transformed.size() - kTransformHeaderSize > INT_MAX) {
    return Status::Protocol("transform: encrypted message too large");
  }
  MutableByteView body = transformed.subspan(kTransformHeaderSize);
  SMB3_RETURN_IF_ERROR(AeadDecrypt(info.alg, key, ByteView(h.nonce.data(), info.nonce_size),
                                   ByteView(transformed.data() + kTransformAadOffset,
                                            kTransformAadSize),
                                   body, h.signature, body));
  // [MS-SMB2] 3.2.5.1.1.1: what the decrypted message may be.
  if (body.size() < 4) return Status::Protocol("transform: decrypted message too short");
  const uint32_t inner = LoadU32(body.data());
  if (inner == smb2::kTransformProtocolId) {
    return Status::Protocol("transform: nested encrypted message");
  }
  if (inner != smb2::kProtocolId && inner != smb2::kCompressionProtocolId) {
    return Status::Protocol("transform: decrypted message has an unknown ProtocolId");
  }
  return body;
}

Status CheckDecryptedChain(ByteView plaintext, uint64_t session_id) {
  // [MS-SMB2] 3.2.5.1.1.1: the SessionId of every header equals the transform's, and every
  // message after the first starts 8-byte aligned.
  size_t offset = 0;
  for (;;) {
    auto header = smb2::DecodeHeader(plaintext.subspan(offset));
    if (!header.ok()) return header.status();
    if (header->session_id != session_id) {
      return Status::Protocol("transform: SessionId of a decrypted message differs");
    }
    const uint32_t next = header->next_command;
    if (next == 0) return Status::Ok();
    if (next % 8 != 0) return Status::Protocol("transform: NextCommand not 8-byte aligned");
    // Each step covers at least a header, so the walk ends; the next header must fit.
    if (next < smb2::kHeaderSize || next > plaintext.size() - offset - smb2::kHeaderSize) {
      return Status::Protocol("transform: NextCommand out of bounds");
    }
    offset += next;
  }
}

}  // namespace smb3::crypto
