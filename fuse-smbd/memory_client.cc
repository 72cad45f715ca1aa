// SPDX-License-Identifier: LGPL-2.1-or-later
#include "memory_client.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "buffer_pool.h"
#include "smb3/ntstatus.h"

namespace fuse_smbd {
namespace {

constexpr size_t kChunk = 1u << 20;      // data chunk of a large file
constexpr size_t kSmallMax = 256u << 10;  // files up to this size live in one vector
constexpr uint64_t kUnlimitedCapacity = 1ULL << 40;

smb3::FileTime Now() {
  struct timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return smb3::kFileTimeUnixEpoch + static_cast<uint64_t>(ts.tv_sec) * 10000000ULL +
         static_cast<uint64_t>(ts.tv_nsec) / 100;
}

smb3::Status Nt(uint32_t status, const char* where) { return smb3::Status::NtStatus(status, where); }
smb3::Status Gone() { return smb3::Status(smb3::Code::kDisconnected, 0, "MemoryClient: disconnected"); }

uint64_t RoundPage(uint64_t n) { return (n + 4095) / 4096 * 4096; }

// Access bits after expanding the generic rights ([MS-SMB2] 2.2.13.1.1).
uint32_t Expand(uint32_t access) {
  if (access & smb3::kAccessGenericRead) {
    access |= smb3::kAccessReadData | smb3::kAccessReadAttributes | smb3::kAccessReadEa;
  }
  if (access & smb3::kAccessGenericWrite) {
    access |= smb3::kAccessWriteData | smb3::kAccessAppendData | smb3::kAccessWriteAttributes |
              smb3::kAccessWriteEa;
  }
  return access;
}
constexpr uint32_t kWriteBits = smb3::kAccessWriteData | smb3::kAccessAppendData;

// Characters an SMB server refuses in a name ([MS-FSCC] 2.1.5.2 plus the path separator).
bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    if (strchr("\\:*?\"<>|", c) != nullptr || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find_first_of("/\\", pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) parts.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

struct Node {
  bool dir = false;
  std::string name;
  Node* parent = nullptr;  // null for the root and for removed nodes
  std::map<std::string, std::shared_ptr<Node>> children;
  // Data: a vector while small, then 1 MiB chunks (nullptr = hole). Bytes past `size` are zero.
  bool chunked = false;
  std::vector<uint8_t> small;
  std::vector<uint8_t*> chunks;
  uint64_t size = 0;
  uint64_t alloc = 0;  // explicit allocation (SetAllocationSize)
  smb3::FileTime creation = 0, access = 0, write = 0, change = 0;
  uint32_t attributes = 0;
  uint64_t file_id = 0;
  int open_count = 0;
  bool delete_pending = false;
  bool removed = false;
};

}  // namespace

struct MemoryClient::State {
  explicit State(const Options& o) : options(o), pool(kChunk, 64), read_pool(kChunk, 8) {}

  Options options;
  mutable std::shared_mutex mu;
  std::shared_ptr<Node> root;
  BufferPool pool;
  BufferPool read_pool;  // buffers that ReadAsyncView hands out
  uint64_t used = 0;  // bytes of file data held (pages for small files, chunks for large ones)
  uint64_t next_file_id = 0x100;
  size_t open_handles = 0;
  std::atomic<bool> disconnected{false};

  std::atomic<uint64_t> requests{0}, bytes_read{0}, bytes_written{0}, reads{0}, writes{0};

  // The "connection thread" of Options::async_thread.
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<std::function<void()>> queue;
  bool stopping = false;
  std::thread worker;

  uint64_t capacity() const {
    return options.capacity_bytes == 0 ? kUnlimitedCapacity : options.capacity_bytes;
  }

  smb3::FileInfo InfoOf(const Node& n) const {
    smb3::FileInfo info;
    info.creation_time = n.creation;
    info.last_access_time = n.access;
    info.last_write_time = n.write;
    info.change_time = n.change;
    info.end_of_file = n.dir ? 0 : n.size;
    info.allocation_size = n.dir ? 0 : std::max(RoundPage(n.size), n.alloc);
    info.attributes = n.attributes | (n.dir ? smb3::kFileAttributeDirectory : 0);
    if (info.attributes == 0) info.attributes = smb3::kFileAttributeArchive;
    info.file_id = n.file_id;
    info.nlink = 1;
    info.delete_pending = n.delete_pending;
    return info;
  }

  std::shared_ptr<Node> NewNode(bool dir, std::string name) {
    auto n = std::make_shared<Node>();
    n->dir = dir;
    n->name = std::move(name);
    n->creation = n->access = n->write = n->change = Now();
    n->attributes = dir ? smb3::kFileAttributeDirectory : smb3::kFileAttributeArchive;
    n->file_id = next_file_id++;
    return n;
  }

  static void Touch(Node* n) {
    if (n == nullptr) return;
    n->write = n->change = Now();
  }

  void FreeData(Node& n) {
    for (uint8_t* c : n.chunks) {
      if (c != nullptr) {
        pool.Release(c);
        used -= kChunk;
      }
    }
    n.chunks.clear();
    if (!n.chunked) used -= RoundPage(n.small.size());
    n.small.clear();
    n.small.shrink_to_fit();
    n.chunked = false;
    n.size = 0;
  }

  void Remove(Node* n) {
    if (n->parent != nullptr) {
      Touch(n->parent);
      n->parent->children.erase(n->name);  // may free *n's owner reference; callers hold another
    }
    n->parent = nullptr;
    n->removed = true;
    if (!n->dir) FreeData(*n);
  }

  smb3::Status ToChunked(Node& n) {
    if (n.chunked) return smb3::Status::Ok();
    const uint64_t small_pages = RoundPage(n.small.size());
    if (!n.small.empty()) {
      if (used - small_pages + kChunk > capacity()) return Nt(smb3::STATUS_DISK_FULL, "write");
      uint8_t* c = pool.Acquire();
      if (c == nullptr) return Nt(smb3::STATUS_INSUFFICIENT_RESOURCES, "write");
      memcpy(c, n.small.data(), n.small.size());
      memset(c + n.small.size(), 0, kChunk - n.small.size());
      n.chunks.assign(1, c);
      used += kChunk;
    }
    used -= small_pages;
    n.small.clear();
    n.small.shrink_to_fit();
    n.chunked = true;
    return smb3::Status::Ok();
  }

  smb3::Status WriteData(Node& n, uint64_t offset, const uint8_t* src, size_t len) {
    const uint64_t end = offset + len;
    if (!n.chunked && end <= kSmallMax) {
      const uint64_t old_pages = RoundPage(n.small.size());
      const uint64_t new_size = std::max<uint64_t>(n.small.size(), end);
      const uint64_t new_pages = RoundPage(new_size);
      if (used - old_pages + new_pages > capacity()) return Nt(smb3::STATUS_DISK_FULL, "write");
      if (new_size > n.small.size()) n.small.resize(new_size, 0);
      if (len != 0) memcpy(n.small.data() + offset, src, len);
      used = used - old_pages + new_pages;
      n.size = new_size;
      return smb3::Status::Ok();
    }
    SMB3_RETURN_IF_ERROR(ToChunked(n));
    const size_t last = static_cast<size_t>((end + kChunk - 1) / kChunk);
    if (n.chunks.size() < last) n.chunks.resize(last, nullptr);
    uint64_t pos = offset;
    while (pos < end) {
      const size_t idx = static_cast<size_t>(pos / kChunk);
      const size_t in = static_cast<size_t>(pos % kChunk);
      const size_t take = static_cast<size_t>(std::min<uint64_t>(kChunk - in, end - pos));
      uint8_t*& c = n.chunks[idx];
      if (c == nullptr) {
        if (used + kChunk > capacity()) {
          n.size = std::max(n.size, pos);  // what was written before the disk filled stays
          return Nt(smb3::STATUS_DISK_FULL, "write");
        }
        c = pool.Acquire();
        if (c == nullptr) return Nt(smb3::STATUS_INSUFFICIENT_RESOURCES, "write");
        used += kChunk;
        memset(c, 0, in);
        memset(c + in + take, 0, kChunk - in - take);
      }
      memcpy(c + in, src + (pos - offset), take);
      pos += take;
    }
    n.size = std::max(n.size, end);
    return smb3::Status::Ok();
  }

  void ReadData(const Node& n, uint64_t offset, uint8_t* dst, size_t len) const {
    if (!n.chunked) {
      memcpy(dst, n.small.data() + offset, len);
      return;
    }
    uint64_t pos = offset;
    const uint64_t end = offset + len;
    while (pos < end) {
      const size_t idx = static_cast<size_t>(pos / kChunk);
      const size_t in = static_cast<size_t>(pos % kChunk);
      const size_t take = static_cast<size_t>(std::min<uint64_t>(kChunk - in, end - pos));
      const uint8_t* c = idx < n.chunks.size() ? n.chunks[idx] : nullptr;
      if (c == nullptr) {
        memset(dst + (pos - offset), 0, take);
      } else {
        memcpy(dst + (pos - offset), c + in, take);
      }
      pos += take;
    }
  }

  smb3::Status Truncate(Node& n, uint64_t new_size) {
    if (!n.chunked) {
      if (new_size <= kSmallMax) {
        const uint64_t old_pages = RoundPage(n.small.size());
        const uint64_t new_pages = RoundPage(new_size);
        if (new_pages > old_pages && used - old_pages + new_pages > capacity()) {
          return Nt(smb3::STATUS_DISK_FULL, "truncate");
        }
        n.small.resize(new_size, 0);
        used = used - old_pages + new_pages;
        n.size = new_size;
        return smb3::Status::Ok();
      }
      SMB3_RETURN_IF_ERROR(ToChunked(n));
    }
    if (new_size < n.size) {
      const size_t keep = static_cast<size_t>((new_size + kChunk - 1) / kChunk);
      for (size_t i = keep; i < n.chunks.size(); ++i) {
        if (n.chunks[i] != nullptr) {
          pool.Release(n.chunks[i]);
          used -= kChunk;
        }
      }
      if (n.chunks.size() > keep) n.chunks.resize(keep);
      const size_t tail = static_cast<size_t>(new_size % kChunk);
      if (tail != 0 && keep > 0 && n.chunks[keep - 1] != nullptr) {
        memset(n.chunks[keep - 1] + tail, 0, kChunk - tail);
      }
    }
    n.size = new_size;
    return smb3::Status::Ok();
  }

  // Resolves `path`: the parent directory and the node (null when the last component is absent).
  struct Resolved {
    Node* parent = nullptr;
    std::shared_ptr<Node> node;
    std::string name;
  };
  smb3::Result<Resolved> Resolve(std::string_view path) const {
    const auto parts = SplitPath(path);
    Resolved r;
    if (parts.empty()) {
      r.node = root;
      return r;
    }
    Node* dir = root.get();
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!ValidName(parts[i])) return Nt(smb3::STATUS_OBJECT_NAME_INVALID, "resolve");
      auto it = dir->children.find(std::string(parts[i]));
      if (it == dir->children.end() || !it->second->dir) {
        return Nt(smb3::STATUS_OBJECT_PATH_NOT_FOUND, "resolve");
      }
      dir = it->second.get();
    }
    r.parent = dir;
    r.name = std::string(parts.back());
    if (!ValidName(r.name)) return Nt(smb3::STATUS_OBJECT_NAME_INVALID, "resolve");
    auto it = dir->children.find(r.name);
    if (it != dir->children.end()) r.node = it->second;
    return r;
  }

  static bool OpenBelow(const Node& n) {
    for (const auto& [name, child] : n.children) {
      if (child->open_count > 0 || OpenBelow(*child)) return true;
    }
    return false;
  }

  void RunAsync(std::function<void()> task) {
    if (!options.async_thread) {
      task();
      return;
    }
    {
      std::lock_guard lock(queue_mu);
      queue.push_back(std::move(task));
    }
    queue_cv.notify_one();
  }

  void WorkerLoop() {
    std::unique_lock lock(queue_mu);
    for (;;) {
      queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and everything queued has run
      auto task = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }
};

namespace {

// The server side of one open: what a FileHandle points to.
struct MemOpen {
  std::shared_ptr<MemoryClient::State> state;
  std::shared_ptr<Node> node;
  uint32_t access = 0;  // granted, generic rights expanded
  bool delete_on_close = false;
  bool closed = false;

  // Closes under the state's lock. [MS-FSA] 2.1.5.4: a delete-on-close open marks the file delete
  // pending; the name goes when the last open closes.
  void CloseLocked() {
    if (closed) return;
    closed = true;
    --state->open_handles;
    --node->open_count;
    if (delete_on_close) node->delete_pending = true;
    if (node->open_count == 0 && node->delete_pending && !node->removed) state->Remove(node.get());
  }

  ~MemOpen() {
    if (closed || !state) return;
    std::unique_lock lock(state->mu);
    CloseLocked();
  }
};

MemOpen* Unwrap(const smb3::FileHandle& file) { return reinterpret_cast<MemOpen*>(file.get()); }

}  // namespace

MemoryClient::MemoryClient() : MemoryClient(Options{}) {}

MemoryClient::MemoryClient(Options options) : state_(std::make_shared<State>(options)) {
  state_->root = state_->NewNode(true, "");
  state_->root->file_id = 5;  // as Samba reports for a share root on ext4
  if (options.prefault && options.capacity_bytes != 0) {
    state_->pool.Reserve(static_cast<size_t>(options.capacity_bytes / kChunk));
  }
  if (options.async_thread) state_->worker = std::thread([s = state_.get()] { s->WorkerLoop(); });
}

MemoryClient::~MemoryClient() {
  if (state_->worker.joinable()) {
    {
      std::lock_guard lock(state_->queue_mu);
      state_->stopping = true;
    }
    state_->queue_cv.notify_all();
    state_->worker.join();
  }
}

smb3::ConnectionInfo MemoryClient::info() const {
  smb3::ConnectionInfo info;
  info.server = "memory";
  info.transport = smb3::TransportKind::kTcp;
  info.transport_reason = "memory backend (no network)";
  info.dialect = 0x0311;
  info.cipher = "none";
  info.signing = "none";
  info.max_read_size = 8u << 20;
  info.max_write_size = 8u << 20;
  info.max_transact_size = 8u << 20;
  info.credits = 512;
  return info;
}

smb3::ClientStats MemoryClient::stats() const {
  smb3::ClientStats s;
  s.requests = s.responses = state_->requests.load();
  s.bytes_read = state_->bytes_read.load();
  s.bytes_written = state_->bytes_written.load();
  s.reads = state_->reads.load();
  s.writes = state_->writes.load();
  s.credits_held = 512;
  s.bytes_inline = s.bytes_read + s.bytes_written;
  return s;
}

smb3::Result<smb3::OpenResult> MemoryClient::Open(std::string_view path,
                                                  const smb3::OpenOptions& options) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  ++s.requests;
  std::unique_lock lock(s.mu);
  SMB3_ASSIGN_OR_RETURN(State::Resolved r, s.Resolve(path));
  uint32_t access = Expand(options.desired_access);
  uint32_t create_action = 1;
  std::shared_ptr<Node> node = r.node;
  if (node) {
    if (node->delete_pending) return Nt(smb3::STATUS_DELETE_PENDING, "open");
    if (options.disposition == smb3::Disposition::kCreate) {
      return Nt(smb3::STATUS_OBJECT_NAME_COLLISION, "open");
    }
    if (options.kind == smb3::FileKind::kFile && node->dir) {
      return Nt(smb3::STATUS_FILE_IS_A_DIRECTORY, "open");
    }
    if (options.kind == smb3::FileKind::kDirectory && !node->dir) {
      return Nt(smb3::STATUS_NOT_A_DIRECTORY, "open");
    }
    const bool truncate = options.disposition == smb3::Disposition::kSupersede ||
                          options.disposition == smb3::Disposition::kOverwrite ||
                          options.disposition == smb3::Disposition::kOverwriteIf;
    if (truncate && node->dir) return Nt(smb3::STATUS_INVALID_PARAMETER, "open");
    const bool read_only = (node->attributes & smb3::kFileAttributeReadonly) != 0;
    if (access & smb3::kAccessMaximumAllowed) {
      access |= smb3::kAccessReadData | smb3::kAccessReadAttributes | smb3::kAccessWriteAttributes |
                smb3::kAccessDelete | (read_only ? 0 : kWriteBits);
    }
    if (read_only && ((access & kWriteBits) || truncate)) {
      return Nt(smb3::STATUS_ACCESS_DENIED, "open");
    }
    if (options.delete_on_close) {
      if (read_only) return Nt(smb3::STATUS_CANNOT_DELETE, "open");
      if (node->dir && !node->children.empty()) {
        return Nt(smb3::STATUS_DIRECTORY_NOT_EMPTY, "open");
      }
      if (node == s.root) return Nt(smb3::STATUS_ACCESS_DENIED, "open");
    }
    if (truncate) {
      s.FreeData(*node);
      node->alloc = 0;
      node->write = node->change = Now();
      create_action = options.disposition == smb3::Disposition::kSupersede ? 0 : 3;
    }
  } else {
    if (options.disposition == smb3::Disposition::kOpen ||
        options.disposition == smb3::Disposition::kOverwrite) {
      return Nt(smb3::STATUS_OBJECT_NAME_NOT_FOUND, "open");
    }
    if (r.parent->delete_pending) return Nt(smb3::STATUS_DELETE_PENDING, "open");
    node = s.NewNode(options.kind == smb3::FileKind::kDirectory, r.name);
    if (options.file_attributes != 0) {
      node->attributes = (options.file_attributes & ~smb3::kFileAttributeNormal &
                          ~smb3::kFileAttributeDirectory) |
                         (node->dir ? smb3::kFileAttributeDirectory : 0);
    }
    node->parent = r.parent;
    r.parent->children.emplace(r.name, node);
    State::Touch(r.parent);
    if (access & smb3::kAccessMaximumAllowed) {
      access |= smb3::kAccessReadData | smb3::kAccessReadAttributes | smb3::kAccessWriteAttributes |
                smb3::kAccessDelete | kWriteBits;
    }
    create_action = 2;
  }
  if (options.delete_on_close && !(access & smb3::kAccessDelete)) {
    return Nt(smb3::STATUS_ACCESS_DENIED, "open");
  }
  auto open = std::make_shared<MemOpen>();
  open->state = state_;
  open->node = node;
  open->access = access;
  open->delete_on_close = options.delete_on_close;
  ++node->open_count;
  ++s.open_handles;
  smb3::OpenResult result;
  result.handle = smb3::FileHandle(open, reinterpret_cast<smb3::OpenFile*>(open.get()));
  result.info = s.InfoOf(*node);
  result.create_action = create_action;
  return result;
}

smb3::Status MemoryClient::Close(const smb3::FileHandle& file, smb3::FileInfo* final_info) {
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "close");
  State& s = *state_;
  ++s.requests;
  std::unique_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "close");
  if (final_info != nullptr) *final_info = s.InfoOf(*open->node);
  open->CloseLocked();
  if (s.disconnected) return Gone();
  return smb3::Status::Ok();
}

smb3::Result<size_t> MemoryClient::Read(const smb3::FileHandle& file, uint64_t offset,
                                        std::span<uint8_t> dst) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "read");
  ++s.requests;
  std::shared_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "read");
  const Node& n = *open->node;
  if (n.dir) return Nt(smb3::STATUS_INVALID_DEVICE_REQUEST, "read");
  if (!(open->access & smb3::kAccessReadData)) return Nt(smb3::STATUS_ACCESS_DENIED, "read");
  if (offset >= n.size) return size_t{0};
  const size_t len = static_cast<size_t>(std::min<uint64_t>(dst.size(), n.size - offset));
  s.ReadData(n, offset, dst.data(), len);
  ++s.reads;
  s.bytes_read += len;
  return len;
}

smb3::Result<size_t> MemoryClient::Write(const smb3::FileHandle& file, uint64_t offset,
                                         std::span<const uint8_t> src) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "write");
  ++s.requests;
  std::unique_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "write");
  Node& n = *open->node;
  if (n.dir) return Nt(smb3::STATUS_INVALID_DEVICE_REQUEST, "write");
  if (!(open->access & kWriteBits)) return Nt(smb3::STATUS_ACCESS_DENIED, "write");
  if (offset > (1ULL << 62) || src.size() > (1ULL << 62) - offset) {
    return Nt(smb3::STATUS_INVALID_PARAMETER, "write");
  }
  SMB3_RETURN_IF_ERROR(s.WriteData(n, offset, src.data(), src.size()));
  n.write = n.change = Now();
  ++s.writes;
  s.bytes_written += src.size();
  return src.size();
}

void MemoryClient::ReadAsync(const smb3::FileHandle& file, uint64_t offset, std::span<uint8_t> dst,
                             smb3::IoCallback done) {
  state_->RunAsync([this, file, offset, dst, done = std::move(done)] {
    done(Read(file, offset, dst));
  });
}

void MemoryClient::ReadAsyncView(const smb3::FileHandle& file, uint64_t offset, size_t length,
                                 smb3::ReadViewCallback done) {
  if (length > kChunk) return smb3::Client::ReadAsyncView(file, offset, length, std::move(done));
  uint8_t* buf = state_->read_pool.Acquire();
  if (buf == nullptr) return done(Nt(smb3::STATUS_INSUFFICIENT_RESOURCES, "read"));
  // The buffer goes back to the pool when the last view of it is dropped; the pool lives in State.
  std::shared_ptr<const void> owner(buf, [state = state_](const void* p) {
    state->read_pool.Release(static_cast<uint8_t*>(const_cast<void*>(p)));
  });
  state_->RunAsync([this, file, offset, length, buf, owner = std::move(owner),
                    done = std::move(done)]() mutable {
    auto n = Read(file, offset, std::span<uint8_t>(buf, length));
    if (!n.ok()) return done(n.status());
    smb3::ReadView view;
    view.size = *n;
    if (*n != 0) {
      view.pieces.emplace_back(buf, *n);
      view.owners.push_back(std::move(owner));
    }
    done(std::move(view));
  });
}

void MemoryClient::WriteAsync(const smb3::FileHandle& file, uint64_t offset,
                              std::span<const uint8_t> src, smb3::IoCallback done) {
  state_->RunAsync([this, file, offset, src, done = std::move(done)] {
    done(Write(file, offset, src));
  });
}

smb3::Status MemoryClient::Flush(const smb3::FileHandle& file) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "flush");
  ++s.requests;
  std::shared_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "flush");
  return smb3::Status::Ok();
}

smb3::Result<smb3::FileInfo> MemoryClient::QueryInfo(const smb3::FileHandle& file) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "query_info");
  ++s.requests;
  std::shared_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "query_info");
  return s.InfoOf(*open->node);
}

smb3::Result<smb3::FileInfo> MemoryClient::Stat(std::string_view path) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  ++s.requests;
  std::shared_lock lock(s.mu);
  SMB3_ASSIGN_OR_RETURN(State::Resolved r, s.Resolve(path));
  if (!r.node) return Nt(smb3::STATUS_OBJECT_NAME_NOT_FOUND, "stat");
  if (r.node->delete_pending) return Nt(smb3::STATUS_DELETE_PENDING, "stat");
  return s.InfoOf(*r.node);
}

smb3::Result<std::vector<smb3::DirEntry>> MemoryClient::ListDirectory(std::string_view path) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  ++s.requests;
  std::shared_lock lock(s.mu);
  SMB3_ASSIGN_OR_RETURN(State::Resolved r, s.Resolve(path));
  if (!r.node) return Nt(smb3::STATUS_OBJECT_NAME_NOT_FOUND, "list");
  if (r.node->delete_pending) return Nt(smb3::STATUS_DELETE_PENDING, "list");
  if (!r.node->dir) return Nt(smb3::STATUS_NOT_A_DIRECTORY, "list");
  std::vector<smb3::DirEntry> entries;
  entries.reserve(r.node->children.size());
  for (const auto& [name, child] : r.node->children) {
    entries.push_back({name, s.InfoOf(*child)});
  }
  return entries;
}

smb3::Status MemoryClient::SetEndOfFile(const smb3::FileHandle& file, uint64_t size) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "set_eof");
  ++s.requests;
  std::unique_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "set_eof");
  if (open->node->dir) return Nt(smb3::STATUS_INVALID_PARAMETER, "set_eof");
  if (!(open->access & smb3::kAccessWriteData)) return Nt(smb3::STATUS_ACCESS_DENIED, "set_eof");
  SMB3_RETURN_IF_ERROR(s.Truncate(*open->node, size));
  open->node->write = open->node->change = Now();
  return smb3::Status::Ok();
}

smb3::Status MemoryClient::SetBasicInfo(const smb3::FileHandle& file, smb3::FileTime creation,
                                        smb3::FileTime last_access, smb3::FileTime last_write,
                                        smb3::FileTime change, uint32_t attributes) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "set_basic");
  ++s.requests;
  std::unique_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "set_basic");
  if (!(open->access & smb3::kAccessWriteAttributes)) {
    return Nt(smb3::STATUS_ACCESS_DENIED, "set_basic");
  }
  Node& n = *open->node;
  // [MS-FSCC] 2.4.7: 0 leaves a time unchanged; -1 (stop automatic updates) is treated the same.
  auto set = [](smb3::FileTime v, smb3::FileTime* field) {
    if (v != 0 && v != ~0ULL) *field = v;
  };
  set(creation, &n.creation);
  set(last_access, &n.access);
  set(last_write, &n.write);
  if (change != 0 && change != ~0ULL) {
    n.change = change;
  } else {
    n.change = Now();
  }
  if (attributes != 0) {
    if (attributes & smb3::kFileAttributeDirectory && !n.dir) {
      return Nt(smb3::STATUS_INVALID_PARAMETER, "set_basic");
    }
    n.attributes = attributes & ~smb3::kFileAttributeNormal & ~smb3::kFileAttributeDirectory;
  }
  return smb3::Status::Ok();
}

smb3::Status MemoryClient::Rename(const smb3::FileHandle& file, std::string_view new_path,
                                  bool replace) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "rename");
  ++s.requests;
  std::unique_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "rename");
  if (!(open->access & smb3::kAccessDelete)) return Nt(smb3::STATUS_ACCESS_DENIED, "rename");
  std::shared_ptr<Node> node = open->node;
  if (node == s.root) return Nt(smb3::STATUS_ACCESS_DENIED, "rename");
  if (node->removed) return Nt(smb3::STATUS_FILE_CLOSED, "rename");
  if (node->delete_pending) return Nt(smb3::STATUS_DELETE_PENDING, "rename");
  SMB3_ASSIGN_OR_RETURN(State::Resolved r, s.Resolve(new_path));
  if (r.parent == nullptr) return Nt(smb3::STATUS_ACCESS_DENIED, "rename");  // onto the root
  if (r.parent->delete_pending) return Nt(smb3::STATUS_DELETE_PENDING, "rename");
  for (Node* p = r.parent; p != nullptr; p = p->parent) {
    if (p == node.get()) return Nt(smb3::STATUS_INVALID_PARAMETER, "rename");  // into itself
  }
  if (r.node == node) return smb3::Status::Ok();
  if (r.node) {
    if (!replace) return Nt(smb3::STATUS_OBJECT_NAME_COLLISION, "rename");
    // [MS-FSA] 2.1.5.14.11: a directory is never replaced; neither is a file that is open.
    if (r.node->dir) return Nt(smb3::STATUS_ACCESS_DENIED, "rename");
    if (r.node->open_count > 0) return Nt(smb3::STATUS_ACCESS_DENIED, "rename");
  }
  if (node->dir && State::OpenBelow(*node)) return Nt(smb3::STATUS_ACCESS_DENIED, "rename");
  if (r.node) s.Remove(r.node.get());
  Node* old_parent = node->parent;
  State::Touch(old_parent);
  old_parent->children.erase(node->name);
  node->name = r.name;
  node->parent = r.parent;
  node->change = Now();
  r.parent->children[r.name] = node;
  State::Touch(r.parent);
  return smb3::Status::Ok();
}

smb3::Status MemoryClient::SetDeleteOnClose(const smb3::FileHandle& file, bool on) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "set_disposition");
  ++s.requests;
  std::unique_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "set_disposition");
  if (!(open->access & smb3::kAccessDelete)) {
    return Nt(smb3::STATUS_ACCESS_DENIED, "set_disposition");
  }
  Node& n = *open->node;
  if (on) {
    if (open->node == s.root) return Nt(smb3::STATUS_ACCESS_DENIED, "set_disposition");
    if (n.attributes & smb3::kFileAttributeReadonly) {
      return Nt(smb3::STATUS_CANNOT_DELETE, "set_disposition");
    }
    if (n.dir && !n.children.empty()) {
      return Nt(smb3::STATUS_DIRECTORY_NOT_EMPTY, "set_disposition");
    }
  }
  n.delete_pending = on;
  return smb3::Status::Ok();
}

smb3::Status MemoryClient::SetAllocationSize(const smb3::FileHandle& file, uint64_t size) {
  State& s = *state_;
  if (s.disconnected) return Gone();
  MemOpen* open = Unwrap(file);
  if (open == nullptr) return Nt(smb3::STATUS_INVALID_HANDLE, "set_allocation");
  ++s.requests;
  std::unique_lock lock(s.mu);
  if (open->closed) return Nt(smb3::STATUS_FILE_CLOSED, "set_allocation");
  Node& n = *open->node;
  if (n.dir) return Nt(smb3::STATUS_INVALID_PARAMETER, "set_allocation");
  if (!(open->access & smb3::kAccessWriteData)) {
    return Nt(smb3::STATUS_ACCESS_DENIED, "set_allocation");
  }
  // [MS-FSA] 2.1.5.14.1: an allocation below the end of file truncates the file.
  if (size < n.size) SMB3_RETURN_IF_ERROR(s.Truncate(n, size));
  if (size > n.alloc && size - n.alloc > s.capacity() - std::min(s.capacity(), s.used)) {
    return Nt(smb3::STATUS_DISK_FULL, "set_allocation");
  }
  n.alloc = size;
  return smb3::Status::Ok();
}

smb3::Status MemoryClient::Mkdir(std::string_view path) {
  smb3::OpenOptions o;
  o.disposition = smb3::Disposition::kCreate;
  o.kind = smb3::FileKind::kDirectory;
  SMB3_ASSIGN_OR_RETURN(smb3::OpenResult r, Open(path, o));
  return Close(r.handle);
}

smb3::Status MemoryClient::Rmdir(std::string_view path) {
  smb3::OpenOptions o;
  o.desired_access = smb3::kAccessDelete | smb3::kAccessReadAttributes;
  o.kind = smb3::FileKind::kDirectory;
  o.delete_on_close = true;
  SMB3_ASSIGN_OR_RETURN(smb3::OpenResult r, Open(path, o));
  return Close(r.handle);
}

smb3::Status MemoryClient::Unlink(std::string_view path) {
  smb3::OpenOptions o;
  o.desired_access = smb3::kAccessDelete | smb3::kAccessReadAttributes;
  o.kind = smb3::FileKind::kFile;
  o.delete_on_close = true;
  SMB3_ASSIGN_OR_RETURN(smb3::OpenResult r, Open(path, o));
  return Close(r.handle);
}

smb3::Status MemoryClient::RenamePath(std::string_view from, std::string_view to, bool replace) {
  smb3::OpenOptions o;
  o.desired_access = smb3::kAccessDelete | smb3::kAccessReadAttributes;
  SMB3_ASSIGN_OR_RETURN(smb3::OpenResult r, Open(from, o));
  smb3::Status st = Rename(r.handle, to, replace);
  smb3::Status closed = Close(r.handle);
  return st.ok() ? closed : st;
}

smb3::Result<smb3::FsInfo> MemoryClient::StatFs() {
  State& s = *state_;
  if (s.disconnected) return Gone();
  ++s.requests;
  std::shared_lock lock(s.mu);
  smb3::FsInfo info;
  info.bytes_per_sector = 4096;
  info.sectors_per_unit = 1;
  info.total_allocation_units = s.capacity() / 4096;
  const uint64_t free_bytes = s.capacity() - std::min(s.capacity(), s.used);
  info.caller_available_units = info.actual_available_units = free_bytes / 4096;
  info.max_name_length = 255;
  info.fs_name = "memory";
  return info;
}

smb3::Status MemoryClient::Echo() {
  if (state_->disconnected) return Gone();
  ++state_->requests;
  return smb3::Status::Ok();
}

smb3::Result<std::vector<smb3::NetworkInterface>> MemoryClient::QueryNetworkInterfaces() {
  if (state_->disconnected) return Gone();
  smb3::NetworkInterface nic;
  nic.if_index = 1;
  nic.address = "127.0.0.1";
  nic.link_speed = 10'000'000'000ULL;
  return std::vector<smb3::NetworkInterface>{nic};
}

void MemoryClient::Disconnect() { state_->disconnected = true; }

size_t MemoryClient::OpenHandleCount() const {
  std::shared_lock lock(state_->mu);
  return state_->open_handles;
}

uint64_t MemoryClient::UsedBytes() const {
  std::shared_lock lock(state_->mu);
  return state_->used;
}

}  // namespace fuse_smbd
