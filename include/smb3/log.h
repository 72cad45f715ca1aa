// SPDX-License-Identifier: LGPL-2.1-or-later
// Logging: the library logs through one sink the application sets (syslog, stderr, a test capture).
// Messages never contain passwords, hashes or keys.
#pragma once

#include <functional>
#include <string_view>

namespace smb3 {

enum class LogLevel : int { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

using LogSink = std::function<void(LogLevel, std::string_view message)>;

// Replaces the sink (default: stderr for kWarning and worse). Thread-safe; call before heavy use.
void SetLogSink(LogSink sink);
// Messages above `level` are dropped before formatting.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

}  // namespace smb3
