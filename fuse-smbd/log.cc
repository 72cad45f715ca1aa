// SPDX-License-Identifier: LGPL-2.1-or-later
#include "log.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace fuse_smbd {
namespace {

std::mutex g_mu;
smb3::LogSink g_sink;  // empty: stderr
smb3::LogLevel g_level = smb3::LogLevel::kWarning;

}  // namespace

void InstallLogSink(smb3::LogSink sink, smb3::LogLevel level) {
  {
    std::lock_guard lock(g_mu);
    g_sink = sink;
    g_level = level;
  }
  smb3::SetLogSink(std::move(sink));
  smb3::SetLogLevel(level);
}

void Log(smb3::LogLevel level, const char* fmt, ...) {
  smb3::LogSink sink;
  {
    std::lock_guard lock(g_mu);
    if (level > g_level) return;
    sink = g_sink;
  }
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (sink) {
    sink(level, buf);
  } else {
    fprintf(stderr, "fuse-smbd: %s\n", buf);
  }
}

}  // namespace fuse_smbd
