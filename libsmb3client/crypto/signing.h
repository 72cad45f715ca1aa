// SPDX-License-Identifier: LGPL-2.1-or-later
// SMB2 message signing and verification ([MS-SMB2] 3.1.4.1, 3.1.5.1).
//
// `message` is one SMB2 message of a (possibly compounded) chain: from its 64-byte header up to
// the next message's header, including the padding that precedes it ([MS-SMB2] 3.1.4.1: "any
// padding at the end of the message MUST be used"). Callers split a compound chain themselves and
// sign or verify each part. Thread-safe; no state.
#pragma once

#include "base/byte_io.h"
#include "crypto/crypto.h"
#include "crypto/keys.h"
#include "smb3/status.h"

namespace smb3::crypto {

// Computes the signature of `message` as if its Signature field were zero: HMAC-SHA256 truncated
// to 16 bytes, AES-128-CMAC, or AES-128-GMAC with the nonce of [MS-SMB2] 3.1.4.1 (MessageId, then
// bit 0 set for a server's message and bit 1 for an SMB2 CANCEL request). `message` is not
// modified. Errors: kInvalidArgument when the message is shorter than an SMB2 header or the key
// has the wrong size (CMAC/GMAC: 16 bytes; HMAC: any non-empty key); kCrypto from the library.
Result<Block16> ComputeSignature(SigningAlgorithm alg, ByteView key, ByteView message);

// Signs an outgoing message in place: sets SMB2_FLAGS_SIGNED, then writes the signature computed
// over the message with a zeroed Signature field. Errors as ComputeSignature.
Status SignMessage(SigningAlgorithm alg, ByteView key, MutableByteView message);

// Verifies a received message without modifying it. Returns kSecurity when the signature does not
// match (compared in constant time), kProtocol when the message is shorter than an SMB2 header,
// kInvalidArgument for a bad key, kCrypto from the library. Whether a message must be signed at
// all (SMB2_FLAGS_SIGNED, STATUS_PENDING, MessageId 0xFFFFFFFFFFFFFFFF, [MS-SMB2] 3.2.5.1.3) is
// the caller's decision.
Status VerifySignature(SigningAlgorithm alg, ByteView key, ByteView message);

}  // namespace smb3::crypto
