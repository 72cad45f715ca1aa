// SPDX-License-Identifier: LGPL-2.1-or-later
// The SMB Direct transport on the software RDMA device against a scripted MS-SMBD server:
// negotiation, fragmentation both ways, credits (stall and resume), keepalives, and a clean
// disconnect with a clear error for every failure a peer or the fabric can cause.
#include "transport/smbdirect.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "unit/transport/smbdirect_peer.h"

namespace smb3::transport {
namespace {

constexpr std::chrono::milliseconds kNoWait{0};

using namespace std::chrono_literals;
using test::LockedEndpoint;
using test::ScriptedSmbdPeer;

constexpr char kAddr[] = "10.99.0.1";
constexpr uint16_t kPort = 445;

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> p(n);
  uint32_t x = seed * 2654435761u + 7;
  for (auto& b : p) {
    x = x * 1103515245u + 12345;
    b = static_cast<uint8_t>(x >> 24);
  }
  return p;
}

smbd::NegotiateResponse Response(uint16_t credits_granted = 255,
                                 uint32_t preferred_send_size = 8192,
                                 uint32_t max_fragmented_size = 1048576) {
  smbd::NegotiateResponse r;
  r.credits_requested = 255;
  r.credits_granted = credits_granted;
  r.max_read_write_size = 8388608;
  r.preferred_send_size = preferred_send_size;
  r.max_receive_size = 8192;
  r.max_fragmented_size = max_fragmented_size;
  return r;
}

// Records what the transport delivers, from its thread.
class Recorder : public TransportHandler {
 public:
  void OnMessage(Buffer message) override {
    std::lock_guard lock(mu_);
    messages_.emplace_back(message.data(), message.data() + message.size());
    cv_.notify_all();
  }
  void OnClosed(Status why) override {
    std::lock_guard lock(mu_);
    ++closed_calls_;
    closed_ = why;
    cv_.notify_all();
  }
  void OnTick(std::chrono::steady_clock::time_point) override {
    std::lock_guard lock(mu_);
    ++ticks_;
  }

  std::optional<std::vector<uint8_t>> WaitMessage(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !messages_.empty(); })) return std::nullopt;
    auto m = std::move(messages_.front());
    messages_.erase(messages_.begin());
    return m;
  }
  std::optional<Status> WaitClosed(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return closed_.has_value(); })) return std::nullopt;
    return closed_;
  }
  int closed_calls() {
    std::lock_guard lock(mu_);
    return closed_calls_;
  }
  int ticks() {
    std::lock_guard lock(mu_);
    return ticks_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<uint8_t>> messages_;
  std::optional<Status> closed_;
  int closed_calls_ = 0;
  int ticks_ = 0;
};

class SmbDirectTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mu_ = std::make_shared<std::mutex>();
    softrdma::FabricOptions fo;
    fo.progress = softrdma::FabricOptions::Progress::kOnPost;
    fo.caps.iwarp = iwarp_;
    fabric_ = softrdma::Fabric::Create(fo);
    pool_ = BufferPool::Create();
    auto listening = fabric_->Listen(kAddr, kPort, {}, accept_);
    ASSERT_TRUE(listening.ok()) << listening.status().ToString();
    peer_ = std::make_unique<ScriptedSmbdPeer>(
        std::make_unique<LockedEndpoint>(std::move(listening).value(), mu_));
  }
  void TearDown() override {
    transport_.reset();
    peer_.reset();
  }

  std::unique_ptr<rdma::Endpoint> ClientEndpoint() {
    std::lock_guard lock(*mu_);
    auto ep = fabric_->Resolve(kAddr, kPort);
    EXPECT_TRUE(ep.ok()) << ep.status().ToString();
    return std::make_unique<LockedEndpoint>(std::move(ep).value(), mu_);
  }

  // Connects a transport while the peer answers the negotiation with `response` (or `raw`).
  Result<std::unique_ptr<Transport>> Connect(const smbd::NegotiateResponse& response,
                                             const SmbDirectOptions& options = {},
                                             std::optional<std::vector<uint8_t>> raw = {}) {
    auto connecting = std::async(std::launch::async, [&, ep = ClientEndpoint()]() mutable {
      return ConnectSmbDirect(std::move(ep), "softrdma-peer", options, pool_);
    });
    request_ = peer_->ExpectNegotiateRequest();
    Status s = raw ? peer_->SendRaw(*raw) : peer_->SendNegotiateResponse(response);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return connecting.get();
  }

  // Connected and started with `recorder_`; the first message (which grants the peer its
  // credits) already exchanged.
  void ConnectAndStart(const smbd::NegotiateResponse& response = Response(),
                       const SmbDirectOptions& options = {}) {
    auto t = Connect(response, options);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    transport_ = std::move(t).value();
    ASSERT_TRUE(transport_->Start(&recorder_).ok());
  }

  Status SendOne(ByteView message) {
    ByteView parts[] = {message};
    return transport_->Send(parts);
  }

  template <class F>
  void WithFabric(F f) {
    std::lock_guard lock(*mu_);
    f(*fabric_);
  }
  rdma::Endpoint& PeerInner() { return static_cast<LockedEndpoint&>(peer_->endpoint()).inner(); }

  // Set by a derived fixture before SetUp: an iWARP device, and the server's accept parameters.
  bool iwarp_ = false;
  rdma::ConnectParams accept_;
  std::shared_ptr<std::mutex> mu_;
  std::shared_ptr<softrdma::Fabric> fabric_;
  std::shared_ptr<BufferPool> pool_;
  std::unique_ptr<ScriptedSmbdPeer> peer_;
  smbd::NegotiateRequest request_;
  Recorder recorder_;
  std::unique_ptr<Transport> transport_;
};

TEST_F(SmbDirectTransportTest, NegotiatesWithWindowsDefaultsAndTakesThePeersFragmentedSize) {
  auto t = Connect(Response(255, 8192, 262144));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  // [MS-SMBD] 2.2.1 with the values of 7 <3>.
  EXPECT_EQ(request_.min_version, smbd::kSmbDirectVersion1);
  EXPECT_EQ(request_.credits_requested, 255);
  EXPECT_EQ(request_.preferred_send_size, 1364u);
  EXPECT_EQ(request_.max_receive_size, 8192u);
  EXPECT_EQ(request_.max_fragmented_size, 1048576u);
  EXPECT_EQ((*t)->kind(), TransportKind::kSmbDirect);
  EXPECT_EQ((*t)->max_message_size(), 262144u);
  EXPECT_EQ((*t)->peer(), "softrdma-peer");
  auto c = SmbDirectSnapshot(**t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->smbd.messages_sent, 1u);  // the negotiate request
  // One for the negotiate response, then ReceiveCreditMax for the connection.
  EXPECT_EQ(c->smbd.receives_posted, 1u + 255u);
}

TEST_F(SmbDirectTransportTest, FragmentsLargeMessagesBothWays) {
  ConnectAndStart();
  // Up: 200000 bytes in three parts, in fragments of MaxSendSize 1364 (1340 bytes of data).
  auto up = Pattern(200000, 1);
  ByteView parts[] = {ByteView(up).subspan(0, 10), ByteView(up).subspan(10, 99990),
                      ByteView(up).subspan(100000)};
  ASSERT_TRUE(transport_->Send(parts).ok());
  size_t fragments = 0;
  auto got = peer_->ReceiveUpper(&fragments);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, up);
  EXPECT_EQ(fragments, (200000 + 1339) / 1340);

  // Down: 300000 bytes in fragments of the peer's 8192-byte sends, RemainingDataLength counting
  // down; one message upward.
  auto down = Pattern(300000, 2);
  ASSERT_TRUE(peer_->SendFragmented(down).ok());
  auto delivered = recorder_.WaitMessage();
  ASSERT_TRUE(delivered.has_value());
  EXPECT_EQ(*delivered, down);
  auto c = SmbDirectSnapshot(*transport_);
  EXPECT_EQ(c->smbd.upper_messages_sent, 1u);
  EXPECT_EQ(c->smbd.upper_messages_received, 1u);
  EXPECT_EQ(c->smbd.fragmented_messages_received, 1u);

  // Many small messages keep their order.
  for (uint32_t i = 0; i < 50; ++i) {
    auto m = Pattern(100 + i, 10 + i);
    ASSERT_TRUE(SendOne(m).ok());
  }
  for (uint32_t i = 0; i < 50; ++i) {
    auto m = peer_->ReceiveUpper();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(*m, Pattern(100 + i, 10 + i));
  }
  transport_->Close();
  auto why = recorder_.WaitClosed();
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(why->Is(Code::kDisconnected)) << why->ToString();
  EXPECT_EQ(recorder_.closed_calls(), 1);
}

TEST_F(SmbDirectTransportTest, MessageAboveThePeersFragmentedSizeIsRefused) {
  ConnectAndStart(Response(255, 8192, 131072));
  std::vector<uint8_t> big(131073, 1);
  Status s = SendOne(big);
  EXPECT_TRUE(s.Is(Code::kInvalidArgument)) << s.ToString();
  std::vector<uint8_t> fits(131072, 2);
  EXPECT_TRUE(SendOne(fits).ok());
  auto got = peer_->ReceiveUpper();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), 131072u);
}

TEST_F(SmbDirectTransportTest, StallsWhenThePeerGrantsFewCreditsAndResumesOnAGrant) {
  // Two credits: the first fragment grants our receives; the last credit goes only on a message
  // that grants one more ([MS-SMBD] 3.1.5.1); then nothing moves until the peer grants.
  ConnectAndStart(Response(2));
  auto up = Pattern(20000, 3);
  ASSERT_TRUE(SendOne(up).ok());
  std::vector<uint8_t> upper;
  size_t before_grant = 0;
  uint32_t remaining = 1;
  for (;;) {
    std::vector<uint8_t> storage;
    auto d = peer_->ReceiveData(storage, 500ms);
    if (!d) break;
    upper.insert(upper.end(), d->data.begin(), d->data.end());
    remaining = d->remaining_data_length;
    ++before_grant;
  }
  EXPECT_GE(before_grant, 1u);
  EXPECT_LE(before_grant, 2u);
  ASSERT_NE(remaining, 0u);
  auto stalled = SmbDirectSnapshot(*transport_);
  EXPECT_GE(stalled->smbd.send_credit_stalls, 1u);
  // Zero credits granted in a message change nothing either.
  ASSERT_TRUE(peer_->SendData({}, 0, 0, uint16_t{0}).ok());
  std::vector<uint8_t> storage;
  auto none = peer_->ReceiveData(storage, 300ms);
  EXPECT_TRUE(!none || none->data_length == 0);
  // Now 30 credits: the rest (15 fragments in all) follows.
  ASSERT_TRUE(peer_->SendData({}, 0, 0, uint16_t{30}).ok());
  while (remaining != 0) {
    auto d = peer_->ReceiveData(storage);
    ASSERT_TRUE(d.has_value());
    if (d->data_length == 0) continue;
    upper.insert(upper.end(), d->data.begin(), d->data.end());
    remaining = d->remaining_data_length;
  }
  EXPECT_EQ(upper, up);
}

TEST_F(SmbDirectTransportTest, AnswersThePeersKeepaliveAndSendsItsOwn) {
  SmbDirectOptions o;
  o.smbd.keepalive_interval = 300ms;
  o.smbd.keepalive_response_timeout = 2s;
  ConnectAndStart(Response(), o);
  auto hello = Pattern(64, 4);
  ASSERT_TRUE(SendOne(hello).ok());
  ASSERT_TRUE(peer_->ReceiveUpper().has_value());
  // The peer asks for a response ([MS-SMBD] 3.1.5.8 SMB_DIRECT_RESPONSE_REQUESTED).
  ASSERT_TRUE(peer_->SendData({}, 0, smbd::SMB_DIRECT_RESPONSE_REQUESTED).ok());
  std::vector<uint8_t> storage;
  auto answer = peer_->ReceiveData(storage);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->data_length, 0u);
  // Idle: our own keepalive comes after the interval ([MS-SMBD] 3.1.6.2); answering it keeps
  // the connection up.
  std::optional<smbd::DataTransfer> keepalive;
  for (int i = 0; i < 10 && !keepalive; ++i) {
    auto d = peer_->ReceiveData(storage, 2s);
    if (d && (d->flags & smbd::SMB_DIRECT_RESPONSE_REQUESTED)) keepalive = d;
  }
  ASSERT_TRUE(keepalive.has_value());
  ASSERT_TRUE(peer_->SendData({}).ok());
  std::this_thread::sleep_for(1200ms);
  EXPECT_FALSE(recorder_.WaitClosed(10ms).has_value());
  EXPECT_GE(recorder_.ticks(), 1);
  auto c = SmbDirectSnapshot(*transport_);
  EXPECT_GE(c->smbd.keepalives_sent, 1u);
  EXPECT_EQ(c->smbd.keepalive_requests_received, 1u);
}

TEST_F(SmbDirectTransportTest, UnansweredKeepaliveClosesWithATimeout) {
  SmbDirectOptions o;
  o.smbd.keepalive_interval = 200ms;
  o.smbd.keepalive_response_timeout = 300ms;
  ConnectAndStart(Response(), o);
  auto why = recorder_.WaitClosed();
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(why->Is(Code::kTimeout)) << why->ToString();
  EXPECT_TRUE(SendOne(Pattern(10, 1)).Is(Code::kDisconnected));
  EXPECT_EQ(recorder_.closed_calls(), 1);
}

TEST_F(SmbDirectTransportTest, ZeroCreditsInTheNegotiateResponseAreRefused) {
  auto t = Connect(Response(0));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().Is(Code::kProtocol)) << t.status().ToString();
  auto e = peer_->NextEvent();
  while (e && e->kind != rdma::Event::Kind::kDisconnected) e = peer_->NextEvent();
  EXPECT_TRUE(peer_->disconnected());
}

TEST_F(SmbDirectTransportTest, RefusedNegotiationIsTheServersStatus) {
  smbd::NegotiateResponse r = Response();
  r.status = smbd::kStatusNotSupported;
  auto t = Connect(r);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsNt(smbd::kStatusNotSupported)) << t.status().ToString();
}

TEST_F(SmbDirectTransportTest, TruncatedNegotiateResponseIsAProtocolError) {
  auto bytes = Pattern(12, 5);
  auto t = Connect(Response(), {}, bytes);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().Is(Code::kProtocol)) << t.status().ToString();
}

TEST_F(SmbDirectTransportTest, UnansweredNegotiationTimesOut) {
  SmbDirectOptions o;
  o.connect_timeout = 300ms;
  auto ep = ClientEndpoint();
  auto t = ConnectSmbDirect(std::move(ep), "softrdma-peer", o, pool_);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().Is(Code::kTimeout)) << t.status().ToString();
}

TEST_F(SmbDirectTransportTest, RejectedConnectionIsUnreachableWithEconnrefused) {
  WithFabric([](softrdma::Fabric& f) { f.InjectConnectReject(kAddr, kPort); });
  auto t = ConnectSmbDirect(ClientEndpoint(), "softrdma-peer", {}, pool_);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().Is(Code::kUnreachable)) << t.status().ToString();
  EXPECT_EQ(t.status().detail(), static_cast<uint32_t>(ECONNREFUSED));
}

TEST_F(SmbDirectTransportTest, OversizedFragmentDisconnectsWithAProtocolError) {
  // The peer promised PreferredSendSize 1364, then sends 2000 bytes ([MS-SMBD] 3.1.5.8).
  ConnectAndStart(Response(255, 1364));
  ASSERT_TRUE(SendOne(Pattern(10, 6)).ok());
  ASSERT_TRUE(peer_->ReceiveUpper().has_value());
  auto payload = Pattern(2000 - smbd::kDataTransferDataOffset, 7);
  ASSERT_TRUE(peer_->SendData(payload).ok());
  auto why = recorder_.WaitClosed();
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(why->Is(Code::kProtocol)) << why->ToString();
  EXPECT_TRUE(recorder_.WaitMessage(50ms) == std::nullopt);
  EXPECT_TRUE(SendOne(Pattern(10, 1)).Is(Code::kDisconnected));
  EXPECT_EQ(recorder_.closed_calls(), 1);
}

TEST_F(SmbDirectTransportTest, FragmentAboveMaxFragmentedSizeDisconnects) {
  ConnectAndStart();
  ASSERT_TRUE(SendOne(Pattern(10, 6)).ok());
  ASSERT_TRUE(peer_->ReceiveUpper().has_value());
  // RemainingDataLength announces more than our MaxFragmentedSize (1 MiB) in all.
  ASSERT_TRUE(peer_->SendData(Pattern(100, 8), 1048576).ok());
  auto why = recorder_.WaitClosed();
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(why->Is(Code::kProtocol)) << why->ToString();
}

TEST_F(SmbDirectTransportTest, PeerQpErrorFailsOurNextSendAndCloses) {
  ConnectAndStart();
  ASSERT_TRUE(SendOne(Pattern(10, 6)).ok());
  ASSERT_TRUE(peer_->ReceiveUpper().has_value());
  WithFabric([&](softrdma::Fabric& f) { f.InjectQpError(PeerInner()); });
  (void)SendOne(Pattern(100, 9));
  auto why = recorder_.WaitClosed();
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(why->Is(Code::kDisconnected)) << why->ToString();
  EXPECT_TRUE(SendOne(Pattern(10, 1)).Is(Code::kDisconnected));
  EXPECT_EQ(recorder_.closed_calls(), 1);
}

// An idle connection whose peer's queue pair died: the error tells us nothing (as on RC
// hardware: no DREQ, no event) and we send nothing, so only the Idle Connection Timer can find it
// ([MS-SMBD] 3.1.6.2): its keepalive SEND is never acknowledged (retries exceeded) and the
// connection closes with kDisconnected, within the interval rather than the keepalive time.
TEST_F(SmbDirectTransportTest, IdleConnectionToADeadPeerIsFoundByTheKeepalive) {
  SmbDirectOptions o;
  o.smbd.keepalive_interval = 1s;
  o.smbd.keepalive_response_timeout = 5s;
  // The timer starts at the negotiate, inside ConnectAndStart: "before" bounds when it fires.
  const auto before = std::chrono::steady_clock::now();
  ConnectAndStart(Response(), o);
  const auto start = std::chrono::steady_clock::now();
  WithFabric([&](softrdma::Fabric& f) { f.InjectQpError(PeerInner()); });
  // Nothing can notice before the timer.
  const auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(
      before + o.smbd.keepalive_interval - std::chrono::steady_clock::now() - 50ms);
  if (quiet > 0ms) {
    EXPECT_FALSE(recorder_.WaitClosed(quiet).has_value());
  }
  auto why = recorder_.WaitClosed();
  ASSERT_TRUE(why.has_value());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(why->Is(Code::kDisconnected)) << why->ToString();
  EXPECT_LT(took, 3s);  // the keepalive's failed SEND, not its 5 s response time
  auto c = SmbDirectSnapshot(*transport_);
  EXPECT_EQ(c->smbd.keepalives_sent, 1u);
  EXPECT_EQ(recorder_.closed_calls(), 1);
}

TEST_F(SmbDirectTransportTest, LostConnectionCloses) {
  ConnectAndStart();
  WithFabric([&](softrdma::Fabric& f) { f.InjectConnectionLoss(PeerInner()); });
  auto why = recorder_.WaitClosed();
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(why->Is(Code::kDisconnected)) << why->ToString();
  EXPECT_NE(std::string(why->where()).find("lost"), std::string::npos) << why->ToString();
  transport_->Close();
  EXPECT_EQ(recorder_.closed_calls(), 1);
}

TEST_F(SmbDirectTransportTest, CloseWhileSendsAreQueuedFailsThemAndLaterSends) {
  ConnectAndStart(Response(1));
  ASSERT_TRUE(SendOne(Pattern(100000, 10)).ok());
  std::vector<uint8_t> storage;
  ASSERT_TRUE(peer_->ReceiveData(storage).has_value());
  auto c = SmbDirectSnapshot(*transport_);
  EXPECT_GT(c->smbd.send_credit_stalls, 0u);
  transport_->Close();
  transport_->Close();  // idempotent
  auto why = recorder_.WaitClosed(0ms);
  ASSERT_TRUE(why.has_value());
  EXPECT_TRUE(why->Is(Code::kDisconnected)) << why->ToString();
  EXPECT_EQ(recorder_.closed_calls(), 1);
  EXPECT_TRUE(SendOne(Pattern(10, 1)).Is(Code::kDisconnected));
  auto e = peer_->NextEvent();
  while (e && e->kind != rdma::Event::Kind::kDisconnected) e = peer_->NextEvent();
  EXPECT_TRUE(peer_->disconnected());
}

// Close from inside the handler (the transport's own thread) neither deadlocks nor repeats
// OnClosed.
class ClosingRecorder : public Recorder {
 public:
  Transport* transport = nullptr;
  void OnMessage(Buffer message) override {
    transport->Close();
    Recorder::OnMessage(std::move(message));
  }
};

TEST_F(SmbDirectTransportTest, CloseFromTheHandlerThread) {
  auto t = Connect(Response());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  transport_ = std::move(t).value();
  ClosingRecorder closing;
  closing.transport = transport_.get();
  ASSERT_TRUE(transport_->Start(&closing).ok());
  ASSERT_TRUE(SendOne(Pattern(10, 6)).ok());
  ASSERT_TRUE(peer_->ReceiveUpper().has_value());
  ASSERT_TRUE(peer_->SendFragmented(Pattern(50, 11)).ok());
  ASSERT_TRUE(closing.WaitMessage().has_value());
  auto why = closing.WaitClosed();
  ASSERT_TRUE(why.has_value());
  transport_.reset();
  EXPECT_EQ(closing.closed_calls(), 1);
}

TEST_F(SmbDirectTransportTest, OffersTheDataChannelAndHandsItTheServersInvalidation) {
  SmbDirectOptions o;
  o.rdma_buffer_size = 65536;
  o.rdma_buffer_count = 2;
  ConnectAndStart(Response(), o);
  auto channel = transport_->rdma_channel();
  ASSERT_NE(channel, nullptr);
  EXPECT_EQ(channel->max_io_size(), 65536u);
  auto buffer = channel->Acquire(4096, /*server_writes=*/true, kNoWait);
  ASSERT_TRUE(buffer.ok()) << buffer.status().ToString();
  ASSERT_TRUE(SendOne(Pattern(64, 12)).ok());  // the READ request, granting the peer credits
  ASSERT_TRUE(peer_->ReceiveUpper().has_value());
  // The server writes the data, then answers with SEND_WITH_INVALIDATE of the key when asked to.
  auto data = Pattern(4096, 13);
  ASSERT_TRUE(peer_->WriteTo(data, {buffer->remote_offset, buffer->remote_token, 4096}).ok());
  std::optional<uint32_t> invalidate;
  if (buffer->remote_invalidate) invalidate = buffer->remote_token;
  ASSERT_TRUE(peer_->SendData(Pattern(80, 14), 0, 0, std::nullopt, invalidate).ok());
  ASSERT_TRUE(recorder_.WaitMessage().has_value());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), buffer->memory.begin()));
  if (buffer->remote_invalidate) {
    EXPECT_EQ(channel->counters().windows_invalidated_remote, 1u);
  }
  channel->Release(buffer->handle);
  transport_->Close();
  auto after = channel->Acquire(4096, true, kNoWait);
  EXPECT_TRUE(after.status().Is(Code::kDisconnected)) << after.status().ToString();
}

TEST_F(SmbDirectTransportTest, NoDataChannelWhenNoBuffersAreAskedFor) {
  SmbDirectOptions o;
  o.rdma_buffer_count = 0;
  ConnectAndStart(Response(), o);
  EXPECT_EQ(transport_->rdma_channel(), nullptr);
}

// [MS-SMBD] 6.1-6.2 over an iWARP device: our IRD/ORD go first in the connect's private data; the
// server's answer in its accept is checked.
class SmbDirectIwarpTest : public SmbDirectTransportTest {
 protected:
  explicit SmbDirectIwarpTest(std::vector<uint8_t> answer) {
    iwarp_ = true;
    accept_.private_data = std::move(answer);
  }
  static IrdOrd Ours() {
    const auto caps = softrdma::FabricOptions::DefaultCaps();
    return {std::min(caps.max_qp_rd_atom, 255u), std::min(caps.max_qp_init_rd_atom, 255u)};
  }
};
class SmbDirectIwarpAnswered : public SmbDirectIwarpTest {
 protected:
  SmbDirectIwarpAnswered() : SmbDirectIwarpTest(EncodeIrdOrdHeader({Ours().ird, 1})) {}
};
class SmbDirectIwarpZeroAnswer : public SmbDirectIwarpTest {
 protected:
  SmbDirectIwarpZeroAnswer() : SmbDirectIwarpTest(EncodeIrdOrdHeader({Ours().ird, 0})) {}
};

TEST_F(SmbDirectIwarpAnswered, SendsItsIrdOrdAndAcceptsTheServersAnswer) {
  auto t = Connect(Response());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(peer_->connect_private_data(), EncodeIrdOrdHeader(Ours()));
  EXPECT_GT(Ours().ird, 0u);
}

TEST_F(SmbDirectIwarpZeroAnswer, ZeroDepthInTheServersAnswerIsRefused) {
  auto ep = ClientEndpoint();
  auto t = ConnectSmbDirect(std::move(ep), "softrdma-peer", {}, pool_);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().Is(Code::kProtocol)) << t.status().ToString();
  auto e = peer_->NextEvent();
  while (e && e->kind != rdma::Event::Kind::kDisconnected) e = peer_->NextEvent();
  EXPECT_TRUE(peer_->disconnected());
}

TEST(IrdOrd, HeaderIsBigEndianIrdThenOrd) {
  EXPECT_EQ(EncodeIrdOrdHeader({16, 8}), (std::vector<uint8_t>{0, 0, 0, 16, 0, 0, 0, 8}));
  EXPECT_EQ(EncodeIrdOrdHeader({0x01020304, 0x0A0B0C0D}),
            (std::vector<uint8_t>{1, 2, 3, 4, 10, 11, 12, 13}));
}

TEST(IrdOrd, AnswerIsCheckedAgainstWhatWeOffered) {
  const IrdOrd ours{16, 8};
  // No header: a provider that negotiates IRD/ORD itself (RFC 6581), or an IB-padded blob.
  auto none = CheckIrdOrdReply({}, ours);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto padded = CheckIrdOrdReply(std::vector<uint8_t>(56), ours);
  ASSERT_TRUE(padded.ok());
  EXPECT_FALSE(padded->has_value());
  auto smaller = CheckIrdOrdReply(EncodeIrdOrdHeader({4, 2}), ours);
  ASSERT_TRUE(smaller.ok());
  ASSERT_TRUE(smaller->has_value());
  EXPECT_EQ((*smaller)->ird, 4u);
  EXPECT_EQ((*smaller)->ord, 2u);
  EXPECT_TRUE(CheckIrdOrdReply(EncodeIrdOrdHeader({16, 8}), ours).ok());
  for (IrdOrd bad : {IrdOrd{0, 8}, IrdOrd{16, 0}, IrdOrd{17, 8}, IrdOrd{16, 9}}) {
    auto r = CheckIrdOrdReply(EncodeIrdOrdHeader(bad), ours);
    ASSERT_FALSE(r.ok()) << bad.ird << "/" << bad.ord;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << r.status().ToString();
  }
}

TEST(SmbDirectPort, IwarpUses5445ForSmbsPort) {
  rdma::DeviceCaps roce;
  rdma::DeviceCaps iwarp;
  iwarp.iwarp = true;
  EXPECT_EQ(SmbDirectPort(roce, 445), 445);
  EXPECT_EQ(SmbDirectPort(iwarp, 445), 5445);
  EXPECT_EQ(SmbDirectPort(iwarp, 10445), 10445);
}

}  // namespace
}  // namespace smb3::transport
