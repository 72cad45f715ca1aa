// SPDX-License-Identifier: LGPL-2.1-or-later
// Per-operation counters of the daemon: count, errors, bytes and a latency histogram per FUSE
// operation, rendered for `fuse-smbd stats` as a table or JSON together with the client's counters
// (credits, transport).
//
// Record is lock-free (relaxed atomics) and may be called from any thread. Latency buckets are
// logarithmic with 8 steps per power of two, so a percentile is exact to within 9 %.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "smb3/types.h"

namespace fuse_smbd {

enum class Op : uint8_t {
  kLookup, kForget, kGetattr, kSetattr, kMknod, kMkdir, kUnlink, kRmdir, kRename, kOpen, kCreate,
  kRead, kWrite, kFlush, kRelease, kFsync, kOpendir, kReaddir, kReaddirplus, kReleasedir,
  kFsyncdir, kStatfs, kFallocate, kCount
};
const char* OpName(Op op);

class OpStats {
 public:
  static constexpr int kBuckets = 64 * 8;

  void Record(Op op, uint64_t latency_ns, uint64_t bytes, bool error);
  // A write answered before the server stored it (cache=strict write-behind).
  void CountWriteBehind() { writes_behind_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t writes_behind() const { return writes_behind_.load(std::memory_order_relaxed); }

  struct OpSnapshot {
    uint64_t count = 0, errors = 0, bytes = 0;
    uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0, max_ns = 0;
    uint64_t total_ns = 0;
  };
  OpSnapshot Snapshot(Op op) const;

  static int BucketOf(uint64_t ns);
  static uint64_t BucketUpper(int bucket);

 private:
  struct PerOp {
    std::atomic<uint64_t> count{0}, errors{0}, bytes{0}, total_ns{0}, max_ns{0};
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};
  };
  std::array<PerOp, static_cast<size_t>(Op::kCount)> ops_{};
  std::atomic<uint64_t> writes_behind_{0};
};

// Everything `fuse-smbd stats` shows.
struct StatsReport {
  std::string mountpoint;
  std::string source;
  std::string backend;
  std::string options;  // DescribeConfig (no password)
  double uptime_s = 0;
  uint64_t inodes = 0;
  uint64_t open_files = 0;
  uint64_t in_flight = 0;  // asynchronous reads/writes not yet answered
  smb3::ConnectionInfo connection;
  smb3::ClientStats client;
};

std::string RenderStatsText(const StatsReport& report, const OpStats& ops);
std::string RenderStatsJson(const StatsReport& report, const OpStats& ops);

}  // namespace fuse_smbd
