// SPDX-License-Identifier: LGPL-2.1-or-later
// The daemon's life cycle: connect, mount, report readiness, serve, unmount.
//
// Without -f the process forks first (threads do not survive fork) and the parent waits on a pipe
// until the child has mounted and the kernel's FUSE_INIT is done, then exits 0; a failure before
// that point reaches the parent as one line and a non-zero exit (mount(8) helpers exit 32 for a
// failed mount). Only then does the child detach its stdio and log to syslog.
#pragma once

#include "options.h"

namespace fuse_smbd {

// Mounts and serves according to `config`; returns the process exit code.
int RunDaemon(const MountConfig& config, bool mount_helper);

// `fuse-smbd stats MOUNTPOINT [--json]`.
int RunStatsCommand(int argc, char** argv);

}  // namespace fuse_smbd
