// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <vector>

#include "smb2/channel.h"
#include "smb2/header.h"
#include "smb2/read.h"
#include "smb2/write.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Header64(uint16_t command, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.credits = 1;
  h.message_id = 11;
  if (response) h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
  EncodeHeader(h, w);
  return m;
}

std::vector<uint8_t> Body(const std::vector<uint8_t>& m) {
  return std::vector<uint8_t>(m.begin() + kHeaderSize, m.end());
}

const FileId kFid{0x0000000000000011ULL, 0x0000000000000022ULL};

TEST(CreditCharge, FollowsThePayloadSize) {
  EXPECT_EQ(CreditChargeFor(0), 1);
  EXPECT_EQ(CreditChargeFor(1), 1);
  EXPECT_EQ(CreditChargeFor(65536), 1);
  EXPECT_EQ(CreditChargeFor(65537), 2);
  EXPECT_EQ(CreditChargeFor(1u << 20), 16);
  EXPECT_EQ(CreditChargeFor(8u << 20), 128);
  EXPECT_EQ(CreditChargeFor(0xFFFFFFFFu), 0xFFFF);
  static_assert(CreditChargeFor(131072) == 2);
}

TEST(ReadRequest, GoldenWithoutChannel) {
  std::vector<uint8_t> m = Header64(SMB2_READ, false);
  ByteWriter w(m);
  ReadRequest req;
  req.length = 0x10000;
  req.offset = 0x12345;
  req.file_id = kFid;
  ASSERT_TRUE(EncodeReadRequest(req, w).ok());
  // [MS-SMB2] 2.2.19, and 3.2.4.6: Padding 0x50, Buffer's first byte 0.
  std::vector<uint8_t> expected = {
      0x31, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00,  // StructureSize, Padding, Flags, Length
      0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,  // Offset
      0x11, 0, 0, 0, 0, 0, 0, 0, 0x22, 0, 0, 0, 0, 0, 0, 0,  // FileId
      0, 0, 0, 0, 0, 0, 0, 0,                          // MinimumCount, Channel
      0, 0, 0, 0, 0, 0, 0, 0,                          // RemainingBytes, ReadChannelInfo*
      0x00};
  EXPECT_EQ(Body(m), expected);
}

TEST(ReadRequest, GoldenRdmaChannel) {
  std::vector<uint8_t> m = Header64(SMB2_READ, false);
  ByteWriter w(m);
  const BufferDescriptorV1 d[] = {{0x1000, 0xABCD, 0x100000}};
  std::vector<uint8_t> info = EncodeBufferDescriptorsV1(d);
  ReadRequest req;
  req.flags = SMB2_READFLAG_READ_UNBUFFERED;
  req.length = 0x100000;
  req.file_id = kFid;
  req.minimum_count = 1;
  req.channel = SMB2_CHANNEL_RDMA_V1_INVALIDATE;
  req.remaining_bytes = 0x100000;
  req.channel_info = info;
  ASSERT_TRUE(EncodeReadRequest(req, w).ok());
  std::vector<uint8_t> expected = {
      0x31, 0x00, 0x50, 0x01, 0x00, 0x00, 0x10, 0x00,  // StructureSize, Padding, Flags, Length
      0, 0, 0, 0, 0, 0, 0, 0,                          // Offset
      0x11, 0, 0, 0, 0, 0, 0, 0, 0x22, 0, 0, 0, 0, 0, 0, 0,  // FileId
      0x01, 0, 0, 0, 0x02, 0, 0, 0,                    // MinimumCount, Channel
      0x00, 0x00, 0x10, 0x00, 0x70, 0x00, 0x10, 0x00,  // RemainingBytes, info offset 112, len 16
      0x00, 0x10, 0, 0, 0, 0, 0, 0, 0xCD, 0xAB, 0, 0, 0x00, 0x00, 0x10, 0x00};
  EXPECT_EQ(Body(m), expected);
}

TEST(ReadRequest, RejectsInconsistentChannel) {
  std::vector<uint8_t> one(16, 0);
  std::vector<uint8_t> m = Header64(SMB2_READ, false);
  ByteWriter w(m);
  ReadRequest req;
  req.channel_info = one;
  EXPECT_TRUE(EncodeReadRequest(req, w).Is(Code::kInvalidArgument));  // NONE with info
  req = ReadRequest{};
  req.channel = SMB2_CHANNEL_RDMA_V1;
  EXPECT_TRUE(EncodeReadRequest(req, w).Is(Code::kInvalidArgument));  // RDMA without info
  req.channel = 7;
  req.channel_info = one;
  EXPECT_TRUE(EncodeReadRequest(req, w).Is(Code::kInvalidArgument));  // unknown channel
  EXPECT_EQ(m.size(), kHeaderSize);  // nothing written on error
}

// A READ response as Samba sends it: DataOffset 0x50, data right after the fixed part.
std::vector<uint8_t> SampleReadResponse(uint8_t data_offset, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> m = Header64(SMB2_READ, true);
  ByteWriter w(m);
  w.U16(17);
  w.U8(data_offset);
  w.U8(0);
  w.U32(static_cast<uint32_t>(data.size()));
  w.U32(0);  // DataRemaining
  w.U32(0);  // Reserved2/Flags
  if (data_offset > m.size()) w.Zeros(data_offset - m.size());
  w.Bytes(data);
  return m;
}

TEST(ReadResponse, DecodesInlineData) {
  std::vector<uint8_t> data = {'h', 'e', 'l', 'l', 'o'};
  std::vector<uint8_t> m = SampleReadResponse(0x50, data);
  auto r = DecodeReadResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data_offset, 0x50);
  EXPECT_EQ(r->data_length, 5u);
  EXPECT_EQ(std::vector<uint8_t>(r->data.begin(), r->data.end()), data);
  EXPECT_EQ(r->data.data(), m.data() + 0x50);
}

TEST(ReadResponse, DecodesPaddedData) {
  std::vector<uint8_t> data(100, 0x5A);
  std::vector<uint8_t> m = SampleReadResponse(0x70, data);
  auto r = DecodeReadResponse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data.data(), m.data() + 0x70);
  EXPECT_EQ(r->data.size(), 100u);
}

TEST(ReadResponse, RdmaResponseHasNoInlineData) {
  // After an RDMA write of the data the server answers DataLength 0, DataRemaining = bytes sent.
  std::vector<uint8_t> m = Header64(SMB2_READ, true);
  ByteWriter w(m);
  w.U16(17);
  w.U8(0);  // DataOffset 0 is legal with no data
  w.U8(0);
  w.U32(0);
  w.U32(0x100000);
  w.U32(0);
  w.U8(0);
  auto r = DecodeReadResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data_length, 0u);
  EXPECT_EQ(r->data_remaining, 0x100000u);
  EXPECT_TRUE(r->data.empty());
}

TEST(ReadResponse, EveryTruncationFails) {
  std::vector<uint8_t> m = SampleReadResponse(0x50, std::vector<uint8_t>(33, 1));
  for (size_t n = 0; n < m.size(); ++n)
    EXPECT_TRUE(DecodeReadResponse(ByteView(m).first(n)).status().Is(Code::kProtocol)) << n;
}

TEST(ReadResponse, RejectsHostileOffsets) {
  std::vector<uint8_t> m = SampleReadResponse(0x50, std::vector<uint8_t>(16, 1));
  auto with = [&](uint8_t off, uint32_t len) {
    std::vector<uint8_t> c = m;
    c[kHeaderSize + 2] = off;
    StoreU32(&c[kHeaderSize + 4], len);
    return DecodeReadResponse(c).status();
  };
  EXPECT_TRUE(with(0x50, 16).ok());
  EXPECT_TRUE(with(0x00, 16).Is(Code::kProtocol));   // data in the header
  EXPECT_TRUE(with(0x4F, 16).Is(Code::kProtocol));   // data overlaps the fixed part
  EXPECT_TRUE(with(0x50, 17).Is(Code::kProtocol));   // past the end
  EXPECT_TRUE(with(0x51, 16).Is(Code::kProtocol));
  EXPECT_TRUE(with(0xFF, 1).Is(Code::kProtocol));
  EXPECT_TRUE(with(0x50, 0xFFFFFFFFu).Is(Code::kProtocol));
  EXPECT_TRUE(with(0xFF, 0).ok());  // no data: the offset does not matter
}

TEST(ReadResponse, FixedPartForDirectPlacement) {
  std::vector<uint8_t> data(4000, 7);
  std::vector<uint8_t> m = SampleReadResponse(0x50, data);
  auto r = DecodeReadResponseFixed(ByteView(m).first(kReadResponseFixed), m.size());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data_offset, 0x50);
  EXPECT_EQ(r->data_length, 4000u);
  EXPECT_TRUE(r->data.empty());
  // The announced data must fit in the message.
  EXPECT_TRUE(DecodeReadResponseFixed(ByteView(m).first(kReadResponseFixed), m.size() - 1)
                  .status()
                  .Is(Code::kProtocol));
  // The prefix cannot be longer than the message.
  EXPECT_TRUE(DecodeReadResponseFixed(m, kReadResponseFixed).status().Is(Code::kProtocol));
  for (size_t n = 0; n < kReadResponseFixed; ++n)
    EXPECT_FALSE(DecodeReadResponseFixed(ByteView(m).first(n), m.size()).ok()) << n;
}

TEST(WriteRequest, GoldenInlineWithoutData) {
  std::vector<uint8_t> m = Header64(SMB2_WRITE, false);
  ByteWriter w(m);
  WriteRequest req;
  req.length = 3;
  req.offset = 0x200;
  req.file_id = kFid;
  req.flags = SMB2_WRITEFLAG_WRITE_THROUGH;
  ASSERT_TRUE(EncodeWriteRequest(req, w).ok());
  // [MS-SMB2] 2.2.21: DataOffset 0x70; the 3 data bytes are the caller's to append.
  std::vector<uint8_t> expected = {
      0x31, 0x00, 0x70, 0x00, 0x03, 0x00, 0x00, 0x00,  // StructureSize, DataOffset, Length
      0x00, 0x02, 0, 0, 0, 0, 0, 0,                    // Offset
      0x11, 0, 0, 0, 0, 0, 0, 0, 0x22, 0, 0, 0, 0, 0, 0, 0,  // FileId
      0, 0, 0, 0, 0, 0, 0, 0,                          // Channel, RemainingBytes
      0, 0, 0, 0, 0x01, 0, 0, 0};                      // WriteChannelInfo*, Flags
  EXPECT_EQ(Body(m), expected);
  EXPECT_EQ(m.size(), kWriteRequestDataOffset);
}

TEST(WriteRequest, WithDataPutsItAtDataOffset) {
  std::vector<uint8_t> m = Header64(SMB2_WRITE, false);
  ByteWriter w(m);
  std::vector<uint8_t> data = {9, 8, 7, 6};
  WriteRequest req;
  req.file_id = kFid;
  ASSERT_TRUE(EncodeWriteRequestWithData(req, data, w).ok());
  ASSERT_EQ(m.size(), kWriteRequestDataOffset + 4u);
  EXPECT_EQ(LoadU16(&m[kHeaderSize + 2]), kWriteRequestDataOffset);
  EXPECT_EQ(LoadU32(&m[kHeaderSize + 4]), 4u);
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + kWriteRequestDataOffset, m.end()), data);
}

TEST(WriteRequest, ZeroLengthKeepsBufferNonEmpty) {
  std::vector<uint8_t> m = Header64(SMB2_WRITE, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeWriteRequest(WriteRequest{}, w).ok());
  EXPECT_EQ(m.size(), kHeaderSize + 49u);
  EXPECT_EQ(LoadU32(&m[kHeaderSize + 4]), 0u);
}

TEST(WriteRequest, GoldenRdmaChannel) {
  std::vector<uint8_t> m = Header64(SMB2_WRITE, false);
  ByteWriter w(m);
  const BufferDescriptorV1 d[] = {{0x2000, 0x77, 0x80000}};
  std::vector<uint8_t> info = EncodeBufferDescriptorsV1(d);
  WriteRequest req;
  req.offset = 0x80000;
  req.file_id = kFid;
  req.channel = SMB2_CHANNEL_RDMA_V1;
  req.remaining_bytes = 0x80000;
  req.channel_info = info;
  ASSERT_TRUE(EncodeWriteRequest(req, w).ok());
  // 3.2.4.7: Length and DataOffset 0, RemainingBytes = size, descriptors at 0x70.
  std::vector<uint8_t> expected = {
      0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // StructureSize, DataOffset, Length
      0x00, 0x00, 0x08, 0, 0, 0, 0, 0,                 // Offset
      0x11, 0, 0, 0, 0, 0, 0, 0, 0x22, 0, 0, 0, 0, 0, 0, 0,  // FileId
      0x01, 0, 0, 0, 0x00, 0x00, 0x08, 0x00,           // Channel, RemainingBytes
      0x70, 0x00, 0x10, 0x00, 0, 0, 0, 0,              // WriteChannelInfoOffset/Length, Flags
      0x00, 0x20, 0, 0, 0, 0, 0, 0, 0x77, 0, 0, 0, 0x00, 0x00, 0x08, 0x00};
  EXPECT_EQ(Body(m), expected);
}

TEST(WriteRequest, RejectsInlineDataWithRdma) {
  std::vector<uint8_t> one(16, 0);
  std::vector<uint8_t> m = Header64(SMB2_WRITE, false);
  ByteWriter w(m);
  WriteRequest req;
  req.channel = SMB2_CHANNEL_RDMA_V1;
  req.channel_info = one;
  req.remaining_bytes = 10;
  req.length = 10;
  EXPECT_TRUE(EncodeWriteRequest(req, w).Is(Code::kInvalidArgument));
  req.length = 0;
  std::vector<uint8_t> data(10, 0);
  EXPECT_TRUE(EncodeWriteRequestWithData(req, data, w).Is(Code::kInvalidArgument));
  WriteRequest none;
  none.remaining_bytes = 1;
  EXPECT_TRUE(EncodeWriteRequest(none, w).Is(Code::kInvalidArgument));
  EXPECT_EQ(m.size(), kHeaderSize);
}

std::vector<uint8_t> SampleWriteResponse() {
  std::vector<uint8_t> m = Header64(SMB2_WRITE, true);
  ByteWriter w(m);
  w.U16(17);
  w.U16(0);
  w.U32(65536);
  w.U32(0);
  w.U16(0);
  w.U16(0);
  return m;
}

TEST(WriteResponse, DecodesCount) {
  std::vector<uint8_t> m = SampleWriteResponse();
  auto r = DecodeWriteResponse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->count, 65536u);
  m.push_back(0);  // a trailing padding byte is tolerated
  EXPECT_TRUE(DecodeWriteResponse(m).ok());
}

TEST(WriteResponse, EveryTruncationFails) {
  std::vector<uint8_t> m = SampleWriteResponse();
  for (size_t n = 0; n < m.size(); ++n)
    EXPECT_TRUE(DecodeWriteResponse(ByteView(m).first(n)).status().Is(Code::kProtocol)) << n;
  StoreU16(&m[kHeaderSize], 16);
  EXPECT_TRUE(DecodeWriteResponse(m).status().Is(Code::kProtocol));
}

}  // namespace
}  // namespace smb3::smb2
