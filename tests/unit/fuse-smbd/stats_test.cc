// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "stats_socket.h"

namespace fuse_smbd {
namespace {

TEST(OpStats, BucketsBoundValues) {
  for (uint64_t v : {0ull, 1ull, 7ull, 8ull, 9ull, 15ull, 16ull, 1000ull, 123456ull, 1ull << 40}) {
    const int b = OpStats::BucketOf(v);
    EXPECT_GE(OpStats::BucketUpper(b), v) << v;
    if (b > 0) {
      EXPECT_LT(OpStats::BucketUpper(b - 1), v) << v;
    }
  }
}

TEST(OpStats, Percentiles) {
  OpStats s;
  for (int i = 1; i <= 100; ++i) s.Record(Op::kRead, static_cast<uint64_t>(i) * 1000, 4096, false);
  s.Record(Op::kRead, 5000, 0, true);
  const auto snap = s.Snapshot(Op::kRead);
  EXPECT_EQ(snap.count, 101u);
  EXPECT_EQ(snap.errors, 1u);
  EXPECT_EQ(snap.bytes, 100u * 4096);
  EXPECT_EQ(snap.max_ns, 100000u);
  EXPECT_NEAR(static_cast<double>(snap.p50_ns), 50000, 50000 * 0.1);
  EXPECT_NEAR(static_cast<double>(snap.p99_ns), 99000, 99000 * 0.1);
  EXPECT_EQ(s.Snapshot(Op::kWrite).count, 0u);
}

TEST(StatsRender, TextAndJson) {
  OpStats s;
  s.Record(Op::kWrite, 2000, 1 << 20, false);
  StatsReport r;
  r.mountpoint = "/mnt/x";
  r.source = "//srv/\"share\"";
  r.backend = "smb";
  r.client.credits_held = 128;
  const std::string text = RenderStatsText(r, s);
  EXPECT_NE(text.find("write"), std::string::npos);
  EXPECT_NE(text.find("credits 128"), std::string::npos);
  const std::string json = RenderStatsJson(r, s);
  EXPECT_NE(json.find("\"credits_held\":128"), std::string::npos);
  EXPECT_NE(json.find("\\\"share\\\""), std::string::npos);
  EXPECT_NE(json.find("\"write\":{\"count\":1"), std::string::npos);
}

// Every ClientStats field reaches both renderings.
TEST(StatsRender, EveryClientCounter) {
  OpStats s;
  StatsReport r;
  auto& k = r.client;
  k.requests = 1001;
  k.responses = 1002;
  k.bytes_read = 1003;
  k.bytes_written = 1004;
  k.reads = 1005;
  k.writes = 1006;
  k.credit_stalls = 1007;
  k.pending_interims = 1008;
  k.reconnects = 1009;
  k.signed_messages = 1010;
  k.encrypted_messages = 1011;
  k.credits_held = 1012;
  k.bytes_rdma_read = 1013;
  k.bytes_rdma_write = 1014;
  k.bytes_inline = 1015;
  k.rdma_data_path = "inline: signing required";
  k.rdma_mechanism = "memory window";
  k.rdma_reads = 1016;
  k.rdma_writes = 1017;
  k.rdma_acquire_exhausted = 1018;
  k.rdma_windows_bound = 1019;
  k.rdma_windows_invalidated_remote = 1020;
  k.rdma_windows_invalidated_local = 1021;
  k.rdma_bind_failures = 1022;
  k.rdma_acquire_waits = 1023;
  k.rdma_acquire_wait_us = 1024;
  k.bytes_copied_rdma = 1025;
  k.reopened_by_path = 1026;
  const std::string json = RenderStatsJson(r, s);
  for (const char* key :
       {"\"requests\":1001", "\"responses\":1002", "\"bytes_read\":1003", "\"bytes_written\":1004",
        "\"reads\":1005", "\"writes\":1006", "\"credit_stalls\":1007", "\"pending_interims\":1008",
        "\"reconnects\":1009", "\"signed_messages\":1010", "\"encrypted_messages\":1011",
        "\"credits_held\":1012", "\"bytes_rdma_read\":1013", "\"bytes_rdma_write\":1014",
        "\"bytes_inline\":1015", "\"rdma_data_path\":\"inline: signing required\"",
        "\"rdma_mechanism\":\"memory window\"", "\"rdma_reads\":1016", "\"rdma_writes\":1017",
        "\"rdma_acquire_exhausted\":1018", "\"rdma_windows_bound\":1019",
        "\"rdma_windows_invalidated_remote\":1020", "\"rdma_windows_invalidated_local\":1021",
        "\"rdma_bind_failures\":1022", "\"rdma_acquire_waits\":1023",
        "\"rdma_acquire_wait_us\":1024", "\"bytes_copied_rdma\":1025",
        "\"reopened_by_path\":1026"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
  const std::string text = RenderStatsText(r, s);
  for (const char* part :
       {"requests 1001", "responses 1002", "reads 1005", "writes 1006", "credit stalls 1007",
        "pending interims 1008", "reconnects 1009", "signed 1010", "encrypted 1011", "credits 1012",
        "data path inline: signing required, memory window", "rdma reads 1016", "rdma writes 1017",
        "buffers exhausted 1018", "windows bound 1019", "invalidated by server 1020", "by us 1021",
        "bind failures 1022", "rdma buffer waits 1023 (1024 us)",
        "file data copied on the RDMA path 1.0 KiB", "opens re-opened by path 1026"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part;
  }
}

TEST(StatsSocket, ServesTheDaemonReport) {
  const std::string path = "/tmp/fuse-smbd-stats-test-" + std::to_string(getpid()) + ".sock";
  StatsServer server;
  ASSERT_TRUE(server.Start(path, [](bool json) { return json ? std::string("{}") : "table"; }).ok());
  auto text = QueryStats(path, false);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "table");
  EXPECT_EQ(*QueryStats(path, true), "{}");
  server.Stop();
  EXPECT_FALSE(QueryStats(path, false).ok());
  EXPECT_NE(StatsSocketPath("/a"), StatsSocketPath("/b"));
}

}  // namespace
}  // namespace fuse_smbd
