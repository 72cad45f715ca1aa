// SPDX-License-Identifier: LGPL-2.1-or-later
#include "options.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fuse_smbd {
namespace {

ConfigError Error(std::string message) { return ConfigError{std::move(message)}; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <class T>
bool ParseUnsigned(std::string_view text, T* out, int base = 10) {
  if (text.empty()) return false;
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || ptr != text.data() + text.size()) return false;
  *out = value;
  return true;
}

// "1048576", "64K", "1M", "2G", "1T" (binary multiples).
bool ParseSize(std::string_view text, uint64_t* out) {
  uint64_t mult = 1;
  if (!text.empty()) {
    switch (std::tolower(static_cast<unsigned char>(text.back()))) {
      case 'k': mult = 1ULL << 10; break;
      case 'm': mult = 1ULL << 20; break;
      case 'g': mult = 1ULL << 30; break;
      case 't': mult = 1ULL << 40; break;
      default: break;
    }
    if (mult != 1) text.remove_suffix(1);
  }
  uint64_t value = 0;
  if (!ParseUnsigned(text, &value)) return false;
  if (value > UINT64_MAX / mult) return false;
  *out = value * mult;
  return true;
}

bool ParseSeconds(std::string_view text, double* out) {
  if (text.empty() || text.size() > 32) return false;
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(copy.c_str(), &end);
  if (errno != 0 || end != copy.c_str() + copy.size() || !(v >= 0) || v > 1e7) return false;
  *out = v;
  return true;
}

// mount.cifs spells user names "user", "DOMAIN/user", "DOMAIN\user", optionally "%password".
void ApplyUserName(std::string_view value, MountConfig* config) {
  if (auto pct = value.find('%'); pct != std::string_view::npos) {
    config->client.credentials.password = std::string(value.substr(pct + 1));
    value = value.substr(0, pct);
  }
  if (auto sep = value.find_first_of("/\\"); sep != std::string_view::npos) {
    config->client.credentials.domain = std::string(value.substr(0, sep));
    value = value.substr(sep + 1);
  }
  config->client.credentials.username = std::string(value);
}

ConfigStatus ParseVers(std::string_view value, MountConfig* config) {
  const std::string v = Lower(value);
  auto& d = config->client.dialects;
  if (v == "3" || v == "3.x" || v == "default") {
    d.clear();
  } else if (v == "3.0" || v == "3.00") {
    d = {0x0300};
  } else if (v == "3.02" || v == "3.0.2") {
    d = {0x0302};
  } else if (v == "3.1.1" || v == "3.11") {
    d = {0x0311};
  } else if (v == "1.0" || v == "2.0" || v == "2.1") {
    return Error("vers=" + v + ": only SMB 3 dialects are supported (vers=3, 3.0, 3.02, 3.1.1)");
  } else {
    return Error("vers=" + std::string(value) + ": expected 3, 3.0, 3.02 or 3.1.1");
  }
  return std::nullopt;
}

ConfigStatus ParseSec(std::string_view value, MountConfig* config) {
  const std::string v = Lower(value);
  if (v == "ntlmssp" || v == "ntlmv2") {
    config->client.security = smb3::SecurityMode::kNtlmssp;
  } else if (v == "ntlmsspi" || v == "ntlmv2i") {
    config->client.security = smb3::SecurityMode::kNtlmssp;
    config->client.signing = smb3::Want::kRequired;
  } else if (v == "none") {
    config->client.security = smb3::SecurityMode::kAnonymous;
  } else if (v == "krb5" || v == "krb5i") {
    return Error("sec=" + v + ": Kerberos is not supported yet; use sec=ntlmssp");
  } else {
    return Error("sec=" + std::string(value) + ": expected ntlmssp, ntlmsspi or none");
  }
  return std::nullopt;
}

ConfigStatus ParseUid(std::string_view value, uid_t* out) {
  if (ParseUnsigned(value, out)) return std::nullopt;
  std::string name(value);
  std::array<char, 4096> buf{};
  struct passwd pw{};
  struct passwd* result = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) == 0 && result != nullptr) {
    *out = pw.pw_uid;
    return std::nullopt;
  }
  return Error("uid=" + name + ": no such user");
}

ConfigStatus ParseGid(std::string_view value, gid_t* out) {
  if (ParseUnsigned(value, out)) return std::nullopt;
  std::string name(value);
  std::array<char, 4096> buf{};
  struct group gr{};
  struct group* result = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result) == 0 && result != nullptr) {
    *out = gr.gr_gid;
    return std::nullopt;
  }
  return Error("gid=" + name + ": no such group");
}

ConfigStatus ParseMode(std::string_view key, std::string_view value, mode_t* out) {
  unsigned mode = 0;
  if (!ParseUnsigned(value, &mode, 8) || mode > 07777) {
    return Error(std::string(key) + "=" + std::string(value) + ": expected an octal mode like 0755");
  }
  *out = static_cast<mode_t>(mode);
  return std::nullopt;
}

ConfigStatus ParseIoSize(std::string_view key, std::string_view value, uint32_t* out) {
  uint64_t size = 0;
  if (!ParseSize(value, &size) || size < 4096 || size > (16u << 20)) {
    return Error(std::string(key) + "=" + std::string(value) +
                 ": expected a size in bytes from 4096 to 16777216");
  }
  *out = static_cast<uint32_t>(size);
  return std::nullopt;
}

// Options of /etc/fstab and mount(8) that concern mount(8) or systemd, not the file system.
bool IsDroppedOption(std::string_view key, bool has_value) {
  static constexpr std::string_view kDropped[] = {
      "_netdev", "nofail", "noauto", "auto", "defaults", "user", "users", "nouser",
      "owner", "group", "atime", "relatime", "strictatime", "norelatime", "diratime",
      "lazytime", "nolazytime", "loud", "silent"};
  if (key.starts_with("x-") || key == "comment") return true;
  if (has_value) return false;  // "user=NAME" is the user name, not the fstab flag
  return std::find(std::begin(kDropped), std::end(kDropped), key) != std::end(kDropped);
}

// Options the kernel mount takes as they are.
bool IsKernelOption(std::string_view key) {
  static constexpr std::string_view kKernel[] = {"nosuid", "suid",    "nodev",      "dev",
                                                 "noexec", "exec",    "noatime",    "nodiratime",
                                                 "sync",   "async",   "dirsync"};
  return std::find(std::begin(kKernel), std::end(kKernel), key) != std::end(kKernel);
}

bool IsTrue(std::string_view v) { return v == "1" || v == "yes" || v == "true" || v == "on"; }

ConfigStatus ApplyOne(std::string_view key_in, std::optional<std::string_view> value,
                      MountConfig* config) {
  const std::string key = Lower(key_in);
  const bool has_value = value.has_value();
  const std::string_view val = value.value_or("");
  auto need_value = [&]() -> ConfigStatus {
    if (!has_value || val.empty()) return Error("option " + key + " needs a value (" + key + "=...)");
    return std::nullopt;
  };
  auto no_value = [&]() -> ConfigStatus {
    if (has_value) return Error("option " + key + " takes no value");
    return std::nullopt;
  };
  auto& client = config->client;

  if (IsDroppedOption(key, has_value)) return std::nullopt;
  if (IsKernelOption(key)) {
    if (auto e = no_value()) return e;
    config->fuse_options.push_back(key);
    return std::nullopt;
  }
  if (key == "username" || key == "user") {
    if (auto e = need_value()) return e;
    ApplyUserName(val, config);
  } else if (key == "password" || key == "pass") {
    if (!has_value) return Error("option password needs a value (password=...)");
    client.credentials.password = std::string(val);
  } else if (key == "credentials" || key == "cred") {
    if (auto e = need_value()) return e;
    return ReadCredentialsFile(std::string(val), false, &client.credentials);
  } else if (key == "domain" || key == "dom" || key == "workgroup") {
    if (!has_value) return Error("option domain needs a value (domain=...)");
    client.credentials.domain = std::string(val);
  } else if (key == "port") {
    uint32_t port = 0;
    if (!ParseUnsigned(val, &port) || port == 0 || port > 65535) {
      return Error("port=" + std::string(val) + ": expected a TCP port from 1 to 65535");
    }
    client.port = static_cast<uint16_t>(port);
  } else if (key == "ip" || key == "addr") {
    if (auto e = need_value()) return e;
    client.server = std::string(val);
  } else if (key == "vers") {
    if (auto e = need_value()) return e;
    return ParseVers(val, config);
  } else if (key == "sec") {
    if (auto e = need_value()) return e;
    return ParseSec(val, config);
  } else if (key == "guest") {
    if (auto e = no_value()) return e;
    client.security = smb3::SecurityMode::kGuest;
  } else if (key == "seal") {
    if (auto e = no_value()) return e;
    client.encryption = smb3::Want::kRequired;
  } else if (key == "sign") {
    if (auto e = no_value()) return e;
    client.signing = smb3::Want::kRequired;
  } else if (key == "uid") {
    if (auto e = need_value()) return e;
    return ParseUid(val, &config->uid);
  } else if (key == "gid") {
    if (auto e = need_value()) return e;
    return ParseGid(val, &config->gid);
  } else if (key == "forceuid" || key == "noforceuid") {
    if (auto e = no_value()) return e;
    config->forceuid = key == "forceuid";
  } else if (key == "forcegid" || key == "noforcegid") {
    if (auto e = no_value()) return e;
    config->forcegid = key == "forcegid";
  } else if (key == "file_mode") {
    if (auto e = need_value()) return e;
    return ParseMode(key, val, &config->file_mode);
  } else if (key == "dir_mode") {
    if (auto e = need_value()) return e;
    return ParseMode(key, val, &config->dir_mode);
  } else if (key == "noperm") {
    if (auto e = no_value()) return e;
    config->default_permissions = false;
  } else if (key == "perm" || key == "default_permissions") {
    if (auto e = no_value()) return e;
    config->default_permissions = true;
  } else if (key == "rsize") {
    if (auto e = need_value()) return e;
    return ParseIoSize(key, val, &config->rsize);
  } else if (key == "wsize") {
    if (auto e = need_value()) return e;
    return ParseIoSize(key, val, &config->wsize);
  } else if (key == "actimeo") {
    if (!ParseSeconds(val, &config->actimeo)) {
      return Error("actimeo=" + std::string(val) + ": expected seconds (0 or more)");
    }
  } else if (key == "cache") {
    const std::string v = Lower(val);
    if (v == "strict") {
      config->cache = CacheMode::kStrict;
    } else if (v == "loose") {
      config->cache = CacheMode::kLoose;
    } else if (v == "none") {
      config->cache = CacheMode::kNone;
    } else {
      return Error("cache=" + std::string(val) + ": expected strict, loose or none");
    }
  } else if (key == "echo_interval") {
    uint32_t secs = 0;
    if (!ParseUnsigned(val, &secs) || secs < 1 || secs > 600) {
      return Error("echo_interval=" + std::string(val) + ": expected seconds from 1 to 600");
    }
    client.echo_interval = std::chrono::seconds(secs);
  } else if (key == "ro" || key == "rw") {
    if (auto e = no_value()) return e;
    config->read_only = key == "ro";
  } else if (key == "allow_other") {
    if (auto e = no_value()) return e;
    config->allow_other = true;
  } else if (key == "rdma") {
    const std::string v = has_value ? Lower(val) : "yes";
    if (v == "auto") {
      client.rdma = smb3::RdmaPolicy::kAuto;
    } else if (v == "yes" || v == "1") {
      client.rdma = smb3::RdmaPolicy::kYes;
    } else if (v == "no" || v == "0") {
      client.rdma = smb3::RdmaPolicy::kNo;
    } else {
      return Error("rdma=" + std::string(val) + ": expected auto, yes or no");
    }
  } else if (key == "backend") {
    const std::string v = Lower(val);
    if (v == "smb") {
      config->backend = Backend::kSmb;
    } else if (v == "memory") {
      config->backend = Backend::kMemory;
    } else {
      return Error("backend=" + std::string(val) + ": expected smb or memory");
    }
  } else if (key == "memsize") {
    if (!ParseSize(val, &config->memory_size)) {
      return Error("memsize=" + std::string(val) + ": expected a size like 512M or 4G");
    }
  } else if (key == "prefault") {
    if (auto e = no_value()) return e;
    config->memory_prefault = true;
  } else if (key == "writebehind_kb") {
    if (!ParseUnsigned(val, &config->writebehind_kb) || config->writebehind_kb > (1u << 20)) {
      return Error("writebehind_kb=" + std::string(val) + ": expected KiB from 0 to 1048576");
    }
  } else if (key == "readahead_kb") {
    if (!ParseUnsigned(val, &config->readahead_kb) || config->readahead_kb > (1u << 20)) {
      return Error("readahead_kb=" + std::string(val) + ": expected KiB from 0 to 1048576");
    }
  } else if (key == "dirty_ratio") {
    if (!ParseUnsigned(val, &config->dirty_ratio) || config->dirty_ratio > 100) {
      return Error("dirty_ratio=" + std::string(val) + ": expected a percentage from 0 to 100");
    }
  } else if (key == "workers") {
    if (!ParseUnsigned(val, &config->workers) || config->workers > 64) {
      return Error("workers=" + std::string(val) + ": expected a thread count from 0 to 64");
    }
    config->workers_set = true;
  } else if (key == "serverino" || key == "noserverino") {
    if (auto e = no_value()) return e;
    config->use_server_inodes = key == "serverino";
  } else if (key == "durable" || key == "nodurable") {
    if (auto e = no_value()) return e;
    client.durable_handles = key == "durable";
  } else if (key == "debug") {
    config->debug = !has_value || IsTrue(Lower(val));
  } else if (key == "verbose") {
    if (auto e = no_value()) return e;
    config->verbose = true;
  } else {
    if (config->sloppy) {
      config->warnings.push_back("ignoring unknown option '" + key + "' (-s)");
      return std::nullopt;
    }
    return Error("unknown mount option '" + key + "' (see man fuse-smbd)");
  }
  return std::nullopt;
}

}  // namespace

Env ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

ConfigStatus ParseSource(std::string_view source, MountConfig* config) {
  std::string s(source);
  std::replace(s.begin(), s.end(), '\\', '/');
  if (!s.starts_with("//")) {
    return Error("source '" + std::string(source) + "' is not of the form //server/share");
  }
  std::string_view rest(s);
  rest.remove_prefix(2);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return Error("source '" + std::string(source) + "' names no share: expected //server/share");
  }
  std::string_view host = rest.substr(0, slash);
  std::string_view path = rest.substr(slash + 1);
  std::optional<uint16_t> port;
  if (host.front() == '[') {  // [IPv6]:port
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return Error("source '" + std::string(source) + "': unclosed '['");
    std::string_view after = host.substr(close + 1);
    std::string_view addr = host.substr(1, close - 1);
    if (!after.empty()) {
      uint32_t p = 0;
      if (after.front() != ':' || !ParseUnsigned(after.substr(1), &p) || p == 0 || p > 65535) {
        return Error("source '" + std::string(source) + "': bad port");
      }
      port = static_cast<uint16_t>(p);
    }
    host = addr;
  } else if (const size_t colon = host.find(':'); colon != std::string_view::npos) {
    uint32_t p = 0;
    if (host.find(':', colon + 1) != std::string_view::npos) {
      return Error("source '" + std::string(source) + "': write IPv6 addresses as [addr]");
    }
    if (!ParseUnsigned(host.substr(colon + 1), &p) || p == 0 || p > 65535) {
      return Error("source '" + std::string(source) + "': bad port");
    }
    port = static_cast<uint16_t>(p);
    host = host.substr(0, colon);
  }
  if (host.empty()) return Error("source '" + std::string(source) + "' names no server");
  const size_t share_end = path.find('/');
  std::string_view share = path.substr(0, share_end);
  if (share.empty()) return Error("source '" + std::string(source) + "' names no share");
  std::string prefix;
  if (share_end != std::string_view::npos) {
    std::string_view sub = path.substr(share_end + 1);
    size_t pos = 0;
    while (pos < sub.size()) {  // normalise "a//b/" to "a/b"
      size_t next = sub.find('/', pos);
      if (next == std::string_view::npos) next = sub.size();
      std::string_view comp = sub.substr(pos, next - pos);
      if (comp == "." || comp == "..") {
        return Error("source '" + std::string(source) + "': '.' and '..' are not allowed");
      }
      if (!comp.empty()) {
        if (!prefix.empty()) prefix += '/';
        prefix += comp;
      }
      pos = next + 1;
    }
  }
  config->client.server = std::string(host);
  config->client.share = std::string(share);
  if (port) config->client.port = *port;
  config->prefix_path = prefix;
  return std::nullopt;
}

ConfigStatus ApplyMountOptions(std::string_view options, MountConfig* config) {
  size_t i = 0;
  while (i < options.size()) {
    // In a password value ",," stands for a literal comma (mount.cifs convention).
    const std::string_view rest = options.substr(i);
    const size_t eq = rest.find('=');
    const bool is_password = eq != std::string_view::npos && eq < rest.find(',') &&
                             (Lower(rest.substr(0, eq)) == "password" ||
                              Lower(rest.substr(0, eq)) == "pass");
    std::string token;
    while (i < options.size()) {
      if (options[i] == ',') {
        if (is_password && i + 1 < options.size() && options[i + 1] == ',') {
          token += ',';
          i += 2;
          continue;
        }
        break;
      }
      token += options[i++];
    }
    ++i;  // the separating comma
    if (token.empty()) continue;
    const size_t teq = token.find('=');
    const std::string_view key = std::string_view(token).substr(0, teq);
    std::optional<std::string_view> value;
    if (teq != std::string::npos) value = std::string_view(token).substr(teq + 1);
    if (auto err = ApplyOne(key, value, config)) return err;
  }
  return std::nullopt;
}

ConfigStatus ReadCredentialsFile(const std::string& path, bool allow_insecure,
                                 smb3::Credentials* credentials) {
  auto loaded = smb3::LoadCredentialsFile(path, allow_insecure);
  if (!loaded.ok()) {
    const smb3::Status& st = loaded.status();
    std::string why = st.code() == smb3::Code::kSystem ? std::strerror(static_cast<int>(st.detail()))
                                                       : std::string(st.where());
    if (why.starts_with("credentials file: ")) why = why.substr(18);
    if (why.starts_with("credentials file ")) why = why.substr(17);
    return Error("credentials file " + path + ": " + why);
  }
  // Like mount.cifs: what the file names replaces what came before; the rest stays.
  if (!loaded->username.empty()) credentials->username = loaded->username;
  if (!loaded->password.empty()) credentials->password = loaded->password;
  if (!loaded->domain.empty()) credentials->domain = loaded->domain;
  return std::nullopt;
}

ConfigStatus FinishConfig(MountConfig* config, const Env& env) {
  auto& client = config->client;
  if (config->backend == Backend::kSmb) {
    const std::string server_override = client.server;
    const uint16_t port = client.port;
    if (auto err = ParseSource(config->source, config)) return err;
    if (!server_override.empty()) client.server = server_override;  // ip=/addr=
    if (port != 445) client.port = port;                             // port= wins over the source
  } else {
    MountConfig scratch;
    if (!ParseSource(config->source, &scratch)) {
      client.server = scratch.client.server;
      client.share = scratch.client.share;
      config->prefix_path = scratch.prefix_path;
    } else {
      client.server = "memory";
      client.share = config->source;
    }
  }
  auto& cred = client.credentials;
  if (client.security == smb3::SecurityMode::kNtlmssp) {
    // mount.cifs conventions: USER names the user, PASSWD or PASSWD_FILE gives the password.
    if (cred.username.empty()) {
      if (auto user = env("USER")) ApplyUserName(*user, config);
    }
    if (cred.password.empty()) {
      if (auto pw = env("PASSWD")) {
        cred.password = *pw;
      } else if (auto pw_file = env("PASSWD_FILE")) {
        std::ifstream in(*pw_file);
        if (!in) return Error("PASSWD_FILE " + *pw_file + ": cannot read it");
        std::getline(in, cred.password);
        if (!cred.password.empty() && cred.password.back() == '\r') cred.password.pop_back();
      }
    }
  } else if (client.security == smb3::SecurityMode::kAnonymous) {
    if (!cred.password.empty()) return Error("sec=none takes no password");
    cred = {};
  }
  uint32_t io = 0;
  if (config->rsize != 0) io = config->rsize;
  if (config->wsize != 0) io = io == 0 ? config->wsize : std::min(io, config->wsize);
  if (io != 0) client.max_io_size = io;
  if (!config->workers_set && config->backend == Backend::kMemory) config->workers = 0;
  if (config->memory_prefault && (config->backend != Backend::kMemory || config->memory_size == 0)) {
    return Error("prefault needs backend=memory and memsize=SIZE");
  }
  if (config->backend == Backend::kMemory && client.rdma == smb3::RdmaPolicy::kYes) {
    return Error("rdma=yes: the memory backend has no transport, so no SMB Direct either");
  }
  if (config->mountpoint.empty()) return Error("no mount point given");
  return std::nullopt;
}

ConfigStatus ParseCommandLine(int argc, char** argv, bool helper, const Env& env,
                              MountConfig* config, bool* exit_now) {
  *exit_now = false;
  config->uid = getuid();
  config->gid = getgid();
  const char* name = helper ? "mount.smbd-fuse" : "fuse-smbd";
  CLI::App app{helper ? "mount(8) helper for SMB3 shares over FUSE (see man mount.smbd-fuse)"
                      : "Mount an SMB3 share with FUSE (see man fuse-smbd)",
               name};
  std::vector<std::string> opts;
  std::string backend;
  std::string ignored_type;
  std::string netns;
  bool no_mtab = false;
  app.add_option("source", config->source, "//server[:port]/share[/dir]")->required();
  app.add_option("mountpoint", config->mountpoint, "directory to mount on")->required();
  app.add_option("-o", opts, "comma-separated mount options (repeatable)")
      ->allow_extra_args(false);
  if (helper) {
    app.add_flag("-s", config->sloppy, "tolerate unknown mount options");
    app.add_flag("-f", config->fake, "fake: check everything, do not mount");
    app.add_flag("-n", no_mtab, "no mtab (accepted; there is no mtab)");
    app.add_flag("-v", config->verbose, "verbose");
    app.add_option("-t", ignored_type, "file system type (accepted, ignored)");
    app.add_option("-N", netns, "mount namespace (not supported)");
  } else {
    app.add_flag("-f,--foreground", config->foreground, "stay in the foreground");
    app.add_flag("-d,--debug", config->debug, "debug log to stderr (implies -f)");
    app.add_option("--backend", backend, "smb (default) or memory")
        ->check(CLI::IsMember({"smb", "memory"}));
  }
  app.set_version_flag("-V,--version", std::string(name) + " 0.1.0");
  if (!helper) app.footer("Counters of a running mount: fuse-smbd stats MOUNTPOINT [--json]");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    *exit_now = true;
    return std::nullopt;
  } catch (const CLI::CallForVersion&) {
    std::printf("%s 0.1.0\n", name);
    *exit_now = true;
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    return Error(what + " (try --help)");
  }
  if (!netns.empty()) return Error("-N (mount namespaces) is not supported");
  if (!backend.empty()) {
    if (auto err = ApplyMountOptions("backend=" + backend, config)) return err;
  }
  for (const std::string& o : opts) {
    if (auto err = ApplyMountOptions(o, config)) return err;
  }
  if (config->debug) config->foreground = true;
  return FinishConfig(config, env);
}

void ScrubPasswords(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* a = argv[i];
    for (char* p = a; *p != '\0'; ++p) {
      const bool glued = p == a + 2 && a[0] == '-' && a[1] == 'o';  // "-opassword=..."
      const bool at_start = p == a || p[-1] == ',' || glued;
      size_t key = 0;
      if (at_start && strncmp(p, "password=", 9) == 0) key = 9;
      if (at_start && strncmp(p, "pass=", 5) == 0) key = 5;
      if (key == 0) continue;
      p += key;
      while (*p != '\0') {
        if (*p == ',' && p[1] == ',') {  // ",," is a comma inside the password
          p[0] = p[1] = '*';
          p += 2;
          continue;
        }
        if (*p == ',') break;
        *p++ = '*';
      }
      if (*p == '\0') break;
    }
  }
}

std::string DescribeConfig(const MountConfig& c) {
  std::ostringstream o;
  o << "backend=" << (c.backend == Backend::kMemory ? "memory" : "smb");
  o << ",server=" << c.client.server << ",port=" << c.client.port << ",share=" << c.client.share;
  if (!c.prefix_path.empty()) o << ",prefix=" << c.prefix_path;
  if (!c.client.credentials.username.empty()) o << ",username=" << c.client.credentials.username;
  if (!c.client.credentials.domain.empty()) o << ",domain=" << c.client.credentials.domain;
  o << ",sec="
    << (c.client.security == smb3::SecurityMode::kNtlmssp
            ? "ntlmssp"
            : c.client.security == smb3::SecurityMode::kGuest ? "guest" : "none");
  if (c.client.signing == smb3::Want::kRequired) o << ",sign";
  if (c.client.encryption == smb3::Want::kRequired) o << ",seal";
  o << ",rdma="
    << (c.client.rdma == smb3::RdmaPolicy::kAuto ? "auto"
        : c.client.rdma == smb3::RdmaPolicy::kYes ? "yes" : "no");
  o << ",cache="
    << (c.cache == CacheMode::kStrict ? "strict" : c.cache == CacheMode::kLoose ? "loose" : "none");
  o << ",actimeo=" << c.actimeo << ",uid=" << c.uid << ",gid=" << c.gid;
  char modes[64];
  snprintf(modes, sizeof modes, ",file_mode=%04o,dir_mode=%04o", static_cast<unsigned>(c.file_mode),
           static_cast<unsigned>(c.dir_mode));
  o << modes;
  o << (c.default_permissions ? ",perm" : ",noperm") << (c.read_only ? ",ro" : ",rw");
  if (c.allow_other) o << ",allow_other";
  o << ",max_io_size=" << c.client.max_io_size << ",echo_interval=" << c.client.echo_interval.count()
    << ",readahead_kb=" << c.readahead_kb << ",writebehind_kb=" << c.writebehind_kb
    << ",dirty_ratio=" << c.dirty_ratio
    << ",workers=" << c.workers;
  if (c.memory_size != 0) o << ",memsize=" << c.memory_size;
  for (const std::string& f : c.fuse_options) o << "," << f;
  return o.str();
}

}  // namespace fuse_smbd
