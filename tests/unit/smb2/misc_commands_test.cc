// SPDX-License-Identifier: LGPL-2.1-or-later
// LOGOFF, ECHO, CANCEL and OPLOCK_BREAK.
#include <gtest/gtest.h>

#include "smb2/cancel.h"
#include "smb2/echo.h"
#include "smb2/logoff.h"
#include "smb2/oplock_break.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> WithHeader(uint16_t command, bool response, uint64_t message_id = 7) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.message_id = message_id;
  h.flags = response ? SMB2_FLAGS_SERVER_TO_REDIR : 0;
  EncodeHeader(h, w);
  return m;
}

std::vector<uint8_t> Body(const std::vector<uint8_t>& m) {
  return std::vector<uint8_t>(m.begin() + kHeaderSize, m.end());
}

template <class Decode>
void ExpectEveryPrefixFails(const std::vector<uint8_t>& message, Decode decode) {
  for (size_t n = 0; n < message.size(); ++n) {
    std::vector<uint8_t> prefix(message.begin(), message.begin() + static_cast<ptrdiff_t>(n));
    ASSERT_FALSE(decode(ByteView(prefix)).ok()) << "prefix of " << n << " bytes accepted";
  }
}

TEST(SimpleRequests, FourByteBodies) {
  const std::vector<uint8_t> expected = {4, 0, 0, 0};
  std::vector<uint8_t> m = WithHeader(SMB2_LOGOFF, false);
  ByteWriter w1(m);
  ASSERT_TRUE(EncodeLogoffRequest(w1).ok());
  EXPECT_EQ(Body(m), expected);
  m = WithHeader(SMB2_ECHO, false);
  ByteWriter w2(m);
  ASSERT_TRUE(EncodeEchoRequest(w2).ok());
  EXPECT_EQ(Body(m), expected);
  m = WithHeader(SMB2_CANCEL, false);
  ByteWriter w3(m);
  ASSERT_TRUE(EncodeCancelRequest(w3).ok());
  EXPECT_EQ(Body(m), expected);
}

TEST(SimpleResponses, DecodeAndTruncation) {
  struct Case {
    uint16_t command;
    Status (*decode)(ByteView);
  } cases[] = {{SMB2_LOGOFF, DecodeLogoffResponse}, {SMB2_ECHO, DecodeEchoResponse}};
  for (const Case& c : cases) {
    std::vector<uint8_t> m = WithHeader(c.command, true);
    m.insert(m.end(), {4, 0, 0xAA, 0xBB});  // Reserved is ignored
    EXPECT_TRUE(c.decode(m).ok()) << c.command;
    ExpectEveryPrefixFails(m, c.decode);
    m[kHeaderSize] = 9;  // an error body is not a LOGOFF/ECHO response
    EXPECT_TRUE(c.decode(m).Is(Code::kProtocol)) << c.command;
  }
}

std::vector<uint8_t> OplockNotification() {
  std::vector<uint8_t> m = WithHeader(SMB2_OPLOCK_BREAK, true, kUnsolicitedMessageId);
  ByteWriter w(m);
  w.U16(24);
  w.U8(0x01);  // SMB2_OPLOCK_LEVEL_II
  w.U8(0);
  w.U32(0);
  w.U64(0x1111222233334444ULL);
  w.U64(0x5555666677778888ULL);
  return m;
}

std::vector<uint8_t> LeaseNotification() {
  std::vector<uint8_t> m = WithHeader(SMB2_OPLOCK_BREAK, true, kUnsolicitedMessageId);
  ByteWriter w(m);
  w.U16(44);
  w.U16(3);  // NewEpoch
  w.U32(SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED);
  for (uint8_t i = 0; i < 16; ++i) w.U8(static_cast<uint8_t>(0xC0 + i));
  w.U32(0x07);  // CurrentLeaseState: R|H|W
  w.U32(0x01);  // NewLeaseState: R
  w.U32(0);
  w.U32(0);
  w.U32(0);
  return m;
}

TEST(OplockBreak, RecognisesUnsolicitedNotifications) {
  EXPECT_TRUE(IsBreakNotification(OplockNotification()));
  EXPECT_TRUE(IsBreakNotification(LeaseNotification()));
  std::vector<uint8_t> response = OplockNotification();
  StoreU64(&response[kOffsetMessageId], 12);  // an acknowledgment's response
  EXPECT_FALSE(IsBreakNotification(response));
  std::vector<uint8_t> other = WithHeader(SMB2_ECHO, true, kUnsolicitedMessageId);
  EXPECT_FALSE(IsBreakNotification(other));
  std::vector<uint8_t> request = WithHeader(SMB2_OPLOCK_BREAK, false, kUnsolicitedMessageId);
  EXPECT_FALSE(IsBreakNotification(request));
  std::vector<uint8_t> m = OplockNotification();
  for (size_t n = 0; n < kHeaderSize; ++n) {
    std::vector<uint8_t> prefix(m.begin(), m.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(IsBreakNotification(prefix)) << n;
  }
}

TEST(OplockBreak, DecodesOplockNotification) {
  auto r = DecodeBreakNotification(OplockNotification());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(std::holds_alternative<OplockBreakNotification>(*r));
  const auto& n = std::get<OplockBreakNotification>(*r);
  EXPECT_EQ(n.oplock_level, 0x01);
  EXPECT_EQ(n.file_id, (FileId{0x1111222233334444ULL, 0x5555666677778888ULL}));
}

TEST(OplockBreak, DecodesLeaseNotification) {
  auto r = DecodeBreakNotification(LeaseNotification());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(std::holds_alternative<LeaseBreakNotification>(*r));
  const auto& n = std::get<LeaseBreakNotification>(*r);
  EXPECT_EQ(n.new_epoch, 3);
  EXPECT_EQ(n.flags, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED);
  EXPECT_EQ(n.lease_key[0], 0xC0);
  EXPECT_EQ(n.lease_key[15], 0xCF);
  EXPECT_EQ(n.current_lease_state, 0x07u);
  EXPECT_EQ(n.new_lease_state, 0x01u);
}

TEST(OplockBreak, TruncationAndBadSizes) {
  auto decode = [](ByteView v) { return DecodeBreakNotification(v); };
  ExpectEveryPrefixFails(OplockNotification(), decode);
  ExpectEveryPrefixFails(LeaseNotification(), decode);
  ExpectEveryPrefixFails(OplockNotification(),
                         [](ByteView v) { return DecodeOplockBreakNotification(v); });
  ExpectEveryPrefixFails(LeaseNotification(),
                         [](ByteView v) { return DecodeLeaseBreakNotification(v); });
  std::vector<uint8_t> m = OplockNotification();
  StoreU16(&m[kHeaderSize], 36);
  EXPECT_TRUE(DecodeBreakNotification(m).status().Is(Code::kProtocol));
  EXPECT_TRUE(DecodeLeaseBreakNotification(OplockNotification()).status().Is(Code::kProtocol));
  EXPECT_TRUE(DecodeOplockBreakNotification(LeaseNotification()).status().Is(Code::kProtocol));
}

TEST(OplockBreak, EncodesAcknowledgments) {
  std::vector<uint8_t> m = WithHeader(SMB2_OPLOCK_BREAK, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeOplockBreakAcknowledgment(
                  {0x00, FileId{0x0102030405060708ULL, 0x1112131415161718ULL}}, w)
                  .ok());
  // [MS-SMB2] 2.2.24.1
  EXPECT_EQ(Body(m),
            (std::vector<uint8_t>{24, 0, 0, 0, 0,    0,    0,    0,    8,    7,    6,    5,
                                  4,  3, 2, 1, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11}));

  m = WithHeader(SMB2_OPLOCK_BREAK, false);
  ByteWriter w2(m);
  LeaseBreakAcknowledgment ack;
  ack.lease_key.fill(0xC5);
  ack.lease_state = 0x01;
  ASSERT_TRUE(EncodeLeaseBreakAcknowledgment(ack, w2).ok());
  // [MS-SMB2] 2.2.24.2
  std::vector<uint8_t> expected = {36, 0, 0, 0, 0, 0, 0, 0};
  expected.insert(expected.end(), 16, 0xC5);
  expected.insert(expected.end(), {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(Body(m), expected);
}

TEST(OplockBreak, DecodesResponses) {
  std::vector<uint8_t> m = OplockNotification();
  StoreU64(&m[kOffsetMessageId], 12);
  auto o = DecodeOplockBreakResponse(m);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->oplock_level, 0x01);
  ExpectEveryPrefixFails(m, [](ByteView v) { return DecodeOplockBreakResponse(v); });

  std::vector<uint8_t> lease = WithHeader(SMB2_OPLOCK_BREAK, true, 13);
  ByteWriter w(lease);
  w.U16(36);
  w.U16(0);
  w.U32(0);
  for (uint8_t i = 0; i < 16; ++i) w.U8(i);
  w.U32(0x03);
  w.U64(0);
  auto l = DecodeLeaseBreakResponse(lease);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->lease_key[15], 15);
  EXPECT_EQ(l->lease_state, 0x03u);
  ExpectEveryPrefixFails(lease, [](ByteView v) { return DecodeLeaseBreakResponse(v); });
  StoreU16(&lease[kHeaderSize], 44);
  EXPECT_TRUE(DecodeLeaseBreakResponse(lease).status().Is(Code::kProtocol));
}

std::vector<uint8_t> SessionClosedNotification() {
  // [MS-SMB2] 2.2.44.1 with a 2.2.44.2 SMB2_NOTIFY_SESSION_CLOSED: StructureSize 12.
  std::vector<uint8_t> m =
      WithHeader(SMB2_SERVER_TO_CLIENT_NOTIFICATION, true, kUnsolicitedMessageId);
  m.insert(m.end(), {12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  return m;
}

TEST(ServerToClientNotification, DecodesSessionClosed) {
  std::vector<uint8_t> m = SessionClosedNotification();
  EXPECT_TRUE(IsUnsolicitedMessage(m));
  EXPECT_FALSE(IsBreakNotification(m));
  auto r = DecodeServerToClientNotification(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->notification_type, SmbNotifySessionClosed);
  EXPECT_EQ(r->notification.size(), 4u);
  EXPECT_EQ(r->notification.data(), m.data() + kHeaderSize + 8);
  EXPECT_FALSE(IsUnsolicitedMessage(WithHeader(SMB2_ECHO, true, 3)));
}

TEST(ServerToClientNotification, TruncationAndBadSizes) {
  ExpectEveryPrefixFails(SessionClosedNotification(),
                         [](ByteView v) { return DecodeServerToClientNotification(v); });
  for (uint16_t size : {0, 7, 13, 0xFFFF}) {
    std::vector<uint8_t> m = SessionClosedNotification();
    StoreU16(&m[kHeaderSize], size);
    EXPECT_TRUE(DecodeServerToClientNotification(m).status().Is(Code::kProtocol)) << size;
  }
}

}  // namespace
}  // namespace smb3::smb2
