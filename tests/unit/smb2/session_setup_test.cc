// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/session_setup.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

#include "smb2/negotiate.h"
#include "smb3/ntstatus.h"

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

std::vector<uint8_t> WithHeader(uint16_t command, uint32_t status, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.status = status;
  h.session_id = 0x0000100000000009ULL;
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

// An NTLMSSP NEGOTIATE inside SPNEGO, as the first SESSION_SETUP carries it.
const std::vector<uint8_t> kToken =
    Hex("604806062b0601050502a03e303ca00e300c060a2b06010401823702020a");

TEST(SessionSetupRequest, GoldenEncoding) {
  SessionSetupRequest req;
  req.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
  req.capabilities = 0x00000001;  // SMB2_GLOBAL_CAP_DFS
  req.security_buffer = kToken;
  std::vector<uint8_t> m = WithHeader(SMB2_SESSION_SETUP, 0, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeSessionSetupRequest(req, w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  // [MS-SMB2] 2.2.5: StructureSize 25, Flags, SecurityMode, Capabilities, Channel 0, offset 88
  // (0x58), length 30 (0x1e), PreviousSessionId, then the token.
  std::vector<uint8_t> expected = Hex("1900 00 01 01000000 00000000 5800 1e00 0000000000000000");
  expected.insert(expected.end(), kToken.begin(), kToken.end());
  EXPECT_EQ(body, expected);
}

TEST(SessionSetupRequest, BindingWithPreviousSession) {
  SessionSetupRequest req;
  req.flags = SMB2_SESSION_FLAG_BINDING;
  req.security_mode = SMB2_NEGOTIATE_SIGNING_REQUIRED;
  req.previous_session_id = 0x1122334455667788ULL;
  std::vector<uint8_t> m = WithHeader(SMB2_SESSION_SETUP, 0, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeSessionSetupRequest(req, w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  // An empty token still carries one Buffer byte (StructureSize 25 is odd).
  EXPECT_EQ(body, Hex("1900 01 02 00000000 00000000 5800 0000 8877665544332211 00"));
}

TEST(SessionSetupRequest, RejectsOversizedToken) {
  std::vector<uint8_t> big(65536, 0x41);
  SessionSetupRequest req;
  req.security_buffer = big;
  std::vector<uint8_t> m = WithHeader(SMB2_SESSION_SETUP, 0, false);
  ByteWriter w(m);
  EXPECT_TRUE(EncodeSessionSetupRequest(req, w).Is(Code::kInvalidArgument));
}

std::vector<uint8_t> SampleResponse(uint32_t status, uint16_t flags,
                                    const std::vector<uint8_t>& token) {
  std::vector<uint8_t> m = WithHeader(SMB2_SESSION_SETUP, status, true);
  ByteWriter w(m);
  w.U16(9);
  w.U16(flags);
  w.U16(token.empty() ? 0 : 0x48);
  w.U16(static_cast<uint16_t>(token.size()));
  w.Bytes(token);
  return m;
}

TEST(SessionSetupResponse, DecodesMoreProcessingRequired) {
  std::vector<uint8_t> m = SampleResponse(STATUS_MORE_PROCESSING_REQUIRED, 0, kToken);
  auto r = DecodeSessionSetupResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->session_flags, 0);
  ASSERT_EQ(r->security_buffer.size(), kToken.size());
  EXPECT_EQ(r->security_buffer.data(), m.data() + 0x48);
}

TEST(SessionSetupResponse, DecodesFinalWithFlagsAndNoToken) {
  // Samba ends NTLM authentication with an empty buffer (offset 0, length 0).
  std::vector<uint8_t> m = SampleResponse(
      STATUS_SUCCESS, SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_ENCRYPT_DATA, {});
  auto r = DecodeSessionSetupResponse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->session_flags, SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_ENCRYPT_DATA);
  EXPECT_TRUE(r->security_buffer.empty());
}

// [MS-SMB2] 4.3: the example's offsets and lengths: request buffer at 88 (74 bytes), responses
// at 72 (219 bytes with STATUS_MORE_PROCESSING_REQUIRED, then 29 bytes).
TEST(SessionSetup, SpecExample43Layout) {
  std::vector<uint8_t> token(74, 0x60);
  SessionSetupRequest req;
  req.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
  req.capabilities = 1;
  req.security_buffer = token;
  std::vector<uint8_t> m = WithHeader(SMB2_SESSION_SETUP, 0, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeSessionSetupRequest(req, w).ok());
  EXPECT_EQ(LoadU16(&m[kHeaderSize + 12]), 88);
  EXPECT_EQ(LoadU16(&m[kHeaderSize + 14]), 74);
  EXPECT_EQ(m.size(), 88u + 74u);

  for (size_t length : {219u, 29u}) {
    std::vector<uint8_t> resp =
        SampleResponse(STATUS_MORE_PROCESSING_REQUIRED, 0, std::vector<uint8_t>(length, 0xA1));
    auto r = DecodeSessionSetupResponse(resp);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->security_buffer.size(), length);
    EXPECT_EQ(r->security_buffer.data(), resp.data() + 72);
  }
}

TEST(SessionSetupResponse, TruncationTable) {
  ExpectEveryPrefixFails(SampleResponse(STATUS_SUCCESS, 0, kToken),
                         [](ByteView v) { return DecodeSessionSetupResponse(v); });
}

TEST(SessionSetupResponse, RejectsHostileOffsets) {
  std::vector<uint8_t> base = SampleResponse(STATUS_SUCCESS, 0, kToken);
  struct Case {
    const char* name;
    size_t at;
    uint16_t value;
  } cases[] = {
      {"StructureSize", kHeaderSize, 8},
      {"length past end", kHeaderSize + 6, static_cast<uint16_t>(kToken.size() + 1)},
      {"length max", kHeaderSize + 6, 0xFFFF},
      {"offset past end", kHeaderSize + 4, 0xFFFF},
      {"offset inside header", kHeaderSize + 4, 0x10},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> m = base;
    StoreU16(&m[c.at], c.value);
    auto r = DecodeSessionSetupResponse(m);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << c.name;
  }
}

}  // namespace
}  // namespace smb3::smb2
