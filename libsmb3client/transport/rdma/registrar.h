// SPDX-License-Identifier: LGPL-2.1-or-later
// The memory registrar: one page-aligned slab registered once per connection (local write, remote
// read and write, window binding), cut into equal buffers for RDMA READ/WRITE payloads, and the
// per-I/O exposure of a buffer to the peer.
//
// A buffer is shown to the peer only between Expose() and the end of its I/O: with type-2 memory
// windows a window is bound per I/O under a fresh key and the peer invalidates it with its reply
// (SMB2_CHANNEL_RDMA_V1_INVALIDATE); otherwise (kRegisterPerIo) the I/O's range is registered on
// its own and deregistered afterwards (SMB2_CHANNEL_RDMA_V1). Release() returns a buffer to the
// free list only once its key is dead: at once if the peer invalidated it (once the bind's own
// completion is in, should the peer's answer be polled first), else after the local invalidation
// completes — so a late RDMA operation of the peer can never reach a reused buffer, and a key the
// peer invalidated is never invalidated again.
//
// The registrar posts binds and invalidations with wr_ids tagged by kWorkRequestTag; the event loop
// hands every Event whose wr_id carries the tag to OnEvent(), and every received message's
// invalidated_rkey to OnRemoteInvalidation() (the endpoint has already marked the window unbound).
//
// Caller memory. Besides its own slab the registrar exposes memory its user registered with
// AddCallerRegion (once per connection; e.g. the receive buffers of a FUSE daemon, so a WRITE's
// data goes to the peer from where it already is): AcquireCaller takes one of a separate set of
// window slots over a span inside such a region, and Expose/Release then work as for a buffer of
// the slab — the key lives only while the I/O is in flight. The registration of a region stays
// until RemoveCallerRegion and no slot still exposing it, or Detach().
//
// Detach() ends the registrar's use of the endpoint (windows and region deregistered: every key is
// dead) while the mapped memory stays until the registrar is destroyed, so buffers still held by
// callers stay readable; afterwards Acquire and Expose fail with kDisconnected and Release only
// returns the buffer.
//
// Not thread-safe: belongs to its endpoint's event loop. Destroy it, or Detach() it, before the
// endpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "smb3/status.h"
#include "transport/rdma/device.h"

namespace smb3::transport::rdma {

struct RegistrarCounters {
  uint64_t windows_bound = 0;
  uint64_t windows_invalidated_remote = 0;  // by the peer's SEND_WITH_INVALIDATE
  uint64_t windows_invalidated_local = 0;   // by us, before reusing the buffer
  uint64_t bind_failures = 0;
};

class Registrar {
 public:
  // High bits of every wr_id the registrar posts; the transport's own wr_ids must not use them.
  static constexpr uint64_t kWorkRequestTag = 0x5245470000000000ull;  // "REG"
  static bool Owns(uint64_t wr_id) { return (wr_id & 0xffffff0000000000ull) == kWorkRequestTag; }

  // Maps and registers `count` buffers of `buffer_size` bytes (rounded up to whole pages) on
  // `endpoint`, with one window slot each, and `count` more window slots for caller memory. Errors: kInvalidArgument (zero size or count),
  // kSystem (mmap), whatever Register/AllocateWindow return.
  static Result<std::unique_ptr<Registrar>> Create(Endpoint& endpoint, size_t buffer_size,
                                                   size_t count);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  WindowMechanism mechanism() const { return endpoint_.window_mechanism(); }
  size_t buffer_size() const { return buffer_size_; }
  size_t free_buffers() const { return free_.size(); }

  // A free buffer's index. Errors: kResourceExhausted when every buffer is in use or waiting for
  // its key to die; kDisconnected after Detach().
  Result<size_t> Acquire();
  // The buffer's memory (valid while acquired) and an SGE over its first `length` bytes (Slice:
  // slab buffers only).
  std::span<uint8_t> Memory(size_t buffer);
  Sge Slice(size_t buffer, uint32_t length) const;

  // Exposes the first `length` bytes of an acquired buffer with `remote_access` (kRemoteWrite for
  // an SMB2 READ's data, kRemoteRead for a WRITE's); the returned window goes into the
  // SMB_DIRECT_BUFFER_DESCRIPTOR_V1 at once. Errors: kInvalidArgument (not acquired, already
  // exposed, length beyond the buffer or caller span), kDisconnected after Detach(), the endpoint's Bind errors.
  Result<RemoteWindow> Expose(size_t buffer, uint32_t length, uint32_t remote_access);
  // The I/O on `buffer` is over. The buffer becomes free once its key is dead (see above).
  // Errors: kInvalidArgument (not acquired), the endpoint's Invalidate errors (the buffer is then
  // retired for the connection's lifetime rather than risked). After Detach() the buffer is only
  // returned (no key to it survives).
  Status Release(size_t buffer);
  // Whether Release(buffer) had to revoke the key itself because the peer had not invalidated it
  // with its response (valid right after Release, until the buffer is acquired again).
  bool RevokingLocally(size_t buffer) const {
    return Valid(buffer) && slots_[buffer].state == SlotState::kDraining &&
           !slots_[buffer].remote_invalidated;
  }
  // Whether `buffer` is a caller slot (AcquireCaller) rather than a slab buffer.
  bool IsCallerSlot(size_t buffer) const { return IsCaller(buffer); }

  // Deregisters every window and the region (call before the endpoint is destroyed, typically once
  // it is disconnected); the memory stays mapped until the registrar is destroyed. Idempotent.
  void Detach();
  bool detached() const { return detached_; }
  // Buffers acquired and not yet released (slab and caller slots).
  size_t buffers_in_use() const;

  // Registers `memory` (kLocalWrite | kRemoteRead | kMwBind) as a caller region. A failure is
  // remembered: the region is then known but never exposed (AcquireCaller fails kNotSupported)
  // until removed. Errors: kInvalidArgument (empty, or overlapping a known region), kDisconnected
  // after Detach(), whatever Register returns.
  Status AddCallerRegion(std::span<uint8_t> memory);
  // Whether AddCallerRegion was called for a region starting at `base` (successfully or not).
  bool HasCallerRegion(const uint8_t* base) const;
  // Forgets the region starting at `base`; it is deregistered once no slot exposes it.
  void RemoveCallerRegion(const uint8_t* base);
  // A free caller slot over `memory`, which must lie wholly inside one registered caller region;
  // Memory(slot) is then `memory` and Expose(slot, memory.size(), ...) shows exactly it. Errors:
  // kInvalidArgument (no region holds it, empty, above 4 GiB), kNotSupported (its registration
  // failed), kResourceExhausted (every caller slot busy), kDisconnected.
  Result<size_t> AcquireCaller(std::span<const uint8_t> memory);

  // Completions of the registrar's work requests (Owns(e.wr_id)). A failed bind or invalidation
  // retires the buffer; the queue pair is in error anyway.
  void OnEvent(const Event& e);
  // A received message reported `rkey` invalidated by the peer.
  void OnRemoteInvalidation(uint32_t rkey);

  const RegistrarCounters& counters() const { return counters_; }

 private:
  enum class SlotState : uint8_t { kFree, kAcquired, kDraining, kRetired };
  struct CallerRegion {
    uint8_t* base = nullptr;
    size_t size = 0;
    std::shared_ptr<MemoryRegion> region;  // null: its registration failed
  };
  struct Slot {
    SlotState state = SlotState::kFree;
    std::unique_ptr<MemoryWindow> window;
    // Caller slots only, while acquired: the span exposed and the region it lies in (held so the
    // region outlives every key bound on it).
    std::shared_ptr<MemoryRegion> caller_region;
    std::span<uint8_t> caller_memory;
    bool exposed = false;             // a bind was posted for the current I/O
    bool bind_done = false;           // ...and completed
    bool remote_invalidated = false;  // the peer invalidated rkey (possibly before bind_done)
    bool failed = false;              // a bind or invalidation failed: never reuse
    uint32_t rkey = 0;                // the current I/O's key
  };
  enum Op : uint64_t { kBindOp = 0, kInvalidateOp = 1 };

  Registrar(Endpoint& endpoint, uint8_t* base, size_t mapped, size_t buffer_size)
      : endpoint_(endpoint), base_(base), mapped_(mapped), buffer_size_(buffer_size) {}
  static uint64_t WrId(size_t buffer, Op op) { return kWorkRequestTag | (buffer << 1) | op; }
  bool Valid(size_t buffer) const { return buffer < slots_.size(); }
  bool IsCaller(size_t buffer) const { return buffer >= pool_count_; }
  void Free(size_t buffer);

  Endpoint& endpoint_;
  uint8_t* base_;
  size_t mapped_;
  size_t buffer_size_;
  std::unique_ptr<MemoryRegion> region_;
  size_t pool_count_ = 0;  // slots_[0, pool_count_) are the slab's buffers, the rest caller slots
  std::vector<Slot> slots_;
  std::vector<size_t> free_;
  std::vector<size_t> caller_free_;
  std::vector<CallerRegion> caller_regions_;
  RegistrarCounters counters_;
  bool detached_ = false;
};

}  // namespace smb3::transport::rdma
