// SPDX-License-Identifier: LGPL-2.1-or-later
// FuseSession: the libfuse 3.14 low-level session over an SmbFs (fuse_ops.cc is the one includer of
// <fuse_lowlevel.h>; this header names no FUSE type).
//
// The request loop is single-threaded (libfuse's multi-threaded loop costs twice as much per request
// here) and owns its receive buffers, drawn from a pre-faulted pool: a WRITE keeps its buffer while
// the asynchronous SMB write is in flight, so file data is never copied by us; the buffers are lent
// to the client (smb3::Client::RegisterIoMemory) so that over SMB Direct the server RDMA-reads a
// WRITE's data straight from the buffer the kernel put it in. READ replies come from
// pooled 1 MiB buffers filled by the asynchronous SMB read. Blocking metadata calls run on a small
// WorkQueue (MountConfig::workers; 0 = in the loop). Every operation replies exactly once; no
// exception leaves a handler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "options.h"
#include "smb_fs.h"
#include "stats.h"

namespace fuse_smbd {

class FuseSession {
 public:
  ~FuseSession();
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  // Creates the session with the kernel mount options of `config`; *error gets one line on failure.
  static std::unique_ptr<FuseSession> Create(const MountConfig& config, SmbFs& fs, OpStats& stats,
                                             std::string* error);
  // Mounts on `mountpoint` (canonical path) and installs SIGTERM/SIGINT/SIGHUP handlers that end
  // the loop. *error gets one line on failure.
  bool Mount(const std::string& mountpoint, std::string* error);
  // Serves requests until unmounted or signalled; then waits for asynchronous replies. Returns 0
  // or an errno.
  int Loop();
  // Unmounts (lazily, as libfuse does) and removes the signal handlers. Idempotent.
  void Unmount();

  uint64_t in_flight() const;

  struct Impl;

 private:
  explicit FuseSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fuse_smbd
