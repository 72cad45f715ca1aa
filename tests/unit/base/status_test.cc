// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb3/status.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "smb3/ntstatus.h"

namespace smb3 {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::Invalid("Half: odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  SMB3_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Status, DescribesNtStatusAndErrno) {
  EXPECT_EQ(Status::NtStatus(STATUS_LOGON_FAILURE, "session setup").ToString(),
            "session setup: STATUS_LOGON_FAILURE");
  EXPECT_EQ(Status::Errno(ECONNREFUSED, "connect").ToString(), "connect: Connection refused");
  EXPECT_STREQ(NtStatusName(0xC0000034), "STATUS_OBJECT_NAME_NOT_FOUND");
  EXPECT_STREQ(NtStatusName(0xC0FFEE00), "0xC0FFEE00");
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace smb3
