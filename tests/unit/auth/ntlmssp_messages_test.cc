// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/ntlmssp_messages.h"

#include <gtest/gtest.h>

#include <vector>

#include "auth/spnego.h"
#include "unit/auth/ntlm_test_peer.h"
#include "unit/auth/samba_capture.h"
#include "unit/auth/vectors.h"

namespace smb3::auth {
namespace {

using authtest::kAuthenticate424;
using authtest::kChallenge424;
using authtest::U16;

std::vector<uint8_t> Bytes(ByteView v) { return {v.begin(), v.end()}; }

TEST(NtlmChallenge, DecodesSpecExample) {
  // [MS-NLMP] 4.2.4.3
  auto c = DecodeChallengeMessage(kChallenge424);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->negotiate_flags, 0xE28A8233u);
  EXPECT_EQ(Bytes(c->server_challenge), Bytes(authtest::kServerChallenge));
  EXPECT_EQ(c->target_name, U16("Server"));
  ASSERT_TRUE(c->has_target_info);
  ASSERT_EQ(c->target_info.size(), 2u);
  EXPECT_EQ(c->target_info[0], (AvPair{AvId::MsvAvNbDomainName, U16("Domain")}));
  EXPECT_EQ(c->target_info[1], (AvPair{AvId::MsvAvNbComputerName, U16("Server")}));
  const NtlmVersion version = {0x06, 0x00, 0x70, 0x17, 0x00, 0x00, 0x00, 0x0f};
  EXPECT_EQ(c->version, version);
}

TEST(NtlmChallenge, DecodesCapturedSamba417Challenge) {
  auto reply = DecodeNegTokenResp(authtest::kSamba417ChallengeReply);
  ASSERT_TRUE(reply.ok());
  auto c = DecodeChallengeMessage(reply->response_token.value());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->negotiate_flags, 0xE28A8235u);
  EXPECT_EQ(c->target_name, U16("SMB3TEST"));
  ASSERT_TRUE(c->has_target_info);
  ASSERT_EQ(c->target_info.size(), 5u);
  EXPECT_EQ(c->target_info[0], (AvPair{AvId::MsvAvNbDomainName, U16("SMB3TEST")}));
  EXPECT_EQ(c->target_info[1], (AvPair{AvId::MsvAvNbComputerName, U16("SMB3TEST")}));
  EXPECT_EQ(c->target_info[2], (AvPair{AvId::MsvAvDnsDomainName, {}}));  // empty value
  EXPECT_EQ(c->target_info[3], (AvPair{AvId::MsvAvDnsComputerName, U16("vm")}));
  EXPECT_EQ(c->target_info[4].id, AvId::MsvAvTimestamp);
  // Re-encoding gives Samba's bytes back (same field order and layout).
  EXPECT_EQ(EncodeChallengeMessage(*c).value(), *reply->response_token);
}

TEST(NtlmChallenge, EncodeReproducesSpecExample) {
  auto c = DecodeChallengeMessage(kChallenge424);
  ASSERT_TRUE(c.ok());
  auto encoded = EncodeChallengeMessage(*c);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, Bytes(kChallenge424));
}

TEST(NtlmChallenge, EveryTruncationIsAProtocolError) {
  for (size_t n = 0; n < sizeof kChallenge424; ++n) {
    auto c = DecodeChallengeMessage(ByteView(kChallenge424, n));
    ASSERT_FALSE(c.ok()) << "prefix " << n;
    EXPECT_EQ(c.status().code(), Code::kProtocol) << "prefix " << n;
  }
}

std::vector<uint8_t> Mutated(size_t at, std::initializer_list<uint8_t> bytes) {
  std::vector<uint8_t> m(std::begin(kChallenge424), std::end(kChallenge424));
  for (uint8_t b : bytes) m[at++] = b;
  return m;
}

void ExpectProtocolError(const std::vector<uint8_t>& msg, const char* what) {
  auto c = DecodeChallengeMessage(msg);
  ASSERT_FALSE(c.ok()) << what;
  EXPECT_EQ(c.status().code(), Code::kProtocol) << what;
}

TEST(NtlmChallenge, HostileFieldsAreProtocolErrors) {
  ExpectProtocolError(Mutated(0, {'X'}), "signature");
  ExpectProtocolError(Mutated(8, {3}), "message type");
  // TargetInfoBufferOffset (at 44) just past the end, and a huge one.
  ExpectProtocolError(Mutated(44, {0x69, 0x00, 0x00, 0x00}), "TargetInfo offset past end");
  ExpectProtocolError(Mutated(44, {0xff, 0xff, 0xff, 0xff}), "TargetInfo offset overflow");
  // TargetInfoLen (at 40) longer than what follows.
  ExpectProtocolError(Mutated(40, {0xff, 0xff}), "TargetInfo length");
  // TargetNameLen (at 12) odd with Unicode, and TargetName offset overflow.
  ExpectProtocolError(Mutated(12, {0x0b}), "odd Unicode TargetName");
  ExpectProtocolError(Mutated(16, {0xfe, 0xff, 0xff, 0xff}), "TargetName offset");
  // AV_PAIR list: MsvAvEOL (last 4 bytes) replaced by another id -> no terminator.
  ExpectProtocolError(Mutated(0x64, {0x05, 0x00}), "no MsvAvEOL");
  // MsvAvEOL with a nonzero AvLen.
  ExpectProtocolError(Mutated(0x66, {0x01, 0x00}), "EOL length");
  // First AV_PAIR's AvLen (at 0x46) running past the list.
  ExpectProtocolError(Mutated(0x46, {0xff, 0xff}), "AvLen past end");
}

TEST(NtlmChallenge, TargetInfoIgnoredWithoutTheFlag) {
  // [MS-NLMP] 2.2.1.2: TargetInfoFields MUST be ignored when NTLMSSP_NEGOTIATE_TARGET_INFO is
  // clear, even when they point nowhere.
  auto m = Mutated(44, {0xff, 0xff, 0xff, 0xff});
  uint32_t flags = LoadU32(&m[20]) & ~NTLMSSP_NEGOTIATE_TARGET_INFO;
  StoreU32(&m[20], flags);
  auto c = DecodeChallengeMessage(m);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->has_target_info);
}

TEST(AvPairs, RoundTripAndValidation) {
  std::vector<AvPair> pairs = {{AvId::MsvAvNbComputerName, U16("S")},
                               {AvId::MsvAvFlags, {2, 0, 0, 0}},
                               {AvId::MsvAvTimestamp, std::vector<uint8_t>(8, 7)}};
  std::vector<uint8_t> out;
  ByteWriter w(out);
  ASSERT_TRUE(EncodeAvPairs(pairs, w).ok());
  auto back = DecodeAvPairs(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pairs);
  EXPECT_EQ(FindAvPair(*back, AvId::MsvAvFlags)->value[0], 2);
  EXPECT_EQ(FindAvPair(*back, AvId::MsvAvTargetName), nullptr);

  // Bytes after MsvAvEOL are ignored.
  out.push_back(0x99);
  EXPECT_TRUE(DecodeAvPairs(out).ok());

  const uint8_t bad_timestamp[] = {0x07, 0x00, 0x04, 0x00, 1, 2, 3, 4, 0, 0, 0, 0};
  EXPECT_EQ(DecodeAvPairs(bad_timestamp).status().code(), Code::kProtocol);
  const uint8_t bad_flags[] = {0x06, 0x00, 0x02, 0x00, 1, 2, 0, 0, 0, 0};
  EXPECT_EQ(DecodeAvPairs(bad_flags).status().code(), Code::kProtocol);
  EXPECT_EQ(DecodeAvPairs({}).status().code(), Code::kProtocol);
  const uint8_t half_header[] = {0x00, 0x00, 0x00};
  EXPECT_EQ(DecodeAvPairs(half_header).status().code(), Code::kProtocol);

  std::vector<AvPair> explicit_eol = {{AvId::MsvAvEOL, {}}};
  std::vector<uint8_t> sink;
  ByteWriter sw(sink);
  EXPECT_EQ(EncodeAvPairs(explicit_eol, sw).code(), Code::kInvalidArgument);
}

TEST(NtlmNegotiate, LayoutAndRoundTrip) {
  NegotiateMessage n{0xE2888235, {6, 1, 0, 0, 0, 0, 0, 15}};
  std::vector<uint8_t> bytes = EncodeNegotiateMessage(n);
  const std::vector<uint8_t> expected = {
      'N',  'T',  'L',  'M',  'S',  'S',  'P',  0,    0x01, 0x00, 0x00, 0x00,  //
      0x35, 0x82, 0x88, 0xe2,                                                  // flags
      0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,                          // DomainNameFields
      0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,                          // WorkstationFields
      6,    1,    0,    0,    0,    0,    0,    15};                           // Version
  EXPECT_EQ(bytes, expected);
  auto back = DecodeNegotiateMessage(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->negotiate_flags, n.negotiate_flags);
  EXPECT_EQ(back->version, n.version);
  for (size_t len = 0; len < 32; ++len) {
    EXPECT_EQ(DecodeNegotiateMessage(ByteView(bytes.data(), len)).status().code(), Code::kProtocol);
  }
}

TEST(NtlmAuthenticate, DecodesSpecExampleAndReencodes) {
  auto a = DecodeAuthenticateMessage(kAuthenticate424);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->negotiate_flags, 0xE2888235u);
  EXPECT_EQ(a->domain_name, U16("Domain"));
  EXPECT_EQ(a->user_name, U16("User"));
  EXPECT_EQ(a->workstation, U16("COMPUTER"));
  EXPECT_EQ(a->lm_challenge_response, Bytes(authtest::kLmv2Response));
  EXPECT_EQ(a->encrypted_random_session_key, Bytes(authtest::kEncryptedSessionKey));
  EXPECT_FALSE(a->has_mic);  // payload starts at 72
  auto encoded = EncodeAuthenticateMessage(*a);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, Bytes(kAuthenticate424));
}

TEST(NtlmAuthenticate, MicFieldRoundTrip) {
  AuthenticateMessage a;
  a.user_name = U16("u");
  a.nt_challenge_response = std::vector<uint8_t>(48, 1);
  a.has_mic = true;
  a.mic.fill(0x5a);
  auto bytes = EncodeAuthenticateMessage(a);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((*bytes)[kNtlmMicOffset], 0x5a);
  auto back = DecodeAuthenticateMessage(*bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->has_mic);
  EXPECT_EQ(back->mic, a.mic);
  EXPECT_EQ(back->user_name, a.user_name);
}

TEST(NtlmAuthenticate, EveryTruncationIsAProtocolError) {
  for (size_t n = 0; n < sizeof kAuthenticate424; ++n) {
    EXPECT_EQ(DecodeAuthenticateMessage(ByteView(kAuthenticate424, n)).status().code(),
              Code::kProtocol)
        << "prefix " << n;
  }
}

}  // namespace
}  // namespace smb3::auth
