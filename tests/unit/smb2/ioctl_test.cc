// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/ioctl.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

#include "smb2/fsctl.h"

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

std::vector<uint8_t> WithHeader(bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = SMB2_IOCTL;
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

TEST(IoctlRequest, GoldenValidateNegotiateInfo) {
  ValidateNegotiateInfoRequest vni;
  vni.capabilities = 0x4F;
  for (uint8_t i = 0; i < 16; ++i) vni.guid[i] = i;
  vni.security_mode = 1;
  vni.dialects = {0x0300, 0x0302};
  std::vector<uint8_t> input;
  ByteWriter iw(input);
  ASSERT_TRUE(EncodeValidateNegotiateInfoRequest(vni, iw).ok());

  IoctlRequest req;
  req.ctl_code = FSCTL_VALIDATE_NEGOTIATE_INFO;
  req.file_id = kIoctlNoFileId;
  req.input = input;
  req.max_output_response = 24;
  std::vector<uint8_t> m = WithHeader(false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeIoctlRequest(req, w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  // [MS-SMB2] 2.2.31 with the 2.2.31.4 input at offset 120 (0x78), 28 (0x1c) bytes.
  EXPECT_EQ(body, Hex("3900 0000 04021400 ffffffffffffffff ffffffffffffffff"
                      "78000000 1c000000 00000000 00000000 00000000 18000000 01000000 00000000"
                      "4f000000 000102030405060708090a0b0c0d0e0f 0100 0200 0003 0203"));
}

TEST(IoctlRequest, GoldenQueryNetworkInterfaceInfoWithoutInput) {
  IoctlRequest req;
  req.ctl_code = FSCTL_QUERY_NETWORK_INTERFACE_INFO;
  req.file_id = kIoctlNoFileId;
  req.max_output_response = 0x10000;
  std::vector<uint8_t> m = WithHeader(false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeIoctlRequest(req, w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  // No input: InputOffset/InputCount 0 and one Buffer byte, as StructureSize 57 promises.
  EXPECT_EQ(body, Hex("3900 0000 fc011400 ffffffffffffffff ffffffffffffffff"
                      "00000000 00000000 00000000 00000000 00000000 00000100 01000000 00000000"
                      "00"));
}

std::vector<uint8_t> SampleResponse(const std::vector<uint8_t>& output) {
  // As Windows sends it: InputOffset = OutputOffset = 0x70 with InputCount 0.
  std::vector<uint8_t> m = WithHeader(true);
  ByteWriter w(m);
  w.U16(49);
  w.U16(0);
  w.U32(FSCTL_QUERY_NETWORK_INTERFACE_INFO);
  w.U64(0xFFFFFFFFFFFFFFFFULL);
  w.U64(0xFFFFFFFFFFFFFFFFULL);
  w.U32(0x70);
  w.U32(0);
  w.U32(0x70);
  w.U32(static_cast<uint32_t>(output.size()));
  w.U32(0);
  w.U32(0);
  w.Bytes(output);
  return m;
}

TEST(IoctlResponse, Decodes) {
  std::vector<uint8_t> output = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<uint8_t> m = SampleResponse(output);
  auto r = DecodeIoctlResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ctl_code, FSCTL_QUERY_NETWORK_INTERFACE_INFO);
  EXPECT_EQ(r->file_id, kIoctlNoFileId);
  EXPECT_TRUE(r->input.empty());
  ASSERT_EQ(r->output.size(), output.size());
  EXPECT_EQ(r->output.data(), m.data() + 0x70);
}

TEST(IoctlResponse, DecodesInputAndOutput) {
  // A pass-through answer carrying both buffers, output 8-aligned after input.
  std::vector<uint8_t> m = SampleResponse({});
  StoreU32(&m[kHeaderSize + 28], 3);     // InputCount
  StoreU32(&m[kHeaderSize + 32], 0x78);  // OutputOffset
  StoreU32(&m[kHeaderSize + 36], 2);     // OutputCount
  m.insert(m.end(), {0xA, 0xB, 0xC, 0, 0, 0, 0, 0, 0xD, 0xE});
  auto r = DecodeIoctlResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::vector<uint8_t>(r->input.begin(), r->input.end()),
            (std::vector<uint8_t>{0xA, 0xB, 0xC}));
  EXPECT_EQ(std::vector<uint8_t>(r->output.begin(), r->output.end()),
            (std::vector<uint8_t>{0xD, 0xE}));
}

TEST(IoctlResponse, ZeroOutputCountIgnoresOffset) {
  std::vector<uint8_t> m = SampleResponse({});
  StoreU32(&m[kHeaderSize + 32], 0xFFFFFFFF);  // OutputOffset: garbage, OutputCount 0
  auto r = DecodeIoctlResponse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->output.empty());
}

TEST(IoctlResponse, TruncationTable) {
  ExpectEveryPrefixFails(SampleResponse({1, 2, 3, 4}),
                         [](ByteView v) { return DecodeIoctlResponse(v); });
}

TEST(IoctlResponse, RejectsHostileOffsets) {
  struct Case {
    const char* name;
    size_t at;
    uint32_t value;
  } cases[] = {
      {"StructureSize", 0, 57},
      {"OutputCount past end", 36, 5},
      {"OutputCount max", 36, 0xFFFFFFFF},
      {"OutputOffset past end", 32, 0x71},
      {"OutputOffset max", 32, 0xFFFFFFFF},
      {"OutputOffset inside header", 32, 0x20},
      {"InputCount past end", 28, 5},
      {"InputOffset max with count", 28, 1},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> m = SampleResponse({1, 2, 3, 4});
    if (c.at == 0) {
      StoreU16(&m[kHeaderSize], static_cast<uint16_t>(c.value));
    } else {
      StoreU32(&m[kHeaderSize + c.at], c.value);
    }
    if (std::string_view(c.name) == "InputOffset max with count")
      StoreU32(&m[kHeaderSize + 24], 0xFFFFFFFE);
    auto r = DecodeIoctlResponse(m);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << c.name;
  }
}

}  // namespace
}  // namespace smb3::smb2
