// SPDX-License-Identifier: LGPL-2.1-or-later
#include "base/byte_io.h"

#include <gtest/gtest.h>

namespace smb3 {
namespace {

TEST(ByteReader, ReadsLittleEndianAndLatchesFailure) {
  const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  ByteReader r(data);
  EXPECT_EQ(r.U16(), 0x0201);
  EXPECT_EQ(r.U32(), 0x06050403u);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U16(), 0);  // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U8(), 0);   // latched: even a fitting read now fails
  EXPECT_FALSE(r.ok());
}

TEST(ByteReader, SeekPastEndFails) {
  const uint8_t data[4] = {};
  ByteReader r(data);
  r.Seek(4);
  EXPECT_TRUE(r.ok());
  r.Seek(5);
  EXPECT_FALSE(r.ok());
}

TEST(Slice, RejectsOverflowingRanges) {
  const uint8_t data[8] = {};
  EXPECT_TRUE(Slice(data, 0, 8).has_value());
  EXPECT_TRUE(Slice(data, 8, 0).has_value());
  EXPECT_FALSE(Slice(data, 9, 0).has_value());
  EXPECT_FALSE(Slice(data, 4, 5).has_value());
  EXPECT_FALSE(Slice(data, SIZE_MAX, 2).has_value());
  EXPECT_FALSE(Slice(data, 2, SIZE_MAX).has_value());
}

TEST(ByteWriter, WritesAndPatches) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.U16(0xBEEF);
  w.U32(0);
  w.U64(0x0102030405060708ULL);
  w.PatchU32(2, 0xAABBCCDD);
  w.Align(8);
  ASSERT_EQ(out.size(), 16u);
  EXPECT_EQ(out[0], 0xEF);
  EXPECT_EQ(LoadU32(&out[2]), 0xAABBCCDDu);
  EXPECT_EQ(LoadU64(&out[6]), 0x0102030405060708ULL);
  w.U32BE(0x01020304);
  EXPECT_EQ(out[16], 0x01);
  EXPECT_EQ(out[19], 0x04);
}

}  // namespace
}  // namespace smb3
