// SPDX-License-Identifier: LGPL-2.1-or-later
// The RdmaChannel of an SMB Direct connection: the registrar's buffers offered to the client for
// server-initiated RDMA of READ and WRITE data ([MS-SMB2] 3.2.4.6, 3.2.4.7; [MS-SMBD] 3.1.4.3).
//
// Threads. The endpoint and the registrar belong to the transport's loop thread, which holds
// `endpoint_mu` whenever it touches the endpoint. The transport calls Create, OnEvent,
// OnRemoteInvalidation and Detach on that thread with `endpoint_mu` held. Acquire and Release come
// from any thread: they take the channel's own mutex and then `endpoint_mu` (with try_lock, backing
// off, so the loop thread's order endpoint_mu -> own mutex cannot deadlock with them). Once
// Detach() has returned the channel never touches `endpoint_mu` or the endpoint again, so both may
// be destroyed while the client still holds the channel and buffers: their memory stays mapped
// until the channel itself is destroyed, Acquire fails with kDisconnected and Release only returns
// the buffer. The transport must hold `endpoint_mu` only briefly (never while blocking in poll).
// Acquire waits for a free buffer holding neither mutex; Release, OnEvent (a local invalidation
// done), OnRemoteInvalidation and Detach wake it. It never waits on the loop thread (named by
// SetLoopThread), which is the thread that completes the I/O holding the buffers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "smb3/status.h"
#include "transport/rdma/device.h"
#include "transport/rdma/registrar.h"
#include "transport/transport.h"

namespace smb3::transport::rdma {

class DataChannel : public transport::RdmaChannel {
 public:
  // Registers `count` buffers of `buffer_size` bytes on `endpoint` (once per connection). Called on the transport's loop
  // thread with endpoint_mu held, after the SMBD negotiation (max_read_write_size = negotiated
  // MaxReadWriteSize). Errors: kInvalidArgument (zero size, count or max_read_write_size),
  // whatever Registrar::Create returns.
  static Result<std::shared_ptr<DataChannel>> Create(Endpoint& endpoint, std::mutex& endpoint_mu,
                                                     size_t buffer_size, size_t count,
                                                     size_t max_read_write_size);
  ~DataChannel() override;
  DataChannel(const DataChannel&) = delete;
  DataChannel& operator=(const DataChannel&) = delete;

  // Loop thread, endpoint_mu held: every Event whose wr_id Registrar::Owns(wr_id); and each
  // received message's invalidated_rkey (called BEFORE that message is handed upward, so the
  // response's Release finds the key already dead).
  void OnEvent(const Event& e);
  void OnRemoteInvalidation(uint32_t rkey);
  // The transport's loop thread, on which Acquire never waits. Any thread, before Start's loop
  // delivers its first response.
  void SetLoopThread(std::thread::id id);
  // Loop thread, endpoint_mu held, before the endpoint is destroyed: deregisters everything;
  // memory stays mapped until the channel is destroyed; Acquire then fails kDisconnected.
  // Idempotent.
  void Detach();

  // RdmaChannel. Acquire/Release from ANY thread (see the class comment).
  size_t max_io_size() const override { return max_io_size_; }
  const char* mechanism() const override { return mechanism_; }
  Result<RdmaIoBuffer> Acquire(size_t length, bool server_writes,
                               std::chrono::milliseconds wait) override;
  void Release(uint64_t handle) override;
  RdmaChannelCounters counters() const override;
  // Registers `region` on this connection the first time it is named (a failure is remembered and
  // answered kNotSupported from then on), then binds a window over `memory` as Acquire does.
  // kNotSupported with per-I/O registration (kRegisterPerIo), where no remote invalidation
  // revokes the key with the response (see transport.h).
  Result<RdmaIoBuffer> ExposeCallerMemory(std::span<uint8_t> region,
                                          std::span<const uint8_t> memory,
                                          std::chrono::milliseconds wait) override;
  void ForgetCallerMemory(std::span<uint8_t> region) override;

  // Buffers acquired and not yet released (for tests and teardown checks).
  size_t buffers_in_use() const;

 private:
  // Holds mu_ and, unless the channel is detached, endpoint_mu (see the class comment).
  class Lock;

  // One attempt with the locks held: a buffer, or kResourceExhausted, kDisconnected, a bind error.
  Result<RdmaIoBuffer> TryAcquire(size_t length, bool server_writes);
  // Exposes the acquired `buffer` for `length` bytes and makes its handle; the locks held.
  Result<RdmaIoBuffer> ExposeAcquired(size_t buffer, size_t length, bool server_writes);
  // Runs `attempt` (with the locks held) until it succeeds, fails otherwise than
  // kResourceExhausted, or `wait` is over; never waits on the loop thread.
  template <typename Attempt>
  Result<RdmaIoBuffer> AcquireWaiting(Attempt attempt, std::chrono::milliseconds wait);
  // Wakes Acquire calls waiting for a buffer; mu_ held.
  void NoteFreed();

  DataChannel(std::mutex& endpoint_mu, std::unique_ptr<Registrar> registrar, size_t max_io_size);

  std::mutex& endpoint_mu_;  // not touched once detached_
  mutable std::mutex mu_;    // guards everything below
  std::unique_ptr<Registrar> registrar_;
  const size_t max_io_size_;
  const char* const mechanism_;
  const bool remote_invalidate_;
  bool detached_ = false;
  uint64_t next_sequence_ = 1;
  std::vector<uint64_t> handles_;  // per buffer: the handle of its current I/O, 0 when none
  std::condition_variable freed_cv_;  // with mu_: a buffer may have come free
  uint64_t freed_generation_ = 0;     // bumped by NoteFreed
  std::thread::id loop_thread_;
  uint64_t buffers_acquired_ = 0;
  uint64_t acquire_waits_ = 0;
  uint64_t acquire_wait_us_ = 0;
  uint64_t acquire_exhausted_ = 0;
  // Set when the peer answered a WRITE from caller memory without invalidating its window: the
  // caller may reuse that memory before our own invalidation lands, so from then on caller memory
  // is refused (its data is copied into the pool) for this connection.
  bool caller_memory_refused_ = false;
};

}  // namespace smb3::transport::rdma
