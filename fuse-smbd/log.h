// SPDX-License-Identifier: LGPL-2.1-or-later
// The daemon's own log lines go to the same sink as libsmb3client's (smb3::SetLogSink): stderr with
// -f/-d, syslog otherwise. Never pass a password.
#pragma once

#include "smb3/log.h"

namespace fuse_smbd {

// Installs `sink` for both the daemon and libsmb3client, with the level.
void InstallLogSink(smb3::LogSink sink, smb3::LogLevel level);
// printf-style; dropped when `level` is above the configured level.
void Log(smb3::LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace fuse_smbd
