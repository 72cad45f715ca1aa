// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/authenticator.h"

#include <string.h>  // explicit_bzero

#include <utility>

#include "auth/spnego.h"
#include "base/log.h"

namespace smb3::auth {
namespace {

void WipeString(std::string& s) {
  if (s.capacity()) explicit_bzero(s.data(), s.capacity());
  s.clear();
}

}  // namespace

Authenticator::Authenticator(Mechanism mechanism, std::unique_ptr<NtlmClient> ntlm)
    : mechanism_(mechanism), ntlm_(std::move(ntlm)) {}

Authenticator::~Authenticator() = default;  // NtlmClient and NtlmSigner wipe their secrets

Result<std::unique_ptr<Authenticator>> Authenticator::Create(AuthOptions options) {
  NtlmClientConfig config;
  switch (options.mechanism) {
    case Mechanism::kNtlmssp:
      if (options.user.empty()) {
        WipeString(options.password);
        return Status::Invalid("auth: NTLMSSP needs a user name (or use guest/anonymous)");
      }
      config.user = std::move(options.user);
      config.domain = std::move(options.domain);
      config.password = std::move(options.password);
      break;
    case Mechanism::kGuest:
      // An ordinary NTLMv2 logon with an empty password, which servers map to the guest account.
      config.user = options.user.empty() ? std::string("guest") : std::move(options.user);
      config.domain = std::move(options.domain);
      break;
    case Mechanism::kAnonymous:
      // [MS-NLMP] 3.3.2: empty user and password select the anonymous special case.
      break;
  }
  WipeString(options.password);  // moved-from or unused: clear any short-string residue
  config.workstation = std::move(options.workstation);
  if (!options.target_server.empty()) config.target_name = "cifs/" + options.target_server;
  config.env.now_filetime = std::move(options.now_filetime);
  config.env.random = std::move(options.random);
  auto ntlm = NtlmClient::Create(std::move(config));
  WipeString(config.password);
  if (!ntlm.ok()) return ntlm.status();
  return std::unique_ptr<Authenticator>(
      new Authenticator(options.mechanism, std::move(ntlm).value()));
}

Result<std::vector<uint8_t>> Authenticator::Initial(ByteView server_hint) {
  if (state_ != State::kStart) return Status::Invalid("auth: Initial called twice");
  state_ = State::kFailed;
  if (!server_hint.empty()) {
    SMB3_ASSIGN_OR_RETURN(NegTokenInit hint, DecodeNegTokenInit(server_hint));
    if (!OffersNtlmssp(hint)) {
      return Status(Code::kNotSupported, 0, "spnego: server does not offer NTLMSSP");
    }
    SMB3_LOG_DEBUG("spnego: server offers %zu mechanisms", hint.mech_types.size());
  }
  const std::vector<Oid> mechs = {NtlmsspOid()};
  mech_types_ = EncodeMechTypeList(mechs);
  SMB3_ASSIGN_OR_RETURN(std::vector<uint8_t> negotiate, ntlm_->Negotiate());
  state_ = State::kSentInit;
  return EncodeNegTokenInit(mechs, negotiate);
}

Status Authenticator::VerifyServerMic(ByteView mic) {
  if (!signer_ || !(ntlm_->negotiated_flags() & NTLMSSP_NEGOTIATE_SIGN)) {
    return Status(Code::kSecurity, 0, "spnego: server mechListMIC without NTLM signing keys");
  }
  SMB3_RETURN_IF_ERROR(signer_->VerifyMechListMic(mech_types_, mic));
  server_mic_verified_ = true;
  return Status::Ok();
}

Result<std::vector<uint8_t>> Authenticator::Step(ByteView server_token) {
  if (state_ == State::kSentInit) {
    state_ = State::kFailed;
    SMB3_ASSIGN_OR_RETURN(NegTokenResp resp, DecodeNegTokenResp(server_token));
    // [RFC 4178] 4.2.2: the first reply carries negState; only these two continue the exchange.
    if (resp.neg_state == NegState::kReject) {
      return Status::Protocol("spnego: server rejected the negotiation");
    }
    if (resp.neg_state != NegState::kAcceptIncomplete && resp.neg_state != NegState::kRequestMic) {
      return Status::Protocol("spnego: first reply is not accept-incomplete");
    }
    if (resp.supported_mech && *resp.supported_mech != NtlmsspOid()) {
      return Status::Protocol("spnego: server chose a mechanism that was not offered");
    }
    if (!resp.response_token) return Status::Protocol("spnego: reply lacks the NTLM CHALLENGE");
    // No one can compute a mechListMIC before AUTHENTICATE; tolerate only the Windows 2000 habit
    // of repeating the responseToken there.
    if (resp.mech_list_mic && *resp.mech_list_mic != *resp.response_token) {
      return Status::Protocol("spnego: mechListMIC before the mechanism completed");
    }

    SMB3_ASSIGN_OR_RETURN(std::vector<uint8_t> authenticate,
                          ntlm_->Authenticate(*resp.response_token));
    const uint32_t flags = ntlm_->negotiated_flags();
    if (!ntlm_->anonymous()) {
      NtlmKey key{};
      ByteView exported = ntlm_->exported_session_key();
      std::copy(exported.begin(), exported.end(), key.begin());
      auto signer = NtlmSigner::Create(NtlmSigner::Role::kClient, flags, key);
      explicit_bzero(key.data(), key.size());
      if (signer.ok()) {
        signer_.emplace(std::move(signer).value());
      } else if (!signer.status().Is(Code::kNotSupported)) {
        return signer.status();
      }
    }
    const bool have_sign = signer_.has_value() && (flags & NTLMSSP_NEGOTIATE_SIGN);

    NegTokenResp out;
    out.response_token = std::move(authenticate);
    if (have_sign && (ntlm_->mic_sent() || resp.neg_state == NegState::kRequestMic)) {
      SMB3_ASSIGN_OR_RETURN(NtlmSignature mic, signer_->SignMechListMic(mech_types_));
      out.mech_list_mic.emplace(mic.begin(), mic.end());
      client_mic_sent_ = true;
    }
    SMB3_LOG_DEBUG("spnego: sending AUTHENTICATE%s", client_mic_sent_ ? " with mechListMIC" : "");
    state_ = State::kSentAuthenticate;
    return EncodeNegTokenResp(out);
  }

  if (state_ == State::kSentAuthenticate && !extra_round_done_) {
    // The server accepted AUTHENTICATE but wants our mechListMIC before it completes (Samba does
    // this for a client that sent an NTLM MIC but no mechListMIC).
    state_ = State::kFailed;
    SMB3_ASSIGN_OR_RETURN(NegTokenResp resp, DecodeNegTokenResp(server_token));
    if (resp.neg_state == NegState::kReject) {
      return Status::Protocol("spnego: server rejected the authentication");
    }
    if (resp.neg_state == NegState::kAcceptCompleted) {
      return Status::Protocol("spnego: accept-completed with MORE_PROCESSING_REQUIRED");
    }
    if (resp.response_token && !resp.response_token->empty()) {
      return Status::Protocol("spnego: mechanism token after AUTHENTICATE");
    }
    if (resp.mech_list_mic) SMB3_RETURN_IF_ERROR(VerifyServerMic(*resp.mech_list_mic));
    const bool have_sign =
        signer_.has_value() && (ntlm_->negotiated_flags() & NTLMSSP_NEGOTIATE_SIGN);
    if (client_mic_sent_ || !have_sign) {
      return Status::Protocol("spnego: server asks for a round the client cannot serve");
    }
    SMB3_ASSIGN_OR_RETURN(NtlmSignature mic, signer_->SignMechListMic(mech_types_));
    NegTokenResp out;
    out.mech_list_mic.emplace(mic.begin(), mic.end());
    client_mic_sent_ = true;
    extra_round_done_ = true;
    state_ = State::kSentAuthenticate;
    return EncodeNegTokenResp(out);
  }
  return Status::Invalid("auth: Step called out of order");
}

Status Authenticator::Finish(ByteView server_token) {
  if (state_ != State::kSentAuthenticate)
    return Status::Invalid("auth: Finish called out of order");
  state_ = State::kFailed;
  if (!server_token.empty()) {
    SMB3_ASSIGN_OR_RETURN(NegTokenResp resp, DecodeNegTokenResp(server_token));
    if (resp.neg_state == NegState::kReject) {
      return Status::Protocol("spnego: server rejected the authentication");
    }
    if (resp.neg_state && *resp.neg_state != NegState::kAcceptCompleted) {
      return Status::Protocol("spnego: final reply is not accept-completed");
    }
    if (resp.response_token && !resp.response_token->empty()) {
      return Status::Protocol("spnego: mechanism token in the final reply");
    }
    if (resp.mech_list_mic) {
      if (server_mic_verified_) return Status::Protocol("spnego: second server mechListMIC");
      SMB3_RETURN_IF_ERROR(VerifyServerMic(*resp.mech_list_mic));
    }
  }
  SMB3_LOG_DEBUG("spnego: authentication complete%s",
                 server_mic_verified_ ? ", server mechListMIC verified" : "");
  state_ = State::kDone;
  return Status::Ok();
}

ByteView Authenticator::session_key() const {
  if (anonymous() || state_ == State::kFailed) return {};
  return ntlm_->exported_session_key();
}

bool Authenticator::anonymous() const { return mechanism_ == Mechanism::kAnonymous; }

}  // namespace smb3::auth
