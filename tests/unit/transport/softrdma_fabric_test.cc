// SPDX-License-Identifier: LGPL-2.1-or-later
// The software RDMA device: connection, SEND/RECV, receiver-not-ready, and the memory protection
// an SMB Direct client relies on (a server may touch our memory only through a window bound for
// the I/O in flight), with the faults a real fabric has.
#include <gtest/gtest.h>
#include <poll.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "transport/softrdma/fabric.h"

namespace smb3::transport::softrdma {
namespace {

using rdma::Access;
using rdma::ConnectParams;
using rdma::Endpoint;
using rdma::Event;
using rdma::MemoryRegion;
using rdma::MemoryWindow;
using rdma::RemoteWindow;
using rdma::Sge;
using rdma::WcStatus;
using rdma::WindowMechanism;

constexpr char kAddr[] = "10.99.0.1";
constexpr uint16_t kPort = 445;
constexpr size_t kRegionSize = 64 * 1024;
constexpr uint32_t kAllAccess =
    Access::kLocalWrite | Access::kRemoteWrite | Access::kRemoteRead | Access::kMwBind;

// One side: its endpoint, one page-aligned registered region (as the registrar will hold it), and
// the events it has seen.
struct Side {
  std::unique_ptr<Endpoint> ep;
  Buffer memory;
  std::unique_ptr<MemoryRegion> mr;
  std::vector<Event> events;

  uint8_t* at(size_t offset) { return memory.data() + offset; }
  // Collects what the endpoint produced, as an event loop would after poll().
  const std::vector<Event>& Drain() {
    EXPECT_TRUE(ep->Process().ok());
    while (auto e = ep->NextEvent()) events.push_back(std::move(*e));
    return events;
  }
  Event Take() {
    Drain();
    EXPECT_FALSE(events.empty());
    if (events.empty()) return Event{};
    Event e = std::move(events.front());
    events.erase(events.begin());
    return e;
  }
  void Fill(size_t offset, const std::string& s) { std::memcpy(at(offset), s.data(), s.size()); }
  std::string Read(size_t offset, size_t n) { return std::string(at(offset), at(offset) + n); }
};

class SoftRdmaTest : public ::testing::Test {
 protected:
  void Build(const FabricOptions& options = {}, uint32_t client_access = kAllAccess) {
    fabric_ = Fabric::Create(options);
    pool_ = BufferPool::Create();
    rdma::QueueOptions queues;
    queues.max_inline_data = 64;
    auto server = fabric_->Listen(kAddr, kPort, queues);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_.ep = std::move(server).value();
    auto client = fabric_->Resolve(kAddr, kPort, queues);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_.ep = std::move(client).value();
    for (Side* side : {&client_, &server_}) {
      side->memory = pool_->Get(kRegionSize);
      std::memset(side->memory.data(), 0, kRegionSize);
      auto mr =
          side->ep->Register(side->memory.span(), side == &client_ ? client_access : kAllAccess);
      ASSERT_TRUE(mr.ok()) << mr.status().ToString();
      side->mr = std::move(mr).value();
    }
  }

  // Builds, posts `receives` receives on each side (before connecting, as the real order is) and
  // connects with `params`.
  void Connected(const FabricOptions& options = {}, const ConnectParams& params = {},
                 int receives = 1) {
    Build(options);
    for (int i = 0; i < receives; ++i) {
      PostRecv(client_, 100 + i, 1024u * static_cast<uint32_t>(i));
      PostRecv(server_, 200 + i, 1024u * static_cast<uint32_t>(i));
    }
    ASSERT_TRUE(client_.ep->Connect(params).ok());
    Event connected = server_.Take();
    EXPECT_EQ(connected.kind, Event::Kind::kConnected);
  }

  void PostRecv(Side& side, uint64_t wr_id, size_t offset, uint32_t length = 1024) {
    Sge sge = side.mr->Slice(offset, length);
    ASSERT_TRUE(side.ep->PostReceive(wr_id, {&sge, 1}).ok());
  }
  Status Send(Side& side, uint64_t wr_id, size_t offset, uint32_t length,
              std::optional<uint32_t> invalidate = std::nullopt) {
    Sge sge = side.mr->Slice(offset, length);
    return side.ep->PostSend(wr_id, {&sge, 1}, false, invalidate);
  }
  // The server's RDMA WRITE of `data` (staged at its offset 32768) to `to`.
  Event ServerWrite(const std::string& data, const RemoteWindow& to) {
    server_.Fill(32768, data);
    Sge sge = server_.mr->Slice(32768, static_cast<uint32_t>(data.size()));
    EXPECT_TRUE(server_.ep->PostWrite(7, {&sge, 1}, to).ok());
    fabric_->RunUntilIdle();
    return server_.Take();
  }
  // Binds `window` on the client's region and waits for the bind.
  void BindClient(MemoryWindow& window, size_t offset, uint32_t length, uint32_t access) {
    ASSERT_TRUE(client_.ep->Bind(50, window, *client_.mr, offset, length, access).ok());
    fabric_->RunUntilIdle();
    Event bind = client_.Take();
    ASSERT_EQ(bind.kind, Event::Kind::kBind);
    ASSERT_TRUE(bind.ok()) << bind.status.ToString();
    ASSERT_TRUE(window.bound());
  }
  std::unique_ptr<MemoryWindow> NewWindow() {
    auto w = client_.ep->AllocateWindow();
    EXPECT_TRUE(w.ok());
    return std::move(w).value();
  }
  // After a fatal error on the client: its receives come back flushed and posting is refused.
  void ExpectClientBroken() {
    client_.Drain();
    bool saw_flush = false;
    for (const Event& e : client_.events) saw_flush |= e.flushed();
    EXPECT_TRUE(saw_flush);
    EXPECT_TRUE(Send(client_, 1, 0, 8).Is(Code::kDisconnected));
  }

  std::shared_ptr<Fabric> fabric_;
  std::shared_ptr<BufferPool> pool_;
  Side client_;
  Side server_;
};

TEST_F(SoftRdmaTest, ResolveWithoutListenerAtAddressIsUnreachable) {
  auto fabric = Fabric::Create();
  auto ep = fabric->Resolve("10.0.0.9", kPort);
  ASSERT_FALSE(ep.ok());
  EXPECT_TRUE(ep.status().Is(Code::kUnreachable));
  EXPECT_EQ(ep.status().detail(), static_cast<uint32_t>(EHOSTUNREACH));
}

TEST_F(SoftRdmaTest, ConnectToWrongPortOrRejectedIsRefused) {
  auto fabric = Fabric::Create();
  auto listener = fabric->Listen(kAddr, kPort);
  ASSERT_TRUE(listener.ok());
  auto wrong_port = fabric->Resolve(kAddr, 5445);
  ASSERT_TRUE(wrong_port.ok());
  Status s = (*wrong_port)->Connect({});
  EXPECT_TRUE(s.Is(Code::kUnreachable));
  EXPECT_EQ(s.detail(), static_cast<uint32_t>(ECONNREFUSED));

  fabric->InjectConnectReject(kAddr, kPort);
  auto rejected = fabric->Resolve(kAddr, kPort);
  ASSERT_TRUE(rejected.ok());
  EXPECT_TRUE((*rejected)->Connect({}).Is(Code::kUnreachable));
  // The rejection was for one attempt only.
  auto second = fabric->Resolve(kAddr, kPort);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*second)->Connect({}).ok());
  EXPECT_EQ((*second)->state(), Endpoint::State::kConnected);
  EXPECT_EQ((*listener)->state(), Endpoint::State::kConnected);
}

TEST_F(SoftRdmaTest, ConnectHandsPrivateDataToTheListener) {
  Build();
  EXPECT_EQ(client_.ep->state(), Endpoint::State::kResolved);
  EXPECT_EQ(client_.ep->caps().name, "softrdma");
  EXPECT_EQ(client_.ep->window_mechanism(), WindowMechanism::kMemoryWindow);
  ConnectParams params;
  params.private_data = {1, 2, 3, 4};
  ASSERT_TRUE(client_.ep->Connect(params).ok());
  Event e = server_.Take();
  EXPECT_EQ(e.kind, Event::Kind::kConnected);
  EXPECT_EQ(e.private_data, params.private_data);
  EXPECT_TRUE(client_.ep->Connect(params).Is(Code::kInvalidArgument));  // not twice
}

TEST_F(SoftRdmaTest, SendBeforeConnectIsRefused) {
  Build();
  EXPECT_TRUE(Send(client_, 1, 0, 8).Is(Code::kInvalidArgument));
}

TEST_F(SoftRdmaTest, SendRecvRoundTripGathersAndCompletesInOrder) {
  Connected();
  client_.Fill(8192, "negotiate");
  client_.Fill(9000, "-request");
  Sge parts[] = {client_.mr->Slice(8192, 9), client_.mr->Slice(9000, 8)};
  ASSERT_TRUE(client_.ep->PostSend(1, parts).ok());
  // Manual progress: nothing moves until the fabric steps.
  EXPECT_TRUE(server_.Drain().empty());
  fabric_->RunUntilIdle();
  Event recv = server_.Take();
  EXPECT_EQ(recv.kind, Event::Kind::kRecv);
  EXPECT_EQ(recv.wr_id, 200u);
  EXPECT_TRUE(recv.ok());
  EXPECT_EQ(recv.byte_len, 17u);
  EXPECT_FALSE(recv.invalidated_rkey.has_value());
  EXPECT_EQ(server_.Read(0, 17), "negotiate-request");
  Event sent = client_.Take();
  EXPECT_EQ(sent.kind, Event::Kind::kSend);
  EXPECT_EQ(sent.wr_id, 1u);
  EXPECT_TRUE(sent.ok());

  server_.Fill(8192, "response");
  ASSERT_TRUE(Send(server_, 2, 8192, 8).ok());
  fabric_->RunUntilIdle();
  Event reply = client_.Take();
  EXPECT_EQ(reply.wr_id, 100u);
  EXPECT_EQ(client_.Read(0, 8), "response");
  EXPECT_EQ(fabric_->counters().sends_delivered, 2u);
}

TEST_F(SoftRdmaTest, InlineSendCopiesAtPostTime) {
  Connected();
  client_.Fill(8192, "inline!!");
  Sge sge = client_.mr->Slice(8192, 8);
  ASSERT_TRUE(client_.ep->PostSend(1, {&sge, 1}, /*inline_data=*/true).ok());
  client_.Fill(8192, "changed!");  // the buffer is free again once posted inline
  fabric_->RunUntilIdle();
  EXPECT_EQ(server_.Take().byte_len, 8u);
  EXPECT_EQ(server_.Read(0, 8), "inline!!");
  Sge too_big = client_.mr->Slice(8192, 65);
  EXPECT_TRUE(client_.ep->PostSend(2, {&too_big, 1}, true).Is(Code::kInvalidArgument));
}

TEST_F(SoftRdmaTest, CompletionDescriptorBecomesReadableAndProcessClearsIt) {
  Connected();
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  fabric_->RunUntilIdle();
  pollfd pfd{server_.ep->cq_fd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 0), 1);
  server_.Drain();
  EXPECT_EQ(poll(&pfd, 1, 0), 0);
  EXPECT_EQ(server_.events.size(), 1u);
}

TEST_F(SoftRdmaTest, OnPostProgressDeliversImmediately) {
  FabricOptions options;
  options.progress = FabricOptions::Progress::kOnPost;
  Connected(options);
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  EXPECT_EQ(server_.Take().kind, Event::Kind::kRecv);
}

TEST_F(SoftRdmaTest, ReceiverNotReadyWaitsForeverWithRnrRetrySeven) {
  Connected({}, {}, /*receives=*/0);
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  fabric_->RunUntilIdle();
  EXPECT_TRUE(client_.Drain().empty());  // still retrying
  EXPECT_GT(fabric_->counters().rnr_naks, 0u);
  PostRecv(server_, 300, 0);
  fabric_->RunUntilIdle();
  EXPECT_EQ(server_.Take().wr_id, 300u);
  EXPECT_TRUE(client_.Take().ok());
}

TEST_F(SoftRdmaTest, ReceiverNotReadyFailsOnceFiniteRetriesAreSpent) {
  ConnectParams params;
  params.rnr_retry_count = 2;
  Connected({}, params, /*receives=*/0);
  PostRecv(client_, 100, 0);
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  ASSERT_TRUE(Send(client_, 2, 8192, 4).ok());
  fabric_->RunUntilIdle();
  EXPECT_EQ(fabric_->counters().rnr_naks, 3u);  // the first try and two retries
  Event failed = client_.Take();
  EXPECT_EQ(failed.wr_id, 1u);
  EXPECT_EQ(failed.wc_status, WcStatus::kRnrRetryExceeded);
  EXPECT_TRUE(failed.status.Is(Code::kDisconnected));
  // The queue pair is in error: what was queued behind it, and the receive, come back flushed.
  Event second = client_.Take();
  EXPECT_EQ(second.wr_id, 2u);
  EXPECT_TRUE(second.flushed());
  Event recv = client_.Take();
  EXPECT_EQ(recv.wr_id, 100u);
  EXPECT_TRUE(recv.flushed());
  EXPECT_TRUE(Send(client_, 3, 8192, 4).Is(Code::kDisconnected));
}

TEST_F(SoftRdmaTest, InjectedRnrOnlyDelaysWithInfiniteRetry) {
  Connected();
  fabric_->InjectRnr(*server_.ep, 3);
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  EXPECT_TRUE(fabric_->Step());
  EXPECT_TRUE(fabric_->Step());
  EXPECT_TRUE(fabric_->Step());
  EXPECT_TRUE(server_.Drain().empty());
  EXPECT_TRUE(fabric_->Step());
  EXPECT_EQ(server_.Take().kind, Event::Kind::kRecv);
  EXPECT_EQ(fabric_->counters().rnr_naks, 3u);
}

TEST_F(SoftRdmaTest, InjectedDelayHoldsTheSendQueue) {
  Connected();
  fabric_->InjectDelay(*client_.ep, 5);
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  for (int i = 0; i < 5; ++i) fabric_->Step();
  EXPECT_TRUE(server_.Drain().empty());
  fabric_->Step();
  EXPECT_EQ(server_.Take().kind, Event::Kind::kRecv);
}

TEST_F(SoftRdmaTest, OversizedMessageIsALengthErrorOnBothSides) {
  Connected();
  ASSERT_TRUE(Send(client_, 1, 8192, 2048).ok());  // receive holds 1024
  fabric_->RunUntilIdle();
  EXPECT_EQ(server_.Take().wc_status, WcStatus::kLocalLength);
  EXPECT_EQ(client_.Take().wc_status, WcStatus::kRemoteInvalidRequest);
}

TEST_F(SoftRdmaTest, LocalKeyAndBoundsAreChecked) {
  Connected();
  Sge bad_key = client_.mr->Slice(8192, 8);
  bad_key.lkey ^= 0x100;
  ASSERT_TRUE(client_.ep->PostSend(1, {&bad_key, 1}).ok());
  fabric_->RunUntilIdle();
  Event e = client_.Take();
  EXPECT_EQ(e.wc_status, WcStatus::kLocalProtection);
  EXPECT_TRUE(e.status.Is(Code::kProtocol));
  ExpectClientBroken();
}

TEST_F(SoftRdmaTest, SendBeyondTheRegionIsALocalProtectionError) {
  Connected();
  Sge beyond = client_.mr->Slice(kRegionSize - 4, 8);
  ASSERT_TRUE(client_.ep->PostSend(1, {&beyond, 1}).ok());
  fabric_->RunUntilIdle();
  EXPECT_EQ(client_.Take().wc_status, WcStatus::kLocalProtection);
}

TEST_F(SoftRdmaTest, ReceiveIntoReadOnlyMemoryFails) {
  Build({}, Access::kRemoteRead);  // client region without kLocalWrite
  PostRecv(client_, 100, 0);
  ASSERT_TRUE(client_.ep->Connect({}).ok());
  ASSERT_TRUE(Send(server_, 1, 8192, 4).ok());
  fabric_->RunUntilIdle();
  EXPECT_EQ(client_.Take().wc_status, WcStatus::kLocalProtection);
}

// --- Memory windows: the server touches our memory only while an I/O needs it -------------------

TEST_F(SoftRdmaTest, PeerWritesIntoBoundWindowUntilItInvalidatesIt) {
  Connected();
  auto window = NewWindow();
  EXPECT_FALSE(window->bound());
  BindClient(*window, 16384, 4096, Access::kRemoteWrite);
  RemoteWindow remote = window->remote();
  EXPECT_EQ(remote.addr, reinterpret_cast<uint64_t>(client_.at(16384)));
  EXPECT_EQ(remote.length, 4096u);

  Event write = ServerWrite("file data for READ", remote);
  EXPECT_EQ(write.kind, Event::Kind::kRdmaWrite);
  EXPECT_TRUE(write.ok()) << write.status.ToString();
  EXPECT_EQ(write.byte_len, 18u);
  EXPECT_EQ(client_.Read(16384, 18), "file data for READ");
  EXPECT_EQ(fabric_->counters().rdma_write_bytes, 18u);

  // The READ response comes with SMB2_CHANNEL_RDMA_V1_INVALIDATE: SEND_WITH_INVALIDATE.
  ASSERT_TRUE(Send(server_, 8, 8192, 4, remote.rkey).ok());
  fabric_->RunUntilIdle();
  Event recv = client_.Take();
  ASSERT_TRUE(recv.ok());
  ASSERT_TRUE(recv.invalidated_rkey.has_value());
  EXPECT_EQ(*recv.invalidated_rkey, remote.rkey);
  EXPECT_FALSE(window->bound());
  EXPECT_TRUE(server_.Take().ok());

  // A peer writing after its I/O completed fails, and our memory is untouched.
  PostRecv(client_, 101, 1024);
  Event late = ServerWrite("LATE", remote);
  EXPECT_EQ(late.wc_status, WcStatus::kRemoteAccess);
  EXPECT_TRUE(late.status.Is(Code::kProtocol));
  EXPECT_EQ(client_.Read(16384, 4), "file");
  EXPECT_EQ(fabric_->counters().remote_access_errors, 1u);
  ExpectClientBroken();
}

TEST_F(SoftRdmaTest, LocalInvalidationKillsTheKey) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 0, 8192, Access::kRemoteWrite);
  RemoteWindow remote = window->remote();
  ASSERT_TRUE(client_.ep->Invalidate(51, *window).ok());
  fabric_->RunUntilIdle();
  Event inv = client_.Take();
  EXPECT_EQ(inv.kind, Event::Kind::kInvalidate);
  EXPECT_TRUE(inv.ok());
  EXPECT_FALSE(window->bound());
  EXPECT_EQ(fabric_->counters().windows_invalidated_local, 1u);
  EXPECT_TRUE(client_.ep->Invalidate(52, *window).Is(Code::kInvalidArgument));
  EXPECT_EQ(ServerWrite("stale", remote).wc_status, WcStatus::kRemoteAccess);
}

TEST_F(SoftRdmaTest, RebindGivesAFreshKeyAndTheOldOneStaysDead) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 0, 4096, Access::kRemoteWrite);
  RemoteWindow first = window->remote();
  EXPECT_TRUE(client_.ep->Bind(53, *window, *client_.mr, 0, 4096, Access::kRemoteWrite)
                  .Is(Code::kInvalidArgument));  // bound already
  ASSERT_TRUE(client_.ep->Invalidate(51, *window).ok());
  fabric_->RunUntilIdle();
  client_.Take();
  BindClient(*window, 4096, 4096, Access::kRemoteWrite);
  RemoteWindow second = window->remote();
  EXPECT_NE(first.rkey, second.rkey);
  EXPECT_EQ(first.rkey >> 8, second.rkey >> 8);  // same window, new key byte
  EXPECT_TRUE(ServerWrite("second", second).ok());
  EXPECT_EQ(client_.Read(4096, 6), "second");
  EXPECT_EQ(ServerWrite("first", first).wc_status, WcStatus::kRemoteAccess);
  EXPECT_EQ(client_.Read(0, 5), std::string(5, '\0'));
}

TEST_F(SoftRdmaTest, WriteOutsideTheWindowIsRefused) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 16384, 4096, Access::kRemoteWrite);
  RemoteWindow past_end = window->remote();
  past_end.addr += 4096 - 4;  // 8 bytes from 4 before the end
  EXPECT_EQ(ServerWrite("overflow", past_end).wc_status, WcStatus::kRemoteAccess);
  EXPECT_EQ(client_.Read(16384 + 4096 - 4, 8), std::string(8, '\0'));
}

TEST_F(SoftRdmaTest, WriteBeforeTheWindowIsRefused) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 16384, 4096, Access::kRemoteWrite);
  RemoteWindow before = window->remote();
  before.addr -= 1;
  EXPECT_EQ(ServerWrite("x", before).wc_status, WcStatus::kRemoteAccess);
  EXPECT_EQ(client_.Read(16383, 1), std::string(1, '\0'));
}

TEST_F(SoftRdmaTest, WrongKeyIsRefused) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 0, 4096, Access::kRemoteWrite);
  RemoteWindow wrong = window->remote();
  wrong.rkey ^= 0x1;  // same window, another key byte
  EXPECT_EQ(ServerWrite("x", wrong).wc_status, WcStatus::kRemoteAccess);
}

TEST_F(SoftRdmaTest, WriteIntoReadOnlyWindowIsRefused) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 0, 4096, Access::kRemoteRead);
  EXPECT_EQ(ServerWrite("x", window->remote()).wc_status, WcStatus::kRemoteAccess);
}

TEST_F(SoftRdmaTest, PeerReadsFromAReadWindowOnly) {
  Connected();
  auto window = NewWindow();
  client_.Fill(20480, "file data for WRITE");
  BindClient(*window, 20480, 19, Access::kRemoteRead);
  Sge into = server_.mr->Slice(40960, 19);
  ASSERT_TRUE(server_.ep->PostRead(9, {&into, 1}, window->remote()).ok());
  fabric_->RunUntilIdle();
  Event read = server_.Take();
  EXPECT_EQ(read.kind, Event::Kind::kRdmaRead);
  EXPECT_TRUE(read.ok());
  EXPECT_EQ(server_.Read(40960, 19), "file data for WRITE");
  EXPECT_EQ(fabric_->counters().rdma_read_bytes, 19u);
}

TEST_F(SoftRdmaTest, ReadFromAWriteOnlyWindowIsRefused) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 0, 4096, Access::kRemoteWrite);
  Sge into = server_.mr->Slice(40960, 16);
  ASSERT_TRUE(server_.ep->PostRead(9, {&into, 1}, window->remote()).ok());
  fabric_->RunUntilIdle();
  EXPECT_EQ(server_.Take().wc_status, WcStatus::kRemoteAccess);
  ExpectClientBroken();
}

TEST_F(SoftRdmaTest, BindOnARegionWithoutMwBindFailsLikeHardware) {
  Build({}, Access::kLocalWrite | Access::kRemoteWrite);
  ASSERT_TRUE(client_.ep->Connect({}).ok());
  auto window = NewWindow();
  ASSERT_TRUE(client_.ep->Bind(50, *window, *client_.mr, 0, 4096, Access::kRemoteWrite).ok());
  fabric_->RunUntilIdle();
  Event bind = client_.Take();
  EXPECT_EQ(bind.wc_status, WcStatus::kMemoryWindowBind);
  EXPECT_FALSE(window->bound());
}

TEST_F(SoftRdmaTest, BindArgumentsAreChecked) {
  Connected();
  auto window = NewWindow();
  EXPECT_TRUE(client_.ep->Bind(1, *window, *client_.mr, kRegionSize - 10, 11, Access::kRemoteWrite)
                  .Is(Code::kInvalidArgument));
  EXPECT_TRUE(client_.ep->Bind(1, *window, *client_.mr, 0, 16, 0).Is(Code::kInvalidArgument));
  EXPECT_TRUE(client_.ep->Bind(1, *window, *client_.mr, 0, 16, Access::kLocalWrite)
                  .Is(Code::kInvalidArgument));
}

TEST_F(SoftRdmaTest, DeregisteringTheRegionKillsItsWindows) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 0, 4096, Access::kRemoteWrite);
  RemoteWindow remote = window->remote();
  client_.mr.reset();
  EXPECT_FALSE(window->bound());
  EXPECT_EQ(ServerWrite("x", remote).wc_status, WcStatus::kRemoteAccess);
}

// Without type-2 windows, each I/O gets its own registration, dropped when the I/O ends.
TEST_F(SoftRdmaTest, RegisterPerIoWhenTheDeviceHasNoWindows) {
  FabricOptions options;
  options.caps.memory_windows_type2 = false;
  Connected(options);
  EXPECT_EQ(client_.ep->window_mechanism(), WindowMechanism::kRegisterPerIo);
  EXPECT_STREQ(rdma::WindowMechanismName(client_.ep->window_mechanism()), "register-per-io");
  auto window = NewWindow();
  BindClient(*window, 8192, 4096, Access::kRemoteWrite);
  RemoteWindow remote = window->remote();
  EXPECT_TRUE(ServerWrite("per-io", remote).ok());
  EXPECT_EQ(client_.Read(8192, 6), "per-io");
  ASSERT_TRUE(client_.ep->Invalidate(51, *window).ok());
  fabric_->RunUntilIdle();
  EXPECT_TRUE(client_.Take().ok());
  EXPECT_FALSE(window->bound());
  // Rebinding yields a different key; the old one is gone for good.
  BindClient(*window, 8192, 4096, Access::kRemoteWrite);
  EXPECT_NE(window->remote().rkey, remote.rkey);
  EXPECT_EQ(ServerWrite("old", remote).wc_status, WcStatus::kRemoteAccess);
}

TEST_F(SoftRdmaTest, PerIoRegistrationCannotBeRemotelyInvalidated) {
  FabricOptions options;
  options.caps.memory_windows_type2 = false;
  Connected(options);
  auto window = NewWindow();
  BindClient(*window, 8192, 4096, Access::kRemoteWrite);
  ASSERT_TRUE(Send(server_, 8, 8192, 4, window->remote().rkey).ok());
  fabric_->RunUntilIdle();
  EXPECT_EQ(server_.Take().wc_status, WcStatus::kRemoteOperation);
  EXPECT_EQ(client_.Take().wc_status, WcStatus::kRemoteInvalidRequest);
  EXPECT_TRUE(window->bound());  // still ours to deregister
}

// --- Faults and teardown ------------------------------------------------------------------------

TEST_F(SoftRdmaTest, QpErrorFlushesEverythingThenDisconnectIsLast) {
  Connected({}, {}, /*receives=*/3);
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  fabric_->InjectQpError(*client_.ep);
  client_.Drain();
  ASSERT_EQ(client_.events.size(), 4u);
  EXPECT_EQ(client_.events[0].kind, Event::Kind::kSend);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(client_.events[i].flushed());
    EXPECT_TRUE(client_.events[i].status.Is(Code::kDisconnected));
    if (i > 0) {
      EXPECT_EQ(client_.events[i].wr_id, 100u + i - 1);
    }
  }
  client_.events.clear();
  EXPECT_TRUE(Send(client_, 2, 8192, 4).Is(Code::kDisconnected));
  Sge sge = client_.mr->Slice(0, 64);
  EXPECT_TRUE(client_.ep->PostReceive(9, {&sge, 1}).Is(Code::kDisconnected));

  // The server's SEND toward a queue pair in error is never acknowledged.
  ASSERT_TRUE(Send(server_, 5, 8192, 4).ok());
  fabric_->RunUntilIdle();
  EXPECT_EQ(server_.Take().wc_status, WcStatus::kRetryExceeded);

  client_.ep->Disconnect();
  Event last = client_.Take();
  EXPECT_EQ(last.kind, Event::Kind::kDisconnected);
  EXPECT_TRUE(last.status.Is(Code::kDisconnected));
  EXPECT_EQ(client_.ep->state(), Endpoint::State::kDisconnected);
  client_.ep->Disconnect();  // idempotent
  EXPECT_TRUE(client_.Drain().empty());
  server_.Drain();
  ASSERT_FALSE(server_.events.empty());
  EXPECT_EQ(server_.events.back().kind, Event::Kind::kDisconnected);
}

TEST_F(SoftRdmaTest, DisconnectFlushesThePeerToo) {
  Connected({}, {}, /*receives=*/2);
  client_.ep->Disconnect();
  client_.Drain();
  server_.Drain();
  for (Side* side : {&client_, &server_}) {
    ASSERT_EQ(side->events.size(), 3u);
    EXPECT_TRUE(side->events[0].flushed());
    EXPECT_TRUE(side->events[1].flushed());
    EXPECT_EQ(side->events[2].kind, Event::Kind::kDisconnected);
    EXPECT_EQ(side->ep->state(), Endpoint::State::kDisconnected);
  }
  EXPECT_STREQ(server_.events[2].status.where(), "softrdma: peer disconnected");
}

TEST_F(SoftRdmaTest, LostConnectionTearsDownBothSides) {
  Connected();
  auto window = NewWindow();
  BindClient(*window, 0, 4096, Access::kRemoteWrite);
  fabric_->InjectConnectionLoss(*server_.ep);
  for (Side* side : {&client_, &server_}) {
    side->Drain();
    ASSERT_FALSE(side->events.empty());
    EXPECT_EQ(side->events.back().kind, Event::Kind::kDisconnected);
    EXPECT_STREQ(side->events.back().status.where(), "softrdma: connection lost");
    EXPECT_TRUE(side->events.front().flushed());
  }
  EXPECT_TRUE(client_.ep->Bind(1, *window, *client_.mr, 0, 16, Access::kRemoteWrite)
                  .Is(Code::kDisconnected));
  // Teardown in reverse order of creation: window, region, endpoint.
  window.reset();
  client_.mr.reset();
  client_.ep.reset();
}

TEST_F(SoftRdmaTest, DestroyedPeerIsALostConnection) {
  Connected();
  server_.mr.reset();
  server_.ep.reset();
  Event flushed = client_.Take();
  EXPECT_TRUE(flushed.flushed());
  Event gone = client_.Take();
  EXPECT_EQ(gone.kind, Event::Kind::kDisconnected);
}

TEST_F(SoftRdmaTest, QueueDepthIsEnforced) {
  FabricOptions options;
  options.caps.max_qp_wr = 2;
  Connected(options, {}, /*receives=*/2);
  Sge sge = client_.mr->Slice(4096, 64);
  EXPECT_TRUE(client_.ep->PostReceive(1, {&sge, 1}).Is(Code::kResourceExhausted));
  ASSERT_TRUE(Send(client_, 1, 8192, 4).ok());
  ASSERT_TRUE(Send(client_, 2, 8192, 4).ok());
  EXPECT_TRUE(Send(client_, 3, 8192, 4).Is(Code::kResourceExhausted));
}

TEST(RdmaDevice, CompletionErrorsMapToOneStatusEach) {
  EXPECT_TRUE(rdma::WcStatusToStatus(WcStatus::kSuccess).ok());
  EXPECT_TRUE(rdma::WcStatusToStatus(WcStatus::kFlushed).Is(Code::kDisconnected));
  EXPECT_TRUE(rdma::WcStatusToStatus(WcStatus::kRetryExceeded).Is(Code::kDisconnected));
  EXPECT_TRUE(rdma::WcStatusToStatus(WcStatus::kRnrRetryExceeded).Is(Code::kDisconnected));
  EXPECT_TRUE(rdma::WcStatusToStatus(WcStatus::kRemoteAccess).Is(Code::kProtocol));
  EXPECT_TRUE(rdma::WcStatusToStatus(WcStatus::kLocalProtection).Is(Code::kProtocol));
  Status general = rdma::WcStatusToStatus(WcStatus::kGeneral);
  EXPECT_TRUE(general.Is(Code::kSystem));
  EXPECT_EQ(general.detail(), static_cast<uint32_t>(EIO));
  EXPECT_NE(
      std::string(rdma::WcStatusToStatus(WcStatus::kRemoteAccess).where()).find("remote access"),
      std::string::npos);
}

}  // namespace
}  // namespace smb3::transport::softrdma
