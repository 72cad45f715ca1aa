// SPDX-License-Identifier: LGPL-2.1-or-later
#include "base/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace smb3 {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kWarning)};
std::mutex g_sink_mu;
LogSink& Sink() {
  static LogSink sink;
  return sink;
}

}  // namespace

void SetLogSink(LogSink sink) {
  std::lock_guard lock(g_sink_mu);
  Sink() = std::move(sink);
}
void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed); }

void LogPrintf(LogLevel level, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::string_view msg(buf, n < 0 ? 0 : (static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1));
  std::lock_guard lock(g_sink_mu);
  if (Sink()) {
    Sink()(level, msg);
  } else {
    static const char* kNames[] = {"error", "warning", "info", "debug", "trace"};
    fprintf(stderr, "smb3: %s: %.*s\n", kNames[static_cast<int>(level)], static_cast<int>(msg.size()),
            msg.data());
  }
}

}  // namespace smb3
