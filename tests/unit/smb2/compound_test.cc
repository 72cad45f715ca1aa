// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/compound.h"

#include <gtest/gtest.h>

namespace smb3::smb2 {
namespace {

// A message of `body_size` bytes after the header, with the given NextCommand.
std::vector<uint8_t> Message(uint16_t command, size_t body_size, uint32_t next_command,
                             uint32_t flags = SMB2_FLAGS_SERVER_TO_REDIR) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.flags = flags;
  h.next_command = next_command;
  EncodeHeader(h, w);
  for (size_t i = 0; i < body_size; ++i) w.U8(static_cast<uint8_t>(i + 1));
  return m;
}

// CREATE + READ + CLOSE responses as one receive: 64+89 padded to 160, 64+17 padded to 88, 64+60.
std::vector<uint8_t> SampleCompound() {
  std::vector<uint8_t> out = Message(SMB2_CREATE, 89, 160);
  out.resize(160, 0);
  std::vector<uint8_t> read = Message(SMB2_READ, 17, 88);
  read.resize(88, 0);
  std::vector<uint8_t> close = Message(SMB2_CLOSE, 60, 0);
  out.insert(out.end(), read.begin(), read.end());
  out.insert(out.end(), close.begin(), close.end());
  return out;
}

TEST(SplitCompound, SingleMessage) {
  std::vector<uint8_t> m = Message(SMB2_ECHO, 4, 0);
  auto r = SplitCompound(m);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].data(), m.data());
  EXPECT_EQ((*r)[0].size(), m.size());
}

TEST(SplitCompound, SplitsChain) {
  std::vector<uint8_t> m = SampleCompound();
  auto r = SplitCompound(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].data(), m.data());
  EXPECT_EQ((*r)[0].size(), 160u);
  EXPECT_EQ((*r)[1].data(), m.data() + 160);
  EXPECT_EQ((*r)[1].size(), 88u);
  EXPECT_EQ((*r)[2].data(), m.data() + 248);
  EXPECT_EQ((*r)[2].size(), 124u);
  EXPECT_EQ(LoadU16(&(*r)[1][kOffsetCommand]), SMB2_READ);
  EXPECT_EQ(LoadU16(&(*r)[2][kOffsetCommand]), SMB2_CLOSE);
}

TEST(SplitCompound, TruncationTable) {
  std::vector<uint8_t> m = SampleCompound();
  // Every cut inside a header fails; cuts inside the last body yield a shorter last element.
  for (size_t n = 0; n < m.size(); ++n) {
    std::vector<uint8_t> prefix(m.begin(), m.begin() + static_cast<ptrdiff_t>(n));
    auto r = SplitCompound(prefix);
    const bool last_header_complete = n >= 248 + kHeaderSize;
    EXPECT_EQ(r.ok(), last_header_complete) << n;
    if (r.ok()) {
      EXPECT_EQ(r->size(), 3u);
      EXPECT_EQ((*r)[2].size(), n - 248);
    }
  }
}

TEST(SplitCompound, RejectsHostileNextCommand) {
  struct Case {
    const char* name;
    size_t at;
    uint32_t value;
  } cases[] = {
      {"misaligned", kOffsetNextCommand, 164},
      {"inside header", kOffsetNextCommand, 8},
      {"beyond message", kOffsetNextCommand, 0x10000},
      {"max", kOffsetNextCommand, 0xFFFFFFF8},
      {"no room for next header", 160 + kOffsetNextCommand, 88 + 64},
      {"bad ProtocolId of second", 160, 0x424D53FD},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> m = SampleCompound();
    StoreU32(&m[c.at], c.value);
    auto r = SplitCompound(m);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << c.name;
  }
}

TEST(SplitCompound, CapsElementCount) {
  std::vector<uint8_t> m;
  for (size_t i = 0; i < kMaxCompoundElements; ++i) {
    std::vector<uint8_t> e = Message(SMB2_ECHO, 4, i + 1 == kMaxCompoundElements ? 0 : 72);
    e.resize(72, 0);
    m.insert(m.end(), e.begin(), e.end());
  }
  auto r = SplitCompound(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), kMaxCompoundElements);
  StoreU32(&m[m.size() - 72 + kOffsetNextCommand], 72);
  std::vector<uint8_t> extra = Message(SMB2_ECHO, 4, 0);
  m.insert(m.end(), extra.begin(), extra.end());
  EXPECT_TRUE(SplitCompound(m).status().Is(Code::kProtocol));
}

TEST(LinkCompound, RelatedChainRoundTrips) {
  std::vector<std::vector<uint8_t>> msgs = {
      Message(SMB2_CREATE, 57 + 20, 0, 0),
      Message(SMB2_QUERY_INFO, 41, 0, SMB2_FLAGS_SIGNED),
      Message(SMB2_CLOSE, 24, 0, 0),
  };
  ASSERT_TRUE(LinkCompound(msgs, true).ok());
  EXPECT_EQ(msgs[0].size(), 144u);  // 141 padded to 8
  EXPECT_EQ(msgs[1].size(), 112u);  // 105 padded
  EXPECT_EQ(msgs[2].size(), 88u);   // the last is not padded
  EXPECT_EQ(msgs[0][141], 0);
  EXPECT_EQ(LoadU32(&msgs[0][kOffsetNextCommand]), 144u);
  EXPECT_EQ(LoadU32(&msgs[1][kOffsetNextCommand]), 112u);
  EXPECT_EQ(LoadU32(&msgs[2][kOffsetNextCommand]), 0u);
  EXPECT_EQ(LoadU32(&msgs[0][kOffsetFlags]), 0u);
  EXPECT_EQ(LoadU32(&msgs[1][kOffsetFlags]), SMB2_FLAGS_SIGNED | SMB2_FLAGS_RELATED_OPERATIONS);
  EXPECT_EQ(LoadU32(&msgs[2][kOffsetFlags]), SMB2_FLAGS_RELATED_OPERATIONS);

  std::vector<uint8_t> joined = JoinCompound(msgs);
  ASSERT_EQ(joined.size(), 144u + 112u + 88u);
  auto parts = SplitCompound(joined);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(std::vector<uint8_t>((*parts)[i].begin(), (*parts)[i].end()), msgs[i]) << i;
  }
}

TEST(LinkCompound, UnrelatedClearsRelatedFlag) {
  std::vector<std::vector<uint8_t>> msgs = {
      Message(SMB2_READ, 49, 0, SMB2_FLAGS_RELATED_OPERATIONS),
      Message(SMB2_READ, 49, 0, SMB2_FLAGS_RELATED_OPERATIONS),
  };
  ASSERT_TRUE(LinkCompound(msgs, false).ok());
  EXPECT_EQ(LoadU32(&msgs[0][kOffsetFlags]), 0u);
  EXPECT_EQ(LoadU32(&msgs[1][kOffsetFlags]), 0u);
  EXPECT_EQ(LoadU32(&msgs[0][kOffsetNextCommand]), 120u);
}

TEST(LinkCompound, RejectsBadInput) {
  std::vector<std::vector<uint8_t>> none;
  EXPECT_TRUE(LinkCompound(none, true).Is(Code::kInvalidArgument));
  std::vector<std::vector<uint8_t>> short_one = {Message(SMB2_ECHO, 4, 0),
                                                 std::vector<uint8_t>(10)};
  EXPECT_TRUE(LinkCompound(short_one, true).Is(Code::kInvalidArgument));
  std::vector<std::vector<uint8_t>> many(kMaxCompoundElements + 1, Message(SMB2_ECHO, 4, 0));
  EXPECT_TRUE(LinkCompound(many, true).Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace smb3::smb2
