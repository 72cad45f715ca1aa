// SPDX-License-Identifier: LGPL-2.1-or-later
// InodeTable: the kernel's inode numbers and the share paths they stand for.
//
// SMB addresses files by path; FUSE by inode number. Every inode the kernel knows carries a lookup
// count (incremented by each entry reply, decremented by FORGET) and its current path; the table
// keeps path -> inode so a second lookup of the same name returns the same number. Inode numbers are
// the server's 64-bit file id where the share gives one (stable across mounts, as `ls -i` users
// expect), else a synthetic number with the top bit set. Renames move a whole subtree's paths;
// unlink detaches the name (the inode lives on until FORGET). The root is inode 1, never forgotten.
//
// Thread-safe: one mutex; no method calls out while holding it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "smb3/status.h"
#include "smb3/types.h"

namespace fuse_smbd {

class InodeTable {
 public:
  static constexpr uint64_t kRootIno = 1;

  // `root_path` is the share-relative directory mounted as the root ("" = share root).
  InodeTable(std::string root_path, bool use_server_ino);

  // Path of the entry `name` in directory `parent`. ENOENT (as Status::Errno) if parent is unknown
  // or detached, ESTALE if it was replaced by another file.
  smb3::Result<std::string> ChildPath(uint64_t parent, std::string_view name) const;
  smb3::Result<std::string> Path(uint64_t ino) const;
  // The inode number of `path`'s parent directory if known, else the root.
  uint64_t ParentIno(uint64_t ino) const;

  // Records an entry reply for `path` with `info`: returns its inode number and adds 1 to its
  // lookup count. A path already known with a different non-zero file id is a new file (the old
  // inode is detached).
  uint64_t Lookup(const std::string& path, const smb3::FileInfo& info);
  // Inode number of `path` if the kernel knows it (no count change).
  std::optional<uint64_t> Find(const std::string& path) const;
  // Subtracts `count` lookups; the inode is dropped at zero (never the root).
  void Forget(uint64_t ino, uint64_t count);

  // `from` (and everything below it) is now at `to`; an inode previously at `to` is detached.
  void Renamed(const std::string& from, const std::string& to);
  // The name `path` is gone; its inode stays (open files, lookup count) but has no path any more.
  void Unlinked(const std::string& path);
  // `ino` was moved to the hidden name `hidden` (an unlinked file still open): detached from its old
  // name but still reachable through `hidden` for operations by inode.
  void Hidden(uint64_t ino, const std::string& hidden);

  // Open-file accounting (decides whether unlink must keep the file alive).
  void AddOpen(uint64_t ino);
  void ReleaseOpen(uint64_t ino);
  int OpenCount(uint64_t ino) const;
  bool IsDirectory(uint64_t ino) const;
  bool IsUnlinked(uint64_t ino) const;

  // Last size/mtime seen for `ino` (cache=strict keeps page cache only when they are unchanged).
  // Returns whether the previous values matched and stores the new ones.
  bool UpdateVersion(uint64_t ino, uint64_t size, uint64_t mtime);

  // The attributes last seen for `ino` and when; RecentInfo returns them if younger than max_age_s
  // and no write changed the file's data since (unless `even_after_writes`).
  void RememberInfo(uint64_t ino, const smb3::FileInfo& info);
  std::optional<smb3::FileInfo> RecentInfo(uint64_t ino, double max_age_s,
                                           bool even_after_writes = false) const;
  // A write to `ino` was sent or completed: size and times on the server may differ from those
  // remembered.
  void DataChanged(uint64_t ino);

  size_t size() const;
  uint64_t LookupCount(uint64_t ino) const;  // 0 if unknown (for tests and stats)

 private:
  struct Inode {
    std::string path;
    uint64_t file_id = 0;
    uint64_t nlookup = 0;
    int open_count = 0;
    bool is_dir = false;
    bool attached = true;  // `path` maps back to this inode
    bool unlinked = false;
    bool hidden = false;   // unlinked while open: `path` is the hidden name
    uint64_t seen_size = UINT64_MAX;
    uint64_t seen_mtime = UINT64_MAX;
    smb3::FileInfo info;
    std::chrono::steady_clock::time_point info_time{};
    bool has_info = false;
    bool info_stale = false;  // DataChanged since RememberInfo
  };

  uint64_t NewInoLocked(uint64_t file_id);
  void DetachLocked(const std::string& path);
  void MaybeDropLocked(uint64_t ino);

  mutable std::mutex mu_;
  bool use_server_ino_;
  uint64_t next_synthetic_ = 1;
  std::unordered_map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t> by_path_;  // ordered: a subtree is one key range
};

// "a/b" + "c" = "a/b/c"; "" + "c" = "c".
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace fuse_smbd
