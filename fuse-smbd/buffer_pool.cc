// SPDX-License-Identifier: LGPL-2.1-or-later
#include "buffer_pool.h"

#include <sys/mman.h>
#include <unistd.h>

namespace fuse_smbd {

BufferPool::BufferPool(size_t buffer_size, size_t buffers_per_slab)
    : per_slab_(buffers_per_slab == 0 ? 1 : buffers_per_slab) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  buffer_size_ = (buffer_size + page - 1) / page * page;
}

BufferPool::~BufferPool() {
  for (const Slab& s : slabs_) munmap(s.base, s.length);
}

uint8_t* BufferPool::Acquire() {
  std::lock_guard lock(mu_);
  if (free_.empty()) {
    const size_t length = buffer_size_ * per_slab_;
    // MAP_POPULATE pre-faults the whole slab in one go, far cheaper than page-by-page first touch.
    void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (base == MAP_FAILED) return nullptr;
    slabs_.push_back({base, length});
    for (size_t i = per_slab_; i-- > 0;) {
      free_.push_back(static_cast<uint8_t*>(base) + i * buffer_size_);
    }
  }
  uint8_t* b = free_.back();
  free_.pop_back();
  return b;
}

void BufferPool::Release(uint8_t* buffer) {
  if (buffer == nullptr) return;
  std::lock_guard lock(mu_);
  free_.push_back(buffer);
}

size_t BufferPool::mapped_bytes() const {
  std::lock_guard lock(mu_);
  size_t total = 0;
  for (const Slab& s : slabs_) total += s.length;
  return total;
}

}  // namespace fuse_smbd
