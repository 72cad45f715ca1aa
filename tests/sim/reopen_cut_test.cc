// SPDX-License-Identifier: LGPL-2.1-or-later
// A connection that breaks while the reconnect re-establishes the durable opens ([MS-SMB2]
// 3.2.4.4). The server refused nothing and still holds the opens ([MS-SMB2] 3.3.7.1), so the
// reconnect tries again on a new connection ([MS-SMB2] 3.2.7.1) and the application never sees
// the cut. Only an answer that refuses the durable reconnect loses the open; so does giving up
// after reconnect_timeout. Against tests/sim/scripted_tcp_server.h, which grants DH2Q, cuts the
// connection when told to, and answers each DH2C as the test scripts it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sim/scripted_tcp_server.h"

namespace smb3::test {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kVolatileId = 0x66;  // what the scripted server answers in every CREATE

OpenOptions ReadWrite() {
  OpenOptions o;
  o.desired_access =
      kAccessReadData | kAccessWriteData | kAccessReadAttributes | kAccessSynchronize;
  o.disposition = Disposition::kOpenIf;
  o.kind = FileKind::kFile;
  return o;
}

DirAnswer NoDirectories(uint64_t) { return {STATUS_NO_MORE_FILES, {}}; }

// Waits (up to 10 s) until the client has completed `n` reconnects.
bool WaitForReconnects(Client& c, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.stats().reconnects < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// The DH2C CREATEs the server received: the FileId.Persistent each named, in order.
struct Dh2cLog {
  std::mutex mu;
  std::vector<uint64_t> named;
  // Records the DH2C of `rq` (if any) and returns how many DH2Cs named the same id before it.
  std::optional<size_t> Record(const ClientRequest& rq) {
    auto id = Dh2cPersistentId(rq);
    if (!id) return std::nullopt;
    std::lock_guard lock(mu);
    size_t before = static_cast<size_t>(std::count(named.begin(), named.end(), *id));
    named.push_back(*id);
    return before;
  }
  std::vector<uint64_t> Get() {
    std::lock_guard lock(mu);
    return named;
  }
};

const std::vector<uint8_t> kData = {'h', 'e', 'l', 'l', 'o'};

// The case seen under the fault proxy: the first reconnect's DH2C gets no answer (the connection
// is cut when the server receives it); the second reconnect's is answered. The file is usable,
// and the WRITE reaches the server naming the FileId the successful DH2C returned.
TEST(ReopenCut, CutDuringDurableReconnectIsRetriedOnANewConnection) {
  Dh2cLog dh2c;
  ScriptedTcpServer s(NoDirectories, [&](uint64_t, const ClientRequest& rq) {
    CreateAnswer a;
    a.durable = true;
    a.persistent_id = 0x11;
    if (auto before = dh2c.Record(rq)) {
      a.drop_connection = *before == 0;
      a.persistent_id = 0x21;
    }
    return a;
  });
  auto c = ConnectAnonymous(s, 5000ms);
  ASSERT_TRUE(c);
  auto f = c->Open("a.bin", ReadWrite());
  ASSERT_TRUE(f.ok()) << f.status().ToString();

  ASSERT_TRUE(s.DropConnection());
  ASSERT_TRUE(WaitForReconnects(*c, 1));
  auto w = c->Write(f->handle, 0, kData);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(*w, kData.size());

  // One reconnect, made of two attempts: the original connection and two new ones.
  EXPECT_EQ(c->stats().reconnects, 1u);
  EXPECT_EQ(s.connections(), 3u);
  EXPECT_EQ(dh2c.Get(), (std::vector<uint64_t>{0x11, 0x11}));
  auto writes = s.writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].persistent_id, 0x21u);
  EXPECT_EQ(writes[0].volatile_id, kVolatileId);
  EXPECT_EQ(writes[0].data, kData);
  EXPECT_TRUE(c->Close(f->handle).ok());
}

// Two opens; the first reconnect re-establishes A (as 0x31), then its connection is cut at B's
// DH2C. The second reconnect must re-establish both again, A under the FileId it got on the cut
// connection, and the WRITEs go to the FileIds of the second reconnect.
TEST(ReopenCut, OpenReestablishedOnTheCutConnectionIsReestablishedAgain) {
  Dh2cLog dh2c;
  ScriptedTcpServer s(NoDirectories, [&](uint64_t n, const ClientRequest& rq) {
    CreateAnswer a;
    a.durable = true;
    a.persistent_id = n == 0 ? 0x11 : 0x12;  // the original opens: A, then B
    auto before = dh2c.Record(rq);
    if (!before) return a;
    switch (*Dh2cPersistentId(rq)) {
      case 0x11:  // A, first reconnect
        a.persistent_id = 0x31;
        break;
      case 0x31:  // A again, second reconnect
        a.persistent_id = 0x41;
        break;
      case 0x12:  // B: cut the first time, answered the second
        a.drop_connection = *before == 0;
        a.persistent_id = 0x42;
        break;
      default:
        a.status = STATUS_OBJECT_NAME_NOT_FOUND;
        break;
    }
    return a;
  });
  auto c = ConnectAnonymous(s, 5000ms);
  ASSERT_TRUE(c);
  auto fa = c->Open("a.bin", ReadWrite());
  auto fb = c->Open("b.bin", ReadWrite());
  ASSERT_TRUE(fa.ok() && fb.ok());

  ASSERT_TRUE(s.DropConnection());
  ASSERT_TRUE(WaitForReconnects(*c, 1));
  auto wa = c->Write(fa->handle, 0, kData);
  auto wb = c->Write(fb->handle, 8, kData);
  ASSERT_TRUE(wa.ok()) << wa.status().ToString();
  ASSERT_TRUE(wb.ok()) << wb.status().ToString();

  EXPECT_EQ(s.connections(), 3u);
  EXPECT_EQ(dh2c.Get(), (std::vector<uint64_t>{0x11, 0x12, 0x31, 0x12}));
  auto writes = s.writes();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].persistent_id, 0x41u);
  EXPECT_EQ(writes[0].offset, 0u);
  EXPECT_EQ(writes[1].persistent_id, 0x42u);
  EXPECT_EQ(writes[1].offset, 8u);
}

// Control: the server answers the DH2C with STATUS_OBJECT_NAME_NOT_FOUND (it does not know the
// open) and the re-open by path that follows with the same status (the file is gone). The file
// is lost at once (no second reconnect attempt), and the WRITE fails without reaching the server.
TEST(ReopenCut, RefusedDurableReconnectLosesTheFile) {
  Dh2cLog dh2c;
  ScriptedTcpServer s(NoDirectories, [&](uint64_t n, const ClientRequest& rq) {
    CreateAnswer a;
    a.durable = true;
    if (dh2c.Record(rq) || n > 0) a.status = STATUS_OBJECT_NAME_NOT_FOUND;
    return a;
  });
  auto c = ConnectAnonymous(s, 5000ms);
  ASSERT_TRUE(c);
  auto f = c->Open("a.bin", ReadWrite());
  ASSERT_TRUE(f.ok()) << f.status().ToString();

  ASSERT_TRUE(s.DropConnection());
  ASSERT_TRUE(WaitForReconnects(*c, 1));
  auto w = c->Write(f->handle, 0, kData);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().Is(Code::kDisconnected)) << w.status().ToString();
  EXPECT_NE(std::string(w.status().where()).find("handle lost"), std::string::npos)
      << w.status().ToString();
  EXPECT_EQ(w.status().detail(), STATUS_OBJECT_NAME_NOT_FOUND);

  EXPECT_EQ(s.connections(), 2u);
  EXPECT_EQ(dh2c.Get().size(), 1u);
  EXPECT_TRUE(s.writes().empty());
  // The client itself is up: only that open is gone.
  EXPECT_TRUE(c->Echo().ok());
}

// A server that cuts every DH2C: the client retries with backoff until reconnect_timeout, then
// gives up, and the open is lost with the link.
TEST(ReopenCut, CutEveryTimeLosesTheFileWhenTheClientGivesUp) {
  Dh2cLog dh2c;
  ScriptedTcpServer s(NoDirectories, [&](uint64_t, const ClientRequest& rq) {
    CreateAnswer a;
    a.durable = true;
    a.drop_connection = dh2c.Record(rq).has_value();
    return a;
  });
  auto c = ConnectAnonymous(s, 3000ms);
  ASSERT_TRUE(c);
  auto f = c->Open("a.bin", ReadWrite());
  ASSERT_TRUE(f.ok()) << f.status().ToString();

  ASSERT_TRUE(s.DropConnection());
  // Sent on the cut connection or queued behind the reconnect: either way it learns the outcome.
  auto w = c->Write(f->handle, 0, kData);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().Is(Code::kDisconnected)) << w.status().ToString();
  EXPECT_EQ(c->stats().reconnects, 0u);
  // Backoff 100, 200, 400, 800 ms inside 3 s: at least three attempts after the first connection,
  // even when each handshake is slow.
  EXPECT_GE(s.connections(), 4u);
  EXPECT_EQ(dh2c.Get().size(), s.connections() - 1);
  EXPECT_TRUE(s.writes().empty());
  // The client is down, not just the open.
  EXPECT_TRUE(c->Echo().Is(Code::kDisconnected));
}

}  // namespace
}  // namespace smb3::test
