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

bool BufferPool::Reserve(size_t count) {
  std::lock_guard lock(mu_);
  while (free_.size() < count) {
    if (!AddSlabLocked()) return false;
  }
  return true;
}

bool BufferPool::AddSlabLocked() {
  const size_t length = buffer_size_ * per_slab_;
  // Pre-fault the whole slab in one go, far cheaper than page-by-page first touch; ask for
  // transparent huge pages first (THP is "madvise" on Debian) so a slab is a few 2 MiB pages.
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return false;
  madvise(base, length, MADV_HUGEPAGE);
  if (madvise(base, length, MADV_POPULATE_WRITE) != 0) {
    // Kernels before 5.14: touch each page once.
    for (size_t off = 0; off < length; off += 4096) static_cast<volatile uint8_t*>(base)[off] = 0;
  }
  slabs_.push_back({base, length});
  for (size_t i = per_slab_; i-- > 0;) {
    free_.push_back(static_cast<uint8_t*>(base) + i * buffer_size_);
  }
  return true;
}

uint8_t* BufferPool::Acquire() {
  std::lock_guard lock(mu_);
  if (free_.empty() && !AddSlabLocked()) return nullptr;
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
