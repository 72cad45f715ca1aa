// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/ntlmssp_messages.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace smb3::auth {
namespace {

// [MS-NLMP] 2.2 Signature and MessageType.
constexpr uint8_t kSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
constexpr uint32_t kNtLmNegotiate = 1;
constexpr uint32_t kNtLmChallenge = 2;
constexpr uint32_t kNtLmAuthenticate = 3;

constexpr size_t kNegotiateSize = 40;           // fixed part incl. Version
constexpr size_t kChallengeFixedSize = 48;      // up to and including TargetInfoFields
constexpr size_t kChallengeHeaderSize = 56;     // with Version
constexpr size_t kAuthenticateFixedSize = 64;   // up to and including NegotiateFlags
constexpr size_t kAuthenticateHeaderSize = 72;  // with Version
constexpr size_t kAuthenticateMicEnd = kNtlmMicOffset + kNtlmMicSize;

// Len/MaxLen/BufferOffset triple of [MS-NLMP] 2.2.1.x.
struct FieldRef {
  uint16_t len = 0;
  uint32_t offset = 0;
};

FieldRef ReadField(ByteReader& r) {
  FieldRef f;
  f.len = r.U16();
  (void)r.U16();  // MaxLen: MUST be ignored on receipt
  f.offset = r.U32();
  return f;
}

std::optional<ByteView> Resolve(ByteView msg, FieldRef f) {
  if (f.len == 0) return ByteView{};
  return Slice(msg, f.offset, f.len);
}

bool CheckSignature(ByteReader& r, uint32_t expected_type) {
  ByteView sig = r.Bytes(sizeof kSignature);
  uint32_t type = r.U32();
  return r.ok() && std::memcmp(sig.data(), kSignature, sizeof kSignature) == 0 &&
         type == expected_type;
}

void WriteHeader(ByteWriter& w, uint32_t type) {
  w.Bytes(kSignature);
  w.U32(type);
}

// Writes a placeholder Len/MaxLen/BufferOffset triple; returns where it is.
size_t ReserveField(ByteWriter& w) {
  size_t at = w.size();
  w.Zeros(8);
  return at;
}

// Appends `data` to the payload and fills in the triple reserved at `at`.
void PutPayload(ByteWriter& w, size_t at, ByteView data) {
  auto len = static_cast<uint16_t>(data.size());
  w.PatchU16(at, len);
  w.PatchU16(at + 2, len);
  w.PatchU32(at + 4, static_cast<uint32_t>(w.size()));
  w.Bytes(data);
}

bool FitsU16(size_t n) { return n <= std::numeric_limits<uint16_t>::max(); }

}  // namespace

// [MS-NLMP] 2.2.2.1 AV_PAIR
Result<std::vector<AvPair>> DecodeAvPairs(ByteView data) {
  std::vector<AvPair> pairs;
  ByteReader r(data);
  while (true) {
    auto id = static_cast<AvId>(r.U16());
    uint16_t len = r.U16();
    if (!r.ok()) return Status::Protocol("ntlmssp AV_PAIR list: no MsvAvEOL before the end");
    ByteView value = r.Bytes(len);
    if (!r.ok()) return Status::Protocol("ntlmssp AV_PAIR: AvLen runs past the list");
    switch (id) {
      case AvId::MsvAvEOL:
        if (len != 0) return Status::Protocol("ntlmssp AV_PAIR: MsvAvEOL with nonzero AvLen");
        return pairs;
      case AvId::MsvAvTimestamp:
        if (len != 8) return Status::Protocol("ntlmssp AV_PAIR: MsvAvTimestamp is not 8 bytes");
        break;
      case AvId::MsvAvFlags:
        if (len != 4) return Status::Protocol("ntlmssp AV_PAIR: MsvAvFlags is not 4 bytes");
        break;
      default:
        break;
    }
    pairs.push_back(AvPair{id, std::vector<uint8_t>(value.begin(), value.end())});
  }
}

Status EncodeAvPairs(const std::vector<AvPair>& pairs, ByteWriter& out) {
  for (const AvPair& p : pairs) {
    if (p.id == AvId::MsvAvEOL) return Status::Invalid("ntlmssp AV_PAIR: explicit MsvAvEOL");
    if (!FitsU16(p.value.size())) return Status::Invalid("ntlmssp AV_PAIR: value too long");
    out.U16(static_cast<uint16_t>(p.id));
    out.U16(static_cast<uint16_t>(p.value.size()));
    out.Bytes(p.value);
  }
  out.U16(static_cast<uint16_t>(AvId::MsvAvEOL));
  out.U16(0);
  return Status::Ok();
}

const AvPair* FindAvPair(const std::vector<AvPair>& pairs, AvId id) {
  for (const AvPair& p : pairs) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// [MS-NLMP] 2.2.1.1 NEGOTIATE_MESSAGE
std::vector<uint8_t> EncodeNegotiateMessage(const NegotiateMessage& msg) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  WriteHeader(w, kNtLmNegotiate);
  w.U32(msg.negotiate_flags);
  // DomainNameFields and WorkstationFields: empty, offset where the payload would start.
  for (int i = 0; i < 2; ++i) {
    w.U16(0);
    w.U16(0);
    w.U32(static_cast<uint32_t>(kNegotiateSize));
  }
  w.Bytes(msg.version);
  return out;
}

Result<NegotiateMessage> DecodeNegotiateMessage(ByteView data) {
  ByteReader r(data);
  if (!CheckSignature(r, kNtLmNegotiate)) {
    return Status::Protocol("ntlmssp NEGOTIATE: bad signature or message type");
  }
  NegotiateMessage msg;
  msg.negotiate_flags = r.U32();
  r.Skip(16);  // DomainNameFields, WorkstationFields
  if (!r.ok()) return Status::Protocol("ntlmssp NEGOTIATE: truncated fixed part");
  if ((msg.negotiate_flags & NTLMSSP_NEGOTIATE_VERSION) && r.remaining() >= msg.version.size()) {
    r.CopyTo(msg.version.data(), msg.version.size());
  }
  return msg;
}

// [MS-NLMP] 2.2.1.2 CHALLENGE_MESSAGE
Result<ChallengeMessage> DecodeChallengeMessage(ByteView data) {
  if (data.size() < kChallengeFixedSize) {
    return Status::Protocol("ntlmssp CHALLENGE: shorter than the fixed part");
  }
  ByteReader r(data);
  if (!CheckSignature(r, kNtLmChallenge)) {
    return Status::Protocol("ntlmssp CHALLENGE: bad signature or message type");
  }
  ChallengeMessage msg;
  FieldRef target_name = ReadField(r);
  msg.negotiate_flags = r.U32();
  r.CopyTo(msg.server_challenge.data(), msg.server_challenge.size());
  r.Skip(8);  // Reserved
  FieldRef target_info = ReadField(r);
  if (!r.ok()) return Status::Protocol("ntlmssp CHALLENGE: truncated fixed part");
  if ((msg.negotiate_flags & NTLMSSP_NEGOTIATE_VERSION) && data.size() >= kChallengeHeaderSize) {
    r.CopyTo(msg.version.data(), msg.version.size());
  }

  auto name = Resolve(data, target_name);
  if (!name) return Status::Protocol("ntlmssp CHALLENGE: TargetName outside the message");
  if ((msg.negotiate_flags & NTLMSSP_NEGOTIATE_UNICODE) && (name->size() % 2) != 0) {
    return Status::Protocol("ntlmssp CHALLENGE: odd-length Unicode TargetName");
  }
  msg.target_name.assign(name->begin(), name->end());

  // TargetInfoFields MUST be ignored when NTLMSSP_NEGOTIATE_TARGET_INFO is clear.
  if (msg.negotiate_flags & NTLMSSP_NEGOTIATE_TARGET_INFO) {
    auto info = Resolve(data, target_info);
    if (!info) return Status::Protocol("ntlmssp CHALLENGE: TargetInfo outside the message");
    if (!info->empty()) {
      SMB3_ASSIGN_OR_RETURN(msg.target_info, DecodeAvPairs(*info));
      msg.has_target_info = true;
    }
  }
  return msg;
}

Result<std::vector<uint8_t>> EncodeChallengeMessage(const ChallengeMessage& msg) {
  std::vector<uint8_t> info;
  if (msg.has_target_info) {
    ByteWriter iw(info);
    SMB3_RETURN_IF_ERROR(EncodeAvPairs(msg.target_info, iw));
  }
  if (!FitsU16(msg.target_name.size()) || !FitsU16(info.size())) {
    return Status::Invalid("ntlmssp CHALLENGE: field too long");
  }
  std::vector<uint8_t> out;
  ByteWriter w(out);
  WriteHeader(w, kNtLmChallenge);
  size_t name_at = ReserveField(w);
  w.U32(msg.negotiate_flags);
  w.Bytes(msg.server_challenge);
  w.Zeros(8);  // Reserved
  size_t info_at = ReserveField(w);
  w.Bytes(msg.version);
  PutPayload(w, name_at, msg.target_name);
  PutPayload(w, info_at, info);
  return out;
}

// [MS-NLMP] 2.2.1.3 AUTHENTICATE_MESSAGE
Result<std::vector<uint8_t>> EncodeAuthenticateMessage(const AuthenticateMessage& msg) {
  const std::vector<uint8_t>* fields[] = {
      &msg.domain_name,           &msg.user_name,
      &msg.workstation,           &msg.lm_challenge_response,
      &msg.nt_challenge_response, &msg.encrypted_random_session_key};
  for (const auto* f : fields) {
    if (!FitsU16(f->size())) return Status::Invalid("ntlmssp AUTHENTICATE: field too long");
  }
  std::vector<uint8_t> out;
  ByteWriter w(out);
  WriteHeader(w, kNtLmAuthenticate);
  size_t lm_at = ReserveField(w);
  size_t nt_at = ReserveField(w);
  size_t domain_at = ReserveField(w);
  size_t user_at = ReserveField(w);
  size_t ws_at = ReserveField(w);
  size_t key_at = ReserveField(w);
  w.U32(msg.negotiate_flags);
  w.Bytes(msg.version);
  if (msg.has_mic) w.Bytes(msg.mic);
  PutPayload(w, domain_at, msg.domain_name);
  PutPayload(w, user_at, msg.user_name);
  PutPayload(w, ws_at, msg.workstation);
  PutPayload(w, lm_at, msg.lm_challenge_response);
  PutPayload(w, nt_at, msg.nt_challenge_response);
  PutPayload(w, key_at, msg.encrypted_random_session_key);
  return out;
}

Result<AuthenticateMessage> DecodeAuthenticateMessage(ByteView data) {
  if (data.size() < kAuthenticateFixedSize) {
    return Status::Protocol("ntlmssp AUTHENTICATE: shorter than the fixed part");
  }
  ByteReader r(data);
  if (!CheckSignature(r, kNtLmAuthenticate)) {
    return Status::Protocol("ntlmssp AUTHENTICATE: bad signature or message type");
  }
  FieldRef refs[6];
  for (FieldRef& f : refs) f = ReadField(r);
  AuthenticateMessage msg;
  msg.negotiate_flags = r.U32();
  if (!r.ok()) return Status::Protocol("ntlmssp AUTHENTICATE: truncated fixed part");
  if (data.size() >= kAuthenticateHeaderSize) r.CopyTo(msg.version.data(), msg.version.size());

  std::vector<uint8_t>* targets[] = {&msg.lm_challenge_response, &msg.nt_challenge_response,
                                     &msg.domain_name,           &msg.user_name,
                                     &msg.workstation,           &msg.encrypted_random_session_key};
  size_t first_payload = data.size();
  for (size_t i = 0; i < 6; ++i) {
    auto v = Resolve(data, refs[i]);
    if (!v) return Status::Protocol("ntlmssp AUTHENTICATE: field outside the message");
    targets[i]->assign(v->begin(), v->end());
    if (refs[i].len != 0) first_payload = std::min<size_t>(first_payload, refs[i].offset);
  }
  if (first_payload >= kAuthenticateMicEnd && data.size() >= kAuthenticateMicEnd) {
    msg.has_mic = true;
    std::memcpy(msg.mic.data(), data.data() + kNtlmMicOffset, kNtlmMicSize);
  }
  return msg;
}

}  // namespace smb3::auth
