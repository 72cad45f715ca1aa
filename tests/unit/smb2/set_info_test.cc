// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/set_info.h"

#include <gtest/gtest.h>

#include <vector>

#include "smb2/file_info.h"
#include "smb2/header.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Header64(uint16_t command, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.credits = 1;
  h.message_id = 19;
  if (response) h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
  EncodeHeader(h, w);
  return m;
}

TEST(SetInfoRequest, GoldenEndOfFile) {
  std::vector<uint8_t> info;
  ByteWriter iw(info);
  EncodeFileEndOfFileInformation(0x10000, iw);
  std::vector<uint8_t> m = Header64(SMB2_SET_INFO, false);
  ByteWriter w(m);
  SetInfoRequest req;
  req.file_info_class = FileEndOfFileInformation;
  req.file_id = {0x41, 0x42};
  req.buffer = info;
  ASSERT_TRUE(EncodeSetInfoRequest(req, w).ok());
  // [MS-SMB2] 2.2.39: Buffer at offset 0x60.
  std::vector<uint8_t> expected = {
      0x21, 0x00, 0x01, 0x14, 0x08, 0x00, 0x00, 0x00,  // StructureSize, InfoType, class, Length
      0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // BufferOffset, Reserved, AdditionalInfo
      0x41, 0, 0, 0, 0, 0, 0, 0, 0x42, 0, 0, 0, 0, 0, 0, 0,
      0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + kHeaderSize, m.end()), expected);
}

TEST(SetInfoRequest, RenameBufferFollowsTheFixedPart) {
  std::vector<uint8_t> info;
  ByteWriter iw(info);
  ASSERT_TRUE(EncodeFileRenameInformation("a/b", true, iw).ok());
  std::vector<uint8_t> m = Header64(SMB2_SET_INFO, false);
  ByteWriter w(m);
  SetInfoRequest req;
  req.file_info_class = FileRenameInformation;
  req.buffer = info;
  ASSERT_TRUE(EncodeSetInfoRequest(req, w).ok());
  EXPECT_EQ(m[kHeaderSize + 3], FileRenameInformation);
  EXPECT_EQ(LoadU32(&m[kHeaderSize + 4]), info.size());
  ASSERT_EQ(m.size(), 0x60 + info.size());
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + 0x60, m.end()), info);
}

TEST(SetInfoRequest, SecurityWithAdditionalInformation) {
  std::vector<uint8_t> sd(20, 0x01);
  std::vector<uint8_t> m = Header64(SMB2_SET_INFO, false);
  ByteWriter w(m);
  SetInfoRequest req;
  req.info_type = SMB2_0_INFO_SECURITY;
  req.additional_information = DACL_SECURITY_INFORMATION;
  req.buffer = sd;
  ASSERT_TRUE(EncodeSetInfoRequest(req, w).ok());
  EXPECT_EQ(m[kHeaderSize + 2], SMB2_0_INFO_SECURITY);
  EXPECT_EQ(LoadU32(&m[kHeaderSize + 12]), DACL_SECURITY_INFORMATION);
}

TEST(SetInfoRequest, EmptyBufferGetsAPaddingByte) {
  std::vector<uint8_t> m = Header64(SMB2_SET_INFO, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeSetInfoRequest(SetInfoRequest{}, w).ok());
  EXPECT_EQ(m.size(), kHeaderSize + 33u);
  EXPECT_EQ(LoadU32(&m[kHeaderSize + 4]), 0u);
  std::vector<uint8_t> none;
  ByteWriter nw(none);
  EXPECT_TRUE(EncodeSetInfoRequest(SetInfoRequest{}, nw).Is(Code::kInvalidArgument));
}

TEST(SetInfoResponse, DecodesAndTruncates) {
  std::vector<uint8_t> m = Header64(SMB2_SET_INFO, true);
  ByteWriter w(m);
  w.U16(2);
  EXPECT_TRUE(DecodeSetInfoResponse(m).ok());
  for (size_t n = 0; n < m.size(); ++n)
    EXPECT_TRUE(DecodeSetInfoResponse(ByteView(m).first(n)).Is(Code::kProtocol)) << n;
  StoreU16(&m[kHeaderSize], 4);
  EXPECT_TRUE(DecodeSetInfoResponse(m).Is(Code::kProtocol));
}

}  // namespace
}  // namespace smb3::smb2
