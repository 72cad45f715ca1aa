// SPDX-License-Identifier: LGPL-2.1-or-later
// FSCTL codes ([MS-SMB2] 2.2.31) and the payloads of the FSCTLs the connection layer issues:
// FSCTL_VALIDATE_NEGOTIATE_INFO (2.2.31.4 / 2.2.32.6) and FSCTL_QUERY_NETWORK_INTERFACE_INFO
// (2.2.32.5). These codecs work on the IOCTL input/output buffers, not on whole messages.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.31 CtlCode values with SMB2-specific processing.
inline constexpr uint32_t FSCTL_DFS_GET_REFERRALS = 0x00060194;
inline constexpr uint32_t FSCTL_PIPE_PEEK = 0x0011400C;
inline constexpr uint32_t FSCTL_PIPE_WAIT = 0x00110018;
inline constexpr uint32_t FSCTL_PIPE_TRANSCEIVE = 0x0011C017;
inline constexpr uint32_t FSCTL_SRV_COPYCHUNK = 0x001440F2;
inline constexpr uint32_t FSCTL_SRV_ENUMERATE_SNAPSHOTS = 0x00144064;
inline constexpr uint32_t FSCTL_SRV_REQUEST_RESUME_KEY = 0x00140078;
inline constexpr uint32_t FSCTL_SRV_READ_HASH = 0x001441BB;
inline constexpr uint32_t FSCTL_SRV_COPYCHUNK_WRITE = 0x001480F2;
inline constexpr uint32_t FSCTL_LMR_REQUEST_RESILIENCY = 0x001401D4;
inline constexpr uint32_t FSCTL_QUERY_NETWORK_INTERFACE_INFO = 0x001401FC;
inline constexpr uint32_t FSCTL_SET_REPARSE_POINT = 0x000900A4;
inline constexpr uint32_t FSCTL_DFS_GET_REFERRALS_EX = 0x000601B0;
inline constexpr uint32_t FSCTL_FILE_LEVEL_TRIM = 0x00098208;
inline constexpr uint32_t FSCTL_VALIDATE_NEGOTIATE_INFO = 0x00140204;

// [MS-SMB2] 2.2.32.5 Capability.
inline constexpr uint32_t RSS_CAPABLE = 0x00000001;
inline constexpr uint32_t RDMA_CAPABLE = 0x00000002;

// [MS-SMB2] 2.2.32.5.1 Family.
inline constexpr uint16_t kSockAddrInterNetwork = 0x0002;
inline constexpr uint16_t kSockAddrInterNetworkV6 = 0x0017;

// Entries beyond this many make the interface list malformed.
inline constexpr size_t kMaxNetworkInterfaces = 256;

// [MS-SMB2] 2.2.31.4 VALIDATE_NEGOTIATE_INFO request: the client's NEGOTIATE values.
struct ValidateNegotiateInfoRequest {
  uint32_t capabilities = 0;
  std::array<uint8_t, 16> guid{};  // ClientGuid
  uint16_t security_mode = 0;
  std::vector<uint16_t> dialects;
};

// [MS-SMB2] 2.2.32.6 VALIDATE_NEGOTIATE_INFO response: the server's NEGOTIATE values.
struct ValidateNegotiateInfoResponse {
  uint32_t capabilities = 0;
  std::array<uint8_t, 16> guid{};  // ServerGuid
  uint16_t security_mode = 0;
  uint16_t dialect = 0;
};

// Appends the IOCTL input buffer. Errors: kInvalidArgument for an empty or over-long dialect list.
Status EncodeValidateNegotiateInfoRequest(const ValidateNegotiateInfoRequest& request,
                                          ByteWriter& w);

// Parses the IOCTL output buffer, which must be exactly 24 bytes. Errors: kProtocol.
Result<ValidateNegotiateInfoResponse> DecodeValidateNegotiateInfoResponse(ByteView output);

// Parses the NETWORK_INTERFACE_INFO chain of an FSCTL_QUERY_NETWORK_INTERFACE_INFO output buffer.
// Each Next must move forward past the current 152-byte entry and keep the next entry inside the
// buffer; at most kMaxNetworkInterfaces entries. Entries with a family other than IPv4/IPv6 are
// skipped. Addresses are formatted numerically (RFC 5952 for IPv6). Errors: kProtocol.
Result<std::vector<NetworkInterface>> DecodeNetworkInterfaceInfo(ByteView output);

// Numeric text form of an IPv4 address in network byte order ("192.0.2.1").
std::string FormatIpv4(const uint8_t address[4]);
// RFC 5952 text form of an IPv6 address in network byte order ("2001:db8::1", "::ffff:192.0.2.1").
std::string FormatIpv6(const uint8_t address[16]);

}  // namespace smb3::smb2
