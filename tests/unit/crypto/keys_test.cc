// SPDX-License-Identifier: LGPL-2.1-or-later
// Key derivation and the preauth integrity hash against the test vectors Microsoft published with
// its Open Specifications blog posts "SMB 3.1.1 Pre-authentication integrity in Windows 10"
// (2015-08-11), "Encryption in SMB 3.0: A protocol perspective" (2012-10-05) and "SMB 3.1.1
// Encryption in Windows 10" (2015-09-09). Values without a published vector (application keys,
// AES-256 keys) were computed with an independent HMAC-SHA256 script (Python hmac/hashlib).
#include "crypto/keys.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "unit/crypto/hex.h"

namespace smb3::crypto {
namespace {

using test_util::Hex;
using test_util::ToHex;

constexpr uint16_t kDialect202 = 0x0202;
constexpr uint16_t kDialect300 = 0x0300;
constexpr uint16_t kDialect302 = 0x0302;
constexpr uint16_t kDialect311 = 0x0311;

// Pre-authentication integrity blog post: the four messages of NEGOTIATE and the first
// SESSION_SETUP round trip and the final SESSION_SETUP request, with the hash after each.
const char* const kNegotiateRequest =
    "FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000"
    "00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32"
    "6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000"
    "010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000"
    "0200060000000000020002000100";
const char* const kHash1 =
    "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47122594CDE0"
    "CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426";
const char* const kNegotiateResponse =
    "FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000"
    "000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942"
    "BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001"
    "80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182"
    "3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000"
    "60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51"
    "FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000"
    "5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000"
    "7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000"
    "3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562"
    "6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075"
    "626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4"
    "83CA5B65385A251117BEB30712E50000020004000000000001000200";
const char* const kHash2 =
    "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F36011E99"
    "7E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513";
const char* const kSessionSetupRequest1 =
    "FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000"
    "00000000000000000000000000000000000000000000000019000001010000000000000058004A00"
    "0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
    "04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
    "000F";
const char* const kHash3 =
    "AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5D432F8ED42C55E33"
    "197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9";
const char* const kSessionSetupResponse1 =
    "FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000"
    "190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003"
    "0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038"
    "00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53"
    "005500540033003100310002000C0053005500540033003100310001000C00530055005400330031"
    "00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1"
    "A1F5ADCBAED00100000000";
const char* const kHash4 =
    "2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B8835740A7376008563336"
    "4C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387";
const char* const kSessionSetupRequest2 =
    "FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000"
    "1900000000100000000000000000000000000000000000001900000101000000000000005800CF01"
    "0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000"
    "001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000"
    "001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055"
    "005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049"
    "0056004500520033003100310000000000000000000000000000000000000000000000000063078E"
    "B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000"
    "0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055"
    "00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004"
    "00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B"
    "8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016"
    "0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F"
    "5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000";
const char* const kHash5 =
    "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB7928622DDDAD522D97"
    "51640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01";

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(PreauthHash, MicrosoftExchangeVector) {
  PreauthHash h;
  EXPECT_EQ(h.value(), Sha512Digest{});  // starts as 64 zero bytes
  const struct {
    const char* message;
    const char* hash;
  } kSteps[] = {{kNegotiateRequest, kHash1},
                {kNegotiateResponse, kHash2},
                {kSessionSetupRequest1, kHash3},
                {kSessionSetupResponse1, kHash4},
                {kSessionSetupRequest2, kHash5}};
  for (const auto& step : kSteps) {
    ASSERT_TRUE(h.Update(Hex(step.message)).ok());
    EXPECT_EQ(Upper(ToHex(h.value())), step.hash);
  }
  // The signing key of that session ([MS-SMB2] 3.2.5.3.1: SMBSigningKey over the final hash).
  KeyDerivationInput in;
  in.dialect = kDialect311;
  const auto session_key = Hex("270E1BA896585EEB7AF3472D3B4C75A7");
  in.session_key = session_key;
  in.preauth_hash = h.value();
  auto keys = DeriveSessionKeys(in);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(ToHex(keys->signing.view()), "73fe7a9a77bef0bde49c650d8ccb5f76");
  EXPECT_TRUE(keys->encryption.empty());
  EXPECT_TRUE(keys->decryption.empty());
}

TEST(Sp800108, DerivesTheSmb30Keys) {
  // "Encryption in SMB 3.0": EncryptionKey and DecryptionKey from the session key.
  const auto key = Hex("B4546771B515F766A86735532DD6C4F0");
  const uint8_t label[] = "SMB2AESCCM";     // with its NUL: 11 bytes
  const uint8_t server_in[] = "ServerIn ";  // 10 bytes
  auto enc = Sp800108CounterHmacSha256(key, label, server_in, 128);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ToHex(*enc), "261b72350558f2e9dcf613070383edbf");
  EXPECT_TRUE(Sp800108CounterHmacSha256(key, label, server_in, 192).status().Is(
      Code::kInvalidArgument));
  auto wide = Sp800108CounterHmacSha256(key, label, server_in, 256);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->size(), 32u);
  // L is part of the PRF input, so a 256-bit key does not start with the 128-bit one.
  EXPECT_NE(ToHex(ByteView(*wide).first(16)), ToHex(*enc));
}

TEST(DeriveSessionKeys, Smb30Vector) {
  KeyDerivationInput in;
  in.dialect = kDialect300;
  in.cipher = CipherId::SMB2_ENCRYPTION_AES128_CCM;
  const auto session_key = Hex("B4546771B515F766A86735532DD6C4F0");
  in.session_key = session_key;
  auto keys = DeriveSessionKeys(in);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(ToHex(keys->session_key.view()), "b4546771b515f766a86735532dd6c4f0");
  EXPECT_EQ(ToHex(keys->encryption.view()), "261b72350558f2e9dcf613070383edbf");
  EXPECT_EQ(ToHex(keys->decryption.view()), "8fe2b57ec34d2db5b1a9727f526bbdb5");
  EXPECT_EQ(ToHex(keys->signing.view()), "f773cd23c18fd1e08ee510cada7cf852");
  EXPECT_EQ(ToHex(keys->application.view()), "77432f808ce99156b5bc6a3676d730d1");
  // 3.0.2 derives the same way.
  in.dialect = kDialect302;
  auto keys302 = DeriveSessionKeys(in);
  ASSERT_TRUE(keys302.ok());
  EXPECT_EQ(ToHex(keys302->encryption.view()), "261b72350558f2e9dcf613070383edbf");
}

const char* const kPreauth311 =
    "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB256BA2EA30E9"
    "77F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770";

TEST(DeriveSessionKeys, Smb311Aes128GcmVector) {
  KeyDerivationInput in;
  in.dialect = kDialect311;
  in.cipher = CipherId::SMB2_ENCRYPTION_AES128_GCM;
  const auto session_key = Hex("419FDDF34C1E001909D362AE7FB6AF79");
  const auto preauth = Hex(kPreauth311);
  in.session_key = session_key;
  in.preauth_hash = preauth;
  auto keys = DeriveSessionKeys(in);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(ToHex(keys->encryption.view()), "a2f5e80e5d59103034f32e52f698e5ec");
  EXPECT_EQ(ToHex(keys->decryption.view()), "748c50868c90f302962a5c35f5f9a8bf");
  EXPECT_EQ(ToHex(keys->signing.view()), "8765949dfeaee105ce9118b45be988f0");
  EXPECT_EQ(ToHex(keys->application.view()), "099d610789fbe82055b313601c3e8cc4");
}

TEST(DeriveSessionKeys, Smb311Aes256UsesFullKeyAndL256) {
  std::vector<uint8_t> full(32);
  for (size_t i = 0; i < full.size(); ++i) full[i] = static_cast<uint8_t>(0x20 + i);
  const auto preauth = Hex(kPreauth311);
  KeyDerivationInput in;
  in.dialect = kDialect311;
  in.cipher = CipherId::SMB2_ENCRYPTION_AES256_GCM;
  in.session_key = full;
  in.preauth_hash = preauth;
  auto keys = DeriveSessionKeys(in);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->session_key.size(), 16u);
  EXPECT_EQ(ToHex(keys->session_key.view()), ToHex(ByteView(full).first(16)));
  EXPECT_EQ(ToHex(keys->encryption.view()),
            "3334a9f25e7dbdb8a342c07ebfbb2d26cc2fd6c04058ec2083cba7d217a76848");
  EXPECT_EQ(ToHex(keys->decryption.view()),
            "7330e611d89f8bd4d0eaf215a49fb02f13eeccc9237436eaad62dfd1025c951c");
  // Signing and application keys stay 128-bit, from the first 16 bytes.
  EXPECT_EQ(ToHex(keys->signing.view()), "a91bb5d9670e1f3818e25366c6dc3415");
  EXPECT_EQ(ToHex(keys->application.view()), "8168f74d42c0727eda97dc6fa103c023");
  in.cipher = CipherId::SMB2_ENCRYPTION_AES256_CCM;
  auto ccm = DeriveSessionKeys(in);
  ASSERT_TRUE(ccm.ok());
  EXPECT_EQ(ToHex(ccm->encryption.view()), ToHex(keys->encryption.view()));
}

TEST(DeriveSessionKeys, ShortKeyIsZeroPadded) {
  KeyDerivationInput in;
  in.dialect = kDialect300;
  const auto short_key = Hex("B4546771B515F766");
  const auto padded = Hex("B4546771B515F766 0000000000000000");
  in.session_key = short_key;
  auto a = DeriveSessionKeys(in);
  in.session_key = padded;
  auto b = DeriveSessionKeys(in);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(ToHex(a->signing.view()), ToHex(b->signing.view()));
  EXPECT_EQ(ToHex(a->session_key.view()), ToHex(padded));
}

TEST(DeriveSessionKeys, Smb2xSignsWithTheSessionKey) {
  KeyDerivationInput in;
  in.dialect = kDialect202;
  const auto key = Hex("00112233445566778899aabbccddeeff0011");
  in.session_key = key;
  auto keys = DeriveSessionKeys(in);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(ToHex(keys->signing.view()), "00112233445566778899aabbccddeeff");
  EXPECT_TRUE(keys->application.empty());
  EXPECT_TRUE(keys->encryption.empty());
}

TEST(DeriveSessionKeys, RejectsBadInput) {
  const auto key = Hex("B4546771B515F766A86735532DD6C4F0");
  const auto preauth = Hex(kPreauth311);
  const struct {
    uint16_t dialect;
    CipherId cipher;
    bool with_key;
    size_t preauth_len;
  } kBad[] = {
      {kDialect300, CipherId::kNone, false, 0},                              // no key
      {0x0299, CipherId::kNone, true, 0},                                    // unknown dialect
      {kDialect311, CipherId::SMB2_ENCRYPTION_AES128_GCM, true, 0},          // no preauth hash
      {kDialect311, CipherId::SMB2_ENCRYPTION_AES128_GCM, true, 32},         // short preauth hash
      {kDialect311, static_cast<CipherId>(7), true, 64},                     // unknown cipher
      {kDialect202, CipherId::SMB2_ENCRYPTION_AES128_CCM, true, 0},          // 2.x cannot encrypt
      {kDialect300, CipherId::SMB2_ENCRYPTION_AES128_GCM, true, 0},          // 3.0: CCM only
  };
  for (const auto& c : kBad) {
    KeyDerivationInput in;
    in.dialect = c.dialect;
    in.cipher = c.cipher;
    if (c.with_key) in.session_key = key;
    in.preauth_hash = ByteView(preauth).first(c.preauth_len);
    auto keys = DeriveSessionKeys(in);
    EXPECT_TRUE(keys.status().Is(Code::kInvalidArgument))
        << c.dialect << " " << static_cast<int>(c.cipher);
  }
}

TEST(DeriveChannelSigningKey, MatchesSessionDerivation) {
  const auto key = Hex("419FDDF34C1E001909D362AE7FB6AF79");
  const auto preauth = Hex(kPreauth311);
  auto k311 = DeriveChannelSigningKey(kDialect311, key, preauth);
  ASSERT_TRUE(k311.ok());
  EXPECT_EQ(ToHex(k311->view()), "8765949dfeaee105ce9118b45be988f0");
  auto k300 = DeriveChannelSigningKey(kDialect300, Hex("B4546771B515F766A86735532DD6C4F0"), {});
  ASSERT_TRUE(k300.ok());
  EXPECT_EQ(ToHex(k300->view()), "f773cd23c18fd1e08ee510cada7cf852");
  EXPECT_TRUE(DeriveChannelSigningKey(kDialect311, key, {}).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(DeriveChannelSigningKey(kDialect202, key, {}).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(DeriveChannelSigningKey(kDialect300, {}, {}).status().Is(Code::kInvalidArgument));
}

TEST(CipherIds, WireValues) {
  EXPECT_FALSE(IsKnownCipher(0));
  for (uint16_t id = 1; id <= 4; ++id) EXPECT_TRUE(IsKnownCipher(id));
  EXPECT_FALSE(IsKnownCipher(5));
  EXPECT_TRUE(IsKnownSigningAlgorithm(0));
  EXPECT_TRUE(IsKnownSigningAlgorithm(2));
  EXPECT_FALSE(IsKnownSigningAlgorithm(3));
  EXPECT_EQ(CipherKeySize(CipherId::SMB2_ENCRYPTION_AES128_CCM), 16u);
  EXPECT_EQ(CipherKeySize(CipherId::SMB2_ENCRYPTION_AES256_GCM), 32u);
  EXPECT_EQ(CipherKeySize(CipherId::kNone), 0u);
  EXPECT_EQ(DefaultSigningAlgorithm(kDialect202), SigningAlgorithm::kHmacSha256);
  EXPECT_EQ(DefaultSigningAlgorithm(kDialect311), SigningAlgorithm::kAesCmac);
}

TEST(SecretKey, CopiesAndTruncates) {
  std::vector<uint8_t> big(40, 7);
  SecretKey k(big);
  EXPECT_EQ(k.size(), 32u);
  SecretKey copy = k;
  EXPECT_EQ(ToHex(copy.view()), ToHex(k.view()));
  SecretKey other(Hex("01"));
  other = k;
  EXPECT_EQ(other.size(), 32u);
  EXPECT_TRUE(SecretKey().empty());
}

}  // namespace
}  // namespace smb3::crypto
