// SPDX-License-Identifier: LGPL-2.1-or-later
#include "base/buffer.h"

#include <sys/mman.h>

#include <bit>
#include <cstdlib>
#include <new>

namespace smb3 {
namespace {

constexpr size_t kMinClassShift = 12;  // 4 KiB
constexpr size_t kNumClasses = 20;     // up to 2 GiB

size_t ClassOf(size_t size) {
  size_t cap = size <= (size_t{1} << kMinClassShift) ? (size_t{1} << kMinClassShift) : std::bit_ceil(size);
  return static_cast<size_t>(std::countr_zero(cap)) - kMinClassShift;
}

uint8_t* AllocBlock(size_t capacity) {
  // Anonymous mappings are page-aligned; MAP_POPULATE pre-faults them once.
  void* p = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

}  // namespace

Buffer::Buffer(size_t size) {
  capacity_ = size ? (size + 4095) & ~size_t{4095} : 0;
  data_ = capacity_ ? AllocBlock(capacity_) : nullptr;
  size_ = size;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    Release();
    data_ = o.data_;
    size_ = o.size_;
    capacity_ = o.capacity_;
    pool_ = std::move(o.pool_);
    o.data_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }
  return *this;
}

void Buffer::Release() {
  if (!data_) return;
  if (pool_) pool_->Put(data_, capacity_);
  else munmap(data_, capacity_);
  data_ = nullptr;
  size_ = capacity_ = 0;
  pool_.reset();
}

std::shared_ptr<BufferPool> BufferPool::Create(size_t max_cached_bytes) {
  auto pool = std::shared_ptr<BufferPool>(new BufferPool(max_cached_bytes));
  pool->free_.resize(kNumClasses);
  return pool;
}

BufferPool::~BufferPool() {
  for (size_t c = 0; c < free_.size(); ++c)
    for (uint8_t* p : free_[c]) munmap(p, size_t{1} << (c + kMinClassShift));
}

Buffer BufferPool::Get(size_t size) {
  size_t cls = ClassOf(size);
  size_t cap = size_t{1} << (cls + kMinClassShift);
  uint8_t* p = nullptr;
  if (cls < kNumClasses) {
    std::lock_guard lock(mu_);
    if (!free_[cls].empty()) {
      p = free_[cls].back();
      free_[cls].pop_back();
      cached_ -= cap;
    }
  }
  if (!p) p = AllocBlock(cap);
  Buffer b;
  b.data_ = p;
  b.size_ = size;
  b.capacity_ = cap;
  if (cls < kNumClasses) b.pool_ = shared_from_this();
  return b;
}

void BufferPool::Put(uint8_t* data, size_t capacity) {
  size_t cls = ClassOf(capacity);
  {
    std::lock_guard lock(mu_);
    if (cached_ + capacity <= max_cached_) {
      free_[cls].push_back(data);
      cached_ += capacity;
      return;
    }
  }
  munmap(data, capacity);
}

}  // namespace smb3
