// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/tree_connect.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Hex(std::string_view s) {
  std::string digits;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  }
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> WithHeader(uint16_t command, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.tree_id = response ? 5 : 0;
  h.flags = response ? SMB2_FLAGS_SERVER_TO_REDIR : 0;
  EncodeHeader(h, w);
  return m;
}

template <class Decode>
void ExpectEveryPrefixFails(const std::vector<uint8_t>& message, Decode decode) {
  for (size_t n = 0; n < message.size(); ++n) {
    std::vector<uint8_t> prefix(message.begin(), message.begin() + static_cast<ptrdiff_t>(n));
    ASSERT_FALSE(decode(ByteView(prefix)).ok()) << "prefix of " << n << " bytes accepted";
  }
}

TEST(TreeConnectRequest, GoldenEncoding) {
  TreeConnectRequest req;
  req.path = "\\\\srv\\share";
  std::vector<uint8_t> m = WithHeader(SMB2_TREE_CONNECT, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeTreeConnectRequest(req, w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  // [MS-SMB2] 2.2.9: StructureSize 9, Flags 0, PathOffset 72 (0x48), PathLength 22 (0x16),
  // then "\\srv\share" in UTF-16LE.
  EXPECT_EQ(body, Hex("0900 0000 4800 1600"
                      "5c005c00730072007600 5c00730068006100720065 00"));
}

// [MS-SMB2] 4.3: TREE_CONNECT to \\smb2server\IPC$ (PathOffset 72, PathLength 34) and the
// response: pipe share, no caching, MaximalAccess 0x1F01FF.
TEST(TreeConnect, SpecExample43) {
  TreeConnectRequest req;
  req.path = "\\\\smb2server\\IPC$";
  std::vector<uint8_t> m = WithHeader(SMB2_TREE_CONNECT, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeTreeConnectRequest(req, w).ok());
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + kHeaderSize, m.end()),
            Hex("0900 0000 4800 2200 5c005c0073006d0062003200730065007200760065007200"
                "5c004900500043002400"));

  std::vector<uint8_t> resp = WithHeader(SMB2_TREE_CONNECT, true);
  std::vector<uint8_t> body = Hex("1000 02 00 30000000 00000000 ff011f00");
  resp.insert(resp.end(), body.begin(), body.end());
  auto r = DecodeTreeConnectResponse(resp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->share_type, SMB2_SHARE_TYPE_PIPE);
  EXPECT_EQ(r->share_flags, SMB2_SHAREFLAG_NO_CACHING);
  EXPECT_EQ(r->capabilities, 0u);
  EXPECT_EQ(r->maximal_access, 2032127u);
}

TEST(TreeConnectRequest, NonAsciiPathAndFlags) {
  TreeConnectRequest req;
  req.flags = SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT;
  req.path = "\\\\s\\\xc3\xa9";  // "\\s\é"
  std::vector<uint8_t> m = WithHeader(SMB2_TREE_CONNECT, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeTreeConnectRequest(req, w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  EXPECT_EQ(body, Hex("0900 0100 4800 0a00 5c005c0073005c00e900"));
}

TEST(TreeConnectRequest, RejectsBadArguments) {
  std::vector<uint8_t> m = WithHeader(SMB2_TREE_CONNECT, false);
  ByteWriter w(m);
  TreeConnectRequest req;
  EXPECT_TRUE(EncodeTreeConnectRequest(req, w).Is(Code::kInvalidArgument));  // empty path
  req.path = "\\\\srv\\\xff";
  EXPECT_TRUE(EncodeTreeConnectRequest(req, w).Is(Code::kInvalidArgument));  // not UTF-8
  req.path = "\\\\srv\\share";
  req.flags = SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT;
  EXPECT_TRUE(EncodeTreeConnectRequest(req, w).Is(Code::kInvalidArgument));
  req.flags = 0;
  for (const std::string& bad :
       {std::string("\\\\srv"), std::string("\\\\srv\\"), std::string("\\\\\\share"),
        std::string("\\srv\\share"), std::string("srv\\share"), std::string("\\\\srv\\share\\dir"),
        "\\\\" + std::string(256, 's') + "\\share", "\\\\srv\\" + std::string(81, 'x'),
        std::string(40000, 'a')}) {
    req.path = bad;
    EXPECT_TRUE(EncodeTreeConnectRequest(req, w).Is(Code::kInvalidArgument)) << bad.substr(0, 40);
  }
  for (const std::string& good : {"\\\\" + std::string(255, 's') + "\\" + std::string(80, 'x'),
                                  std::string("\\\\fe80::1\\IPC$")}) {
    req.path = good;
    EXPECT_TRUE(EncodeTreeConnectRequest(req, w).ok()) << good.substr(0, 40);
  }
}

std::vector<uint8_t> SampleResponse() {
  // A Windows Server answer for an encrypted, continuously available disk share.
  std::vector<uint8_t> m = WithHeader(SMB2_TREE_CONNECT, true);
  std::vector<uint8_t> body = Hex("1000 01 00 00880000 10000000 ff011f00");
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

TEST(TreeConnectResponse, Decodes) {
  auto r = DecodeTreeConnectResponse(SampleResponse());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->share_type, SMB2_SHARE_TYPE_DISK);
  EXPECT_EQ(r->share_flags, 0x8800u);  // ENCRYPT_DATA | ACCESS_BASED_DIRECTORY_ENUM
  EXPECT_TRUE(r->share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA);
  EXPECT_EQ(r->share_flags & SMB2_SHAREFLAG_NO_CACHING, 0u);  // manual caching
  EXPECT_EQ(r->capabilities, SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY);
  EXPECT_EQ(r->maximal_access, 0x001F01FFu);
}

TEST(TreeConnectResponse, IgnoresReservedByte) {
  std::vector<uint8_t> m = SampleResponse();
  m[kHeaderSize + 3] = 0xEE;
  EXPECT_TRUE(DecodeTreeConnectResponse(m).ok());
}

TEST(TreeConnectResponse, TruncationTable) {
  ExpectEveryPrefixFails(SampleResponse(), [](ByteView v) { return DecodeTreeConnectResponse(v); });
}

TEST(TreeConnectResponse, RejectsBadStructureSizeAndShareType) {
  std::vector<uint8_t> m = SampleResponse();
  StoreU16(&m[kHeaderSize], 9);
  EXPECT_TRUE(DecodeTreeConnectResponse(m).status().Is(Code::kProtocol));
  for (uint8_t type : {0, 4, 0xFF}) {
    m = SampleResponse();
    m[kHeaderSize + 2] = type;
    EXPECT_TRUE(DecodeTreeConnectResponse(m).status().Is(Code::kProtocol)) << int{type};
  }
}

TEST(TreeDisconnect, RequestAndResponse) {
  std::vector<uint8_t> m = WithHeader(SMB2_TREE_DISCONNECT, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeTreeDisconnectRequest(w).ok());
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + kHeaderSize, m.end()), Hex("0400 0000"));

  std::vector<uint8_t> resp = WithHeader(SMB2_TREE_DISCONNECT, true);
  resp.insert(resp.end(), {4, 0, 0, 0});
  EXPECT_TRUE(DecodeTreeDisconnectResponse(resp).ok());
  ExpectEveryPrefixFails(resp, [](ByteView v) { return DecodeTreeDisconnectResponse(v); });
  resp[kHeaderSize] = 9;
  EXPECT_TRUE(DecodeTreeDisconnectResponse(resp).Is(Code::kProtocol));
}

}  // namespace
}  // namespace smb3::smb2
