// SPDX-License-Identifier: LGPL-2.1-or-later
// ListDirectory against a hostile server. A scripted SMB 3.0.2 server on a loopback TCP socket
// (anonymous NTLMSSP logon, no signing) answers the real smb3::Client; its QUERY_DIRECTORY answers
// are scripted by each test: a server that never says STATUS_NO_MORE_FILES (fresh names forever),
// one that repeats the same entries, one that answers success with nothing. The client must end
// each listing with a clear error and bounded memory instead of looping, and stay usable.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/scripted_tcp_server.h"

namespace smb3::test {
namespace {

// 100 fresh names per answer, named by the answer's number: never the same twice.
DirAnswer Fresh(uint64_t n) {
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("f" + std::to_string(n) + "_" + std::to_string(i));
  return {STATUS_SUCCESS, DirEntries(names)};
}

// The sane case first, so that the hostile ones fail for the reason they test: two answers of
// entries, then STATUS_NO_MORE_FILES.
TEST(ListDirectoryHostile, WellBehavedServerListsEverything) {
  ScriptedTcpServer s([](uint64_t n) {
    return n < 2 ? Fresh(n) : DirAnswer{STATUS_NO_MORE_FILES, {}};
  });
  auto c = ConnectAnonymous(s);
  ASSERT_TRUE(c);
  auto l = c->ListDirectory("dir");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->size(), 200u);
  EXPECT_EQ(l->front().name, "f0_0");
  EXPECT_EQ(l->back().name, "f1_99");
  EXPECT_EQ(s.query_directories(), 3u);
  EXPECT_EQ(s.closes(), 1u);
}

// A server that never ends the listing with fresh names: stopped at the per-listing entry cap
// (1,048,576) with kResourceExhausted, the directory handle closed, the client still usable.
TEST(ListDirectoryHostile, EndlessFreshEntriesStopAtTheEntryCap) {
  ScriptedTcpServer s(Fresh);
  auto c = ConnectAnonymous(s);
  ASSERT_TRUE(c);
  auto l = c->ListDirectory("dir");
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(l.status().Is(Code::kResourceExhausted)) << l.status().ToString();
  // 1,048,576 entries at 100 per answer: the cap trips within answer 10,486.
  EXPECT_EQ(s.query_directories(), (size_t{1} << 20) / 100 + 1);
  EXPECT_EQ(s.closes(), 1u);
  std::printf(
      "[ numbers ] endless listing stopped after %llu QUERY_DIRECTORY answers, %.1f MiB "
      "received: %s\n",
      static_cast<unsigned long long>(s.query_directories()),
      static_cast<double>(s.bytes_sent()) / (1 << 20), l.status().ToString().c_str());
  EXPECT_TRUE(c->Echo().ok());
}

// A server that restarts the scan on every continuation (the same entries again and again):
// kProtocol at the second identical answer.
TEST(ListDirectoryHostile, RepeatedEntriesAreRefused) {
  ScriptedTcpServer s([](uint64_t) { return Fresh(0); });
  auto c = ConnectAnonymous(s);
  ASSERT_TRUE(c);
  auto l = c->ListDirectory("dir");
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(l.status().Is(Code::kProtocol)) << l.status().ToString();
  EXPECT_EQ(s.query_directories(), 2u);
  EXPECT_EQ(s.closes(), 1u);
}

// STATUS_SUCCESS with an empty entry list, forever: kProtocol at the first.
TEST(ListDirectoryHostile, EmptySuccessIsRefused) {
  ScriptedTcpServer s([](uint64_t n) { return n == 0 ? Fresh(0) : DirAnswer{STATUS_SUCCESS, {}}; });
  auto c = ConnectAnonymous(s);
  ASSERT_TRUE(c);
  auto l = c->ListDirectory("dir");
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(l.status().Is(Code::kProtocol)) << l.status().ToString();
  EXPECT_EQ(s.query_directories(), 2u);
}

// Large entries forever (names of 255 characters, 2 answers never alike): stopped by the byte cap
// (256 MiB received) before the entry cap.
TEST(ListDirectoryHostile, EndlessLargeEntriesStopAtTheByteCap) {
  ScriptedTcpServer s([](uint64_t n) {
    std::vector<std::string> names;
    for (int i = 0; i < 100; ++i) {
      std::string name = "g" + std::to_string(n) + "_" + std::to_string(i) + "_";
      name.resize(255, 'x');
      names.push_back(std::move(name));
    }
    return DirAnswer{STATUS_SUCCESS, DirEntries(names)};
  });
  auto c = ConnectAnonymous(s);
  ASSERT_TRUE(c);
  auto l = c->ListDirectory("dir");
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(l.status().Is(Code::kResourceExhausted)) << l.status().ToString();
  EXPECT_NE(std::string(l.status().where()).find("256 MiB"), std::string::npos)
      << l.status().ToString();
  // Each answer: 100 entries of 104 + 510 bytes, padded to 616 (the last 614): 61,598 bytes.
  EXPECT_EQ(s.query_directories(), (uint64_t{256} << 20) / 61598 + 1);
  std::printf("[ numbers ] endless large listing stopped after %llu answers, %.1f MiB received\n",
              static_cast<unsigned long long>(s.query_directories()),
              static_cast<double>(s.bytes_sent()) / (1 << 20));
}

}  // namespace
}  // namespace smb3::test
