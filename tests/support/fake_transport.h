// SPDX-License-Identifier: LGPL-2.1-or-later
// An in-process transport::Transport whose server side is driven by the test (the sim tier).
//
// The client side behaves like the TCP transport: Send records each message (its parts joined) and
// the handler's events run on one dedicated receive thread, in the order the test queued them.
// The test queues events with Deliver (OnMessage), Tick (OnTick with a chosen time) and
// CloseFromServer (OnClosed); it never runs a handler itself, so handlers are never re-entered
// from the test thread. Faults: FailSend makes the Nth Send call fail.
//
// Close() follows the Transport contract: queued events not yet delivered are dropped, OnClosed
// runs once on the receive thread, and Close blocks until that thread has stopped unless it is
// called from the thread itself. OnClosed is delivered exactly once whoever closes first.
//
// Lifetime: the Connection owns the transport; the test keeps a raw pointer (see Create) and must
// not use it after the Connection is destroyed. Every wait is bounded and reports failure by
// returning false instead of blocking forever. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "smb3/status.h"
#include "transport/transport.h"

namespace smb3::test {

// How long the helpers wait for a condition before giving up (the test then fails, not hangs).
inline constexpr std::chrono::milliseconds kFakeWaitTimeout{10000};

class FakeTransport final : public transport::Transport {
 public:
  // A transport for a Connection, and a raw pointer to it for the test.
  static std::unique_ptr<FakeTransport> Create() { return std::make_unique<FakeTransport>(); }
  FakeTransport() = default;
  ~FakeTransport() override;
  FakeTransport(const FakeTransport&) = delete;
  FakeTransport& operator=(const FakeTransport&) = delete;

  // transport::Transport
  Status Start(transport::TransportHandler* handler) override;
  Status Send(std::span<const ByteView> parts) override;
  void Close() override;
  TransportKind kind() const override { return TransportKind::kTcp; }
  size_t max_message_size() const override { return 0x00FFFFFF; }
  std::string peer() const override { return "fake"; }
  // The channel set with SetRdmaChannel (none by default: a plain connection).
  std::shared_ptr<transport::RdmaChannel> rdma_channel() override {
    std::lock_guard lock(mu_);
    return rdma_channel_;
  }
  // Offers `channel` (e.g. a FakeRdmaChannel) as this transport's RDMA data channel.
  void SetRdmaChannel(std::shared_ptr<transport::RdmaChannel> channel) {
    std::lock_guard lock(mu_);
    rdma_channel_ = std::move(channel);
  }

  // --- server side -------------------------------------------------------------------------
  // Queues OnMessage(bytes) on the receive thread. Dropped once the transport is closed.
  void Deliver(ByteView bytes);
  // Queues OnTick(now).
  void Tick(std::chrono::steady_clock::time_point now);
  // Queues OnClosed(why) after the events already queued, as a server hang-up would. Later
  // events are dropped.
  void CloseFromServer(Status why);
  // The Nth call to Send (1-based, counted since construction) fails with `why`; the message is
  // not recorded. One fault at a time; 0 clears it.
  void FailSend(size_t nth, Status why);

  // Waits until every event queued so far has been handled (or dropped).
  bool WaitIdle(std::chrono::milliseconds timeout = kFakeWaitTimeout);
  // Waits until at least `count` messages have been sent in total.
  bool WaitForSent(size_t count, std::chrono::milliseconds timeout = kFakeWaitTimeout);
  // Waits until OnClosed has returned.
  bool WaitClosed(std::chrono::milliseconds timeout = kFakeWaitTimeout);

  // Every message sent so far, in order (a copy).
  std::vector<std::vector<uint8_t>> sent() const;
  // The message sent as number `index` (0-based); empty when there is none yet.
  std::vector<uint8_t> sent_at(size_t index) const;
  size_t sent_count() const;
  size_t send_calls() const;
  // How many times OnClosed ran (the contract says at most once) and the Status it was given.
  int on_closed_calls() const;
  Status closed_with() const;
  // True once Close or CloseFromServer was called, or a Send failed.
  bool closed() const;
  // Events (messages, ticks) that were dropped because the transport had closed.
  size_t dropped_events() const;

 private:
  struct Event {
    enum class Kind { kMessage, kTick, kClose } kind;
    std::vector<uint8_t> bytes;
    std::chrono::steady_clock::time_point now;
    Status why;
  };

  void Enqueue(Event event);
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;  // signalled on every state change below
  transport::TransportHandler* handler_ = nullptr;
  std::thread thread_;
  std::thread::id thread_id_;
  std::mutex join_mu_;  // one joiner at a time
  std::deque<Event> queue_;
  uint64_t queued_ = 0;     // events ever queued
  uint64_t finished_ = 0;   // events handled or dropped
  bool closing_ = false;    // no more events accepted; the thread delivers OnClosed next
  bool closing_pending_ = false;  // CloseFromServer queued: later events are dropped
  Status close_why_;
  bool stopped_ = false;    // OnClosed has returned (or never will: not started)
  int on_closed_calls_ = 0;
  Status closed_with_;
  size_t dropped_ = 0;
  std::vector<std::vector<uint8_t>> sent_;
  size_t send_calls_ = 0;
  size_t fail_nth_ = 0;
  Status fail_why_;
  std::shared_ptr<transport::RdmaChannel> rdma_channel_;
};

}  // namespace smb3::test
