// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "auth/spnego.h"
#include "unit/auth/ntlm_test_peer.h"
#include "unit/auth/samba_capture.h"
#include "unit/auth/vectors.h"

namespace smb3::auth {
namespace {

using authtest::NtlmTestPeer;
using authtest::PeerConfig;

std::vector<uint8_t> Bytes(ByteView v) { return {v.begin(), v.end()}; }

AuthOptions Options(Mechanism m = Mechanism::kNtlmssp) {
  AuthOptions o;
  o.mechanism = m;
  o.user = "User";
  o.domain = "Domain";
  o.password = "Password";
  o.target_server = "server";
  o.now_filetime = [] { return uint64_t{0x01D90000'00000000}; };
  auto counter = std::make_shared<uint8_t>(0);
  o.random = [counter](MutableByteView out) {
    for (uint8_t& b : out) b = ++*counter;
    return Status::Ok();
  };
  return o;
}

std::vector<uint8_t> MechTypes() { return EncodeMechTypeList({NtlmsspOid()}); }

std::vector<uint8_t> ChallengeReply(ByteView challenge,
                                    NegState state = NegState::kAcceptIncomplete) {
  NegTokenResp r;
  r.neg_state = state;
  r.supported_mech = NtlmsspOid();
  r.response_token = std::vector<uint8_t>(challenge.begin(), challenge.end());
  return EncodeNegTokenResp(r);
}

// Drives Initial and Step; returns the client's AUTHENTICATE-bearing NegTokenResp.
struct Exchange {
  explicit Exchange(PeerConfig pc = {}, AuthOptions o = Options())
      : peer(pc), client(Authenticator::Create(std::move(o)).value()) {}

  NegTokenResp Run() {
    auto t1 = client->Initial(authtest::SambaNegTokenInit2());
    EXPECT_TRUE(t1.ok()) << t1.status().ToString();
    auto init = DecodeNegTokenInit(*t1).value();
    EXPECT_EQ(init.mech_types, std::vector<Oid>{NtlmsspOid()});
    EXPECT_TRUE(client->session_key().empty());
    auto t2 = client->Step(ChallengeReply(peer.Challenge(init.mech_token.value())));
    EXPECT_TRUE(t2.ok()) << t2.status().ToString();
    auto resp = DecodeNegTokenResp(*t2).value();
    EXPECT_FALSE(resp.neg_state.has_value());
    EXPECT_TRUE(resp.response_token.has_value());
    EXPECT_EQ(peer.Accept(resp.response_token.value()), "");
    return resp;
  }

  std::vector<uint8_t> ServerFinal(bool with_mic, NegState state = NegState::kAcceptCompleted) {
    NegTokenResp fin;
    fin.neg_state = state;
    if (with_mic) {
      auto mic = peer.signer()->SignMechListMic(MechTypes()).value();
      fin.mech_list_mic.emplace(mic.begin(), mic.end());
    }
    return EncodeNegTokenResp(fin);
  }

  NtlmTestPeer peer;
  std::unique_ptr<Authenticator> client;
};

TEST(Authenticator, FullExchangeWithMechListMics) {
  Exchange x;
  NegTokenResp resp = x.Run();
  // New NTLMSSP (timestamp, MIC) + SIGN: the client sends its mechListMIC with AUTHENTICATE.
  ASSERT_TRUE(resp.mech_list_mic.has_value());
  EXPECT_TRUE(x.peer.mic_claimed());
  EXPECT_TRUE(x.peer.signer()->VerifyMechListMic(MechTypes(), resp.mech_list_mic.value()).ok());
  EXPECT_EQ(Bytes(x.client->session_key()), Bytes(x.peer.exported_session_key()));

  Status st = x.client->Finish(x.ServerFinal(true));
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(x.client->session_key().size(), 16u);
  EXPECT_EQ(Bytes(x.client->session_key()), Bytes(x.peer.exported_session_key()));
  EXPECT_FALSE(x.client->anonymous());
  EXPECT_EQ(x.client->Finish(x.ServerFinal(true)).code(), Code::kInvalidArgument);
}

TEST(Authenticator, BadServerMechListMicIsSecurityError) {
  Exchange x;
  x.Run();
  NegTokenResp fin = DecodeNegTokenResp(x.ServerFinal(true)).value();
  (*fin.mech_list_mic)[6] ^= 0x01;
  EXPECT_EQ(x.client->Finish(EncodeNegTokenResp(fin)).code(), Code::kSecurity);
  EXPECT_TRUE(x.client->session_key().empty());  // a failed exchange exposes no key
}

TEST(Authenticator, MicSignedWithWrongDirectionKeysIsRejected) {
  Exchange x;
  NegTokenResp resp = x.Run();
  // Reflecting the client's own mechListMIC back must not verify.
  NegTokenResp fin;
  fin.neg_state = NegState::kAcceptCompleted;
  fin.mech_list_mic = resp.mech_list_mic;
  EXPECT_EQ(x.client->Finish(EncodeNegTokenResp(fin)).code(), Code::kSecurity);
}

TEST(Authenticator, FinalRejectIsProtocolError) {
  Exchange x;
  x.Run();
  EXPECT_EQ(x.client->Finish(x.ServerFinal(false, NegState::kReject)).code(), Code::kProtocol);
}

TEST(Authenticator, FinalMustBeAcceptCompletedWithoutToken) {
  {
    Exchange x;
    x.Run();
    EXPECT_EQ(x.client->Finish(x.ServerFinal(true, NegState::kAcceptIncomplete)).code(),
              Code::kProtocol);
  }
  {
    Exchange x;
    x.Run();
    NegTokenResp fin = DecodeNegTokenResp(x.ServerFinal(true)).value();
    fin.response_token = std::vector<uint8_t>{1};
    EXPECT_EQ(x.client->Finish(EncodeNegTokenResp(fin)).code(), Code::kProtocol);
  }
  {
    Exchange x;
    x.Run();
    const uint8_t garbage[] = {0xa1, 0x03, 0x30};
    EXPECT_EQ(x.client->Finish(garbage).code(), Code::kProtocol);
  }
}

TEST(Authenticator, EmptyOrMiclessFinalIsAccepted) {
  // Servers that map the logon to guest (Samba's "map to guest") send no mechListMIC.
  Exchange x;
  x.Run();
  EXPECT_TRUE(x.client->Finish({}).ok());
  Exchange y;
  y.Run();
  EXPECT_TRUE(y.client->Finish(y.ServerFinal(false)).ok());
}

TEST(Authenticator, GuestLogon) {
  PeerConfig pc;
  pc.user = "guest";
  pc.password = "";
  pc.guest_mapping = true;
  AuthOptions o = Options(Mechanism::kGuest);
  o.user.clear();
  o.password = "ignored";
  Exchange x(pc, std::move(o));
  x.Run();  // the peer checks the user name is "guest" and the NTLMv2 proof with no password
  EXPECT_TRUE(x.client->Finish(x.ServerFinal(false)).ok());
  EXPECT_FALSE(x.client->anonymous());
  EXPECT_EQ(x.client->session_key().size(), 16u);
}

TEST(Authenticator, AnonymousLogon) {
  Exchange x(PeerConfig{}, Options(Mechanism::kAnonymous));
  EXPECT_TRUE(x.client->anonymous());
  NegTokenResp resp = x.Run();
  EXPECT_TRUE(x.peer.anonymous());
  EXPECT_FALSE(resp.mech_list_mic.has_value());
  EXPECT_TRUE(x.client->session_key().empty());
  NegTokenResp fin;
  fin.neg_state = NegState::kAcceptCompleted;
  EXPECT_TRUE(x.client->Finish(EncodeNegTokenResp(fin)).ok());
  EXPECT_TRUE(x.client->session_key().empty());
}

TEST(Authenticator, AnonymousCannotVerifyAServerMic) {
  Exchange x(PeerConfig{}, Options(Mechanism::kAnonymous));
  x.Run();
  NegTokenResp fin;
  fin.neg_state = NegState::kAcceptCompleted;
  fin.mech_list_mic = std::vector<uint8_t>(16, 0);
  EXPECT_EQ(x.client->Finish(EncodeNegTokenResp(fin)).code(), Code::kSecurity);
}

TEST(Authenticator, ServerRequestsMicInAnExtraRound) {
  // An old-style NTLM exchange (no timestamp, so no NTLM MIC): the client sends no mechListMIC;
  // a server that wants one answers MORE_PROCESSING_REQUIRED with request-mic and its own MIC.
  PeerConfig pc;
  pc.send_timestamp = false;
  Exchange x(pc);
  NegTokenResp resp = x.Run();
  EXPECT_FALSE(resp.mech_list_mic.has_value());

  NegTokenResp more;
  more.neg_state = NegState::kRequestMic;
  auto smic = x.peer.signer()->SignMechListMic(MechTypes()).value();
  more.mech_list_mic.emplace(smic.begin(), smic.end());
  auto t3 = x.client->Step(EncodeNegTokenResp(more));
  ASSERT_TRUE(t3.ok()) << t3.status().ToString();
  auto resp3 = DecodeNegTokenResp(*t3).value();
  EXPECT_FALSE(resp3.response_token.has_value());
  ASSERT_TRUE(resp3.mech_list_mic.has_value());
  EXPECT_TRUE(x.peer.signer()->VerifyMechListMic(MechTypes(), resp3.mech_list_mic.value()).ok());

  // No third round, and no second server MIC.
  EXPECT_TRUE(x.client->Finish(x.ServerFinal(false)).ok());
}

TEST(Authenticator, SecondServerMicIsRejected) {
  PeerConfig pc;
  pc.send_timestamp = false;
  Exchange x(pc);
  x.Run();
  NegTokenResp more;
  more.neg_state = NegState::kAcceptIncomplete;
  auto smic = x.peer.signer()->SignMechListMic(MechTypes()).value();
  more.mech_list_mic.emplace(smic.begin(), smic.end());
  ASSERT_TRUE(x.client->Step(EncodeNegTokenResp(more)).ok());
  EXPECT_EQ(x.client->Step(EncodeNegTokenResp(more)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(x.client->Finish(x.ServerFinal(true)).code(), Code::kProtocol);
}

TEST(Authenticator, RequestMicInFirstReplyMakesClientSendOne) {
  PeerConfig pc;
  pc.send_timestamp = false;
  NtlmTestPeer peer(pc);
  auto client = Authenticator::Create(Options()).value();
  auto init = DecodeNegTokenInit(client->Initial({}).value()).value();
  auto t2 =
      client->Step(ChallengeReply(peer.Challenge(init.mech_token.value()), NegState::kRequestMic));
  ASSERT_TRUE(t2.ok());
  auto resp = DecodeNegTokenResp(*t2).value();
  ASSERT_EQ(peer.Accept(resp.response_token.value()), "");
  ASSERT_TRUE(resp.mech_list_mic.has_value());
  EXPECT_TRUE(peer.signer()->VerifyMechListMic(MechTypes(), resp.mech_list_mic.value()).ok());
}

TEST(Authenticator, FirstReplyValidation) {
  auto step_with = [](const std::vector<uint8_t>& reply) {
    NtlmTestPeer peer(PeerConfig{});
    auto client = Authenticator::Create(Options()).value();
    auto init = DecodeNegTokenInit(client->Initial({}).value()).value();
    peer.Challenge(init.mech_token.value());
    auto r = client->Step(reply);
    // After a failed step the exchange is over.
    EXPECT_EQ(client->Step(reply).status().code(), Code::kInvalidArgument);
    return r.status().code();
  };
  NtlmTestPeer ref(PeerConfig{});
  auto challenge = ref.Challenge(std::vector<uint8_t>{});

  EXPECT_EQ(step_with(ChallengeReply(challenge, NegState::kReject)), Code::kProtocol);
  EXPECT_EQ(step_with(ChallengeReply(challenge, NegState::kAcceptCompleted)), Code::kProtocol);
  NegTokenResp no_state = DecodeNegTokenResp(ChallengeReply(challenge)).value();
  no_state.neg_state.reset();
  EXPECT_EQ(step_with(EncodeNegTokenResp(no_state)), Code::kProtocol);
  NegTokenResp krb = DecodeNegTokenResp(ChallengeReply(challenge)).value();
  krb.supported_mech = Oid{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
  EXPECT_EQ(step_with(EncodeNegTokenResp(krb)), Code::kProtocol);
  NegTokenResp no_token = DecodeNegTokenResp(ChallengeReply(challenge)).value();
  no_token.response_token.reset();
  EXPECT_EQ(step_with(EncodeNegTokenResp(no_token)), Code::kProtocol);
  NegTokenResp early_mic = DecodeNegTokenResp(ChallengeReply(challenge)).value();
  early_mic.mech_list_mic = std::vector<uint8_t>(16, 1);
  EXPECT_EQ(step_with(EncodeNegTokenResp(early_mic)), Code::kProtocol);
  NegTokenResp bad_ntlm = DecodeNegTokenResp(ChallengeReply(challenge)).value();
  bad_ntlm.response_token->resize(30);
  EXPECT_EQ(step_with(EncodeNegTokenResp(bad_ntlm)), Code::kProtocol);
  EXPECT_EQ(step_with(std::vector<uint8_t>{0x60, 0x00}), Code::kProtocol);
}

TEST(Authenticator, Windows2000RepeatedTokenInMicIsTolerated) {
  NtlmTestPeer peer(PeerConfig{});
  auto client = Authenticator::Create(Options()).value();
  auto init = DecodeNegTokenInit(client->Initial({}).value()).value();
  NegTokenResp r =
      DecodeNegTokenResp(ChallengeReply(peer.Challenge(init.mech_token.value()))).value();
  r.mech_list_mic = r.response_token;
  EXPECT_TRUE(client->Step(EncodeNegTokenResp(r)).ok());
}

TEST(Authenticator, InitialChecksTheServerHint) {
  auto client = Authenticator::Create(Options()).value();
  EXPECT_EQ(client->Step({}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(client->Finish({}).code(), Code::kInvalidArgument);

  auto spec = Authenticator::Create(Options()).value();
  EXPECT_TRUE(spec->Initial(authtest::kSpngNegTokenInit2Example).ok());
  EXPECT_EQ(spec->Initial({}).status().code(), Code::kInvalidArgument);

  // Kerberos only.
  const std::vector<uint8_t> krb_only = {0x60, 0x19, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05,
                                         0x02, 0xa0, 0x0f, 0x30, 0x0d, 0xa0, 0x0b, 0x30, 0x09,
                                         0x06, 0x07, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01};
  auto k = Authenticator::Create(Options()).value();
  EXPECT_EQ(k->Initial(krb_only).status().code(), Code::kNotSupported);

  auto bad = Authenticator::Create(Options()).value();
  const uint8_t garbage[] = {0x60, 0x05, 0x06};
  EXPECT_EQ(bad->Initial(garbage).status().code(), Code::kProtocol);
}

TEST(Authenticator, CreateValidatesOptions) {
  AuthOptions no_user = Options();
  no_user.user.clear();
  EXPECT_EQ(Authenticator::Create(no_user).status().code(), Code::kInvalidArgument);
  AuthOptions bad_utf8 = Options();
  bad_utf8.domain = "\xfe";
  EXPECT_EQ(Authenticator::Create(bad_utf8).status().code(), Code::kInvalidArgument);
  // Anonymous ignores whatever credentials were passed.
  EXPECT_TRUE(Authenticator::Create(Options(Mechanism::kAnonymous)).ok());
}

TEST(Authenticator, WrongPasswordFailsAtTheServer) {
  PeerConfig pc;
  pc.password = "not-the-password";
  NtlmTestPeer peer(pc);
  auto client = Authenticator::Create(Options()).value();
  auto init = DecodeNegTokenInit(client->Initial({}).value()).value();
  auto t2 = client->Step(ChallengeReply(peer.Challenge(init.mech_token.value()))).value();
  EXPECT_EQ(peer.Accept(DecodeNegTokenResp(t2).value().response_token.value()), "NTProofStr");
}

// Replays a real exchange with Samba 4.17 (see samba_capture.h): the client's tokens come out
// byte for byte, and Samba's own mechListMIC verifies.
AuthOptions CaptureOptions() {
  AuthOptions o;
  o.user = "smb3test";
  o.password = "Smb3-Test-Pw-1";
  o.target_server = "127.0.0.1";
  o.now_filetime = [] { return uint64_t{0}; };
  o.random = [](MutableByteView out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0xA0 + i + out.size());
    return Status::Ok();
  };
  return o;
}

TEST(Authenticator, ReplaysCapturedSamba417Exchange) {
  auto client = Authenticator::Create(CaptureOptions()).value();
  auto t1 = client->Initial(authtest::kSamba417NegotiateHint);
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  EXPECT_EQ(*t1, Bytes(authtest::kSamba417ClientInit));
  auto t2 = client->Step(authtest::kSamba417ChallengeReply);
  ASSERT_TRUE(t2.ok()) << t2.status().ToString();
  EXPECT_EQ(*t2, Bytes(authtest::kSamba417ClientAuthenticate));
  Status st = client->Finish(authtest::kSamba417FinalReply);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(client->session_key().size(), 16u);
}

TEST(Authenticator, TamperedCapturedSambaMicIsRejected) {
  for (size_t i = sizeof authtest::kSamba417FinalReply - 16;
       i < sizeof authtest::kSamba417FinalReply; ++i) {
    auto client = Authenticator::Create(CaptureOptions()).value();
    ASSERT_TRUE(client->Initial(authtest::kSamba417NegotiateHint).ok());
    ASSERT_TRUE(client->Step(authtest::kSamba417ChallengeReply).ok());
    std::vector<uint8_t> final_reply = Bytes(authtest::kSamba417FinalReply);
    final_reply[i] ^= 0x01;
    EXPECT_EQ(client->Finish(final_reply).code(), Code::kSecurity) << "byte " << i;
  }
}

}  // namespace
}  // namespace smb3::auth
