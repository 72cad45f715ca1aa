// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb_fs.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "errno_map.h"
#include "log.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace fuse_smbd {
namespace {

smb3::Status Err(int e, const char* where) { return smb3::Status::Errno(e, where); }

struct timespec ToTimespec(smb3::FileTime ft) {
  struct timespec ts{};
  if (ft <= smb3::kFileTimeUnixEpoch) return ts;
  const uint64_t t = ft - smb3::kFileTimeUnixEpoch;
  ts.tv_sec = static_cast<time_t>(t / 10000000ULL);
  ts.tv_nsec = static_cast<long>((t % 10000000ULL) * 100);
  return ts;
}

smb3::FileTime FromTimespec(const struct timespec& ts) {
  if (ts.tv_sec < 0) return smb3::kFileTimeUnixEpoch;
  return smb3::kFileTimeUnixEpoch + static_cast<uint64_t>(ts.tv_sec) * 10000000ULL +
         static_cast<uint64_t>(ts.tv_nsec) / 100;
}

smb3::FileTime NowFileTime() {
  struct timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return FromTimespec(ts);
}

bool NameOk(std::string_view name) { return name.find('\\') == std::string_view::npos; }

// Closes a handle opened for one operation; its error matters less than the operation's.
void CloseQuietly(smb3::Client& client, const smb3::FileHandle& handle) {
  smb3::Status st = client.Close(handle);
  if (!st.ok()) Log(smb3::LogLevel::kDebug, "close: %s", st.ToString().c_str());
}

}  // namespace

bool ServerNameOk(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

FsOptions FsOptionsFrom(const MountConfig& c) {
  FsOptions o;
  o.root_path = c.prefix_path;
  o.uid = c.uid;
  o.gid = c.gid;
  o.file_mode = c.file_mode;
  o.dir_mode = c.dir_mode;
  o.actimeo = c.actimeo;
  o.cache = c.cache;
  o.use_server_ino = c.use_server_inodes;
  o.write_behind = size_t{c.writebehind_kb} << 10;
  return o;
}

SmbFs::SmbFs(smb3::Client& client, FsOptions options)
    : client_(client), options_(std::move(options)),
      inodes_(options_.root_path, options_.use_server_ino) {}

struct stat SmbFs::MakeStat(uint64_t ino, const smb3::FileInfo& info) const {
  inodes_.RememberInfo(ino, info);
  struct stat st{};
  st.st_ino = ino;
  if (info.is_directory()) {
    st.st_mode = S_IFDIR | (options_.dir_mode & 07777);
    st.st_nlink = 2;
  } else {
    mode_t mode = options_.file_mode & 07777;
    if (info.attributes & smb3::kFileAttributeReadonly) mode &= ~static_cast<mode_t>(0222);
    st.st_mode = S_IFREG | mode;
    st.st_nlink = info.nlink == 0 ? 1 : info.nlink;
    st.st_size = static_cast<off_t>(info.end_of_file);
    st.st_blocks = static_cast<blkcnt_t>((info.allocation_size + 511) / 512);
    if (behind_inodes_.load() != 0) {
      // Writes behind not yet stored (or stored after the server answered this) make the file
      // this long: never present it shorter than the kernel already knows it.
      std::lock_guard lock(behind_mu_);
      auto it = behind_.find(ino);
      if (it != behind_.end() && it->second.end > info.end_of_file) {
        st.st_size = static_cast<off_t>(it->second.end);
      }
    }
  }
  if (info.delete_pending || inodes_.IsUnlinked(ino)) st.st_nlink = 0;
  st.st_uid = options_.uid;
  st.st_gid = options_.gid;
  st.st_blksize = 1 << 20;  // cp and friends size their buffers by this
  st.st_atim = ToTimespec(info.last_access_time);
  st.st_mtim = ToTimespec(info.last_write_time);
  st.st_ctim = ToTimespec(info.change_time != 0 ? info.change_time : info.last_write_time);
  return st;
}

Entry SmbFs::MakeEntry(uint64_t ino, const smb3::FileInfo& info) const {
  Entry e;
  e.ino = ino;
  e.attr = MakeStat(ino, info);
  e.attr_timeout = options_.actimeo;
  e.entry_timeout = options_.actimeo;
  return e;
}

uint32_t SmbFs::AccessFor(int flags) const {
  uint32_t access = smb3::kAccessReadAttributes | smb3::kAccessSynchronize;
  const int mode = flags & O_ACCMODE;
  // With the writeback cache the kernel reads to fill partly written pages, even on O_WRONLY.
  if (mode != O_WRONLY || writeback_) access |= smb3::kAccessReadData;
  if (mode != O_RDONLY) {
    access |= smb3::kAccessWriteData | smb3::kAccessAppendData | smb3::kAccessWriteAttributes;
  }
  return access;
}

void SmbFs::NoteNewDir(const std::string& path, const smb3::FileInfo& info) {
  if (options_.actimeo <= 0) return;
  const auto ttl = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options_.actimeo));
  std::lock_guard lock(new_dirs_mu_);
  if (new_dirs_.size() > 4096) {  // bound the memory: drop what has expired
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(new_dirs_, [now](const auto& kv) { return kv.second.expires <= now; });
  }
  new_dirs_[path] = NewDir{std::chrono::steady_clock::now() + ttl, {}, info};
}

template <typename F>
auto SmbFs::WithNewDir(uint64_t dir, F f) -> decltype(f(std::declval<NewDir&>())) {
  using R = decltype(f(std::declval<NewDir&>()));
  auto path = inodes_.Path(dir);
  if (!path.ok()) return R();
  std::lock_guard lock(new_dirs_mu_);
  auto it = new_dirs_.find(*path);
  if (it == new_dirs_.end()) return R();
  if (it->second.expires <= std::chrono::steady_clock::now()) {
    new_dirs_.erase(it);
    return R();
  }
  return f(it->second);
}

void SmbFs::NoteCreated(uint64_t parent, uint32_t create_action, const smb3::FileInfo& child) {
  if (create_action != smb3::kFileCreated) return;  // opened or overwritten: the directory is as it was
  WithNewDir(parent, [&child](NewDir& d) {
    if (!d.info) return;
    // The server stamps the directory when it adds the entry: the entry's own creation (or, where
    // the server reports none, change) time, by the server's clock.
    const smb3::FileTime t = std::max(child.creation_time, child.change_time);
    d.info->last_write_time = std::max(d.info->last_write_time, t);
    d.info->change_time = std::max(d.info->change_time, t);
  });
}

void SmbFs::NoteDirChanged(uint64_t dir) {
  WithNewDir(dir, [](NewDir& d) { d.info.reset(); });
}

std::optional<smb3::FileInfo> SmbFs::NewDirInfo(uint64_t ino) {
  if (!inodes_.IsDirectory(ino)) return std::nullopt;
  return WithNewDir(ino, [](NewDir& d) { return d.info; });
}

void SmbFs::NoteName(uint64_t parent, std::string_view name) {
  WithNewDir(parent, [name](NewDir& d) { d.names.emplace(name); });
}

bool SmbFs::KnownAbsent(uint64_t parent, std::string_view name) {
  return WithNewDir(parent, [name](NewDir& d) { return d.names.count(std::string(name)) == 0; });
}

smb3::Result<Entry> SmbFs::Lookup(uint64_t parent, std::string_view name) {
  if (name.size() > 255) return Err(ENAMETOOLONG, "lookup");
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.ChildPath(parent, name));
  if (!NameOk(name) || KnownAbsent(parent, name)) {
    Entry negative;
    negative.entry_timeout = options_.actimeo;
    return negative;
  }
  auto info = client_.Stat(path);
  if (!info.ok()) {
    const int e = ErrnoFromStatus(info.status());
    if (e != ENOENT) return ToErrno(info.status());
    Entry negative;  // cached by the kernel like a positive entry
    negative.entry_timeout = options_.actimeo;
    return negative;
  }
  const uint64_t ino = inodes_.Lookup(path, *info);
  return MakeEntry(ino, *info);
}

void SmbFs::Forget(uint64_t ino, uint64_t count) { inodes_.Forget(ino, count); }

smb3::Result<smb3::FileInfo> SmbFs::InfoByIno(uint64_t ino) {
  if (inodes_.IsUnlinked(ino)) {
    // An open-unlinked file is reachable only through one of its handles.
    if (auto state = files_.FindByIno(ino)) {
      auto info = client_.QueryInfo(state->file);
      if (!info.ok()) return ToErrno(info.status());
      return *info;
    }
    return Err(ESTALE, "getattr");
  }
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.Path(ino));
  auto info = client_.Stat(path);
  if (!info.ok()) return ToErrno(info.status());
  return *info;
}

smb3::Result<struct stat> SmbFs::GetAttr(uint64_t ino, std::optional<uint64_t> fh) {
  WaitWritesBehind(ino);  // size and times as the server will have them
  if (fh) {
    if (auto state = files_.Get(*fh)) {
      auto info = client_.QueryInfo(state->file);
      if (!info.ok()) return ToErrno(info.status());
      return MakeStat(ino, *info);
    }
  }
  if (auto known = NewDirInfo(ino)) return MakeStat(ino, *known);
  SMB3_ASSIGN_OR_RETURN(smb3::FileInfo info, InfoByIno(ino));
  return MakeStat(ino, info);
}

// Round trips are what tar -x and cp -a pay per file (chown, chmod, utimensat, and with the writeback
// cache the kernel's own time write-back at close). Attributes presented within actimeo, with no
// write since, tell what a change would alter: a change that alters nothing needs no round trip,
// times and the READONLY attribute go in one SET_INFO, and the reply is computed from what was set
// instead of asked for (a size change still asks: the server moves its times then).
smb3::Result<struct stat> SmbFs::SetAttr(uint64_t ino, std::optional<uint64_t> fh,
                                         const SetAttrRequest& req) {
  WaitWritesBehind(ino);  // a truncate or a time set lands after the writes answered before it
  if (inodes_.IsDirectory(ino)) NoteDirChanged(ino);  // its new times: the server's from now on
  const bool times = req.set_atime || req.set_mtime;
  if (!req.set_size && !times && !req.set_mode) {
    // chown: accepted, nothing to store; answer with what we just presented
    if (auto info = inodes_.RecentInfo(ino, options_.actimeo)) return MakeStat(ino, *info);
    return GetAttr(ino, fh);
  }

  smb3::FileHandle handle;
  std::shared_ptr<OpenFileState> state;
  if (fh) state = files_.Get(*fh);
  // utimensat(2) and chmod(2) by path come without a handle. If this mount has the file open,
  // change it through that handle, a writable one first: SMB servers move the write time when a
  // handle that wrote closes unless the time was set through that same handle (cp -a, tar -x
  // without the writeback cache would lose their mtimes otherwise).
  if (!state) {
    state = files_.FindByIno(ino, [](const OpenFileState& f) { return f.writable; });
  }
  if (!state && inodes_.IsUnlinked(ino) && !req.set_size && !req.set_mode) {
    // The kernel writing back the times of a file already deleted: nothing left to update.
    if (auto info = inodes_.RecentInfo(ino, 1e9, true)) return MakeStat(ino, *info);
  }

  const smb3::FileTime now = NowFileTime();
  const smb3::FileTime atime = req.atime_now ? now : req.set_atime ? FromTimespec(req.atime) : 0;
  const smb3::FileTime mtime = req.mtime_now ? now : req.set_mtime ? FromTimespec(req.mtime) : 0;
  std::optional<smb3::FileInfo> known = inodes_.RecentInfo(ino, options_.actimeo);
  // The attributes that make `info` carry the requested mode (0 = no change needed).
  auto attrs_for = [&req](const smb3::FileInfo& info) -> uint32_t {
    if (!req.set_mode || info.is_directory()) return 0;
    const bool want_ro = (req.mode & 0222) == 0;
    const bool is_ro = (info.attributes & smb3::kFileAttributeReadonly) != 0;
    if (want_ro == is_ro) return 0;
    uint32_t attrs = info.attributes & ~smb3::kFileAttributeDirectory;
    attrs = want_ro ? (attrs | smb3::kFileAttributeReadonly) : (attrs & ~smb3::kFileAttributeReadonly);
    return attrs == 0 ? smb3::kFileAttributeNormal : attrs;
  };
  bool send_times = times;
  if (known && times && (atime == 0 || atime == known->last_access_time) &&
      (mtime == 0 || mtime == known->last_write_time)) {
    send_times = false;  // already so (typically the kernel's write-back of what utimensat set)
  }
  if (known && !req.set_size && !send_times && attrs_for(*known) == 0) {
    return MakeStat(ino, *known);
  }

  bool own_handle = false;
  auto open_by_path = [&]() -> smb3::Status {
    SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.Path(ino));
    smb3::OpenOptions o;
    o.desired_access = smb3::kAccessReadAttributes | smb3::kAccessSynchronize;
    if (req.set_size) o.desired_access |= smb3::kAccessWriteData;
    if (times || req.set_mode) o.desired_access |= smb3::kAccessWriteAttributes;
    auto r = client_.Open(path, o);
    if (!r.ok()) return ToErrno(r.status());
    handle = r->handle;
    own_handle = true;
    if (!known && !req.set_size) known = r->info;  // the create response carries the attributes
    return smb3::Status::Ok();
  };
  if (state) {
    handle = state->file;
  } else {
    SMB3_RETURN_IF_ERROR(open_by_path());
  }
  // Runs `op` on the handle; a handle opened read-only by the application lacks the access, so
  // retry once on a handle opened for this change.
  auto apply = [&](const std::function<smb3::Status(const smb3::FileHandle&)>& op) -> smb3::Status {
    smb3::Status st = op(handle);
    if (!st.ok() && !own_handle && ErrnoFromStatus(st) == EACCES && !inodes_.IsUnlinked(ino)) {
      SMB3_RETURN_IF_ERROR(open_by_path());
      st = op(handle);
    }
    return ToErrno(st);
  };
  smb3::Status st = smb3::Status::Ok();
  if (req.set_size) {
    st = apply([&](const smb3::FileHandle& h) { return client_.SetEndOfFile(h, req.size); });
    if (st.ok()) ForgetWritesBehind(ino, req.size);
  }
  std::optional<smb3::FileInfo> base = req.set_size ? std::nullopt : known;
  uint32_t attrs = 0;
  if (st.ok() && req.set_mode) {
    // The READONLY attribute decides; attributes presented moments ago are good enough to know it.
    if (!known) {
      auto info = client_.QueryInfo(handle);
      if (info.ok()) {
        known = *info;
        if (!req.set_size) base = *info;
      } else {
        st = ToErrno(info.status());
      }
    }
    if (st.ok()) attrs = attrs_for(*known);
  }
  if (st.ok() && (send_times || attrs != 0)) {
    st = apply([&](const smb3::FileHandle& h) {
      return client_.SetBasicInfo(h, 0, send_times ? atime : 0, send_times ? mtime : 0, 0, attrs);
    });
  }
  std::optional<smb3::FileInfo> result;
  if (st.ok() && base) {
    result = *base;
    if (send_times && atime != 0) result->last_access_time = atime;
    if (send_times && mtime != 0) result->last_write_time = mtime;
    if (attrs != 0) result->attributes = attrs | (base->attributes & smb3::kFileAttributeDirectory);
    if (send_times || attrs != 0) result->change_time = now;
  } else if (st.ok()) {
    auto queried = client_.QueryInfo(handle);
    if (queried.ok()) {
      result = *queried;
    } else {
      st = ToErrno(queried.status());
    }
  }
  if (own_handle) CloseQuietly(client_, handle);
  if (!st.ok()) return st;
  return MakeStat(ino, *result);
}

smb3::Result<Entry> SmbFs::Mkdir(uint64_t parent, std::string_view name, mode_t) {
  if (name.size() > 255) return Err(ENAMETOOLONG, "mkdir");
  if (!NameOk(name)) return Err(EINVAL, "mkdir");
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.ChildPath(parent, name));
  smb3::OpenOptions o;
  o.desired_access = smb3::kAccessReadAttributes | smb3::kAccessSynchronize;
  o.disposition = smb3::Disposition::kCreate;
  o.kind = smb3::FileKind::kDirectory;
  NoteName(parent, name);  // before the create: a lookup racing with it must ask the server
  auto r = client_.Open(path, o);
  if (!r.ok()) return ToErrno(r.status());
  CloseQuietly(client_, r->handle);
  NoteCreated(parent, r->create_action, r->info);
  if (r->create_action == smb3::kFileCreated) NoteNewDir(path, r->info);
  const uint64_t ino = inodes_.Lookup(path, r->info);
  return MakeEntry(ino, r->info);
}

smb3::Result<Entry> SmbFs::Mknod(uint64_t parent, std::string_view name, mode_t mode) {
  if (!S_ISREG(mode)) return Err(EPERM, "mknod");  // SMB3 without POSIX extensions: files only
  if (name.size() > 255) return Err(ENAMETOOLONG, "mknod");
  if (!NameOk(name)) return Err(EINVAL, "mknod");
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.ChildPath(parent, name));
  smb3::OpenOptions o;
  o.desired_access = smb3::kAccessReadAttributes | smb3::kAccessSynchronize;
  o.disposition = smb3::Disposition::kCreate;
  o.kind = smb3::FileKind::kFile;
  NoteName(parent, name);
  auto r = client_.Open(path, o);
  if (!r.ok()) return ToErrno(r.status());
  CloseQuietly(client_, r->handle);
  NoteCreated(parent, r->create_action, r->info);
  const uint64_t ino = inodes_.Lookup(path, r->info);
  return MakeEntry(ino, r->info);
}

smb3::Status SmbFs::HideOpenFile(uint64_t ino, const std::string& path) {
  char suffix[64];
  snprintf(suffix, sizeof suffix, "%x-%llx", static_cast<unsigned>(getpid()),
           static_cast<unsigned long long>(++hidden_counter_));
  const std::string hidden = JoinPath(options_.root_path, std::string(kHiddenPrefix) + suffix);
  smb3::OpenOptions o;
  o.desired_access = smb3::kAccessDelete | smb3::kAccessReadAttributes | smb3::kAccessSynchronize;
  auto r = client_.Open(path, o);
  if (!r.ok()) return ToErrno(r.status());
  smb3::Status st = client_.Rename(r->handle, hidden, false);
  if (st.ok()) {
    // The server deletes the file when the last handle (ours, still open) closes.
    smb3::Status del = client_.SetDeleteOnClose(r->handle, true);
    if (!del.ok()) {
      Log(smb3::LogLevel::kWarning, "unlinked open file %s stays as %s: %s", path.c_str(),
          hidden.c_str(), del.ToString().c_str());
    }
  }
  CloseQuietly(client_, r->handle);
  if (!st.ok()) return ToErrno(st);
  inodes_.Hidden(ino, hidden);
  return smb3::Status::Ok();
}

smb3::Status SmbFs::ClearReadOnly(const std::string& path) {
  smb3::OpenOptions o;
  o.desired_access = smb3::kAccessReadAttributes | smb3::kAccessWriteAttributes |
                     smb3::kAccessSynchronize;
  auto r = client_.Open(path, o);
  if (!r.ok()) return ToErrno(r.status());
  smb3::Status st = smb3::Status::Ok();
  if (r->info.attributes & smb3::kFileAttributeReadonly) {
    uint32_t attrs = r->info.attributes & ~smb3::kFileAttributeReadonly &
                     ~smb3::kFileAttributeDirectory;
    if (attrs == 0) attrs = smb3::kFileAttributeNormal;
    st = client_.SetBasicInfo(r->handle, 0, 0, 0, 0, attrs);
  } else {
    st = Err(EACCES, "unlink");  // not the read-only attribute: a real refusal
  }
  CloseQuietly(client_, r->handle);
  return ToErrno(st);
}

smb3::Status SmbFs::Unlink(uint64_t parent, std::string_view name) {
  if (!NameOk(name)) return Err(ENOENT, "unlink");
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.ChildPath(parent, name));
  NoteDirChanged(parent);
  if (auto ino = inodes_.Find(path); ino && inodes_.OpenCount(*ino) > 0) {
    return HideOpenFile(*ino, path);
  }
  smb3::Status st = client_.Unlink(path);
  if (!st.ok() && ErrnoFromStatus(st) == EACCES) {
    if (ClearReadOnly(path).ok()) st = client_.Unlink(path);
  }
  if (!st.ok()) return ToErrno(st);
  inodes_.Unlinked(path);
  return smb3::Status::Ok();
}

smb3::Status SmbFs::Rmdir(uint64_t parent, std::string_view name) {
  if (!NameOk(name)) return Err(ENOENT, "rmdir");
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.ChildPath(parent, name));
  NoteDirChanged(parent);
  smb3::Status st = client_.Rmdir(path);
  if (!st.ok()) return ToErrno(st);
  {
    std::lock_guard lock(new_dirs_mu_);
    new_dirs_.erase(path);
  }
  inodes_.Unlinked(path);
  return smb3::Status::Ok();
}

smb3::Status SmbFs::Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                           std::string_view new_name, unsigned flags) {
  if (flags & RENAME_EXCHANGE) return Err(EINVAL, "rename");
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) return Err(EINVAL, "rename");
  if (new_name.size() > 255) return Err(ENAMETOOLONG, "rename");
  if (!NameOk(name)) return Err(ENOENT, "rename");
  if (!NameOk(new_name)) return Err(EINVAL, "rename");
  SMB3_ASSIGN_OR_RETURN(std::string from, inodes_.ChildPath(parent, name));
  SMB3_ASSIGN_OR_RETURN(std::string to, inodes_.ChildPath(new_parent, new_name));
  if (from == to) return smb3::Status::Ok();
  NoteName(new_parent, new_name);
  {
    // A renamed directory's path no longer names what we created: forget all of them.
    std::lock_guard lock(new_dirs_mu_);
    new_dirs_.clear();
  }
  const bool replace = (flags & RENAME_NOREPLACE) == 0;
  const auto from_ino = inodes_.Find(from);
  const bool from_dir = from_ino && inodes_.IsDirectory(*from_ino);
  if (replace) {
    if (auto target = inodes_.Find(to)) {
      const bool target_dir = inodes_.IsDirectory(*target);
      if (from_ino && from_dir && !target_dir) return Err(ENOTDIR, "rename");
      if (from_ino && !from_dir && target_dir) return Err(EISDIR, "rename");
      // SMB will not replace an open file; move it out of the way as unlink would.
      if (!target_dir && inodes_.OpenCount(*target) > 0) {
        SMB3_RETURN_IF_ERROR(HideOpenFile(*target, to));
      }
    }
  }
  smb3::Status st = client_.RenamePath(from, to, replace);
  if (!st.ok() && replace && ErrnoFromStatus(st) == EACCES) {
    // SMB never replaces a directory; POSIX replaces an empty one. Find out what the target is.
    auto target = client_.Stat(to);
    if (target.ok() && target->is_directory()) {
      auto source = client_.Stat(from);
      if (source.ok() && !source->is_directory()) return Err(EISDIR, "rename");
      smb3::Status rm = client_.Rmdir(to);
      if (!rm.ok()) return ToErrno(rm);  // ENOTEMPTY for a non-empty directory
      inodes_.Unlinked(to);
      st = client_.RenamePath(from, to, replace);
    } else if (target.ok() && ErrnoFromStatus(st) == EACCES) {
      if (auto t = inodes_.Find(to); t && inodes_.OpenCount(*t) == 0) {
        // Open by another client, or read-only: try once more after clearing READONLY.
        if (ClearReadOnly(to).ok()) st = client_.RenamePath(from, to, replace);
      }
    }
  }
  if (!st.ok()) return ToErrno(st);
  inodes_.Renamed(from, to);
  return smb3::Status::Ok();
}

smb3::Result<OpenReply> SmbFs::Open(uint64_t ino, int flags) {
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.Path(ino));
  smb3::OpenOptions o;
  o.desired_access = AccessFor(flags);
  const bool writable = (flags & O_ACCMODE) != O_RDONLY;
  o.disposition = (flags & O_TRUNC) && writable ? smb3::Disposition::kOverwrite
                                                : smb3::Disposition::kOpen;
  o.kind = smb3::FileKind::kFile;
  auto r = client_.Open(path, o);
  if (!r.ok()) return ToErrno(r.status());
  auto state = std::make_shared<OpenFileState>();
  state->file = r->handle;
  state->ino = ino;
  state->writable = writable;
  state->append = (flags & O_APPEND) != 0;
  OpenReply reply;
  const bool unchanged =
      inodes_.UpdateVersion(ino, r->info.end_of_file, r->info.last_write_time);
  switch (options_.cache) {
    case CacheMode::kStrict: reply.keep_cache = unchanged; break;
    case CacheMode::kLoose: reply.keep_cache = true; break;
    case CacheMode::kNone: reply.direct_io = true; break;
  }
  if (flags & O_TRUNC) reply.keep_cache = false;
  inodes_.AddOpen(ino);
  reply.fh = files_.Insert(std::move(state));
  return reply;
}

smb3::Result<std::pair<Entry, OpenReply>> SmbFs::Create(uint64_t parent, std::string_view name,
                                                        mode_t mode, int flags) {
  if (!S_ISREG(mode) && (mode & S_IFMT) != 0) return Err(EPERM, "create");
  if (name.size() > 255) return Err(ENAMETOOLONG, "create");
  if (!NameOk(name)) return Err(EINVAL, "create");
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.ChildPath(parent, name));
  smb3::OpenOptions o;
  o.desired_access = AccessFor(flags);
  o.disposition = (flags & O_EXCL)    ? smb3::Disposition::kCreate
                  : (flags & O_TRUNC) ? smb3::Disposition::kOverwriteIf
                                      : smb3::Disposition::kOpenIf;
  o.kind = smb3::FileKind::kFile;
  NoteName(parent, name);
  auto r = client_.Open(path, o);
  if (!r.ok()) return ToErrno(r.status());
  NoteCreated(parent, r->create_action, r->info);
  const uint64_t ino = inodes_.Lookup(path, r->info);
  inodes_.UpdateVersion(ino, r->info.end_of_file, r->info.last_write_time);
  auto state = std::make_shared<OpenFileState>();
  state->file = r->handle;
  state->ino = ino;
  state->writable = (flags & O_ACCMODE) != O_RDONLY;
  state->append = (flags & O_APPEND) != 0;
  OpenReply reply;
  reply.direct_io = options_.cache == CacheMode::kNone;
  inodes_.AddOpen(ino);
  reply.fh = files_.Insert(std::move(state));
  return std::make_pair(MakeEntry(ino, r->info), reply);
}

void SmbFs::Read(uint64_t fh, uint64_t offset, size_t length, ReadDone done) {
  auto state = files_.Get(fh);
  if (!state) {
    done(Err(EBADF, "read"));
    return;
  }
  WaitWritesBehind(state->ino);  // the server has them before it is asked for data
  client_.ReadAsyncView(state->file, offset, length,
                        [done = std::move(done)](smb3::Result<smb3::ReadView> r) {
                          if (r.ok()) {
                            done(std::move(r));
                          } else {
                            done(ToErrno(r.status()));
                          }
                        });
}

void SmbFs::Write(uint64_t fh, uint64_t offset, std::span<const uint8_t> src, IoDone done,
                  const std::function<void(size_t)>& accept) {
  auto state = files_.Get(fh);
  if (!state) {
    done(Err(EBADF, "write"));
    return;
  }
  const bool may_write_behind = accept && options_.write_behind != 0 &&
                                options_.cache == CacheMode::kStrict && !writeback_ &&
                                !state->append;
  if (may_write_behind) {
    // An earlier write behind failed: this open file's writes stop here, and the application
    // hears of it now (once; a write after this one tries again).
    if (const int e = state->deferred_error.exchange(0); e != 0) {
      done(Err(e, "write (an earlier write of this file failed)"));
      return;
    }
  }
  if (state->append && !writeback_) {
    // O_APPEND: the server's end of file is the truth (another client may have appended).
    auto info = client_.QueryInfo(state->file);
    if (!info.ok()) {
      done(ToErrno(info.status()));
      return;
    }
    offset = info->end_of_file;
  }
  bool behind = false;
  if (may_write_behind) {
    std::lock_guard lock(behind_mu_);
    auto [it, fresh] = behind_.try_emplace(state->ino);
    Behind& b = it->second;
    if (b.bytes + src.size() <= options_.write_behind) {
      ++b.writes;
      b.bytes += src.size();
      b.end = std::max(b.end, offset + src.size());
      behind = true;
    }
    if (!behind && fresh) behind_.erase(it);
    behind_inodes_.store(behind_.size());
  }
  const bool keep_error = writeback_ || behind;
  inodes_.DataChanged(state->ino);
  IoDone finish = [this, state, keep_error, behind, offset, size = src.size(),
                   done = std::move(done)](smb3::Result<size_t> r) {
    inodes_.DataChanged(state->ino);
    smb3::Status st;
    if (!r.ok()) {
      st = ToErrno(r.status());
      if (keep_error) {
        int expected = 0;
        state->deferred_error.compare_exchange_strong(expected, static_cast<int>(st.detail()));
      }
      if (behind) {
        Log(smb3::LogLevel::kWarning,
            "write of %zu bytes at offset %llu failed after it was answered (write-behind): %s; "
            "the next write, close or fsync of the file returns the error",
            size, static_cast<unsigned long long>(offset), st.ToString().c_str());
      }
    }
    if (behind) {
      // The error is kept (above) before the file counts as drained: a flush that waited for
      // this write finds it.
      {
        std::lock_guard lock(behind_mu_);
        Behind& b = behind_[state->ino];
        --b.writes;
        b.bytes -= size;
      }
      behind_cv_.notify_all();
    }
    if (st.ok()) {
      done(std::move(r));
    } else {
      done(st);
    }
  };
  if (behind) accept(src.size());
  const size_t piece = options_.write_split;
  if (piece == 0 || src.size() < 2 * piece) {
    client_.WriteAsync(state->file, offset, src, std::move(finish));
    return;
  }
  // The kernel sends an O_DIRECT or write-through write as one 1 MiB request and waits for it. As
  // one SMB WRITE, the server can start storing only after the whole MiB crossed the socket; as
  // several in flight together, it stores one piece while the next is on its way.
  struct Split {
    std::mutex mu;
    size_t remaining = 0;
    smb3::Status error;
    IoDone done;
  };
  auto split = std::make_shared<Split>();
  const size_t n = (src.size() + piece - 1) / piece;
  split->remaining = n;
  split->done = std::move(finish);
  for (size_t i = 0; i < n; ++i) {
    const size_t at = i * piece;
    const std::span<const uint8_t> part = src.subspan(at, std::min(piece, src.size() - at));
    client_.WriteAsync(state->file, offset + at, part,
                       [split, total = src.size()](smb3::Result<size_t> r) {
                         {
                           std::lock_guard lock(split->mu);
                           if (!r.ok() && split->error.ok()) split->error = r.status();
                           if (--split->remaining != 0) return;
                         }
                         // WriteAsync answers a piece with all its bytes or an error.
                         if (split->error.ok()) {
                           split->done(total);
                         } else {
                           split->done(split->error);
                         }
                       });
  }
}

void SmbFs::WaitWritesBehind(uint64_t ino) {
  if (behind_inodes_.load() == 0) return;
  std::unique_lock lock(behind_mu_);
  behind_cv_.wait(lock, [&] {
    auto it = behind_.find(ino);
    return it == behind_.end() || it->second.writes == 0;
  });
}

void SmbFs::ForgetWritesBehind(uint64_t ino, std::optional<uint64_t> new_size) {
  if (behind_inodes_.load() == 0) return;
  std::lock_guard lock(behind_mu_);
  auto it = behind_.find(ino);
  if (it == behind_.end()) return;
  if (new_size) {
    it->second.end = *new_size;  // a truncate: the writes behind no longer make the size
  } else if (it->second.writes == 0) {
    behind_.erase(it);
    behind_inodes_.store(behind_.size());
  }
}

size_t SmbFs::writes_behind(uint64_t ino) const {
  std::lock_guard lock(behind_mu_);
  auto it = behind_.find(ino);
  return it == behind_.end() ? 0 : it->second.writes;
}

smb3::Status SmbFs::Flush(uint64_t fh) {
  auto state = files_.Get(fh);
  if (!state) return Err(EBADF, "flush");
  WaitWritesBehind(state->ino);
  if (const int e = state->deferred_error.exchange(0); e != 0) return Err(e, "flush");
  return smb3::Status::Ok();
}

smb3::Status SmbFs::Fsync(uint64_t fh) {
  auto state = files_.Get(fh);
  if (!state) return Err(EBADF, "fsync");
  WaitWritesBehind(state->ino);
  if (const int e = state->deferred_error.exchange(0); e != 0) return Err(e, "fsync");
  if (!state->writable) return smb3::Status::Ok();
  return ToErrno(client_.Flush(state->file));
}

smb3::Status SmbFs::Release(uint64_t fh) {
  auto state = files_.Remove(fh);
  if (!state) return Err(EBADF, "release");
  WaitWritesBehind(state->ino);
  smb3::FileInfo final_info;
  smb3::Status st = client_.Close(state->file, &final_info);
  if (st.ok() && state->writable) {
    // Our own writes changed mtime: remember the result so the next open keeps the page cache.
    inodes_.UpdateVersion(state->ino, final_info.end_of_file, final_info.last_write_time);
  }
  inodes_.ReleaseOpen(state->ino);
  if (!files_.FindByIno(state->ino)) ForgetWritesBehind(state->ino);
  return ToErrno(st);
}

smb3::Status SmbFs::Fallocate(uint64_t fh, int mode, uint64_t offset, uint64_t length) {
  if (mode & ~FALLOC_FL_KEEP_SIZE) return Err(EOPNOTSUPP, "fallocate");
  auto state = files_.Get(fh);
  if (!state) return Err(EBADF, "fallocate");
  WaitWritesBehind(state->ino);
  auto info = client_.QueryInfo(state->file);
  if (!info.ok()) return ToErrno(info.status());
  const uint64_t end = offset + length;
  if (end > info->allocation_size) {
    smb3::Status st = client_.SetAllocationSize(state->file, end);
    if (!st.ok()) {
      const int e = ErrnoFromStatus(st);
      // A server without FileAllocationInformation: glibc's posix_fallocate then writes zeros.
      return Err(e == EINVAL ? EOPNOTSUPP : e, "fallocate");
    }
  }
  if (!(mode & FALLOC_FL_KEEP_SIZE) && end > info->end_of_file) {
    SMB3_RETURN_IF_ERROR(ToErrno(client_.SetEndOfFile(state->file, end)));
  }
  return smb3::Status::Ok();
}

smb3::Result<std::vector<smb3::DirEntry>> SmbFs::List(const std::string& path) {
  auto list = client_.ListDirectory(path);
  if (!list.ok()) return ToErrno(list.status());
  std::vector<smb3::DirEntry> entries = std::move(list).value();
  const size_t bad = std::erase_if(entries, [](const smb3::DirEntry& e) { return !ServerNameOk(e.name); });
  if (bad != 0 && !bad_names_logged_.exchange(true)) {
    Log(smb3::LogLevel::kWarning,
        "the server listed %zu name(s) in \"%s\" that cannot be a POSIX file name ('/', NUL, \".\" "
        "or \"..\"): skipped (logged once)",
        bad, path.c_str());
  }
  if (path == options_.root_path) {
    std::erase_if(entries, [](const smb3::DirEntry& e) {
      return std::string_view(e.name).starts_with(kHiddenPrefix);
    });
  }
  return entries;
}

smb3::Result<uint64_t> SmbFs::OpenDir(uint64_t ino) {
  SMB3_ASSIGN_OR_RETURN(std::string path, inodes_.Path(ino));
  SMB3_ASSIGN_OR_RETURN(std::vector<smb3::DirEntry> entries, List(path));
  auto state = std::make_shared<OpenDirState>();
  state->ino = ino;
  state->path = std::move(path);
  state->entries = std::move(entries);
  return dirs_.Insert(std::move(state));
}

smb3::Status SmbFs::ReadDir(uint64_t dh, uint64_t offset, bool plus,
                            const std::function<bool(const DirItem&)>& add) {
  auto state = dirs_.Get(dh);
  if (!state) return Err(EBADF, "readdir");
  std::lock_guard lock(state->mu);
  if (offset == 0 && state->consumed) {  // rewinddir: a fresh listing
    SMB3_ASSIGN_OR_RETURN(state->entries, List(state->path));
  }
  state->consumed = true;
  const uint64_t total = state->entries.size() + 2;
  for (uint64_t idx = offset; idx < total; ++idx) {
    DirItem item;
    item.next_offset = idx + 1;
    if (idx < 2) {
      item.name = idx == 0 ? "." : "..";
      item.entry.ino = idx == 0 ? state->ino : inodes_.ParentIno(state->ino);
      item.entry.attr.st_ino = item.entry.ino;
      item.entry.attr.st_mode = S_IFDIR | (options_.dir_mode & 07777);
      if (!add(item)) break;
      continue;
    }
    const smb3::DirEntry& e = state->entries[idx - 2];
    item.name = e.name;
    const std::string path = JoinPath(state->path, e.name);
    if (plus) {
      const uint64_t ino = inodes_.Lookup(path, e.info);
      item.entry = MakeEntry(ino, e.info);
      if (!add(item)) {
        inodes_.Forget(ino, 1);  // the kernel never saw this entry
        break;
      }
    } else {
      uint64_t ino = 0;
      if (auto known = inodes_.Find(path)) {
        ino = *known;
      } else if (options_.use_server_ino && e.info.file_id > 1) {
        ino = e.info.file_id;
      } else {
        ino = std::hash<std::string>{}(path) | 1;
      }
      item.entry.ino = ino;
      item.entry.attr.st_ino = ino;
      item.entry.attr.st_mode = e.info.is_directory() ? S_IFDIR : S_IFREG;
      if (!add(item)) break;
    }
  }
  return smb3::Status::Ok();
}

smb3::Status SmbFs::ReleaseDir(uint64_t dh) {
  if (!dirs_.Remove(dh)) return Err(EBADF, "releasedir");
  return smb3::Status::Ok();
}

smb3::Result<struct statvfs> SmbFs::StatFs() {
  auto fs = client_.StatFs();
  if (!fs.ok()) return ToErrno(fs.status());
  struct statvfs st{};
  uint64_t unit = static_cast<uint64_t>(fs->sectors_per_unit) * fs->bytes_per_sector;
  if (unit == 0) unit = 4096;
  st.f_bsize = static_cast<unsigned long>(unit);
  st.f_frsize = static_cast<unsigned long>(unit);
  st.f_blocks = fs->total_allocation_units;
  st.f_bfree = fs->actual_available_units;
  st.f_bavail = fs->caller_available_units;
  st.f_files = 1u << 30;  // SMB does not report inode counts
  st.f_ffree = 1u << 30;
  st.f_favail = 1u << 30;
  st.f_namemax = fs->max_name_length != 0 ? fs->max_name_length : 255;
  return st;
}

void SmbFs::Shutdown() {
  for (auto& state : files_.TakeAll()) {
    CloseQuietly(client_, state->file);
    inodes_.ReleaseOpen(state->ino);
  }
  dirs_.TakeAll();
}

}  // namespace fuse_smbd
