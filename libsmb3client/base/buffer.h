// SPDX-License-Identifier: LGPL-2.1-or-later
// Pooled, pre-faulted byte buffers. Fresh pages cost ~11 us each on these machines, so buffers of
// 64 KiB and up are recycled instead of being allocated per request (see shared/baseline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace smb3 {

class BufferPool;

// Move-only owning buffer; returns its memory to the pool it came from on destruction.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size);  // unpooled
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { Release(); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  // Shrinks or grows within capacity.
  void resize(size_t n) { size_ = n <= capacity_ ? n : capacity_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  bool empty() const { return size_ == 0; }

 private:
  friend class BufferPool;
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  std::shared_ptr<BufferPool> pool_;
};

// Size-classed pool of page-aligned, pre-faulted blocks (powers of two from 4 KiB).
// Thread-safe. Keeps at most `max_cached_bytes` idle.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  static std::shared_ptr<BufferPool> Create(size_t max_cached_bytes = 64u << 20);
  ~BufferPool();

  // A buffer of exactly `size` bytes (capacity rounded up to the size class).
  Buffer Get(size_t size);

 private:
  friend class Buffer;
  explicit BufferPool(size_t max_cached) : max_cached_(max_cached) {}
  void Put(uint8_t* data, size_t capacity);

  std::mutex mu_;
  std::vector<std::vector<uint8_t*>> free_;  // by size class
  size_t cached_ = 0;
  size_t max_cached_;
};

}  // namespace smb3
