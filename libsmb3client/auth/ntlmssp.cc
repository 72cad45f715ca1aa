// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/ntlmssp.h"

#include <string.h>  // explicit_bzero

#include <chrono>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "base/utf16.h"
#include "crypto/crypto.h"
#include "smb3/ntstatus.h"
#include "smb3/types.h"

namespace smb3::auth {
namespace {

void WipeBytes(void* p, size_t n) {
  if (n) explicit_bzero(p, n);
}
void WipeVector(std::vector<uint8_t>& v) { WipeBytes(v.data(), v.capacity()); }
void WipeString(std::string& s) { WipeBytes(s.data(), s.capacity()); }

// Wipes a fixed buffer when the scope ends, whichever way it ends.
class ScopedWipe {
 public:
  explicit ScopedWipe(MutableByteView v) : v_(v) {}
  ~ScopedWipe() { WipeBytes(v_.data(), v_.size()); }
  ScopedWipe(const ScopedWipe&) = delete;
  ScopedWipe& operator=(const ScopedWipe&) = delete;

 private:
  MutableByteView v_;
};

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

// Upper case of one UTF-16 code unit (Unicode simple case mapping) for Basic Latin, Latin-1,
// Latin Extended-A, Greek and Cyrillic letters. Letters without a one-unit upper case (final
// sigma, sharp s, kra), all other code units and surrogates are left unchanged.
uint16_t UpcaseUnit(uint16_t c) {
  if (c >= 'a' && c <= 'z') return static_cast<uint16_t>(c - 0x20);
  if (c < 0x00E0) return c;
  if (c <= 0x00FE) return c == 0x00F7 ? c : static_cast<uint16_t>(c - 0x20);  // Latin-1
  if (c == 0x00FF) return 0x0178;
  if (c >= 0x0100 && c <= 0x017E) {  // Latin Extended-A: alternating upper/lower pairs
    bool odd_is_lower = (c <= 0x0137) || (c >= 0x014A && c <= 0x0177);
    bool even_is_lower = (c >= 0x0139 && c <= 0x0148) || (c >= 0x0179);
    if (c == 0x0138 || c == 0x0149) return c;  // kra, n preceded by apostrophe: no upper case
    if (odd_is_lower && (c & 1)) return static_cast<uint16_t>(c - 1);
    if (even_is_lower && !(c & 1)) return static_cast<uint16_t>(c - 1);
    return c;
  }
  if (c >= 0x03B1 && c <= 0x03CB && c != 0x03C2) return static_cast<uint16_t>(c - 0x20);  // Greek
  if (c >= 0x0430 && c <= 0x044F) return static_cast<uint16_t>(c - 0x20);  // Cyrillic
  if (c >= 0x0450 && c <= 0x045F) return static_cast<uint16_t>(c - 0x50);
  return c;
}

void UpcaseUtf16le(std::vector<uint8_t>& s) {
  for (size_t i = 0; i + 1 < s.size(); i += 2) StoreU16(&s[i], UpcaseUnit(LoadU16(&s[i])));
}

Status RandomInto(const NtlmEnvironment& env, MutableByteView out) {
  return env.random ? env.random(out) : crypto::RandomBytes(out);
}

uint64_t Now(const NtlmEnvironment& env) {
  if (env.now_filetime) return env.now_filetime();
  return DefaultNtlmEnvironment().now_filetime();
}

// [MS-NLMP] 3.4.5.2 / 3.4.5.3 magic constants; the terminating NUL is part of the hashed input.
constexpr char kClientSignMagic[] = "session key to client-to-server signing key magic constant";
constexpr char kServerSignMagic[] = "session key to server-to-client signing key magic constant";
constexpr char kClientSealMagic[] = "session key to client-to-server sealing key magic constant";
constexpr char kServerSealMagic[] = "session key to server-to-client sealing key magic constant";

template <size_t N>
ByteView MagicView(const char (&s)[N]) {
  return ByteView(reinterpret_cast<const uint8_t*>(s), N);
}

// RC4 of `data` at byte `offset` of the key stream of `key`: the one-shot primitive is run over
// offset zero bytes first. Only the mechListMIC (offset 0) and a handful of messages use this.
Status Rc4AtOffset(const NtlmKey& key, uint64_t offset, MutableByteView data) {
  std::vector<uint8_t> buf(offset + data.size(), 0);
  std::memcpy(buf.data() + offset, data.data(), data.size());
  Status st = crypto::Rc4(key, buf);
  if (st.ok()) std::memcpy(data.data(), buf.data() + offset, data.size());
  WipeVector(buf);
  return st;
}

}  // namespace

// [MS-NLMP] 3.3.2 NTOWFv2
Result<NtlmKey> NtowfV2(std::string_view password, std::string_view user, std::string_view domain) {
  auto pw = Utf8ToUtf16le(password);
  if (!pw.ok()) return Status::Invalid("ntlmssp: password is not valid UTF-8");
  auto nt_hash = crypto::Md4(*pw);
  WipeVector(*pw);
  if (!nt_hash.ok()) return nt_hash.status();
  ScopedWipe wipe_hash(*nt_hash);

  std::vector<uint8_t> identity;
  if (!AppendUtf16le(user, identity).ok()) return Status::Invalid("ntlmssp: user is not UTF-8");
  UpcaseUtf16le(identity);
  if (!AppendUtf16le(domain, identity).ok()) {
    return Status::Invalid("ntlmssp: domain is not valid UTF-8");
  }
  ByteView parts[] = {identity};
  return crypto::HmacMd5(*nt_hash, parts);
}

// [MS-NLMP] 3.3.2 ComputeResponse
Result<Ntlmv2Response> ComputeNtlmv2Response(const NtlmKey& response_key_nt,
                                             ByteView server_challenge, ByteView client_challenge,
                                             uint64_t time, ByteView av_pairs, bool zero_lm) {
  if (server_challenge.size() != kNtlmChallengeSize ||
      client_challenge.size() != kNtlmChallengeSize) {
    return Status::Invalid("ntlmssp: challenges must be 8 bytes");
  }
  // temp = Responserversion, HiResponserversion, Z(6), Time, ClientChallenge, Z(4), ServerName,
  // Z(4) -- the NTLMv2_CLIENT_CHALLENGE of [MS-NLMP] 2.2.2.7.
  std::vector<uint8_t> temp;
  ByteWriter w(temp);
  w.U8(1);
  w.U8(1);
  w.Zeros(6);
  w.U64(time);
  w.Bytes(client_challenge);
  w.Zeros(4);
  w.Bytes(av_pairs);
  w.Zeros(4);

  ByteView proof_parts[] = {server_challenge, temp};
  SMB3_ASSIGN_OR_RETURN(crypto::Md5Digest nt_proof, crypto::HmacMd5(response_key_nt, proof_parts));

  Ntlmv2Response out;
  out.nt_challenge_response.reserve(nt_proof.size() + temp.size());
  out.nt_challenge_response.assign(nt_proof.begin(), nt_proof.end());
  out.nt_challenge_response.insert(out.nt_challenge_response.end(), temp.begin(), temp.end());

  if (zero_lm) {
    out.lm_challenge_response.assign(24, 0);  // 3.1.5.1.2: Z(24) when MsvAvTimestamp is present
  } else {
    // LMOWFv2 == NTOWFv2, so ResponseKeyLM == ResponseKeyNT.
    ByteView lm_parts[] = {server_challenge, client_challenge};
    SMB3_ASSIGN_OR_RETURN(crypto::Md5Digest lm, crypto::HmacMd5(response_key_nt, lm_parts));
    out.lm_challenge_response.assign(lm.begin(), lm.end());
    out.lm_challenge_response.insert(out.lm_challenge_response.end(), client_challenge.begin(),
                                     client_challenge.end());
  }
  ByteView key_parts[] = {nt_proof};
  SMB3_ASSIGN_OR_RETURN(out.session_base_key, crypto::HmacMd5(response_key_nt, key_parts));
  return out;
}

// [MS-NLMP] 3.4.5.2 SIGNKEY
Result<NtlmKey> NtlmSignKey(uint32_t flags, const NtlmKey& exported_session_key, bool client) {
  if (!(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    return Status::Invalid("ntlmssp: SIGNKEY needs extended session security");
  }
  std::vector<uint8_t> input(exported_session_key.begin(), exported_session_key.end());
  ByteView magic = MagicView(client ? kClientSignMagic : kServerSignMagic);
  input.insert(input.end(), magic.begin(), magic.end());
  auto digest = crypto::Md5(input);
  WipeVector(input);
  return digest;
}

// [MS-NLMP] 3.4.5.3 SEALKEY
Result<NtlmKey> NtlmSealKey(uint32_t flags, const NtlmKey& exported_session_key, bool client) {
  if (!(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    return Status::Invalid("ntlmssp: SEALKEY needs extended session security");
  }
  size_t key_len = (flags & NTLMSSP_NEGOTIATE_128) ? 16 : (flags & NTLMSSP_NEGOTIATE_56) ? 7 : 5;
  std::vector<uint8_t> input(exported_session_key.begin(),
                             exported_session_key.begin() + static_cast<ptrdiff_t>(key_len));
  ByteView magic = MagicView(client ? kClientSealMagic : kServerSealMagic);
  input.insert(input.end(), magic.begin(), magic.end());
  auto digest = crypto::Md5(input);
  WipeVector(input);
  return digest;
}

NtlmEnvironment DefaultNtlmEnvironment() {
  NtlmEnvironment env;
  env.now_filetime = [] {
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    auto ticks = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count() / 100;
    return kFileTimeUnixEpoch + static_cast<uint64_t>(ticks);
  };
  env.random = [](MutableByteView out) { return crypto::RandomBytes(out); };
  return env;
}

// ---------------------------------------------------------------------------------------------
// NtlmClient

NtlmClient::NtlmClient(NtlmClientConfig config) : config_(std::move(config)) {
  anonymous_ = config_.user.empty() && config_.password.empty();
}

NtlmClient::~NtlmClient() {
  WipeString(config_.password);
  WipeBytes(exported_session_key_.data(), exported_session_key_.size());
}

Result<std::unique_ptr<NtlmClient>> NtlmClient::Create(NtlmClientConfig config) {
  for (const std::string* s :
       {&config.user, &config.domain, &config.password, &config.workstation, &config.target_name}) {
    auto u = Utf8ToUtf16le(*s);
    if (!u.ok()) return Status::Invalid("ntlmssp: credentials are not valid UTF-8");
    WipeVector(*u);
  }
  return std::unique_ptr<NtlmClient>(new NtlmClient(std::move(config)));
}

ByteView NtlmClient::exported_session_key() const {
  if (state_ != State::kAuthenticated) return {};
  return exported_session_key_;
}

// [MS-NLMP] 3.1.5.1.1
Result<std::vector<uint8_t>> NtlmClient::Negotiate() {
  if (state_ != State::kStart) return Status::Invalid("ntlmssp: Negotiate called twice");
  NegotiateMessage msg;
  msg.negotiate_flags = kNtlmClientFlags;
  msg.version = config_.version;
  negotiate_message_ = EncodeNegotiateMessage(msg);
  state_ = State::kNegotiated;
  return negotiate_message_;
}

// [MS-NLMP] 3.1.5.1.2
Result<std::vector<uint8_t>> NtlmClient::Authenticate(ByteView challenge) {
  if (state_ != State::kNegotiated) return Status::Invalid("ntlmssp: Authenticate out of order");
  SMB3_ASSIGN_OR_RETURN(ChallengeMessage chal, DecodeChallengeMessage(challenge));
  if (!(chal.negotiate_flags & NTLMSSP_NEGOTIATE_UNICODE)) {
    return Status(Code::kNotSupported, 0, "ntlmssp: server refused NTLMSSP_NEGOTIATE_UNICODE");
  }
  SMB3_LOG_DEBUG("ntlmssp: CHALLENGE flags 0x%08x, target info %s", chal.negotiate_flags,
                 chal.has_target_info ? "present" : "absent");

  // NegFlg: what both sides support, plus our own request bits the server does not echo.
  uint32_t flags = (kNtlmClientFlags & chal.negotiate_flags) | NTLMSSP_REQUEST_TARGET;

  AuthenticateMessage auth;
  SMB3_ASSIGN_OR_RETURN(auth.domain_name, Utf8ToUtf16le(config_.domain));
  SMB3_ASSIGN_OR_RETURN(auth.user_name, Utf8ToUtf16le(config_.user));
  SMB3_ASSIGN_OR_RETURN(auth.workstation, Utf8ToUtf16le(config_.workstation));

  NtlmKey exported{};
  ScopedWipe wipe_exported(exported);
  bool with_mic = false;

  if (anonymous_) {
    // 3.3.2 ComputeResponse, anonymous special case: LmChallengeResponse Z(1), no NT response,
    // SessionBaseKey Z(16). There is no key to exchange and no MIC.
    flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
    flags &= ~NTLMSSP_NEGOTIATE_KEY_EXCH;
    auth.lm_challenge_response.assign(1, 0);
  } else {
    const std::vector<AvPair>& server_pairs = chal.target_info;
    if (!FindAvPair(server_pairs, AvId::MsvAvNbComputerName) ||
        !FindAvPair(server_pairs, AvId::MsvAvNbDomainName)) {
      // 3.1.5.1.2: NTLMv2 with Integrity needs both NetBIOS names.
      return Status(Code::kAuth, STATUS_LOGON_FAILURE,
                    "ntlmssp: CHALLENGE TargetInfo lacks NetBIOS computer/domain name");
    }
    const AvPair* timestamp = FindAvPair(server_pairs, AvId::MsvAvTimestamp);
    with_mic = timestamp != nullptr;
    uint64_t time = timestamp ? LoadU64(timestamp->value.data()) : Now(config_.env);

    std::array<uint8_t, kNtlmChallengeSize> client_challenge{};
    SMB3_RETURN_IF_ERROR(RandomInto(config_.env, client_challenge));

    // The client's AV_PAIR list: the server's pairs, then (for a MIC-capable server) MsvAvFlags
    // with the MIC bit, MsvAvChannelBindings Z(16) and MsvAvTargetName, as Windows sends them.
    std::vector<AvPair> pairs;
    for (const AvPair& p : server_pairs) {
      if (p.id == AvId::MsvAvTargetName || p.id == AvId::MsvAvChannelBindings) continue;
      pairs.push_back(p);
    }
    if (with_mic) {
      AvPair* av_flags = nullptr;
      for (AvPair& p : pairs) {
        if (p.id == AvId::MsvAvFlags) av_flags = &p;
      }
      if (!av_flags) {
        pairs.push_back(AvPair{AvId::MsvAvFlags, std::vector<uint8_t>(4, 0)});
        av_flags = &pairs.back();
      }
      StoreU32(av_flags->value.data(), LoadU32(av_flags->value.data()) | kAvFlagMicPresent);
      pairs.push_back(AvPair{AvId::MsvAvChannelBindings, std::vector<uint8_t>(16, 0)});
      AvPair target{AvId::MsvAvTargetName, {}};
      SMB3_ASSIGN_OR_RETURN(target.value, Utf8ToUtf16le(config_.target_name));
      pairs.push_back(std::move(target));
    }
    std::vector<uint8_t> av_bytes;
    ByteWriter aw(av_bytes);
    SMB3_RETURN_IF_ERROR(EncodeAvPairs(pairs, aw));

    SMB3_ASSIGN_OR_RETURN(NtlmKey response_key,
                          NtowfV2(config_.password, config_.user, config_.domain));
    ScopedWipe wipe_response_key(response_key);
    SMB3_ASSIGN_OR_RETURN(Ntlmv2Response resp,
                          ComputeNtlmv2Response(response_key, chal.server_challenge,
                                                client_challenge, time, av_bytes, with_mic));
    ScopedWipe wipe_base_key(resp.session_base_key);
    auth.nt_challenge_response = std::move(resp.nt_challenge_response);
    auth.lm_challenge_response = std::move(resp.lm_challenge_response);

    // 3.4.5.1 KXKEY for NTLMv2 is the SessionBaseKey. 3.1.5.1.2 key exchange.
    const NtlmKey& key_exchange_key = resp.session_base_key;
    if ((flags & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
        (flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL))) {
      SMB3_RETURN_IF_ERROR(RandomInto(config_.env, exported));
      auth.encrypted_random_session_key.assign(exported.begin(), exported.end());
      SMB3_RETURN_IF_ERROR(crypto::Rc4(key_exchange_key, auth.encrypted_random_session_key));
    } else {
      flags &= ~NTLMSSP_NEGOTIATE_KEY_EXCH;
      exported = key_exchange_key;
    }
  }

  auth.negotiate_flags = flags;
  if (flags & NTLMSSP_NEGOTIATE_VERSION) auth.version = config_.version;
  auth.has_mic = with_mic;  // zero while the MIC is computed
  SMB3_ASSIGN_OR_RETURN(std::vector<uint8_t> out, EncodeAuthenticateMessage(auth));
  if (with_mic) {
    // 3.1.5.1.2 MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE).
    ByteView parts[] = {negotiate_message_, challenge, out};
    SMB3_ASSIGN_OR_RETURN(crypto::Md5Digest mic, crypto::HmacMd5(exported, parts));
    std::memcpy(out.data() + kNtlmMicOffset, mic.data(), mic.size());
  }
  SMB3_LOG_DEBUG("ntlmssp: AUTHENTICATE flags 0x%08x%s%s", flags, anonymous_ ? ", anonymous" : "",
                 with_mic ? ", with MIC" : "");

  exported_session_key_ = exported;
  negotiated_flags_ = flags;
  mic_sent_ = with_mic;
  state_ = State::kAuthenticated;
  return out;
}

// ---------------------------------------------------------------------------------------------
// NtlmSigner

Result<NtlmSigner> NtlmSigner::Create(Role role, uint32_t negotiated_flags,
                                      const NtlmKey& exported_session_key) {
  if (!(negotiated_flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    return Status(Code::kNotSupported, 0,
                  "ntlmssp: signing without extended session security is not supported");
  }
  NtlmSigner s;
  s.flags_ = negotiated_flags;
  bool client = role == Role::kClient;
  // [MS-NLMP] 3.1.5.1.2: the client sends with the client keys and receives with the server's.
  SMB3_ASSIGN_OR_RETURN(s.send_.sign_key,
                        NtlmSignKey(negotiated_flags, exported_session_key, client));
  SMB3_ASSIGN_OR_RETURN(s.send_.seal_key,
                        NtlmSealKey(negotiated_flags, exported_session_key, client));
  SMB3_ASSIGN_OR_RETURN(s.recv_.sign_key,
                        NtlmSignKey(negotiated_flags, exported_session_key, !client));
  SMB3_ASSIGN_OR_RETURN(s.recv_.seal_key,
                        NtlmSealKey(negotiated_flags, exported_session_key, !client));
  return s;
}

NtlmSigner::NtlmSigner(NtlmSigner&& other) noexcept
    : flags_(other.flags_), send_(other.send_), recv_(other.recv_) {
  other.Wipe();
}

NtlmSigner& NtlmSigner::operator=(NtlmSigner&& other) noexcept {
  if (this != &other) {
    flags_ = other.flags_;
    send_ = other.send_;
    recv_ = other.recv_;
    other.Wipe();
  }
  return *this;
}

NtlmSigner::~NtlmSigner() { Wipe(); }

void NtlmSigner::Wipe() {
  WipeBytes(&send_, sizeof send_);
  WipeBytes(&recv_, sizeof recv_);
}

// [MS-NLMP] 3.4.4.2 MAC() with extended session security, 2.2.2.9.2 layout.
Result<NtlmSignature> NtlmSigner::Compute(Direction& d, ByteView message, bool advance_rc4) {
  NtlmSignature sig{};
  StoreU32(sig.data(), 1);                             // Version
  if (!(flags_ & NTLMSSP_NEGOTIATE_SIGN)) return sig;  // 3.4.4.3: all other bytes zero

  uint8_t seq[4];
  StoreU32(seq, d.seq_num);
  ByteView parts[] = {seq, message};
  SMB3_ASSIGN_OR_RETURN(crypto::Md5Digest mac, crypto::HmacMd5(d.sign_key, parts));
  MutableByteView checksum(sig.data() + 4, 8);
  std::memcpy(checksum.data(), mac.data(), checksum.size());
  if (flags_ & NTLMSSP_NEGOTIATE_KEY_EXCH) {
    SMB3_RETURN_IF_ERROR(Rc4AtOffset(d.seal_key, d.rc4_offset, checksum));
    if (advance_rc4) d.rc4_offset += checksum.size();
  }
  std::memcpy(sig.data() + 12, seq, sizeof seq);
  ++d.seq_num;
  return sig;
}

Status NtlmSigner::Check(Direction& d, ByteView message, ByteView signature, bool advance_rc4) {
  if (signature.size() != sizeof(NtlmSignature)) {
    return Status::Protocol("ntlmssp: message signature is not 16 bytes");
  }
  Direction trial = d;
  auto expected = Compute(trial, message, advance_rc4);
  if (!expected.ok()) {
    WipeBytes(&trial, sizeof trial);
    return expected.status();
  }
  bool match = ConstantTimeEqual(*expected, signature);
  // 3.4.4: on a wrong signature or SeqNum the expected SeqNum is not incremented.
  if (match) d = trial;
  WipeBytes(&trial, sizeof trial);
  return match ? Status::Ok() : Status(Code::kSecurity, 0, "ntlmssp: message signature mismatch");
}

Result<NtlmSignature> NtlmSigner::Sign(ByteView message) { return Compute(send_, message, true); }

Status NtlmSigner::Verify(ByteView message, ByteView signature) {
  return Check(recv_, message, signature, true);
}

Result<NtlmSignature> NtlmSigner::SignMechListMic(ByteView mech_types) {
  return Compute(send_, mech_types, false);
}

Status NtlmSigner::VerifyMechListMic(ByteView mech_types, ByteView signature) {
  return Check(recv_, mech_types, signature, false);
}

}  // namespace smb3::auth
