// SPDX-License-Identifier: LGPL-2.1-or-later
// The SESSION_SETUP security exchange, sans I/O: SPNEGO ([RFC 4178], [MS-SPNG]) around NTLMSSP
// ([MS-NLMP]). The connection layer passes the server's security buffers in and sends the tokens
// this returns; it never sees NTLM or DER.
//
//   Initial(negotiate_hint)  -> token for SESSION_SETUP #1 (NegTokenInit + NEGOTIATE_MESSAGE)
//   Step(server_token)       -> token for the next SESSION_SETUP, after MORE_PROCESSING_REQUIRED
//                               (NegTokenResp + AUTHENTICATE_MESSAGE [+ mechListMIC])
//   Finish(server_token)     -> after STATUS_SUCCESS: checks the server's final NegTokenResp
//
// mechListMIC follows Samba's "new SPNEGO" rules: when the AUTHENTICATE_MESSAGE carries an NTLM
// MIC (the server sent MsvAvTimestamp) and signing was negotiated, the client sends a mechListMIC
// with its AUTHENTICATE token; a mechListMIC from the server is always verified. A server that maps
// the logon to guest or anonymous sends none, which is accepted: with NTLMSSP as the only offered
// mechanism there is no mechanism choice an attacker could downgrade.
//
// Not thread-safe; one object per session setup. Secrets are never logged and are wiped on
// destruction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/ntlmssp.h"
#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::auth {

enum class Mechanism : uint8_t { kNtlmssp, kGuest, kAnonymous };

struct AuthOptions {
  Mechanism mechanism = Mechanism::kNtlmssp;
  std::string user, domain, password, workstation = "FUSE-SMBD";
  std::string target_server;                      // for MsvAvTargetName "cifs/<server>"
  std::function<uint64_t()> now_filetime;         // default: current time as FILETIME
  std::function<Status(MutableByteView)> random;  // default: crypto::RandomBytes
};

class Authenticator {
 public:
  // kNtlmssp needs a user name (kInvalidArgument otherwise). kGuest logs on as `user` (default
  // "guest") with an empty password. kAnonymous ignores user, domain and password. Strings must
  // be valid UTF-8.
  static Result<std::unique_ptr<Authenticator>> Create(AuthOptions options);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Token for the first SESSION_SETUP request. `server_hint` = the NEGOTIATE response's
  // SecurityBuffer (may be empty). kProtocol for a malformed hint, kNotSupported when the hint
  // lists mechanisms but not NTLMSSP, kInvalidArgument when called twice.
  Result<std::vector<uint8_t>> Initial(ByteView server_hint);

  // Token for the next SESSION_SETUP request, given the server's token from a
  // STATUS_MORE_PROCESSING_REQUIRED response. The first call answers the NTLM challenge; a second
  // one is allowed only when the server asks for the client's mechListMIC. kProtocol for malformed
  // or unexpected tokens (including negState reject), kSecurity for a bad server mechListMIC,
  // errors of NtlmClient::Authenticate.
  Result<std::vector<uint8_t>> Step(ByteView server_token);

  // Given the server's token in the final STATUS_SUCCESS response (may be empty): verifies the
  // server's mechListMIC when one is required/present (kSecurity on mismatch; kProtocol if
  // negState is reject or the token is malformed or unexpected).
  Status Finish(ByteView server_token);

  // 16-byte session key (NTLM ExportedSessionKey) for SMB2 key derivation; empty before Step
  // produced AUTHENTICATE, after a failed step, or for anonymous.
  ByteView session_key() const;
  // True for Mechanism::kAnonymous. Use this, not only SMB2_SESSION_FLAG_IS_NULL, to skip key
  // derivation: Samba 4.17 answers an NTLMSSP anonymous logon with SessionFlags 0 (observed).
  bool anonymous() const;

 private:
  explicit Authenticator(Mechanism mechanism, std::unique_ptr<NtlmClient> ntlm);
  // Verifies a server mechListMIC (kSecurity when it does not verify or cannot be verified).
  Status VerifyServerMic(ByteView mic);

  enum class State : uint8_t { kStart, kSentInit, kSentAuthenticate, kDone, kFailed };

  Mechanism mechanism_;
  std::unique_ptr<NtlmClient> ntlm_;
  State state_ = State::kStart;
  std::vector<uint8_t> mech_types_;   // DER MechTypeList we sent: what mechListMICs cover
  std::optional<NtlmSigner> signer_;  // after AUTHENTICATE when signing is available
  bool client_mic_sent_ = false;
  bool server_mic_verified_ = false;
  bool extra_round_done_ = false;
};

}  // namespace smb3::auth
