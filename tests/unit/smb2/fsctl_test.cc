// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/fsctl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

namespace smb3::smb2 {
namespace {

template <class Decode>
void ExpectEveryPrefixFails(const std::vector<uint8_t>& data, Decode decode) {
  for (size_t n = 0; n < data.size(); ++n) {
    std::vector<uint8_t> prefix(data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
    ASSERT_FALSE(decode(ByteView(prefix)).ok()) << "prefix of " << n << " bytes accepted";
  }
}

TEST(ValidateNegotiateInfo, EncodesRequest) {
  ValidateNegotiateInfoRequest req;
  req.capabilities = 0x44;
  req.guid.fill(0x5A);
  req.security_mode = 2;
  req.dialects = {0x0300};
  std::vector<uint8_t> out;
  ByteWriter w(out);
  ASSERT_TRUE(EncodeValidateNegotiateInfoRequest(req, w).ok());
  std::vector<uint8_t> expected = {0x44, 0, 0, 0};
  expected.insert(expected.end(), 16, 0x5A);
  expected.insert(expected.end(), {2, 0, 1, 0, 0x00, 0x03});
  EXPECT_EQ(out, expected);

  req.dialects.clear();
  EXPECT_TRUE(EncodeValidateNegotiateInfoRequest(req, w).Is(Code::kInvalidArgument));
  req.dialects.assign(17, 0x0300);
  EXPECT_TRUE(EncodeValidateNegotiateInfoRequest(req, w).Is(Code::kInvalidArgument));
}

std::vector<uint8_t> SampleValidateResponse() {
  std::vector<uint8_t> d = {0x2F, 0, 0, 0};
  for (uint8_t i = 0; i < 16; ++i) d.push_back(static_cast<uint8_t>(0xA0 + i));
  d.insert(d.end(), {1, 0, 0x02, 0x03});
  return d;
}

TEST(ValidateNegotiateInfo, DecodesResponse) {
  auto r = DecodeValidateNegotiateInfoResponse(SampleValidateResponse());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->capabilities, 0x2Fu);
  EXPECT_EQ(r->guid[0], 0xA0);
  EXPECT_EQ(r->guid[15], 0xAF);
  EXPECT_EQ(r->security_mode, 1);
  EXPECT_EQ(r->dialect, 0x0302);
}

TEST(ValidateNegotiateInfo, TruncationAndTrailingBytes) {
  ExpectEveryPrefixFails(SampleValidateResponse(),
                         [](ByteView v) { return DecodeValidateNegotiateInfoResponse(v); });
  std::vector<uint8_t> longer = SampleValidateResponse();
  longer.push_back(0);
  EXPECT_TRUE(DecodeValidateNegotiateInfoResponse(longer).status().Is(Code::kProtocol));
}

struct Nic {
  uint32_t if_index;
  uint32_t capability;
  uint64_t link_speed;
  uint16_t family;
  std::vector<uint8_t> address;  // 4 or 16 bytes, network order
};

// [MS-SMB2] 2.2.32.5 entries as Windows Server returns them: 152 bytes each, Next = 152.
std::vector<uint8_t> BuildInterfaces(const std::vector<Nic>& nics) {
  std::vector<uint8_t> d;
  ByteWriter w(d);
  for (size_t i = 0; i < nics.size(); ++i) {
    const Nic& n = nics[i];
    w.U32(i + 1 == nics.size() ? 0 : 152);
    w.U32(n.if_index);
    w.U32(n.capability);
    w.U32(0);
    w.U64(n.link_speed);
    const size_t storage = d.size();
    w.U16(n.family);
    w.U16(0x4500);                                               // Port: reserved, ignored
    if (n.family == kSockAddrInterNetworkV6) w.U32(0xFFFFFFFF);  // FlowInfo: ignored
    w.Bytes(n.address);
    w.Zeros(storage + 128 - d.size());
  }
  return d;
}

std::vector<Nic> SampleNics() {
  return {
      {3, RSS_CAPABLE, 10000000000ULL, kSockAddrInterNetwork, {192, 168, 1, 10}},
      {7,
       RSS_CAPABLE | RDMA_CAPABLE,
       100000000000ULL,
       kSockAddrInterNetworkV6,
       {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}},
      {9, 0, 1000, 0x001E, {1, 2, 3, 4}},  // unknown family: skipped
      {7, RDMA_CAPABLE, 25000000000ULL, kSockAddrInterNetwork, {10, 0, 0, 1}},
  };
}

TEST(NetworkInterfaceInfo, DecodesChain) {
  auto r = DecodeNetworkInterfaceInfo(BuildInterfaces(SampleNics()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].if_index, 3u);
  EXPECT_TRUE((*r)[0].rss_capable);
  EXPECT_FALSE((*r)[0].rdma_capable);
  EXPECT_EQ((*r)[0].link_speed, 10000000000ULL);
  EXPECT_EQ((*r)[0].address, "192.168.1.10");
  EXPECT_EQ((*r)[1].if_index, 7u);
  EXPECT_TRUE((*r)[1].rss_capable);
  EXPECT_TRUE((*r)[1].rdma_capable);
  EXPECT_EQ((*r)[1].address, "fe80::1234:5678:9abc:def0");
  EXPECT_EQ((*r)[2].address, "10.0.0.1");
  EXPECT_FALSE((*r)[2].rss_capable);
  EXPECT_TRUE((*r)[2].rdma_capable);
}

TEST(NetworkInterfaceInfo, SkipsPaddingBetweenEntries) {
  // Next may point past padding after an entry.
  std::vector<uint8_t> d = BuildInterfaces({SampleNics()[0]});
  StoreU32(&d[0], 160);
  d.resize(160, 0xEE);
  std::vector<uint8_t> second = BuildInterfaces({SampleNics()[3]});
  d.insert(d.end(), second.begin(), second.end());
  auto r = DecodeNetworkInterfaceInfo(d);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].address, "10.0.0.1");
}

TEST(NetworkInterfaceInfo, TruncationTable) {
  ExpectEveryPrefixFails(BuildInterfaces(SampleNics()),
                         [](ByteView v) { return DecodeNetworkInterfaceInfo(v); });
}

TEST(NetworkInterfaceInfo, RejectsLoopsOverlapsAndOverruns) {
  const std::vector<uint8_t> base = BuildInterfaces(SampleNics());
  for (uint32_t next : {1u, 8u, 151u, 0xFFFFFFFFu, 152u * 4}) {
    std::vector<uint8_t> d = base;
    StoreU32(&d[152], next);  // second entry's Next
    auto r = DecodeNetworkInterfaceInfo(d);
    ASSERT_FALSE(r.ok()) << next;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << next;
  }
  EXPECT_FALSE(DecodeNetworkInterfaceInfo({}).ok());
}

TEST(NetworkInterfaceInfo, CapsEntryCount) {
  std::vector<Nic> many(kMaxNetworkInterfaces, SampleNics()[0]);
  auto r = DecodeNetworkInterfaceInfo(BuildInterfaces(many));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), kMaxNetworkInterfaces);
  many.push_back(SampleNics()[0]);
  EXPECT_TRUE(DecodeNetworkInterfaceInfo(BuildInterfaces(many)).status().Is(Code::kProtocol));
}

std::string V6(std::initializer_list<uint16_t> groups) {
  uint8_t a[16];
  int i = 0;
  for (uint16_t g : groups) {
    a[i++] = static_cast<uint8_t>(g >> 8);
    a[i++] = static_cast<uint8_t>(g);
  }
  return FormatIpv6(a);
}

TEST(FormatIp, Rfc5952Forms) {
  EXPECT_EQ(V6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}), "2001:db8::1");
  EXPECT_EQ(V6({0, 0, 0, 0, 0, 0, 0, 1}), "::1");
  EXPECT_EQ(V6({0, 0, 0, 0, 0, 0, 0, 0}), "::");
  EXPECT_EQ(V6({0xfe80, 0, 0, 0, 0, 0, 0, 0}), "fe80::");
  EXPECT_EQ(V6({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}), "2001:db8:0:1:1:1:1:1");  // one zero group
  EXPECT_EQ(V6({0x2001, 0, 0, 1, 0, 0, 0, 1}), "2001:0:0:1::1");             // longest run
  EXPECT_EQ(V6({0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}), "2001:db8::1:0:0:1");     // first of equal runs
  EXPECT_EQ(V6({0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201}), "::ffff:192.0.2.1");
  EXPECT_EQ(V6({0xABCD, 0x00EF, 1, 2, 3, 4, 5, 6}), "abcd:ef:1:2:3:4:5:6");
  const uint8_t v4[4] = {0, 255, 7, 100};
  EXPECT_EQ(FormatIpv4(v4), "0.255.7.100");
}

TEST(FormatIp, MatchesInetNtop) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 5000; ++i) {
    uint8_t a[16];
    // Sparse groups so that zero runs of every length and position occur.
    for (int g = 0; g < 8; ++g) {
      uint16_t v = (rng() % 3 == 0) ? static_cast<uint16_t>(rng()) : 0;
      a[2 * g] = static_cast<uint8_t>(v >> 8);
      a[2 * g + 1] = static_cast<uint8_t>(v);
    }
    // glibc prints the deprecated IPv4-compatible ::a.b.c.d form; RFC 5952 does not.
    bool compat = true;
    for (int b = 0; b < 12; ++b) compat = compat && a[b] == 0;
    if (compat) continue;
    char text[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, a, text, sizeof(text)), nullptr);
    EXPECT_EQ(FormatIpv6(a), text);
  }
}

}  // namespace
}  // namespace smb3::smb2
