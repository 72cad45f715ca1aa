// SPDX-License-Identifier: LGPL-2.1-or-later
// SPNEGO tokens ([RFC 4178] 4.2, [MS-SPNG] 2.2.1) in a minimal, hand-written DER codec.
//
// Decoding is strict: definite lengths only (indefinite 0x80 and lengths of more than four bytes
// are rejected), every length is checked against what encloses it, single-byte tags only, fields
// of a SEQUENCE in ascending tag order, and tokens larger than kMaxSpnegoToken are refused. The
// structures are fixed, so nesting depth is bounded by construction (no recursion on input).
// Malformed input returns Code::kProtocol. Decoded tokens own copies of their fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::auth {

// Largest token accepted: SMB2 security buffers have 16-bit lengths.
inline constexpr size_t kMaxSpnegoToken = 0xFFFF;

// An OBJECT IDENTIFIER as its DER content octets (without tag and length).
using Oid = std::vector<uint8_t>;
// 1.3.6.1.5.5.2 (SPNEGO) and 1.3.6.1.4.1.311.2.2.10 (NTLMSSP).
const Oid& SpnegoOid();
const Oid& NtlmsspOid();

// [RFC 4178] 4.2.2 negState.
enum class NegState : uint8_t {
  kAcceptCompleted = 0,
  kAcceptIncomplete = 1,
  kReject = 2,
  kRequestMic = 3,
};

// [MS-SPNG] 2.2.1 NegTokenInit2 (also accepts a plain RFC 4178 NegTokenInit, where [3] is the
// mechListMIC), inside the GSS-API InitialContextToken of [RFC 2743] 3.1.
struct NegTokenInit {
  std::vector<Oid> mech_types;
  std::optional<std::vector<uint8_t>> mech_token;
  std::optional<std::string> hint_name;  // negHints.hintName (GeneralString), informational only
  std::optional<std::vector<uint8_t>> mech_list_mic;
};

// [RFC 4178] 4.2.2 NegTokenResp.
struct NegTokenResp {
  std::optional<NegState> neg_state;
  std::optional<Oid> supported_mech;
  std::optional<std::vector<uint8_t>> response_token;
  std::optional<std::vector<uint8_t>> mech_list_mic;
};

// The DER MechTypeList (SEQUENCE OF MechType) for `mech_types`: the bytes a mechListMIC covers.
std::vector<uint8_t> EncodeMechTypeList(const std::vector<Oid>& mech_types);

// The client's first token: InitialContextToken { SPNEGO OID, negTokenInit [0] { mechTypes,
// mechToken } }. reqFlags and mechListMIC are not sent ([MS-SPNG] 3.1.5.3).
std::vector<uint8_t> EncodeNegTokenInit(const std::vector<Oid>& mech_types, ByteView mech_token);

// The server's NegTokenInit2 from the NEGOTIATE response (or a client NegTokenInit). Errors:
// kProtocol for anything malformed, a thisMech other than SPNEGO, or a NegTokenResp.
Result<NegTokenInit> DecodeNegTokenInit(ByteView token);

// negTokenResp [1] NegTokenResp, as sent after the first token in either direction.
std::vector<uint8_t> EncodeNegTokenResp(const NegTokenResp& resp);
// Errors: kProtocol for anything malformed, an unknown negState value, or trailing bytes.
Result<NegTokenResp> DecodeNegTokenResp(ByteView token);

// True when `init` lists NTLMSSP, or lists nothing (an empty list leaves the choice to the client,
// as an empty NEGOTIATE security buffer does, [MS-SMB2] 2.2.4).
bool OffersNtlmssp(const NegTokenInit& init);

}  // namespace smb3::auth
