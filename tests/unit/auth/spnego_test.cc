// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/spnego.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/auth/ntlm_test_peer.h"
#include "unit/auth/samba_capture.h"
#include "unit/auth/vectors.h"

namespace smb3::auth {
namespace {

const Oid kNegoExOid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e};

TEST(SpnegoInit, DecodesSpecNegTokenInit2) {
  // [MS-SPNG] 4: NEGOEX + NTLMSSP, a 254-byte NEGOEX mechToken, and the hint string.
  auto t = DecodeNegTokenInit(authtest::kSpngNegTokenInit2Example);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->mech_types.size(), 2u);
  EXPECT_EQ(t->mech_types[0], kNegoExOid);
  EXPECT_EQ(t->mech_types[1], NtlmsspOid());
  ASSERT_TRUE(t->mech_token.has_value());
  EXPECT_EQ(t->mech_token->size(), 0xfeu);
  EXPECT_EQ(std::string(t->mech_token->begin(), t->mech_token->begin() + 8), "NEGOEXTS");
  EXPECT_EQ(t->hint_name, "not_defined_in_RFC4178@please_ignore");
  EXPECT_FALSE(t->mech_list_mic.has_value());
  EXPECT_TRUE(OffersNtlmssp(*t));
}

TEST(SpnegoInit, DecodesSambaStyleHint) {
  auto t = DecodeNegTokenInit(authtest::SambaNegTokenInit2());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->mech_types.size(), 4u);
  EXPECT_EQ(t->mech_types[3], NtlmsspOid());
  EXPECT_FALSE(t->mech_token.has_value());
  EXPECT_EQ(t->hint_name, "not_defined_in_RFC4178@please_ignore");
  EXPECT_TRUE(OffersNtlmssp(*t));
}

TEST(SpnegoInit, DecodesCapturedSamba417Hint) {
  // A standalone Samba 4.17 offers NTLMSSP only, with the MS-SPNG hint string.
  auto t = DecodeNegTokenInit(authtest::kSamba417NegotiateHint);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->mech_types, std::vector<Oid>{NtlmsspOid()});
  EXPECT_EQ(t->hint_name, "not_defined_in_RFC4178@please_ignore");
  EXPECT_FALSE(t->mech_token.has_value());
  EXPECT_TRUE(OffersNtlmssp(*t));
}

TEST(SpnegoResp, DecodesCapturedSamba417Replies) {
  auto challenge = DecodeNegTokenResp(authtest::kSamba417ChallengeReply);
  ASSERT_TRUE(challenge.ok()) << challenge.status().ToString();
  EXPECT_EQ(challenge->neg_state, NegState::kAcceptIncomplete);
  EXPECT_EQ(challenge->supported_mech, NtlmsspOid());
  ASSERT_TRUE(challenge->response_token.has_value());
  EXPECT_EQ(challenge->response_token->size(), 140u);
  EXPECT_FALSE(challenge->mech_list_mic.has_value());

  auto final_reply = DecodeNegTokenResp(authtest::kSamba417FinalReply);
  ASSERT_TRUE(final_reply.ok()) << final_reply.status().ToString();
  EXPECT_EQ(final_reply->neg_state, NegState::kAcceptCompleted);
  EXPECT_FALSE(final_reply->response_token.has_value());
  ASSERT_TRUE(final_reply->mech_list_mic.has_value());
  EXPECT_EQ(final_reply->mech_list_mic->size(), 16u);
  EXPECT_EQ((*final_reply->mech_list_mic)[0], 1);  // NTLMSSP_MESSAGE_SIGNATURE Version

  // The client's AUTHENTICATE token: no negState, AUTHENTICATE + mechListMIC.
  auto auth = DecodeNegTokenResp(authtest::kSamba417ClientAuthenticate);
  ASSERT_TRUE(auth.ok());
  EXPECT_FALSE(auth->neg_state.has_value());
  EXPECT_TRUE(auth->response_token.has_value());
  EXPECT_TRUE(auth->mech_list_mic.has_value());
}

TEST(SpnegoInit, OffersNtlmsspRules) {
  NegTokenInit none;
  EXPECT_TRUE(OffersNtlmssp(none));  // empty list: the client chooses
  NegTokenInit krb_only;
  krb_only.mech_types.push_back({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02});
  EXPECT_FALSE(OffersNtlmssp(krb_only));
}

TEST(SpnegoInit, EncodesClientTokenExactly) {
  std::vector<uint8_t> ntlm(40, 0x11);
  auto token = EncodeNegTokenInit({NtlmsspOid()}, ntlm);
  std::vector<uint8_t> expected = {
      0x60, 0x48, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02,  // [APPLICATION 0], SPNEGO
      0xa0, 0x3e, 0x30, 0x3c,                                      // negTokenInit, SEQUENCE
      0xa0, 0x0e, 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,  // mechTypes
      0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,                          //
      0xa2, 0x2a, 0x04, 0x28};                                     // mechToken
  expected.insert(expected.end(), ntlm.begin(), ntlm.end());
  EXPECT_EQ(token, expected);

  auto back = DecodeNegTokenInit(token);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mech_types, std::vector<Oid>{NtlmsspOid()});
  EXPECT_EQ(back->mech_token, ntlm);

  const std::vector<uint8_t> mech_list = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01,
                                          0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
  EXPECT_EQ(EncodeMechTypeList({NtlmsspOid()}), mech_list);
}

TEST(SpnegoInit, LongFormLengthsRoundTrip) {
  for (size_t n : {size_t{0}, size_t{127}, size_t{128}, size_t{255}, size_t{256}, size_t{4000}}) {
    std::vector<uint8_t> ntlm(n, 0x42);
    auto token = EncodeNegTokenInit({NtlmsspOid()}, ntlm);
    auto back = DecodeNegTokenInit(token);
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(back->mech_token, ntlm) << n;
  }
}

TEST(SpnegoInit, RejectsHostileTokens) {
  auto good = EncodeNegTokenInit({NtlmsspOid()}, std::vector<uint8_t>(4, 1));
  auto expect_protocol = [](const std::vector<uint8_t>& t, const char* what) {
    auto r = DecodeNegTokenInit(t);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Code::kProtocol) << what;
  };
  for (size_t n = 0; n < good.size(); ++n) {
    expect_protocol(std::vector<uint8_t>(good.begin(), good.begin() + n), "prefix");
  }
  auto trailing = good;
  trailing.push_back(0);
  expect_protocol(trailing, "trailing byte");
  auto kerberos = good;
  kerberos[9] = 0x03;  // thisMech 1.3.6.1.5.5.3
  expect_protocol(kerberos, "not SPNEGO");
  expect_protocol({0x60, 0x84, 0xff, 0xff, 0xff, 0xff}, "0x84 FF FF FF FF length");
  expect_protocol({0x60, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00}, "five length bytes");
  expect_protocol({0x60, 0x80, 0x00, 0x00}, "indefinite length");
  expect_protocol({0x7f, 0x01, 0x00}, "high tag number");
  expect_protocol(EncodeNegTokenResp(NegTokenResp{}), "a NegTokenResp");
  expect_protocol(std::vector<uint8_t>(kMaxSpnegoToken + 1, 0x60), "oversized");
  // Fields out of order: mechToken [2] before mechTypes [0].
  expect_protocol({0x60, 0x16, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x0c,
                   0x30, 0x0a, 0xa2, 0x03, 0x04, 0x01, 0x00, 0xa0, 0x03, 0x30, 0x01, 0x00},
                  "out of order / bad list");
  // A malformed OID (last subidentifier continues).
  expect_protocol({0x60, 0x12, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02,
                   0xa0, 0x08, 0x30, 0x06, 0xa0, 0x04, 0x30, 0x02, 0x06, 0x00},
                  "empty OID");
}

TEST(SpnegoResp, RoundTripsEveryFieldCombination) {
  for (int mask = 0; mask < 16; ++mask) {
    NegTokenResp r;
    if (mask & 1) r.neg_state = NegState::kRequestMic;
    if (mask & 2) r.supported_mech = NtlmsspOid();
    if (mask & 4) r.response_token = std::vector<uint8_t>(300, 0xab);
    if (mask & 8) r.mech_list_mic = std::vector<uint8_t>(16, 0xcd);
    auto back = DecodeNegTokenResp(EncodeNegTokenResp(r));
    ASSERT_TRUE(back.ok()) << mask;
    EXPECT_EQ(back->neg_state, r.neg_state);
    EXPECT_EQ(back->supported_mech, r.supported_mech);
    EXPECT_EQ(back->response_token, r.response_token);
    EXPECT_EQ(back->mech_list_mic, r.mech_list_mic);
  }
}

TEST(SpnegoResp, EncodesExactly) {
  NegTokenResp r;
  r.neg_state = NegState::kAcceptCompleted;
  r.mech_list_mic = std::vector<uint8_t>(2, 0xee);
  const std::vector<uint8_t> expected = {0xa1, 0x0d, 0x30, 0x0b, 0xa0, 0x03, 0x0a, 0x01,
                                         0x00, 0xa3, 0x04, 0x04, 0x02, 0xee, 0xee};
  EXPECT_EQ(EncodeNegTokenResp(r), expected);
}

std::vector<uint8_t> ServerChallengeToken() {
  NegTokenResp r;
  r.neg_state = NegState::kAcceptIncomplete;
  r.supported_mech = NtlmsspOid();
  r.response_token =
      std::vector<uint8_t>(std::begin(authtest::kChallenge424), std::end(authtest::kChallenge424));
  return EncodeNegTokenResp(r);
}

TEST(SpnegoResp, EveryTruncationIsAProtocolError) {
  auto token = ServerChallengeToken();
  ASSERT_TRUE(DecodeNegTokenResp(token).ok());
  for (size_t n = 0; n < token.size(); ++n) {
    auto r = DecodeNegTokenResp(ByteView(token.data(), n));
    ASSERT_FALSE(r.ok()) << "prefix " << n;
    EXPECT_EQ(r.status().code(), Code::kProtocol) << "prefix " << n;
  }
}

TEST(SpnegoResp, RejectsHostileTokens) {
  auto expect_protocol = [](const std::vector<uint8_t>& t, const char* what) {
    auto r = DecodeNegTokenResp(t);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Code::kProtocol) << what;
  };
  expect_protocol({0xa1, 0x05, 0x30, 0x03, 0xa0, 0x01, 0x0a}, "enumerated cut short");
  expect_protocol({0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x04}, "negState 4");
  expect_protocol({0xa1, 0x08, 0x30, 0x06, 0xa0, 0x04, 0x0a, 0x02, 0x00, 0x01}, "2-byte negState");
  expect_protocol({0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x00}, "INTEGER not ENUMERATED");
  expect_protocol(
      {0xa1, 0x0c, 0x30, 0x0a, 0xa2, 0x03, 0x04, 0x01, 0x00, 0xa0, 0x03, 0x0a, 0x01, 0x00},
      "out of order");
  expect_protocol({0xa1, 0x0a, 0x30, 0x08, 0xa2, 0x03, 0x04, 0x01, 0x00, 0xa2, 0x01, 0x00},
                  "duplicate field");
  expect_protocol({0xa1, 0x05, 0x30, 0x03, 0x04, 0x01, 0x00}, "untagged field");
  expect_protocol({0xa1, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00}, "0x84 FF FF FF FF length");
  expect_protocol({0xa1, 0x02, 0x30, 0x00, 0x00}, "trailing byte");
  expect_protocol({0xa1, 0x80, 0x30, 0x00, 0x00, 0x00}, "indefinite length");
  expect_protocol({0xa0, 0x02, 0x30, 0x00}, "a NegTokenInit choice");
  expect_protocol({0xa1, 0x06, 0x30, 0x04, 0xa2, 0x02, 0x04, 0x05}, "inner length past end");
  expect_protocol({0xa1, 0x07, 0x30, 0x05, 0xa2, 0x03, 0x04, 0x01, 0x00, 0x00},
                  "outer length short");
  expect_protocol({0xa1, 0x09, 0x30, 0x05, 0xa2, 0x03, 0x04, 0x01, 0x00, 0x04, 0x00},
                  "bytes after the SEQUENCE");
}

TEST(SpnegoResp, EmptySequenceAndUnknownLaterFields) {
  auto empty = DecodeNegTokenResp(std::vector<uint8_t>{0xa1, 0x02, 0x30, 0x00});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->neg_state.has_value());
  // An extension field [5] after the known ones is skipped (RFC 4178 "...").
  auto ext = DecodeNegTokenResp(
      std::vector<uint8_t>{0xa1, 0x0a, 0x30, 0x08, 0xa0, 0x03, 0x0a, 0x01, 0x01, 0xa5, 0x01, 0x00});
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  EXPECT_EQ(ext->neg_state, NegState::kAcceptIncomplete);
}

}  // namespace
}  // namespace smb3::auth
