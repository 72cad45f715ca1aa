// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/channel.h"

#include <gtest/gtest.h>

#include <vector>

namespace smb3::smb2 {
namespace {

TEST(BufferDescriptorV1, GoldenEncoding) {
  const BufferDescriptorV1 d[] = {{0x00007F0012345000ULL, 0xDEADBEEF, 0x00100000},
                                  {0x10, 0x01, 0x02}};
  std::vector<uint8_t> out = EncodeBufferDescriptorsV1(d);
  // [MS-SMBD] 2.2.3.1: Offset (8), Token (4), Length (4), little-endian.
  std::vector<uint8_t> expected = {0x00, 0x50, 0x34, 0x12, 0x00, 0x7F, 0x00, 0x00,
                                   0xEF, 0xBE, 0xAD, 0xDE, 0x00, 0x00, 0x10, 0x00,
                                   0x10, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x02, 0, 0, 0};
  EXPECT_EQ(out, expected);
  auto back = DecodeBufferDescriptorsV1(out);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], d[0]);
  EXPECT_EQ((*back)[1], d[1]);
}

TEST(BufferDescriptorV1, AppendWritesAfterExistingBytes) {
  std::vector<uint8_t> out = {0xAA};
  ByteWriter w(out);
  const BufferDescriptorV1 d[] = {{1, 2, 3}};
  AppendBufferDescriptorsV1(d, w);
  ASSERT_EQ(out.size(), 17u);
  EXPECT_EQ(out[0], 0xAA);
  EXPECT_EQ(LoadU64(&out[1]), 1u);
}

TEST(BufferDescriptorV1, RejectsBadLengths) {
  std::vector<uint8_t> buf(48, 0);
  EXPECT_TRUE(DecodeBufferDescriptorsV1({}).status().Is(Code::kProtocol));
  for (size_t n = 1; n < buf.size(); ++n) {
    auto r = DecodeBufferDescriptorsV1(ByteView(buf).first(n));
    EXPECT_EQ(r.ok(), n % 16 == 0) << n;
  }
  std::vector<uint8_t> too_many((kMaxBufferDescriptors + 1) * 16, 0);
  EXPECT_TRUE(DecodeBufferDescriptorsV1(too_many).status().Is(Code::kProtocol));
  std::vector<uint8_t> max(kMaxBufferDescriptors * 16, 0);
  EXPECT_TRUE(DecodeBufferDescriptorsV1(max).ok());
}

TEST(ChannelInfo, ChecksChannelAgainstInfo) {
  std::vector<uint8_t> one(16, 0);
  std::vector<uint8_t> odd(17, 0);
  EXPECT_TRUE(CheckChannelInfo(SMB2_CHANNEL_NONE, 0, {}, "t").ok());
  EXPECT_FALSE(CheckChannelInfo(SMB2_CHANNEL_NONE, 0, one, "t").ok());
  EXPECT_FALSE(CheckChannelInfo(SMB2_CHANNEL_NONE, 5, {}, "t").ok());
  EXPECT_TRUE(CheckChannelInfo(SMB2_CHANNEL_RDMA_V1, 4096, one, "t").ok());
  EXPECT_TRUE(CheckChannelInfo(SMB2_CHANNEL_RDMA_V1_INVALIDATE, 4096, one, "t").ok());
  EXPECT_FALSE(CheckChannelInfo(SMB2_CHANNEL_RDMA_V1, 4096, {}, "t").ok());
  EXPECT_FALSE(CheckChannelInfo(SMB2_CHANNEL_RDMA_V1, 4096, odd, "t").ok());
  EXPECT_TRUE(CheckChannelInfo(SMB2_CHANNEL_RDMA_TRANSFORM, 4096, odd, "t").ok());
  EXPECT_FALSE(CheckChannelInfo(SMB2_CHANNEL_RDMA_TRANSFORM, 4096, {}, "t").ok());
  EXPECT_FALSE(CheckChannelInfo(4, 0, one, "t").ok());
  std::vector<uint8_t> huge(0x10000, 0);
  EXPECT_TRUE(CheckChannelInfo(SMB2_CHANNEL_RDMA_V1, 1, huge, "t").Is(Code::kInvalidArgument));
  EXPECT_TRUE(ChannelUsesDescriptors(SMB2_CHANNEL_RDMA_V1));
  EXPECT_TRUE(ChannelUsesDescriptors(SMB2_CHANNEL_RDMA_V1_INVALIDATE));
  EXPECT_FALSE(ChannelUsesDescriptors(SMB2_CHANNEL_NONE));
  EXPECT_FALSE(ChannelUsesDescriptors(SMB2_CHANNEL_RDMA_TRANSFORM));
}

}  // namespace
}  // namespace smb3::smb2
