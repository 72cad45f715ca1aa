// SPDX-License-Identifier: LGPL-2.1-or-later
#include "transfer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace smb3::cli {
namespace {

// A buffer pre-faulted once and reused for the whole transfer.
class Slab {
 public:
  explicit Slab(size_t n) : size_(n) {
    void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~Slab() {
    if (data_) munmap(data_, size_);
  }
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;
  uint8_t* data() { return data_; }

 private:
  uint8_t* data_;
  size_t size_;
};

template <class T>
struct Slot {
  uint8_t* buf = nullptr;
  uint64_t offset = 0;
  size_t length = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<T>> result;

  void Reset() {
    std::lock_guard lock(mu);
    result.reset();
  }
  std::function<void(Result<T>)> Callback() {
    return [this](Result<T> r) {
      std::lock_guard lock(mu);
      result = std::move(r);
      cv.notify_one();
    };
  }
  Result<T> Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return result.has_value(); });
    return std::move(*result);
  }
};

Status WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Errno(errno, "local write");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Result<size_t> ReadFull(int fd, uint8_t* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::Errno(errno, "local read");
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

}  // namespace

Result<uint64_t> Download(Client& client, const FileHandle& file, uint64_t size, int fd,
                          const TransferOptions& o) {
  // Views of the received data go straight to write(2): no copy in our code.
  std::vector<Slot<ReadView>> slots(o.window);
  std::deque<Slot<ReadView>*> inflight;
  uint64_t next = 0, done = 0;
  auto submit = [&](Slot<ReadView>& s) {
    s.offset = next;
    s.length = static_cast<size_t>(std::min<uint64_t>(o.chunk_bytes, size - next));
    next += s.length;
    s.Reset();
    client.ReadAsyncView(file, s.offset, s.length, s.Callback());
    inflight.push_back(&s);
  };
  for (auto& s : slots)
    if (next < size) submit(s);
  Status failure;
  while (!inflight.empty()) {
    auto& s = *inflight.front();
    inflight.pop_front();
    auto r = s.Wait();
    if (!failure.ok()) continue;  // drain what is in flight before returning
    if (!r.ok()) {
      failure = r.status();
      continue;
    }
    for (std::span<const uint8_t> piece : r->pieces) {
      Status ws = WriteAll(fd, piece.data(), piece.size());
      if (!ws.ok()) {
        failure = ws;
        break;
      }
    }
    if (!failure.ok()) continue;
    done += r->size;
    if (o.progress) o.progress(done, size);
    if (r->size < s.length) {  // the file shrank: stop at the new end
      size = done;
      continue;
    }
    if (next < size) submit(s);
  }
  if (!failure.ok()) return failure;
  return done;
}

Result<uint64_t> Upload(Client& client, const FileHandle& file, int fd, uint64_t size,
                        const TransferOptions& o) {
  Slab slab(o.chunk_bytes * o.window);
  if (!slab.data()) return Status::Errno(ENOMEM, "buffer");
  std::vector<Slot<size_t>> slots(o.window);
  std::deque<Slot<size_t>*> inflight;
  uint64_t next = 0, done = 0;
  bool eof = false;
  Status failure;
  auto submit = [&](Slot<size_t>& s) -> Status {
    s.buf = slab.data() + (&s - slots.data()) * o.chunk_bytes;
    size_t want = static_cast<size_t>(std::min<uint64_t>(o.chunk_bytes, size - next));
    SMB3_ASSIGN_OR_RETURN(size_t got, ReadFull(fd, s.buf, want));
    if (got < want) eof = true;
    if (got == 0) return Status::Ok();
    s.offset = next;
    s.length = got;
    next += got;
    s.Reset();
    client.WriteAsync(file, s.offset, {s.buf, s.length}, s.Callback());
    inflight.push_back(&s);
    return Status::Ok();
  };
  for (auto& s : slots) {
    if (eof || next >= size) break;
    failure = submit(s);
    if (!failure.ok()) break;
  }
  while (!inflight.empty()) {
    auto& s = *inflight.front();
    inflight.pop_front();
    auto r = s.Wait();
    if (!failure.ok()) continue;
    if (!r.ok()) {
      failure = r.status();
      continue;
    }
    done += *r;
    if (o.progress) o.progress(done, size);
    if (!eof && next < size) failure = submit(s);
  }
  if (!failure.ok()) return failure;
  return done;
}

}  // namespace smb3::cli
