// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/fsctl.h"

#include <cstdio>

namespace smb3::smb2 {
namespace {

constexpr size_t kValidateNegotiateInfoResponseSize = 24;
constexpr size_t kMaxValidateDialects = 16;
// [MS-SMB2] 2.2.32.5: Next, IfIndex, Capability, Reserved, LinkSpeed, SockAddr_Storage(128).
constexpr size_t kSockAddrStorageSize = 128;
constexpr size_t kNetworkInterfaceInfoSize = 24 + kSockAddrStorageSize;

uint16_t LoadU16BigEndian(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

void AppendHex16(std::string& out, uint16_t v) {
  char buf[8];
  int n = std::snprintf(buf, sizeof(buf), "%x", static_cast<unsigned>(v));
  out.append(buf, static_cast<size_t>(n));
}

}  // namespace

std::string FormatIpv4(const uint8_t address[4]) {
  char buf[16];
  int n = std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", address[0], address[1], address[2],
                        address[3]);
  return std::string(buf, static_cast<size_t>(n));
}

// RFC 5952 section 4: lower-case hex without leading zeros, the longest run (first if tied) of two
// or more zero groups as "::", and the IPv4-mapped form for ::ffff:0:0/96.
std::string FormatIpv6(const uint8_t address[16]) {
  uint16_t groups[8];
  for (size_t i = 0; i < 8; ++i) groups[i] = LoadU16BigEndian(address + 2 * i);
  const bool v4_mapped = groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 &&
                         groups[4] == 0 && groups[5] == 0xFFFF;
  if (v4_mapped) return "::ffff:" + FormatIpv4(address + 12);

  int best_start = -1;
  int best_length = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_length) {
      best_start = i;
      best_length = j - i;
    }
    i = j;
  }
  if (best_length < 2) best_start = -1;

  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    AppendHex16(out, groups[i]);
  }
  return out;
}

// [MS-SMB2] 2.2.31.4
Status EncodeValidateNegotiateInfoRequest(const ValidateNegotiateInfoRequest& request,
                                          ByteWriter& w) {
  if (request.dialects.empty() || request.dialects.size() > kMaxValidateDialects) {
    return Status::Invalid("validate negotiate info: dialect count out of range");
  }
  w.U32(request.capabilities);
  w.Bytes(request.guid);
  w.U16(request.security_mode);
  w.U16(static_cast<uint16_t>(request.dialects.size()));
  for (uint16_t d : request.dialects) w.U16(d);
  return Status::Ok();
}

// [MS-SMB2] 2.2.32.6
Result<ValidateNegotiateInfoResponse> DecodeValidateNegotiateInfoResponse(ByteView output) {
  if (output.size() != kValidateNegotiateInfoResponseSize) {
    return Status::Protocol("validate negotiate info: response is not 24 bytes");
  }
  ByteReader r(output);
  ValidateNegotiateInfoResponse out;
  out.capabilities = r.U32();
  r.CopyTo(out.guid.data(), out.guid.size());
  out.security_mode = r.U16();
  out.dialect = r.U16();
  if (!r.ok()) return Status::Protocol("validate negotiate info: truncated");
  return out;
}

// [MS-SMB2] 2.2.32.5
Result<std::vector<NetworkInterface>> DecodeNetworkInterfaceInfo(ByteView output) {
  std::vector<NetworkInterface> out;
  size_t pos = 0;
  for (size_t entries = 0;; ++entries) {
    if (entries == kMaxNetworkInterfaces) {
      return Status::Protocol("network interface info: too many interfaces");
    }
    auto entry = Slice(output, pos, kNetworkInterfaceInfoSize);
    if (!entry) return Status::Protocol("network interface info: entry out of bounds");
    ByteReader r(*entry);
    uint32_t next = r.U32();
    NetworkInterface nic;
    nic.if_index = r.U32();
    uint32_t capability = r.U32();
    r.U32();  // Reserved
    nic.link_speed = r.U64();
    nic.rss_capable = (capability & RSS_CAPABLE) != 0;
    nic.rdma_capable = (capability & RDMA_CAPABLE) != 0;
    // [MS-SMB2] 2.2.32.5.1: Family (little-endian), then SOCKADDR_IN / SOCKADDR_IN6 fields in
    // network byte order: Port(2) IPv4Address(4) / Port(2) FlowInfo(4) IPv6Address(16) ScopeId(4).
    ByteView storage = r.Bytes(kSockAddrStorageSize);
    if (!r.ok()) return Status::Protocol("network interface info: truncated");
    const uint16_t family = LoadU16(storage.data());
    if (family == kSockAddrInterNetwork) {
      nic.address = FormatIpv4(storage.data() + 4);
      out.push_back(std::move(nic));
    } else if (family == kSockAddrInterNetworkV6) {
      nic.address = FormatIpv6(storage.data() + 8);
      out.push_back(std::move(nic));
    }
    if (next == 0) break;
    // Next moves strictly past this entry, so the walk cannot loop or revisit bytes.
    if (next < kNetworkInterfaceInfoSize) {
      return Status::Protocol("network interface info: Next overlaps the current entry");
    }
    if (next > output.size() - pos)
      return Status::Protocol("network interface info: Next out of bounds");
    pos += next;
  }
  return out;
}

}  // namespace smb3::smb2
