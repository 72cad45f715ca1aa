// SPDX-License-Identifier: LGPL-2.1-or-later
#include "auth/spnego.h"

#include <algorithm>

namespace smb3::auth {
namespace {

// DER identifier octets used here ([X.690] 8.1.2).
constexpr uint8_t kTagEnumerated = 0x0A;
constexpr uint8_t kTagBitString = 0x03;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagGeneralString = 0x1B;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagApplication0 = 0x60;  // [APPLICATION 0] constructed: InitialContextToken
constexpr uint8_t kTagContext = 0xA0;       // [n] constructed = kTagContext | n

struct Tlv {
  uint8_t tag = 0;
  ByteView value;
};

// Reads consecutive TLVs from a buffer; every length is checked against what remains.
class DerReader {
 public:
  explicit DerReader(ByteView data) : data_(data) {}
  bool empty() const { return pos_ == data_.size(); }

  Result<Tlv> Next() {
    if (data_.size() - pos_ < 2) return Status::Protocol("spnego: truncated DER header");
    Tlv t;
    t.tag = data_[pos_++];
    if ((t.tag & 0x1F) == 0x1F) return Status::Protocol("spnego: multi-byte DER tag");
    uint8_t first = data_[pos_++];
    size_t len = 0;
    if (first < 0x80) {
      len = first;
    } else if (first == 0x80) {
      return Status::Protocol("spnego: indefinite DER length");
    } else {
      size_t n = first & 0x7F;
      if (n > 4) return Status::Protocol("spnego: DER length of more than four bytes");
      if (data_.size() - pos_ < n) return Status::Protocol("spnego: truncated DER length");
      for (size_t i = 0; i < n; ++i) len = (len << 8) | data_[pos_++];
    }
    if (len > data_.size() - pos_) return Status::Protocol("spnego: DER length past the end");
    t.value = data_.subspan(pos_, len);
    pos_ += len;
    return t;
  }

  // The next TLV, which must carry `tag`.
  Result<ByteView> Expect(uint8_t tag) {
    SMB3_ASSIGN_OR_RETURN(Tlv t, Next());
    if (t.tag != tag) return Status::Protocol("spnego: unexpected DER tag");
    return t.value;
  }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

// Exactly one TLV with `tag` filling `data`.
Result<ByteView> Only(ByteView data, uint8_t tag) {
  DerReader r(data);
  SMB3_ASSIGN_OR_RETURN(ByteView v, r.Expect(tag));
  if (!r.empty()) return Status::Protocol("spnego: trailing bytes after DER value");
  return v;
}

// [X.690] 8.19: at least one subidentifier, the last one terminated (high bit clear).
Result<Oid> ParseOid(ByteView content) {
  if (content.empty() || (content.back() & 0x80)) {
    return Status::Protocol("spnego: malformed OBJECT IDENTIFIER");
  }
  return Oid(content.begin(), content.end());
}

Result<std::vector<uint8_t>> ParseOctetString(ByteView explicit_content) {
  SMB3_ASSIGN_OR_RETURN(ByteView v, Only(explicit_content, kTagOctetString));
  return std::vector<uint8_t>(v.begin(), v.end());
}

// MechTypeList ::= SEQUENCE OF MechType
Result<std::vector<Oid>> ParseMechTypeList(ByteView explicit_content) {
  SMB3_ASSIGN_OR_RETURN(ByteView seq, Only(explicit_content, kTagSequence));
  std::vector<Oid> oids;
  DerReader r(seq);
  while (!r.empty()) {
    SMB3_ASSIGN_OR_RETURN(ByteView oid, r.Expect(kTagOid));
    SMB3_ASSIGN_OR_RETURN(Oid parsed, ParseOid(oid));
    oids.push_back(std::move(parsed));
  }
  return oids;
}

// [MS-SPNG] 2.2.1 NegHints ::= SEQUENCE { hintName [0] GeneralString, hintAddress [1] OCTET STRING
// }
Status ParseNegHints(ByteView seq_content, NegTokenInit& out) {
  DerReader r(seq_content);
  int last = -1;
  while (!r.empty()) {
    SMB3_ASSIGN_OR_RETURN(Tlv t, r.Next());
    if ((t.tag & 0xE0) != kTagContext) return Status::Protocol("spnego: NegHints field untagged");
    int n = t.tag & 0x1F;
    if (n <= last) return Status::Protocol("spnego: NegHints fields out of order");
    last = n;
    if (n == 0) {
      SMB3_ASSIGN_OR_RETURN(ByteView name, Only(t.value, kTagGeneralString));
      out.hint_name = std::string(name.begin(), name.end());
    } else if (n == 1) {
      SMB3_ASSIGN_OR_RETURN(ByteView address, Only(t.value, kTagOctetString));
      (void)address;  // [MS-SPNG] 2.2.1: never sent; carries nothing for us
    }
  }
  return Status::Ok();
}

void AppendLength(std::vector<uint8_t>& out, size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<uint8_t>(len));
    return;
  }
  uint8_t bytes[4];
  size_t n = 0;
  for (size_t v = len; v != 0; v >>= 8) bytes[n++] = static_cast<uint8_t>(v);
  out.push_back(static_cast<uint8_t>(0x80 | n));
  while (n) out.push_back(bytes[--n]);
}

void AppendTlv(std::vector<uint8_t>& out, uint8_t tag, ByteView content) {
  out.push_back(tag);
  AppendLength(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
}

std::vector<uint8_t> Tlv1(uint8_t tag, ByteView content) {
  std::vector<uint8_t> out;
  AppendTlv(out, tag, content);
  return out;
}

// [n] EXPLICIT OCTET STRING
void AppendExplicitOctets(std::vector<uint8_t>& out, int n, ByteView content) {
  AppendTlv(out, static_cast<uint8_t>(kTagContext | n), Tlv1(kTagOctetString, content));
}

}  // namespace

const Oid& SpnegoOid() {
  static const Oid kOid = {0x2B, 0x06, 0x01, 0x05, 0x05, 0x02};
  return kOid;
}

const Oid& NtlmsspOid() {
  static const Oid kOid = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0A};
  return kOid;
}

std::vector<uint8_t> EncodeMechTypeList(const std::vector<Oid>& mech_types) {
  std::vector<uint8_t> oids;
  for (const Oid& oid : mech_types) AppendTlv(oids, kTagOid, oid);
  return Tlv1(kTagSequence, oids);
}

// [RFC 4178] 4.2.1 NegTokenInit in the [RFC 2743] 3.1 InitialContextToken.
std::vector<uint8_t> EncodeNegTokenInit(const std::vector<Oid>& mech_types, ByteView mech_token) {
  std::vector<uint8_t> fields;
  AppendTlv(fields, kTagContext | 0, EncodeMechTypeList(mech_types));
  AppendExplicitOctets(fields, 2, mech_token);
  std::vector<uint8_t> body;
  AppendTlv(body, kTagOid, SpnegoOid());
  AppendTlv(body, kTagContext | 0, Tlv1(kTagSequence, fields));
  return Tlv1(kTagApplication0, body);
}

// [MS-SPNG] 2.2.1 NegTokenInit2 / [RFC 4178] 4.2.1 NegTokenInit.
Result<NegTokenInit> DecodeNegTokenInit(ByteView token) {
  if (token.size() > kMaxSpnegoToken) return Status::Protocol("spnego: token too large");
  SMB3_ASSIGN_OR_RETURN(ByteView app, Only(token, kTagApplication0));
  DerReader ar(app);
  SMB3_ASSIGN_OR_RETURN(ByteView this_mech, ar.Expect(kTagOid));
  if (!std::equal(this_mech.begin(), this_mech.end(), SpnegoOid().begin(), SpnegoOid().end())) {
    return Status::Protocol("spnego: InitialContextToken is not SPNEGO");
  }
  SMB3_ASSIGN_OR_RETURN(ByteView choice, ar.Expect(kTagContext | 0));
  if (!ar.empty()) return Status::Protocol("spnego: trailing bytes in InitialContextToken");
  SMB3_ASSIGN_OR_RETURN(ByteView seq, Only(choice, kTagSequence));

  NegTokenInit out;
  DerReader r(seq);
  int last = -1;
  while (!r.empty()) {
    SMB3_ASSIGN_OR_RETURN(Tlv t, r.Next());
    if ((t.tag & 0xE0) != kTagContext) return Status::Protocol("spnego: NegTokenInit untagged");
    int n = t.tag & 0x1F;
    if (n <= last) return Status::Protocol("spnego: NegTokenInit fields out of order");
    last = n;
    switch (n) {
      case 0: {
        SMB3_ASSIGN_OR_RETURN(out.mech_types, ParseMechTypeList(t.value));
        break;
      }
      case 1: {
        // reqFlags: [MS-SPNG] 3.1.5.3 says ignore; only its shape is checked.
        SMB3_ASSIGN_OR_RETURN(ByteView flags, Only(t.value, kTagBitString));
        (void)flags;
        break;
      }
      case 2: {
        SMB3_ASSIGN_OR_RETURN(out.mech_token, ParseOctetString(t.value));
        break;
      }
      case 3: {
        // NegTokenInit2 negHints (a SEQUENCE), or RFC 4178 NegTokenInit mechListMIC.
        SMB3_ASSIGN_OR_RETURN(Tlv inner, DerReader(t.value).Next());
        if (inner.tag == kTagSequence) {
          SMB3_ASSIGN_OR_RETURN(ByteView hints, Only(t.value, kTagSequence));
          SMB3_RETURN_IF_ERROR(ParseNegHints(hints, out));
        } else {
          SMB3_ASSIGN_OR_RETURN(out.mech_list_mic, ParseOctetString(t.value));
        }
        break;
      }
      case 4: {
        SMB3_ASSIGN_OR_RETURN(out.mech_list_mic, ParseOctetString(t.value));
        break;
      }
      default:
        break;  // extension marker ("...") in NegTokenInit2: later fields are skipped
    }
  }
  return out;
}

// [RFC 4178] 4.2.2 NegTokenResp, as the negTokenResp [1] choice of NegotiationToken.
std::vector<uint8_t> EncodeNegTokenResp(const NegTokenResp& resp) {
  std::vector<uint8_t> fields;
  if (resp.neg_state) {
    const uint8_t value = static_cast<uint8_t>(*resp.neg_state);
    AppendTlv(fields, kTagContext | 0, Tlv1(kTagEnumerated, ByteView(&value, 1)));
  }
  if (resp.supported_mech) AppendTlv(fields, kTagContext | 1, Tlv1(kTagOid, *resp.supported_mech));
  if (resp.response_token) AppendExplicitOctets(fields, 2, *resp.response_token);
  if (resp.mech_list_mic) AppendExplicitOctets(fields, 3, *resp.mech_list_mic);
  return Tlv1(kTagContext | 1, Tlv1(kTagSequence, fields));
}

Result<NegTokenResp> DecodeNegTokenResp(ByteView token) {
  if (token.size() > kMaxSpnegoToken) return Status::Protocol("spnego: token too large");
  SMB3_ASSIGN_OR_RETURN(ByteView choice, Only(token, kTagContext | 1));
  SMB3_ASSIGN_OR_RETURN(ByteView seq, Only(choice, kTagSequence));

  NegTokenResp out;
  DerReader r(seq);
  int last = -1;
  while (!r.empty()) {
    SMB3_ASSIGN_OR_RETURN(Tlv t, r.Next());
    if ((t.tag & 0xE0) != kTagContext) return Status::Protocol("spnego: NegTokenResp untagged");
    int n = t.tag & 0x1F;
    if (n <= last) return Status::Protocol("spnego: NegTokenResp fields out of order");
    last = n;
    switch (n) {
      case 0: {
        SMB3_ASSIGN_OR_RETURN(ByteView e, Only(t.value, kTagEnumerated));
        if (e.size() != 1 || e[0] > static_cast<uint8_t>(NegState::kRequestMic)) {
          return Status::Protocol("spnego: unknown negState");
        }
        out.neg_state = static_cast<NegState>(e[0]);
        break;
      }
      case 1: {
        SMB3_ASSIGN_OR_RETURN(ByteView oid, Only(t.value, kTagOid));
        SMB3_ASSIGN_OR_RETURN(out.supported_mech, ParseOid(oid));
        break;
      }
      case 2: {
        SMB3_ASSIGN_OR_RETURN(out.response_token, ParseOctetString(t.value));
        break;
      }
      case 3: {
        SMB3_ASSIGN_OR_RETURN(out.mech_list_mic, ParseOctetString(t.value));
        break;
      }
      default:
        break;  // extension marker ("...")
    }
  }
  return out;
}

bool OffersNtlmssp(const NegTokenInit& init) {
  if (init.mech_types.empty()) return true;
  return std::find(init.mech_types.begin(), init.mech_types.end(), NtlmsspOid()) !=
         init.mech_types.end();
}

}  // namespace smb3::auth
