// SPDX-License-Identifier: LGPL-2.1-or-later
// SMB3 encryption: the SMB2 TRANSFORM_HEADER codec ([MS-SMB2] 2.2.41), sealing of outgoing messages
// ([MS-SMB2] 3.1.4.3), unsealing and validation of incoming ones ([MS-SMB2] 3.2.5.1.1.1), and a
// per-session nonce sequence.
//
// A sealed message on the wire: 52-byte TRANSFORM_HEADER, then the AEAD ciphertext of the SMB2
// message (or compound chain, or COMPRESSION_TRANSFORM_HEADER message). The tag is the header's
// Signature; the associated data is the header from Nonce to SessionId (32 bytes).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "base/byte_io.h"
#include "crypto/keys.h"
#include "smb3/status.h"

namespace smb3::crypto {

inline constexpr size_t kTransformHeaderSize = 52;
// Offset of the associated data (Nonce .. SessionId) within the header, and its size.
inline constexpr size_t kTransformAadOffset = 20;
inline constexpr size_t kTransformAadSize = 32;
// [MS-SMB2] 2.2.41 Flags (3.1.1) / EncryptionAlgorithm (3.0.x): the only defined value.
inline constexpr uint16_t SMB2_TRANSFORM_FLAG_ENCRYPTED = 0x0001;

using TransformNonce = std::array<uint8_t, 16>;

// [MS-SMB2] 2.2.41 SMB2 TRANSFORM_HEADER.
struct TransformHeader {
  std::array<uint8_t, 16> signature{};
  TransformNonce nonce{};  // AES_CCM_Nonce (11 bytes) or AES_GCM_Nonce (12 bytes), then Reserved
  uint32_t original_message_size = 0;
  uint16_t flags = SMB2_TRANSFORM_FLAG_ENCRYPTED;  // Flags / EncryptionAlgorithm
  uint64_t session_id = 0;
};

// Writes the 52-byte header (ProtocolId 0xFD 'S' 'M' 'B', Reserved zero).
void EncodeTransformHeader(const TransformHeader& header, ByteWriter& w);

// Parses the header of a whole transformed message and checks it against [MS-SMB2] 3.2.5.1.1.1:
// the message is longer than the header, ProtocolId is 0x424D53FD, Flags/EncryptionAlgorithm is
// 0x0001, and OriginalMessageSize equals the number of bytes after the header. kProtocol otherwise.
Result<TransformHeader> DecodeTransformHeader(ByteView message);

// Nonces for one session's outgoing encrypted messages ([MS-SMB2] 2.2.41: a nonce "MUST NOT be
// reused for all encrypted messages within a session"). A 64-bit counter (little-endian, first 8
// bytes) followed by a random salt fills the 11 (CCM) or 12 (GCM) nonce bytes; Reserved stays
// zero. One instance per session, shared by all its channels. Next() is thread-safe.
class NonceSequence {
 public:
  // Draws the salt from RandomBytes. kInvalidArgument for CipherId::kNone or unknown values.
  static Result<NonceSequence> Create(CipherId cipher);
  // Deterministic construction for tests: the given salt and first counter value.
  NonceSequence(CipherId cipher, uint32_t salt, uint64_t first_counter);
  NonceSequence(NonceSequence&& other) noexcept;
  NonceSequence& operator=(NonceSequence&&) = delete;

  // The next nonce; kResourceExhausted once the 2^64 counter values are used up.
  Result<TransformNonce> Next();

 private:
  CipherId cipher_;
  uint32_t salt_;
  std::atomic<uint64_t> counter_;
};

// [MS-SMB2] 3.1.4.3: appends TRANSFORM_HEADER + ciphertext of `message` to `out`. `key` is
// Session.EncryptionKey (16 or 32 bytes to match `cipher`); only the cipher's nonce bytes of
// `nonce` are used, but all 16 are sent and authenticated. `message` must not point into `out`.
// Errors: kInvalidArgument (unknown cipher, wrong key size, empty or > 2 GiB message), kCrypto.
Status EncryptMessage(CipherId cipher, ByteView key, const TransformNonce& nonce,
                      uint64_t session_id, ByteView message, std::vector<uint8_t>& out);

// [MS-SMB2] 3.2.5.1.1.1: decodes the header of the whole transformed message `transformed`,
// decrypts in place with `key` (Session.DecryptionKey) and returns the plaintext, a view into
// `transformed` after the header. The caller looks up the session (and so the key) by
// DecodeTransformHeader(...).session_id first. Errors: kProtocol (bad header, a plaintext that is
// a nested TRANSFORM_HEADER message or neither an SMB2 nor a COMPRESSION_TRANSFORM_HEADER message),
// kSecurity (tag mismatch; the plaintext bytes are then zeroed), kInvalidArgument (cipher/key),
// kCrypto.
Result<MutableByteView> DecryptMessageInPlace(CipherId cipher, ByteView key,
                                              MutableByteView transformed);

// [MS-SMB2] 3.2.5.1.1.1, after decryption (and decompression) of a message that starts with an
// SMB2 header: every SMB2 header of the chain is well-formed and carries `session_id`, and every
// NextCommand is 8-byte aligned and leaves room for a whole header inside `plaintext`.
// kProtocol otherwise.
Status CheckDecryptedChain(ByteView plaintext, uint64_t session_id);

}  // namespace smb3::crypto
