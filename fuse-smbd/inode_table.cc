// SPDX-License-Identifier: LGPL-2.1-or-later
#include "inode_table.h"

#include <cerrno>
#include <vector>

namespace fuse_smbd {
namespace {
constexpr uint64_t kSyntheticBit = 1ULL << 63;
}  // namespace

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir);
  if (!dir.empty()) out.push_back('/');
  out.append(name);
  return out;
}

InodeTable::InodeTable(std::string root_path, bool use_server_ino)
    : use_server_ino_(use_server_ino) {
  Inode root;
  root.path = std::move(root_path);
  root.is_dir = true;
  root.nlookup = 1;
  by_path_[root.path] = kRootIno;
  inodes_.emplace(kRootIno, std::move(root));
}

smb3::Result<std::string> InodeTable::Path(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return smb3::Status::Errno(ESTALE, "InodeTable::Path");
  // A replaced or unlinked inode has no name, unless it was hidden while open.
  if (!it->second.attached && !it->second.hidden) {
    return smb3::Status::Errno(ESTALE, "InodeTable::Path");
  }
  return it->second.path;
}

smb3::Result<std::string> InodeTable::ChildPath(uint64_t parent, std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(parent);
  if (it == inodes_.end() || !it->second.attached) {
    return smb3::Status::Errno(ENOENT, "InodeTable::ChildPath");
  }
  if (!it->second.is_dir) return smb3::Status::Errno(ENOTDIR, "InodeTable::ChildPath");
  return JoinPath(it->second.path, name);
}

uint64_t InodeTable::ParentIno(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end() || ino == kRootIno) return kRootIno;
  const std::string& p = it->second.path;
  const size_t slash = p.rfind('/');
  const std::string parent = slash == std::string::npos ? std::string() : p.substr(0, slash);
  auto pit = by_path_.find(parent);
  return pit == by_path_.end() ? kRootIno : pit->second;
}

uint64_t InodeTable::NewInoLocked(uint64_t file_id) {
  if (use_server_ino_ && file_id > kRootIno && (file_id & kSyntheticBit) == 0 &&
      inodes_.find(file_id) == inodes_.end()) {
    return file_id;
  }
  uint64_t ino;
  do {
    ino = kSyntheticBit | next_synthetic_++;
  } while (inodes_.find(ino) != inodes_.end());
  return ino;
}

void InodeTable::DetachLocked(const std::string& path) {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  const uint64_t ino = it->second;
  by_path_.erase(it);
  auto inode = inodes_.find(ino);
  if (inode != inodes_.end()) {
    inode->second.attached = false;
    MaybeDropLocked(ino);
  }
}

void InodeTable::MaybeDropLocked(uint64_t ino) {
  if (ino == kRootIno) return;
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  if (it->second.nlookup == 0 && it->second.open_count == 0) {
    if (it->second.attached) {
      auto p = by_path_.find(it->second.path);
      if (p != by_path_.end() && p->second == ino) by_path_.erase(p);
    }
    inodes_.erase(it);
  }
}

uint64_t InodeTable::Lookup(const std::string& path, const smb3::FileInfo& info) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {
    Inode& inode = inodes_.at(it->second);
    const bool replaced = it->second != kRootIno && info.file_id != 0 && inode.file_id != 0 &&
                          info.file_id != inode.file_id;
    const bool kind_changed = it->second != kRootIno && inode.is_dir != info.is_directory();
    if (!replaced && !kind_changed) {
      if (inode.file_id == 0) inode.file_id = info.file_id;
      ++inode.nlookup;
      return it->second;
    }
    DetachLocked(path);
  }
  // The same file under a new name (renamed by another client): move the inode.
  if (use_server_ino_ && info.file_id > kRootIno) {
    auto same = inodes_.find(info.file_id);
    if (same != inodes_.end() && same->second.file_id == info.file_id &&
        same->second.is_dir == info.is_directory() && !same->second.unlinked &&
        info.nlink <= 1) {
      if (same->second.attached) {
        auto old = by_path_.find(same->second.path);
        if (old != by_path_.end() && old->second == info.file_id) by_path_.erase(old);
      }
      same->second.path = path;
      same->second.attached = true;
      ++same->second.nlookup;
      by_path_[path] = info.file_id;
      return info.file_id;
    }
  }
  const uint64_t ino = NewInoLocked(info.file_id);
  Inode inode;
  inode.path = path;
  inode.file_id = info.file_id;
  inode.is_dir = info.is_directory();
  inode.nlookup = 1;
  inodes_.emplace(ino, std::move(inode));
  by_path_[path] = ino;
  return ino;
}

std::optional<uint64_t> InodeTable::Find(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

void InodeTable::Forget(uint64_t ino, uint64_t count) {
  std::lock_guard lock(mu_);
  if (ino == kRootIno) return;
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  it->second.nlookup = count >= it->second.nlookup ? 0 : it->second.nlookup - count;
  MaybeDropLocked(ino);
}

void InodeTable::Renamed(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  if (from == to) return;
  // The replaced target (and anything below it, for an empty directory there is nothing).
  if (by_path_.count(to) != 0) DetachLocked(to);
  std::vector<std::pair<std::string, uint64_t>> moved;
  if (auto it = by_path_.find(from); it != by_path_.end()) {
    moved.emplace_back(to, it->second);
    by_path_.erase(it);
  }
  const std::string prefix = from + "/";
  for (auto it = by_path_.lower_bound(prefix);
       it != by_path_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    moved.emplace_back(to + "/" + it->first.substr(prefix.size()), it->second);
    it = by_path_.erase(it);
  }
  for (auto& [path, ino] : moved) {
    auto inode = inodes_.find(ino);
    if (inode != inodes_.end()) inode->second.path = path;
    if (auto existing = by_path_.find(path); existing != by_path_.end() && existing->second != ino) {
      auto old = inodes_.find(existing->second);
      if (old != inodes_.end()) old->second.attached = false;
    }
    by_path_[path] = ino;
  }
}

void InodeTable::Unlinked(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  auto inode = inodes_.find(it->second);
  if (inode != inodes_.end()) inode->second.unlinked = true;
  DetachLocked(path);
}

void InodeTable::Hidden(uint64_t ino, const std::string& hidden) {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  if (it->second.attached) {
    auto p = by_path_.find(it->second.path);
    if (p != by_path_.end() && p->second == ino) by_path_.erase(p);
  }
  it->second.path = hidden;
  it->second.attached = false;
  it->second.unlinked = true;
  it->second.hidden = true;
}

void InodeTable::AddOpen(uint64_t ino) {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) ++it->second.open_count;
}

void InodeTable::ReleaseOpen(uint64_t ino) {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  if (it->second.open_count > 0) --it->second.open_count;
  MaybeDropLocked(ino);
}

int InodeTable::OpenCount(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? 0 : it->second.open_count;
}

bool InodeTable::IsDirectory(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  return it != inodes_.end() && it->second.is_dir;
}

bool InodeTable::IsUnlinked(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  return it != inodes_.end() && it->second.unlinked;
}

bool InodeTable::UpdateVersion(uint64_t ino, uint64_t size, uint64_t mtime) {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return false;
  const bool same = it->second.seen_size == size && it->second.seen_mtime == mtime;
  it->second.seen_size = size;
  it->second.seen_mtime = mtime;
  return same;
}

void InodeTable::RememberInfo(uint64_t ino, const smb3::FileInfo& info) {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  it->second.info = info;
  it->second.info_time = std::chrono::steady_clock::now();
  it->second.has_info = true;
  it->second.info_stale = false;
}

void InodeTable::DataChanged(uint64_t ino) {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) it->second.info_stale = true;
}

std::optional<smb3::FileInfo> InodeTable::RecentInfo(uint64_t ino, double max_age_s,
                                                     bool even_after_writes) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end() || !it->second.has_info) return std::nullopt;
  if (it->second.info_stale && !even_after_writes) return std::nullopt;
  const std::chrono::duration<double> age = std::chrono::steady_clock::now() - it->second.info_time;
  if (age.count() > max_age_s) return std::nullopt;
  return it->second.info;
}

size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return inodes_.size();
}

uint64_t InodeTable::LookupCount(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? 0 : it->second.nlookup;
}

}  // namespace fuse_smbd
