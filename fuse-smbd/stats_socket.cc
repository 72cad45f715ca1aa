// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stats_socket.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "log.h"

namespace fuse_smbd {
namespace {

std::string RuntimeDir() {
  if (geteuid() == 0) return "/run/fuse-smbd";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/fuse-smbd";
  }
  return "/tmp/fuse-smbd-" + std::to_string(geteuid());
}

bool FillAddress(const std::string& path, sockaddr_un* addr) {
  if (path.size() >= sizeof(addr->sun_path)) return false;
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string StatsSocketPath(const std::string& canonical_mountpoint) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : canonical_mountpoint) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char name[40];
  snprintf(name, sizeof name, "/%016llx.sock", static_cast<unsigned long long>(h));
  return RuntimeDir() + name;
}

StatsServer::~StatsServer() { Stop(); }

smb3::Status StatsServer::Start(const std::string& socket_path, Render render) {
  path_ = socket_path;
  render_ = std::move(render);
  const std::string dir = path_.substr(0, path_.rfind('/'));
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return smb3::Status::Errno(errno, "stats: mkdir");
  }
  sockaddr_un addr{};
  if (!FillAddress(path_, &addr)) return smb3::Status::Errno(ENAMETOOLONG, "stats: socket path");
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return smb3::Status::Errno(errno, "stats: socket");
  unlink(path_.c_str());  // a socket left by a daemon that died
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 8) != 0) {
    const int e = errno;
    close(listen_fd_);
    listen_fd_ = -1;
    return smb3::Status::Errno(e, "stats: bind");
  }
  chmod(path_.c_str(), 0666);  // counters are not secret; anyone who can see the mount may read them
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    const int e = errno;
    Stop();
    return smb3::Status::Errno(e, "stats: eventfd");
  }
  thread_ = std::thread([this] { Run(); });
  return smb3::Status::Ok();
}

void StatsServer::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) Log(smb3::LogLevel::kWarning, "stats: stop failed");
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    unlink(path_.c_str());
  }
  if (stop_fd_ >= 0) {
    close(stop_fd_);
    stop_fd_ = -1;
  }
}

void StatsServer::Run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // One short request line; a client that sends nothing within a second gets nothing.
    char req[16] = {};
    pollfd in = {fd, POLLIN, 0};
    ssize_t n = 0;
    if (poll(&in, 1, 1000) == 1) n = recv(fd, req, sizeof req - 1, 0);
    if (n > 0) {
      const bool json = strncmp(req, "json", 4) == 0;
      std::string reply;
      try {
        reply = render_(json);
      } catch (const std::exception& e) {
        reply = std::string("error: ") + e.what() + "\n";
      }
      WriteAll(fd, reply);
    }
    close(fd);
  }
}

smb3::Result<std::string> QueryStats(const std::string& socket_path, bool json) {
  sockaddr_un addr{};
  if (!FillAddress(socket_path, &addr)) return smb3::Status::Errno(ENAMETOOLONG, "stats");
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return smb3::Status::Errno(errno, "stats: socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    close(fd);
    return smb3::Status::Errno(e, "stats: connect");
  }
  const std::string req = json ? "json\n" : "text\n";
  std::string out;
  if (!WriteAll(fd, req)) {
    close(fd);
    return smb3::Status::Errno(EIO, "stats: send");
  }
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace fuse_smbd
