// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/query_info.h"

#include <gtest/gtest.h>

#include <vector>

#include "smb2/file_info.h"
#include "smb2/header.h"

namespace smb3::smb2 {
namespace {

constexpr uint32_t kStatusBufferOverflow = 0x80000005;

std::vector<uint8_t> Header64(uint16_t command, bool response, uint32_t status = 0) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.credits = 1;
  h.message_id = 17;
  h.status = status;
  if (response) h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
  EncodeHeader(h, w);
  return m;
}

TEST(QueryInfoRequest, GoldenFileAllInformation) {
  std::vector<uint8_t> m = Header64(SMB2_QUERY_INFO, false);
  ByteWriter w(m);
  QueryInfoRequest req;
  req.info_type = SMB2_0_INFO_FILE;
  req.file_info_class = FileAllInformation;
  req.output_buffer_length = 0x1000;
  req.file_id = {0x31, 0x32};
  ASSERT_TRUE(EncodeQueryInfoRequest(req, w).ok());
  // [MS-SMB2] 2.2.37: no input buffer, InputBufferOffset 0, then one padding byte.
  std::vector<uint8_t> expected = {
      0x29, 0x00, 0x01, 0x12, 0x00, 0x10, 0x00, 0x00,  // StructureSize, InfoType, class, OBL
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // InputBufferOffset, Reserved, IBL
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // AdditionalInformation, Flags
      0x31, 0, 0, 0, 0, 0, 0, 0, 0x32, 0, 0, 0, 0, 0, 0, 0,
      0x00};
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + kHeaderSize, m.end()), expected);
}

TEST(QueryInfoRequest, SecurityAndInputBuffer) {
  std::vector<uint8_t> m = Header64(SMB2_QUERY_INFO, false);
  ByteWriter w(m);
  std::vector<uint8_t> input = {1, 2, 3, 4, 5};
  QueryInfoRequest req;
  req.info_type = SMB2_0_INFO_SECURITY;
  req.additional_information =
      OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
  req.flags = SL_RESTART_SCAN;
  req.output_buffer_length = 65536;
  req.input_buffer = input;
  ASSERT_TRUE(EncodeQueryInfoRequest(req, w).ok());
  const uint8_t* b = &m[kHeaderSize];
  EXPECT_EQ(b[2], SMB2_0_INFO_SECURITY);
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(LoadU16(b + 8), 0x68);  // InputBufferOffset: right after the fixed part
  EXPECT_EQ(LoadU32(b + 12), 5u);
  EXPECT_EQ(LoadU32(b + 16), 7u);
  EXPECT_EQ(LoadU32(b + 20), SL_RESTART_SCAN);
  ASSERT_EQ(m.size(), 0x68u + 5);
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + 0x68, m.end()), input);
}

std::vector<uint8_t> SampleResponse(const std::vector<uint8_t>& output, uint32_t status = 0) {
  std::vector<uint8_t> m = Header64(SMB2_QUERY_INFO, true, status);
  ByteWriter w(m);
  w.U16(9);
  w.U16(0x48);
  w.U32(static_cast<uint32_t>(output.size()));
  w.Bytes(output);
  return m;
}

std::vector<uint8_t> FsFullSize() {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  w.U64(100);
  w.U64(50);
  w.U64(60);
  w.U32(8);
  w.U32(512);
  return b;
}

TEST(QueryInfoResponse, DecodesOutputBuffer) {
  std::vector<uint8_t> m = SampleResponse(FsFullSize());
  auto r = DecodeQueryInfoResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->output_buffer.size(), 32u);
  EXPECT_EQ(r->output_buffer.data(), m.data() + 0x48);
  auto fs = DecodeFileFsFullSizeInformation(r->output_buffer);
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ(fs->caller_available_units, 50u);
}

TEST(QueryInfoResponse, BufferOverflowCarriesTruncatedFileAllInformation) {
  // Windows answers STATUS_BUFFER_OVERFLOW with as much FILE_ALL_INFORMATION as fits.
  std::vector<uint8_t> all(kFileAllInformationFixedSize + 4 + 6, 0);
  StoreU32(&all[32], kFileAttributeDirectory);
  StoreU64(&all[48], 777);                       // EndOfFile
  StoreU32(&all[56], 1);                         // NumberOfLinks
  StoreU64(&all[64], 0xFEED);                    // IndexNumber
  StoreU32(&all[kFileAllInformationFixedSize], 200);  // FileNameLength beyond what is present
  std::vector<uint8_t> m = SampleResponse(all, kStatusBufferOverflow);
  auto r = DecodeQueryInfoResponse(m);
  ASSERT_TRUE(r.ok());
  auto info = DecodeFileAllInformation(r->output_buffer);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->is_directory());
  EXPECT_EQ(info->end_of_file, 777u);
  EXPECT_EQ(info->file_id, 0xFEEDu);
}

TEST(QueryInfoResponse, EveryTruncationFails) {
  std::vector<uint8_t> m = SampleResponse(FsFullSize());
  for (size_t n = 0; n < m.size(); ++n)
    EXPECT_TRUE(DecodeQueryInfoResponse(ByteView(m).first(n)).status().Is(Code::kProtocol)) << n;
}

TEST(QueryInfoResponse, RejectsHostileOffsets) {
  std::vector<uint8_t> m = SampleResponse(FsFullSize());
  auto with = [&](uint16_t off, uint32_t len) {
    std::vector<uint8_t> c = m;
    StoreU16(&c[kHeaderSize + 2], off);
    StoreU32(&c[kHeaderSize + 4], len);
    return DecodeQueryInfoResponse(c).status();
  };
  EXPECT_TRUE(with(0x48, 32).ok());
  EXPECT_TRUE(with(0x48, 33).Is(Code::kProtocol));
  EXPECT_TRUE(with(0x47, 1).Is(Code::kProtocol));
  EXPECT_TRUE(with(0x10, 4).Is(Code::kProtocol));
  EXPECT_TRUE(with(0xFFFF, 0xFFFFFFFFu).Is(Code::kProtocol));
  EXPECT_TRUE(with(0, 0).ok());
  StoreU16(&m[kHeaderSize], 17);
  EXPECT_TRUE(DecodeQueryInfoResponse(m).status().Is(Code::kProtocol));
}

}  // namespace
}  // namespace smb3::smb2
