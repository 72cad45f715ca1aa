// SPDX-License-Identifier: LGPL-2.1-or-later
// The memory registrar on the software device: a buffer is reachable by the peer only while its
// I/O is exposed, and is never handed out again while a key to it may still work.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "transport/rdma/registrar.h"
#include "transport/softrdma/fabric.h"

namespace smb3::transport::rdma {
namespace {

using softrdma::Fabric;
using softrdma::FabricOptions;

class RegistrarTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    FabricOptions options;
    options.caps.memory_windows_type2 = GetParam();
    fabric_ = Fabric::Create(options);
    server_ = std::move(fabric_->Listen("10.99.0.1", 445)).value();
    client_ = std::move(fabric_->Resolve("10.99.0.1", 445)).value();
    server_memory_.resize(8192);
    server_mr_ = std::move(server_->Register(server_memory_, Access::kLocalWrite)).value();
    ASSERT_TRUE(client_->Connect({}).ok());
    auto r = Registrar::Create(*client_, 5000, 2);  // rounded up to 8 KiB buffers
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registrar_ = std::move(r).value();
  }
  void TearDown() override {
    registrar_.reset();
    server_mr_.reset();
    client_.reset();
    server_.reset();
  }

  // Runs the fabric and hands the client's events to the registrar, as the event loop will.
  void Pump() {
    fabric_->RunUntilIdle();
    ASSERT_TRUE(client_->Process().ok());
    while (auto e = client_->NextEvent()) {
      if (Registrar::Owns(e->wr_id)) registrar_->OnEvent(*e);
      if (e->invalidated_rkey) registrar_->OnRemoteInvalidation(*e->invalidated_rkey);
      client_events_.push_back(std::move(*e));
    }
  }
  WcStatus ServerWrite(const std::string& data, const RemoteWindow& to) {
    std::memcpy(server_memory_.data(), data.data(), data.size());
    Sge sge = server_mr_->Slice(0, static_cast<uint32_t>(data.size()));
    EXPECT_TRUE(server_->PostWrite(1, {&sge, 1}, to).ok());
    fabric_->RunUntilIdle();
    server_->Process();
    auto e = server_->NextEvent();
    while (e && e->kind == Event::Kind::kConnected) e = server_->NextEvent();
    return e ? e->wc_status : WcStatus::kGeneral;
  }

  std::shared_ptr<Fabric> fabric_;
  std::unique_ptr<Endpoint> server_;
  std::unique_ptr<Endpoint> client_;
  std::vector<uint8_t> server_memory_;
  std::unique_ptr<MemoryRegion> server_mr_;
  std::unique_ptr<Registrar> registrar_;
  std::vector<Event> client_events_;
};

TEST_P(RegistrarTest, BuffersArePageAlignedAndRegisteredOnce) {
  EXPECT_EQ(registrar_->buffer_size(), 8192u);
  EXPECT_EQ(registrar_->mechanism(),
            GetParam() ? WindowMechanism::kMemoryWindow : WindowMechanism::kRegisterPerIo);
  auto a = registrar_->Acquire();
  auto b = registrar_->Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(registrar_->Memory(*a).data()) % 4096, 0u);
  EXPECT_EQ(registrar_->Memory(*b).data() - registrar_->Memory(*a).data(), 8192);
  EXPECT_EQ(registrar_->Slice(*a, 10).lkey, registrar_->Slice(*b, 10).lkey);
  EXPECT_TRUE(registrar_->Acquire().status().Is(Code::kResourceExhausted));
  EXPECT_TRUE(registrar_->Release(*a).ok());  // never exposed: free at once
  EXPECT_EQ(registrar_->free_buffers(), 1u);
}

TEST_P(RegistrarTest, ExposedOnlyUntilReleasedAndNotReusedBeforeTheKeyDies) {
  size_t buffer = *registrar_->Acquire();
  auto window = registrar_->Expose(buffer, 4096, Access::kRemoteWrite);
  ASSERT_TRUE(window.ok()) << window.status().ToString();
  EXPECT_TRUE(
      registrar_->Expose(buffer, 4096, Access::kRemoteWrite).status().Is(Code::kInvalidArgument));
  Pump();
  EXPECT_EQ(registrar_->counters().windows_bound, 1u);
  EXPECT_EQ(ServerWrite("READ data", *window), WcStatus::kSuccess);
  EXPECT_EQ(std::string(registrar_->Memory(buffer).data(), registrar_->Memory(buffer).data() + 9),
            "READ data");

  // The reply came without remote invalidation: the buffer waits for the local one.
  ASSERT_TRUE(registrar_->Release(buffer).ok());
  size_t other = *registrar_->Acquire();
  EXPECT_NE(other, buffer);
  EXPECT_TRUE(registrar_->Acquire().status().Is(Code::kResourceExhausted));
  Pump();
  EXPECT_EQ(registrar_->counters().windows_invalidated_local, 1u);
  auto again = registrar_->Acquire();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, buffer);
  EXPECT_EQ(ServerWrite("late", *window), WcStatus::kRemoteAccess);
  EXPECT_EQ(std::string(registrar_->Memory(buffer).data(), registrar_->Memory(buffer).data() + 4),
            "READ");
}

// With memory windows the peer's SEND_WITH_INVALIDATE kills the key, and the buffer is free at
// once; a per-I/O registration cannot be invalidated that way (the device refuses), so there the
// attempt breaks the connection and the buffer is never reused.
TEST_P(RegistrarTest, RemoteInvalidation) {
  size_t buffer = *registrar_->Acquire();
  RemoteWindow window = *registrar_->Expose(buffer, 4096, Access::kRemoteWrite);
  std::vector<uint8_t> recv(64);
  auto recv_mr = std::move(client_->Register(recv, Access::kLocalWrite)).value();
  Sge rsge = recv_mr->Slice(0, 64);
  ASSERT_TRUE(client_->PostReceive(77, {&rsge, 1}).ok());
  Pump();
  EXPECT_EQ(ServerWrite("x", window), WcStatus::kSuccess);
  Sge ssge = server_mr_->Slice(0, 8);
  ASSERT_TRUE(server_->PostSend(2, {&ssge, 1}, false, window.rkey).ok());
  Pump();
  if (GetParam()) {
    EXPECT_EQ(registrar_->counters().windows_invalidated_remote, 1u);
    ASSERT_TRUE(registrar_->Release(buffer).ok());
    EXPECT_EQ(registrar_->free_buffers(), 2u);
    EXPECT_EQ(registrar_->counters().windows_invalidated_local, 0u);
  } else {
    EXPECT_EQ(registrar_->counters().windows_invalidated_remote, 0u);
    ASSERT_FALSE(client_events_.empty());
    EXPECT_EQ(client_events_.back().wc_status, WcStatus::kRemoteInvalidRequest);
    EXPECT_FALSE(registrar_->Release(buffer).ok());  // the queue pair is in error
    EXPECT_EQ(registrar_->free_buffers(), 1u);
  }
  recv_mr.reset();
}

// The completion of a bind waits for the SENDs before it to be acknowledged, so the peer's answer,
// invalidating the key, can be polled first. The buffer is then neither invalidated again (a dead
// key; rdma_rxe oopses on it) nor reused before the bind's completion is in.
TEST_P(RegistrarTest, RemoteInvalidationPolledBeforeTheBindCompletion) {
  size_t buffer = *registrar_->Acquire();
  RemoteWindow window = *registrar_->Expose(buffer, 4096, Access::kRemoteWrite);
  std::vector<uint8_t> recv(64);
  auto recv_mr = std::move(client_->Register(recv, Access::kLocalWrite)).value();
  Sge rsge = recv_mr->Slice(0, 64);
  ASSERT_TRUE(client_->PostReceive(77, {&rsge, 1}).ok());
  if (!GetParam()) {
    // Per-I/O registrations cannot be invalidated by the peer: such a report changes nothing.
    Pump();
    registrar_->OnRemoteInvalidation(window.rkey);
    EXPECT_EQ(registrar_->counters().windows_invalidated_remote, 0u);
    ASSERT_TRUE(registrar_->Release(buffer).ok());
    Pump();
    EXPECT_EQ(registrar_->counters().windows_invalidated_local, 1u);
    EXPECT_EQ(registrar_->free_buffers(), 2u);
    recv_mr.reset();
    return;
  }
  fabric_->RunUntilIdle();  // the bind is done; its completion is not polled yet
  Sge ssge = server_mr_->Slice(0, 8);
  ASSERT_TRUE(server_->PostSend(2, {&ssge, 1}, false, window.rkey).ok());
  fabric_->RunUntilIdle();
  ASSERT_TRUE(client_->Process().ok());
  std::vector<Event> binds;
  bool invalidated = false;
  while (auto e = client_->NextEvent()) {
    ASSERT_TRUE(e->ok()) << e->status.ToString();
    if (Registrar::Owns(e->wr_id)) {
      binds.push_back(std::move(*e));
    } else if (e->invalidated_rkey) {
      EXPECT_EQ(*e->invalidated_rkey, window.rkey);
      registrar_->OnRemoteInvalidation(*e->invalidated_rkey);  // before the bind's completion
      invalidated = true;
    }
  }
  ASSERT_TRUE(invalidated);
  ASSERT_EQ(binds.size(), 1u);
  EXPECT_EQ(registrar_->counters().windows_invalidated_remote, 1u);
  ASSERT_TRUE(registrar_->Release(buffer).ok());
  EXPECT_EQ(registrar_->free_buffers(), 1u);  // not before the bind's completion
  registrar_->OnEvent(binds[0]);
  EXPECT_EQ(registrar_->free_buffers(), 2u);
  Pump();
  EXPECT_EQ(registrar_->counters().windows_invalidated_local, 0u);
  // The window binds again under a fresh key.
  size_t again = *registrar_->Acquire();
  auto rebound = registrar_->Expose(again, 4096, Access::kRemoteRead);
  ASSERT_TRUE(rebound.ok()) << rebound.status().ToString();
  Pump();
  EXPECT_EQ(registrar_->counters().bind_failures, 0u);
  ASSERT_TRUE(registrar_->Release(again).ok());
  Pump();
  EXPECT_EQ(registrar_->free_buffers(), 2u);
  recv_mr.reset();
}

TEST_P(RegistrarTest, FailedInvalidationRetiresTheBuffer) {
  size_t buffer = *registrar_->Acquire();
  ASSERT_TRUE(registrar_->Expose(buffer, 4096, Access::kRemoteRead).ok());
  Pump();
  fabric_->InjectQpError(*client_);
  // The queue pair is in error: the invalidation cannot be posted and the buffer is not risked.
  EXPECT_FALSE(registrar_->Release(buffer).ok());
  EXPECT_EQ(registrar_->free_buffers(), 1u);
  size_t other = *registrar_->Acquire();
  EXPECT_NE(other, buffer);
  EXPECT_TRUE(registrar_->Acquire().status().Is(Code::kResourceExhausted));
}

// Detach ends the registrar's use of the endpoint: every key dies with the windows and the region,
// a buffer still held keeps its memory, and nothing is handed out again.
TEST_P(RegistrarTest, DetachKillsEveryKeyAndKeepsHeldMemory) {
  size_t buffer = *registrar_->Acquire();
  auto window = registrar_->Expose(buffer, 4096, Access::kRemoteWrite);
  ASSERT_TRUE(window.ok());
  Pump();
  EXPECT_EQ(ServerWrite("before detach", *window), WcStatus::kSuccess);
  registrar_->Detach();
  registrar_->Detach();  // idempotent
  EXPECT_TRUE(registrar_->detached());
  EXPECT_EQ(std::string(registrar_->Memory(buffer).data(), registrar_->Memory(buffer).data() + 13),
            "before detach");
  EXPECT_TRUE(registrar_->Acquire().status().Is(Code::kDisconnected));
  EXPECT_TRUE(registrar_->Expose(buffer, 16, Access::kRemoteWrite).status().Is(Code::kDisconnected));
  EXPECT_EQ(registrar_->buffers_in_use(), 1u);
  EXPECT_TRUE(registrar_->Release(buffer).ok());
  EXPECT_EQ(registrar_->buffers_in_use(), 0u);
  EXPECT_EQ(registrar_->free_buffers(), 0u);
  EXPECT_EQ(ServerWrite("after", *window), WcStatus::kRemoteAccess);
  EXPECT_EQ(std::string(registrar_->Memory(buffer).data(), registrar_->Memory(buffer).data() + 6),
            "before");
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, RegistrarTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "MemoryWindow" : "RegisterPerIo";
                         });

}  // namespace
}  // namespace smb3::transport::rdma
