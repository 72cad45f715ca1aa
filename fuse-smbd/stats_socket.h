// SPDX-License-Identifier: LGPL-2.1-or-later
// How `fuse-smbd stats MOUNTPOINT` reaches the running daemon: a unix stream socket named after the
// mount point, in /run/fuse-smbd/ (root) or $XDG_RUNTIME_DIR/fuse-smbd/ (else /tmp/fuse-smbd-UID/).
// The file name is "<16 hex digits of FNV-1a of the canonical mount point>.sock"; the reply names the
// mount point so a stale or colliding socket is detected. Protocol: the client sends one line,
// "text" or "json"; the daemon answers with the rendered report and closes.
//
// StatsServer runs one thread (poll on the listening socket and an eventfd for Stop). Requests are
// served one at a time; each takes microseconds.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "smb3/status.h"

namespace fuse_smbd {

// Socket path for a canonical (realpath) mount point, for the current effective uid.
std::string StatsSocketPath(const std::string& canonical_mountpoint);

class StatsServer {
 public:
  // `render(json)` builds the reply; called on the server thread.
  using Render = std::function<std::string(bool json)>;

  StatsServer() = default;
  ~StatsServer();
  StatsServer(const StatsServer&) = delete;
  StatsServer& operator=(const StatsServer&) = delete;

  // Creates the directory and socket (replacing a stale one) and starts the thread.
  smb3::Status Start(const std::string& socket_path, Render render);
  // Stops the thread and removes the socket. Idempotent.
  void Stop();

 private:
  void Run();

  std::string path_;
  Render render_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

// Client side: the daemon's reply, or an error for a person.
smb3::Result<std::string> QueryStats(const std::string& socket_path, bool json);

}  // namespace fuse_smbd
