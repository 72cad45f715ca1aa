// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <vector>

#include "smb2/close.h"
#include "smb2/flush.h"
#include "smb2/header.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Header64(uint16_t command, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.credits = 1;
  h.message_id = 9;
  if (response) h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
  EncodeHeader(h, w);
  return m;
}

std::vector<uint8_t> Body(const std::vector<uint8_t>& m) {
  return std::vector<uint8_t>(m.begin() + kHeaderSize, m.end());
}

std::vector<uint8_t> SampleCloseResponse(uint16_t flags) {
  std::vector<uint8_t> m = Header64(SMB2_CLOSE, true);
  ByteWriter w(m);
  w.U16(60);
  w.U16(flags);
  w.U32(0);
  w.U64(0x01D9000000000001ULL);
  w.U64(0x01D9000000000002ULL);
  w.U64(0x01D9000000000003ULL);
  w.U64(0x01D9000000000004ULL);
  w.U64(8192);
  w.U64(5000);
  w.U32(kFileAttributeArchive | kFileAttributeHidden);
  return m;
}

TEST(CloseRequest, Golden) {
  std::vector<uint8_t> m = Header64(SMB2_CLOSE, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeCloseRequest(
                  {SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, {0x0102030405060708ULL, 0x1112131415161718ULL}},
                  w)
                  .ok());
  // [MS-SMB2] 2.2.15: StructureSize 24, Flags, Reserved, FileId.
  std::vector<uint8_t> expected = {0x18, 0x00, 0x01, 0x00, 0, 0, 0, 0,
                                   0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                                   0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11};
  EXPECT_EQ(Body(m), expected);
}

TEST(CloseRequest, NeedsHeader) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  EXPECT_TRUE(EncodeCloseRequest({}, w).Is(Code::kInvalidArgument));
}

TEST(CloseResponse, DecodesPostQueryAttributes) {
  std::vector<uint8_t> m = SampleCloseResponse(SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
  auto r = DecodeCloseResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_attributes());
  EXPECT_EQ(r->creation_time, 0x01D9000000000001ULL);
  EXPECT_EQ(r->last_access_time, 0x01D9000000000002ULL);
  EXPECT_EQ(r->last_write_time, 0x01D9000000000003ULL);
  EXPECT_EQ(r->change_time, 0x01D9000000000004ULL);
  EXPECT_EQ(r->allocation_size, 8192u);
  EXPECT_EQ(r->end_of_file, 5000u);
  FileInfo info = r->ToFileInfo();
  EXPECT_EQ(info.end_of_file, 5000u);
  EXPECT_EQ(info.attributes, kFileAttributeArchive | kFileAttributeHidden);
  EXPECT_EQ(info.file_id, 0u);
}

TEST(CloseResponse, WithoutPostQueryFlag) {
  std::vector<uint8_t> m = SampleCloseResponse(0);
  auto r = DecodeCloseResponse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_attributes());
}

TEST(CloseResponse, EveryTruncationFails) {
  std::vector<uint8_t> m = SampleCloseResponse(1);
  for (size_t n = 0; n < m.size(); ++n)
    EXPECT_TRUE(DecodeCloseResponse(ByteView(m).first(n)).status().Is(Code::kProtocol)) << n;
}

TEST(CloseResponse, RejectsWrongStructureSize) {
  std::vector<uint8_t> m = SampleCloseResponse(1);
  StoreU16(&m[kHeaderSize], 61);
  EXPECT_TRUE(DecodeCloseResponse(m).status().Is(Code::kProtocol));
  StoreU16(&m[kHeaderSize], 9);  // an error response body is not a CLOSE response
  EXPECT_TRUE(DecodeCloseResponse(m).status().Is(Code::kProtocol));
}

TEST(FlushRequest, Golden) {
  std::vector<uint8_t> m = Header64(SMB2_FLUSH, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeFlushRequest({{0xA1, 0xB2}}, w).ok());
  // [MS-SMB2] 2.2.17: StructureSize 24, Reserved1, Reserved2, FileId.
  std::vector<uint8_t> expected = {0x18, 0, 0, 0, 0, 0, 0, 0, 0xA1, 0, 0, 0, 0, 0, 0, 0,
                                   0xB2, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(Body(m), expected);
}

TEST(FlushResponse, DecodesAndTruncates) {
  std::vector<uint8_t> m = Header64(SMB2_FLUSH, true);
  ByteWriter w(m);
  w.U16(4);
  w.U16(0);
  EXPECT_TRUE(DecodeFlushResponse(m).ok());
  for (size_t n = 0; n < m.size(); ++n)
    EXPECT_TRUE(DecodeFlushResponse(ByteView(m).first(n)).Is(Code::kProtocol)) << n;
  StoreU16(&m[kHeaderSize], 2);
  EXPECT_TRUE(DecodeFlushResponse(m).Is(Code::kProtocol));
}

}  // namespace
}  // namespace smb3::smb2
