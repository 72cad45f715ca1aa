// SPDX-License-Identifier: LGPL-2.1-or-later
// A durable CREATE whose response is lost with the connection ([MS-SMB2] 3.2.7.1): after the
// reconnect the client sends it again with the same CreateGuid and SMB2_FLAGS_REPLAY_OPERATION,
// and a server that keeps its replay state ([MS-SMB2] 3.3.5.9.10) answers it from the open the
// first attempt made. Against tests/sim/scripted_tcp_server.h, which drops the connection instead
// of answering the first CREATE and checks the replay. (Samba 4.17 does not recognise such a
// replay from a new session: tests/integration/samba/reconnect_test.cc.)
#include <gtest/gtest.h>

#include <array>
#include <mutex>
#include <optional>
#include <vector>

#include "sim/scripted_tcp_server.h"

namespace smb3::test {
namespace {

using namespace std::chrono_literals;

struct SeenCreate {
  bool replay_flag = false;
  std::optional<std::array<uint8_t, 16>> create_guid;
};

OpenOptions CreateNew() {
  OpenOptions o;
  o.desired_access =
      kAccessReadData | kAccessWriteData | kAccessReadAttributes | kAccessSynchronize;
  o.disposition = Disposition::kCreate;
  o.kind = FileKind::kFile;
  return o;
}

// The first CREATE executes (the scripted server "creates" the file) but its answer is lost: the
// server closes the connection. The replay must carry the flag and the first CreateGuid; it is
// answered with the first attempt's open (FILE_CREATED, the same FileId), not run again.
TEST(CreateReplay, LostCreateResponseIsReplayedWithTheSameCreateGuid) {
  std::mutex mu;
  std::vector<SeenCreate> seen;
  ScriptedTcpServer s(
      [](uint64_t) {
        return DirAnswer{STATUS_NO_MORE_FILES, {}};
      },
      [&](uint64_t n, const ClientRequest& rq) {
        std::lock_guard lock(mu);
        SeenCreate sc{(rq.header.flags & smb2::SMB2_FLAGS_REPLAY_OPERATION) != 0,
                      Dh2qCreateGuid(rq)};
        seen.push_back(sc);
        CreateAnswer a;
        a.durable = true;
        a.persistent_id = 0x4242;
        a.create_action = 2;  // FILE_CREATED
        if (n == 0) {
          a.drop_connection = true;
        } else if (!sc.replay_flag || sc.create_guid != seen[0].create_guid) {
          // Not a replay of the first: executed afresh, the file exists now.
          a.status = STATUS_OBJECT_NAME_COLLISION;
        }
        return a;
      });
  auto c = ConnectAnonymous(s, 5000ms);
  ASSERT_TRUE(c);
  auto r = c->Open("new.bin", CreateNew());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->create_action, 2u);
  EXPECT_EQ(c->stats().reconnects, 1u);
  EXPECT_EQ(s.connections(), 2u);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_FALSE(seen[0].replay_flag);
    ASSERT_TRUE(seen[0].create_guid.has_value());
    EXPECT_TRUE(seen[1].replay_flag);
    EXPECT_EQ(seen[1].create_guid, seen[0].create_guid);
  }
  EXPECT_TRUE(c->Close(r->handle).ok());
}

// Two separate creates get different CreateGuids ([MS-SMB2] 3.2.4.3.5: a new one per create),
// neither flagged as a replay.
TEST(CreateReplay, EachCreateHasItsOwnCreateGuid) {
  std::mutex mu;
  std::vector<SeenCreate> seen;
  ScriptedTcpServer s(
      [](uint64_t) {
        return DirAnswer{STATUS_NO_MORE_FILES, {}};
      },
      [&](uint64_t, const ClientRequest& rq) {
        std::lock_guard lock(mu);
        seen.push_back(
            {(rq.header.flags & smb2::SMB2_FLAGS_REPLAY_OPERATION) != 0, Dh2qCreateGuid(rq)});
        CreateAnswer a;
        a.durable = true;
        a.create_action = 2;
        return a;
      });
  auto c = ConnectAnonymous(s, 5000ms);
  ASSERT_TRUE(c);
  auto a = c->Open("a.bin", CreateNew());
  auto b = c->Open("b.bin", CreateNew());
  ASSERT_TRUE(a.ok() && b.ok());
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].replay_flag || seen[1].replay_flag);
  ASSERT_TRUE(seen[0].create_guid && seen[1].create_guid);
  EXPECT_NE(*seen[0].create_guid, *seen[1].create_guid);
}

// A server that does not recognise the replay and answers STATUS_OBJECT_NAME_COLLISION: the
// caller gets kDisconnected (outcome unknown), never an EEXIST the file created by its own lost
// attempt would make it believe.
TEST(CreateReplay, UnrecognisedReplayIsOutcomeUnknownNotExists) {
  ScriptedTcpServer s(
      [](uint64_t) {
        return DirAnswer{STATUS_NO_MORE_FILES, {}};
      },
      [&](uint64_t n, const ClientRequest&) {
        CreateAnswer a;
        a.durable = true;
        a.drop_connection = n == 0;
        if (n > 0) a.status = STATUS_OBJECT_NAME_COLLISION;
        return a;
      });
  auto c = ConnectAnonymous(s, 5000ms);
  ASSERT_TRUE(c);
  auto r = c->Open("new.bin", CreateNew());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Code::kDisconnected)) << r.status().ToString();
  EXPECT_EQ(r.status().detail(), STATUS_OBJECT_NAME_COLLISION);
  EXPECT_EQ(s.creates(), 2u);
}

}  // namespace
}  // namespace smb3::test
