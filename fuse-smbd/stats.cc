// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stats.h"

#include <bit>
#include <cinttypes>
#include <cstdio>

#include "smb3/json.h"

namespace fuse_smbd {
namespace {

constexpr const char* kOpNames[] = {
    "lookup", "forget",  "getattr", "setattr",  "mknod",       "mkdir",      "unlink",
    "rmdir",  "rename",  "open",    "create",   "read",        "write",      "flush",
    "release", "fsync",  "opendir", "readdir",  "readdirplus", "releasedir", "fsyncdir",
    "statfs", "fallocate"};
static_assert(std::size(kOpNames) == static_cast<size_t>(Op::kCount));


std::string Us(uint64_t ns) {
  char b[32];
  if (ns >= 10'000'000) {
    snprintf(b, sizeof b, "%.0f ms", static_cast<double>(ns) / 1e6);
  } else if (ns >= 10'000) {
    snprintf(b, sizeof b, "%.0f us", static_cast<double>(ns) / 1e3);
  } else {
    snprintf(b, sizeof b, "%.1f us", static_cast<double>(ns) / 1e3);
  }
  return b;
}

std::string Bytes(uint64_t n) {
  char b[32];
  if (n >= (1ULL << 30)) {
    snprintf(b, sizeof b, "%.2f GiB", static_cast<double>(n) / (1ULL << 30));
  } else if (n >= (1ULL << 20)) {
    snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(n) / (1ULL << 20));
  } else if (n >= 1024) {
    snprintf(b, sizeof b, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    snprintf(b, sizeof b, "%" PRIu64 " B", n);
  }
  return b;
}

const char* Dialect(uint16_t d) {
  switch (d) {
    case 0x0300: return "3.0";
    case 0x0302: return "3.0.2";
    case 0x0311: return "3.1.1";
    default: return "-";
  }
}

}  // namespace

const char* OpName(Op op) { return kOpNames[static_cast<size_t>(op)]; }

int OpStats::BucketOf(uint64_t ns) {
  if (ns < 8) return static_cast<int>(ns);
  const int log = 63 - std::countl_zero(ns);          // >= 3
  const int sub = static_cast<int>((ns >> (log - 3)) & 7);  // next 3 bits
  return (log - 2) * 8 + sub;
}

uint64_t OpStats::BucketUpper(int bucket) {
  if (bucket < 8) return static_cast<uint64_t>(bucket);
  const int log = bucket / 8 + 2;
  const uint64_t sub = static_cast<uint64_t>(bucket % 8);
  if (log >= 63) return UINT64_MAX;
  return ((8 + sub + 1) << (log - 3)) - 1;
}

void OpStats::Record(Op op, uint64_t latency_ns, uint64_t bytes, bool error) {
  PerOp& p = ops_[static_cast<size_t>(op)];
  p.count.fetch_add(1, std::memory_order_relaxed);
  if (error) p.errors.fetch_add(1, std::memory_order_relaxed);
  p.bytes.fetch_add(bytes, std::memory_order_relaxed);
  p.total_ns.fetch_add(latency_ns, std::memory_order_relaxed);
  uint64_t prev = p.max_ns.load(std::memory_order_relaxed);
  while (latency_ns > prev &&
         !p.max_ns.compare_exchange_weak(prev, latency_ns, std::memory_order_relaxed)) {
  }
  const int b = BucketOf(latency_ns);
  p.buckets[static_cast<size_t>(b < kBuckets ? b : kBuckets - 1)].fetch_add(
      1, std::memory_order_relaxed);
}

OpStats::OpSnapshot OpStats::Snapshot(Op op) const {
  const PerOp& p = ops_[static_cast<size_t>(op)];
  OpSnapshot s;
  s.count = p.count.load(std::memory_order_relaxed);
  s.errors = p.errors.load(std::memory_order_relaxed);
  s.bytes = p.bytes.load(std::memory_order_relaxed);
  s.total_ns = p.total_ns.load(std::memory_order_relaxed);
  s.max_ns = p.max_ns.load(std::memory_order_relaxed);
  std::array<uint64_t, kBuckets> counts{};
  uint64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    counts[static_cast<size_t>(i)] = p.buckets[static_cast<size_t>(i)].load(std::memory_order_relaxed);
    total += counts[static_cast<size_t>(i)];
  }
  auto percentile = [&](double q) -> uint64_t {
    if (total == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts[static_cast<size_t>(i)];
      if (seen >= rank) return std::min(BucketUpper(i), s.max_ns);
    }
    return s.max_ns;
  };
  s.p50_ns = percentile(0.50);
  s.p90_ns = percentile(0.90);
  s.p99_ns = percentile(0.99);
  return s;
}

std::string RenderStatsText(const StatsReport& r, const OpStats& ops) {
  std::string out;
  char line[512];
  snprintf(line, sizeof line, "%s on %s (backend %s), up %.0f s\n", r.source.c_str(),
           r.mountpoint.c_str(), r.backend.c_str(), r.uptime_s);
  out += line;
  const auto& c = r.connection;
  snprintf(line, sizeof line,
           "transport %s (%s), dialect %s, signing %s, cipher %s, max read/write %u/%u\n",
           c.transport == smb3::TransportKind::kSmbDirect ? "SMB Direct" : "TCP",
           c.transport_reason.empty() ? "-" : c.transport_reason.c_str(), Dialect(c.dialect),
           c.signing.empty() ? "-" : c.signing.c_str(), c.cipher.empty() ? "-" : c.cipher.c_str(),
           c.max_read_size, c.max_write_size);
  out += line;
  const auto& k = r.client;
  snprintf(line, sizeof line,
           "credits %u, requests %" PRIu64 ", credit stalls %" PRIu64 ", reconnects %" PRIu64
           " (opens re-opened by path %" PRIu64 "), read %s, written %s\n",
           k.credits_held, k.requests, k.credit_stalls, k.reconnects, k.reopened_by_path,
           Bytes(k.bytes_read).c_str(), Bytes(k.bytes_written).c_str());
  out += line;
  snprintf(line, sizeof line,
           "responses %" PRIu64 ", reads %" PRIu64 ", writes %" PRIu64 ", pending interims %" PRIu64
           ", signed %" PRIu64 ", encrypted %" PRIu64 "\n",
           k.responses, k.reads, k.writes, k.pending_interims, k.signed_messages,
           k.encrypted_messages);
  out += line;
  snprintf(line, sizeof line,
           "data path %s%s%s, inline %s, RDMA read by server %s, RDMA written by server %s\n",
           k.rdma_data_path.c_str(), k.rdma_mechanism.empty() ? "" : ", ",
           k.rdma_mechanism.c_str(), Bytes(k.bytes_inline).c_str(),
           Bytes(k.bytes_rdma_read).c_str(), Bytes(k.bytes_rdma_write).c_str());
  out += line;
  snprintf(line, sizeof line,
           "rdma reads %" PRIu64 ", rdma writes %" PRIu64 ", buffers exhausted %" PRIu64
           ", windows bound %" PRIu64 ", invalidated by server %" PRIu64 ", by us %" PRIu64
           ", bind failures %" PRIu64 "\n",
           k.rdma_reads, k.rdma_writes, k.rdma_acquire_exhausted, k.rdma_windows_bound,
           k.rdma_windows_invalidated_remote, k.rdma_windows_invalidated_local,
           k.rdma_bind_failures);
  out += line;
  snprintf(line, sizeof line,
           "rdma buffer waits %" PRIu64 " (%" PRIu64 " us), file data copied on the RDMA path %s\n",
           k.rdma_acquire_waits, k.rdma_acquire_wait_us, Bytes(k.bytes_copied_rdma).c_str());
  out += line;
  snprintf(line, sizeof line,
           "inodes %" PRIu64 ", open files %" PRIu64 ", in flight %" PRIu64
           ", writes answered before stored (write-behind) %" PRIu64 "\n\n",
           r.inodes, r.open_files, r.in_flight, ops.writes_behind());
  out += line;
  snprintf(line, sizeof line, "%-12s %10s %8s %12s %10s %10s %10s %10s\n", "op", "count", "errors",
           "bytes", "p50", "p90", "p99", "max");
  out += line;
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const auto s = ops.Snapshot(static_cast<Op>(i));
    if (s.count == 0) continue;
    snprintf(line, sizeof line, "%-12s %10" PRIu64 " %8" PRIu64 " %12s %10s %10s %10s %10s\n",
             kOpNames[i], s.count, s.errors, s.bytes ? Bytes(s.bytes).c_str() : "-",
             Us(s.p50_ns).c_str(), Us(s.p90_ns).c_str(), Us(s.p99_ns).c_str(),
             Us(s.max_ns).c_str());
    out += line;
  }
  return out;
}

std::string RenderStatsJson(const StatsReport& r, const OpStats& ops) {
  std::string out = "{";
  char b[1024];
  snprintf(b, sizeof b,
           "\"mountpoint\":\"%s\",\"source\":\"%s\",\"backend\":\"%s\",\"options\":\"%s\","
           "\"uptime_s\":%.3f,\"inodes\":%" PRIu64 ",\"open_files\":%" PRIu64
           ",\"in_flight\":%" PRIu64 ",\"writes_behind\":%" PRIu64 ",",
           smb3::JsonEscape(r.mountpoint).c_str(), smb3::JsonEscape(r.source).c_str(),
           smb3::JsonEscape(r.backend).c_str(), smb3::JsonEscape(r.options).c_str(), r.uptime_s, r.inodes,
           r.open_files, r.in_flight, ops.writes_behind());
  out += b;
  const auto& c = r.connection;
  snprintf(b, sizeof b,
           "\"transport\":{\"kind\":\"%s\",\"reason\":\"%s\",\"server\":\"%s\",\"port\":%u,"
           "\"dialect\":\"%s\",\"signing\":\"%s\",\"cipher\":\"%s\",\"max_read\":%u,"
           "\"max_write\":%u},",
           c.transport == smb3::TransportKind::kSmbDirect ? "smbdirect" : "tcp",
           smb3::JsonEscape(c.transport_reason).c_str(), smb3::JsonEscape(c.server).c_str(), c.port,
           Dialect(c.dialect), smb3::JsonEscape(c.signing).c_str(), smb3::JsonEscape(c.cipher).c_str(),
           c.max_read_size, c.max_write_size);
  out += b;
  out += "\"client\":" + smb3::ClientStatsJson(r.client) + ",";
  out += "\"ops\":{";
  bool first = true;
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const auto s = ops.Snapshot(static_cast<Op>(i));
    snprintf(b, sizeof b,
             "%s\"%s\":{\"count\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"bytes\":%" PRIu64
             ",\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f}",
             first ? "" : ",", kOpNames[i], s.count, s.errors, s.bytes,
             static_cast<double>(s.p50_ns) / 1e3, static_cast<double>(s.p90_ns) / 1e3,
             static_cast<double>(s.p99_ns) / 1e3, static_cast<double>(s.max_ns) / 1e3,
             s.count ? static_cast<double>(s.total_ns) / 1e3 / static_cast<double>(s.count) : 0.0);
    out += b;
    first = false;
  }
  out += "}}\n";
  return out;
}

}  // namespace fuse_smbd
