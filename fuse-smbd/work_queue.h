// SPDX-License-Identifier: LGPL-2.1-or-later
// WorkQueue: a few threads that run the blocking metadata calls (open, lookup, rename...) so the
// single-threaded FUSE request loop keeps dispatching reads and writes, which complete
// asynchronously on the client's connection thread. With zero threads, Post runs the task at once
// on the caller's thread (the memory backend, where every call is a few microseconds).
//
// Thread-safe. The destructor runs every task already posted, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fuse_smbd {

class WorkQueue {
 public:
  explicit WorkQueue(unsigned threads);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Post(std::function<void()> task);
  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fuse_smbd
