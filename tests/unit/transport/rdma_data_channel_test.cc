// SPDX-License-Identifier: LGPL-2.1-or-later
// The data channel on the software device: a buffer is exposed to the peer with exactly the right
// it needs for one I/O, dies with the I/O (remotely or locally invalidated), survives Detach while
// held, and is shared safely by threads that Acquire and Release while the loop thread pumps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport/rdma/data_channel.h"
#include "transport/softrdma/fabric.h"

namespace smb3::transport::rdma {
namespace {

constexpr std::chrono::milliseconds kNoWait{0};

using softrdma::Fabric;
using softrdma::FabricOptions;

class DataChannelTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    FabricOptions options;
    options.caps.memory_windows_type2 = GetParam();
    fabric_ = Fabric::Create(options);
    server_ = std::move(fabric_->Listen("10.99.0.1", 445)).value();
    client_ = std::move(fabric_->Resolve("10.99.0.1", 445)).value();
    server_memory_.resize(16384);
    server_mr_ = std::move(server_->Register(server_memory_, Access::kLocalWrite)).value();
    ASSERT_TRUE(client_->Connect({}).ok());
    std::lock_guard lock(*mu_);
    auto c = DataChannel::Create(*client_, *mu_, 8192, 2, 6000);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    channel_ = std::move(c).value();
  }
  void TearDown() override {
    if (channel_) {
      std::lock_guard lock(*mu_);
      channel_->Detach();
    }
    channel_.reset();
    server_mr_.reset();
    client_.reset();
    server_.reset();
  }

  // What the transport's loop thread does: run the device, hand the channel its completions and
  // each received message's invalidated key.
  void Pump() {
    std::lock_guard lock(*mu_);
    PumpLocked();
  }
  void PumpLocked() {
    fabric_->RunUntilIdle();
    ASSERT_TRUE(client_->Process().ok());
    while (auto e = client_->NextEvent()) {
      if (e->invalidated_rkey) channel_->OnRemoteInvalidation(*e->invalidated_rkey);
      if (Registrar::Owns(e->wr_id)) channel_->OnEvent(*e);
      client_events_.push_back(std::move(*e));
    }
  }
  // The peer's RDMA operations on a buffer descriptor; the completion status of each.
  WcStatus ServerRdma(bool write, const RdmaIoBuffer& b, size_t length) {
    std::lock_guard lock(*mu_);
    Sge sge = server_mr_->Slice(0, static_cast<uint32_t>(length));
    RemoteWindow w{b.remote_offset, b.remote_token, b.remote_length};
    const uint64_t wr_id = ++server_wr_id_;
    Status posted =
        write ? server_->PostWrite(wr_id, {&sge, 1}, w) : server_->PostRead(wr_id, {&sge, 1}, w);
    EXPECT_TRUE(posted.ok()) << posted.ToString();
    fabric_->RunUntilIdle();
    server_->Process();
    auto e = server_->NextEvent();
    while (e && e->wr_id != wr_id) e = server_->NextEvent();  // skip connect, earlier SENDs
    return e ? e->wc_status : WcStatus::kGeneral;
  }
  WcStatus ServerWrite(const std::string& data, const RdmaIoBuffer& b) {
    std::memcpy(server_memory_.data(), data.data(), data.size());
    return ServerRdma(true, b, data.size());
  }
  // Per-I/O registration declines caller memory altogether (kNotSupported: the caller copies);
  // true then, after checking it.
  bool DeclinesCallerMemory() {
    if (GetParam()) return false;
    std::vector<uint8_t> lent(8192);
    auto out = channel_->ExposeCallerMemory(lent, std::span<const uint8_t>(lent).first(4500),
                                            kNoWait);
    EXPECT_TRUE(out.status().Is(Code::kNotSupported)) << out.status().ToString();
    return true;
  }
  static std::string Text(const RdmaIoBuffer& b, size_t n) {
    return std::string(b.memory.begin(), b.memory.begin() + static_cast<ptrdiff_t>(n));
  }

  std::shared_ptr<Fabric> fabric_;
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  std::unique_ptr<Endpoint> server_;
  std::unique_ptr<Endpoint> client_;
  std::vector<uint8_t> server_memory_;
  std::unique_ptr<MemoryRegion> server_mr_;
  std::shared_ptr<DataChannel> channel_;
  std::vector<Event> client_events_;
  uint64_t server_wr_id_ = 1000;
};

TEST_P(DataChannelTest, DescribesTheMechanismAndLimits) {
  EXPECT_EQ(channel_->max_io_size(), 6000u);  // min(buffer, MaxReadWriteSize)
  EXPECT_STREQ(channel_->mechanism(),
               WindowMechanismName(GetParam() ? WindowMechanism::kMemoryWindow
                                              : WindowMechanism::kRegisterPerIo));
  EXPECT_TRUE(channel_->Acquire(0, true, kNoWait).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(channel_->Acquire(6001, true, kNoWait).status().Is(Code::kInvalidArgument));
  std::mutex other;
  EXPECT_TRUE(
      DataChannel::Create(*client_, other, 8192, 0, 6000).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(DataChannel::Create(*client_, other, 8192, 1, 0).status().Is(Code::kInvalidArgument));
}

TEST_P(DataChannelTest, PeerWritesTheReadDataAndReadsTheWriteData) {
  auto in = channel_->Acquire(5000, /*server_writes=*/true, kNoWait);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->memory.size(), 5000u);
  EXPECT_EQ(in->remote_length, 5000u);
  EXPECT_EQ(in->remote_offset, reinterpret_cast<uint64_t>(in->memory.data()));
  EXPECT_EQ(in->remote_invalidate, GetParam());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(in->memory.data()) % 4096, 0u);
  Pump();
  EXPECT_EQ(ServerWrite("file data of a READ", *in), WcStatus::kSuccess);
  EXPECT_EQ(Text(*in, 19), "file data of a READ");
  // The READ's window is write-only for the peer, and bounded by the I/O's length.
  EXPECT_EQ(ServerRdma(false, *in, 16), WcStatus::kRemoteAccess);
  channel_->Release(in->handle);
}

TEST_P(DataChannelTest, PeerReadsTheWriteDataOnlyWithinTheDescriptor) {
  auto out = channel_->Acquire(4100, /*server_writes=*/false, kNoWait);
  ASSERT_TRUE(out.ok());
  std::memcpy(out->memory.data(), "payload of a WRITE", 18);
  Pump();
  EXPECT_EQ(ServerRdma(false, *out, 4100), WcStatus::kSuccess);
  EXPECT_EQ(std::string(server_memory_.begin(), server_memory_.begin() + 18), "payload of a WRITE");
  EXPECT_EQ(ServerRdma(false, *out, 4101), WcStatus::kRemoteAccess);  // past the descriptor
}

TEST_P(DataChannelTest, PeerCannotWriteIntoAWriteBuffer) {
  auto out = channel_->Acquire(4096, /*server_writes=*/false, kNoWait);
  ASSERT_TRUE(out.ok());
  std::memcpy(out->memory.data(), "keep", 4);
  Pump();
  EXPECT_EQ(ServerWrite("evil", *out), WcStatus::kRemoteAccess);
  EXPECT_EQ(Text(*out, 4), "keep");
}

TEST_P(DataChannelTest, LocalInvalidationThenReuseAndALateWriteFails) {
  auto in = channel_->Acquire(4096, true, kNoWait);
  ASSERT_TRUE(in.ok());
  Pump();
  EXPECT_EQ(ServerWrite("first I/O", *in), WcStatus::kSuccess);
  uint8_t* memory = in->memory.data();
  const RdmaIoBuffer old = *in;
  channel_->Release(in->handle);  // the response came without remote invalidation
  channel_->Release(in->handle);  // a second Release of the same handle is ignored
  Pump();
  EXPECT_EQ(channel_->counters().windows_invalidated_local, 1u);
  EXPECT_EQ(channel_->buffers_in_use(), 0u);

  // The buffer is reused for the next I/O; the peer's late write with the old key must not land.
  auto next = channel_->Acquire(4096, true, kNoWait);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->memory.data(), memory);
  EXPECT_NE(next->remote_token, old.remote_token);
  std::memcpy(next->memory.data(), "second!!!", 9);
  Pump();
  EXPECT_EQ(ServerWrite("late data", old), WcStatus::kRemoteAccess);
  EXPECT_EQ(Text(*next, 9), "second!!!");
  EXPECT_GE(fabric_->counters().remote_access_errors, 1u);
  channel_->Release(next->handle);
}

TEST_P(DataChannelTest, ReleaseBeforeTheLocalInvalidationCompletesKeepsTheBufferBusy) {
  auto a = channel_->Acquire(4096, true, kNoWait);
  auto b = channel_->Acquire(4096, true, kNoWait);
  ASSERT_TRUE(a.ok() && b.ok());
  Pump();
  channel_->Release(a->handle);
  // The invalidation has not run yet: the buffer's key may still work, so it is not handed out.
  EXPECT_TRUE(channel_->Acquire(4096, true, kNoWait).status().Is(Code::kResourceExhausted));
  Pump();
  auto again = channel_->Acquire(4096, true, kNoWait);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->memory.data(), a->memory.data());
  channel_->Release(again->handle);
  channel_->Release(b->handle);
}

// The server invalidates the key with its response (SEND_WITH_INVALIDATE): with memory windows the
// buffer is free at once, without a local invalidation. A per-I/O registration is not offered for
// remote invalidation (remote_invalidate false): the channel revokes it itself.
TEST_P(DataChannelTest, RemoteInvalidationThenReuse) {
  auto in = channel_->Acquire(4096, true, kNoWait);
  ASSERT_TRUE(in.ok());
  std::vector<uint8_t> recv(64);
  auto recv_mr = std::move(client_->Register(recv, Access::kLocalWrite)).value();
  Sge rsge = recv_mr->Slice(0, 64);
  ASSERT_TRUE(client_->PostReceive(77, {&rsge, 1}).ok());
  Pump();
  EXPECT_EQ(ServerWrite("data", *in), WcStatus::kSuccess);
  if (!in->remote_invalidate) {
    channel_->Release(in->handle);
    Pump();
    EXPECT_EQ(channel_->counters().windows_invalidated_local, 1u);
    recv_mr.reset();
    return;
  }
  {
    std::lock_guard lock(*mu_);
    Sge ssge = server_mr_->Slice(0, 8);
    ASSERT_TRUE(server_->PostSend(2, {&ssge, 1}, false, in->remote_token).ok());
  }
  Pump();
  ASSERT_FALSE(client_events_.empty());
  EXPECT_EQ(client_events_.back().invalidated_rkey, in->remote_token);
  EXPECT_EQ(channel_->counters().windows_invalidated_remote, 1u);
  const RdmaIoBuffer old = *in;
  channel_->Release(in->handle);
  auto next = channel_->Acquire(4096, true, kNoWait);  // free at once: no local invalidation needed
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->memory.data(), old.memory.data());
  EXPECT_EQ(channel_->counters().windows_invalidated_local, 0u);
  std::memcpy(next->memory.data(), "mine", 4);
  Pump();
  EXPECT_EQ(ServerWrite("late", old), WcStatus::kRemoteAccess);
  EXPECT_EQ(Text(*next, 4), "mine");
  recv_mr.reset();
}

TEST_P(DataChannelTest, ExhaustionIsReportedAndCounted) {
  auto a = channel_->Acquire(4096, true, kNoWait);
  auto b = channel_->Acquire(4096, false, kNoWait);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->memory.data(), b->memory.data());
  EXPECT_TRUE(channel_->Acquire(4096, true, kNoWait).status().Is(Code::kResourceExhausted));
  RdmaChannelCounters c = channel_->counters();
  EXPECT_EQ(c.acquire_exhausted, 1u);
  EXPECT_EQ(c.buffers_acquired, 2u);
  Pump();
  EXPECT_EQ(channel_->counters().windows_bound, 2u);
  channel_->Release(a->handle);
  channel_->Release(b->handle);
  Pump();
  EXPECT_EQ(channel_->buffers_in_use(), 0u);
}

// Every buffer in flight: Acquire waits for one to come back (the I/O is not pushed inline), and
// the wait is counted.
TEST_P(DataChannelTest, ExhaustionWaitsForARelease) {
  auto a = channel_->Acquire(4096, true, kNoWait);
  auto b = channel_->Acquire(4096, false, kNoWait);
  ASSERT_TRUE(a.ok() && b.ok());
  Pump();
  std::atomic<bool> stop{false};
  std::thread loop([&] {  // the transport's loop: completes the local invalidation after Release
    while (!stop.load()) {
      Pump();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  Result<RdmaIoBuffer> waited = Status::Invalid("not run");
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    waited = channel_->Acquire(4096, true, std::chrono::milliseconds(10000));
    returned.store(true);
  });
  while (channel_->counters().acquire_waits == 0) std::this_thread::yield();  // it is waiting
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(returned.load());  // still waiting: both buffers are held
  channel_->Release(a->handle);
  waiter.join();
  stop.store(true);
  loop.join();
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  EXPECT_EQ(waited->memory.data(), a->memory.data());
  RdmaChannelCounters c = channel_->counters();
  EXPECT_EQ(c.acquire_waits, 1u);
  EXPECT_EQ(c.acquire_exhausted, 0u);
  EXPECT_GE(c.acquire_wait_us, 50000u);
  channel_->Release(waited->handle);
  channel_->Release(b->handle);
  Pump();
  EXPECT_EQ(channel_->buffers_in_use(), 0u);
}

TEST_P(DataChannelTest, ExhaustionWaitIsBounded) {
  auto a = channel_->Acquire(4096, true, kNoWait);
  auto b = channel_->Acquire(4096, false, kNoWait);
  ASSERT_TRUE(a.ok() && b.ok());
  const auto start = std::chrono::steady_clock::now();
  auto none = channel_->Acquire(4096, true, std::chrono::milliseconds(60));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(none.status().Is(Code::kResourceExhausted)) << none.status().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(60));
  RdmaChannelCounters c = channel_->counters();
  EXPECT_EQ(c.acquire_waits, 1u);
  EXPECT_EQ(c.acquire_exhausted, 1u);
  EXPECT_GE(c.acquire_wait_us, 60000u);
  channel_->Release(a->handle);
  channel_->Release(b->handle);
  Pump();
}

// The loop thread completes the I/O holding the buffers: waiting there would wait for itself.
TEST_P(DataChannelTest, NeverWaitsOnTheLoopThread) {
  auto a = channel_->Acquire(4096, true, kNoWait);
  auto b = channel_->Acquire(4096, false, kNoWait);
  ASSERT_TRUE(a.ok() && b.ok());
  channel_->SetLoopThread(std::this_thread::get_id());
  const auto start = std::chrono::steady_clock::now();
  auto none = channel_->Acquire(4096, true, std::chrono::milliseconds(10000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(5000));
  EXPECT_TRUE(none.status().Is(Code::kResourceExhausted));
  EXPECT_EQ(channel_->counters().acquire_waits, 0u);
  EXPECT_EQ(channel_->counters().acquire_exhausted, 1u);
  channel_->Release(a->handle);
  channel_->Release(b->handle);
  Pump();
}

TEST_P(DataChannelTest, DetachWakesAWaiter) {
  auto a = channel_->Acquire(4096, true, kNoWait);
  auto b = channel_->Acquire(4096, false, kNoWait);
  ASSERT_TRUE(a.ok() && b.ok());
  Result<RdmaIoBuffer> waited = Status::Invalid("not run");
  const auto start = std::chrono::steady_clock::now();
  std::thread waiter([&] { waited = channel_->Acquire(4096, true, std::chrono::milliseconds(10000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard lock(*mu_);
    channel_->Detach();
  }
  waiter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(5000));
  EXPECT_TRUE(waited.status().Is(Code::kDisconnected)) << waited.status().ToString();
  channel_->Release(a->handle);
  channel_->Release(b->handle);
}

TEST_P(DataChannelTest, DetachWithABufferHeldKeepsItsMemory) {
  auto in = channel_->Acquire(4096, true, kNoWait);
  ASSERT_TRUE(in.ok());
  Pump();
  EXPECT_EQ(ServerWrite("still here", *in), WcStatus::kSuccess);
  {
    std::lock_guard lock(*mu_);
    client_->Disconnect();
    PumpLocked();
    channel_->Detach();
    channel_->Detach();  // idempotent
  }
  // The transport goes away entirely: endpoint and mutex. The channel must touch neither again.
  server_mr_.reset();
  client_.reset();
  server_.reset();
  mu_.reset();
  EXPECT_TRUE(channel_->Acquire(4096, true, kNoWait).status().Is(Code::kDisconnected));
  EXPECT_EQ(Text(*in, 10), "still here");
  EXPECT_EQ(channel_->buffers_in_use(), 1u);
  channel_->Release(in->handle);
  EXPECT_EQ(channel_->buffers_in_use(), 0u);
  channel_.reset();  // unmaps
}

// Threads acquire, fill and release buffers while the loop thread pumps the device under the
// endpoint mutex, as a transport does; run under TSan to check the locking.
TEST_P(DataChannelTest, ConcurrentAcquireAndRelease) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 200;
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::atomic<uint64_t> acquired{0};
  std::thread loop([&] {
    while (!stop.load()) {
      Pump();
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < kIterations;) {
        auto b = channel_->Acquire(4096 + static_cast<size_t>(t), (i & 1) == 0, kNoWait);
        if (!b.ok()) {
          EXPECT_TRUE(b.status().Is(Code::kResourceExhausted)) << b.status().ToString();
          std::this_thread::yield();
          continue;
        }
        std::memset(b->memory.data(), t, b->memory.size());
        EXPECT_EQ(b->memory.size(), 4096u + static_cast<size_t>(t));
        acquired.fetch_add(1);
        channel_->Release(b->handle);
        ++i;
      }
      done.fetch_add(1);
    });
  }
  for (auto& w : workers) w.join();
  stop.store(true);
  loop.join();
  Pump();
  EXPECT_EQ(done.load(), kThreads);
  RdmaChannelCounters c = channel_->counters();
  EXPECT_EQ(c.buffers_acquired, acquired.load());
  EXPECT_EQ(c.buffers_acquired, static_cast<uint64_t>(kThreads * kIterations));
  EXPECT_EQ(channel_->buffers_in_use(), 0u);
  EXPECT_EQ(c.windows_invalidated_local, c.buffers_acquired);
}

// Caller memory (a FUSE daemon's receive buffer): the peer reads a WRITE's data where it is,
// through a window over exactly the span, which dies with the response (remote invalidation) or
// with our local invalidation; with per-I/O registration the channel declines (the caller copies).
TEST_P(DataChannelTest, CallerMemoryIsReadInPlaceOnlyWhileTheIoIsInFlight) {
  std::vector<uint8_t> lent(16384);
  const std::span<uint8_t> region(lent);
  const std::span<const uint8_t> span = region.subspan(80, 5000);  // not page-aligned: FUSE's
  std::memcpy(lent.data() + 80, "caller data of a WRITE", 22);
  auto out = channel_->ExposeCallerMemory(region, span, kNoWait);
  if (!GetParam()) {
    EXPECT_TRUE(out.status().Is(Code::kNotSupported)) << out.status().ToString();
    return;
  }
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->memory.data(), lent.data() + 80);  // no pool buffer: the caller's own bytes
  EXPECT_EQ(out->memory.size(), 5000u);
  EXPECT_EQ(out->remote_length, 5000u);
  EXPECT_TRUE(out->remote_invalidate);
  EXPECT_EQ(channel_->buffers_in_use(), 1u);
  Pump();
  EXPECT_EQ(ServerRdma(false, *out, 5000), WcStatus::kSuccess);
  EXPECT_EQ(std::string(server_memory_.begin(), server_memory_.begin() + 22),
            "caller data of a WRITE");

  // The response invalidates the key (SEND_WITH_INVALIDATE); the I/O is over.
  std::vector<uint8_t> recv(64);
  auto recv_mr = std::move(client_->Register(recv, Access::kLocalWrite)).value();
  Sge rsge = recv_mr->Slice(0, 64);
  ASSERT_TRUE(client_->PostReceive(77, {&rsge, 1}).ok());
  {
    std::lock_guard lock(*mu_);
    Sge ssge = server_mr_->Slice(0, 8);
    ASSERT_TRUE(server_->PostSend(2, {&ssge, 1}, false, out->remote_token).ok());
  }
  Pump();
  EXPECT_EQ(channel_->counters().windows_invalidated_remote, 1u);
  const RdmaIoBuffer old = *out;
  channel_->Release(out->handle);
  EXPECT_EQ(channel_->buffers_in_use(), 0u);
  EXPECT_EQ(channel_->counters().windows_invalidated_local, 0u);
  // The caller reuses its memory; a late RDMA READ of the peer with the old key must fail (and,
  // as on hardware, breaks the connection).
  std::memcpy(lent.data() + 80, "next request", 12);
  EXPECT_EQ(ServerRdma(false, old, 16), WcStatus::kRemoteAccess);
  recv_mr.reset();
}

// Without the peer's invalidation the key dies by ours once the I/O is released.
TEST_P(DataChannelTest, CallerMemoryKeyIsRevokedLocallyWithoutRemoteInvalidation) {
  if (DeclinesCallerMemory()) return;
  std::vector<uint8_t> lent(8192);
  const std::span<uint8_t> region(lent);
  std::memcpy(lent.data() + 40, "lent", 4);
  auto out = channel_->ExposeCallerMemory(region, region.subspan(40, 4200), kNoWait);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Pump();
  EXPECT_EQ(ServerRdma(false, *out, 4200), WcStatus::kSuccess);
  EXPECT_EQ(std::string(server_memory_.begin(), server_memory_.begin() + 4), "lent");
  channel_->Release(out->handle);
  Pump();
  EXPECT_EQ(channel_->counters().windows_invalidated_local, 1u);
  EXPECT_EQ(channel_->buffers_in_use(), 0u);
  EXPECT_EQ(ServerRdma(false, *out, 16), WcStatus::kRemoteAccess);
  // Until that invalidation landed, the caller could already reuse its memory: a server that does
  // not invalidate is not lent caller memory again on this connection (the data is copied).
  auto again = channel_->ExposeCallerMemory(region, region.subspan(40, 4200), kNoWait);
  EXPECT_TRUE(again.status().Is(Code::kNotSupported)) << again.status().ToString();
}

// The window covers exactly the span: the peer reading one byte past it is refused.
TEST_P(DataChannelTest, CallerMemoryWindowEndsWithTheSpan) {
  if (DeclinesCallerMemory()) return;
  std::vector<uint8_t> lent(8192);
  const std::span<uint8_t> region(lent);
  auto out = channel_->ExposeCallerMemory(region, region.subspan(100, 4500), kNoWait);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Pump();
  EXPECT_EQ(ServerRdma(false, *out, 4501), WcStatus::kRemoteAccess);
  channel_->Release(out->handle);
}

TEST_P(DataChannelTest, CallerMemoryOutsideTheRegionOrUnregistrableIsRefused) {
  if (DeclinesCallerMemory()) return;
  std::vector<uint8_t> lent(8192);
  std::vector<uint8_t> other(8192);
  const std::span<uint8_t> region(lent);
  // A span reaching past the region, or elsewhere entirely: the caller must copy.
  auto past = channel_->ExposeCallerMemory(region, {lent.data() + 4000, 4500}, kNoWait);
  EXPECT_TRUE(past.status().Is(Code::kInvalidArgument)) << past.status().ToString();
  auto elsewhere = channel_->ExposeCallerMemory(region, {other.data(), 4500}, kNoWait);
  EXPECT_TRUE(elsewhere.status().Is(Code::kInvalidArgument)) << elsewhere.status().ToString();
  EXPECT_TRUE(channel_->ExposeCallerMemory(region, {lent.data(), 6001}, kNoWait)
                  .status()
                  .Is(Code::kInvalidArgument));  // above max_io_size
  // Every caller window busy (as many as pool buffers: 2), then one comes back.
  auto a = channel_->ExposeCallerMemory(region, {lent.data(), 4500}, kNoWait);
  auto b = channel_->ExposeCallerMemory(region, {lent.data() + 10, 4500}, kNoWait);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(channel_->ExposeCallerMemory(region, {lent.data(), 4500}, kNoWait)
                  .status()
                  .Is(Code::kResourceExhausted));
  // The pool is separate: its buffers are still there.
  auto pool = channel_->Acquire(4096, false, kNoWait);
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  Pump();
  channel_->Release(a->handle);
  channel_->Release(b->handle);
  if (pool.ok()) channel_->Release(pool->handle);
  Pump();
  EXPECT_EQ(channel_->buffers_in_use(), 0u);
  // Both came back, but the peer never invalidated their keys (ours did, after the caller could
  // reuse the memory): caller memory is refused from now on, the pool still serves.
  EXPECT_TRUE(channel_->ExposeCallerMemory(region, {lent.data(), 4500}, kNoWait)
                  .status()
                  .Is(Code::kNotSupported));
  auto copy = channel_->Acquire(4096, false, kNoWait);
  EXPECT_TRUE(copy.ok()) << copy.status().ToString();
  if (copy.ok()) channel_->Release(copy->handle);
}

// A new connection (a reconnect) has a new channel: it registers the caller's region again, and
// the old channel, detached, exposes nothing any more.
TEST_P(DataChannelTest, ANewChannelRegistersCallerMemoryAgain) {
  if (DeclinesCallerMemory()) return;
  std::vector<uint8_t> lent(8192, 0x5a);
  const std::span<uint8_t> region(lent);
  auto first = channel_->ExposeCallerMemory(region, region.first(4500), kNoWait);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  {
    std::lock_guard lock(*mu_);
    client_->Disconnect();
    PumpLocked();
    channel_->Detach();
  }
  channel_->Release(first->handle);
  EXPECT_TRUE(channel_->ExposeCallerMemory(region, region.first(4500), kNoWait)
                  .status()
                  .Is(Code::kDisconnected));

  auto server2 = std::move(fabric_->Listen("10.99.0.2", 445)).value();
  auto client2 = std::move(fabric_->Resolve("10.99.0.2", 445)).value();
  std::vector<uint8_t> sink(8192);
  auto sink_mr = std::move(server2->Register(sink, Access::kLocalWrite)).value();
  ASSERT_TRUE(client2->Connect({}).ok());
  std::mutex mu2;
  std::shared_ptr<DataChannel> channel2;
  {
    std::lock_guard lock(mu2);
    channel2 = std::move(DataChannel::Create(*client2, mu2, 8192, 2, 6000)).value();
  }
  auto again = channel2->ExposeCallerMemory(region, region.first(4500), kNoWait);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  {
    std::lock_guard lock(mu2);
    fabric_->RunUntilIdle();
    ASSERT_TRUE(client2->Process().ok());
    while (auto e = client2->NextEvent()) {
      if (Registrar::Owns(e->wr_id)) channel2->OnEvent(*e);
    }
    Sge sge = sink_mr->Slice(0, 4500);
    ASSERT_TRUE(server2->PostRead(9, {&sge, 1}, {again->remote_offset, again->remote_token,
                                                 again->remote_length})
                    .ok());
    fabric_->RunUntilIdle();
    server2->Process();
    auto e = server2->NextEvent();
    while (e && e->wr_id != 9) e = server2->NextEvent();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->wc_status, WcStatus::kSuccess);
  }
  EXPECT_EQ(sink[0], 0x5a);
  EXPECT_EQ(sink[4499], 0x5a);
  channel2->Release(again->handle);
  {
    std::lock_guard lock(mu2);
    fabric_->RunUntilIdle();
    client2->Process();
    while (auto e = client2->NextEvent()) {
      if (Registrar::Owns(e->wr_id)) channel2->OnEvent(*e);
    }
    channel2->Detach();
  }
  channel2.reset();
  sink_mr.reset();
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, DataChannelTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "MemoryWindow" : "RegisterPerIo";
                         });

}  // namespace
}  // namespace smb3::transport::rdma
