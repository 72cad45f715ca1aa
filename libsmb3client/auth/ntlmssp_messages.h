// SPDX-License-Identifier: LGPL-2.1-or-later
// NTLMSSP wire codec ([MS-NLMP] 2.2): the three authentication messages and AV_PAIR lists.
//
// Pure functions: no state, no crypto. Decoders treat every byte as hostile: each (length, offset)
// field goes through a checked Slice against the whole message, and malformed input returns
// Code::kProtocol. Decoded messages own copies of their variable parts, so they outlive the input.
// Strings stay in their wire form (UTF-16LE bytes); callers convert when they need text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::auth {

// [MS-NLMP] 2.2.2.5 NEGOTIATE flags (the spec's names, for grep).
inline constexpr uint32_t NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
inline constexpr uint32_t NTLM_NEGOTIATE_OEM = 0x00000002;
inline constexpr uint32_t NTLMSSP_REQUEST_TARGET = 0x00000004;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_SIGN = 0x00000010;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_SEAL = 0x00000020;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_DATAGRAM = 0x00000040;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_NTLM = 0x00000200;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_ANONYMOUS = 0x00000800;  // "J" in 2.2.2.5
inline constexpr uint32_t NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000;
inline constexpr uint32_t NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000;
inline constexpr uint32_t NTLMSSP_TARGET_TYPE_SERVER = 0x00020000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_IDENTIFY = 0x00100000;
inline constexpr uint32_t NTLMSSP_REQUEST_NON_NT_SESSION_KEY = 0x00400000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_VERSION = 0x02000000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_128 = 0x20000000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000;
inline constexpr uint32_t NTLMSSP_NEGOTIATE_56 = 0x80000000;

// [MS-NLMP] 2.2.2.1 AvId values.
enum class AvId : uint16_t {
  MsvAvEOL = 0x0000,
  MsvAvNbComputerName = 0x0001,
  MsvAvNbDomainName = 0x0002,
  MsvAvDnsComputerName = 0x0003,
  MsvAvDnsDomainName = 0x0004,
  MsvAvDnsTreeName = 0x0005,
  MsvAvFlags = 0x0006,
  MsvAvTimestamp = 0x0007,
  MsvAvSingleHost = 0x0008,
  MsvAvTargetName = 0x0009,
  MsvAvChannelBindings = 0x000A,
};

// [MS-NLMP] 2.2.2.1 MsvAvFlags bits.
inline constexpr uint32_t kAvFlagConstrained = 0x00000001;
inline constexpr uint32_t kAvFlagMicPresent = 0x00000002;
inline constexpr uint32_t kAvFlagUntrustedSpn = 0x00000004;

inline constexpr size_t kNtlmChallengeSize = 8;
inline constexpr size_t kNtlmMicSize = 16;
// Byte offset of the MIC in an AUTHENTICATE_MESSAGE that carries one (after the 8-byte Version).
inline constexpr size_t kNtlmMicOffset = 72;

// [MS-NLMP] 2.2.2.10 VERSION, kept as its 8 wire bytes (debugging only; never interpreted).
using NtlmVersion = std::array<uint8_t, 8>;

// [MS-NLMP] 2.2.2.1 AV_PAIR. `value` is the raw Value field.
struct AvPair {
  AvId id = AvId::MsvAvEOL;
  std::vector<uint8_t> value;
  bool operator==(const AvPair&) const = default;
};

// Parses a TargetInfo / AvPairs byte array: a sequence of AV_PAIRs terminated by MsvAvEOL (not
// included in the result; bytes after it are ignored). Errors: missing MsvAvEOL, an AV_PAIR running
// past the end, MsvAvEOL with a nonzero AvLen, MsvAvTimestamp not 8 bytes, MsvAvFlags not 4 bytes.
Result<std::vector<AvPair>> DecodeAvPairs(ByteView data);
// Appends the pairs and a terminating MsvAvEOL. Values longer than 65535 bytes are
// kInvalidArgument.
Status EncodeAvPairs(const std::vector<AvPair>& pairs, ByteWriter& out);
// The first pair with `id`, or nullptr.
const AvPair* FindAvPair(const std::vector<AvPair>& pairs, AvId id);

// [MS-NLMP] 2.2.1.1 NEGOTIATE_MESSAGE as this client sends it: no domain or workstation
// (3.1.5.1.1: both zero-length when NTLMSSP_NEGOTIATE_VERSION is set).
struct NegotiateMessage {
  uint32_t negotiate_flags = 0;
  NtlmVersion version{};
};
std::vector<uint8_t> EncodeNegotiateMessage(const NegotiateMessage& msg);
// For tests and the in-process peer: fixed fields only (domain/workstation are not used).
Result<NegotiateMessage> DecodeNegotiateMessage(ByteView data);

// [MS-NLMP] 2.2.1.2 CHALLENGE_MESSAGE.
struct ChallengeMessage {
  uint32_t negotiate_flags = 0;
  std::array<uint8_t, kNtlmChallengeSize> server_challenge{};
  std::vector<uint8_t> target_name;  // wire bytes (UTF-16LE when UNICODE was negotiated)
  bool has_target_info = false;      // NTLMSSP_NEGOTIATE_TARGET_INFO set and TargetInfo parsed
  std::vector<AvPair> target_info;   // without the terminating MsvAvEOL
  NtlmVersion version{};             // zero unless NTLMSSP_NEGOTIATE_VERSION
};
// Errors (kProtocol): shorter than the 48-byte fixed part, wrong Signature or MessageType,
// TargetName or TargetInfo outside the message, odd-length Unicode TargetName, bad AV_PAIR list.
Result<ChallengeMessage> DecodeChallengeMessage(ByteView data);
// For tests, fuzz seeds and the in-process peer. Payload: TargetName, then TargetInfo.
Result<std::vector<uint8_t>> EncodeChallengeMessage(const ChallengeMessage& msg);

// [MS-NLMP] 2.2.1.3 AUTHENTICATE_MESSAGE.
struct AuthenticateMessage {
  std::vector<uint8_t> lm_challenge_response;
  std::vector<uint8_t> nt_challenge_response;
  std::vector<uint8_t> domain_name;  // wire bytes
  std::vector<uint8_t> user_name;    // wire bytes
  std::vector<uint8_t> workstation;  // wire bytes
  std::vector<uint8_t> encrypted_random_session_key;
  uint32_t negotiate_flags = 0;
  NtlmVersion version{};
  bool has_mic = false;  // the 16-byte MIC field is present (header is 88 bytes, not 72)
  std::array<uint8_t, kNtlmMicSize> mic{};
};
// Payload order as Windows writes it: DomainName, UserName, Workstation, LmChallengeResponse,
// NtChallengeResponse, EncryptedRandomSessionKey. Fields over 65535 bytes are kInvalidArgument.
Result<std::vector<uint8_t>> EncodeAuthenticateMessage(const AuthenticateMessage& msg);
// For the in-process peer and fuzzing. has_mic is inferred as Windows and Samba do: every present
// payload field starts at or after offset 88.
Result<AuthenticateMessage> DecodeAuthenticateMessage(ByteView data);

}  // namespace smb3::auth
