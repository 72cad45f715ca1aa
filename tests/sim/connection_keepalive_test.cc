// SPDX-License-Identifier: LGPL-2.1-or-later
// Keepalive while a caller waits: a connection with a request outstanding probes with ECHO after
// half an echo_interval of silence and is closed (kTimeout) after a whole one, so that a stalled
// server is noticed within echo_interval and the client can reconnect. (Idle connections keep the
// slower pace checked in connection_test.cc.)
#include "connection_fixture.h"

namespace smb3::test {
namespace {

TEST_F(ConnectionSim, BusyConnectionProbesAtHalfIntervalAndDiesAfterOne) {
  auto options = DefaultOptions();
  options.echo_interval = std::chrono::seconds(60);
  options.request_timeout = std::chrono::hours(1);  // only the keepalive may fire
  std::vector<Connection*> closed;
  options.on_closed = [&closed](Connection& c, const Status&) { closed.push_back(&c); };
  StartConnection(options);
  Outcome warmup;
  Outcome read;
  CloseAtExit close_at_exit(conn_);
  // Credits for the read and the probe.
  conn_->Submit(EchoRequest(), warmup.Callback());
  ClientRequest w = NextSingle();
  ResponseOptions grant;
  grant.credits = 8;
  ASSERT_TRUE(server_->Reply({EchoResponse(w.header, grant)}).ok());
  ASSERT_TRUE(warmup.Wait());
  const auto t0 = Clock::now();
  conn_->Submit(ReadRequest(10, 0), read.Callback());
  EXPECT_EQ(NextSingle().header.command, smb2::SMB2_READ);
  const size_t sent = wire_->sent_count();

  // Silence counts from the warm-up's answer, a little before t0: 25 s leaves room for a slow
  // wake-up between the two.
  wire_->Tick(t0 + std::chrono::seconds(25));
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(wire_->sent_count(), sent);  // not yet half an interval

  wire_->Tick(t0 + std::chrono::seconds(31));
  EXPECT_EQ(NextSingle().header.command, smb2::SMB2_ECHO);
  wire_->Tick(t0 + std::chrono::seconds(45));
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_TRUE(conn_->connected());
  EXPECT_EQ(read.calls(), 0);

  wire_->Tick(t0 + std::chrono::seconds(61));
  ASSERT_TRUE(read.Wait());
  EXPECT_TRUE(read.status().Is(Code::kTimeout)) << read.status().ToString();
  ExpectDroppedWith(Code::kTimeout);
  // The owner heard of it exactly once, before the read failed.
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0], conn_.get());
}

}  // namespace
}  // namespace smb3::test
