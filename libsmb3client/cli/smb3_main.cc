// SPDX-License-Identifier: LGPL-2.1-or-later
// smb3: ls | stat | get | put | rm | mkdir | rmdir | mv | probe  //server[:port]/share[/path] [local]
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "smb3/client.h"
#include "smb3/json.h"
#include "smb3/log.h"
#include "smb3/ntstatus.h"
#include "transfer.h"
#include "unc.h"

namespace {

using smb3::Code;
using smb3::Status;

// Distinct exit codes, documented in --help.
enum Exit : int {
  kOk = 0,
  kFailed = 1,
  kUsage = 2,
  kUnreachable = 3,
  kAuthFailed = 4,
  kNoShare = 5,
  kNotSupported = 6,
  kSecurity = 7,
  kNotFound = 8,
  kProtocol = 9,
  kLocal = 10,
};

int ExitFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return kOk;
    case Code::kUnreachable: return kUnreachable;
    case Code::kAuth: return kAuthFailed;
    case Code::kNotSupported: return kNotSupported;
    case Code::kSecurity: return kSecurity;
    case Code::kProtocol: return kProtocol;
    case Code::kInvalidArgument: return kUsage;
    case Code::kSystem: return kLocal;
    case Code::kNtStatus:
      if (s.detail() == smb3::STATUS_BAD_NETWORK_NAME) return kNoShare;
      if (s.detail() == smb3::STATUS_OBJECT_NAME_NOT_FOUND || s.detail() == smb3::STATUS_OBJECT_PATH_NOT_FOUND)
        return kNotFound;
      return kFailed;
    default: return kFailed;
  }
}

int Fail(const Status& s) {
  std::fprintf(stderr, "smb3: %s\n", smb3::DescribeError(s).c_str());
  return ExitFor(s);
}

struct Globals {
  std::string user;  // user[%password], DOMAIN/user or DOMAIN\user
  std::string credentials_file;
  std::string domain;
  bool sign = false, seal = false, guest = false, anonymous = false, json = false;
  bool debug = false, no_progress = false;
  uint16_t port = 0;
  std::string vers = "default";
  std::string rdma = "auto";
};

std::string PromptPassword() {
  if (!isatty(STDIN_FILENO)) return "";
  std::fprintf(stderr, "Password: ");
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string pw;
  std::getline(std::cin, pw);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fprintf(stderr, "\n");
  return pw;
}

smb3::Result<smb3::ClientOptions> BuildOptions(const Globals& g, const smb3::cli::Unc& unc) {
  smb3::ClientOptions o;
  o.server = unc.server;
  o.share = unc.share;
  o.port = g.port ? g.port : unc.port.value_or(445);
  bool have_password = false;
  if (!g.credentials_file.empty()) {
    auto c = smb3::LoadCredentialsFile(g.credentials_file);
    if (!c.ok()) return c.status();
    o.credentials = *c;
    have_password = true;
  }
  std::string user = g.user;
  if (user.empty() && o.credentials.username.empty()) {
    // As mount.cifs: USER (may carry user%password) and PASSWD from the environment.
    if (const char* u = std::getenv("USER")) user = u;
  }
  if (!user.empty()) {
    size_t pct = user.find('%');
    if (pct != std::string::npos) {
      o.credentials.password = user.substr(pct + 1);
      have_password = true;
      user.resize(pct);
    }
    size_t sep = user.find_first_of("/\\");
    if (sep != std::string::npos) {
      o.credentials.domain = user.substr(0, sep);
      user = user.substr(sep + 1);
    }
    o.credentials.username = user;
  }
  if (!g.domain.empty()) o.credentials.domain = g.domain;
  if (!have_password) {
    if (const char* p = std::getenv("PASSWD")) {
      o.credentials.password = p;
      have_password = true;
    }
  }
  if (g.guest) o.security = smb3::SecurityMode::kGuest;
  if (g.anonymous) o.security = smb3::SecurityMode::kAnonymous;
  if (!have_password && o.security == smb3::SecurityMode::kNtlmssp) o.credentials.password = PromptPassword();
  o.signing = g.sign ? smb3::Want::kRequired : smb3::Want::kAuto;
  o.encryption = g.seal ? smb3::Want::kRequired : smb3::Want::kAuto;
  if (g.vers == "3.1.1") o.dialects = {0x0311};
  else if (g.vers == "3.02" || g.vers == "3.0.2") o.dialects = {0x0302};
  else if (g.vers == "3.0" || g.vers == "3") o.dialects = {0x0300};
  else if (g.vers != "default") return Status::Invalid("--vers must be 3.0, 3.0.2, 3.1.1 or default");
  if (g.rdma == "yes") o.rdma = smb3::RdmaPolicy::kYes;
  else if (g.rdma == "auto") o.rdma = smb3::RdmaPolicy::kAuto;
  else if (g.rdma == "no") o.rdma = smb3::RdmaPolicy::kNo;
  else return Status::Invalid("--rdma must be yes, no or auto");
  return o;
}

const char* DialectText(uint16_t d) {
  return d == 0x0311 ? "3.1.1" : d == 0x0302 ? "3.0.2" : d == 0x0300 ? "3.0" : "?";
}

std::string InfoJson(const smb3::ConnectionInfo& i) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"server\":\"%s\",\"port\":%u,\"transport\":\"%s\",\"transport_reason\":\"%s\","
                "\"dialect\":\"%s\",\"cipher\":\"%s\",\"signing\":\"%s\",\"signing_required\":%s,"
                "\"encryption_required\":%s,\"max_read_size\":%u,\"max_write_size\":%u,"
                "\"max_transact_size\":%u,\"credits\":%u,\"server_guid\":\"%s\",\"guest\":%s}",
                smb3::JsonEscape(i.server).c_str(), i.port,
                i.transport == smb3::TransportKind::kTcp ? "tcp" : "smbdirect",
                smb3::JsonEscape(i.transport_reason).c_str(), DialectText(i.dialect), i.cipher.c_str(),
                i.signing.c_str(), i.signing_required ? "true" : "false",
                i.encryption_required ? "true" : "false", i.max_read_size, i.max_write_size,
                i.max_transact_size, i.credits, i.server_guid.c_str(), i.guest ? "true" : "false");
  return buf;
}

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void Update(uint64_t done, uint64_t total) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? done / secs / 1e9 : 0;
    int pct = total ? static_cast<int>(done * 100 / total) : 100;
    int bar = pct / 4;
    std::fprintf(stderr, "\r[%-25.*s] %3d%%  %.2f / %.2f GB  %.2f GB/s ", bar,
                 "#########################", pct, done / 1e9, total / 1e9, rate);
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_;
};

std::string FormatTime(smb3::FileTime ft) {
  if (ft < smb3::kFileTimeUnixEpoch) return "-";
  time_t t = static_cast<time_t>((ft - smb3::kFileTimeUnixEpoch) / 10000000);
  char buf[32];
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smb3: an SMB 3.x client (libsmb3client)\n"
               "Exit codes: 0 ok, 1 failed, 2 usage, 3 unreachable, 4 authentication failed, "
               "5 no such share, 6 dialect/feature not supported, 7 signing/encryption requirement "
               "not met, 8 no such file, 9 malformed server response, 10 local I/O error"};
  app.fallthrough();
  app.require_subcommand(1);
  Globals g;
  app.add_option("-U,--user", g.user, "user[%password], or DOMAIN/user[%password]");
  app.add_option("-A,--credentials", g.credentials_file, "credentials file (username=, password=, domain=)");
  app.add_option("-W,--domain", g.domain, "domain / workgroup");
  app.add_flag("--sign", g.sign, "require signing of every message");
  app.add_flag("--seal", g.seal, "require encryption of every message");
  app.add_flag("--guest", g.guest, "log on as guest");
  app.add_flag("--anonymous", g.anonymous, "anonymous (null) session");
  app.add_option("-p,--port", g.port, "TCP port (default 445 or the one in the UNC)");
  app.add_option("--vers", g.vers, "dialect: 3.0, 3.0.2, 3.1.1 or default (all)");
  app.add_option("--rdma", g.rdma, "transport policy: yes, no or auto (default auto)");
  app.add_flag("--json", g.json, "machine-readable output (probe, get, put)");
  app.add_flag("-d,--debug", g.debug, "debug log to stderr");
  app.add_flag("--no-progress", g.no_progress, "no progress bar");

  std::string unc_text, local, target;
  auto* ls = app.add_subcommand("ls", "list a directory");
  auto* st = app.add_subcommand("stat", "show a file's metadata");
  auto* get = app.add_subcommand("get", "copy a remote file to LOCAL (- for stdout)");
  auto* put = app.add_subcommand("put", "copy LOCAL (- for stdin) to a remote file");
  auto* rm = app.add_subcommand("rm", "delete a file");
  auto* mkd = app.add_subcommand("mkdir", "create a directory");
  auto* rmd = app.add_subcommand("rmdir", "delete an empty directory");
  auto* mv = app.add_subcommand("mv", "rename: smb3 mv //srv/share/from to/path");
  auto* probe = app.add_subcommand("probe", "connect and show what was negotiated");
  for (auto* sc : {ls, st, get, put, rm, mkd, rmd, mv, probe})
    sc->add_option("unc", unc_text, "//server[:port]/share[/path]")->required();
  get->add_option("local", local, "local file")->required();
  put->add_option("local", local, "local file")->required();
  mv->add_option("to", target, "new share-relative path")->required();
  bool replace = false;
  mv->add_flag("-f,--force", replace, "replace an existing target");

  CLI11_PARSE(app, argc, argv);
  if (g.debug) smb3::SetLogLevel(smb3::LogLevel::kDebug);

  std::string err;
  auto unc = smb3::cli::ParseUnc(unc_text, &err);
  if (!unc) {
    std::fprintf(stderr, "smb3: %s: %s\n", unc_text.c_str(), err.c_str());
    return kUsage;
  }
  auto options = BuildOptions(g, *unc);
  if (!options.ok()) return Fail(options.status());
  auto connected = smb3::Client::Connect(*options);
  if (!connected.ok()) return Fail(connected.status());
  smb3::Client& client = **connected;
  const std::string& path = unc->path;

  if (probe->parsed()) {
    auto info = client.info();
    auto ifs = client.QueryNetworkInterfaces();
    if (g.json) {
      std::string out = InfoJson(info);
      out.pop_back();
      out += ",\"interfaces\":";
      if (ifs.ok()) {
        out += "[";
        for (size_t i = 0; i < ifs->size(); ++i) {
          const auto& n = (*ifs)[i];
          char buf[256];
          std::snprintf(buf, sizeof buf,
                        "%s{\"index\":%u,\"address\":\"%s\",\"rdma_capable\":%s,\"rss_capable\":%s,"
                        "\"link_speed\":%" PRIu64 "}",
                        i ? "," : "", n.if_index, n.address.c_str(), n.rdma_capable ? "true" : "false",
                        n.rss_capable ? "true" : "false", n.link_speed);
          out += buf;
        }
        out += "]";
      } else {
        out += "null,\"interfaces_error\":\"" + smb3::JsonEscape(ifs.status().ToString()) + "\"";
      }
      out += ",\"stats\":" + smb3::ClientStatsJson(client.stats()) + "}";
      std::printf("%s\n", out.c_str());
    } else {
      std::printf("server        %s:%u\ntransport     %s (%s)\ndialect       SMB %s\n"
                  "signing       %s%s\nencryption    %s\nmax read      %u\nmax write     %u\n"
                  "max transact  %u\ncredits       %u\nserver guid   %s\n",
                  info.server.c_str(), info.port,
                  info.transport == smb3::TransportKind::kTcp ? "TCP" : "SMB Direct",
                  info.transport_reason.c_str(), DialectText(info.dialect), info.signing.c_str(),
                  info.signing_required ? " (every message)" : "", info.cipher.c_str(),
                  info.max_read_size, info.max_write_size, info.max_transact_size, info.credits,
                  info.server_guid.c_str());
      if (ifs.ok()) {
        for (const auto& n : *ifs)
          std::printf("interface     %s index %u %s%s%.1f Gbit/s\n", n.address.c_str(), n.if_index,
                      n.rdma_capable ? "RDMA " : "", n.rss_capable ? "RSS " : "", n.link_speed / 1e9);
      } else {
        std::printf("interfaces    unavailable (%s)\n", ifs.status().ToString().c_str());
      }
    }
    return kOk;
  }
  if (ls->parsed()) {
    auto entries = client.ListDirectory(path);
    if (!entries.ok()) return Fail(entries.status());
    for (const auto& e : *entries)
      std::printf("%c %14" PRIu64 "  %s  %s\n", e.info.is_directory() ? 'd' : '-', e.info.end_of_file,
                  FormatTime(e.info.last_write_time).c_str(), e.name.c_str());
    return kOk;
  }
  if (st->parsed()) {
    auto info = client.Stat(path);
    if (!info.ok()) return Fail(info.status());
    std::printf("path        %s\ntype        %s\nsize        %" PRIu64 "\nallocated   %" PRIu64
                "\nattributes  0x%08x\nfile id     %" PRIu64 "\nlinks       %u\nmodified    %s\n"
                "accessed    %s\nchanged     %s\ncreated     %s\n",
                path.empty() ? "/" : path.c_str(), info->is_directory() ? "directory" : "file",
                info->end_of_file, info->allocation_size, info->attributes, info->file_id, info->nlink,
                FormatTime(info->last_write_time).c_str(), FormatTime(info->last_access_time).c_str(),
                FormatTime(info->change_time).c_str(), FormatTime(info->creation_time).c_str());
    return kOk;
  }
  if (rm->parsed()) {
    Status s = client.Unlink(path);
    return s.ok() ? kOk : Fail(s);
  }
  if (mkd->parsed()) {
    Status s = client.Mkdir(path);
    return s.ok() ? kOk : Fail(s);
  }
  if (rmd->parsed()) {
    Status s = client.Rmdir(path);
    return s.ok() ? kOk : Fail(s);
  }
  if (mv->parsed()) {
    std::string to = target;
    while (!to.empty() && (to.front() == '/' || to.front() == '\\')) to.erase(0, 1);
    Status s = client.RenamePath(path, to, replace);
    return s.ok() ? kOk : Fail(s);
  }

  // get / put
  Progress progress(!g.no_progress && !g.json);
  smb3::cli::TransferOptions to;
  to.progress = [&](uint64_t d, uint64_t t) { progress.Update(d, t); };
  auto start = std::chrono::steady_clock::now();
  smb3::Result<uint64_t> moved(Status::Invalid("no transfer"));
  if (get->parsed()) {
    smb3::OpenOptions oo;
    oo.kind = smb3::FileKind::kFile;
    auto opened = client.Open(path, oo);
    if (!opened.ok()) return Fail(opened.status());
    int fd = local == "-" ? STDOUT_FILENO : ::open(local.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(Status::Errno(errno, "open local file"));
    moved = smb3::cli::Download(client, opened->handle, opened->info.end_of_file, fd, to);
    Status cs = client.Close(opened->handle);
    if (fd != STDOUT_FILENO && ::close(fd) != 0 && moved.ok()) moved = Status::Errno(errno, "close local file");
    if (moved.ok() && !cs.ok()) moved = cs;
  } else {
    int fd = local == "-" ? STDIN_FILENO : ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(Status::Errno(errno, "open local file"));
    struct stat sb;
    uint64_t size = UINT64_MAX;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) size = static_cast<uint64_t>(sb.st_size);
    smb3::OpenOptions oo;
    oo.desired_access = smb3::kAccessReadData | smb3::kAccessWriteData | smb3::kAccessReadAttributes |
                        smb3::kAccessWriteAttributes | smb3::kAccessSynchronize;
    oo.disposition = smb3::Disposition::kOverwriteIf;
    oo.kind = smb3::FileKind::kFile;
    auto opened = client.Open(path, oo);
    if (!opened.ok()) return Fail(opened.status());
    moved = smb3::cli::Upload(client, opened->handle, fd, size, to);
    Status cs = client.Close(opened->handle);
    if (fd != STDIN_FILENO) ::close(fd);
    if (moved.ok() && !cs.ok()) moved = cs;
  }
  if (!moved.ok()) return Fail(moved.status());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (g.json) {
    std::printf("{\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"gbps\":%.4f,\"connection\":%s,\"stats\":%s}\n",
                *moved, secs, secs > 0 ? *moved / secs / 1e9 : 0.0, InfoJson(client.info()).c_str(),
                smb3::ClientStatsJson(client.stats()).c_str());
  } else if (isatty(STDERR_FILENO) && !g.no_progress) {
    std::fprintf(stderr, "%" PRIu64 " bytes in %.2f s (%.2f GB/s)\n", *moved, secs,
                 secs > 0 ? *moved / secs / 1e9 : 0.0);
  }
  return kOk;
}
