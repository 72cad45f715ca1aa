// SPDX-License-Identifier: LGPL-2.1-or-later
// Proves the Samba test harness (tests/support/samba-ctl, SambaServer) with Samba's own client:
// every security mode the other samba tests rely on is checked here with smbclient first.
#include <gtest/gtest.h>
#include <sys/vfs.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/samba_server.h"

namespace smb3::test {
namespace {

constexpr long kTmpfsMagic = 0x01021994;
constexpr size_t kMiB = 1024 * 1024;

std::unique_ptr<SambaServer> StartOrFail(const SambaOptions& options) {
  std::string error;
  auto server = SambaServer::Start(options, &error);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

void WriteFile(const std::filesystem::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

size_t CountOccurrences(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

// "aes-128-gcm" -> "aes_128_gcm" (GoogleTest names allow no '-').
std::string TestName(std::string name) {
  for (char& c : name) c = c == '-' ? '_' : c;
  return name;
}

// Puts `data` as `name` with smbclient (extra args first), gets it back, and checks both the copy
// that came back and the file smbd wrote into the share directory.
void ExpectRoundTrip(const SambaServer& server, const std::vector<std::string>& extra,
                     const std::string& name, const std::string& data) {
  std::filesystem::path local_in = server.dir() / ("in-" + name);
  std::filesystem::path local_out = server.dir() / ("out-" + name);
  WriteFile(local_in, data);
  std::vector<std::string> args = extra;
  args.insert(args.end(), {"-c", "put " + local_in.string() + " " + name + "; get " + name + " " +
                                     local_out.string()});
  CommandResult r = server.Smbclient(args);
  ASSERT_TRUE(r.ok()) << "smbclient exit " << r.exit_code << ":\n" << r.output << server.LogTail();
  EXPECT_EQ(ReadFile(local_out), data) << "file read back over SMB differs from what was written";
  EXPECT_EQ(ReadFile(server.share_path() / name), data) << "file in the share directory differs";
}

TEST(RunCommand, CapturesOutputExitCodeAndEnvironment) {
  CommandResult r = RunCommand({"sh", "-c", "echo out; echo err >&2; echo $SMB3_RC_TEST; exit 3"},
                               RunOptions{.env = {"SMB3_RC_TEST=from-env"}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.output, "out\nerr\nfrom-env\n");
}

TEST(RunCommand, FeedsInputAndSurvivesAChildThatIgnoresIt) {
  CommandResult cat = RunCommand({"cat"}, RunOptions{.input = "hello\n"});
  EXPECT_TRUE(cat.ok()) << cat.output;
  EXPECT_EQ(cat.output, "hello\n");
  // `true` never reads: writing the rest of 4 MiB hits EPIPE, which must not kill this process.
  CommandResult ignores = RunCommand({"true"}, RunOptions{.input = std::string(4 * kMiB, 'x')});
  EXPECT_TRUE(ignores.ok()) << ignores.output;
}

TEST(RunCommand, KillsAChildThatOutlivesItsTimeout) {
  auto start = std::chrono::steady_clock::now();
  CommandResult r =
      RunCommand({"sleep", "30"}, RunOptions{.timeout = std::chrono::milliseconds(300)});
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(RunCommand, ReportsAProgramThatCannotStart) {
  CommandResult r = RunCommand({"smb3-no-such-program"});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.output.find("smb3-no-such-program"), std::string::npos) << r.output;
}

TEST(SambaHarness, DefaultServerRoundTripsOneMebibyte) {
  auto server = StartOrFail({});
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  EXPECT_NE(server->port(), 445);
  EXPECT_EQ(server->user(), "smb3test");
  EXPECT_FALSE(server->password().empty());
  EXPECT_EQ(server->unc(), "//127.0.0.1/share");
  EXPECT_EQ(std::filesystem::status(server->credentials_path()).permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ExpectRoundTrip(*server, {}, "random.bin", RandomBytes(kMiB, 1));
}

TEST(SambaHarness, SmbdListensOnLoopbackOnly) {
  auto server = StartOrFail({});
  ASSERT_NE(server, nullptr);
  CommandResult ss = RunCommand({"ss", "-Hltn", "sport = :" + std::to_string(server->port())});
  ASSERT_TRUE(ss.ok()) << ss.output;
  // One listening socket, and its local address (4th column) is the loopback one.
  std::istringstream lines(ss.output);
  std::string line;
  std::vector<std::string> local_addresses;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string state, recv_q, send_q, local;
    if (fields >> state >> recv_q >> send_q >> local) local_addresses.push_back(local);
  }
  EXPECT_EQ(local_addresses,
            std::vector<std::string>{"127.0.0.1:" + std::to_string(server->port())})
      << ss.output;
}

TEST(SambaHarness, GuestCanUsePublicShare) {
  auto server = StartOrFail({});
  ASSERT_NE(server, nullptr);
  std::filesystem::path local = server->dir() / "guest.txt";
  WriteFile(local, "guest data\n");
  CommandResult r = RunCommand({"smbclient", "-s", server->client_conf_path().string(), "-p",
                                std::to_string(server->port()), "-m", "SMB3", "-N",
                                server->unc(server->public_share()), "-c",
                                "put " + local.string() + " guest.txt; ls"});
  ASSERT_TRUE(r.ok()) << r.output << server->LogTail();
  EXPECT_EQ(ReadFile(server->dir() / "public" / "guest.txt"), "guest data\n");
}

TEST(SambaHarness, WrongPasswordIsLogonFailure) {
  auto server = StartOrFail({});
  ASSERT_NE(server, nullptr);
  std::filesystem::path bad = server->dir() / "bad-credentials";
  WriteFile(bad, "username=" + server->user() + "\npassword=not-" + server->password() + "\n");
  // A later -A replaces the credentials Smbclient() passes first.
  CommandResult r = server->Smbclient({"-A", bad.string(), "-c", "ls"});
  EXPECT_FALSE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("NT_STATUS_LOGON_FAILURE"), std::string::npos) << r.output;
  // The right password still works on the same server.
  CommandResult good = server->Smbclient({"-c", "ls"});
  EXPECT_TRUE(good.ok()) << good.output;
}

TEST(SambaHarness, PasswordOptionIsUsed) {
  SambaOptions options;
  options.password = "Another-Pw-42";
  auto server = StartOrFail(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->password(), "Another-Pw-42");
  CommandResult r = server->Smbclient({"-c", "ls"});
  EXPECT_TRUE(r.ok()) << r.output;
}

// smbclient -d 10 logs "signed SMB2 message (sign_algo_id=N)" for each request it signs.
TEST(SambaHarness, MandatorySigningSignsEveryRequest) {
  SambaOptions mandatory;
  mandatory.signing = "mandatory";
  auto strict = StartOrFail(mandatory);
  ASSERT_NE(strict, nullptr);
  SambaOptions automatic;
  automatic.signing = "auto";
  auto relaxed = StartOrFail(automatic);
  ASSERT_NE(relaxed, nullptr);

  ExpectRoundTrip(*strict, {"--client-protection=sign"}, "signed.bin", RandomBytes(kMiB, 2));

  // With the client at its default, the server's requirement alone makes every request signed.
  CommandResult on_strict = strict->Smbclient({"-d", "10", "-c", "ls; ls; ls"});
  ASSERT_TRUE(on_strict.ok()) << on_strict.output;
  CommandResult on_relaxed = relaxed->Smbclient({"-d", "10", "-c", "ls; ls; ls"});
  ASSERT_TRUE(on_relaxed.ok()) << on_relaxed.output;
  size_t strict_signed = CountOccurrences(on_strict.output, "signed SMB2 message");
  size_t relaxed_signed = CountOccurrences(on_relaxed.output, "signed SMB2 message");
  EXPECT_GE(strict_signed, 10u) << on_strict.output;
  EXPECT_LT(relaxed_signed, strict_signed) << "signing = auto should not sign every request";
}

struct SigningCase {
  const char* algorithm;
  const char* sign_algo_id;  // [MS-SMB2] 2.2.3.1.7: 0 HMAC-SHA256, 1 AES-CMAC, 2 AES-GMAC
};

void PrintTo(const SigningCase& c, std::ostream* os) { *os << c.algorithm; }

class SambaSigningAlgorithm : public ::testing::TestWithParam<SigningCase> {};

TEST_P(SambaSigningAlgorithm, ServerPicksTheConfiguredAlgorithm) {
  SambaOptions options;
  options.signing = "mandatory";
  options.signing_algorithms = GetParam().algorithm;
  auto server = StartOrFail(options);
  ASSERT_NE(server, nullptr);
  CommandResult r = server->Smbclient({"--client-protection=sign", "-d", "10", "-c", "ls"});
  ASSERT_TRUE(r.ok()) << r.output;
  std::string expected = std::string("sign_algo_id=") + GetParam().sign_algo_id + ")";
  EXPECT_NE(r.output.find(expected), std::string::npos)
      << "no '" << expected << "' in smbclient's log";
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SambaSigningAlgorithm,
                         ::testing::Values(SigningCase{"aes-128-gmac", "2"},
                                           SigningCase{"aes-128-cmac", "1"}),
                         [](const ::testing::TestParamInfo<SigningCase>& p) {
                           return TestName(p.param.algorithm);
                         });

class SambaCipher : public ::testing::TestWithParam<const char*> {};

std::string SambaName(std::string cipher) {
  for (char& c : cipher) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return cipher;
}

// The server is limited to one cipher: a client offering it encrypts and round-trips data; a
// client offering only the three others cannot even set up a session.
TEST_P(SambaCipher, EncryptionRequiredWithOneCipher) {
  const std::string cipher = GetParam();
  SambaOptions options;
  options.encrypt = "required";
  options.ciphers = cipher;
  auto server = StartOrFail(options);
  ASSERT_NE(server, nullptr);

  const std::string offer_it = "--option=client smb3 encryption algorithms=" + SambaName(cipher);
  ExpectRoundTrip(*server, {"--client-protection=encrypt", offer_it}, "sealed.bin",
                  RandomBytes(kMiB, 3));

  CommandResult debug =
      server->Smbclient({"--client-protection=encrypt", offer_it, "-d", "10", "-c", "ls"});
  ASSERT_TRUE(debug.ok()) << debug.output;
  EXPECT_NE(debug.output.find("Encrypted SMB2 message"), std::string::npos)
      << "smbclient did not log encrypting a request";

  std::string others;
  for (const char* c : {"aes-128-gcm", "aes-128-ccm", "aes-256-gcm", "aes-256-ccm"}) {
    if (cipher != c) others += (others.empty() ? "" : ", ") + SambaName(c);
  }
  CommandResult refused =
      server->Smbclient({"--client-protection=encrypt",
                         "--option=client smb3 encryption algorithms=" + others, "-c", "ls"});
  EXPECT_FALSE(refused.ok()) << "a client without " << cipher << " got in:\n" << refused.output;
  EXPECT_NE(refused.output.find("NT_STATUS_ACCESS_DENIED"), std::string::npos) << refused.output;
}

INSTANTIATE_TEST_SUITE_P(Ciphers, SambaCipher,
                         ::testing::Values("aes-128-gcm", "aes-128-ccm", "aes-256-gcm",
                                           "aes-256-ccm"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return TestName(p.param);
                         });

TEST(SambaHarness, SizeLimitedShareRunsOutOfSpace) {
  SambaOptions options;
  options.share_size_mb = 2;
  auto server = StartOrFail(options);
  ASSERT_NE(server, nullptr);
  struct statfs fs {};
  ASSERT_EQ(statfs(server->share_path().c_str(), &fs), 0);
  EXPECT_EQ(static_cast<long>(fs.f_type), kTmpfsMagic) << "the share is not on a tmpfs";
  EXPECT_EQ(static_cast<uint64_t>(fs.f_blocks) * fs.f_bsize, 2 * kMiB);

  ExpectRoundTrip(*server, {}, "fits.bin", RandomBytes(kMiB, 4));
  std::filesystem::path big = server->dir() / "big.bin";
  WriteFile(big, RandomBytes(3 * kMiB, 5));
  CommandResult r = server->Smbclient({"-c", "put " + big.string() + " big.bin"});
  EXPECT_NE(r.output.find("NT_STATUS_DISK_FULL"), std::string::npos) << r.output;
  EXPECT_LT(std::filesystem::file_size(server->share_path() / "big.bin"), 3 * kMiB);

  std::string share = server->share_path().string();
  ASSERT_TRUE(server->Stop());
  EXPECT_NE(RunCommand({"mountpoint", "-q", share}).exit_code, 0) << "stop left the tmpfs mounted";
}

TEST(SambaHarness, UnlimitedTmpfsShareForBenchmarks) {
  SambaOptions options;
  options.share_tmpfs = true;
  auto server = StartOrFail(options);
  ASSERT_NE(server, nullptr);
  struct statfs fs {};
  ASSERT_EQ(statfs(server->share_path().c_str(), &fs), 0);
  EXPECT_EQ(static_cast<long>(fs.f_type), kTmpfsMagic) << "the share is not on a tmpfs";
  ExpectRoundTrip(*server, {}, "on-tmpfs.bin", RandomBytes(kMiB, 6));
  std::string share = server->share_path().string();
  ASSERT_TRUE(server->Stop());
  EXPECT_NE(RunCommand({"mountpoint", "-q", share}).exit_code, 0) << "stop left the tmpfs mounted";
}

TEST(SambaHarness, ProtocolRangeAndExtraGlobalLines) {
  SambaOptions options;
  options.max_protocol = "SMB3_02";
  auto capped = StartOrFail(options);
  ASSERT_NE(capped, nullptr);
  CommandResult r = capped->Smbclient({"-d", "10", "-c", "ls"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("negotiated dialect[SMB3_02]"), std::string::npos) << r.output;

  SambaOptions floor;
  floor.min_protocol = "SMB3_11";
  auto modern = StartOrFail(floor);
  ASSERT_NE(modern, nullptr);
  r = modern->Smbclient({"-m", "SMB3_02", "-c", "ls"});  // the later -m wins
  EXPECT_FALSE(r.ok()) << "a client capped at SMB3_02 got past min protocol SMB3_11:\n" << r.output;
  EXPECT_NE(r.output.find("NT_STATUS_NOT_SUPPORTED"), std::string::npos) << r.output;

  // --set lines come last in [global], so they override the script's own settings.
  SambaOptions overridden;
  overridden.global = {"server max protocol = SMB3_00"};
  auto old = StartOrFail(overridden);
  ASSERT_NE(old, nullptr);
  r = old->Smbclient({"-d", "10", "-c", "ls"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("negotiated dialect[SMB3_00]"), std::string::npos) << r.output;
}

TEST(SambaHarness, StopIsIdempotentAndEndsService) {
  auto server = StartOrFail({});
  ASSERT_NE(server, nullptr);
  std::string status_before =
      RunCommand({"bash", SambaServer::SambaCtlPath(), "status", server->dir().string()}).output;
  EXPECT_NE(status_before.find("running"), std::string::npos) << status_before;
  std::string error;
  ASSERT_TRUE(server->Stop(&error)) << error;
  ASSERT_TRUE(server->Stop(&error)) << error;
  CommandResult status =
      RunCommand({"bash", SambaServer::SambaCtlPath(), "status", server->dir().string()});
  EXPECT_EQ(status.exit_code, 1) << status.output;
  EXPECT_NE(status.output.find("stopped"), std::string::npos) << status.output;
  CommandResult r =
      server->Smbclient({"-c", "ls"}, {}, RunOptions{.timeout = std::chrono::seconds(30)});
  EXPECT_FALSE(r.ok()) << "smbclient still reached a stopped server:\n" << r.output;
  // A second stop through the script is a no-op as well.
  CommandResult again =
      RunCommand({"bash", SambaServer::SambaCtlPath(), "stop", server->dir().string()});
  EXPECT_TRUE(again.ok()) << again.output;
}

TEST(SambaHarness, RestartKeepsPortPasswordAndFiles) {
  SambaOptions options;
  options.password = "Restart-Pw-7";
  auto server = StartOrFail(options);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  const std::string data = RandomBytes(256 * 1024, 7);
  ExpectRoundTrip(*server, {}, "before-restart.bin", data);
  std::string error;
  ASSERT_TRUE(server->Restart(&error)) << error;
  EXPECT_EQ(server->port(), port);
  EXPECT_EQ(server->password(), "Restart-Pw-7");
  std::filesystem::path back = server->dir() / "after-restart.bin";
  CommandResult r = server->Smbclient({"-c", "get before-restart.bin " + back.string()});
  ASSERT_TRUE(r.ok()) << r.output << server->LogTail();
  EXPECT_EQ(ReadFile(back), data);
}

TEST(SambaHarness, ServersStartInParallelOnDistinctPorts) {
  constexpr int kServers = 3;
  std::vector<std::unique_ptr<SambaServer>> servers(kServers);
  std::vector<std::string> errors(kServers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] { servers[i] = SambaServer::Start({}, &errors[i]); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kServers; ++i) ASSERT_NE(servers[i], nullptr) << errors[i];
  for (int i = 0; i < kServers; ++i) {
    for (int j = i + 1; j < kServers; ++j) EXPECT_NE(servers[i]->port(), servers[j]->port());
  }
  // Each server serves its own directory.
  for (int i = 0; i < kServers; ++i) {
    ExpectRoundTrip(*servers[i], {}, "own-" + std::to_string(i), RandomBytes(64 * 1024, 10 + i));
  }
  for (int i = 0; i < kServers; ++i) {
    for (int j = 0; j < kServers; ++j) {
      EXPECT_EQ(std::filesystem::exists(servers[i]->share_path() / ("own-" + std::to_string(j))),
                i == j);
    }
  }
}

}  // namespace
}  // namespace smb3::test
