// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 3.1.4.1 / 3.1.5.1 signing. The message is the SMB2 WRITE request of Microsoft's "SMB
// 3.1.1 Encryption in Windows 10" vector; the key is that session's signing key. Expected
// signatures were computed independently with Python's hmac and the `cryptography` package's CMAC
// and AES-GCM (GMAC = GCM without plaintext) over the message with a zero Signature field.
#include "crypto/signing.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "smb2/header.h"
#include "unit/crypto/hex.h"

namespace smb3::crypto {
namespace {

using test_util::Hex;
using test_util::ToHex;

const char* const kWriteRequest =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
    "25000000001000000000000000000000000000000000000031007000170000000000000000000000"
    "0600000004000000010000000400000000000000000000007000000000000000536D623320656E63"
    "72797074696F6E2074657374696E67";
const char* const kSigningKey = "8765949dfeaee105ce9118b45be988f0";

struct Expected {
  SigningAlgorithm alg;
  const char* signature;
};
const Expected kExpected[] = {
    {SigningAlgorithm::kHmacSha256, "ccaa5ac924b3b10e23e515a55d99efa0"},
    {SigningAlgorithm::kAesCmac, "18c21921aca28a77787c6670f20c9817"},
    {SigningAlgorithm::kAesGmac, "32e8c1c0d814298bb009899649850d92"},
};

TEST(Signing, KnownSignatures) {
  const auto key = Hex(kSigningKey);
  for (const auto& e : kExpected) {
    auto msg = Hex(kWriteRequest);
    auto sig = ComputeSignature(e.alg, key, msg);
    ASSERT_TRUE(sig.ok()) << sig.status().ToString();
    EXPECT_EQ(ToHex(*sig), e.signature);
    ASSERT_TRUE(SignMessage(e.alg, key, msg).ok());
    EXPECT_EQ(ToHex(ByteView(msg).subspan(smb2::kOffsetSignature, 16)), e.signature);
    EXPECT_TRUE(VerifySignature(e.alg, key, msg).ok());
    // The Signature field itself is not covered: computing again gives the same value.
    EXPECT_EQ(ToHex(*ComputeSignature(e.alg, key, msg)), e.signature);
  }
}

TEST(Signing, SignSetsTheSignedFlag) {
  auto msg = Hex(kWriteRequest);
  StoreU32(msg.data() + smb2::kOffsetFlags, 0);
  ASSERT_TRUE(SignMessage(SigningAlgorithm::kAesCmac, Hex(kSigningKey), msg).ok());
  EXPECT_EQ(LoadU32(msg.data() + smb2::kOffsetFlags), smb2::SMB2_FLAGS_SIGNED);
  // With the flag set the message is the vector's, so is the signature.
  EXPECT_EQ(ToHex(ByteView(msg).subspan(smb2::kOffsetSignature, 16)),
            "18c21921aca28a77787c6670f20c9817");
}

TEST(Signing, GmacNonceCarriesRoleAndCancel) {
  const auto key = Hex(kSigningKey);
  // As an SMB2 CANCEL request: the nonce's bit 1 is set.
  auto cancel = Hex(kWriteRequest);
  cancel[smb2::kOffsetCommand] = smb2::SMB2_CANCEL;
  EXPECT_EQ(ToHex(*ComputeSignature(SigningAlgorithm::kAesGmac, key, cancel)),
            "7b88b90328b73c7cee2b372781f8dcf2");
  // As a server's message (SMB2_FLAGS_SERVER_TO_REDIR): bit 0 is set.
  auto response = Hex(kWriteRequest);
  response[smb2::kOffsetFlags] |= smb2::SMB2_FLAGS_SERVER_TO_REDIR;
  EXPECT_EQ(ToHex(*ComputeSignature(SigningAlgorithm::kAesGmac, key, response)),
            "90fa988d81b766585df7b52920f96e00");
}

TEST(Signing, EveryModifiedByteIsDetected) {
  const auto key = Hex(kSigningKey);
  for (const auto& e : kExpected) {
    auto msg = Hex(kWriteRequest);
    ASSERT_TRUE(SignMessage(e.alg, key, msg).ok());
    for (size_t i = 0; i < msg.size(); ++i) {
      auto bad = msg;
      bad[i] ^= 0x20;
      Status s = VerifySignature(e.alg, key, bad);
      EXPECT_TRUE(s.Is(Code::kSecurity)) << "byte " << i << ": " << s.ToString();
    }
    auto other_key = key;
    other_key[0] ^= 1;
    EXPECT_TRUE(VerifySignature(e.alg, other_key, msg).Is(Code::kSecurity));
    // A trailing padding byte is part of the signed message.
    auto padded = msg;
    padded.push_back(0);
    EXPECT_TRUE(VerifySignature(e.alg, key, padded).Is(Code::kSecurity));
  }
}

TEST(Signing, ShortMessagesAndBadKeys) {
  const auto key = Hex(kSigningKey);
  auto msg = Hex(kWriteRequest);
  for (size_t len = 0; len < smb2::kHeaderSize; ++len) {
    auto prefix = std::vector<uint8_t>(msg.begin(), msg.begin() + static_cast<ptrdiff_t>(len));
    EXPECT_TRUE(VerifySignature(SigningAlgorithm::kAesCmac, key, prefix).Is(Code::kProtocol));
    EXPECT_TRUE(SignMessage(SigningAlgorithm::kAesCmac, key, prefix).Is(Code::kInvalidArgument));
  }
  // A bare header is a valid (if odd) signing unit.
  auto header_only = std::vector<uint8_t>(msg.begin(), msg.begin() + smb2::kHeaderSize);
  ASSERT_TRUE(SignMessage(SigningAlgorithm::kAesGmac, key, header_only).ok());
  EXPECT_TRUE(VerifySignature(SigningAlgorithm::kAesGmac, key, header_only).ok());

  const std::vector<uint8_t> long_key(32, 1);
  EXPECT_TRUE(SignMessage(SigningAlgorithm::kAesCmac, long_key, msg).Is(Code::kInvalidArgument));
  EXPECT_TRUE(SignMessage(SigningAlgorithm::kAesGmac, long_key, msg).Is(Code::kInvalidArgument));
  EXPECT_TRUE(SignMessage(SigningAlgorithm::kHmacSha256, {}, msg).Is(Code::kInvalidArgument));
  EXPECT_TRUE(SignMessage(SigningAlgorithm::kHmacSha256, long_key, msg).ok());
  EXPECT_TRUE(
      SignMessage(static_cast<SigningAlgorithm>(9), key, msg).Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace smb3::crypto
