// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/ntlmssp.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "crypto/crypto.h"
#include "smb3/ntstatus.h"
#include "unit/auth/ntlm_test_peer.h"
#include "unit/auth/vectors.h"

namespace smb3::auth {
namespace {

using namespace authtest;  // NOLINT(google-build-using-namespace): test vectors

std::vector<uint8_t> Bytes(ByteView v) { return {v.begin(), v.end()}; }

// [MS-NLMP] 4.2.1: ClientChallenge is 0xaa..., RandomSessionKey 0x55..., Time 0.
NtlmEnvironment SpecEnvironment() {
  NtlmEnvironment env;
  env.now_filetime = [] { return uint64_t{0}; };
  env.random = [](MutableByteView out) {
    std::memset(out.data(), out.size() == 8 ? 0xaa : 0x55, out.size());
    return Status::Ok();
  };
  return env;
}

NtlmClientConfig SpecConfig() {
  NtlmClientConfig c;
  c.user = "User";
  c.domain = "Domain";
  c.password = "Password";
  c.workstation = "COMPUTER";
  c.version = {0x05, 0x01, 0x28, 0x0a, 0x00, 0x00, 0x00, 0x0f};  // as in 4.2.4.3
  c.env = SpecEnvironment();
  return c;
}

TEST(Ntlmv2, NtowfV2MatchesSpec) {
  // [MS-NLMP] 4.2.4.1.1
  auto key = NtowfV2("Password", "User", "Domain");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(Bytes(*key), Bytes(kNtowfV2));
  // The user name is uppercased, the domain is not.
  EXPECT_EQ(Bytes(NtowfV2("Password", "user", "Domain").value()), Bytes(kNtowfV2));
  EXPECT_NE(Bytes(NtowfV2("Password", "User", "DOMAIN").value()), Bytes(kNtowfV2));
  EXPECT_NE(Bytes(NtowfV2("password", "User", "Domain").value()), Bytes(kNtowfV2));
}

TEST(Ntlmv2, UppercasingCoversNonAsciiNames) {
  EXPECT_EQ(Bytes(NtowfV2("pw", "jürgen", "").value()), Bytes(NtowfV2("pw", "JÜRGEN", "").value()));
  EXPECT_EQ(Bytes(NtowfV2("pw", "łukasz", "").value()), Bytes(NtowfV2("pw", "ŁUKASZ", "").value()));
  EXPECT_EQ(Bytes(NtowfV2("pw", "иван", "").value()), Bytes(NtowfV2("pw", "ИВАН", "").value()));
  EXPECT_EQ(Bytes(NtowfV2("pw", "ÿ", "").value()), Bytes(NtowfV2("pw", "Ÿ", "").value()));
  // ß has no single-character upper case: unchanged, so it differs from "SS".
  EXPECT_NE(Bytes(NtowfV2("pw", "ß", "").value()), Bytes(NtowfV2("pw", "SS", "").value()));
  EXPECT_EQ(NtowfV2("pw", "\xff", "").status().code(), Code::kInvalidArgument);
}

TEST(Ntlmv2, ComputeResponseMatchesSpec) {
  // [MS-NLMP] 4.2.4.1.2 - 4.2.4.2.2
  NtlmKey key{};
  std::memcpy(key.data(), kNtowfV2, 16);
  std::vector<uint8_t> av_pairs(std::begin(kTemp) + 28, std::end(kTemp) - 4);
  auto r = ComputeNtlmv2Response(key, kServerChallenge, kClientChallenge, 0, av_pairs, false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Bytes(r->session_base_key), Bytes(kSessionBaseKey));
  EXPECT_EQ(r->lm_challenge_response, Bytes(kLmv2Response));
  ASSERT_EQ(r->nt_challenge_response.size(), 16 + sizeof kTemp);
  EXPECT_EQ(Bytes(ByteView(r->nt_challenge_response).first(16)), Bytes(kNtProofStr));
  EXPECT_EQ(Bytes(ByteView(r->nt_challenge_response).subspan(16)), Bytes(kTemp));

  auto z = ComputeNtlmv2Response(key, kServerChallenge, kClientChallenge, 0, av_pairs, true);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->lm_challenge_response, std::vector<uint8_t>(24, 0));  // Z(24), 3.1.5.1.2
  EXPECT_EQ(z->nt_challenge_response, r->nt_challenge_response);

  EXPECT_EQ(ComputeNtlmv2Response(key, ByteView(kServerChallenge, 7), kClientChallenge, 0, av_pairs,
                                  false)
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST(Ntlmv2, KeyExchangeMatchesSpec) {
  // [MS-NLMP] 4.2.4.2.3: RC4K(KeyExchangeKey = SessionBaseKey, RandomSessionKey)
  std::vector<uint8_t> key(std::begin(kRandomSessionKey), std::end(kRandomSessionKey));
  ASSERT_TRUE(crypto::Rc4(kSessionBaseKey, key).ok());
  EXPECT_EQ(key, Bytes(kEncryptedSessionKey));
}

TEST(NtlmClient, ReproducesSpecAuthenticateByteForByte) {
  // [MS-NLMP] 4.2.4.3: the CHALLENGE has no MsvAvTimestamp, so the client sends LMv2, no MIC and
  // no extra AV_PAIRs, exactly as the example.
  auto client = NtlmClient::Create(SpecConfig());
  ASSERT_TRUE(client.ok());
  auto negotiate = (*client)->Negotiate();
  ASSERT_TRUE(negotiate.ok());
  EXPECT_EQ(LoadU32(negotiate->data() + 12), kNtlmClientFlags);
  EXPECT_EQ(kNtlmClientFlags, 0xE2888235u);
  auto auth = (*client)->Authenticate(kChallenge424);
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(*auth, Bytes(kAuthenticate424));
  EXPECT_FALSE((*client)->mic_sent());
  EXPECT_EQ(Bytes((*client)->exported_session_key()), Bytes(kRandomSessionKey));
  EXPECT_EQ((*client)->negotiated_flags(), 0xE2888235u);
}

TEST(NtlmClient, OutOfOrderCallsAreRejected) {
  auto client = NtlmClient::Create(SpecConfig()).value();
  EXPECT_TRUE(client->exported_session_key().empty());
  EXPECT_EQ(client->Authenticate(kChallenge424).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(client->Negotiate().ok());
  EXPECT_EQ(client->Negotiate().status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(client->Authenticate(kChallenge424).ok());
  EXPECT_EQ(client->Authenticate(kChallenge424).status().code(), Code::kInvalidArgument);
}

TEST(NtlmClient, RejectsInvalidUtf8Credentials) {
  NtlmClientConfig c = SpecConfig();
  c.password = "\xc3\x28";
  EXPECT_EQ(NtlmClient::Create(c).status().code(), Code::kInvalidArgument);
}

TEST(NtlmClient, MalformedChallengeIsProtocolError) {
  auto client = NtlmClient::Create(SpecConfig()).value();
  ASSERT_TRUE(client->Negotiate().ok());
  EXPECT_EQ(client->Authenticate(ByteView(kChallenge424, 60)).status().code(), Code::kProtocol);
}

TEST(NtlmClient, ChallengeWithoutNetbiosNamesIsLogonFailure) {
  // [MS-NLMP] 3.1.5.1.2: NTLMv2 with integrity needs MsvAvNbComputerName and MsvAvNbDomainName.
  ChallengeMessage c = DecodeChallengeMessage(kChallenge424).value();
  c.target_info.pop_back();  // drop MsvAvNbComputerName
  auto client = NtlmClient::Create(SpecConfig()).value();
  ASSERT_TRUE(client->Negotiate().ok());
  auto r = client->Authenticate(EncodeChallengeMessage(c).value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAuth);
  EXPECT_EQ(r.status().nt_status(), STATUS_LOGON_FAILURE);
}

TEST(NtlmClient, OemOnlyServerIsNotSupported) {
  ChallengeMessage c = DecodeChallengeMessage(kChallenge424).value();
  c.negotiate_flags &= ~NTLMSSP_NEGOTIATE_UNICODE;
  auto client = NtlmClient::Create(SpecConfig()).value();
  ASSERT_TRUE(client->Negotiate().ok());
  EXPECT_EQ(client->Authenticate(EncodeChallengeMessage(c).value()).status().code(),
            Code::kNotSupported);
}

TEST(NtlmClient, RandomFailurePropagates) {
  NtlmClientConfig c = SpecConfig();
  c.env.random = [](MutableByteView) { return Status(Code::kCrypto, 0, "test: no entropy"); };
  auto client = NtlmClient::Create(c).value();
  ASSERT_TRUE(client->Negotiate().ok());
  EXPECT_EQ(client->Authenticate(kChallenge424).status().code(), Code::kCrypto);
}

// A modern server (MsvAvTimestamp present): MIC, Z(24) LM, channel bindings and SPN; verified by
// the test acceptor with the same primitives.
TEST(NtlmClient, MicAndWindowsAvPairsAgainstTestPeer) {
  PeerConfig pc;
  NtlmTestPeer peer(pc);
  NtlmClientConfig c = SpecConfig();
  c.target_name = "cifs/server";
  c.env.now_filetime = [] { return uint64_t{42}; };  // must not be used: the server's time is
  auto client = NtlmClient::Create(c).value();
  auto negotiate = client->Negotiate().value();
  auto auth = client->Authenticate(peer.Challenge(negotiate));
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(peer.Accept(*auth), "");
  EXPECT_TRUE(client->mic_sent());
  EXPECT_TRUE(peer.mic_claimed());
  EXPECT_EQ(peer.client_time(), pc.timestamp);
  EXPECT_EQ(Bytes(peer.exported_session_key()), Bytes(client->exported_session_key()));
  EXPECT_EQ(Bytes(client->exported_session_key()), Bytes(kRandomSessionKey));

  // Windows order: server pairs, MsvAvFlags, MsvAvChannelBindings, MsvAvTargetName.
  const auto& pairs = peer.client_pairs();
  ASSERT_EQ(pairs.size(), 7u);
  EXPECT_EQ(pairs[4].id, AvId::MsvAvFlags);
  EXPECT_EQ(LoadU32(pairs[4].value.data()), kAvFlagMicPresent);
  EXPECT_EQ(pairs[5].id, AvId::MsvAvChannelBindings);
  EXPECT_EQ(pairs[6].id, AvId::MsvAvTargetName);

  // Tampering with any byte of the message breaks the MIC (or the response).
  for (size_t i : {size_t{12}, size_t{60}, auth->size() - 1}) {
    std::vector<uint8_t> tampered = *auth;
    tampered[i] ^= 0x01;
    NtlmTestPeer fresh(pc);
    fresh.Challenge(negotiate);
    EXPECT_NE(fresh.Accept(tampered), "") << "byte " << i;
  }
}

TEST(NtlmClient, ExistingMsvAvFlagsGetsTheMicBit) {
  ChallengeMessage c = DecodeChallengeMessage(kChallenge424).value();
  c.target_info.push_back({AvId::MsvAvFlags, {0x01, 0, 0, 0}});
  c.target_info.push_back({AvId::MsvAvTimestamp, std::vector<uint8_t>(8, 1)});
  auto client = NtlmClient::Create(SpecConfig()).value();
  ASSERT_TRUE(client->Negotiate().ok());
  auto auth = client->Authenticate(EncodeChallengeMessage(c).value());
  ASSERT_TRUE(auth.ok());
  auto a = DecodeAuthenticateMessage(*auth).value();
  ASSERT_TRUE(a.has_mic);
  ByteView temp = ByteView(a.nt_challenge_response).subspan(16);
  auto pairs = DecodeAvPairs(temp.subspan(28, temp.size() - 32)).value();
  int flags_pairs = 0;
  for (const AvPair& p : pairs) {
    if (p.id == AvId::MsvAvFlags) {
      ++flags_pairs;
      EXPECT_EQ(LoadU32(p.value.data()), 0x01u | kAvFlagMicPresent);
    }
  }
  EXPECT_EQ(flags_pairs, 1);
  EXPECT_EQ(a.lm_challenge_response, std::vector<uint8_t>(24, 0));
}

TEST(NtlmClient, AnonymousFollowsTheSpecialCase) {
  NtlmClientConfig c = SpecConfig();
  c.user.clear();
  c.password.clear();
  c.domain.clear();
  NtlmTestPeer peer(PeerConfig{});
  auto client = NtlmClient::Create(c).value();
  EXPECT_TRUE(client->anonymous());
  auto auth = client->Authenticate(peer.Challenge(client->Negotiate().value()));
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(peer.Accept(*auth), "");
  EXPECT_TRUE(peer.anonymous());
  auto a = DecodeAuthenticateMessage(*auth).value();
  EXPECT_EQ(a.lm_challenge_response, std::vector<uint8_t>{0});  // Z(1)
  EXPECT_TRUE(a.nt_challenge_response.empty());
  EXPECT_TRUE(a.user_name.empty());
  EXPECT_TRUE(a.encrypted_random_session_key.empty());
  EXPECT_FALSE(a.has_mic);
  EXPECT_TRUE(a.negotiate_flags & NTLMSSP_NEGOTIATE_ANONYMOUS);
  EXPECT_FALSE(a.negotiate_flags & NTLMSSP_NEGOTIATE_KEY_EXCH);
  EXPECT_FALSE(client->mic_sent());
  EXPECT_EQ(Bytes(client->exported_session_key()), std::vector<uint8_t>(16, 0));
}

TEST(NtlmKeys, SignAndSealKeysMatchSpec) {
  // [MS-NLMP] 4.2.4.4
  NtlmKey exported{};
  std::memcpy(exported.data(), kRandomSessionKey, 16);
  const uint32_t flags = 0xE28A8233;  // 4.2.4 challenge flags: ESS, 128, KEY_EXCH
  EXPECT_EQ(Bytes(NtlmSealKey(flags, exported, true).value()), Bytes(kClientSealKey));
  EXPECT_EQ(Bytes(NtlmSignKey(flags, exported, true).value()), Bytes(kClientSignKey));
  EXPECT_NE(Bytes(NtlmSignKey(flags, exported, false).value()), Bytes(kClientSignKey));
  EXPECT_EQ(NtlmSignKey(flags & ~NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, exported, true)
                .status()
                .code(),
            Code::kInvalidArgument);

  // The 4.2.4.4 sealed data and checksum are RC4(SealKey) at key-stream offsets 0 and 18.
  std::vector<uint8_t> stream(26, 0);
  ASSERT_TRUE(crypto::Rc4(kClientSealKey, stream).ok());
  for (size_t i = 0; i < sizeof kPlaintext; ++i)
    EXPECT_EQ(kPlaintext[i] ^ stream[i], kSealedData[i]);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(kChecksum[i] ^ stream[18 + i], kSealedChecksum[i]);
}

TEST(NtlmSigner, ChecksumMatchesSpecWithoutKeyExchange) {
  // 4.2.4.4 checksum HMAC_MD5(SigningKey, SeqNum 0 || Plaintext)[0..7], unsealed without KEY_EXCH.
  NtlmKey exported{};
  std::memcpy(exported.data(), kRandomSessionKey, 16);
  const uint32_t flags =
      NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_128;
  auto signer = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, exported).value();
  auto sig = signer.Sign(kPlaintext).value();
  std::vector<uint8_t> expected = {1, 0, 0, 0};
  expected.insert(expected.end(), std::begin(kChecksum), std::end(kChecksum));
  expected.insert(expected.end(), {0, 0, 0, 0});
  EXPECT_EQ(Bytes(sig), expected);
  EXPECT_EQ(LoadU32(signer.Sign(kPlaintext).value().data() + 12), 1u);  // SeqNum advances
}

TEST(NtlmSigner, KeyExchangeSealsChecksumWithContinuingStream) {
  NtlmKey exported{};
  std::memcpy(exported.data(), kRandomSessionKey, 16);
  const uint32_t flags = 0xE28A8233;
  auto signer = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, exported).value();
  std::vector<uint8_t> stream(16, 0);
  ASSERT_TRUE(crypto::Rc4(kClientSealKey, stream).ok());

  auto first = signer.Sign(kPlaintext).value();
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(first[4 + i], kChecksum[i] ^ stream[i]);

  // Second message: SeqNum 1, key stream bytes 8..15.
  uint8_t seq1[4] = {1, 0, 0, 0};
  ByteView parts[] = {seq1, kPlaintext};
  auto mac = crypto::HmacMd5(kClientSignKey, parts).value();
  auto second = signer.Sign(kPlaintext).value();
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(second[4 + i], mac[i] ^ stream[8 + i]);
  EXPECT_EQ(LoadU32(second.data() + 12), 1u);
}

TEST(NtlmSigner, ClientAndServerInteroperate) {
  NtlmKey exported{};
  exported.fill(0x3c);
  const uint32_t flags = 0xE2888235;
  auto client = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, exported).value();
  auto server = NtlmSigner::Create(NtlmSigner::Role::kServer, flags, exported).value();
  const uint8_t m1[] = {1, 2, 3};
  const uint8_t m2[] = {4, 5};
  auto s1 = client.Sign(m1).value();
  auto s2 = client.Sign(m2).value();
  // Out of order: SeqNum 1 while 0 is expected; the expected SeqNum is not consumed.
  EXPECT_EQ(server.Verify(m2, s2).code(), Code::kSecurity);
  EXPECT_TRUE(server.Verify(m1, s1).ok());
  EXPECT_TRUE(server.Verify(m2, s2).ok());
  EXPECT_EQ(server.Verify(m2, s2).code(), Code::kSecurity);  // replay

  auto r1 = server.Sign(m1).value();
  std::vector<uint8_t> tampered(r1.begin(), r1.end());
  tampered[5] ^= 0x80;
  EXPECT_EQ(client.Verify(m1, tampered).code(), Code::kSecurity);
  EXPECT_EQ(client.Verify(m1, ByteView(r1).first(15)).code(), Code::kProtocol);
  EXPECT_TRUE(client.Verify(m1, r1).ok());
}

TEST(NtlmSigner, MechListMicRestoresTheRc4State) {
  // [MS-SPNG] 3.3.5.1: the mechListMIC and the first signed message use the same RC4 state.
  NtlmKey exported{};
  exported.fill(0x77);
  const uint32_t flags = 0xE2888235;
  auto a = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, exported).value();
  auto b = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, exported).value();
  const uint8_t msg[] = {9, 9, 9};
  auto mic = a.SignMechListMic(msg).value();
  auto plain = b.Sign(msg).value();
  EXPECT_EQ(mic, plain);  // same SeqNum 0, same key stream
  // After the MIC, `a` signs SeqNum 1 with key-stream bytes 0..7 again; `b` with bytes 8..15.
  EXPECT_NE(a.Sign(msg).value(), b.Sign(msg).value());

  auto server = NtlmSigner::Create(NtlmSigner::Role::kServer, flags, exported).value();
  auto smic = server.SignMechListMic(msg).value();
  auto client = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, exported).value();
  EXPECT_EQ(client.VerifyMechListMic(msg, mic).code(), Code::kSecurity);  // wrong direction
  EXPECT_TRUE(client.VerifyMechListMic(msg, smic).ok());
}

TEST(NtlmSigner, WithoutSignFlagUsesFixedSignature) {
  NtlmKey exported{};
  const uint32_t flags = NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_ALWAYS_SIGN;
  auto s = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, exported).value();
  NtlmSignature expected{};
  expected[0] = 1;  // [MS-NLMP] 3.4.4.3
  EXPECT_EQ(s.Sign(kPlaintext).value(), expected);
  EXPECT_EQ(NtlmSigner::Create(NtlmSigner::Role::kClient, NTLMSSP_NEGOTIATE_SIGN, exported)
                .status()
                .code(),
            Code::kNotSupported);
}

}  // namespace
}  // namespace smb3::auth
