// SPDX-License-Identifier: LGPL-2.1-or-later
// libfuse 3.14 low-level operations over SmbFs. The only file that includes <fuse_lowlevel.h>.
#define FUSE_USE_VERSION 34
#include "fuse_ops.h"

#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "buffer_pool.h"
#include "init_reply.h"
#include "log.h"
#include "work_queue.h"

namespace fuse_smbd {
namespace {

constexpr size_t kMaxIo = 1u << 20;  // FUSE's request limit (max_pages 256)
// libfuse reads up to FUSE_MAX_MAX_PAGES pages plus a header page into each receive buffer.
constexpr size_t kReceiveBufferSize = kMaxIo + (64u << 10);

using Clock = std::chrono::steady_clock;

}  // namespace

struct FuseSession::Impl {
  Impl(const MountConfig& c, SmbFs& f, OpStats& s)
      : config(c), fs(f), stats(s), receive_pool(kReceiveBufferSize, 4),
        work(c.workers) {}

  const MountConfig& config;
  SmbFs& fs;
  OpStats& stats;
  BufferPool receive_pool;
  WorkQueue work;
  fuse_session* se = nullptr;
  bool mounted = false;
  bool signals = false;
  std::atomic<uint64_t> in_flight{0};
  uint8_t* receive_buffer = nullptr;  // loop thread only: the buffer of the request being processed
  // Loop thread only: receive buffers lent to the client for WRITE data (RegisterIoMemory), so
  // that over SMB Direct the server RDMA-reads a write's payload from the buffer the kernel wrote
  // it into. Pool buffers are never unmapped while the session lives.
  std::vector<uint8_t*> lent;
  bool lend_failed = false;
  std::vector<std::string> argv_storage;
  InitReplyFlags init_flags;  // what libfuse 3.14 leaves out of its INIT reply (init_reply.h)

  // WRITE takes the receive buffer (its data stays there until the SMB write completes); the loop
  // then reads the next request into a fresh buffer.
  uint8_t* TakeReceiveBuffer() {
    uint8_t* b = receive_buffer;
    receive_buffer = nullptr;
    return b;
  }
};

namespace {

FuseSession::Impl* ImplOf(fuse_req_t req) {
  return static_cast<FuseSession::Impl*>(fuse_req_userdata(req));
}

// Answers one request exactly once and records its latency. Single use.
class Reply {
 public:
  Reply(fuse_req_t req, Op op, Clock::time_point start) : req_(req), op_(op), start_(start) {}

  bool done() const { return done_; }
  void Err(int err) {
    if (err != 0) Log(smb3::LogLevel::kDebug, "%s: %s", OpName(op_), strerror(err));
    Finish(err != 0, 0);
    fuse_reply_err(req_, err);
  }
  void Status(const smb3::Status& st) { Err(st.ok() ? 0 : static_cast<int>(st.detail())); }
  void EntryOf(const Entry& e) {
    fuse_entry_param p{};
    p.ino = e.ino;
    p.attr = e.attr;
    p.attr_timeout = e.attr_timeout;
    p.entry_timeout = e.entry_timeout;
    Finish(false, 0);
    fuse_reply_entry(req_, &p);
  }
  void Attr(const struct stat& st, double timeout) {
    Finish(false, 0);
    fuse_reply_attr(req_, &st, timeout);
  }
  void Open(const fuse_file_info* fi) {
    Finish(false, 0);
    fuse_reply_open(req_, fi);
  }
  void Create(const Entry& e, const fuse_file_info* fi) {
    fuse_entry_param p{};
    p.ino = e.ino;
    p.attr = e.attr;
    p.attr_timeout = e.attr_timeout;
    p.entry_timeout = e.entry_timeout;
    Finish(false, 0);
    fuse_reply_create(req_, &p, fi);
  }
  void Buf(const void* data, size_t size, bool count_bytes) {
    Finish(false, count_bytes ? size : 0);
    fuse_reply_buf(req_, static_cast<const char*>(data), size);
  }
  // The data goes from the client's receive buffers straight into the kernel (one writev).
  void Iov(const smb3::ReadView& view) {
    constexpr size_t kInline = 16;
    iovec inline_iov[kInline];
    std::vector<iovec> more;
    iovec* iov = inline_iov;
    if (view.pieces.size() > kInline) {
      more.resize(view.pieces.size());
      iov = more.data();
    }
    for (size_t i = 0; i < view.pieces.size(); ++i) {
      iov[i].iov_base = const_cast<uint8_t*>(view.pieces[i].data());
      iov[i].iov_len = view.pieces[i].size();
    }
    Finish(false, view.size);
    fuse_reply_iov(req_, iov, static_cast<int>(view.pieces.size()));
  }
  void Written(size_t count) {
    Finish(false, count);
    fuse_reply_write(req_, count);
  }
  void Statfs(const struct statvfs& st) {
    Finish(false, 0);
    fuse_reply_statfs(req_, &st);
  }
  void None() {
    Finish(false, 0);
    fuse_reply_none(req_);
  }

 private:
  void Finish(bool error, uint64_t bytes) {
    done_ = true;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_);
    ImplOf(req_)->stats.Record(op_, static_cast<uint64_t>(ns.count()), bytes, error);
  }

  fuse_req_t req_;
  Op op_;
  Clock::time_point start_;
  bool done_ = false;
};

// Runs `body(reply)` inline or on the work queue; guarantees one reply and no escaping exception.
template <class Body>
void Run(fuse_req_t req, Op op, bool blocking, Body body) {
  FuseSession::Impl* impl = ImplOf(req);
  const auto start = Clock::now();
  auto task = [req, op, start, body = std::move(body)]() mutable {
    Reply reply(req, op, start);
    try {
      body(reply);
    } catch (const std::exception& e) {
      Log(smb3::LogLevel::kError, "%s: internal error: %s", OpName(op), e.what());
    } catch (...) {
      Log(smb3::LogLevel::kError, "%s: internal error", OpName(op));
    }
    if (!reply.done()) reply.Err(EIO);
  };
  if (blocking) {
    ++impl->in_flight;  // the loop's shutdown waits for queued work as for asynchronous I/O
    try {
      impl->work.Post([impl, task = std::move(task)]() mutable {
        task();
        --impl->in_flight;
      });
    } catch (...) {
      --impl->in_flight;
      fuse_reply_err(req, ENOMEM);
    }
  } else {
    task();
  }
}

std::optional<uint64_t> FhOf(const fuse_file_info* fi) {
  if (fi == nullptr) return std::nullopt;
  return fi->fh;
}

// --- operations -----------------------------------------------------------------------------

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* impl = static_cast<FuseSession::Impl*>(userdata);
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  auto drop = [conn](unsigned cap) { conn->want &= ~cap; };
  conn->max_write = kMaxIo;  // libfuse derives max_pages (256) from this
  conn->max_background = 64;  // room for several MiB of readahead and writeback in flight
  conn->congestion_threshold = 48;
  conn->time_gran = 100;  // FILETIME resolution: 100 ns
  want(FUSE_CAP_ASYNC_READ);
  want(FUSE_CAP_ATOMIC_O_TRUNC);
  want(FUSE_CAP_READDIRPLUS);
  drop(FUSE_CAP_READDIRPLUS_AUTO);  // always plus: `ls -l` needs no stat round trips
  want(FUSE_CAP_PARALLEL_DIROPS);
  // SMB stores no setuid/setgid bits or file capabilities (modes are the mount's file_mode and
  // dir_mode): nothing to clear on chown, truncate or write, so the kernel need not fetch the
  // attributes first to do it.
  want(FUSE_CAP_HANDLE_KILLPRIV);
  want(FUSE_CAP_ASYNC_DIO);
  drop(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);  // never helped here
  drop(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);  // the kernel keeps locks local
  drop(FUSE_CAP_EXPORT_SUPPORT);
  // The writeback cache makes the kernel keep its own size and mtime of a cached file and ignore
  // the server's (fuse_change_attributes): another client's change of size would stay unseen, which
  // close-to-open consistency (cache=strict) cannot accept.
  if (impl->config.cache == CacheMode::kLoose && !impl->config.read_only) {
    want(FUSE_CAP_WRITEBACK_CACHE);
  } else {
    drop(FUSE_CAP_WRITEBACK_CACHE);
  }
  if (impl->config.cache == CacheMode::kStrict) {
    want(FUSE_CAP_AUTO_INVAL_DATA);
  } else {
    drop(FUSE_CAP_AUTO_INVAL_DATA);
  }
  impl->fs.SetWriteback((conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0);
  impl->init_flags.Want((conn->want & FUSE_CAP_PARALLEL_DIROPS) != 0,
                        (conn->want & FUSE_CAP_HANDLE_KILLPRIV) != 0);
  Log(smb3::LogLevel::kInfo, "init: protocol 7.%u, max_write %u, writeback %s, max_readahead %u",
      conn->proto_minor, conn->max_write,
      (conn->want & FUSE_CAP_WRITEBACK_CACHE) ? "on" : "off", conn->max_readahead);
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Run(req, Op::kLookup, true, [req, parent, n = std::string(name)](Reply& r) {
    auto e = ImplOf(req)->fs.Lookup(parent, n);
    if (!e.ok()) return r.Status(e.status());
    r.EntryOf(*e);
  });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Run(req, Op::kForget, false, [req, ino, nlookup](Reply& r) {
    ImplOf(req)->fs.Forget(ino, nlookup);
    r.None();
  });
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Run(req, Op::kForget, false, [req, count, forgets](Reply& r) {
    for (size_t i = 0; i < count; ++i) ImplOf(req)->fs.Forget(forgets[i].ino, forgets[i].nlookup);
    r.None();
  });
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Run(req, Op::kGetattr, true, [req, ino, fh = FhOf(fi)](Reply& r) {
    auto st = ImplOf(req)->fs.GetAttr(ino, fh);
    if (!st.ok()) return r.Status(st.status());
    r.Attr(*st, ImplOf(req)->fs.options().actimeo);
  });
}

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  SetAttrRequest s;
  s.set_mode = (to_set & FUSE_SET_ATTR_MODE) != 0;
  s.set_uid = (to_set & FUSE_SET_ATTR_UID) != 0;
  s.set_gid = (to_set & FUSE_SET_ATTR_GID) != 0;
  s.set_size = (to_set & FUSE_SET_ATTR_SIZE) != 0;
  s.set_atime = (to_set & FUSE_SET_ATTR_ATIME) != 0;
  s.set_mtime = (to_set & FUSE_SET_ATTR_MTIME) != 0;
  s.atime_now = (to_set & FUSE_SET_ATTR_ATIME_NOW) != 0;
  s.mtime_now = (to_set & FUSE_SET_ATTR_MTIME_NOW) != 0;
  s.mode = attr->st_mode;
  s.size = static_cast<uint64_t>(attr->st_size);
  s.atime = attr->st_atim;
  s.mtime = attr->st_mtim;
  Run(req, Op::kSetattr, true, [req, ino, s, fh = FhOf(fi)](Reply& r) {
    auto st = ImplOf(req)->fs.SetAttr(ino, fh, s);
    if (!st.ok()) return r.Status(st.status());
    r.Attr(*st, ImplOf(req)->fs.options().actimeo);
  });
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  Run(req, Op::kMknod, true, [req, parent, n = std::string(name), mode](Reply& r) {
    auto e = ImplOf(req)->fs.Mknod(parent, n, mode);
    if (!e.ok()) return r.Status(e.status());
    r.EntryOf(*e);
  });
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Run(req, Op::kMkdir, true, [req, parent, n = std::string(name), mode](Reply& r) {
    auto e = ImplOf(req)->fs.Mkdir(parent, n, mode);
    if (!e.ok()) return r.Status(e.status());
    r.EntryOf(*e);
  });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Run(req, Op::kUnlink, true, [req, parent, n = std::string(name)](Reply& r) {
    r.Status(ImplOf(req)->fs.Unlink(parent, n));
  });
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Run(req, Op::kRmdir, true, [req, parent, n = std::string(name)](Reply& r) {
    r.Status(ImplOf(req)->fs.Rmdir(parent, n));
  });
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Run(req, Op::kRename, true,
      [req, parent, n = std::string(name), newparent, nn = std::string(newname), flags](Reply& r) {
        r.Status(ImplOf(req)->fs.Rename(parent, n, newparent, nn, flags));
      });
}

void OpNoLinks(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
  Run(req, Op::kMknod, false, [](Reply& r) { r.Err(EPERM); });  // no hard links over SMB3
}

void OpNoSymlinks(fuse_req_t req, const char*, fuse_ino_t, const char*) {
  Run(req, Op::kMknod, false, [](Reply& r) { r.Err(EPERM); });  // no symlinks without POSIX extensions
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Run(req, Op::kOpen, true, [req, ino, info = *fi](Reply& r) mutable {
    auto o = ImplOf(req)->fs.Open(ino, info.flags);
    if (!o.ok()) return r.Status(o.status());
    info.fh = o->fh;
    info.direct_io = o->direct_io;
    info.keep_cache = o->keep_cache;
    r.Open(&info);
  });
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Run(req, Op::kCreate, true,
      [req, parent, n = std::string(name), mode, info = *fi](Reply& r) mutable {
        auto c = ImplOf(req)->fs.Create(parent, n, mode, info.flags);
        if (!c.ok()) return r.Status(c.status());
        info.fh = c->second.fh;
        info.direct_io = c->second.direct_io;
        info.keep_cache = c->second.keep_cache;
        r.Create(c->first, &info);
      });
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  FuseSession::Impl* impl = ImplOf(req);
  const auto start = Clock::now();
  ++impl->in_flight;
  auto done = [req, impl, start](smb3::Result<smb3::ReadView> view) {
    Reply reply(req, Op::kRead, start);
    if (view.ok()) {
      reply.Iov(*view);
    } else {
      reply.Status(view.status());
    }
    --impl->in_flight;
  };
  try {
    impl->fs.Read(fi->fh, static_cast<uint64_t>(off), size, done);
  } catch (...) {
    // SmbFs::Read throws only before handing `done` to the client (allocation failure).
    done(smb3::Status::Errno(ENOMEM, "read"));
  }
}

void OpWrite(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off,
             fuse_file_info* fi) {
  FuseSession::Impl* impl = ImplOf(req);
  const auto start = Clock::now();
  uint8_t* held = impl->TakeReceiveBuffer();  // `data` lives in it until the write completes
  ++impl->in_flight;
  // Set when the write is answered before it completes (write-behind, see SmbFs); the completion
  // then only gives the buffer back.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto done = [req, impl, held, start, answered](smb3::Result<size_t> n) {
    if (!answered->load()) {
      Reply reply(req, Op::kWrite, start);
      if (n.ok()) {
        reply.Written(*n);
      } else {
        reply.Status(n.status());
      }
    }
    impl->receive_pool.Release(held);
    --impl->in_flight;
  };
  auto accept = [req, impl, start, answered](size_t n) {
    answered->store(true);
    impl->stats.CountWriteBehind();
    Reply(req, Op::kWrite, start).Written(n);
  };
  try {
    impl->fs.Write(fi->fh, static_cast<uint64_t>(off),
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), size), done,
                   accept);
  } catch (...) {
    done(smb3::Status::Errno(ENOMEM, "write"));
  }
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Run(req, Op::kFlush, false, [req, fh = fi->fh](Reply& r) { r.Status(ImplOf(req)->fs.Flush(fh)); });
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Run(req, Op::kRelease, true, [req, fh = fi->fh](Reply& r) {
    smb3::Status st = ImplOf(req)->fs.Release(fh);
    if (!st.ok()) Log(smb3::LogLevel::kWarning, "release: %s", st.ToString().c_str());
    r.Err(0);  // the kernel ignores release errors; the close on the server was attempted
  });
}

void OpFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  Run(req, Op::kFsync, true, [req, fh = fi->fh](Reply& r) { r.Status(ImplOf(req)->fs.Fsync(fh)); });
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Run(req, Op::kOpendir, true, [req, ino, info = *fi](Reply& r) mutable {
    auto dh = ImplOf(req)->fs.OpenDir(ino);
    if (!dh.ok()) return r.Status(dh.status());
    info.fh = *dh;
    r.Open(&info);
  });
}

void ReadDirCommon(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  Run(req, plus ? Op::kReaddirplus : Op::kReaddir, false,
      [req, size, off, fh = fi->fh, plus](Reply& r) {
        std::vector<char> buf(size);
        size_t used = 0;
        auto add = [&](const DirItem& item) {
          const std::string name(item.name);
          size_t need;
          if (plus) {
            fuse_entry_param p{};
            p.ino = item.entry.ino;
            p.attr = item.entry.attr;
            p.attr_timeout = item.entry.attr_timeout;
            p.entry_timeout = item.entry.entry_timeout;
            need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &p,
                                          static_cast<off_t>(item.next_offset));
          } else {
            need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(),
                                     &item.entry.attr, static_cast<off_t>(item.next_offset));
          }
          if (need > size - used) return false;
          used += need;
          return true;
        };
        smb3::Status st = ImplOf(req)->fs.ReadDir(fh, static_cast<uint64_t>(off), plus, add);
        if (!st.ok() && used == 0) return r.Status(st);
        r.Buf(buf.data(), used, false);
      });
}

void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, size, off, fi, false);
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  ReadDirCommon(req, size, off, fi, true);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Run(req, Op::kReleasedir, false, [req, fh = fi->fh](Reply& r) {
    ImplOf(req)->fs.ReleaseDir(fh);
    r.Err(0);
  });
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  Run(req, Op::kFsyncdir, false, [](Reply& r) { r.Err(0); });  // directory changes are synchronous
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  Run(req, Op::kStatfs, true, [req](Reply& r) {
    auto st = ImplOf(req)->fs.StatFs();
    if (!st.ok()) return r.Status(st.status());
    r.Statfs(*st);
  });
}

void OpFallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset, off_t length,
                 fuse_file_info* fi) {
  Run(req, Op::kFallocate, true, [req, mode, offset, length, fh = fi->fh](Reply& r) {
    if (offset < 0 || length <= 0) return r.Err(EINVAL);
    r.Status(ImplOf(req)->fs.Fallocate(fh, mode, static_cast<uint64_t>(offset),
                                       static_cast<uint64_t>(length)));
  });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.setattr = OpSetattr;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpNoSymlinks;
  ops.rename = OpRename;
  ops.link = OpNoLinks;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsyncdir;
  ops.statfs = OpStatfs;
  ops.create = OpCreate;
  ops.fallocate = OpFallocate;
  return ops;
}

void LibfuseLog(enum fuse_log_level level, const char* fmt, va_list ap) {
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
  const smb3::LogLevel l = level <= FUSE_LOG_ERR       ? smb3::LogLevel::kError
                           : level <= FUSE_LOG_WARNING ? smb3::LogLevel::kWarning
                           : level <= FUSE_LOG_INFO    ? smb3::LogLevel::kInfo
                                                       : smb3::LogLevel::kDebug;
  Log(l, "libfuse: %s", buf);
}

// libfuse option values escape ',' and '\'.
std::string EscapeOption(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Lends a receive buffer to the client the first time the loop uses it (the pool reuses buffers,
// so this happens once per buffer). A refusal only costs the copy it would have saved.
void LendReceiveBuffer(FuseSession::Impl& impl, uint8_t* buffer) {
  if (impl.lend_failed) return;
  for (uint8_t* b : impl.lent) {
    if (b == buffer) return;
  }
  const smb3::Status st = impl.fs.RegisterIoMemory({buffer, impl.receive_pool.buffer_size()});
  if (!st.ok()) {
    impl.lend_failed = true;
    Log(smb3::LogLevel::kWarning, "receive buffers not lent for zero-copy writes: %s",
        st.ToString().c_str());
    return;
  }
  impl.lent.push_back(buffer);
}

}  // namespace

FuseSession::FuseSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FuseSession::~FuseSession() {
  Unmount();
  if (impl_->se != nullptr) fuse_session_destroy(impl_->se);
}

std::unique_ptr<FuseSession> FuseSession::Create(const MountConfig& config, SmbFs& fs,
                                                 OpStats& stats, std::string* error) {
  fuse_set_log_func(LibfuseLog);
  auto impl = std::make_unique<Impl>(config, fs, stats);
  std::string opts = "fsname=" + EscapeOption(config.source) + ",subtype=smbd-fuse";
  if (config.allow_other) opts += ",allow_other";
  if (config.default_permissions) opts += ",default_permissions";
  if (config.read_only) opts += ",ro";
  for (const std::string& o : config.fuse_options) opts += "," + o;
  impl->argv_storage = {"fuse-smbd", "-o", opts};
  if (config.debug) impl->argv_storage.push_back("-d");
  std::vector<char*> argv;
  for (auto& a : impl->argv_storage) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const fuse_lowlevel_ops ops = MakeOps();
  impl->se = fuse_session_new(&args, &ops, sizeof ops, impl.get());
  fuse_opt_free_args(&args);
  if (impl->se == nullptr) {
    *error = "cannot create the FUSE session (mount options: " + opts + ")";
    return nullptr;
  }
  return std::unique_ptr<FuseSession>(new FuseSession(std::move(impl)));
}

bool FuseSession::Mount(const std::string& mountpoint, std::string* error) {
  if (fuse_set_signal_handlers(impl_->se) != 0) {
    *error = "cannot install signal handlers";
    return false;
  }
  impl_->signals = true;
  if (fuse_session_mount(impl_->se, mountpoint.c_str()) != 0) {
    *error = "mounting on " + mountpoint +
             " failed (is /dev/fuse there, and are you root or is fusermount3 installed?)";
    return false;
  }
  impl_->mounted = true;
  // /dev/fuse through our own read and writev: the same system calls, with the INIT reply
  // completed on its way out (init_reply.h). The descriptor stays the one fuse_session_mount made.
  fuse_custom_io io{};
  io.read = [](int fd, void* buf, size_t len, void* userdata) -> ssize_t {
    const ssize_t n = ::read(fd, buf, len);
    if (n > 0) static_cast<Impl*>(userdata)->init_flags.Observe(buf, static_cast<size_t>(n));
    return n;
  };
  io.writev = [](int fd, iovec* iov, int count, void* userdata) -> ssize_t {
    std::array<iovec, 8> copy;
    std::array<uint8_t, 128> arg;
    auto* impl = static_cast<Impl*>(userdata);
    if (impl->init_flags.Patch(iov, count, &copy, &arg)) {
      const ssize_t n = ::writev(fd, copy.data(), count);
      const int saved = errno;
      if (n >= 0) {
        Log(smb3::LogLevel::kInfo, "init: added %s to libfuse %d.%d's reply, which leaves them out",
            impl->init_flags.added().c_str(), fuse_version() / 100, fuse_version() % 100);
      }
      errno = saved;
      return n;
    }
    return ::writev(fd, iov, count);
  };
  const int custom = fuse_session_custom_io(impl_->se, &io, fuse_session_fd(impl_->se));
  if (custom != 0) {
    Log(smb3::LogLevel::kWarning,
        "cannot hook /dev/fuse I/O (%s): lookups in one directory stay serialized",
        std::strerror(-custom));
  }
  return true;
}

int FuseSession::Loop() {
  fuse_session* se = impl_->se;
  int result = 0;
  while (!fuse_session_exited(se)) {
    if (impl_->receive_buffer == nullptr) {
      impl_->receive_buffer = impl_->receive_pool.Acquire();
      if (impl_->receive_buffer == nullptr) {
        result = ENOMEM;
        break;
      }
      LendReceiveBuffer(*impl_, impl_->receive_buffer);
    }
    fuse_buf buf{};
    buf.mem = impl_->receive_buffer;
    buf.size = impl_->receive_pool.buffer_size();
    const int res = fuse_session_receive_buf(se, &buf);
    if (res == -EINTR) continue;
    if (res <= 0) {
      if (res < 0) result = -res;
      break;
    }
    fuse_session_process_buf(se, &buf);
  }
  if (impl_->receive_buffer != nullptr) {
    impl_->receive_pool.Release(impl_->receive_buffer);
    impl_->receive_buffer = nullptr;
  }
  // Replies to asynchronous reads and writes still in flight reference the session.
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (impl_->in_flight.load() != 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl_->in_flight.load() == 0) {
    // No write reads from them any more: the client may deregister them.
    for (uint8_t* b : impl_->lent) {
      impl_->fs.UnregisterIoMemory({b, impl_->receive_pool.buffer_size()});
    }
    impl_->lent.clear();
  }
  return result;
}

void FuseSession::Unmount() {
  if (impl_->mounted) {
    fuse_session_unmount(impl_->se);
    impl_->mounted = false;
  }
  if (impl_->signals) {
    fuse_remove_signal_handlers(impl_->se);
    impl_->signals = false;
  }
}

uint64_t FuseSession::in_flight() const { return impl_->in_flight.load(); }

}  // namespace fuse_smbd
