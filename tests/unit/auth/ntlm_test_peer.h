// SPDX-License-Identifier: LGPL-2.1-or-later
// A tiny NTLMSSP + SPNEGO acceptor for tests, written from the server side of [MS-NLMP] 3.2.5.1.2
// and Samba's "new SPNEGO" behaviour. It verifies what a real server verifies (NTProofStr, the
// AV_PAIRs it sent, the AUTHENTICATE MIC, the client's mechListMIC) with the same primitives, so a
// client bug shows up as a rejected logon.
#pragma once

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "auth/ntlmssp.h"
#include "auth/ntlmssp_messages.h"
#include "auth/spnego.h"
#include "base/utf16.h"
#include "crypto/crypto.h"
#include "smb3/ntstatus.h"

namespace smb3::auth::authtest {

inline std::vector<uint8_t> U16(std::string_view s) { return Utf8ToUtf16le(s).value(); }

struct PeerConfig {
  std::string user = "User";
  std::string domain = "Domain";
  std::string password = "Password";
  bool send_timestamp = true;  // a "new" server: MsvAvTimestamp, so the client adds a MIC
  uint64_t timestamp = 0x01D9'0000'1234'5678ULL;
  std::array<uint8_t, 8> server_challenge = {1, 2, 3, 4, 5, 6, 7, 8};
  uint32_t flags = 0xE28A8235;  // what Samba 4.17 answers to our NEGOTIATE
  std::string expected_spn = "cifs/server";
  bool guest_mapping = false;  // accept any password, like "map to guest = bad user"
};

class NtlmTestPeer {
 public:
  explicit NtlmTestPeer(PeerConfig cfg) : cfg_(std::move(cfg)) {}

  // NEGOTIATE -> CHALLENGE.
  std::vector<uint8_t> Challenge(ByteView negotiate) {
    negotiate_.assign(negotiate.begin(), negotiate.end());
    ChallengeMessage c;
    c.negotiate_flags = cfg_.flags;
    c.server_challenge = cfg_.server_challenge;
    c.target_name = U16("SERVER");
    c.has_target_info = true;
    c.target_info.push_back({AvId::MsvAvNbDomainName, U16("DOMAIN")});
    c.target_info.push_back({AvId::MsvAvNbComputerName, U16("SERVER")});
    c.target_info.push_back({AvId::MsvAvDnsComputerName, U16("server.example")});
    if (cfg_.send_timestamp) {
      std::vector<uint8_t> ts(8);
      StoreU64(ts.data(), cfg_.timestamp);
      c.target_info.push_back({AvId::MsvAvTimestamp, ts});
    }
    server_pairs_ = c.target_info;
    challenge_ = EncodeChallengeMessage(c).value();
    return challenge_;
  }

  // Checks an AUTHENTICATE_MESSAGE; on success the session keys are set up. Returns a text
  // describing the first failed check, or "" on success.
  std::string Accept(ByteView authenticate) {
    auto decoded = DecodeAuthenticateMessage(authenticate);
    if (!decoded.ok()) return "undecodable AUTHENTICATE";
    AuthenticateMessage& a = *decoded;
    flags_ = a.negotiate_flags;
    NtlmKey session_base_key{};
    if (a.user_name.empty() && a.nt_challenge_response.empty()) {
      // [MS-NLMP] 3.2.5.1.2 NullSession
      anonymous_ = true;
      if (!(a.lm_challenge_response.empty() ||
            a.lm_challenge_response == std::vector<uint8_t>{0})) {
        return "anonymous LM response is not Z(1)";
      }
    } else {
      if (a.user_name != U16(cfg_.user)) return "user name";
      if (a.nt_challenge_response.size() < 16 + 28 + 4) return "short NTLMv2 response";
      auto key = NtowfV2(cfg_.password, cfg_.user, Utf16leToUtf8(a.domain_name).value()).value();
      ByteView temp(a.nt_challenge_response.data() + 16, a.nt_challenge_response.size() - 16);
      ByteView parts[] = {cfg_.server_challenge, temp};
      auto proof = crypto::HmacMd5(key, parts).value();
      bool proof_ok = std::memcmp(proof.data(), a.nt_challenge_response.data(), 16) == 0;
      if (!proof_ok && !cfg_.guest_mapping) return "NTProofStr";
      ByteView key_parts[] = {ByteView(proof)};
      session_base_key = crypto::HmacMd5(key, key_parts).value();
      if (!proof_ok) session_base_key = {};  // guest: Z(16)
      // The client's AV_PAIRs: temp = 01 01 Z(6) Time(8) ClientChallenge(8) Z(4) AvPairs Z(4)
      if (temp[0] != 1 || temp[1] != 1) return "NTLMv2 response version";
      client_time_ = LoadU64(temp.data() + 8);
      auto pairs = DecodeAvPairs(temp.subspan(28, temp.size() - 28 - 4));
      if (!pairs.ok()) return "client AV_PAIR list";
      client_pairs_ = *pairs;
      for (const AvPair& sp : server_pairs_) {
        const AvPair* cp = FindAvPair(client_pairs_, sp.id);
        if (!cp || cp->value != sp.value) return "server AV_PAIR not echoed";
      }
      const AvPair* av_flags = FindAvPair(client_pairs_, AvId::MsvAvFlags);
      mic_claimed_ = av_flags && (LoadU32(av_flags->value.data()) & kAvFlagMicPresent);
      if (cfg_.send_timestamp) {
        if (!mic_claimed_) return "MsvAvFlags MIC bit missing";
        if (a.lm_challenge_response != std::vector<uint8_t>(24, 0)) return "LM response not Z(24)";
        const AvPair* cb = FindAvPair(client_pairs_, AvId::MsvAvChannelBindings);
        if (!cb || cb->value != std::vector<uint8_t>(16, 0)) return "channel bindings";
        const AvPair* spn = FindAvPair(client_pairs_, AvId::MsvAvTargetName);
        if (!spn || spn->value != U16(cfg_.expected_spn)) return "target name";
      }
    }
    // [MS-NLMP] 3.2.5.1.2 key exchange.
    exported_ = session_base_key;
    if ((flags_ & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
        (flags_ & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL))) {
      if (a.encrypted_random_session_key.size() != 16) return "encrypted session key length";
      std::memcpy(exported_.data(), a.encrypted_random_session_key.data(), 16);
      if (!crypto::Rc4(session_base_key, exported_).ok()) return "rc4";
    }
    if (mic_claimed_) {
      if (!a.has_mic) return "MIC field absent";
      std::vector<uint8_t> zeroed(authenticate.begin(), authenticate.end());
      std::memset(zeroed.data() + kNtlmMicOffset, 0, kNtlmMicSize);
      ByteView parts[] = {negotiate_, challenge_, zeroed};
      auto mic = crypto::HmacMd5(exported_, parts).value();
      if (std::memcmp(mic.data(), a.mic.data(), 16) != 0) return "MIC";
    }
    guest_ = cfg_.guest_mapping;
    if (!anonymous_ && !guest_) {
      signer_.emplace(NtlmSigner::Create(NtlmSigner::Role::kServer, flags_, exported_).value());
    }
    return "";
  }

  const NtlmKey& exported_session_key() const { return exported_; }
  uint32_t flags() const { return flags_; }
  bool mic_claimed() const { return mic_claimed_; }
  bool anonymous() const { return anonymous_; }
  uint64_t client_time() const { return client_time_; }
  const std::vector<AvPair>& client_pairs() const { return client_pairs_; }
  std::optional<NtlmSigner>& signer() { return signer_; }
  const std::vector<uint8_t>& challenge() const { return challenge_; }

 private:
  PeerConfig cfg_;
  std::vector<uint8_t> negotiate_;
  std::vector<uint8_t> challenge_;
  std::vector<AvPair> server_pairs_;
  std::vector<AvPair> client_pairs_;
  uint32_t flags_ = 0;
  NtlmKey exported_{};
  bool mic_claimed_ = false;
  bool anonymous_ = false;
  bool guest_ = false;
  uint64_t client_time_ = 0;
  std::optional<NtlmSigner> signer_;
};

// A Samba-style NegTokenInit2 as sent in the NEGOTIATE response: mechTypes {MS-KRB5, KRB5,
// KRB5-U2U, NTLMSSP} and negHints.hintName "not_defined_in_RFC4178@please_ignore", DER written
// out by hand (independently of the encoder under test).
inline std::vector<uint8_t> SambaNegTokenInit2() {
  const std::vector<uint8_t> oids = {
      0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,         // MS KRB5
      0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,         // KRB5
      0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03,   // U2U
      0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};  // NTLMSSP
  std::vector<uint8_t> mechs = {0x30, static_cast<uint8_t>(oids.size())};
  mechs.insert(mechs.end(), oids.begin(), oids.end());
  const std::string hint = "not_defined_in_RFC4178@please_ignore";
  std::vector<uint8_t> fields = {0xa0, static_cast<uint8_t>(mechs.size())};
  fields.insert(fields.end(), mechs.begin(), mechs.end());
  // a3 { 30 { a0 { 1b hint } } }
  const auto n = static_cast<uint8_t>(hint.size());
  std::vector<uint8_t> hints = {
      0xa3, static_cast<uint8_t>(n + 6), 0x30, static_cast<uint8_t>(n + 4),
      0xa0, static_cast<uint8_t>(n + 2), 0x1b, n};
  hints.insert(hints.end(), hint.begin(), hint.end());
  fields.insert(fields.end(), hints.begin(), hints.end());
  std::vector<uint8_t> seq = {0x30, static_cast<uint8_t>(fields.size())};
  seq.insert(seq.end(), fields.begin(), fields.end());
  std::vector<uint8_t> choice = {0xa0, static_cast<uint8_t>(seq.size())};
  choice.insert(choice.end(), seq.begin(), seq.end());
  std::vector<uint8_t> body = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
  body.insert(body.end(), choice.begin(), choice.end());
  std::vector<uint8_t> token = {0x60, static_cast<uint8_t>(body.size())};
  token.insert(token.end(), body.begin(), body.end());
  return token;
}

}  // namespace smb3::auth::authtest
