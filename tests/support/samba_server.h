// SPDX-License-Identifier: LGPL-2.1-or-later
// A private Samba smbd for one test, and a small process runner for driving Samba's own tools.
//
// SambaServer::Start makes a fresh directory under $TMPDIR (else /tmp), runs
// `tests/support/samba-ctl start DIR ...` there, and the destructor runs `samba-ctl stop DIR`. Each
// server has its own smb.conf, passdb, state, logs and TCP port on 127.0.0.1, so several run at
// once (ctest -j). Needs root, like samba-ctl. Shares: "share" (DIR/share, the test user only,
// read-write) and "public" (DIR/public, guest ok).
//
// Thread-safety: a SambaServer is used from one thread; RunCommand is safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace smb3::test {

// The outcome of a child process run by RunCommand.
struct CommandResult {
  int exit_code = -1;      // exit status; 128 + signal if killed by one; -1 if it never ran
  bool timed_out = false;  // killed because it outlived RunOptions::timeout
  std::string output;      // stdout and stderr, interleaved as written
  bool ok() const { return exit_code == 0 && !timed_out; }
};

struct RunOptions {
  // "KEY=VALUE" entries added to (or replacing) the inherited environment.
  std::vector<std::string> env;
  // Written to the child's stdin, which is then closed; empty: stdin is /dev/null.
  std::string input;
  // The child is sent SIGKILL after this long.
  std::chrono::milliseconds timeout{120'000};
};

// Runs argv (argv[0] looked up in PATH) and waits for it. Never throws; a failure to start shows as
// exit_code -1 with the reason in output.
CommandResult RunCommand(const std::vector<std::string>& argv, const RunOptions& options = {});

// Mirrors the options of `samba-ctl start`; empty or zero members keep the default.
struct SambaOptions {
  std::string signing;  // "auto" | "mandatory"
  std::string encrypt;  // "off" | "desired" | "required" (server smb encrypt)
  std::string ciphers;  // "aes-128-gcm aes-256-ccm ..." (server smb3 encryption algorithms)
  std::string signing_algorithms;   // "aes-128-gmac aes-128-cmac hmac-sha256"
  std::string min_protocol;         // SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11 (default SMB3_00)
  std::string max_protocol;         // (default SMB3_11)
  int share_size_mb = 0;            // > 0: DIR/share is a tmpfs of this size (ENOSPC tests)
  bool share_tmpfs = false;         // DIR/share is a tmpfs without a size limit
  std::vector<std::string> global;  // extra [global] lines "key = value", applied last
  uint16_t port = 0;                // 0: samba-ctl picks a free port
  std::string user;                 // Unix + Samba account (default smb3test)
  std::string password;             // default: $SMB3_TEST_PASSWORD, else samba-ctl's test value
  int start_timeout_s = 0;          // how long samba-ctl waits for smbd to serve (default 20)
};

class SambaServer {
 public:
  // Starts a server. On failure returns nullptr and sets *error to one paragraph naming the cause
  // (samba-ctl's message and the smbd log tail); the instance directory is then kept for
  // inspection.
  static std::unique_ptr<SambaServer> Start(const SambaOptions& options, std::string* error);

  // Stops smbd (if still running) and removes the directory — unless the current GoogleTest test
  // has failed or SMB3_KEEP_SAMBA_DIR is set in the environment, in which case it says where it is
  // kept.
  ~SambaServer();
  SambaServer(const SambaServer&) = delete;
  SambaServer& operator=(const SambaServer&) = delete;

  // Stops smbd now (idempotent). False, with the reason in *error, if samba-ctl stop failed.
  bool Stop(std::string* error = nullptr);

  // Stops smbd (if running) and starts it again in the same directory, on the same port, with the
  // same options and password: for reconnect tests. Files in the share survive, except on a tmpfs
  // share (share_size_mb, share_tmpfs), which comes back empty. False, with the reason in *error,
  // if either step failed (e.g. the port was taken meanwhile).
  bool Restart(std::string* error = nullptr);

  // Kills every Samba process of this instance with SIGKILL, as a crash would, and waits until
  // they have exited (`samba-ctl kill`); returns how many. Restart() brings it back.
  int KillAll() const;

  const std::string& host() const { return host_; }  // "127.0.0.1"
  uint16_t port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& domain() const { return domain_; }
  const std::string& share() const { return share_; }                // "share"
  const std::string& public_share() const { return public_share_; }  // "public" (guest ok)
  // "//127.0.0.1/<name>"; the default is share().
  std::string unc(std::string_view name = {}) const;

  const std::filesystem::path& dir() const { return dir_; }
  // The directory smbd serves as share(); root may read and write it directly to seed or check data
  // (files smbd creates there belong to user()).
  std::filesystem::path share_path() const { return dir_ / "share"; }
  std::filesystem::path credentials_path() const {
    return dir_ / "credentials";
  }  // mount.cifs format
  std::filesystem::path client_conf_path() const { return dir_ / "etc" / "client.conf"; }
  std::filesystem::path smb_conf_path() const { return dir_ / "etc" / "smb.conf"; }
  std::filesystem::path log_path() const { return dir_ / "log" / "smbd.log"; }

  // Runs `smbclient -s client.conf -p port -m SMB3 -A credentials //127.0.0.1/<share> <args...>`.
  // Typical args: {"-c", "put a b; get b c"}, {"--client-protection=encrypt", "-c", "ls"}.
  CommandResult Smbclient(const std::vector<std::string>& args, std::string_view share = {},
                          const RunOptions& options = {}) const;

  // The last `lines` lines of the smbd log, for failure messages.
  std::string LogTail(int lines = 30) const;

  // Absolute path of tests/support/samba-ctl in the source tree.
  static std::string SambaCtlPath();

 private:
  explicit SambaServer(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // samba-ctl start with options_ on `port` (0: any); fills port_, user_, password_, domain_.
  bool RunStart(uint16_t port, std::string* error);

  std::filesystem::path dir_;
  SambaOptions options_;
  bool running_ = false;
  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  std::string user_;
  std::string password_;
  std::string domain_;
  std::string share_ = "share";
  std::string public_share_ = "public";
};

}  // namespace smb3::test
