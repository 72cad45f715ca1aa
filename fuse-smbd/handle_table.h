// SPDX-License-Identifier: LGPL-2.1-or-later
// HandleTable: FUSE file handles (fuse_file_info::fh) -> our per-open state.
//
// The kernel gets a small number; the state is reference-counted so an asynchronous read or write
// keeps it alive even if RELEASE overtakes its completion. Thread-safe (one mutex; the lookups are
// short).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "smb3/client.h"

namespace fuse_smbd {

// One open regular file.
struct OpenFileState {
  smb3::FileHandle file;
  uint64_t ino = 0;
  bool writable = false;
  bool append = false;  // O_APPEND without the writeback cache: we place each write at EOF
  // The first failure of a write the application could not see yet (writeback or an asynchronous
  // write): reported by the next FLUSH or FSYNC, so close() and fsync() return it.
  std::atomic<int> deferred_error{0};
};

// One open directory: a snapshot of its entries taken at OPENDIR (and at a rewind).
struct OpenDirState {
  uint64_t ino = 0;
  std::string path;
  std::mutex mu;
  std::vector<smb3::DirEntry> entries;
  bool consumed = false;  // a READDIR past offset 0 happened; a later offset 0 refreshes
};

template <class State>
class HandleTable {
 public:
  uint64_t Insert(std::shared_ptr<State> state) {
    std::lock_guard lock(mu_);
    const uint64_t fh = next_++;
    map_.emplace(fh, std::move(state));
    return fh;
  }
  std::shared_ptr<State> Get(uint64_t fh) const {
    std::lock_guard lock(mu_);
    auto it = map_.find(fh);
    return it == map_.end() ? nullptr : it->second;
  }
  std::shared_ptr<State> Remove(uint64_t fh) {
    std::lock_guard lock(mu_);
    auto it = map_.find(fh);
    if (it == map_.end()) return nullptr;
    auto state = std::move(it->second);
    map_.erase(it);
    return state;
  }
  // Every state whose `ino` matches (for operations on an open-unlinked file by inode).
  std::shared_ptr<State> FindByIno(uint64_t ino) const {
    std::lock_guard lock(mu_);
    for (const auto& [fh, state] : map_) {
      if (state->ino == ino) return state;
    }
    return nullptr;
  }
  // A state with `ino` for which `preferred(state)` holds if there is one, else any with `ino`.
  template <class Pred>
  std::shared_ptr<State> FindByIno(uint64_t ino, Pred preferred) const {
    std::lock_guard lock(mu_);
    std::shared_ptr<State> any;
    for (const auto& [fh, state] : map_) {
      if (state->ino != ino) continue;
      if (preferred(*state)) return state;
      if (!any) any = state;
    }
    return any;
  }
  std::vector<std::shared_ptr<State>> TakeAll() {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<State>> all;
    all.reserve(map_.size());
    for (auto& [fh, state] : map_) all.push_back(std::move(state));
    map_.clear();
    return all;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return map_.size();
  }

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<State>> map_;
};

}  // namespace fuse_smbd
