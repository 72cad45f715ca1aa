// SPDX-License-Identifier: LGPL-2.1-or-later
// Security properties checked against a real Samba:
//  - no password, NT hash or NTLMv2 key appears in the library's log at its most verbose level
//    (kTrace), nor in the `smb3` tool's debug output (-d), for a successful and a failed logon;
//  - signing cannot be downgraded: a man in the middle that clears SMB2_NEGOTIATE_SIGNING_REQUIRED
//    in the NEGOTIATE response of a server that requires signing is detected — by the preauth
//    integrity hash in 3.1.1 ([MS-SMB2] 3.2.5.3.1: the session keys no longer match the server's)
//    and by FSCTL_VALIDATE_NEGOTIATE_INFO in 3.0.2 (3.2.5.5) — and the session is never set up.
// The man in the middle is RewritingProxy below: a TCP relay that hands every whole message the
// server sends to a rewrite function.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/ntlmssp.h"
#include "base/utf16.h"
#include "crypto/crypto.h"
#include "smb3/client.h"
#include "smb3/log.h"
#include "support/samba_client.h"
#include "support/samba_server.h"

namespace smb3 {
namespace {

using test::SambaOptions;
using test::SambaServer;

std::unique_ptr<SambaServer> StartOrDie(const SambaOptions& o = {}) { return test::StartSamba(o); }

ClientOptions OptionsFor(const SambaServer& s, uint16_t port) {
  ClientOptions o = test::SambaClientOptions(s, port);
  o.connect_timeout = std::chrono::milliseconds(10000);
  o.request_timeout = std::chrono::milliseconds(10000);
  return o;
}

std::string Hex(ByteView b, bool upper) {
  static const char* kLower = "0123456789abcdef";
  static const char* kUpper = "0123456789ABCDEF";
  const char* digits = upper ? kUpper : kLower;
  std::string s;
  for (uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

// Every form in which `password` could leak: itself, its UTF-16LE bytes (raw and hex), its NT hash
// MD4(UTF-16LE(password)) and the NTLMv2 key NTOWFv2 (hex, both cases, and raw).
std::vector<std::string> SecretForms(const std::string& password, const std::string& user,
                                     const std::string& domain) {
  std::vector<std::string> forms = {password};
  auto utf16 = Utf8ToUtf16le(password);
  EXPECT_TRUE(utf16.ok());
  if (!utf16.ok()) return forms;
  forms.emplace_back(utf16->begin(), utf16->end());
  forms.push_back(Hex(*utf16, false));
  forms.push_back(Hex(*utf16, true));
  auto nt = crypto::Md4(*utf16);
  EXPECT_TRUE(nt.ok());
  auto v2 = auth::NtowfV2(password, user, domain);
  EXPECT_TRUE(v2.ok());
  for (ByteView key : {ByteView(nt->data(), nt->size()), ByteView(v2->data(), v2->size())}) {
    forms.push_back(Hex(key, false));
    forms.push_back(Hex(key, true));
    forms.emplace_back(key.begin(), key.end());
  }
  return forms;
}

// Captures the library's log at kTrace for the life of the object.
class LogCapture {
 public:
  LogCapture() : saved_level_(GetLogLevel()) {
    SetLogLevel(LogLevel::kTrace);
    SetLogSink([this](LogLevel, std::string_view m) {
      std::lock_guard lock(mu_);
      text_.append(m);
      text_ += '\n';
      ++lines_;
    });
  }
  ~LogCapture() {
    SetLogSink(nullptr);
    SetLogLevel(saved_level_);
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  size_t lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  LogLevel saved_level_;
  mutable std::mutex mu_;
  std::string text_;
  size_t lines_ = 0;
};

void ExpectNoSecret(const std::string& log, const std::vector<std::string>& forms,
                    const char* where) {
  for (size_t i = 0; i < forms.size(); ++i) {
    EXPECT_EQ(log.find(forms[i]), std::string::npos) << where << ": secret form #" << i << " found";
  }
}

// A TCP relay between one client and the server at 127.0.0.1:`server_port`. Bytes from the client
// pass unchanged; the server's byte stream is cut into direct-TCP messages ([MS-SMB2] 2.1: a
// 4-byte big-endian length, then the message) and each message goes through `rewrite` before it is
// forwarded (a length change is allowed).
class RewritingProxy {
 public:
  using Rewrite = std::function<void(std::vector<uint8_t>& message)>;

  RewritingProxy(uint16_t server_port, Rewrite rewrite)
      : server_port_(server_port), rewrite_(std::move(rewrite)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "proxy: cannot listen: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~RewritingProxy() {
    stop_ = true;
    if (accept_thread_.joinable()) accept_thread_.join();
    for (auto& t : relays_) t.join();
    ::close(listen_fd_);
  }
  RewritingProxy(const RewritingProxy&) = delete;
  RewritingProxy& operator=(const RewritingProxy&) = delete;

  uint16_t port() const { return port_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(server_port_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      relays_.emplace_back([this, client, server] { Relay(client, server); });
    }
  }

  static bool SendAll(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
      if (k <= 0) return false;
      p += k;
      n -= static_cast<size_t>(k);
    }
    return true;
  }

  void Relay(int client, int server) {
    std::vector<uint8_t> pending;  // server bytes not yet forming a whole message
    uint8_t buf[65536];
    while (!stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      if (p[0].revents) {
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0 || !SendAll(server, buf, static_cast<size_t>(n))) break;
      }
      if (p[1].revents) {
        ssize_t n = ::recv(server, buf, sizeof buf, 0);
        if (n <= 0) break;
        pending.insert(pending.end(), buf, buf + n);
        bool ok = true;
        while (ok && pending.size() >= 4) {
          size_t len = (size_t{pending[1]} << 16) | (size_t{pending[2]} << 8) | pending[3];
          if (pending.size() < 4 + len) break;
          std::vector<uint8_t> message(pending.begin() + 4, pending.begin() + 4 + long(len));
          pending.erase(pending.begin(), pending.begin() + 4 + long(len));
          rewrite_(message);
          uint8_t frame[4] = {0, uint8_t(message.size() >> 16), uint8_t(message.size() >> 8),
                              uint8_t(message.size())};
          ok = SendAll(client, frame, 4) && SendAll(client, message.data(), message.size());
        }
        if (!ok) break;
      }
    }
    ::close(client);
    ::close(server);
  }

  uint16_t server_port_;
  Rewrite rewrite_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::vector<std::thread> relays_;  // touched by the accept thread only, joined after it
};

// ---- no secrets in logs -----------------------------------------------------------------------

TEST(SambaSecurity, NoPasswordOrHashInTheLibraryLogAtTrace) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  const auto forms = SecretForms(s->password(), s->user(), s->domain());
  LogCapture capture;
  {
    auto c = Client::Connect(OptionsFor(*s, s->port()));
    ASSERT_TRUE(c.ok()) << DescribeError(c.status());
    OpenOptions o;
    o.desired_access = kAccessReadData | kAccessWriteData | kAccessReadAttributes | kAccessDelete |
                       kAccessSynchronize;
    o.disposition = Disposition::kOverwriteIf;
    o.kind = FileKind::kFile;
    auto f = (*c)->Open("secret-test.txt", o);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const std::string data = "hello";
    ASSERT_TRUE(
        (*c)->Write(f->handle, 0, {reinterpret_cast<const uint8_t*>(data.data()), data.size()})
            .ok());
    ASSERT_TRUE((*c)->Close(f->handle).ok());
    ASSERT_TRUE((*c)->ListDirectory("").ok());
    ASSERT_TRUE((*c)->Unlink("secret-test.txt").ok());
    (*c)->Disconnect();
  }
  // A failed logon: the wrong password must not show up either.
  ClientOptions wrong = OptionsFor(*s, s->port());
  wrong.credentials.password = "Wrong-Secret-Pw-9";
  auto bad = Client::Connect(wrong);
  ASSERT_FALSE(bad.ok());
  const auto wrong_forms = SecretForms(wrong.credentials.password, s->user(), s->domain());

  const std::string log = capture.text();
  // The check means something only if the library logged the authentication it performed.
  EXPECT_GE(capture.lines(), 4u) << log;
  EXPECT_NE(log.find("ntlmssp: AUTHENTICATE"), std::string::npos) << log;
  ExpectNoSecret(log, forms, "library log");
  ExpectNoSecret(log, wrong_forms, "library log (failed logon)");
}

// The smb3 tool built next to this test (BUILD/libsmb3client/cli/smb3).
std::filesystem::path Smb3ToolPath() {
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return self.parent_path().parent_path().parent_path().parent_path() / "libsmb3client" / "cli" /
         "smb3";
}

TEST(SambaSecurity, NoPasswordOrHashInTheToolsDebugOutput) {
  const auto tool = Smb3ToolPath();
  ASSERT_TRUE(std::filesystem::exists(tool))
      << tool << " not built (cmake --build ... --target smb3)";
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  const std::string unc = s->unc();
  auto ok = test::RunCommand({tool.string(), "-d", "-A", s->credentials_path().string(), "-p",
                              std::to_string(s->port()), "--no-progress", "ls", unc});
  ASSERT_TRUE(ok.ok()) << ok.output;
  EXPECT_NE(ok.output.find("ntlmssp: AUTHENTICATE"), std::string::npos) << ok.output;  // -d logs
  ExpectNoSecret(ok.output, SecretForms(s->password(), s->user(), s->domain()), "smb3 -d ls");

  // -U user%password on the command line with a wrong password: refused, and not echoed.
  const std::string wrong = "Wrong-Secret-Pw-9";
  auto bad = test::RunCommand({tool.string(), "-d", "-U", s->user() + "%" + wrong, "-p",
                               std::to_string(s->port()), "--no-progress", "ls", unc});
  EXPECT_EQ(bad.exit_code, 4) << bad.output;  // authentication failed
  ExpectNoSecret(bad.output, SecretForms(wrong, s->user(), s->domain()), "smb3 -d -U (failed)");
}

// ---- signing downgrade ------------------------------------------------------------------------

// Clears SMB2_NEGOTIATE_SIGNING_REQUIRED in the SecurityMode of a NEGOTIATE response ([MS-SMB2]
// 2.2.4: the body starts after the 64-byte header; SecurityMode is at body offset 2).
class SigningDowngrade {
 public:
  RewritingProxy::Rewrite Rewrite() {
    return [this](std::vector<uint8_t>& m) {
      if (m.size() < 64 + 4 || m[0] != 0xFE || m[1] != 'S' || m[2] != 'M' || m[3] != 'B') return;
      const uint16_t command = uint16_t(m[12] | (m[13] << 8));
      const bool response = (m[16] & 0x01) != 0;  // SMB2_FLAGS_SERVER_TO_REDIR
      if (command != 0 || !response || (m[64 + 2] & 0x02) == 0) return;
      m[64 + 2] &= static_cast<uint8_t>(~0x02);
      ++rewrites;
    };
  }
  std::atomic<int> rewrites{0};
};

class SambaSigningDowngrade : public ::testing::TestWithParam<uint16_t> {};

// Through the proxy without a rewrite the session comes up signed: the proxy itself is sound.
TEST_P(SambaSigningDowngrade, UntouchedNegotiateConnectsSigned) {
  SambaOptions so;
  so.signing = "mandatory";
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  RewritingProxy proxy(s->port(), [](std::vector<uint8_t>&) {});
  ClientOptions o = OptionsFor(*s, proxy.port());
  o.dialects = {GetParam()};
  auto c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << DescribeError(c.status());
  EXPECT_EQ((*c)->info().dialect, GetParam());
  EXPECT_TRUE((*c)->info().signing_required);
  EXPECT_TRUE((*c)->Echo().ok());
  (*c)->Disconnect();
}

TEST_P(SambaSigningDowngrade, ClearedSigningRequiredIsDetected) {
  SambaOptions so;
  so.signing = "mandatory";
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  SigningDowngrade downgrade;
  RewritingProxy proxy(s->port(), downgrade.Rewrite());
  ClientOptions o = OptionsFor(*s, proxy.port());
  o.dialects = {GetParam()};
  auto c = Client::Connect(o);
  EXPECT_EQ(downgrade.rewrites.load(), 1);
  ASSERT_FALSE(c.ok()) << "a session was set up after the NEGOTIATE response was tampered with: "
                       << "signing " << (*c)->info().signing << ", required "
                       << (*c)->info().signing_required;
  // Detected by the client's own checks (the session keys or the validate-negotiate answer do not
  // match), not reported as a wrong password or an unreachable server.
  EXPECT_TRUE(c.status().Is(Code::kSecurity)) << c.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Dialects, SambaSigningDowngrade,
                         ::testing::Values(uint16_t{0x0311}, uint16_t{0x0302}),
                         [](const ::testing::TestParamInfo<uint16_t>& p) {
                           return p.param == 0x0311 ? std::string("Smb311") : std::string("Smb302");
                         });

}  // namespace
}  // namespace smb3
