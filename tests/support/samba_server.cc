// SPDX-License-Identifier: LGPL-2.1-or-later
#include "support/samba_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

extern char** environ;

#ifndef SMB3_SAMBA_CTL
#error "SMB3_SAMBA_CTL (absolute path of tests/support/samba-ctl) must be defined by the build"
#endif

namespace smb3::test {
namespace {

// Closes an fd on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string ErrnoText(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// The inherited environment with `overrides` ("KEY=VALUE") replacing or adding entries.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const std::string& o) {
      return std::string_view(o).substr(0, o.find('=')) == key;
    });
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// key=value lines (samba-ctl's DIR/instance, mount.cifs credentials).
std::string ReadKey(const std::filesystem::path& file, std::string_view key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string_view k = std::string_view(line).substr(0, eq);
    while (!k.empty() && k.back() == ' ') k.remove_suffix(1);
    if (k != key) continue;
    std::string_view v = std::string_view(line).substr(eq + 1);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return std::string(v);
  }
  return {};
}

// write() with SIGPIPE blocked in this thread: a child that exits without reading all its input
// makes it fail with EPIPE instead of killing the test. The process-wide disposition stays as it
// is, so tests still notice code that forgets MSG_NOSIGNAL.
ssize_t WriteWithoutSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n = write(fd, data, size);
  int saved_errno = errno;
  if (n < 0 && saved_errno == EPIPE && !was_pending) {
    // Consume the SIGPIPE this write raised before unblocking.
    timespec zero{};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved_errno;
  return n;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, const RunOptions& options) {
  CommandResult result;
  if (argv.empty()) {
    result.output = "RunCommand: empty argv";
    return result;
  }
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.output = ErrnoText("RunCommand: pipe2", errno);
    return result;
  }
  Fd out_read(out_pipe[0]);
  Fd out_write(out_pipe[1]);
  Fd in_read;
  Fd in_write;
  if (!options.input.empty()) {
    int in_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
      result.output = ErrnoText("RunCommand: pipe2", errno);
      return result;
    }
    in_read.Reset(in_pipe[0]);
    in_write.Reset(in_pipe[1]);
    fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in_read.get() >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDERR_FILENO);
  // The child starts with no blocked signals and SIGPIPE at its default, whatever this thread has.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = argv;
  std::vector<std::string> env = MergedEnvironment(options.env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, c_args[0], &actions, &attr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_write.Close();
  in_read.Close();
  if (err != 0) {
    result.output = "RunCommand: cannot run '" + argv[0] + "': " + std::strerror(err);
    return result;
  }

  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  size_t input_sent = 0;
  char buf[16384];
  while (out_read.get() >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      result.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {in_write.get(), POLLOUT, 0}};
    nfds_t nfds = in_write.get() >= 0 ? 2 : 1;
    int n = poll(fds, nfds, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) {
      result.output += "\n" + ErrnoText("RunCommand: poll", errno);
      kill(pid, SIGKILL);
      break;
    }
    if (n <= 0) continue;
    if (nfds == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = WriteWithoutSigpipe(in_write.get(), options.input.data() + input_sent,
                                      options.input.size() - input_sent);
      if (w > 0) input_sent += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) input_sent = options.input.size();
      if (input_sent == options.input.size()) in_write.Close();
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t r = read(out_read.get(), buf, sizeof buf);
      if (r > 0) {
        result.output.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        out_read.Close();
      }
    }
  }
  in_write.Close();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  if (result.timed_out) {
    result.output += "\nRunCommand: '" + argv[0] + "' killed after " +
                     std::to_string(options.timeout.count()) + " ms (timeout)";
  }
  return result;
}

std::string SambaServer::SambaCtlPath() { return SMB3_SAMBA_CTL; }

std::unique_ptr<SambaServer> SambaServer::Start(const SambaOptions& options, std::string* error) {
  std::string scratch;
  if (error == nullptr) error = &scratch;
  error->clear();

  const char* tmpdir = std::getenv("TMPDIR");
  std::string base = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  std::string pattern = base + "/smb3-samba-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    *error = ErrnoText(("SambaServer: cannot create a directory like " + pattern +
                        " (set TMPDIR to a writable directory)")
                           .c_str(),
                       errno);
    return nullptr;
  }
  std::unique_ptr<SambaServer> server(new SambaServer(pattern));
  server->options_ = options;
  if (!server->RunStart(options.port, error)) {
    server->Stop();
    *error += "\nSambaServer: files kept in " + pattern;
    server->dir_.clear();  // keep the directory for inspection
    return nullptr;
  }
  return server;
}

bool SambaServer::RunStart(uint16_t port, std::string* error) {
  const SambaOptions& options = options_;
  // --owner-pid: should this process die without running the destructor, smbd stops by itself.
  std::vector<std::string> argv = {"bash",        SambaCtlPath(), "start",
                                   dir_.string(), "--owner-pid",  std::to_string(getpid())};
  auto add = [&argv](const char* flag, const std::string& value) {
    if (!value.empty()) {
      argv.emplace_back(flag);
      argv.push_back(value);
    }
  };
  add("--signing", options.signing);
  add("--encrypt", options.encrypt);
  add("--ciphers", options.ciphers);
  add("--signing-algorithms", options.signing_algorithms);
  add("--min-protocol", options.min_protocol);
  add("--max-protocol", options.max_protocol);
  add("--user", options.user);
  if (options.share_size_mb > 0) add("--share-size-mb", std::to_string(options.share_size_mb));
  if (options.share_tmpfs) argv.emplace_back("--share-tmpfs");
  if (port != 0) add("--port", std::to_string(port));
  if (options.start_timeout_s > 0) add("--timeout", std::to_string(options.start_timeout_s));
  for (const auto& line : options.global) add("--set", line);

  RunOptions run;
  if (!options.password.empty()) run.env.push_back("SMB3_TEST_PASSWORD=" + options.password);
  int wait_s = options.start_timeout_s > 0 ? options.start_timeout_s : 20;
  run.timeout = std::chrono::seconds(2 * wait_s + 30);
  CommandResult started = RunCommand(argv, run);
  running_ = true;  // even a failed start may have left something for stop to clean up
  if (!started.ok()) {
    std::string stop_error;
    Stop(&stop_error);
    *error = "SambaServer: samba-ctl start " + dir_.string() + " failed (exit " +
             std::to_string(started.exit_code) + "):\n" + started.output + stop_error;
    return false;
  }

  std::filesystem::path instance = dir_ / "instance";
  port_ = static_cast<uint16_t>(std::atoi(ReadKey(instance, "port").c_str()));
  user_ = ReadKey(credentials_path(), "username");
  password_ = ReadKey(credentials_path(), "password");
  domain_ = ReadKey(credentials_path(), "domain");
  if (port_ == 0 || user_.empty() || password_.empty()) {
    *error = "SambaServer: samba-ctl started smbd but " + instance.string() + " or " +
             credentials_path().string() + " lacks port/username/password";
    return false;
  }
  return true;
}

int SambaServer::KillAll() const {
  // samba-ctl waits until each killed process has exited, as a crashed server's have: else a
  // Restart() right after this could meet the old listener on the port.
  CommandResult r = RunCommand({"bash", SambaCtlPath(), "kill", dir_.string()},
                               RunOptions{.timeout = std::chrono::seconds(30)});
  if (!r.ok()) {
    std::fprintf(stderr, "SambaServer: samba-ctl kill %s failed: %s\n", dir_.c_str(),
                 r.output.c_str());
    return 0;
  }
  return std::atoi(r.output.c_str());
}

bool SambaServer::Restart(std::string* error) {
  std::string scratch;
  if (error == nullptr) error = &scratch;
  if (!Stop(error)) return false;
  return RunStart(port_, error);
}

SambaServer::~SambaServer() {
  if (dir_.empty()) return;
  std::string error;
  bool stopped = Stop(&error);
  bool keep =
      !stopped || std::getenv("SMB3_KEEP_SAMBA_DIR") != nullptr || ::testing::Test::HasFailure();
  if (keep) {
    std::fprintf(stderr, "SambaServer: kept %s (smbd log: %s)%s%s\n", dir_.c_str(),
                 log_path().c_str(), stopped ? "" : "; stop failed: ", error.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec)
    std::fprintf(stderr, "SambaServer: cannot remove %s: %s\n", dir_.c_str(), ec.message().c_str());
}

bool SambaServer::Stop(std::string* error) {
  if (!running_) return true;
  CommandResult r = RunCommand({"bash", SambaCtlPath(), "stop", dir_.string()},
                               RunOptions{.timeout = std::chrono::seconds(60)});
  if (!r.ok()) {
    if (error != nullptr) *error = "samba-ctl stop " + dir_.string() + " failed: " + r.output;
    return false;
  }
  running_ = false;
  return true;
}

std::string SambaServer::unc(std::string_view name) const {
  return "//" + host_ + "/" + std::string(name.empty() ? std::string_view(share_) : name);
}

CommandResult SambaServer::Smbclient(const std::vector<std::string>& args, std::string_view share,
                                     const RunOptions& options) const {
  std::vector<std::string> argv = {
      "smbclient", "-s", client_conf_path().string(), "-p",      std::to_string(port_), "-m",
      "SMB3",      "-A", credentials_path().string(), unc(share)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, options);
}

std::string SambaServer::LogTail(int lines) const {
  std::ifstream in(log_path());
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(std::move(line));
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::ostringstream out;
  out << "--- last lines of " << log_path().string() << ":\n";
  for (const auto& l : tail) out << l << '\n';
  return out.str();
}

}  // namespace smb3::test
