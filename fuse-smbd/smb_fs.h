// SPDX-License-Identifier: LGPL-2.1-or-later
// SmbFs: POSIX file-system semantics, as FUSE asks for them, over smb3::Client.
//
// No FUSE types here (fuse_ops.cc translates), so unit tests drive it directly over MemoryClient.
// Every error is a Status with Code::kSystem and the errno the application should see, produced by
// errno_map from the server's NTSTATUS or by a POSIX rule this class enforces.
//
// POSIX over SMB, decisions:
//  - Inodes: see InodeTable (server file ids where given).
//  - Owner and mode: from the mount options (uid, gid, file_mode, dir_mode); a file with the
//    READONLY attribute loses its write bits; chmod that removes all write bits sets READONLY,
//    adding one clears it; chown is accepted and ignored (as mount.cifs without Unix extensions).
//  - Open-unlinked files: SMB deletes a name only when its last handle closes, and a delete-pending
//    name cannot be opened or reused. When a file this mount has open is unlinked (or replaced by a
//    rename), it is first renamed to "<root>/.fuse-smbd-deleted-<pid>-<n>" and marked delete-on-close
//    (the Samba-style "silly rename"): the name is free at once, the open handles keep working, and
//    the server deletes the data when the last handle closes (also if this daemon dies). Those names
//    are hidden from directory listings of the root.
//  - Unlink of a READONLY file clears the attribute first (POSIX needs only a writable directory).
//  - rename(2) over an empty directory removes it first (SMB refuses to replace a directory);
//    RENAME_NOREPLACE maps to a rename without ReplaceIfExists; RENAME_EXCHANGE is EINVAL.
//  - Caches: attribute and entry replies carry actimeo; cache=strict keeps file data cached across
//    opens only while size and mtime are unchanged (close-to-open) and writes through, cache=loose
//    keeps it always and adds the kernel's writeback cache, cache=none never caches (direct I/O).
//  - New directories: for actimeo after this mount created a directory, a lookup of a name in it
//    that this mount did not create there is answered "no such file" without asking the server
//    (tar -x and cp -a look up every name before creating it); the staleness is that of a
//    negative dentry. Its attributes are likewise answered from what this mount knows: those the
//    mkdir's CREATE returned, with the write and change times moved to the creation time the
//    server gave each entry created in it since (the kernel asks for a directory's attributes
//    again after every create in it, to check its permissions). Any other change in it (unlink,
//    rmdir, rename, a setattr of the directory) sends the next getattr to the server again.
//  - Writes: a failed asynchronous write is answered with its errno; with the writeback cache the
//    error is also kept and returned by the next flush (close) or fsync.
//  - Write-behind (cache=strict): the kernel sends a write-through write and waits for its answer,
//    so one stream's writes would each wait a full round trip. A write is instead answered as soon
//    as its SMB WRITEs are on their way, while the file's answered-but-unacknowledged writes stay
//    within FsOptions::write_behind bytes (past that, a write is answered when the server answered
//    it). The server sees the data in the order written, one round trip later; an error of such a
//    write is kept and returned by the next write, flush (close) or fsync of that open file, as a
//    page cache's writeback error would be. Everything that could observe the difference waits for
//    the file's writes behind first: flush, fsync, release, read, getattr, setattr, fallocate; a
//    lookup or directory listing meanwhile presents the size those writes make. O_APPEND writes
//    (placed at the server's end of file) and cache=none never write behind; cache=loose has the
//    kernel's writeback instead.
//
// Thread-safety: all methods may be called concurrently; completions of Read/Write run on the
// client's connection thread.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "handle_table.h"
#include "inode_table.h"
#include "options.h"
#include "smb3/client.h"

namespace fuse_smbd {

struct FsOptions {
  std::string root_path;  // share-relative directory mounted as the root
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t file_mode = 0755;
  mode_t dir_mode = 0755;
  double actimeo = 1.0;
  CacheMode cache = CacheMode::kStrict;
  bool use_server_ino = true;
  // A write of at least twice this many bytes goes out as SMB WRITEs of this size, all at once
  // (0: one WriteAsync, split only at the negotiated max write size). See SmbFs::Write. 512 KiB
  // (a 1 MiB FUSE write in two) measured best of 128/256/512 KiB for dd O_DIRECT on a loaded host.
  size_t write_split = 512u << 10;
  // cache=strict write-behind window per file (see above); 0 writes through.
  size_t write_behind = size_t{kDefaultWriteBehindKb} << 10;
};
FsOptions FsOptionsFrom(const MountConfig& config);

struct Entry {
  uint64_t ino = 0;  // 0: negative entry (the name does not exist; cache that for entry_timeout)
  struct stat attr{};
  double attr_timeout = 0;
  double entry_timeout = 0;
};

struct OpenReply {
  uint64_t fh = 0;
  bool direct_io = false;
  bool keep_cache = false;
};

struct SetAttrRequest {
  bool set_mode = false, set_uid = false, set_gid = false, set_size = false;
  bool set_atime = false, set_mtime = false, atime_now = false, mtime_now = false;
  mode_t mode = 0;
  uint64_t size = 0;
  struct timespec atime{}, mtime{};
};

// One directory entry for READDIR/READDIRPLUS.
struct DirItem {
  std::string_view name;
  Entry entry;  // for plain READDIR only entry.ino and entry.attr.st_mode matter
  uint64_t next_offset = 0;
};

// Whether a name from the server can stand in a POSIX directory: not empty, not "." or "..", no
// '/' (it would make a path of one name) and no NUL (it would cut the name short). Entries that
// fail are left out of listings (logged once): a hostile or broken server cannot make the kernel
// see a name that escapes its directory.
bool ServerNameOk(std::string_view name);

// Name prefix of open-unlinked files (see above).
inline constexpr std::string_view kHiddenPrefix = ".fuse-smbd-deleted-";

using IoDone = std::function<void(smb3::Result<size_t>)>;
// File data as views into the client's received messages (no copy); see smb3::ReadView.
using ReadDone = std::function<void(smb3::Result<smb3::ReadView>)>;

class SmbFs {
 public:
  SmbFs(smb3::Client& client, FsOptions options);

  // Set by FUSE init once the kernel agreed to the writeback cache.
  void SetWriteback(bool on) { writeback_ = on; }
  bool writeback() const { return writeback_; }
  const FsOptions& options() const { return options_; }

  smb3::Result<Entry> Lookup(uint64_t parent, std::string_view name);
  void Forget(uint64_t ino, uint64_t count);
  smb3::Result<struct stat> GetAttr(uint64_t ino, std::optional<uint64_t> fh);
  smb3::Result<struct stat> SetAttr(uint64_t ino, std::optional<uint64_t> fh,
                                    const SetAttrRequest& request);

  smb3::Result<Entry> Mkdir(uint64_t parent, std::string_view name, mode_t mode);
  smb3::Result<Entry> Mknod(uint64_t parent, std::string_view name, mode_t mode);
  smb3::Status Unlink(uint64_t parent, std::string_view name);
  smb3::Status Rmdir(uint64_t parent, std::string_view name);
  // flags: RENAME_NOREPLACE / RENAME_EXCHANGE as in renameat2(2).
  smb3::Status Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                      std::string_view new_name, unsigned flags);

  smb3::Result<OpenReply> Open(uint64_t ino, int flags);
  smb3::Result<std::pair<Entry, OpenReply>> Create(uint64_t parent, std::string_view name,
                                                   mode_t mode, int flags);
  // `done` runs exactly once, possibly before Read/Write returns, possibly on another thread.
  // Read hands out views of the received data (for fuse_reply_iov: no copy in our code); Write's
  // `src` must stay valid until `done` runs. A write of at least 2 * write_split bytes is sent as
  // several SMB WRITEs in flight together and answered when all completed (all or nothing).
  // With `accept` and write-behind applying (see above), Write calls accept(src.size()) before it
  // sends anything: the caller may then tell the application the write succeeded; `done` still
  // runs at completion (src stays in use until then) and its error is kept for the open file.
  void Read(uint64_t fh, uint64_t offset, size_t length, ReadDone done);
  void Write(uint64_t fh, uint64_t offset, std::span<const uint8_t> src, IoDone done,
             const std::function<void(size_t)>& accept = nullptr);
  // Writes of `ino` answered early and still in flight (for tests).
  size_t writes_behind(uint64_t ino) const;
  // Memory Write's `src` will come from (the FUSE receive buffers), lent to the client so that
  // over SMB Direct the server reads WRITE data from it without a copy (smb3::Client::
  // RegisterIoMemory). Unregister only with no write from it in flight.
  smb3::Status RegisterIoMemory(std::span<uint8_t> memory) {
    return client_.RegisterIoMemory(memory);
  }
  void UnregisterIoMemory(std::span<uint8_t> memory) { client_.UnregisterIoMemory(memory); }
  smb3::Status Flush(uint64_t fh);
  smb3::Status Fsync(uint64_t fh);
  smb3::Status Release(uint64_t fh);
  smb3::Status Fallocate(uint64_t fh, int mode, uint64_t offset, uint64_t length);

  smb3::Result<uint64_t> OpenDir(uint64_t ino);
  // Calls `add` for entries from `offset` on until it returns false (buffer full) or the end.
  // With `plus`, every entry `add` accepted counts as a lookup (except "." and "..").
  smb3::Status ReadDir(uint64_t dh, uint64_t offset, bool plus,
                       const std::function<bool(const DirItem&)>& add);
  smb3::Status ReleaseDir(uint64_t dh);

  smb3::Result<struct statvfs> StatFs();

  // Closes every open handle on the server (unmount).
  void Shutdown();

  InodeTable& inodes() { return inodes_; }
  size_t open_files() const { return files_.size(); }

 private:
  struct stat MakeStat(uint64_t ino, const smb3::FileInfo& info) const;
  // Blocks until no write of `ino` answered early is in flight.
  void WaitWritesBehind(uint64_t ino);
  // Forgets the end offset of `ino`'s writes behind once none is in flight (it stays past the last
  // completion so that attributes asked for meanwhile are not presented short); with `new_size`
  // (a truncate) the end becomes that size instead.
  void ForgetWritesBehind(uint64_t ino, std::optional<uint64_t> new_size = std::nullopt);
  Entry MakeEntry(uint64_t ino, const smb3::FileInfo& info) const;
  uint32_t AccessFor(int flags) const;
  smb3::Status HideOpenFile(uint64_t ino, const std::string& path);
  smb3::Status ClearReadOnly(const std::string& path);
  smb3::Result<std::vector<smb3::DirEntry>> List(const std::string& path);
  smb3::Result<smb3::FileInfo> InfoByIno(uint64_t ino);

  // Directories this mount created (see "New directories" above).
  void NoteNewDir(const std::string& path, const smb3::FileInfo& info);
  void NoteName(uint64_t parent, std::string_view name);
  // After a CREATE in `parent` that returned `child` with `create_action`.
  void NoteCreated(uint64_t parent, uint32_t create_action, const smb3::FileInfo& child);
  // After any other change of the directory `dir` or of its entries.
  void NoteDirChanged(uint64_t dir);
  bool KnownAbsent(uint64_t parent, std::string_view name);
  std::optional<smb3::FileInfo> NewDirInfo(uint64_t ino);
  struct NewDir {
    std::chrono::steady_clock::time_point expires;
    std::unordered_set<std::string> names;  // created here since: always asked of the server
    std::optional<smb3::FileInfo> info;     // its attributes, while only creates changed it
  };
  // Calls f with the live record of directory `dir` under new_dirs_mu_ and returns its result;
  // without one (none, or expired: then dropped) returns a value-initialized result instead.
  template <typename F>
  auto WithNewDir(uint64_t dir, F f) -> decltype(f(std::declval<NewDir&>()));
  std::mutex new_dirs_mu_;
  std::unordered_map<std::string, NewDir> new_dirs_;

  smb3::Client& client_;
  FsOptions options_;
  mutable InodeTable inodes_;  // MakeStat records the attributes it presents
  HandleTable<OpenFileState> files_;
  HandleTable<OpenDirState> dirs_;
  std::atomic<bool> writeback_{false};
  // Write-behind bookkeeping per inode (see above).
  struct Behind {
    size_t writes = 0;  // answered early, not yet completed
    size_t bytes = 0;   // their bytes, against the window
    uint64_t end = 0;   // the furthest end offset written behind since the last ForgetWritesBehind
  };
  mutable std::mutex behind_mu_;
  std::condition_variable behind_cv_;
  std::unordered_map<uint64_t, Behind> behind_;
  std::atomic<size_t> behind_inodes_{0};  // behind_.size(), read without the lock
  std::atomic<uint64_t> hidden_counter_{0};
  std::atomic<bool> bad_names_logged_{false};
};

}  // namespace fuse_smbd
