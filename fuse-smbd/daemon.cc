// SPDX-License-Identifier: LGPL-2.1-or-later
#include "daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "fuse_ops.h"
#include "log.h"
#include "memory_client.h"
#include "smb3/client.h"
#include "smb_fs.h"
#include "stats.h"
#include "stats_socket.h"

namespace fuse_smbd {
namespace {

constexpr int kExitUsage = 1;
constexpr int kExitMountHelperFailure = 32;  // mount(8): mount failure

// The last error line logged (libfuse explains a failed mount only through its log).
std::mutex g_last_error_mu;
std::string g_last_error;

std::string LastError() {
  std::lock_guard lock(g_last_error_mu);
  return g_last_error;
}

void InstallSinks(const MountConfig& config, bool to_stderr) {
  smb3::LogLevel level = config.debug     ? smb3::LogLevel::kDebug
                         : config.verbose ? smb3::LogLevel::kInfo
                                          : smb3::LogLevel::kWarning;
  if (!to_stderr) {
    openlog("fuse-smbd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    if (level < smb3::LogLevel::kInfo) level = smb3::LogLevel::kInfo;
  }
  InstallLogSink(
      [to_stderr](smb3::LogLevel l, std::string_view msg) {
        if (l == smb3::LogLevel::kError) {
          std::lock_guard lock(g_last_error_mu);
          g_last_error = std::string(msg);
        }
        if (to_stderr) {
          fprintf(stderr, "fuse-smbd: %.*s\n", static_cast<int>(msg.size()), msg.data());
          return;
        }
        const int prio = l == smb3::LogLevel::kError     ? LOG_ERR
                         : l == smb3::LogLevel::kWarning ? LOG_WARNING
                         : l == smb3::LogLevel::kInfo    ? LOG_INFO
                                                         : LOG_DEBUG;
        syslog(prio, "%.*s", static_cast<int>(msg.size()), msg.data());
      },
      level);
}

// One line naming the cause of a failed connect (libsmb3client's wording), never the password.
std::string DescribeConnectError(const smb3::Status& st, const MountConfig& c) {
  return "cannot connect to //" + c.client.server + ":" + std::to_string(c.client.port) + "/" +
         c.client.share + ": " + smb3::DescribeError(st);
}

// Writes `value` to /sys/class/bdi/<dev>/<knob>; `what` names it in a warning.
void SetBdi(dev_t dev, const char* knob, uint32_t value, const char* what) {
  char path[96];
  snprintf(path, sizeof path, "/sys/class/bdi/%u:%u/%s", major(dev), minor(dev), knob);
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  const std::string text = std::to_string(value);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    Log(smb3::LogLevel::kWarning, "cannot raise %s (%s): %s", what, path, strerror(errno));
  } else {
    Log(smb3::LogLevel::kInfo, "%s=%u on %s", knob, value, path);
  }
  if (fd >= 0) close(fd);
}

void WriteLine(int fd, const std::string& line) {
  if (fd < 0) return;
  const std::string l = line + "\n";
  size_t off = 0;
  while (off < l.size()) {
    const ssize_t n = write(fd, l.data() + off, l.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void DetachStdio() {
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  if (null > 2) close(null);
}

// The parent side of daemonizing: waits for "OK" or "ERR <line>" from the child.
int WaitForChild(int read_fd, pid_t child, const char* prog, int failure_code) {
  std::string msg;
  char buf[512];
  for (;;) {
    const ssize_t n = read(read_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
    if (msg.find('\n') != std::string::npos) break;
  }
  close(read_fd);
  if (msg.starts_with("OK")) return 0;
  if (msg.starts_with("ERR ")) {
    msg = msg.substr(4);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  } else {
    int status = 0;
    waitpid(child, &status, 0);
    msg = "the daemon exited before the mount was ready";
    if (WIFSIGNALED(status)) msg += " (signal " + std::to_string(WTERMSIG(status)) + ")";
  }
  fprintf(stderr, "%s: %s\n", prog, msg.c_str());
  return failure_code;
}

}  // namespace

int RunDaemon(const MountConfig& config, bool mount_helper) {
  const char* prog = mount_helper ? "mount.smbd-fuse" : "fuse-smbd";
  const int failure = mount_helper ? kExitMountHelperFailure : 1;
  char real[PATH_MAX];
  if (realpath(config.mountpoint.c_str(), real) == nullptr) {
    fprintf(stderr, "%s: mount point %s: %s\n", prog, config.mountpoint.c_str(), strerror(errno));
    return mount_helper ? failure : kExitUsage;
  }
  struct stat mst{};
  if (stat(real, &mst) != 0 || !S_ISDIR(mst.st_mode)) {
    fprintf(stderr, "%s: mount point %s is not a directory\n", prog, real);
    return mount_helper ? failure : kExitUsage;
  }
  const std::string mountpoint = real;
  if (config.fake) {
    if (config.verbose) {
      printf("%s: would mount %s on %s (%s)\n", prog, config.source.c_str(), mountpoint.c_str(),
             DescribeConfig(config).c_str());
    }
    return 0;
  }

  int ready_fd = -1;
  if (!config.foreground) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
      return failure;
    }
    fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
      return failure;
    }
    if (pid > 0) {
      close(fds[1]);
      const int rc = WaitForChild(fds[0], pid, prog, failure);
      if (rc == 0 && config.verbose) {
        printf("%s: mounted %s on %s\n", prog, config.source.c_str(), mountpoint.c_str());
      }
      return rc;
    }
    close(fds[0]);
    ready_fd = fds[1];
    setsid();
    if (chdir("/") != 0) Log(smb3::LogLevel::kWarning, "chdir /: %s", strerror(errno));
  }
  // Only the request loop (this thread) takes SIGTERM/SIGINT/SIGHUP, so the signal interrupts its
  // read of /dev/fuse; every thread started from here on (client, workers, stats) inherits the block.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  InstallSinks(config, config.foreground);
  auto fail = [&](const std::string& line) {
    Log(smb3::LogLevel::kError, "%s", line.c_str());
    if (ready_fd >= 0) {
      WriteLine(ready_fd, "ERR " + line);
      close(ready_fd);
    } else if (!config.foreground) {
      fprintf(stderr, "%s: %s\n", prog, line.c_str());
    }
    return failure;
  };
  Log(smb3::LogLevel::kInfo, "mounting %s on %s: %s", config.source.c_str(), mountpoint.c_str(),
      DescribeConfig(config).c_str());

  std::unique_ptr<smb3::Client> client;
  if (config.backend == Backend::kMemory) {
    MemoryClient::Options o;
    o.capacity_bytes = config.memory_size;
    o.prefault = config.memory_prefault;
    o.share = config.client.share;
    client = std::make_unique<MemoryClient>(o);
  } else {
    auto connected = smb3::Client::Connect(config.client);
    if (!connected.ok()) return fail(DescribeConnectError(connected.status(), config));
    client = std::move(connected).value();
  }
  SmbFs fs(*client, FsOptionsFrom(config));
  if (config.backend == Backend::kSmb) {
    // Fail now, with a clear line, rather than on the first `ls` (e.g. a bad prefix path).
    auto root = client->Stat(config.prefix_path);
    const std::string where =
        "//" + config.client.server + "/" + config.client.share + "/" + config.prefix_path;
    if (!root.ok()) return fail(where + ": " + smb3::DescribeError(root.status()));
    if (root->attributes != 0 && !root->is_directory()) {
      return fail(where + " is a file, not a directory");
    }
  }
  OpStats op_stats;
  std::string error;
  auto session = FuseSession::Create(config, fs, op_stats, &error);
  if (!session) return fail(error);
  if (!session->Mount(mountpoint, &error)) {
    const std::string why = LastError();
    return fail(error + (why.empty() ? "" : ": " + why));
  }

  const auto started = std::chrono::steady_clock::now();
  StatsServer stats_server;
  // Readiness: a stat of the mount point completes only after FUSE_INIT was answered and the loop
  // serves requests; then the read-ahead the kernel set at INIT can be raised, and the parent told.
  std::thread ready([&] {
    struct stat st{};
    if (stat(mountpoint.c_str(), &st) != 0) {
      const std::string line = "the new mount does not answer: " + std::string(strerror(errno));
      Log(smb3::LogLevel::kError, "%s", line.c_str());
      if (ready_fd >= 0) {
        WriteLine(ready_fd, "ERR " + line);
        close(ready_fd);
        ready_fd = -1;
      }
      return;
    }
    if (geteuid() == 0 && config.readahead_kb != 0) {
      SetBdi(st.st_dev, "read_ahead_kb", config.readahead_kb, "read-ahead");
    }
    // The kernel lets a FUSE mount hold 1 % of the system's dirty-page allowance (strictlimit):
    // the writeback cache then throttles writers long before the mount's requests are in flight.
    if (geteuid() == 0 && config.cache == CacheMode::kLoose && !config.read_only &&
        config.dirty_ratio != 0) {
      SetBdi(st.st_dev, "max_ratio", config.dirty_ratio, "the writeback cache's share of dirty pages");
    }
    smb3::Status s = stats_server.Start(StatsSocketPath(mountpoint), [&](bool json) {
      StatsReport r;
      r.mountpoint = mountpoint;
      r.source = config.source;
      r.backend = config.backend == Backend::kMemory ? "memory" : "smb";
      r.options = DescribeConfig(config);
      r.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      r.inodes = fs.inodes().size();
      r.open_files = fs.open_files();
      r.in_flight = session->in_flight();
      r.connection = client->info();
      r.client = client->stats();
      return json ? RenderStatsJson(r, op_stats) : RenderStatsText(r, op_stats);
    });
    if (!s.ok()) Log(smb3::LogLevel::kWarning, "stats socket: %s", s.ToString().c_str());
    Log(smb3::LogLevel::kInfo, "mounted %s on %s", config.source.c_str(), mountpoint.c_str());
    if (ready_fd >= 0) {
      WriteLine(ready_fd, "OK");
      close(ready_fd);
      ready_fd = -1;
      DetachStdio();
    }
  });

  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  const int loop_error = session->Loop();
  ready.join();
  session->Unmount();
  fs.Shutdown();  // every handle the kernel still had open is closed on the server
  stats_server.Stop();
  session.reset();
  client->Disconnect();
  if (loop_error != 0) {
    Log(smb3::LogLevel::kError, "request loop ended: %s", strerror(loop_error));
    return failure;
  }
  Log(smb3::LogLevel::kInfo, "unmounted %s", mountpoint.c_str());
  return 0;
}

int RunStatsCommand(int argc, char** argv) {
  CLI::App app{"Show the counters of a running fuse-smbd mount", "fuse-smbd stats"};
  std::string mountpoint;
  bool json = false;
  app.add_option("mountpoint", mountpoint, "where the share is mounted")->required();
  app.add_flag("--json", json, "machine-readable output");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "fuse-smbd stats: %s (try --help)\n", e.what());
    return kExitUsage;
  }
  char real[PATH_MAX];
  if (realpath(mountpoint.c_str(), real) == nullptr) {
    fprintf(stderr, "fuse-smbd stats: %s: %s\n", mountpoint.c_str(), strerror(errno));
    return 1;
  }
  const std::string path = StatsSocketPath(real);
  auto reply = QueryStats(path, json);
  if (!reply.ok()) {
    fprintf(stderr, "fuse-smbd stats: no fuse-smbd daemon answers for %s (%s: %s)\n", real,
            path.c_str(), strerror(static_cast<int>(reply.status().detail())));
    return 1;
  }
  fputs(reply->c_str(), stdout);
  return 0;
}

}  // namespace fuse_smbd
