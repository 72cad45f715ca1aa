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
  EXPECT_NE(json.find("\"credits\":128"), std::string::npos);
  EXPECT_NE(json.find("\\\"share\\\""), std::string::npos);
  EXPECT_NE(json.find("\"write\":{\"count\":1"), std::string::npos);
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
