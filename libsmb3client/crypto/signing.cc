// SPDX-License-Identifier: LGPL-2.1-or-later
#include "crypto/signing.h"

#include <cstring>

#include "crypto/crypto.h"
#include "smb2/header.h"

namespace smb3::crypto {
namespace {

// [MS-SMB2] 3.1.4.1: the 12-byte AES-GMAC nonce. First 8 bytes MessageId; then a 32-bit field
// whose bit 0 is 1 when the sender is the server and bit 1 is 1 for an SMB2 CANCEL request.
std::array<uint8_t, 12> GmacNonce(ByteView message) {
  std::array<uint8_t, 12> nonce{};
  std::memcpy(nonce.data(), message.data() + smb2::kOffsetMessageId, 8);
  const uint32_t flags = LoadU32(message.data() + smb2::kOffsetFlags);
  const uint16_t command = LoadU16(message.data() + smb2::kOffsetCommand);
  uint32_t role = 0;
  if (flags & smb2::SMB2_FLAGS_SERVER_TO_REDIR) role |= 0x1;
  if (command == smb2::SMB2_CANCEL && !(flags & smb2::SMB2_FLAGS_SERVER_TO_REDIR)) role |= 0x2;
  StoreU32(nonce.data() + 8, role);
  return nonce;
}

}  // namespace

Result<Block16> ComputeSignature(SigningAlgorithm alg, ByteView key, ByteView message) {
  if (message.size() < smb2::kHeaderSize) {
    return Status::Invalid("signing: message shorter than an SMB2 header");
  }
  // The message with its Signature field read as zeros, without copying it.
  static constexpr uint8_t kZeroSignature[smb2::kSignatureSize] = {};
  const ByteView parts[] = {
      message.first(smb2::kOffsetSignature),
      ByteView(kZeroSignature),
      message.subspan(smb2::kOffsetSignature + smb2::kSignatureSize),
  };
  switch (alg) {
    case SigningAlgorithm::kHmacSha256: {
      if (key.empty()) return Status::Invalid("signing: empty HMAC-SHA256 key");
      SMB3_ASSIGN_OR_RETURN(Sha256Digest full, HmacSha256(key, parts));
      // The first (high-order) 16 bytes of the 32-byte hash.
      Block16 sig;
      std::memcpy(sig.data(), full.data(), sig.size());
      return sig;
    }
    case SigningAlgorithm::kAesCmac:
      if (key.size() != 16) return Status::Invalid("signing: AES-CMAC key must be 16 bytes");
      return AesCmac(key, parts);
    case SigningAlgorithm::kAesGmac: {
      if (key.size() != 16) return Status::Invalid("signing: AES-GMAC key must be 16 bytes");
      const std::array<uint8_t, 12> nonce = GmacNonce(message);
      return AesGmac(key, nonce, parts);
    }
  }
  return Status::Invalid("signing: unknown signing algorithm");
}

Status SignMessage(SigningAlgorithm alg, ByteView key, MutableByteView message) {
  if (message.size() < smb2::kHeaderSize) {
    return Status::Invalid("signing: message shorter than an SMB2 header");
  }
  // [MS-SMB2] 3.2.4.1.1: a signed request carries SMB2_FLAGS_SIGNED; the flag is covered by the
  // signature, so it is set first.
  uint8_t* flags = message.data() + smb2::kOffsetFlags;
  StoreU32(flags, LoadU32(flags) | smb2::SMB2_FLAGS_SIGNED);
  SMB3_ASSIGN_OR_RETURN(Block16 sig, ComputeSignature(alg, key, message));
  std::memcpy(message.data() + smb2::kOffsetSignature, sig.data(), sig.size());
  return Status::Ok();
}

Status VerifySignature(SigningAlgorithm alg, ByteView key, ByteView message) {
  if (message.size() < smb2::kHeaderSize) {
    return Status::Protocol("signing: message shorter than an SMB2 header");
  }
  SMB3_ASSIGN_OR_RETURN(Block16 expected, ComputeSignature(alg, key, message));
  const ByteView received = message.subspan(smb2::kOffsetSignature, smb2::kSignatureSize);
  if (!ConstantTimeEqual(expected, received)) {
    return Status(Code::kSecurity, 0, "signing: bad SMB2 signature");
  }
  return Status::Ok();
}

}  // namespace smb3::crypto
