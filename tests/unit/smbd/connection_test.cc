// SPDX-License-Identifier: LGPL-2.1-or-later
// The MS-SMBD engine, one rule per test, driven with explicit timestamps and hand-built peer
// messages.
#include "smbd/connection.h"

#include <gtest/gtest.h>

#include <vector>

#include "unit/smbd/smbd_test_util.h"

namespace smb3::smbd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_util::At;
using test_util::Connected;
using test_util::EncodeResponse;
using test_util::Pattern;
using test_util::PeerMessage;
using test_util::ServerResponse;

DataTransfer Decode(const std::vector<uint8_t>& bytes) {
  auto m = DecodeDataTransfer(bytes);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : DataTransfer{};
}

// --- Creation and negotiation ---------------------------------------------------------------

TEST(SmbdConnection, CreateRejectsParametersMsSmbdForbids) {
  EXPECT_TRUE(Connection::Create().ok());
  auto with = [](auto mutate) {
    Parameters p;
    mutate(p);
    return Connection::Create(p).status();
  };
  EXPECT_TRUE(with([](Parameters& p) { p.max_send_size = 127; }).Is(Code::kInvalidArgument));
  EXPECT_TRUE(with([](Parameters& p) { p.max_receive_size = 511; }).Is(Code::kInvalidArgument));
  EXPECT_TRUE(
      with([](Parameters& p) { p.max_fragmented_recv_size = 131071; }).Is(Code::kInvalidArgument));
  EXPECT_TRUE(with([](Parameters& p) { p.receive_credit_max = 0; }).Is(Code::kInvalidArgument));
  EXPECT_TRUE(with([](Parameters& p) { p.send_credit_target = 0; }).Is(Code::kInvalidArgument));
  EXPECT_TRUE(with([](Parameters& p) { p.keepalive_interval = {}; }).Is(Code::kInvalidArgument));
}

TEST(SmbdConnection, StartNeedsOnePostedReceive) {
  // [MS-SMBD] 3.1.4.1: post one receive of at least 512 bytes before connecting.
  Connection c = Connection::Create().value();
  EXPECT_EQ(c.state(), State::kIdle);
  EXPECT_EQ(c.ReceivesWanted(), 1u);
  EXPECT_EQ(c.ReceiveBufferSize(), 8192u);
  EXPECT_TRUE(c.Start(At({})).Is(Code::kInvalidArgument));
  c.OnReceivesPosted(1);
  EXPECT_EQ(c.ReceivesWanted(), 0u);
  EXPECT_TRUE(c.Start(At({})).ok());
  EXPECT_EQ(c.state(), State::kNegotiating);
  EXPECT_TRUE(c.Start(At({})).Is(Code::kInvalidArgument));
}

TEST(SmbdConnection, NegotiateRequestCarriesWindowsDefaults) {
  // [MS-SMBD] 3.1.5.2 with the values of 7 <3>.
  Connection c = Connection::Create().value();
  c.OnReceivesPosted(1);
  ASSERT_TRUE(c.Start(At({})).ok());
  auto request = c.NextSend(At({}));
  ASSERT_TRUE(request.has_value());
  const std::vector<uint8_t> expected = {
      0x00, 0x01, 0x00, 0x01,  // MinVersion, MaxVersion 0x0100
      0x00, 0x00, 0xFF, 0x00,  // Reserved, CreditsRequested 255
      0x54, 0x05, 0x00, 0x00,  // PreferredSendSize 1364
      0x00, 0x20, 0x00, 0x00,  // MaxReceiveSize 8192
      0x00, 0x00, 0x10, 0x00,  // MaxFragmentedSize 1 MiB
  };
  EXPECT_EQ(*request, expected);
  EXPECT_FALSE(c.NextSend(At({})).has_value());  // sent once
  EXPECT_EQ(c.counters().messages_sent, 1u);
}

TEST(SmbdConnection, NegotiateResponseSettlesTheParameters) {
  // [MS-SMBD] 3.1.5.7
  Connection c = Connected(ServerResponse(/*granted=*/12, /*requested=*/40,
                                          /*preferred_send_size=*/1000,
                                          /*max_receive_size=*/1024));
  const NegotiatedParameters& n = c.negotiated();
  EXPECT_EQ(n.protocol, 0x0100);
  EXPECT_EQ(n.max_receive_size, 1000u);  // min(8192, PreferredSendSize)
  EXPECT_EQ(n.max_send_size, 1024u);     // min(1364, peer MaxReceiveSize)
  EXPECT_EQ(n.max_fragmented_send_size, 1048576u);
  EXPECT_EQ(n.max_fragmented_recv_size, 1048576u);
  EXPECT_EQ(n.max_read_write_size, 8388608u);
  EXPECT_EQ(c.send_credits(), 12u);
  EXPECT_EQ(c.receive_credit_target(), 40);
  EXPECT_EQ(c.ReceiveBufferSize(), 1000u);
  EXPECT_EQ(c.SendBufferSize(), 1024u);
  // The negotiate response used the first receive; 40 are posted for the peer's request.
  EXPECT_EQ(c.receives_posted(), 40u);
  EXPECT_EQ(c.peer_credits(), 0u);
}

TEST(SmbdConnection, SmallPreferredSendSizeStillReceives128) {
  NegotiateResponse r = ServerResponse();
  r.preferred_send_size = 64;
  Connection c = Connected(r);
  EXPECT_EQ(c.negotiated().max_receive_size, 128u);
}

TEST(SmbdConnection, MaxReadWriteSizeIsCappedLocally) {
  NegotiateResponse r = ServerResponse();
  r.max_read_write_size = 0xFFFFFFFF;
  EXPECT_EQ(Connected(r).negotiated().max_read_write_size, 8388608u);
  Parameters p;
  p.max_read_write_size = 1048576;
  EXPECT_EQ(Connected(r, p).negotiated().max_read_write_size, 1048576u);
}

TEST(SmbdConnection, BadNegotiateResponsesDisconnect) {
  struct Case {
    const char* name;
    void (*mutate)(NegotiateResponse&);
    Code code;
  };
  const Case cases[] = {
      {"version", [](NegotiateResponse& r) { r.negotiated_version = 0x0101; }, Code::kProtocol},
      {"granted 0", [](NegotiateResponse& r) { r.credits_granted = 0; }, Code::kProtocol},
      {"requested 0", [](NegotiateResponse& r) { r.credits_requested = 0; }, Code::kProtocol},
      {"receive 127", [](NegotiateResponse& r) { r.max_receive_size = 127; }, Code::kProtocol},
      {"fragmented", [](NegotiateResponse& r) { r.max_fragmented_size = 65536; }, Code::kProtocol},
      {"preferred > ours", [](NegotiateResponse& r) { r.preferred_send_size = 8193; },
       Code::kProtocol},
      {"refused", [](NegotiateResponse& r) { r.status = 0xC00000BB; }, Code::kNtStatus},
  };
  for (const Case& k : cases) {
    Connection c = Connection::Create().value();
    c.OnReceivesPosted(1);
    ASSERT_TRUE(c.Start(At({})).ok());
    ASSERT_TRUE(c.NextSend(At({})).has_value());
    NegotiateResponse r = ServerResponse();
    k.mutate(r);
    Status s = c.OnReceive(EncodeResponse(r), At({}));
    EXPECT_TRUE(s.Is(k.code)) << k.name << ": " << s.ToString();
    EXPECT_EQ(c.state(), State::kDisconnected) << k.name;
    EXPECT_TRUE(c.error().Is(k.code)) << k.name;
    EXPECT_EQ(c.ReceivesWanted(), 0u);
    EXPECT_FALSE(c.NextDeadline().has_value());
  }
}

TEST(SmbdConnection, TruncatedNegotiateResponseDisconnects) {
  std::vector<uint8_t> full = EncodeResponse(ServerResponse());
  for (size_t n = 0; n < full.size(); ++n) {
    Connection c = Connection::Create().value();
    c.OnReceivesPosted(1);
    ASSERT_TRUE(c.Start(At({})).ok());
    ASSERT_TRUE(c.NextSend(At({})).has_value());
    EXPECT_TRUE(c.OnReceive(ByteView(full).first(n), At({})).Is(Code::kProtocol)) << n;
    EXPECT_EQ(c.state(), State::kDisconnected);
  }
}

TEST(SmbdConnection, ResponseBeforeTheRequestWasSentDisconnects) {
  Connection c = Connection::Create().value();
  c.OnReceivesPosted(1);
  ASSERT_TRUE(c.Start(At({})).ok());
  EXPECT_TRUE(c.OnReceive(EncodeResponse(ServerResponse()), At({})).Is(Code::kProtocol));
  EXPECT_EQ(c.state(), State::kDisconnected);
}

TEST(SmbdConnection, MessageBeforeStartDisconnects) {
  Connection c = Connection::Create().value();
  c.OnReceivesPosted(1);
  EXPECT_TRUE(c.OnReceive(EncodeResponse(ServerResponse()), At({})).Is(Code::kProtocol));
  EXPECT_EQ(c.state(), State::kDisconnected);
}

TEST(SmbdConnection, NegotiationTimerFires) {
  // [MS-SMBD] 3.1.4.1, 3.1.6.1: 120 seconds.
  Connection c = Connection::Create().value();
  c.OnReceivesPosted(1);
  EXPECT_FALSE(c.NextDeadline().has_value());
  ASSERT_TRUE(c.Start(At(seconds(10))).ok());
  ASSERT_EQ(c.NextDeadline(), At(seconds(130)));
  c.OnTimer(At(seconds(130)) - milliseconds(1));
  EXPECT_EQ(c.state(), State::kNegotiating);
  c.OnTimer(At(seconds(130)));
  EXPECT_EQ(c.state(), State::kDisconnected);
  EXPECT_TRUE(c.error().Is(Code::kTimeout));
}

// --- Credits ----------------------------------------------------------------------------------

TEST(SmbdConnection, FirstMessageGrantsEveryPostedReceive) {
  // [MS-SMBD] 4.1: the first data transfer carries the initial grant.
  Connection c = Connected();
  EXPECT_EQ(c.receives_posted(), 255u);
  // Nothing to send yet: credits are not announced on their own before the peer speaks.
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  std::vector<uint8_t> smb2 = Pattern(100);
  ASSERT_TRUE(c.QueueSend(smb2).ok());
  auto sent = c.NextSend(At({}));
  ASSERT_TRUE(sent.has_value());
  DataTransfer m = Decode(*sent);
  EXPECT_EQ(m.credits_requested, 255);
  EXPECT_EQ(m.credits_granted, 255);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.data_offset, 24u);
  EXPECT_EQ(std::vector<uint8_t>(m.data.begin(), m.data.end()), smb2);
  EXPECT_EQ(c.peer_credits(), 255u);
  EXPECT_EQ(c.send_credits(), 254u);
  EXPECT_EQ(c.counters().credits_granted, 255u);
  EXPECT_EQ(c.counters().send_credits_used, 1u);
}

TEST(SmbdConnection, LastSendCreditIsNotSpentOnAMessageGrantingNone) {
  // [MS-SMBD] 3.1.5.1
  Connection c = Connected(ServerResponse(/*granted=*/2));
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.QueueSend(Pattern(10, 2)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());  // grants all 255, one send credit left
  EXPECT_EQ(c.send_credits(), 1u);
  EXPECT_EQ(c.unannounced_credits(), 0u);
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.counters().send_credit_stalls, 1u);
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.counters().send_credit_stalls, 1u);  // one stall, however often polled
  // [MS-SMBD] 3.1.5.9: the engine asks for one more receive so the last credit can grant it.
  EXPECT_EQ(c.ReceivesWanted(), 1u);
  c.OnReceivesPosted(1);
  auto sent = c.NextSend(At({}));
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(Decode(*sent).credits_granted, 1);
  EXPECT_EQ(c.send_credits(), 0u);
  EXPECT_EQ(c.peer_credits(), 256u);
}

TEST(SmbdConnection, NoSendCreditNoSendUntilThePeerGrants) {
  // [MS-SMBD] 3.1.5.1, 3.1.5.8: granted credits restart the send queue.
  Connection c = Connected(ServerResponse(/*granted=*/1));
  ASSERT_TRUE(c.QueueSend(Pattern(3000)).ok());  // three fragments of 1340
  ASSERT_TRUE(c.NextSend(At({})).has_value());   // the last credit, granting 255
  EXPECT_EQ(c.send_credits(), 0u);
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.counters().send_credit_stalls, 1u);
  ASSERT_TRUE(c.OnReceive(PeerMessage(/*granted=*/5), At({})).ok());
  EXPECT_EQ(c.send_credits(), 5u);
  EXPECT_TRUE(c.NextSend(At({})).has_value());
  EXPECT_TRUE(c.NextSend(At({})).has_value());
  EXPECT_FALSE(c.HasQueuedData());
  EXPECT_EQ(c.counters().credits_received, 6u);
}

TEST(SmbdConnection, PeerSendingWithoutACreditDisconnects) {
  // A receive is posted, but no credit was granted for it yet.
  Connection c = Connected();
  EXPECT_EQ(c.peer_credits(), 0u);
  Status s = c.OnReceive(PeerMessage(1, Pattern(10)), At({}));
  EXPECT_TRUE(s.Is(Code::kProtocol)) << s.ToString();
  EXPECT_EQ(c.state(), State::kDisconnected);
}

// The peer holds one credit (the engine granted it one) and we hold none.
Connection ConnectedWithOneCreditEach() {
  Connection c = Connected(ServerResponse(/*granted=*/1, /*requested=*/1));
  EXPECT_EQ(c.receives_posted(), 1u);
  EXPECT_TRUE(c.QueueSend(Pattern(10)).ok());
  EXPECT_TRUE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.send_credits(), 0u);
  EXPECT_EQ(c.peer_credits(), 1u);
  return c;
}

TEST(SmbdConnection, PeerSpendingItsLastCreditGrantingNoneWhileWeHoldNoneDisconnects) {
  // [MS-SMBD] 3.1.5.1 binds the peer: otherwise neither side could ever send again.
  Connection c = ConnectedWithOneCreditEach();
  Status s = c.OnReceive(PeerMessage(/*granted=*/0, Pattern(8)), At({}));
  EXPECT_TRUE(s.Is(Code::kProtocol)) << s.ToString();
  EXPECT_EQ(c.state(), State::kDisconnected);
}

TEST(SmbdConnection, PeerSpendingItsLastCreditWithAGrantIsFine) {
  Connection c = ConnectedWithOneCreditEach();
  ASSERT_TRUE(c.OnReceive(PeerMessage(/*granted=*/1, Pattern(8)), At({})).ok());
  EXPECT_EQ(c.send_credits(), 1u);
  EXPECT_EQ(c.peer_credits(), 0u);
  ASSERT_TRUE(c.NextReassembled().has_value());
}

TEST(SmbdConnection, PeerGrantingNoneIsFineWhileItHoldsCredits) {
  Connection c = Connected(ServerResponse(/*granted=*/1));
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.send_credits(), 0u);
  ASSERT_TRUE(c.OnReceive(PeerMessage(0, Pattern(8)), At({})).ok());
  EXPECT_EQ(c.state(), State::kConnected);
}

TEST(SmbdConnection, SendCreditsBeyond65535Disconnect) {
  Connection c = Connected(ServerResponse(/*granted=*/65535));
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());
  ASSERT_TRUE(c.OnReceive(PeerMessage(1), At({})).ok());  // back to 65535
  EXPECT_EQ(c.send_credits(), 65535u);
  EXPECT_TRUE(c.OnReceive(PeerMessage(1), At({})).Is(Code::kProtocol));
}

TEST(SmbdConnection, ReceivesAreRefilledAndAnnouncedInBatches) {
  // [MS-SMBD] 3.1.5.9 with the batching of Parameters::receive_refill_batch (255 / 8 = 31).
  Connection c = Connected();
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(c.OnReceive(PeerMessage(1), At({})).ok());
    EXPECT_EQ(c.ReceivesWanted(), 0u) << i;
    EXPECT_FALSE(c.NextSend(At({})).has_value()) << i;
  }
  ASSERT_TRUE(c.OnReceive(PeerMessage(1), At({})).ok());
  EXPECT_EQ(c.ReceivesWanted(), 31u);
  c.OnReceivesPosted(31);
  // Nothing queued: the batch goes out on a message of its own ([MS-SMBD] 3.1.5.8).
  auto sent = c.NextSend(At({}));
  ASSERT_TRUE(sent.has_value());
  DataTransfer m = Decode(*sent);
  EXPECT_EQ(m.credits_granted, 31);
  EXPECT_EQ(m.data_length, 0u);
  EXPECT_EQ(sent->size(), 20u);
  EXPECT_EQ(c.peer_credits(), 255u);
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.counters().empty_messages_sent, 1u);
}

TEST(SmbdConnection, ReceiveTargetFollowsThePeersRequest) {
  // [MS-SMBD] 3.1.5.8: ReceiveCreditTarget is the peer's latest CreditsRequested, capped by
  // ReceiveCreditMax.
  Parameters p;
  p.receive_refill_batch = 1;
  Connection c = Connected(ServerResponse(255, /*requested=*/10), p);
  EXPECT_EQ(c.receives_posted(), 10u);
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());
  ASSERT_TRUE(c.OnReceive(PeerMessage(0, {}, 0, 0, /*requested=*/20), At({})).ok());
  EXPECT_EQ(c.receive_credit_target(), 20);
  EXPECT_EQ(c.ReceivesWanted(), 11u);
  ASSERT_TRUE(c.OnReceive(PeerMessage(0, {}, 0, 0, /*requested=*/1000), At({})).ok());
  EXPECT_EQ(c.ReceivesWanted(), 255u - 8u);
}

TEST(SmbdConnection, ReceiveWithoutAPostedBufferIsALocalError) {
  Connection c = Connected();
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());
  for (int i = 0; i < 255; ++i) ASSERT_TRUE(c.OnReceive(PeerMessage(1), At({})).ok());
  EXPECT_EQ(c.receives_posted(), 0u);
  EXPECT_TRUE(c.OnReceive(PeerMessage(1), At({})).Is(Code::kInvalidArgument));
  EXPECT_EQ(c.state(), State::kDisconnected);
}

// --- Fragmentation ----------------------------------------------------------------------------

std::vector<DataTransfer> DrainSends(Connection& c, std::vector<std::vector<uint8_t>>& keep) {
  std::vector<DataTransfer> out;
  while (auto sent = c.NextSend(At({}))) {
    EXPECT_LE(sent->size(), c.negotiated().max_send_size);
    keep.push_back(std::move(*sent));
    out.push_back(Decode(keep.back()));
  }
  return out;
}

TEST(SmbdConnection, FragmentsFillMaxSendSize) {
  // [MS-SMBD] 3.1.5.4: DataOffset 24, DataLength up to MaxSendSize - 24 = 1340.
  struct Case {
    size_t size;
    std::vector<uint32_t> lengths;
  };
  const Case cases[] = {
      {1, {1}}, {1340, {1340}}, {1341, {1340, 1}}, {2680, {1340, 1340}}, {2681, {1340, 1340, 1}},
  };
  for (const Case& k : cases) {
    Connection c = Connected();
    std::vector<uint8_t> smb2 = Pattern(k.size);
    ASSERT_TRUE(c.QueueSend(smb2).ok());
    std::vector<std::vector<uint8_t>> keep;
    std::vector<DataTransfer> sent = DrainSends(c, keep);
    ASSERT_EQ(sent.size(), k.lengths.size()) << k.size;
    std::vector<uint8_t> joined;
    uint32_t remaining = static_cast<uint32_t>(k.size);
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(sent[i].data_length, k.lengths[i]);
      EXPECT_EQ(sent[i].data_offset, 24u);
      remaining -= sent[i].data_length;
      EXPECT_EQ(sent[i].remaining_data_length, remaining);
      joined.insert(joined.end(), sent[i].data.begin(), sent[i].data.end());
    }
    EXPECT_EQ(joined, smb2);
    EXPECT_EQ(c.counters().upper_messages_sent, 1u);
    EXPECT_EQ(c.counters().fragments_sent, k.lengths.size());
  }
}

TEST(SmbdConnection, SmallerSendBufferShortensFragments) {
  Connection c = Connected();
  ASSERT_TRUE(c.QueueSend(Pattern(100)).ok());
  std::vector<uint8_t> buf(24 + 60);
  auto n = c.NextSend(MutableByteView(buf), At({}));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, buf.size());
  DataTransfer m = Decode(buf);
  EXPECT_EQ(m.data_length, 60u);
  EXPECT_EQ(m.remaining_data_length, 40u);
  std::vector<uint8_t> tiny(24);
  EXPECT_FALSE(c.NextSend(MutableByteView(tiny), At({})).has_value());
  EXPECT_EQ(c.queued_bytes(), 40u);
}

TEST(SmbdConnection, QueueSendEnforcesMaxFragmentedSendSize) {
  // [MS-SMBD] 3.1.4.2: exactly at the peer's MaxFragmentedSize is fine, one more is refused.
  NegotiateResponse r = ServerResponse();
  r.max_fragmented_size = 131072;
  Connection c = Connected(r);
  EXPECT_TRUE(c.QueueSend(Pattern(131073)).Is(Code::kInvalidArgument));
  EXPECT_TRUE(c.QueueSend({}).Is(Code::kInvalidArgument));
  EXPECT_EQ(c.state(), State::kConnected);  // local errors do not disconnect
  ASSERT_TRUE(c.QueueSend(Pattern(131072)).ok());
  std::vector<std::vector<uint8_t>> keep;
  std::vector<DataTransfer> sent = DrainSends(c, keep);
  ASSERT_EQ(sent.size(), 98u);  // ceil(131072 / 1340)
  EXPECT_EQ(sent.front().remaining_data_length, 131072u - 1340u);
  EXPECT_EQ(sent.back().remaining_data_length, 0u);
}

TEST(SmbdConnection, QueueSendBeforeConnectedIsRefused) {
  Connection c = Connection::Create().value();
  EXPECT_TRUE(c.QueueSend(Pattern(10)).Is(Code::kInvalidArgument));
}

// --- Reassembly -------------------------------------------------------------------------------

// A connected engine whose peer holds 255 credits.
Connection ReadyToReceive(const Parameters& p = {}) {
  Connection c = Connected(ServerResponse(), p);
  EXPECT_TRUE(c.QueueSend(Pattern(10)).ok());
  EXPECT_TRUE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.peer_credits(), 255u);
  return c;
}

// Feeds `message` as fragments of at most `fragment` bytes of data; returns the first error.
Status FeedFragmented(Connection& c, const std::vector<uint8_t>& message, size_t fragment) {
  size_t at = 0;
  while (at < message.size()) {
    size_t n = std::min(fragment, message.size() - at);
    uint32_t remaining = static_cast<uint32_t>(message.size() - at - n);
    Status s = c.OnReceive(PeerMessage(1, ByteView(message).subspan(at, n), remaining), At({}));
    if (!s.ok()) return s;
    at += n;
    if (c.ReceivesWanted() > 0) c.OnReceivesPosted(c.ReceivesWanted());
    while (c.NextSend(At({}))) {
    }
  }
  return Status::Ok();
}

TEST(SmbdConnection, ReassemblesUpToMaxFragmentedRecvSizeExactly) {
  Parameters p;
  p.max_fragmented_recv_size = 131072;
  // Fragments of 1340 bytes: the peer's PreferredSendSize 1364 less the 24-byte header.
  for (size_t size : {size_t{1}, size_t{1340}, size_t{1341}, size_t{65536}, size_t{131072}}) {
    Connection c = ReadyToReceive(p);
    std::vector<uint8_t> smb2 = Pattern(size, static_cast<uint32_t>(size));
    Status s = FeedFragmented(c, smb2, 1340);
    ASSERT_TRUE(s.ok()) << size << ": " << s.ToString();
    auto got = c.NextReassembled();
    ASSERT_TRUE(got.has_value()) << size;
    EXPECT_EQ(got->data, smb2) << size;
    EXPECT_FALSE(c.NextReassembled().has_value());
    EXPECT_EQ(c.counters().upper_messages_received, 1u);
    EXPECT_EQ(c.counters().fragmented_messages_received, size > 1340 ? 1u : 0u);
  }
}

TEST(SmbdConnection, Example43PeerTransmits64KiBInThousandByteFragments) {
  // [MS-SMBD] 4.1 and 4.3: 1 KiB messages, 10 credits each way; the peer sends 65 fragments of
  // 1000 bytes and one of 536, granting 1 and pausing whenever its 10 credits run out.
  Parameters p;
  p.max_send_size = 1024;
  p.max_receive_size = 1024;
  NegotiateResponse r = ServerResponse(/*granted=*/10, /*requested=*/10, 1024, 1024);
  Connection c = Connected(r, p);
  EXPECT_EQ(c.receives_posted(), 10u);
  ASSERT_TRUE(c.QueueSend(Pattern(500)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());  // grants the peer its 10 credits
  const std::vector<uint8_t> smb2 = Pattern(65536);
  uint32_t peer_credits = 10;  // the peer's own count
  size_t at = 0;
  int pauses = 0;
  while (at < smb2.size()) {
    if (peer_credits == 0) {
      ++pauses;
      // We repost and announce; the credit messages reach the peer.
      c.OnReceivesPosted(c.ReceivesWanted());
      while (auto sent = c.NextSend(At({}))) peer_credits += Decode(*sent).credits_granted;
      ASSERT_GT(peer_credits, 0u);
    }
    const size_t n = std::min<size_t>(1000, smb2.size() - at);
    const uint32_t remaining = static_cast<uint32_t>(smb2.size() - at - n);
    ASSERT_TRUE(
        c.OnReceive(PeerMessage(1, ByteView(smb2).subspan(at, n), remaining, 0, 10), At({})).ok());
    --peer_credits;
    at += n;
  }
  EXPECT_GT(pauses, 0);
  auto got = c.NextReassembled();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->data, smb2);
  EXPECT_EQ(c.counters().fragments_received, 66u);
}

TEST(SmbdConnection, OneByteOverMaxFragmentedRecvSizeDisconnects) {
  Parameters p;
  p.max_fragmented_recv_size = 131072;
  Connection c = ReadyToReceive(p);
  Status s = FeedFragmented(c, Pattern(131073), 1340);
  EXPECT_TRUE(s.Is(Code::kProtocol)) << s.ToString();
  EXPECT_EQ(c.state(), State::kDisconnected);
  EXPECT_EQ(c.counters().fragments_received, 0u);  // refused on the first fragment
}

TEST(SmbdConnection, RemainingDataLengthAloneOverflowingDisconnects) {
  Connection c = ReadyToReceive();
  Status s = c.OnReceive(PeerMessage(1, Pattern(8), 0xFFFFFFFFu), At({}));
  EXPECT_TRUE(s.Is(Code::kProtocol)) << s.ToString();
}

TEST(SmbdConnection, InconsistentRemainingDataLengthDisconnects) {
  // Announces 100 more bytes, then sends 50 and claims 40 remain.
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10), 100), At({})).ok());
  EXPECT_TRUE(c.OnReceive(PeerMessage(1, Pattern(50), 40), At({})).Is(Code::kProtocol));
}

TEST(SmbdConnection, SequenceEndingEarlyDisconnects) {
  // [MS-SMBD] 3.1.5.8: RemainingDataLength 0 while bytes of the sequence remain.
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10), 100), At({})).ok());
  EXPECT_TRUE(c.OnReceive(PeerMessage(1, Pattern(50), 0), At({})).Is(Code::kProtocol));
}

TEST(SmbdConnection, FragmentOverrunningTheSequenceDisconnects) {
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10), 100), At({})).ok());
  EXPECT_TRUE(c.OnReceive(PeerMessage(1, Pattern(101), 0), At({})).Is(Code::kProtocol));
}

TEST(SmbdConnection, EmptyMessageInsideASequenceLeavesItAlone) {
  Connection c = ReadyToReceive();
  std::vector<uint8_t> smb2 = Pattern(30);
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, ByteView(smb2).first(10), 20), At({})).ok());
  ASSERT_TRUE(c.OnReceive(PeerMessage(3), At({})).ok());
  EXPECT_FALSE(c.NextReassembled().has_value());
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, ByteView(smb2).subspan(10), 0), At({})).ok());
  auto got = c.NextReassembled();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->data, smb2);
}

TEST(SmbdConnection, MessagesAreDeliveredInOrder) {
  Connection c = ReadyToReceive();
  for (uint32_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(i * 10, i)), At({})).ok());
  }
  for (uint32_t i = 1; i <= 5; ++i) {
    auto got = c.NextReassembled();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->data, Pattern(i * 10, i));
  }
}

TEST(SmbdConnection, MessageAtTheNegotiatedReceiveSizeIsFineOneOverIsNot) {
  // [MS-SMBD] 2.2.2, 3.1.5.7: the peer sends at most its PreferredSendSize (1364 here).
  Connection c = ReadyToReceive();
  ASSERT_EQ(c.negotiated().max_receive_size, 1364u);
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(1340)), At({})).ok());
  Status s = c.OnReceive(PeerMessage(1, Pattern(1341)), At({}));
  EXPECT_TRUE(s.Is(Code::kProtocol)) << s.ToString();
}

TEST(SmbdConnection, DataOutOfBoundsDisconnects) {
  Connection c = ReadyToReceive();
  std::vector<uint8_t> m = PeerMessage(1, Pattern(16));
  StoreU32(&m[16], 17);  // DataLength one past the end
  EXPECT_TRUE(c.OnReceive(m, At({})).Is(Code::kProtocol));
  Connection d = ReadyToReceive();
  std::vector<uint8_t> n = PeerMessage(1, Pattern(16));
  StoreU32(&n[12], 20);  // DataOffset not 8-byte aligned
  EXPECT_TRUE(d.OnReceive(n, At({})).Is(Code::kProtocol));
}

TEST(SmbdConnection, InvalidatedTokenTravelsWithItsMessage) {
  // [MS-SMBD] 3.1.5.8: the last token invalidated while the fragments arrived.
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10), 10), At({}), 0x1111).ok());
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10), 0), At({}), 0x2222).ok());
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10), 0), At({})).ok());
  auto first = c.NextReassembled();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->invalidated_token, 0x2222u);
  auto second = c.NextReassembled();
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->invalidated_token.has_value());
}

// --- SMB_DIRECT_RESPONSE_REQUESTED and timers ---------------------------------------------------

TEST(SmbdConnection, ResponseRequestedIsAnsweredPromptlyWithoutTheFlag) {
  // [MS-SMBD] 3.1.5.8: answer at once, with an empty message when nothing is queued; the answer
  // itself requests nothing, or two peers would ping-pong.
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, {}, 0, SMB_DIRECT_RESPONSE_REQUESTED), At({})).ok());
  auto sent = c.NextSend(At({}));
  ASSERT_TRUE(sent.has_value());
  DataTransfer m = Decode(*sent);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.data_length, 0u);
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.counters().keepalive_requests_received, 1u);
}

TEST(SmbdConnection, ResponseRequestedRidesOnQueuedData) {
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, {}, 0, SMB_DIRECT_RESPONSE_REQUESTED), At({})).ok());
  auto sent = c.NextSend(At({}));
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(Decode(*sent).data_length, 10u);
  EXPECT_FALSE(c.NextSend(At({})).has_value());
}

TEST(SmbdConnection, ResponseRequestedWaitsForACredit) {
  Connection c = Connected(ServerResponse(/*granted=*/1));
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());
  ASSERT_TRUE(c.OnReceive(PeerMessage(0, {}, 0, SMB_DIRECT_RESPONSE_REQUESTED), At({})).ok());
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  ASSERT_TRUE(c.OnReceive(PeerMessage(1), At({})).ok());
  EXPECT_FALSE(c.NextSend(At({})).has_value());  // one credit, nothing new to grant
  EXPECT_GE(c.ReceivesWanted(), 1u);
  c.OnReceivesPosted(c.ReceivesWanted());
  auto sent = c.NextSend(At({}));
  ASSERT_TRUE(sent.has_value());
  EXPECT_GE(Decode(*sent).credits_granted, 1);
}

TEST(SmbdConnection, IdleTimerSendsAKeepaliveAndTheAnswerRearmsIt) {
  // [MS-SMBD] 3.1.2.2, 3.1.5.5, 3.1.6.2: KeepaliveInterval 120 s, answer within 5 s.
  Connection c = Connected(ServerResponse(), {}, At(seconds(1)));
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At(seconds(1))).has_value());
  ASSERT_EQ(c.NextDeadline(), At(seconds(121)));
  ASSERT_TRUE(c.OnReceive(PeerMessage(1), At(seconds(50))).ok());
  ASSERT_EQ(c.NextDeadline(), At(seconds(170)));
  c.OnTimer(At(seconds(169)));
  EXPECT_FALSE(c.NextSend(At(seconds(169))).has_value());
  c.OnTimer(At(seconds(170)));
  auto keepalive = c.NextSend(At(seconds(170)));
  ASSERT_TRUE(keepalive.has_value());
  DataTransfer m = Decode(*keepalive);
  EXPECT_EQ(m.flags, SMB_DIRECT_RESPONSE_REQUESTED);
  EXPECT_EQ(m.data_length, 0u);
  EXPECT_EQ(c.counters().keepalives_sent, 1u);
  EXPECT_EQ(c.NextDeadline(), At(seconds(175)));
  ASSERT_TRUE(c.OnReceive(PeerMessage(1), At(seconds(172))).ok());
  EXPECT_EQ(c.NextDeadline(), At(seconds(292)));
  c.OnTimer(At(seconds(175)));
  EXPECT_EQ(c.state(), State::kConnected);
}

TEST(SmbdConnection, UnansweredKeepaliveDisconnects) {
  Connection c = Connected();
  c.OnTimer(At(seconds(120)));
  ASSERT_TRUE(c.NextSend(At(seconds(120))).has_value());  // the keepalive, granting 255
  ASSERT_EQ(c.NextDeadline(), At(seconds(125)));
  c.OnTimer(At(seconds(125)) - milliseconds(1));
  EXPECT_EQ(c.state(), State::kConnected);
  c.OnTimer(At(seconds(125)));
  EXPECT_EQ(c.state(), State::kDisconnected);
  EXPECT_TRUE(c.error().Is(Code::kTimeout));
}

TEST(SmbdConnection, KeepaliveThatCannotBeSentStillTimesOut) {
  Connection c = Connected(ServerResponse(/*granted=*/1));
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  ASSERT_TRUE(c.NextSend(At({})).has_value());  // no send credit left
  c.OnTimer(At(seconds(120)));
  EXPECT_FALSE(c.NextSend(At(seconds(120))).has_value());
  c.OnTimer(At(seconds(125)));
  EXPECT_EQ(c.state(), State::kDisconnected);
  EXPECT_TRUE(c.error().Is(Code::kTimeout));
}

TEST(SmbdConnection, KeepaliveFlagRidesOnTheNextDataMessage) {
  Connection c = Connected();
  c.OnTimer(At(seconds(120)));
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  auto sent = c.NextSend(At(seconds(120)));
  ASSERT_TRUE(sent.has_value());
  DataTransfer m = Decode(*sent);
  EXPECT_EQ(m.flags, SMB_DIRECT_RESPONSE_REQUESTED);
  EXPECT_EQ(m.data_length, 10u);
  EXPECT_FALSE(c.NextSend(At(seconds(120))).has_value());
}

// --- Fault sweeps -----------------------------------------------------------------------------

// The peer's side of a short exchange: a keepalive, a fragmented message, a credit grant, a small
// message.
std::vector<std::vector<uint8_t>> PeerScript() {
  const std::vector<uint8_t> big = Pattern(3000);
  return {
      PeerMessage(1, {}, 0, SMB_DIRECT_RESPONSE_REQUESTED),
      PeerMessage(1, ByteView(big).first(1340), 1660),
      PeerMessage(1, ByteView(big).subspan(1340, 1340), 320),
      PeerMessage(4),
      PeerMessage(1, ByteView(big).subspan(2680), 0),
      PeerMessage(1, Pattern(77)),
  };
}

TEST(SmbdConnection, FaultSweepCorruptingTheNthReceive) {
  // Each message of the script in turn is cut below the 20-byte header: the engine must stop right
  // there with kProtocol, and hand out nothing afterwards.
  const std::vector<std::vector<uint8_t>> script = PeerScript();
  for (size_t bad = 0; bad < script.size(); ++bad) {
    Connection c = ReadyToReceive();
    size_t delivered = 0;
    for (size_t i = 0; i < script.size(); ++i) {
      ByteView m = script[i];
      if (i == bad) m = m.first(19);
      Status s = c.OnReceive(m, At({}));
      if (i < bad) {
        ASSERT_TRUE(s.ok()) << bad << "/" << i << ": " << s.ToString();
        while (c.NextReassembled()) ++delivered;
        c.OnReceivesPosted(c.ReceivesWanted());
        while (c.NextSend(At({}))) {
        }
      } else {
        EXPECT_TRUE(s.Is(Code::kProtocol)) << bad << "/" << i << ": " << s.ToString();
        EXPECT_EQ(c.state(), State::kDisconnected);
      }
    }
    EXPECT_EQ(delivered, bad >= 5 ? 1u : 0u) << bad;
    EXPECT_FALSE(c.NextReassembled().has_value());
    EXPECT_FALSE(c.NextSend(At({})).has_value());
    EXPECT_TRUE(c.error().Is(Code::kProtocol));
  }
}

TEST(SmbdConnection, FaultSweepLosingTheConnectionAfterTheNthSend) {
  // The transport reports a failed send after N messages: everything stops, the reason is kept.
  for (int fail_after = 0; fail_after < 5; ++fail_after) {
    Connection c = Connected();
    ASSERT_TRUE(c.QueueSend(Pattern(5000)).ok());  // four fragments
    int sent = 0;
    while (c.NextSend(At({}))) {
      if (++sent == fail_after) {
        c.OnConnectionLost(Status::Errno(5, "rdma: send failed"));
      }
    }
    EXPECT_EQ(sent, fail_after == 0 ? 4 : fail_after) << fail_after;
    if (fail_after == 0) continue;
    EXPECT_EQ(c.state(), State::kDisconnected);
    EXPECT_TRUE(c.error().Is(Code::kSystem));
    EXPECT_FALSE(c.HasQueuedData());
    EXPECT_TRUE(c.QueueSend(Pattern(10)).Is(Code::kSystem));
  }
}

// --- Local events -----------------------------------------------------------------------------

TEST(SmbdConnection, DisconnectedIsTerminal) {
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10), 10), At({})).ok());
  ASSERT_TRUE(c.QueueSend(Pattern(10)).ok());
  c.Close();
  EXPECT_EQ(c.state(), State::kDisconnected);
  EXPECT_TRUE(c.error().Is(Code::kDisconnected));
  EXPECT_TRUE(c.QueueSend(Pattern(10)).Is(Code::kDisconnected));
  EXPECT_FALSE(c.NextSend(At({})).has_value());
  EXPECT_FALSE(c.NextReassembled().has_value());
  EXPECT_FALSE(c.NextDeadline().has_value());
  EXPECT_EQ(c.ReceivesWanted(), 0u);
  EXPECT_TRUE(c.OnReceive(PeerMessage(1, Pattern(10)), At({})).Is(Code::kDisconnected));
  c.OnConnectionLost(Status::Errno(104, "test"));
  EXPECT_TRUE(c.error().Is(Code::kDisconnected));  // the first reason stays
}

TEST(SmbdConnection, ConnectionLossKeepsTheTransportsReason) {
  Connection c = Connected();
  c.OnConnectionLost(Status::Errno(110, "rdma: QP error"));
  EXPECT_TRUE(c.error().Is(Code::kSystem));
  EXPECT_EQ(c.error().detail(), 110u);
}

TEST(SmbdConnection, CountersAddUp) {
  Connection c = ReadyToReceive();
  ASSERT_TRUE(c.OnReceive(PeerMessage(4, Pattern(100)), At({})).ok());
  const Counters& k = c.counters();
  EXPECT_EQ(k.messages_sent, 2u);  // negotiate + one data transfer
  EXPECT_EQ(k.bytes_sent, 20u + 24u + 10u);
  EXPECT_EQ(k.messages_received, 2u);  // negotiate response + one data transfer
  EXPECT_EQ(k.bytes_received, 32u + 124u);
  EXPECT_EQ(k.credits_received, 255u + 4u);
  EXPECT_EQ(k.credits_granted, 255u);
  EXPECT_EQ(k.receives_posted, 256u);
  EXPECT_EQ(k.upper_messages_received, 1u);
  EXPECT_EQ(k.fragments_received, 1u);
}

}  // namespace
}  // namespace smb3::smbd
