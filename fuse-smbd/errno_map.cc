// SPDX-License-Identifier: LGPL-2.1-or-later
#include "errno_map.h"

#include <cerrno>
#include <iterator>

#include "smb3/ntstatus.h"

namespace fuse_smbd {
namespace {

struct NtErrno {
  uint32_t nt_status;
  int err;
};

// NTSTATUS -> errno. Choices follow what the Linux cifs client returns where it is sensible for a
// POSIX application; STATUS_OBJECT_NAME_INVALID is EINVAL (a name the share cannot store), not ENOENT.
constexpr NtErrno kNtTable[] = {
    {smb3::STATUS_SUCCESS, 0},
    {smb3::STATUS_ACCESS_DENIED, EACCES},
    {smb3::STATUS_ACCESS_VIOLATION, EACCES},
    {smb3::STATUS_PRIVILEGE_NOT_HELD, EPERM},
    {smb3::STATUS_CANNOT_DELETE, EACCES},
    {smb3::STATUS_FILE_LOCK_CONFLICT, EACCES},
    {smb3::STATUS_LOCK_NOT_GRANTED, EACCES},
    {smb3::STATUS_OBJECT_NAME_NOT_FOUND, ENOENT},
    {smb3::STATUS_OBJECT_PATH_NOT_FOUND, ENOENT},
    {smb3::STATUS_NO_SUCH_FILE, ENOENT},
    {smb3::STATUS_NOT_FOUND, ENOENT},
    {smb3::STATUS_DELETE_PENDING, ENOENT},
    {smb3::STATUS_FILE_RENAMED, ENOENT},
    {smb3::STATUS_BAD_NETWORK_NAME, ENOENT},
    {smb3::STATUS_OBJECT_NAME_COLLISION, EEXIST},
    {smb3::STATUS_OBJECT_NAME_EXISTS, EEXIST},
    {smb3::STATUS_DIRECTORY_NOT_EMPTY, ENOTEMPTY},
    {smb3::STATUS_DISK_FULL, ENOSPC},
    {smb3::STATUS_QUOTA_EXCEEDED, EDQUOT},
    {smb3::STATUS_FILE_IS_A_DIRECTORY, EISDIR},
    {smb3::STATUS_NOT_A_DIRECTORY, ENOTDIR},
    {smb3::STATUS_SHARING_VIOLATION, EBUSY},
    {smb3::STATUS_OBJECT_NAME_INVALID, EINVAL},
    {smb3::STATUS_INVALID_PARAMETER, EINVAL},
    {smb3::STATUS_NAME_TOO_LONG, ENAMETOOLONG},
    {smb3::STATUS_NOT_SUPPORTED, EOPNOTSUPP},
    {smb3::STATUS_NOT_IMPLEMENTED, EOPNOTSUPP},
    {smb3::STATUS_INVALID_DEVICE_REQUEST, EOPNOTSUPP},
    {smb3::STATUS_INVALID_INFO_CLASS, EOPNOTSUPP},
    {smb3::STATUS_EAS_NOT_SUPPORTED, EOPNOTSUPP},
    {smb3::STATUS_STOPPED_ON_SYMLINK, EOPNOTSUPP},
    {smb3::STATUS_IO_REPARSE_TAG_NOT_HANDLED, EOPNOTSUPP},
    {smb3::STATUS_MEDIA_WRITE_PROTECTED, EROFS},
    {smb3::STATUS_INSUFFICIENT_RESOURCES, ENOMEM},
    {smb3::STATUS_TOO_MANY_OPENED_FILES, EMFILE},
    {smb3::STATUS_REQUEST_NOT_ACCEPTED, EAGAIN},
    {smb3::STATUS_FILE_CLOSED, EBADF},
    {smb3::STATUS_INVALID_HANDLE, EBADF},
    {smb3::STATUS_NOT_SAME_DEVICE, EXDEV},
    {smb3::STATUS_IO_TIMEOUT, ETIMEDOUT},
    {smb3::STATUS_CANCELLED, EINTR},
    {smb3::STATUS_END_OF_FILE, ENODATA},
    {smb3::STATUS_LOGON_FAILURE, EACCES},
    {smb3::STATUS_WRONG_PASSWORD, EACCES},
    {smb3::STATUS_NO_SUCH_USER, EACCES},
    {smb3::STATUS_ACCOUNT_DISABLED, EACCES},
    {smb3::STATUS_ACCOUNT_RESTRICTION, EACCES},
    {smb3::STATUS_PASSWORD_EXPIRED, EKEYEXPIRED},
    {smb3::STATUS_NETWORK_NAME_DELETED, EIO},
    {smb3::STATUS_USER_SESSION_DELETED, EIO},
    {smb3::STATUS_NETWORK_SESSION_EXPIRED, EIO},
    {smb3::STATUS_FILE_CORRUPT_ERROR, EIO},
    {smb3::STATUS_INVALID_NETWORK_RESPONSE, EIO},
};

struct CodeErrno {
  smb3::Code code;
  int err;
};

// Codes whose errno is fixed (kSystem, kUnreachable, kNtStatus and kAuth are handled in code).
constexpr CodeErrno kCodeTable[] = {
    {smb3::Code::kOk, 0},
    {smb3::Code::kInvalidArgument, EINVAL},
    {smb3::Code::kProtocol, EIO},
    {smb3::Code::kSecurity, EACCES},
    {smb3::Code::kTimeout, EIO},
    {smb3::Code::kDisconnected, EIO},
    {smb3::Code::kCancelled, EINTR},
    {smb3::Code::kNotSupported, EOPNOTSUPP},
    {smb3::Code::kCrypto, EIO},
    {smb3::Code::kResourceExhausted, ENOMEM},
};

}  // namespace

int ErrnoFromNtStatus(uint32_t nt_status) {
  for (const NtErrno& e : kNtTable) {
    if (e.nt_status == nt_status) return e.err;
  }
  return EIO;
}

int ErrnoFromStatus(const smb3::Status& status) {
  switch (status.code()) {
    case smb3::Code::kNtStatus:
    case smb3::Code::kAuth: {
      // An auth failure without an NTSTATUS is still a refusal.
      if (status.detail() == 0) return status.code() == smb3::Code::kAuth ? EACCES : EIO;
      return ErrnoFromNtStatus(status.detail());
    }
    case smb3::Code::kSystem:
      return status.detail() != 0 ? static_cast<int>(status.detail()) : EIO;
    case smb3::Code::kUnreachable:
      return status.detail() != 0 ? static_cast<int>(status.detail()) : EHOSTUNREACH;
    default:
      break;
  }
  for (const CodeErrno& e : kCodeTable) {
    if (e.code == status.code()) return e.err;
  }
  return EIO;
}

smb3::Status ToErrno(const smb3::Status& status) {
  if (status.ok()) return status;
  return smb3::Status::Errno(ErrnoFromStatus(status), status.where());
}

}  // namespace fuse_smbd
