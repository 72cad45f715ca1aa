// SPDX-License-Identifier: LGPL-2.1-or-later
#include "errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "smb3/ntstatus.h"

namespace fuse_smbd {
namespace {

TEST(ErrnoMap, NtStatusTable) {
  struct Case {
    uint32_t nt;
    int err;
  } cases[] = {
      {smb3::STATUS_SUCCESS, 0},
      {smb3::STATUS_ACCESS_DENIED, EACCES},
      {smb3::STATUS_OBJECT_NAME_NOT_FOUND, ENOENT},
      {smb3::STATUS_OBJECT_PATH_NOT_FOUND, ENOENT},
      {smb3::STATUS_NO_SUCH_FILE, ENOENT},
      {smb3::STATUS_DELETE_PENDING, ENOENT},
      {smb3::STATUS_OBJECT_NAME_COLLISION, EEXIST},
      {smb3::STATUS_DIRECTORY_NOT_EMPTY, ENOTEMPTY},
      {smb3::STATUS_DISK_FULL, ENOSPC},
      {smb3::STATUS_QUOTA_EXCEEDED, EDQUOT},
      {smb3::STATUS_FILE_IS_A_DIRECTORY, EISDIR},
      {smb3::STATUS_NOT_A_DIRECTORY, ENOTDIR},
      {smb3::STATUS_SHARING_VIOLATION, EBUSY},
      {smb3::STATUS_CANNOT_DELETE, EACCES},
      {smb3::STATUS_PRIVILEGE_NOT_HELD, EPERM},
      {smb3::STATUS_NAME_TOO_LONG, ENAMETOOLONG},
      {smb3::STATUS_OBJECT_NAME_INVALID, EINVAL},
      {smb3::STATUS_NOT_SUPPORTED, EOPNOTSUPP},
      {smb3::STATUS_MEDIA_WRITE_PROTECTED, EROFS},
      {smb3::STATUS_NOT_SAME_DEVICE, EXDEV},
      {smb3::STATUS_TOO_MANY_OPENED_FILES, EMFILE},
      {smb3::STATUS_INVALID_HANDLE, EBADF},
      {smb3::STATUS_NETWORK_NAME_DELETED, EIO},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrnoFromNtStatus(c.nt), c.err) << smb3::NtStatusName(c.nt);
    if (c.nt != smb3::STATUS_SUCCESS) {
      EXPECT_EQ(ErrnoFromStatus(smb3::Status::NtStatus(c.nt, "t")), c.err);
    }
  }
}

TEST(ErrnoMap, NeverZeroForAFailure) {
  // A failing Status must never become errno 0 (FUSE would take it as success).
  EXPECT_EQ(ErrnoFromStatus(smb3::Status::NtStatus(0, "t")), EIO);
}

TEST(ErrnoMap, UnknownNtStatusIsEio) {
  EXPECT_EQ(ErrnoFromNtStatus(0xC0001234), EIO);
  EXPECT_EQ(ErrnoFromNtStatus(smb3::STATUS_FILE_CORRUPT_ERROR), EIO);
}

TEST(ErrnoMap, Codes) {
  using smb3::Code;
  EXPECT_EQ(ErrnoFromStatus(smb3::Status::Ok()), 0);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status::Errno(ENOSPC, "t")), ENOSPC);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kSystem, 0, "t")), EIO);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kUnreachable, ECONNREFUSED, "t")), ECONNREFUSED);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kUnreachable, 0, "t")), EHOSTUNREACH);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kDisconnected, 0, "t")), EIO);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kTimeout, 0, "t")), EIO);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kAuth, smb3::STATUS_LOGON_FAILURE, "t")), EACCES);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kAuth, 0, "t")), EACCES);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kInvalidArgument, 0, "t")), EINVAL);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kNotSupported, 0, "t")), EOPNOTSUPP);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kCancelled, 0, "t")), EINTR);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kProtocol, 0, "t")), EIO);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kSecurity, 0, "t")), EACCES);
  EXPECT_EQ(ErrnoFromStatus(smb3::Status(Code::kResourceExhausted, 0, "t")), ENOMEM);
}

TEST(ErrnoMap, ToErrnoKeepsWhere) {
  const smb3::Status st = ToErrno(smb3::Status::NtStatus(smb3::STATUS_DISK_FULL, "write"));
  EXPECT_EQ(st.code(), smb3::Code::kSystem);
  EXPECT_EQ(st.detail(), static_cast<uint32_t>(ENOSPC));
  EXPECT_STREQ(st.where(), "write");
  EXPECT_TRUE(ToErrno(smb3::Status::Ok()).ok());
}

}  // namespace
}  // namespace fuse_smbd
