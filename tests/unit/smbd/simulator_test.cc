// SPDX-License-Identifier: LGPL-2.1-or-later
// Our engine against a scripted MS-SMBD server in one process: two in-order message channels,
// receives posted late and in random batches, random credit grants and credit requests, random
// SMB_DIRECT_RESPONSE_REQUESTED. Moves 100 upper-layer messages of random sizes up to 1 MiB each
// way and checks every byte, the order, and that credits balance exactly at every step.
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <optional>
#include <random>
#include <vector>

#include "smbd/connection.h"
#include "smbd/pdu.h"
#include "unit/smbd/smbd_test_util.h"

namespace smb3::smbd {
namespace {

using test_util::At;
using test_util::Pattern;

struct InFlight {
  std::vector<uint8_t> bytes;
  uint16_t credits_granted = 0;  // what the message grants its receiver, for the credit balance
};

// The passive side of [MS-SMBD] 3.1.5.3, 3.1.5.6, 3.1.5.8 and 3.1.5.9, written for the test: it
// follows the rules a conforming server must, and otherwise makes every choice at random.
class ScriptedServer {
 public:
  static constexpr uint32_t kMaxReceiveSize = 8192;
  static constexpr uint32_t kReceiveCreditMax = 255;

  // [MS-SMBD] 3.1.7.2: one receive is posted for the negotiate request on arrival.
  explicit ScriptedServer(std::mt19937& rng) : rng_(rng), posted_(1) {
    preferred_send_size_ = Pick<uint32_t>(256, kMaxReceiveSize);
  }

  uint32_t posted() const { return posted_; }
  uint32_t send_credits() const { return send_credits_; }
  uint32_t client_credits() const { return client_credits_; }
  const std::deque<std::vector<uint8_t>>& received() const { return received_; }
  std::deque<std::vector<uint8_t>>& received() { return received_; }
  size_t queued() const { return queue_.size(); }

  void Queue(std::vector<uint8_t> message) { queue_.push_back({std::move(message), 0}); }

  // Posts a random number of receives, up to ReceiveCreditMax; one more when holding the last send
  // credit with nothing to grant ([MS-SMBD] 3.1.5.9).
  void PostSome() {
    if (posted_ < kReceiveCreditMax && Pick(0, 3) == 0) {
      posted_ += Pick<uint32_t>(1, kReceiveCreditMax - posted_);
    }
    if (send_credits_ == 1 && posted_ == client_credits_ && HasSomethingToSend()) ++posted_;
  }

  void OnReceive(ByteView message) {
    ASSERT_GT(posted_, 0u) << "client sent into no posted receive (RNR)";
    --posted_;
    if (!negotiated_) {
      auto request = DecodeNegotiateRequest(message);
      ASSERT_TRUE(request.ok()) << request.status().ToString();
      negotiated_ = true;
      max_send_ = std::min(preferred_send_size_, request->max_receive_size);
      max_fragmented_send_ = request->max_fragmented_size;
      // 3.1.5.6 / 3.1.5.9: post the receives and grant them all in the response.
      posted_ += Pick<uint32_t>(1, kReceiveCreditMax);
      NegotiateResponse r;
      r.credits_requested = Pick<uint16_t>(1, 255);
      r.credits_granted = static_cast<uint16_t>(posted_);
      r.max_read_write_size = 1048576;
      r.preferred_send_size = preferred_send_size_;
      r.max_receive_size = kMaxReceiveSize;
      r.max_fragmented_size = 1048576;
      client_credits_ = posted_;
      ByteWriter w(negotiate_response_.emplace());
      ASSERT_TRUE(EncodeNegotiateResponse(r, w).ok());
      return;
    }
    ASSERT_LE(message.size(), kMaxReceiveSize);
    auto m = DecodeDataTransfer(message);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_GT(client_credits_, 0u) << "client sent without a credit";
    --client_credits_;
    send_credits_ += m->credits_granted;
    if (m->flags & SMB_DIRECT_RESPONSE_REQUESTED) respond_ = true;
    if (m->data_length == 0) return;
    if (!reassembling_) {
      reassembling_ = true;
      remaining_ = m->remaining_data_length;
      ASSERT_LE(uint64_t{m->data_length} + m->remaining_data_length, 1048576u);
    } else {
      ASSERT_LE(m->data_length, remaining_);
      remaining_ -= m->data_length;
      ASSERT_EQ(m->remaining_data_length, remaining_);
    }
    reassembly_.insert(reassembly_.end(), m->data.begin(), m->data.end());
    if (m->remaining_data_length == 0) {
      received_.push_back(std::move(reassembly_));
      reassembly_.clear();
      reassembling_ = false;
    }
  }

  std::optional<InFlight> NextSend() {
    if (negotiate_response_) {
      InFlight out{std::move(*negotiate_response_), 0};
      negotiate_response_.reset();
      return out;
    }
    if (!negotiated_) return std::nullopt;
    const uint32_t unannounced = posted_ - client_credits_;
    const bool credits_due = unannounced > 0 && client_credits_ < 8;
    if (queue_.empty() && !respond_ && !credits_due) return std::nullopt;
    if (send_credits_ == 0) return std::nullopt;
    // 3.1.5.1: a random grant, but the last credit only for a message that grants.
    uint32_t grant = unannounced > 0 ? Pick<uint32_t>(0, unannounced) : 0;
    if (credits_due && grant == 0) grant = unannounced;
    if (send_credits_ == 1 && grant == 0) {
      if (unannounced == 0) return std::nullopt;
      grant = Pick<uint32_t>(1, unannounced);
    }
    DataTransfer h;
    h.credits_requested = Pick<uint16_t>(1, 255);
    h.credits_granted = static_cast<uint16_t>(grant);
    h.flags = Pick(0, 40) == 0 ? SMB_DIRECT_RESPONSE_REQUESTED : 0;
    ByteView payload;
    if (!queue_.empty()) {
      Outgoing& front = queue_.front();
      EXPECT_LE(front.data.size(), max_fragmented_send_);
      // 3.1.5.4 allows any DataLength that fits; vary it.
      const size_t most = std::min<size_t>(front.data.size() - front.sent, max_send_ - 24);
      const size_t n = Pick<size_t>(std::max<size_t>(1, most / 2), most);
      payload = ByteView(front.data).subspan(front.sent, n);
      h.remaining_data_length = static_cast<uint32_t>(front.data.size() - front.sent - n);
    }
    InFlight out;
    ByteWriter w(out.bytes);
    EXPECT_TRUE(EncodeDataTransfer(h, payload, w).ok());
    out.credits_granted = h.credits_granted;
    if (!queue_.empty()) {
      Outgoing& front = queue_.front();
      front.sent += payload.size();
      if (front.sent == front.data.size()) queue_.pop_front();
    }
    --send_credits_;
    client_credits_ += grant;
    respond_ = false;
    return out;
  }

 private:
  struct Outgoing {
    std::vector<uint8_t> data;
    size_t sent;
  };

  template <class T = int>
  T Pick(T lo, T hi) {
    return std::uniform_int_distribution<T>(lo, hi)(rng_);
  }
  bool HasSomethingToSend() const { return !queue_.empty() || respond_; }

  std::mt19937& rng_;
  uint32_t preferred_send_size_ = 0;
  bool negotiated_ = false;
  std::optional<std::vector<uint8_t>> negotiate_response_;
  uint32_t max_send_ = 0;
  uint32_t max_fragmented_send_ = 0;
  uint32_t posted_;              // receives posted
  uint32_t client_credits_ = 0;  // credits the client holds, as far as we granted them
  uint32_t send_credits_ = 0;
  bool respond_ = false;
  std::deque<Outgoing> queue_;
  bool reassembling_ = false;
  uint32_t remaining_ = 0;
  std::vector<uint8_t> reassembly_;
  std::deque<std::vector<uint8_t>> received_;
};

std::vector<size_t> RandomSizes(std::mt19937& rng, size_t count) {
  std::vector<size_t> sizes;
  for (size_t i = 0; i < count; ++i) {
    // Log-uniform up to 1 MiB, so that small SMB2 messages and long fragment runs both occur.
    const int bits = std::uniform_int_distribution<int>(0, 20)(rng);
    sizes.push_back(std::uniform_int_distribution<size_t>(1, size_t{1} << bits)(rng));
  }
  sizes[count / 2] = 1048576;  // exactly at MaxFragmentedSize, both ways
  return sizes;
}

int64_t SumGrants(const std::deque<InFlight>& channel) {
  int64_t sum = 0;
  for (const InFlight& m : channel) sum += m.credits_granted;
  return sum;
}

void RunSimulation(uint32_t seed, Counters* totals_out) {
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  constexpr size_t kMessages = 100;
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  Connection client = Connection::Create().value();
  ScriptedServer server(rng);
  std::deque<InFlight> to_server;
  std::deque<InFlight> to_client;

  const std::vector<size_t> client_sizes = RandomSizes(rng, kMessages);
  const std::vector<size_t> server_sizes = RandomSizes(rng, kMessages);
  size_t client_queued = 0, server_queued = 0, client_got = 0, server_got = 0;

  Timestamp now = At({});
  client.OnReceivesPosted(client.ReceivesWanted());
  ASSERT_TRUE(client.Start(now).ok());

  for (int step = 0; step < 2000000 && (client_got < kMessages || server_got < kMessages); ++step) {
    now += std::chrono::microseconds(100);
    // Upper layers keep a few messages queued.
    // The client's upper layer goes quiet now and then, so that credits and answers to
    // SMB_DIRECT_RESPONSE_REQUESTED must go out on messages of their own.
    if (client.state() == State::kConnected && client_queued < kMessages &&
        client.queued_bytes() < 2 * 1048576 && pick(0, 40) == 0) {
      ASSERT_TRUE(
          client
              .QueueSend(Pattern(client_sizes[client_queued], static_cast<uint32_t>(client_queued)))
              .ok());
      ++client_queued;
    }
    if (client.state() == State::kConnected && server_queued < kMessages && server.queued() < 3) {
      server.Queue(
          Pattern(server_sizes[server_queued], static_cast<uint32_t>(1000 + server_queued)));
      ++server_queued;
    }

    // The client's transport reposts late and by surprise.
    if (pick(0, 2) == 0) client.OnReceivesPosted(client.ReceivesWanted());
    server.PostSome();

    for (int n = pick(0, 8); n > 0; --n) {
      const uint32_t grant_before = client.peer_credits();
      auto sent = client.NextSend(now);
      if (!sent) break;
      to_server.push_back(
          {std::move(*sent), static_cast<uint16_t>(client.peer_credits() - grant_before)});
    }
    for (int n = pick(0, 8); n > 0; --n) {
      auto sent = server.NextSend();
      if (!sent) break;
      to_client.push_back(std::move(*sent));
    }
    for (int n = pick(0, 8); n > 0 && !to_server.empty(); --n) {
      server.OnReceive(to_server.front().bytes);
      if (testing::Test::HasFatalFailure()) return;
      to_server.pop_front();
    }
    for (int n = pick(0, 8); n > 0 && !to_client.empty(); --n) {
      ASSERT_GT(client.receives_posted(), 0u) << "server sent into no posted receive (RNR)";
      Status s = client.OnReceive(to_client.front().bytes, now);
      ASSERT_TRUE(s.ok()) << s.ToString();
      to_client.pop_front();
    }
    if (auto deadline = client.NextDeadline(); deadline && *deadline <= now) client.OnTimer(now);
    ASSERT_NE(client.state(), State::kDisconnected) << client.error().ToString();

    while (auto m = client.NextReassembled()) {
      ASSERT_LT(client_got, kMessages);
      ASSERT_EQ(m->data,
                Pattern(server_sizes[client_got], static_cast<uint32_t>(1000 + client_got)))
          << "message " << client_got;
      ++client_got;
    }
    while (!server.received().empty()) {
      ASSERT_LT(server_got, kMessages);
      ASSERT_EQ(server.received().front(),
                Pattern(client_sizes[server_got], static_cast<uint32_t>(server_got)))
          << "message " << server_got;
      server.received().pop_front();
      ++server_got;
    }

    if (client.state() != State::kConnected) continue;
    // Credits balance: what one side granted is held by the other, in flight, or consumed by a
    // message in flight — never more, never less, never below zero.
    ASSERT_LE(client.peer_credits(), client.receives_posted());
    ASSERT_EQ(int64_t{client.peer_credits()},
              int64_t{server.send_credits()} + int64_t(to_client.size()) + SumGrants(to_server));
    ASSERT_EQ(int64_t{server.client_credits()},
              int64_t{client.send_credits()} + int64_t(to_server.size()) + SumGrants(to_client));
    ASSERT_LE(server.client_credits(), server.posted());
  }
  EXPECT_EQ(client_got, kMessages);
  EXPECT_EQ(server_got, kMessages);
  EXPECT_EQ(client.counters().upper_messages_sent, kMessages);
  EXPECT_EQ(client.counters().upper_messages_received, kMessages);
  const Counters& k = client.counters();
  EXPECT_EQ(client.state(), State::kConnected);
  *totals_out = k;
  std::printf("seed %u: %llu sent, %llu received, %llu stalls, %llu empty, %llu credits granted\n",
              seed, static_cast<unsigned long long>(k.messages_sent),
              static_cast<unsigned long long>(k.messages_received),
              static_cast<unsigned long long>(k.send_credit_stalls),
              static_cast<unsigned long long>(k.empty_messages_sent),
              static_cast<unsigned long long>(k.credits_granted));
}

TEST(SmbdSimulator, HundredMessagesEachWayWithRandomCredits) {
  Counters sum;
  for (uint32_t seed : {1u, 2u, 3u}) {
    Counters k;
    RunSimulation(seed, &k);
    if (HasFatalFailure()) return;
    EXPECT_GT(k.fragmented_messages_received, 0u);
    EXPECT_GT(k.keepalive_requests_received, 0u);
    EXPECT_GT(k.empty_messages_sent, 0u);
    sum.send_credit_stalls += k.send_credit_stalls;
  }
  // The random peer must have driven the engine into its send-credit stalls.
  EXPECT_GT(sum.send_credit_stalls, 0u);
}

}  // namespace
}  // namespace smb3::smbd
