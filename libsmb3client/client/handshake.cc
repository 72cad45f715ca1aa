// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection establishment: NEGOTIATE, SESSION_SETUP (SPNEGO/NTLMSSP), key derivation,
// TREE_CONNECT and, for 3.0/3.0.2, FSCTL_VALIDATE_NEGOTIATE_INFO.
#include <cstring>

#include "auth/authenticator.h"
#include "base/log.h"
#include "client/client_impl.h"
#include "client/names.h"
#include "smb2/fsctl.h"
#include "smb2/ioctl.h"
#include "smb2/negotiate.h"
#include "smb2/session_setup.h"
#include "smb2/tree_connect.h"
#include "smb3/ntstatus.h"

namespace smb3::client {


Status ClientImpl::Negotiate() {
  smb2::NegotiateRequest req;
  if (established_) {
    // A reconnect offers exactly the dialect the first connection negotiated: a server (or a
    // man in the middle) cannot talk the client down to an older dialect by breaking the
    // connection.
    offered_dialects_ = {dialect_};
  } else {
    offered_dialects_ = options_.dialects.empty()
                            ? std::vector<uint16_t>{smb2::kDialect311, smb2::kDialect302, smb2::kDialect300}
                            : options_.dialects;
  }
  for (uint16_t d : offered_dialects_)
    if (d != smb2::kDialect300 && d != smb2::kDialect302 && d != smb2::kDialect311)
      return Status::Invalid("vers: only SMB 3.0, 3.0.2 and 3.1.1 are supported");
  req.dialects = offered_dialects_;
  // [MS-SMB2] 3.2.4.2.2.2: signing required when the user demands it.
  req.security_mode = options_.signing == Want::kRequired ? smb2::SMB2_NEGOTIATE_SIGNING_REQUIRED
                                                          : smb2::SMB2_NEGOTIATE_SIGNING_ENABLED;
  req.capabilities = smb2::SMB2_GLOBAL_CAP_LARGE_MTU | smb2::SMB2_GLOBAL_CAP_ENCRYPTION;
  negotiate_security_mode_ = req.security_mode;
  negotiate_capabilities_ = req.capabilities;
  // [MS-SMB2] 3.2.4.2.2.2: ClientGuid is the client's global identity. It stays the same across
  // reconnects: a server re-establishes a durable handle only for the client that opened it.
  if (!established_) SMB3_RETURN_IF_ERROR(crypto::RandomBytes(client_guid_));
  req.client_guid = client_guid_;
  SMB3_RETURN_IF_ERROR(crypto::RandomBytes(req.salt));
  // Preference: GCM before CCM (faster), 128 before 256 bits unless the user asks otherwise.
  req.ciphers = {smb2::SMB2_ENCRYPTION_AES128_GCM, smb2::SMB2_ENCRYPTION_AES128_CCM,
                 smb2::SMB2_ENCRYPTION_AES256_GCM, smb2::SMB2_ENCRYPTION_AES256_CCM};
  req.signing_algorithms = {smb2::SMB2_SIGNING_AES_GMAC, smb2::SMB2_SIGNING_AES_CMAC,
                            smb2::SMB2_SIGNING_HMAC_SHA256};
  req.net_name = options_.server;

  Request r = NewRequest(smb2::SMB2_NEGOTIATE);
  r.in_session = false;
  ByteWriter w(r.message);
  SMB3_RETURN_IF_ERROR(smb2::EncodeNegotiateRequest(req, w));
  std::vector<uint8_t> sent;
  r.record_sent = &sent;
  auto resp = conn_->Call(std::move(r));
  if (!resp.ok()) {
    if (resp.status().Is(Code::kDisconnected))
      return Status(Code::kNotSupported, 0,
                    "negotiate: the server closed the connection (it accepts none of the offered dialects)");
    return resp.status();
  }
  if (resp->nt_status() != STATUS_SUCCESS) {
    if (resp->nt_status() == STATUS_NOT_SUPPORTED || resp->nt_status() == STATUS_INVALID_PARAMETER)
      return Status(Code::kNotSupported, resp->nt_status(), "negotiate: server refused the dialects offered");
    return Status::NtStatus(resp->nt_status(), "negotiate");
  }
  SMB3_ASSIGN_OR_RETURN(auto neg, smb2::DecodeNegotiateResponse(resp->message));
  SMB3_RETURN_IF_ERROR(smb2::CheckNegotiateResponse(req, neg));

  dialect_ = neg.dialect_revision;
  server_security_mode_ = neg.security_mode;
  server_capabilities_ = neg.capabilities;
  server_guid_ = neg.server_guid;
  max_transact_ = neg.max_transact_size;
  max_read_ = neg.max_read_size;
  max_write_ = neg.max_write_size;
  gss_hint_.assign(neg.security_buffer.begin(), neg.security_buffer.end());
  conn_->SetMultiCredit((server_capabilities_ & smb2::SMB2_GLOBAL_CAP_LARGE_MTU) != 0);

  if (dialect_ == smb2::kDialect311) {
    // [MS-SMB2] 3.2.5.2: Connection.PreauthIntegrityHashValue over the request and response (a
    // new connection starts from zero).
    preauth_ = crypto::PreauthHash();
    SMB3_RETURN_IF_ERROR(preauth_.Update(sent));
    SMB3_RETURN_IF_ERROR(preauth_.Update(resp->message));
    cipher_ = static_cast<crypto::CipherId>(neg.cipher.value_or(0));
    signing_algorithm_ = neg.signing_algorithm
                             ? static_cast<crypto::SigningAlgorithm>(*neg.signing_algorithm)
                             : crypto::SigningAlgorithm::kAesCmac;
  } else {
    // 3.0/3.0.2: AES-128-CCM when the server supports encryption; AES-CMAC signing.
    cipher_ = (server_capabilities_ & smb2::SMB2_GLOBAL_CAP_ENCRYPTION)
                  ? crypto::CipherId::SMB2_ENCRYPTION_AES128_CCM
                  : crypto::CipherId::kNone;
    signing_algorithm_ = crypto::SigningAlgorithm::kAesCmac;
  }
  if (options_.encryption == Want::kRequired && cipher_ == crypto::CipherId::kNone)
    return Status(Code::kSecurity, 0, "seal: the server offers no cipher this client supports");
  SMB3_LOG_INFO("negotiated SMB %s with %s, cipher %s, signing %s", DialectName(dialect_),
                options_.server.c_str(), CipherName(cipher_),
                SigningAlgorithmName(signing_algorithm_));
  return Status::Ok();
}

Status ClientImpl::SessionSetup() {
  auth::AuthOptions ao;
  switch (options_.security) {
    case SecurityMode::kNtlmssp: ao.mechanism = auth::Mechanism::kNtlmssp; break;
    case SecurityMode::kGuest: ao.mechanism = auth::Mechanism::kGuest; break;
    case SecurityMode::kAnonymous: ao.mechanism = auth::Mechanism::kAnonymous; break;
  }
  ao.user = options_.credentials.username;
  ao.domain = options_.credentials.domain;
  ao.password = options_.credentials.password;
  ao.workstation = options_.workstation;
  ao.target_server = options_.server;
  SMB3_ASSIGN_OR_RETURN(auto authn, auth::Authenticator::Create(std::move(ao)));
  SMB3_ASSIGN_OR_RETURN(std::vector<uint8_t> token, authn->Initial(gss_hint_));

  crypto::PreauthHash session_hash = preauth_;  // Session.PreauthIntegrityHashValue
  const bool is311 = dialect_ == smb2::kDialect311;
  for (int round = 0;; ++round) {
    if (round > 8) return Status::Protocol("session setup: too many rounds");
    smb2::SessionSetupRequest ss;
    ss.security_mode = options_.signing == Want::kRequired ? smb2::SMB2_NEGOTIATE_SIGNING_REQUIRED
                                                           : smb2::SMB2_NEGOTIATE_SIGNING_ENABLED;
    ss.security_buffer = token;
    // [MS-SMB2] 3.2.4.2.3: a reconnect names the session it replaces, so that the server tears it
    // down (3.3.5.5.3) even when it has not noticed the old connection die (a stalled path), which
    // disconnects that session's durable opens for their reconnect ([MS-SMB2] 3.2.4.4).
    ss.previous_session_id = established_ ? session_id_ : 0;
    Request r = NewRequest(smb2::SMB2_SESSION_SETUP);
    r.session_setup = true;
    ByteWriter w(r.message);
    SMB3_RETURN_IF_ERROR(smb2::EncodeSessionSetupRequest(ss, w));
    std::vector<uint8_t> sent;
    r.record_sent = &sent;
    SMB3_ASSIGN_OR_RETURN(Response resp, conn_->Call(std::move(r)));
    uint32_t st = resp.nt_status();
    if (st == STATUS_MORE_PROCESSING_REQUIRED) {
      conn_->SetSessionId(resp.header.session_id);
      if (is311) {
        SMB3_RETURN_IF_ERROR(session_hash.Update(sent));
        SMB3_RETURN_IF_ERROR(session_hash.Update(resp.message));
      }
      SMB3_ASSIGN_OR_RETURN(auto ssr, smb2::DecodeSessionSetupResponse(resp.message));
      SMB3_ASSIGN_OR_RETURN(token, authn->Step(ssr.security_buffer));
      continue;
    }
    if (st != STATUS_SUCCESS) {
      switch (st) {
        case STATUS_LOGON_FAILURE:
        case STATUS_WRONG_PASSWORD:
        case STATUS_NO_SUCH_USER:
        case STATUS_ACCOUNT_DISABLED:
        case STATUS_ACCOUNT_RESTRICTION:
        case STATUS_PASSWORD_EXPIRED:
        case STATUS_ACCESS_DENIED:
          return Status(Code::kAuth, st, "session setup");
        default:
          return Status::NtStatus(st, "session setup");
      }
    }
    // [MS-SMB2] 3.2.5.3.1: authentication complete.
    if (is311) SMB3_RETURN_IF_ERROR(session_hash.Update(sent));  // the final response is not hashed
    SMB3_ASSIGN_OR_RETURN(auto ssr, smb2::DecodeSessionSetupResponse(resp.message));
    SMB3_RETURN_IF_ERROR(authn->Finish(ssr.security_buffer));
    session_flags_ = ssr.session_flags;
    uint64_t session_id = resp.header.session_id;
    session_id_ = session_id;
    // Samba answers an anonymous NTLMSSP logon with SessionFlags 0, so ask the authenticator too:
    // there is no session key to derive signing or sealing keys from.
    bool anonymous_or_guest =
        (session_flags_ & (smb2::SMB2_SESSION_FLAG_IS_GUEST | smb2::SMB2_SESSION_FLAG_IS_NULL)) != 0 ||
        authn->anonymous();

    SessionSecurity sec;
    sec.session_id = session_id;
    sec.signing_algorithm = signing_algorithm_;
    if (!anonymous_or_guest) {
      crypto::KeyDerivationInput kdi;
      kdi.dialect = dialect_;
      kdi.cipher = cipher_;
      kdi.session_key = authn->session_key();
      kdi.preauth_hash = session_hash.value();
      SMB3_ASSIGN_OR_RETURN(crypto::SessionKeys keys, crypto::DeriveSessionKeys(kdi));
      sec.signing_key = keys.signing;
      sec.encryption_key = keys.encryption;
      sec.decryption_key = keys.decryption;
      sec.cipher = cipher_;
      // [MS-SMB2] 3.2.5.3.1: for 3.1.1 the final response must be signed, and it is verified
      // with the new signing key. For 3.0.x verify it when the server signed it.
      bool flagged = (resp.header.flags & smb2::SMB2_FLAGS_SIGNED) != 0;
      if (is311 && !flagged)
        return Status(Code::kSecurity, 0, "session setup: final response not signed (3.1.1)");
      if (flagged)
        SMB3_RETURN_IF_ERROR(crypto::VerifySignature(signing_algorithm_, sec.signing_key.view(), resp.message));
    }
    // [MS-SMB2] 3.2.5.3.1: sign when the server or the user requires it; never weaker.
    bool want_sign = (server_security_mode_ & smb2::SMB2_NEGOTIATE_SIGNING_REQUIRED) ||
                     options_.signing == Want::kRequired;
    bool want_seal = (session_flags_ & smb2::SMB2_SESSION_FLAG_ENCRYPT_DATA) ||
                     options_.encryption == Want::kRequired;
    if (anonymous_or_guest && (options_.signing == Want::kRequired || want_seal))
      return Status(Code::kSecurity, 0,
                    "session setup: a guest or anonymous session cannot be signed or sealed");
    if (want_seal && cipher_ == crypto::CipherId::kNone)
      return Status(Code::kSecurity, 0, "session setup: encryption required but no cipher negotiated");
    sec.signing_required = want_sign && !anonymous_or_guest;
    sec.encrypt_all = want_seal;
    signing_on_ = sec.signing_required;
    session_has_keys_ = !anonymous_or_guest;
    encrypt_all_ = sec.encrypt_all;
    conn_->SetSessionSecurity(std::move(sec));
    return Status::Ok();
  }
}

Status ClientImpl::TreeConnect() {
  smb2::TreeConnectRequest tc;
  tc.path = "\\\\" + options_.server + "\\" + options_.share;
  Request r = NewRequest(smb2::SMB2_TREE_CONNECT);
  // Windows clients sign every 3.1.1 TREE_CONNECT of an authenticated session ([MS-SMB2]
  // 3.2.4.1.1, note 111), and Samba refuses an unsigned one as a possible downgrade. 3.0/3.0.2 sign
  // it too: when a man in the middle cleared SIGNING_REQUIRED in NEGOTIATE, the tree connect then
  // succeeds and validate-negotiate (below) detects the tampering, instead of the server refusing
  // an unsigned tree connect with an unexplained STATUS_ACCESS_DENIED.
  r.sign = session_has_keys_;
  r.encrypt = encrypt_all_;
  ByteWriter w(r.message);
  SMB3_RETURN_IF_ERROR(smb2::EncodeTreeConnectRequest(tc, w));
  SMB3_ASSIGN_OR_RETURN(Response resp, conn_->Call(std::move(r)));
  if (resp.nt_status() != STATUS_SUCCESS) return Status::NtStatus(resp.nt_status(), "tree connect");
  SMB3_ASSIGN_OR_RETURN(auto tcr, smb2::DecodeTreeConnectResponse(resp.message));
  tree_id_ = resp.header.tree_id;
  share_flags_ = tcr.share_flags;
  share_capabilities_ = tcr.capabilities;
  // [MS-SMB2] 3.2.5.5: a share that requires encryption gets every request sealed.
  tree_encrypt_ = (tcr.share_flags & smb2::SMB2_SHAREFLAG_ENCRYPT_DATA) != 0;
  if (tree_encrypt_ && !session_has_keys_)
    return Status(Code::kSecurity, 0,
                  "tree connect: the share requires encryption, which a guest or anonymous session cannot do");
  if (tree_encrypt_ && cipher_ == crypto::CipherId::kNone)
    return Status(Code::kSecurity, 0, "tree connect: the share requires encryption, but no cipher was negotiated");
  if (tcr.share_type != smb2::SMB2_SHARE_TYPE_DISK && options_.share != "IPC$")
    return Status(Code::kNotSupported, 0, "tree connect: not a disk share");
  return Status::Ok();
}

Status ClientImpl::ValidateNegotiate() {
  // [MS-SMB2] 3.2.5.5 / 2.2.31.4: 3.0 and 3.0.2 confirm the NEGOTIATE exchange was not tampered
  // with (3.1.1 has preauth integrity instead). The request is signed even when the session does
  // not require signing — a tampered NEGOTIATE may be what turned the requirement off — and the
  // answer must be signed (or sealed) by the server. Guest and anonymous sessions have no key.
  if (dialect_ == smb2::kDialect311) return Status::Ok();
  if (!session_has_keys_ && !encrypt_all_) {
    SMB3_LOG_DEBUG("validate negotiate skipped: a guest or anonymous session has no signing key");
    return Status::Ok();
  }
  smb2::ValidateNegotiateInfoRequest vin;
  vin.capabilities = negotiate_capabilities_;
  vin.guid = client_guid_;
  vin.security_mode = negotiate_security_mode_;
  vin.dialects = offered_dialects_;
  std::vector<uint8_t> input;
  ByteWriter iw(input);
  SMB3_RETURN_IF_ERROR(smb2::EncodeValidateNegotiateInfoRequest(vin, iw));
  smb2::IoctlRequest io;
  io.ctl_code = smb2::FSCTL_VALIDATE_NEGOTIATE_INFO;
  io.file_id = FileId{0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL};
  io.input = input;
  io.max_output_response = 24;
  io.flags = smb2::SMB2_0_IOCTL_IS_FSCTL;
  Request r = TreeRequest(smb2::SMB2_IOCTL);
  r.sign = true;
  ByteWriter w(r.message);
  SMB3_RETURN_IF_ERROR(smb2::EncodeIoctlRequest(io, w));
  SMB3_ASSIGN_OR_RETURN(Response resp, conn_->Call(std::move(r)));
  // The connection verified the signature of a signed answer; an unsigned one proves nothing.
  if (!resp.encrypted && (resp.header.flags & smb2::SMB2_FLAGS_SIGNED) == 0)
    return Status(Code::kSecurity, 0, "validate negotiate: the server's answer is not signed");
  if (resp.nt_status() != STATUS_SUCCESS)
    return Status(Code::kSecurity, resp.nt_status(), "validate negotiate: server failed FSCTL_VALIDATE_NEGOTIATE_INFO");
  SMB3_ASSIGN_OR_RETURN(auto ior, smb2::DecodeIoctlResponse(resp.message));
  SMB3_ASSIGN_OR_RETURN(auto vout, smb2::DecodeValidateNegotiateInfoResponse(ior.output));
  if (vout.capabilities != server_capabilities_ || vout.guid != server_guid_ ||
      vout.security_mode != server_security_mode_ || vout.dialect != dialect_)
    return Status(Code::kSecurity, 0, "validate negotiate: NEGOTIATE was tampered with (values differ)");
  return Status::Ok();
}

}  // namespace smb3::client
