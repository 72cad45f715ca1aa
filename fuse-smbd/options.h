// SPDX-License-Identifier: LGPL-2.1-or-later
// Mount configuration: the command lines of fuse-smbd and mount.smbd-fuse and the mount.cifs-style
// "-o a,b=c" option string, parsed into one MountConfig whose `client` member is the
// smb3::ClientOptions handed to smb3::Client::Connect.
//
// Errors are one line for a person (ConfigError) and never contain a password. Parsing has no side
// effects beyond reading a credentials file and looking up user/group names; the environment is
// passed in (Env) so tests control it. Not thread-safe (one parse per MountConfig).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smb3/options.h"

namespace fuse_smbd {

enum class Backend : uint8_t { kSmb, kMemory };

// Meaning as for mount.cifs (see man/fuse-smbd.8): strict keeps file data cached across opens only
// while the file's size and mtime are unchanged, and writes through; loose keeps it regardless and
// adds the kernel's writeback cache (which then owns cached files' sizes and mtimes); none bypasses
// the page cache (direct I/O).
enum class CacheMode : uint8_t { kStrict, kLoose, kNone };

// cache=strict write-behind: KiB of a file's writes answered before the server stored them (see
// SmbFs); eight 1 MiB writes. 0 writes through.
inline constexpr uint32_t kDefaultWriteBehindKb = 8192;

struct MountConfig {
  std::string source;      // as given: //server[:port]/share[/subdir] (any text for backend=memory)
  std::string mountpoint;  // as given
  std::string prefix_path; // subdirectory of the share mounted as the root ("" = the share root)
  smb3::ClientOptions client;
  Backend backend = Backend::kSmb;
  uint64_t memory_size = 0;  // backend=memory capacity in bytes (0 = no limit)
  bool memory_prefault = false;  // backend=memory: pre-fault memsize bytes at start (benchmarks)

  // Ownership and permissions presented to Linux (the share has no POSIX owners).
  uid_t uid = 0;
  gid_t gid = 0;
  bool forceuid = false;
  bool forcegid = false;
  mode_t file_mode = 0755;
  mode_t dir_mode = 0755;
  bool default_permissions = true;  // "perm" (the mount.cifs default); "noperm" clears it
  bool allow_other = false;
  bool read_only = false;
  bool use_server_inodes = true;  // "serverino" (default) / "noserverino"

  double actimeo = 1.0;  // seconds attributes and names are cached
  CacheMode cache = CacheMode::kStrict;
  uint32_t rsize = 0;        // 0 = default; the client applies min(rsize, wsize) as its I/O cap
  uint32_t wsize = 0;
  uint32_t readahead_kb = 8192;  // read_ahead_kb set on the mount's bdi when running as root
  // max_ratio set on the mount's bdi with cache=loose when running as root (0: the kernel's 1 %).
  uint32_t dirty_ratio = 20;
  uint32_t writebehind_kb = kDefaultWriteBehindKb;
  unsigned workers = 4;          // threads for blocking metadata calls (0 = in the request loop)
  bool workers_set = false;

  std::vector<std::string> fuse_options;  // passed through to the kernel mount (nosuid, noatime...)

  // Command line.
  bool foreground = false;
  bool debug = false;
  bool verbose = false;
  bool fake = false;    // mount.smbd-fuse -f: do everything but the mount
  bool sloppy = false;  // mount.smbd-fuse -s: unknown options are ignored with a warning
  std::vector<std::string> warnings;  // e.g. options ignored because of -s
};

struct ConfigError {
  std::string message;  // one line, no password
};
using ConfigStatus = std::optional<ConfigError>;  // nullopt: success

// Reads environment variables; tests pass a fake.
using Env = std::function<std::optional<std::string>(const char* name)>;
Env ProcessEnv();

// Splits "//server[:port]/share[/dir...]" (also "\\server\share", "[v6addr]:port") into config.
ConfigStatus ParseSource(std::string_view source, MountConfig* config);

// Applies one "-o" string: comma-separated options; in password=/pass= values ",," is a literal ','.
ConfigStatus ApplyMountOptions(std::string_view options, MountConfig* config);

// After all options: credentials from USER/PASSWD/PASSWD_FILE like mount.cifs, the credentials file,
// defaults that depend on other options, and consistency checks (e.g. rdma=yes, sec=none+password).
ConfigStatus FinishConfig(MountConfig* config, const Env& env);

// Reads a mount.cifs credentials file through smb3::LoadCredentialsFile (username=/user=,
// password=/pass=, domain=/dom=/workgroup= lines; refused when readable by group or others unless
// allow_insecure) and sets the fields the file names; the error is one line for a person.
ConfigStatus ReadCredentialsFile(const std::string& path, bool allow_insecure,
                                 smb3::Credentials* credentials);

// The whole command line. `helper` selects the mount(8) helper conventions (mount.smbd-fuse SOURCE
// DIR [-sfnv] [-N ns] [-o opts]); otherwise fuse-smbd's (SOURCE MOUNTPOINT [-f] [-d] [-o opts]
// [--backend=memory]). Returns an error, or sets *exit_now (help/version printed) or fills config.
ConfigStatus ParseCommandLine(int argc, char** argv, bool helper, const Env& env,
                              MountConfig* config, bool* exit_now);

// Overwrites the values of password=/pass= options in argv (in place, with '*') so that ps(1) and
// /proc/PID/cmdline of the daemon do not show them, as mount.cifs does. Call after parsing.
void ScrubPasswords(int argc, char** argv);

// "backend=memory,cache=strict,actimeo=1,..." for logs and stats: every effective option, never the
// password.
std::string DescribeConfig(const MountConfig& config);

}  // namespace fuse_smbd
