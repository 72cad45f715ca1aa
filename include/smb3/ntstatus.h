// SPDX-License-Identifier: LGPL-2.1-or-later
// NTSTATUS values callers test for ([MS-ERREF] 2.3.1). The full table (names for every value the
// library knows) is reachable through NtStatusName().
#pragma once

#include <cstdint>

namespace smb3 {

inline constexpr uint32_t STATUS_SUCCESS = 0x00000000;
inline constexpr uint32_t STATUS_PENDING = 0x00000103;
inline constexpr uint32_t STATUS_NOTIFY_ENUM_DIR = 0x0000010C;
inline constexpr uint32_t STATUS_BUFFER_OVERFLOW = 0x80000005;
inline constexpr uint32_t STATUS_NO_MORE_FILES = 0x80000006;
inline constexpr uint32_t STATUS_INVALID_PARAMETER = 0xC000000D;
inline constexpr uint32_t STATUS_NO_SUCH_FILE = 0xC000000F;
inline constexpr uint32_t STATUS_END_OF_FILE = 0xC0000011;
inline constexpr uint32_t STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016;
inline constexpr uint32_t STATUS_ACCESS_DENIED = 0xC0000022;
inline constexpr uint32_t STATUS_BUFFER_TOO_SMALL = 0xC0000023;
inline constexpr uint32_t STATUS_OBJECT_NAME_INVALID = 0xC0000033;
inline constexpr uint32_t STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034;
inline constexpr uint32_t STATUS_OBJECT_NAME_COLLISION = 0xC0000035;
inline constexpr uint32_t STATUS_OBJECT_PATH_NOT_FOUND = 0xC000003A;
inline constexpr uint32_t STATUS_SHARING_VIOLATION = 0xC0000043;
inline constexpr uint32_t STATUS_DELETE_PENDING = 0xC0000056;
inline constexpr uint32_t STATUS_PRIVILEGE_NOT_HELD = 0xC0000061;
inline constexpr uint32_t STATUS_LOGON_FAILURE = 0xC000006D;
inline constexpr uint32_t STATUS_ACCOUNT_RESTRICTION = 0xC000006E;
inline constexpr uint32_t STATUS_PASSWORD_EXPIRED = 0xC0000071;
inline constexpr uint32_t STATUS_ACCOUNT_DISABLED = 0xC0000072;
inline constexpr uint32_t STATUS_DISK_FULL = 0xC000007F;
inline constexpr uint32_t STATUS_INSUFFICIENT_RESOURCES = 0xC000009A;
inline constexpr uint32_t STATUS_FILE_IS_A_DIRECTORY = 0xC00000BA;
inline constexpr uint32_t STATUS_NOT_SUPPORTED = 0xC00000BB;
inline constexpr uint32_t STATUS_NETWORK_NAME_DELETED = 0xC00000C9;
inline constexpr uint32_t STATUS_BAD_NETWORK_NAME = 0xC00000CC;
inline constexpr uint32_t STATUS_REQUEST_NOT_ACCEPTED = 0xC00000D0;
inline constexpr uint32_t STATUS_DIRECTORY_NOT_EMPTY = 0xC0000101;
inline constexpr uint32_t STATUS_NOT_A_DIRECTORY = 0xC0000103;
inline constexpr uint32_t STATUS_CANCELLED = 0xC0000120;
inline constexpr uint32_t STATUS_CANNOT_DELETE = 0xC0000121;
inline constexpr uint32_t STATUS_FILE_CLOSED = 0xC0000128;
inline constexpr uint32_t STATUS_INVALID_DEVICE_REQUEST = 0xC0000010;
inline constexpr uint32_t STATUS_MEDIA_WRITE_PROTECTED = 0xC00000A2;
inline constexpr uint32_t STATUS_USER_SESSION_DELETED = 0xC0000203;
inline constexpr uint32_t STATUS_NETWORK_SESSION_EXPIRED = 0xC000035C;
inline constexpr uint32_t STATUS_QUOTA_EXCEEDED = 0xC0000044;
inline constexpr uint32_t STATUS_INVALID_HANDLE = 0xC0000008;
inline constexpr uint32_t STATUS_NOT_SAME_DEVICE = 0xC00000D4;
inline constexpr uint32_t STATUS_FILE_RENAMED = 0xC00000D5;
inline constexpr uint32_t STATUS_IO_TIMEOUT = 0xC00000B5;
inline constexpr uint32_t STATUS_OBJECT_NAME_EXISTS = 0x40000000;
inline constexpr uint32_t STATUS_INVALID_NETWORK_RESPONSE = 0xC00000C3;
inline constexpr uint32_t STATUS_ACCESS_VIOLATION = 0xC0000005;
inline constexpr uint32_t STATUS_INVALID_INFO_CLASS = 0xC0000003;
inline constexpr uint32_t STATUS_NOT_IMPLEMENTED = 0xC0000002;
inline constexpr uint32_t STATUS_FILE_LOCK_CONFLICT = 0xC0000054;
inline constexpr uint32_t STATUS_LOCK_NOT_GRANTED = 0xC0000055;
inline constexpr uint32_t STATUS_EAS_NOT_SUPPORTED = 0xC000004F;
inline constexpr uint32_t STATUS_TOO_MANY_OPENED_FILES = 0xC000011F;
inline constexpr uint32_t STATUS_NAME_TOO_LONG = 0xC0000106;
inline constexpr uint32_t STATUS_DEVICE_NOT_READY = 0xC00000A3;
inline constexpr uint32_t STATUS_WRONG_PASSWORD = 0xC000006A;
inline constexpr uint32_t STATUS_NO_SUCH_USER = 0xC0000064;
inline constexpr uint32_t STATUS_STOPPED_ON_SYMLINK = 0x8000002D;
inline constexpr uint32_t STATUS_IO_REPARSE_TAG_NOT_HANDLED = 0xC0000279;
inline constexpr uint32_t STATUS_FILE_CORRUPT_ERROR = 0xC0000102;
inline constexpr uint32_t STATUS_INVALID_DEVICE_STATE = 0xC0000184;
inline constexpr uint32_t STATUS_NOT_FOUND = 0xC0000225;

// "STATUS_LOGON_FAILURE", or "0xC0001234" for values not in the table. Never null.
const char* NtStatusName(uint32_t status);

}  // namespace smb3
