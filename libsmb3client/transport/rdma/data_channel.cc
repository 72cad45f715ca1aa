// SPDX-License-Identifier: LGPL-2.1-or-later
#include "transport/rdma/data_channel.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/log.h"

namespace smb3::transport::rdma {

namespace {
// A handle is (sequence << kIndexBits) | buffer: a stale or forged handle names a buffer whose
// current handle differs, and is ignored. Registrar::Create allows at most 2^19 buffers, and as many caller slots.
constexpr unsigned kIndexBits = 20;
constexpr uint64_t kIndexMask = (1ull << kIndexBits) - 1;
}  // namespace

class DataChannel::Lock {
 public:
  explicit Lock(const DataChannel& c) : c_(c) {
    // Order on the loop thread is endpoint_mu -> mu_; here mu_ is taken first, so endpoint_mu only
    // by try_lock, letting go of mu_ between attempts. Once detached_ is seen under mu_, Detach()
    // has returned and endpoint_mu may no longer exist: it is not touched.
    for (unsigned attempt = 0;; ++attempt) {
      c_.mu_.lock();
      if (c_.detached_) return;
      if (c_.endpoint_mu_.try_lock()) {
        attached_ = true;
        return;
      }
      c_.mu_.unlock();
      if (attempt < 64) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
  }
  ~Lock() {
    if (attached_) c_.endpoint_mu_.unlock();
    c_.mu_.unlock();
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  bool attached() const { return attached_; }

 private:
  const DataChannel& c_;
  bool attached_ = false;
};

Result<std::shared_ptr<DataChannel>> DataChannel::Create(Endpoint& endpoint,
                                                         std::mutex& endpoint_mu,
                                                         size_t buffer_size, size_t count,
                                                         size_t max_read_write_size) {
  if (buffer_size == 0 || count == 0 || max_read_write_size == 0) {
    return Status::Invalid("rdma: data channel needs buffers and a MaxReadWriteSize");
  }
  SMB3_ASSIGN_OR_RETURN(auto registrar, Registrar::Create(endpoint, buffer_size, count));
  // [MS-SMBD] 3.1.5.7: no single RDMA transfer exceeds the negotiated MaxReadWriteSize.
  const size_t max_io = std::min({buffer_size, registrar->buffer_size(), max_read_write_size,
                                  static_cast<size_t>(UINT32_MAX)});
  std::shared_ptr<DataChannel> channel(new DataChannel(endpoint_mu, std::move(registrar), max_io));
  channel->handles_.assign(2 * count, 0);  // the slab's buffers, then the caller slots
  return channel;
}

DataChannel::DataChannel(std::mutex& endpoint_mu, std::unique_ptr<Registrar> registrar,
                         size_t max_io_size)
    : endpoint_mu_(endpoint_mu),
      registrar_(std::move(registrar)),
      max_io_size_(max_io_size),
      mechanism_(WindowMechanismName(registrar_->mechanism())),
      // [MS-SMB2] 2.2.19: SMB2_CHANNEL_RDMA_V1_INVALIDATE asks the server to invalidate the key
      // with its SEND_WITH_INVALIDATE ([MS-SMBD] 3.1.4.2); only a memory window can be
      // invalidated that way (a per-I/O registration cannot: the device refuses), so with
      // kRegisterPerIo the key is revoked by us (SMB2_CHANNEL_RDMA_V1).
      remote_invalidate_(registrar_->mechanism() == WindowMechanism::kMemoryWindow) {}

// The transport must have called Detach(); if not, the registrar is only safe to destroy while
// the endpoint lives, which is the transport's contract, not ours to check here.
DataChannel::~DataChannel() = default;

void DataChannel::NoteFreed() {
  ++freed_generation_;
  freed_cv_.notify_all();
}

void DataChannel::OnEvent(const Event& e) {
  std::lock_guard lock(mu_);
  if (detached_) return;
  registrar_->OnEvent(e);
  NoteFreed();  // a local invalidation done frees its buffer
}

void DataChannel::OnRemoteInvalidation(uint32_t rkey) {
  std::lock_guard lock(mu_);
  if (detached_) return;
  registrar_->OnRemoteInvalidation(rkey);
  NoteFreed();  // a buffer released before its bind completed may now be free
}

void DataChannel::Detach() {
  std::lock_guard lock(mu_);
  if (detached_) return;
  registrar_->Detach();
  detached_ = true;
  NoteFreed();  // waiters now fail with kDisconnected
}

void DataChannel::SetLoopThread(std::thread::id id) {
  std::lock_guard lock(mu_);
  loop_thread_ = id;
}

Result<RdmaIoBuffer> DataChannel::Acquire(size_t length, bool server_writes,
                                          std::chrono::milliseconds wait) {
  if (length == 0 || length > max_io_size_) {
    return Status::Invalid("rdma: data channel buffer length out of range");
  }
  return AcquireWaiting([&] { return TryAcquire(length, server_writes); }, wait);
}

Result<RdmaIoBuffer> DataChannel::ExposeCallerMemory(std::span<uint8_t> region,
                                                     std::span<const uint8_t> memory,
                                                     std::chrono::milliseconds wait) {
  if (memory.empty() || memory.size() > max_io_size_) {
    return Status::Invalid("rdma: caller span length out of range");
  }
  // The caller reuses its memory as soon as the I/O completes, without waiting for a local
  // invalidation to finish; only a window the server invalidates with its response
  // (SMB2_CHANNEL_RDMA_V1_INVALIDATE, [MS-SMBD] 3.1.4.2) is dead by then. A per-I/O registration
  // is revoked by us after the response, so such I/O uses the pool (a copy) instead.
  if (!remote_invalidate_) {
    return Status(Code::kNotSupported, 0, "rdma: caller memory needs memory windows");
  }
  return AcquireWaiting(
      [&]() -> Result<RdmaIoBuffer> {
        if (!registrar_->HasCallerRegion(region.data())) {
          // Once per region per connection: a new connection (a reconnect) registers it again.
          Status st = registrar_->AddCallerRegion(region);
          if (!st.ok() && !registrar_->HasCallerRegion(region.data())) return st;
        }
        if (caller_memory_refused_) {
          return Status(Code::kNotSupported, 0,
                        "rdma: the server does not invalidate WRITE windows with its response");
        }
        Result<size_t> buffer = registrar_->AcquireCaller(memory);
        if (!buffer.ok()) return buffer.status();
        return ExposeAcquired(*buffer, memory.size(), /*server_writes=*/false);
      },
      wait);
}

void DataChannel::ForgetCallerMemory(std::span<uint8_t> region) {
  Lock lock(*this);
  if (!lock.attached()) return;
  registrar_->RemoveCallerRegion(region.data());
}

template <typename Attempt>
Result<RdmaIoBuffer> DataChannel::AcquireWaiting(Attempt attempt, std::chrono::milliseconds wait) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + wait;
  bool waited = false;
  for (;;) {
    uint64_t generation;
    {
      Lock lock(*this);
      if (!lock.attached()) return Status(Code::kDisconnected, 0, "rdma: data channel detached");
      Result<RdmaIoBuffer> out = attempt();
      if (out.ok() || !out.status().Is(Code::kResourceExhausted)) {
        if (waited) {
          acquire_wait_us_ += static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
        }
        return out;
      }
      // Every buffer is held by an I/O in flight (or waits for its key to die). The loop thread
      // frees them, so it must not wait; any other thread waits for one, up to `wait`.
      if (std::this_thread::get_id() == loop_thread_ || Clock::now() >= deadline) {
        ++acquire_exhausted_;
        if (waited) {
          acquire_wait_us_ += static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
        }
        return out;
      }
      if (!waited) ++acquire_waits_;
      waited = true;
      generation = freed_generation_;
    }
    // Neither mutex is held here (Lock released both): the loop thread can free buffers.
    std::unique_lock wait_lock(mu_);
    freed_cv_.wait_until(wait_lock, deadline,
                         [&] { return freed_generation_ != generation || detached_; });
  }
}

Result<RdmaIoBuffer> DataChannel::TryAcquire(size_t length, bool server_writes) {
  Result<size_t> buffer = registrar_->Acquire();
  if (!buffer.ok()) return buffer.status();
  return ExposeAcquired(*buffer, length, server_writes);
}

Result<RdmaIoBuffer> DataChannel::ExposeAcquired(size_t buffer, size_t length,
                                                 bool server_writes) {
  // [MS-SMB2] 3.2.4.6 / 3.2.4.7: the server RDMA-WRITEs a READ's data into the buffer and
  // RDMA-READs a WRITE's data from it; [MS-SMBD] 3.1.4.3: only the permission that I/O needs is
  // enabled, for exactly `length` bytes.
  Result<RemoteWindow> window =
      registrar_->Expose(buffer, static_cast<uint32_t>(length),
                         server_writes ? Access::kRemoteWrite : Access::kRemoteRead);
  if (!window.ok()) {
    (void)registrar_->Release(buffer);  // never exposed: free at once, or retired
    return window.status();
  }
  const uint64_t handle = (next_sequence_++ << kIndexBits) | buffer;
  handles_[buffer] = handle;
  ++buffers_acquired_;
  RdmaIoBuffer out;
  out.handle = handle;
  out.memory = registrar_->Memory(buffer).first(length);
  out.remote_offset = window->addr;
  out.remote_token = window->rkey;
  out.remote_length = static_cast<uint32_t>(length);
  out.remote_invalidate = remote_invalidate_;
  return out;
}

void DataChannel::Release(uint64_t handle) {
  const size_t buffer = static_cast<size_t>(handle & kIndexMask);
  Lock lock(*this);
  if (handle == 0 || buffer >= handles_.size() || handles_[buffer] != handle) return;
  handles_[buffer] = 0;
  // [MS-SMBD] 3.1.4.4: no further remote access may be possible once deregistered. Attached: the
  // key is revoked unless the peer already invalidated it, and the buffer waits for that (a
  // failure retires the buffer: the queue pair is in error and the connection is ending).
  // Detached: every key died with the region; the buffer is only returned.
  (void)registrar_->Release(buffer);
  if (registrar_->IsCallerSlot(buffer) && registrar_->RevokingLocally(buffer) &&
      !caller_memory_refused_) {
    // [MS-SMBD] 3.1.4.2 / [MS-SMB2] 3.2.4.7: asked for SMB2_CHANNEL_RDMA_V1_INVALIDATE, the server
    // left the key alive; the caller's memory could be read after the I/O until our invalidation
    // lands. Once per connection, then copy.
    caller_memory_refused_ = true;
    SMB3_LOG_WARN("smbdirect: the server did not invalidate a WRITE's memory window with its "
                  "response; WRITE data is copied into registered buffers on this connection");
  }
  NoteFreed();
}

RdmaChannelCounters DataChannel::counters() const {
  std::lock_guard lock(mu_);
  const RegistrarCounters& r = registrar_->counters();
  RdmaChannelCounters c;
  c.buffers_acquired = buffers_acquired_;
  c.acquire_waits = acquire_waits_;
  c.acquire_wait_us = acquire_wait_us_;
  c.acquire_exhausted = acquire_exhausted_;
  c.windows_bound = r.windows_bound;
  c.windows_invalidated_remote = r.windows_invalidated_remote;
  c.windows_invalidated_local = r.windows_invalidated_local;
  c.bind_failures = r.bind_failures;
  return c;
}

size_t DataChannel::buffers_in_use() const {
  std::lock_guard lock(mu_);
  return registrar_->buffers_in_use();
}

}  // namespace smb3::transport::rdma
