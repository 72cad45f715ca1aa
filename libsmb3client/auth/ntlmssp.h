// SPDX-License-Identifier: LGPL-2.1-or-later
// Client side of NTLMSSP ([MS-NLMP]): NTLMv2 responses, key exchange, the AUTHENTICATE MIC, and
// NTLMSSP message signatures (used for SPNEGO's mechListMIC).
//
// Sans-I/O: NtlmClient turns a CHALLENGE_MESSAGE into an AUTHENTICATE_MESSAGE; time and randomness
// are injected so the [MS-NLMP] 4.2.4 example reproduces byte for byte. Secrets (password, hashes,
// keys) are never logged and are wiped when the objects are destroyed. Not thread-safe: one
// authentication exchange per object, driven from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/ntlmssp_messages.h"
#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::auth {

using NtlmKey = std::array<uint8_t, 16>;
using NtlmSignature = std::array<uint8_t, 16>;

// Flags this client requests in NEGOTIATE_MESSAGE ([MS-NLMP] 3.1.5.1.1 plus SIGN, SEAL, KEY_EXCH,
// 128, 56, TARGET_INFO, VERSION): 0xE2888235. SEAL is requested because Samba grants KEY_EXCH only
// together with SIGN or SEAL.
inline constexpr uint32_t kNtlmClientFlags =
    NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_SIGN |
    NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
    NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_TARGET_INFO |
    NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH |
    NTLMSSP_NEGOTIATE_56;

// VERSION sent by default: 6.1, build 0, NTLMSSP_REVISION_W2K3 (what Samba's client sends).
inline constexpr NtlmVersion kDefaultNtlmVersion = {6, 1, 0, 0, 0, 0, 0, 0x0F};

// [MS-NLMP] 3.3.2 NTOWFv2(Passwd, User, UserDom) = HMAC_MD5(MD4(UNICODE(Passwd)),
// UNICODE(Uppercase(User) || UserDom)). Strings are UTF-8; invalid UTF-8 is kInvalidArgument.
// Uppercasing covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters.
Result<NtlmKey> NtowfV2(std::string_view password, std::string_view user, std::string_view domain);

// [MS-NLMP] 3.3.2 ComputeResponse for NTLMv2 (non-anonymous).
struct Ntlmv2Response {
  std::vector<uint8_t> nt_challenge_response;  // NTProofStr || temp
  std::vector<uint8_t> lm_challenge_response;  // LMv2, or Z(24) when `zero_lm` (3.1.5.1.2)
  NtlmKey session_base_key{};                  // HMAC_MD5(ResponseKeyNT, NTProofStr)
};
// `av_pairs` is the ServerName field of temp: an encoded AV_PAIR list including MsvAvEOL.
Result<Ntlmv2Response> ComputeNtlmv2Response(const NtlmKey& response_key_nt,
                                             ByteView server_challenge, ByteView client_challenge,
                                             uint64_t time, ByteView av_pairs, bool zero_lm);

// [MS-NLMP] 3.4.5.2 SIGNKEY and 3.4.5.3 SEALKEY (extended session security; kInvalidArgument
// without NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY in `flags`).
Result<NtlmKey> NtlmSignKey(uint32_t flags, const NtlmKey& exported_session_key, bool client);
Result<NtlmKey> NtlmSealKey(uint32_t flags, const NtlmKey& exported_session_key, bool client);

// Sources of time and randomness, injectable for tests.
struct NtlmEnvironment {
  std::function<uint64_t()> now_filetime;         // FILETIME now
  std::function<Status(MutableByteView)> random;  // fills with cryptographic random bytes
};
// Current time as FILETIME, and crypto::RandomBytes: the production environment.
NtlmEnvironment DefaultNtlmEnvironment();

struct NtlmClientConfig {
  std::string user;         // UTF-8; empty together with an empty password means anonymous
  std::string domain;       // UTF-8, may be empty
  std::string password;     // UTF-8
  std::string workstation;  // UTF-8 NetBIOS name sent in AUTHENTICATE
  std::string target_name;  // SPN for MsvAvTargetName ("cifs/<server>"); empty sends ""
  NtlmVersion version = kDefaultNtlmVersion;
  NtlmEnvironment env;  // missing members fall back to DefaultNtlmEnvironment()
};

// One NTLMSSP client exchange: Negotiate() once, then Authenticate(challenge) once.
class NtlmClient {
 public:
  // Fails with kInvalidArgument for invalid UTF-8 in any string.
  static Result<std::unique_ptr<NtlmClient>> Create(NtlmClientConfig config);
  ~NtlmClient();
  NtlmClient(const NtlmClient&) = delete;
  NtlmClient& operator=(const NtlmClient&) = delete;

  bool anonymous() const { return anonymous_; }

  // [MS-NLMP] 3.1.5.1.1 The NEGOTIATE_MESSAGE. kInvalidArgument when called twice.
  Result<std::vector<uint8_t>> Negotiate();

  // [MS-NLMP] 3.1.5.1.2 The AUTHENTICATE_MESSAGE answering `challenge`. Errors: kProtocol for a
  // malformed CHALLENGE_MESSAGE; kNotSupported when the server refuses Unicode; kAuth with
  // STATUS_LOGON_FAILURE when TargetInfo lacks MsvAvNbComputerName/MsvAvNbDomainName;
  // kInvalidArgument out of order; failures of the injected random source or crypto.
  Result<std::vector<uint8_t>> Authenticate(ByteView challenge);

  // Valid after Authenticate():
  uint32_t negotiated_flags() const { return negotiated_flags_; }
  // Whether the AUTHENTICATE_MESSAGE carries a MIC (and MsvAvFlags bit 0x2): the server has an
  // MsvAvTimestamp, so it is "new" NTLMSSP and SPNEGO must exchange mechListMICs.
  bool mic_sent() const { return mic_sent_; }
  // ExportedSessionKey: 16 bytes after Authenticate(), all zero for anonymous; empty before.
  ByteView exported_session_key() const;

 private:
  explicit NtlmClient(NtlmClientConfig config);

  NtlmClientConfig config_;
  bool anonymous_ = false;
  enum class State : uint8_t { kStart, kNegotiated, kAuthenticated } state_ = State::kStart;
  std::vector<uint8_t> negotiate_message_;  // kept for the MIC
  uint32_t negotiated_flags_ = 0;
  bool mic_sent_ = false;
  NtlmKey exported_session_key_{};
};

// [MS-NLMP] 3.4.4 message signatures in connection-oriented mode, for one side of an established
// context. Requires NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (3.4.4.2); without
// NTLMSSP_NEGOTIATE_SIGN signatures are the fixed 3.4.4.3 form. With NTLMSSP_NEGOTIATE_KEY_EXCH the
// checksum is sealed with the sender's RC4 key stream, which continues across messages.
class NtlmSigner {
 public:
  enum class Role : uint8_t { kClient, kServer };
  // kNotSupported without extended session security.
  static Result<NtlmSigner> Create(Role role, uint32_t negotiated_flags,
                                   const NtlmKey& exported_session_key);
  NtlmSigner(const NtlmSigner&) = delete;
  NtlmSigner& operator=(const NtlmSigner&) = delete;
  NtlmSigner(NtlmSigner&& other) noexcept;
  NtlmSigner& operator=(NtlmSigner&& other) noexcept;
  ~NtlmSigner();

  // NTLMSSP_MESSAGE_SIGNATURE over `message` with the next outgoing SeqNum.
  Result<NtlmSignature> Sign(ByteView message);
  // Checks the peer's signature, which must carry the next expected incoming SeqNum. kSecurity on
  // mismatch (the expected SeqNum is then not advanced), kProtocol when not 16 bytes.
  Status Verify(ByteView message, ByteView signature);

  // [MS-SPNG] 3.3.5.1: the mechListMIC is signed/verified like a message, but the RC4 handle is
  // restored afterwards so the first application message uses the same key state.
  Result<NtlmSignature> SignMechListMic(ByteView mech_types);
  Status VerifyMechListMic(ByteView mech_types, ByteView signature);

 private:
  NtlmSigner() = default;
  struct Direction {
    NtlmKey sign_key{};
    NtlmKey seal_key{};
    uint32_t seq_num = 0;
    uint64_t rc4_offset = 0;  // bytes of the RC4 key stream consumed so far
  };
  Result<NtlmSignature> Compute(Direction& d, ByteView message, bool advance_rc4);
  Status Check(Direction& d, ByteView message, ByteView signature, bool advance_rc4);
  void Wipe();

  uint32_t flags_ = 0;
  Direction send_;
  Direction recv_;
};

}  // namespace smb3::auth
