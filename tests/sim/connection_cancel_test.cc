// SPDX-License-Identifier: LGPL-2.1-or-later
// SMB2 CANCEL ([MS-SMB2] 3.2.4.24): an asynchronous request that outlives its deadline is cancelled
// before the connection is given up on.
#include <gtest/gtest.h>

#include "sim/connection_fixture.h"

namespace smb3::test {
namespace {

TEST_F(ConnectionSim, AsyncRequestPastItsDeadlineIsCancelledNotDropped) {
  auto options = DefaultOptions();
  options.request_timeout = std::chrono::milliseconds(100);
  StartConnection(options);
  Outcome read;
  conn_->Submit(ReadRequest(10, 0), read.Callback());
  ClientRequest r = NextSingle();
  ASSERT_TRUE(server_->Reply({InterimResponse(r.header, 0x77, 1)}).ok());
  ASSERT_TRUE(wire_->WaitIdle());

  // Past the (extended) deadline: the client sends CANCEL for it instead of disconnecting.
  wire_->Tick(Clock::now() + std::chrono::seconds(5));
  ClientRequest cancel = NextSingle();
  EXPECT_EQ(cancel.header.command, smb2::SMB2_CANCEL);
  EXPECT_EQ(cancel.header.message_id, r.header.message_id);  // consumes no sequence number
  EXPECT_TRUE(cancel.header.is_async());
  EXPECT_EQ(cancel.header.async_id, 0x77u);
  EXPECT_EQ(cancel.header.credit_charge, 0u);
  EXPECT_TRUE(conn_->connected());
  EXPECT_EQ(read.calls(), 0);

  // The server answers the cancelled request with STATUS_CANCELLED; the connection lives on.
  ResponseOptions final_options;
  final_options.async_id = 0x77;
  ASSERT_TRUE(server_->Reply({ErrorResponse(r.header, STATUS_CANCELLED, final_options)}).ok());
  ASSERT_TRUE(read.Wait());
  ASSERT_TRUE(read.result().ok());
  EXPECT_EQ(read.result()->nt_status(), STATUS_CANCELLED);
  EXPECT_EQ(read.calls(), 1);
  EXPECT_TRUE(conn_->connected());
}

TEST_F(ConnectionSim, CancelledRequestThatStaysUnansweredClosesTheConnection) {
  auto options = DefaultOptions();
  options.request_timeout = std::chrono::milliseconds(100);
  StartConnection(options);
  Outcome read;
  conn_->Submit(ReadRequest(10, 0), read.Callback());
  ClientRequest r = NextSingle();
  ASSERT_TRUE(server_->Reply({InterimResponse(r.header, 0x78, 1)}).ok());
  ASSERT_TRUE(wire_->WaitIdle());
  const auto t = Clock::now() + std::chrono::seconds(5);
  wire_->Tick(t);
  EXPECT_EQ(NextSingle().header.command, smb2::SMB2_CANCEL);
  wire_->Tick(t + std::chrono::seconds(11));  // the grace period after CANCEL is over
  ASSERT_TRUE(read.Wait());
  EXPECT_TRUE(read.status().Is(Code::kTimeout)) << read.status().ToString();
  EXPECT_EQ(read.calls(), 1);
  ExpectDroppedWith(Code::kTimeout);
}

}  // namespace
}  // namespace smb3::test
