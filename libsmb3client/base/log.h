// SPDX-License-Identifier: LGPL-2.1-or-later
// Internal logging macros over the sink of include/smb3/log.h. printf-style formatting.
#pragma once

#include "smb3/log.h"

namespace smb3 {

bool LogEnabled(LogLevel level);
void LogPrintf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace smb3

#define SMB3_LOG(level, ...)                                                 \
  do {                                                                       \
    if (::smb3::LogEnabled(level)) ::smb3::LogPrintf(level, __VA_ARGS__);    \
  } while (0)
#define SMB3_LOG_ERROR(...) SMB3_LOG(::smb3::LogLevel::kError, __VA_ARGS__)
#define SMB3_LOG_WARN(...) SMB3_LOG(::smb3::LogLevel::kWarning, __VA_ARGS__)
#define SMB3_LOG_INFO(...) SMB3_LOG(::smb3::LogLevel::kInfo, __VA_ARGS__)
#define SMB3_LOG_DEBUG(...) SMB3_LOG(::smb3::LogLevel::kDebug, __VA_ARGS__)
#define SMB3_LOG_TRACE(...) SMB3_LOG(::smb3::LogLevel::kTrace, __VA_ARGS__)
