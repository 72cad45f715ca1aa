// SPDX-License-Identifier: LGPL-2.1-or-later
#include "transport/rdma/registrar.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace smb3::transport::rdma {

Result<std::unique_ptr<Registrar>> Registrar::Create(Endpoint& endpoint, size_t buffer_size,
                                                     size_t count) {
  if (buffer_size == 0 || count == 0 || count > (1u << 19)) {
    return Status::Invalid("rdma: registrar needs buffers");
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  buffer_size = (buffer_size + page - 1) / page * page;
  const size_t mapped = buffer_size * count;
  // Page-aligned and populated up front: registration pins the pages anyway.
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) return Status::Errno(errno, "rdma: mmap of the registered slab");
  std::unique_ptr<Registrar> r(
      new Registrar(endpoint, static_cast<uint8_t*>(p), mapped, buffer_size));
  SMB3_ASSIGN_OR_RETURN(
      r->region_, endpoint.Register({r->base_, mapped}, Access::kLocalWrite | Access::kRemoteWrite |
                                                            Access::kRemoteRead | Access::kMwBind));
  r->pool_count_ = count;
  r->slots_.resize(2 * count);
  for (size_t i = 0; i < 2 * count; ++i) {
    SMB3_ASSIGN_OR_RETURN(r->slots_[i].window, endpoint.AllocateWindow());
  }
  for (size_t i = 0; i < count; ++i) {
    r->free_.push_back(count - 1 - i);  // Acquire hands out buffer 0 first
    r->caller_free_.push_back(2 * count - 1 - i);
  }
  return r;
}

Registrar::~Registrar() {
  Detach();
  munmap(base_, mapped_);
}

void Registrar::Detach() {
  if (detached_) return;
  detached_ = true;
  // Windows before the region they bind on; deregistering the region kills every key to it, so
  // nothing the peer still holds reaches the memory, which stays mapped for buffers in use.
  for (Slot& s : slots_) s.window.reset();
  for (Slot& s : slots_) s.caller_region.reset();
  caller_regions_.clear();
  region_.reset();
  free_.clear();
  caller_free_.clear();
}

size_t Registrar::buffers_in_use() const {
  size_t n = 0;
  for (const Slot& s : slots_) n += s.state == SlotState::kAcquired ? 1 : 0;
  return n;
}

Result<size_t> Registrar::Acquire() {
  if (detached_) return Status(Code::kDisconnected, 0, "rdma: registrar detached");
  if (free_.empty()) {
    return Status(Code::kResourceExhausted, 0, "rdma: every registered buffer is in use");
  }
  size_t buffer = free_.back();
  free_.pop_back();
  slots_[buffer].state = SlotState::kAcquired;
  return buffer;
}

Status Registrar::AddCallerRegion(std::span<uint8_t> memory) {
  if (detached_) return Status(Code::kDisconnected, 0, "rdma: registrar detached");
  if (memory.empty()) return Status::Invalid("rdma: empty caller region");
  for (const CallerRegion& c : caller_regions_) {
    if (memory.data() < c.base + c.size && c.base < memory.data() + memory.size()) {
      return Status::Invalid("rdma: caller region overlaps one already known");
    }
  }
  // The peer only reads this memory (the data of our WRITEs), through windows bound per I/O;
  // kLocalWrite because devices refuse binding windows on a region without it.
  Result<std::unique_ptr<MemoryRegion>> region =
      endpoint_.Register(memory, Access::kLocalWrite | Access::kRemoteRead | Access::kMwBind);
  CallerRegion c{memory.data(), memory.size(), nullptr};
  if (region.ok()) c.region = std::move(region).value();
  caller_regions_.push_back(std::move(c));
  return region.ok() ? Status::Ok() : region.status();
}

bool Registrar::HasCallerRegion(const uint8_t* base) const {
  return std::any_of(caller_regions_.begin(), caller_regions_.end(),
                     [base](const CallerRegion& c) { return c.base == base; });
}

void Registrar::RemoveCallerRegion(const uint8_t* base) {
  std::erase_if(caller_regions_, [base](const CallerRegion& c) { return c.base == base; });
}

Result<size_t> Registrar::AcquireCaller(std::span<const uint8_t> memory) {
  if (detached_) return Status(Code::kDisconnected, 0, "rdma: registrar detached");
  if (memory.empty() || memory.size() > UINT32_MAX) {
    return Status::Invalid("rdma: caller span empty or too long");
  }
  const CallerRegion* found = nullptr;
  for (const CallerRegion& c : caller_regions_) {
    if (memory.data() >= c.base && memory.data() + memory.size() <= c.base + c.size) found = &c;
  }
  if (found == nullptr) return Status::Invalid("rdma: span not in a caller region");
  if (!found->region) {
    return Status(Code::kNotSupported, 0, "rdma: the caller region could not be registered");
  }
  if (caller_free_.empty()) {
    return Status(Code::kResourceExhausted, 0, "rdma: every caller window is in use");
  }
  size_t buffer = caller_free_.back();
  caller_free_.pop_back();
  Slot& s = slots_[buffer];
  s.state = SlotState::kAcquired;
  s.caller_region = found->region;
  s.caller_memory = {const_cast<uint8_t*>(memory.data()), memory.size()};
  return buffer;
}

std::span<uint8_t> Registrar::Memory(size_t buffer) {
  if (IsCaller(buffer)) return slots_[buffer].caller_memory;
  return {base_ + buffer * buffer_size_, buffer_size_};
}

Sge Registrar::Slice(size_t buffer, uint32_t length) const {
  if (!region_) {  // detached: no local key either
    return Sge{reinterpret_cast<uint64_t>(base_ + buffer * buffer_size_), length, 0};
  }
  return region_->Slice(buffer * buffer_size_, length);
}

Result<RemoteWindow> Registrar::Expose(size_t buffer, uint32_t length, uint32_t remote_access) {
  if (detached_) return Status(Code::kDisconnected, 0, "rdma: registrar detached");
  if (!Valid(buffer) || slots_[buffer].state != SlotState::kAcquired || slots_[buffer].exposed ||
      length == 0 || length > Memory(buffer).size()) {
    return Status::Invalid("rdma: Expose of a buffer not acquired, exposed, or too short");
  }
  Slot& s = slots_[buffer];
  const MemoryRegion& region = IsCaller(buffer) ? *s.caller_region : *region_;
  const size_t offset = static_cast<size_t>(Memory(buffer).data() - region.data());
  SMB3_RETURN_IF_ERROR(
      endpoint_.Bind(WrId(buffer, kBindOp), *s.window, region, offset, length, remote_access));
  s.exposed = true;
  s.rkey = s.window->remote().rkey;
  return s.window->remote();
}

Status Registrar::Release(size_t buffer) {
  if (!Valid(buffer) || slots_[buffer].state != SlotState::kAcquired) {
    return Status::Invalid("rdma: Release of a buffer not acquired");
  }
  Slot& s = slots_[buffer];
  if (detached_) {
    s.state = SlotState::kRetired;  // no key survives Detach(); the memory is never handed out again
    return Status::Ok();
  }
  if (s.failed) {
    s.state = SlotState::kRetired;
    return Status::Ok();
  }
  // Remotely invalidated once its bind completed: the key is already dead.
  if (!s.exposed || (s.bind_done && (s.remote_invalidated || !s.window->bound()))) {
    Free(buffer);
    return Status::Ok();
  }
  s.state = SlotState::kDraining;
  if (s.remote_invalidated) {
    // The peer's answer, carrying the invalidation, was polled before our bind's completion: the
    // key is dead, and invalidating it again would fail (or worse). The buffer is free once the
    // bind's completion is in (OnEvent), so that its window can be bound again.
    return Status::Ok();
  }
  Status st = endpoint_.Invalidate(WrId(buffer, kInvalidateOp), *s.window);
  if (!st.ok()) s.state = SlotState::kRetired;
  return st;
}

void Registrar::OnEvent(const Event& e) {
  if (detached_ || !Owns(e.wr_id)) return;
  size_t buffer = static_cast<size_t>((e.wr_id & ~kWorkRequestTag) >> 1);
  if (!Valid(buffer)) return;
  Slot& s = slots_[buffer];
  bool invalidate = (e.wr_id & 1) == kInvalidateOp;
  if (!e.ok()) {
    // The queue pair is in error: the key's state is unknown, so the buffer is never reused.
    if (!invalidate) ++counters_.bind_failures;
    s.failed = true;
    if (s.state == SlotState::kDraining) s.state = SlotState::kRetired;
    return;
  }
  if (invalidate) {
    ++counters_.windows_invalidated_local;
    if (s.state == SlotState::kDraining) Free(buffer);
  } else {
    ++counters_.windows_bound;
    s.bind_done = true;
    if (s.state == SlotState::kDraining && s.remote_invalidated) Free(buffer);
  }
}

void Registrar::OnRemoteInvalidation(uint32_t rkey) {
  // Only a window's key can be invalidated by the peer; a per-I/O registration is always
  // revoked by us.
  if (detached_ || mechanism() != WindowMechanism::kMemoryWindow) return;
  for (Slot& s : slots_) {
    if (s.exposed && s.rkey == rkey && s.state == SlotState::kAcquired && !s.remote_invalidated) {
      ++counters_.windows_invalidated_remote;
      s.remote_invalidated = true;
      return;
    }
  }
}

void Registrar::Free(size_t buffer) {
  Slot& s = slots_[buffer];
  s.state = SlotState::kFree;
  s.exposed = false;
  s.bind_done = false;
  s.remote_invalidated = false;
  s.failed = false;
  s.rkey = 0;
  s.caller_region.reset();  // the last slot on a removed region deregisters it
  s.caller_memory = {};
  (IsCaller(buffer) ? caller_free_ : free_).push_back(buffer);
}

}  // namespace smb3::transport::rdma
