// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared pieces of the Connection simulations: a Connection over a FakeTransport with a
// ScriptedServer at the other end, request builders, and a callback recorder that counts calls.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "smb2/echo.h"
#include "smb2/read.h"
#include "support/fake_transport.h"
#include "support/scripted_server.h"

namespace smb3::test {

using client::Connection;
using client::Request;
using client::Response;
using Clock = std::chrono::steady_clock;

// Records the outcome of one Submit; counts calls so that "exactly once" can be asserted.
class Outcome {
 public:
  Connection::Callback Callback() {
    return [this](Result<Response> r) {
      std::lock_guard lock(mu_);
      ++calls_;
      result_.emplace(std::move(r));
      cv_.notify_all();
    };
  }
  bool Wait(std::chrono::milliseconds timeout = kFakeWaitTimeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_ > 0; });
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // The outcome, after Wait returned true.
  Result<Response> result() const {
    std::lock_guard lock(mu_);
    return result_ ? *result_ : Result<Response>(Status(Code::kCancelled, 0, "no outcome yet"));
  }
  Status status() const { return result().status(); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  std::optional<Result<Response>> result_;
};

// The same for SubmitCompound.
class CompoundOutcome {
 public:
  Connection::CompoundCallback Callback() {
    return [this](std::vector<Result<Response>> r) {
      std::lock_guard lock(mu_);
      ++calls_;
      results_ = std::move(r);
      cv_.notify_all();
    };
  }
  bool Wait(std::chrono::milliseconds timeout = kFakeWaitTimeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_ > 0; });
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<Result<Response>> results() const {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  std::vector<Result<Response>> results_;
};

inline Request EchoRequest() {
  Request r = client::NewRequest(smb2::SMB2_ECHO);
  ByteWriter w(r.message);
  EXPECT_TRUE(smb2::EncodeEchoRequest(w).ok());
  return r;
}

// A READ of `length` bytes at `offset`; the offset doubles as a token the server echoes back.
inline Request ReadRequest(uint32_t length, uint64_t offset) {
  Request r = client::NewRequest(smb2::SMB2_READ);
  ByteWriter w(r.message);
  smb2::ReadRequest rr;
  rr.length = length;
  rr.offset = offset;
  EXPECT_TRUE(smb2::EncodeReadRequest(rr, w).ok());
  r.credit_bytes = length;
  r.tree_id = 7;
  return r;
}

// The Offset field of a READ request element ([MS-SMB2] 2.2.19: after StructureSize, Padding,
// Flags and Length).
inline uint64_t ReadOffsetOf(const ClientRequest& request) {
  return LoadU64(&request.bytes[smb2::kHeaderSize + 8]);
}

// Polls `done` until it holds or `timeout` passes: for state that has no notification (a thread
// blocked inside the library). Bounded; returns the final value.
template <class Pred>
bool WaitUntil(Pred done, std::chrono::milliseconds timeout = kFakeWaitTimeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Closes the connection when a test body leaves, so that callbacks still outstanding run while the
// body's Outcomes exist (also when an ASSERT returns early). Declare it after those Outcomes.
class CloseAtExit {
 public:
  explicit CloseAtExit(std::shared_ptr<Connection>& conn) : conn_(conn) {}
  ~CloseAtExit() {
    if (conn_) conn_->Close(Status(Code::kCancelled, 0, "test: end of scope"));
  }
  CloseAtExit(const CloseAtExit&) = delete;
  CloseAtExit& operator=(const CloseAtExit&) = delete;

 private:
  std::shared_ptr<Connection>& conn_;
};

// A Connection over a FakeTransport, a ScriptedServer on the other end.
class ConnectionSim : public ::testing::Test {
 protected:
  static Connection::Options DefaultOptions() {
    Connection::Options o;
    o.request_timeout = std::chrono::milliseconds(60000);
    o.echo_interval = std::chrono::seconds(3600);  // no keepalive unless a test asks for it
    return o;
  }

  void StartConnection(Connection::Options options = DefaultOptions()) {
    auto transport = FakeTransport::Create();
    wire_ = transport.get();
    conn_ = std::make_shared<Connection>(std::move(transport), options);
    ASSERT_TRUE(conn_->Start().ok());
    server_ = std::make_unique<ScriptedServer>(*wire_);
  }

  void TearDown() override {
    server_.reset();
    conn_.reset();  // closes the transport and joins its thread
  }

  // Waits for the next client message and returns its only request.
  ClientRequest NextSingle() {
    auto m = server_->Next();
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok() || m->requests.size() != 1) {
      ADD_FAILURE() << "expected one request";
      return {};
    }
    return m->requests[0];
  }

  // The connection dropped because of what the server sent: OnClosed ran exactly once.
  void ExpectDroppedWith(Code code) {
    ASSERT_TRUE(wire_->WaitClosed());
    EXPECT_FALSE(conn_->connected());
    EXPECT_TRUE(conn_->close_reason().Is(code)) << conn_->close_reason().ToString();
    EXPECT_EQ(wire_->on_closed_calls(), 1);
  }

  std::shared_ptr<Connection> conn_;
  FakeTransport* wire_ = nullptr;
  std::unique_ptr<ScriptedServer> server_;
};

}  // namespace smb3::test
