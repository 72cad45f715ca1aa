// SPDX-License-Identifier: LGPL-2.1-or-later
// The mounted file system under network faults: fuse-smbd mounts a real Samba share through
// tests/support/fault_proxy, and dd and fio run through the mount while the proxy cuts the
// connection. The data must come out whole (sha256 equal, fio verify with 0 mismatches).
//
// Needs the fuse-smbd binary (a build with SMB3_BUILD_FUSE=ON; found next to this test binary in
// the build tree, or named by $FUSE_SMBD_BIN), /dev/fuse, fusermount3 and fio. Without the binary
// the tests say so and skip: the fuse tier is where it is required.
// SMB3_FAULT_DD_MIB sets the dd size (default 256); SMB3_FAULT_FIO_MIB the size of each fio job's
// file (default 48 for the two sequential jobs, two thirds of it for the two random ones; 2048
// moves 4 GiB sequential + 2.7 GiB random).
// The daemon runs in the foreground (-f, verbose) with its log in the Samba directory, printed when
// a test fails. Sanitized builds: its sanitizer reports go to files there too (log_path); TearDown
// waits for the daemon to exit and fails on any report.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "support/fault_proxy.h"
#include "support/samba_server.h"

namespace smb3 {
namespace {

namespace fs = std::filesystem;
using test::FaultProxy;
using test::RunCommand;
using test::RunOptions;
using test::SambaOptions;
using test::SambaServer;
using Dir = FaultProxy::Direction;

constexpr uint64_t kMiB = 1024 * 1024;

std::string FuseSmbdBinary() {
  if (const char* env = std::getenv("FUSE_SMBD_BIN")) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  // <build>/tests/integration/samba/samba_integration_test -> <build>/fuse-smbd/fuse-smbd
  fs::path bin = self.parent_path().parent_path().parent_path().parent_path() / "fuse-smbd" / "fuse-smbd";
  return fs::exists(bin) ? bin.string() : std::string();
}

std::string Sha256(const std::string& path) {
  auto r = RunCommand({"sha256sum", path}, {.timeout = std::chrono::minutes(5)});
  EXPECT_TRUE(r.ok()) << r.output;
  return r.output.substr(0, 64);
}

// A Samba share granting durable handles, a proxy in front of it, and fuse-smbd mounted through
// the proxy.
class MountFault : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = FuseSmbdBinary();
    if (bin_.empty())
      GTEST_SKIP() << "fuse-smbd is not built here (configure with -DSMB3_BUILD_FUSE=ON or set FUSE_SMBD_BIN)";
    if (access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/fuse is absent";
    SambaOptions so;
    so.global = {"durable handles = yes", "kernel oplocks = no", "kernel share modes = no",
                 "posix locking = no"};
    // The cut tests' share is a tmpfs. On ext4, Samba 4.17 refuses some durable reconnects of a
    // file being written: it compares the file's stat with what it saved at the disconnect, and
    // st_blocks moves in between (smbd.log: "stat_ex.st_ex_blocks differs ... denying durable
    // reconnect", source3/smbd/durable.c), after which the client's re-open by path waits for
    // Samba to drop the disconnected open (60 s) and can still meet a sharing violation: EIO, by
    // design, but not what these tests measure. The restart test keeps the share on disk (a
    // tmpfs share comes back empty); its handles are re-opened by path anyway.
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    so.share_tmpfs = test.find("Restart") == std::string::npos;
    std::string error;
    samba_ = SambaServer::Start(so, &error);
    ASSERT_TRUE(samba_) << error;
    proxy_ = FaultProxy::Start(samba_->host(), samba_->port(), &error);
    ASSERT_TRUE(proxy_) << error;
    work_ = samba_->dir() / "work";
    mnt_ = samba_->dir() / "mnt";
    fs::create_directories(work_);
    fs::create_directories(mnt_);
    std::string source = "//127.0.0.1:" + std::to_string(proxy_->port()) + "/" + samba_->share();
    san_log_ = samba_->dir() / "fuse-smbd-sanitizer";
    RunOptions mount_options;
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}) {
      const char* inherited = std::getenv(name);
      mount_options.env.push_back(std::string(name) + "=" + (inherited ? inherited + std::string(":") : "") +
                                  "log_path=" + san_log_.string());
    }
    // In the foreground (-f) and verbose, its log in a file: with no syslog here, a detached
    // daemon's account of a failed reconnect would be lost, and a failing test prints it.
    daemon_log_ = samba_->dir() / "fuse-smbd.log";
    auto r = RunCommand({"sh", "-c", "exec \"$0\" \"$1\" \"$2\" -f -o \"$3\" >\"$4\" 2>&1 </dev/null &",
                         bin_, source, mnt_.string(),
                         "verbose,credentials=" + samba_->credentials_path().string(),
                         daemon_log_.string()},
                        mount_options);
    ASSERT_TRUE(r.ok()) << "could not start fuse-smbd: " << r.output;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!Mounted()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "mount failed:\n" << DaemonLog();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    mounted_ = true;
  }

  bool Mounted() const {
    std::ifstream in("/proc/mounts");
    std::string device, dir, rest;
    while (in >> device >> dir && std::getline(in, rest))
      if (dir == mnt_.string()) return true;
    return false;
  }

  std::string DaemonLog() const {
    std::ifstream in(daemon_log_);
    std::ostringstream all;
    all << in.rdbuf();
    std::string text = all.str();
    constexpr size_t kTail = 16384;
    return text.size() > kTail ? "[...]\n" + text.substr(text.size() - kTail) : text;
  }

  void TearDown() override {
    if (mounted_) {
      auto r = RunCommand({"fusermount3", "-u", mnt_.string()});
      if (!r.ok()) (void)RunCommand({"fusermount3", "-u", "-z", mnt_.string()});
      // The daemon exits once unmounted; sanitized, it checks for leaks first.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (RunCommand({"pgrep", "-f", "^" + bin_ + " .*" + mnt_.string()}).ok()) {
        if (std::chrono::steady_clock::now() > deadline) {
          ADD_FAILURE() << "fuse-smbd still running 60 s after unmounting " << mnt_;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    if (HasFailure()) std::printf("fuse-smbd's log (%s):\n%s\n", daemon_log_.c_str(), DaemonLog().c_str());
    if (san_log_.empty()) return;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(san_log_.parent_path(), ec)) {
      if (!entry.path().filename().string().starts_with(san_log_.filename().string() + ".")) continue;
      std::ifstream in(entry.path());
      std::ostringstream report;
      report << in.rdbuf();
      ADD_FAILURE() << "fuse-smbd sanitizer report (" << entry.path().filename() << "):\n" << report.str();
    }
  }

  // Cuts the connection `cuts` times, one every `every` bytes in `dir`, while `running`.
  std::thread Cutter(Dir dir, uint64_t every, uint64_t cuts, std::atomic<bool>& running) {
    return std::thread([this, dir, every, cuts, &running] {
      std::mt19937 rng(3);
      uint64_t base = proxy_->counters().cuts;
      while (running && proxy_->counters().cuts - base < cuts) {
        uint64_t before = proxy_->counters().cuts;
        proxy_->CutAfter(dir, every / 2 + rng() % every);
        while (running && proxy_->counters().cuts == before)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }

  std::string bin_;
  std::unique_ptr<SambaServer> samba_;
  std::unique_ptr<FaultProxy> proxy_;
  fs::path work_, mnt_, san_log_, daemon_log_;
  bool mounted_ = false;
};

uint64_t DdMiB() {
  const char* v = std::getenv("SMB3_FAULT_DD_MIB");
  uint64_t mib = v ? std::strtoull(v, nullptr, 10) : 0;
  return mib ? mib : 256;
}

TEST_F(MountFault, DdThroughMountSurvivesCuts) {
  const uint64_t mib = DdMiB();
  const std::string src = (work_ / "src").string();
  auto gen = RunCommand({"dd", "if=/dev/urandom", "of=" + src, "bs=1M", "count=" + std::to_string(mib),
                         "status=none"});
  ASSERT_TRUE(gen.ok()) << gen.output;
  const std::string want = Sha256(src);

  std::atomic<bool> running{true};
  // 10 cuts spread over the upload (client->server bytes).
  std::thread cutter = Cutter(Dir::kClientToServer, mib * kMiB / 11, 10, running);
  auto dd = RunCommand({"dd", "if=" + src, "of=" + (mnt_ / "big").string(), "bs=1M", "conv=fsync",
                        "status=none"},
                       {.timeout = std::chrono::minutes(10)});
  running = false;
  cutter.join();
  ASSERT_TRUE(dd.ok()) << "dd through the mount failed under cuts: " << dd.output;
  uint64_t cuts_in = proxy_->counters().cuts;
  EXPECT_GE(cuts_in, 5u) << "the copy ended before most cuts fired";

  EXPECT_EQ(Sha256((samba_->share_path() / "big").string()), want) << "the server's copy differs";
  // Read back through the mount (O_DIRECT: from the server, not the page cache) under cuts too.
  running = true;
  cutter = Cutter(Dir::kServerToClient, mib * kMiB / 6, 5, running);
  auto back = RunCommand({"dd", "if=" + (mnt_ / "big").string(), "of=" + (work_ / "back").string(),
                          "bs=1M", "iflag=direct", "status=none"},
                         {.timeout = std::chrono::minutes(10)});
  running = false;
  cutter.join();
  ASSERT_TRUE(back.ok()) << back.output;
  EXPECT_EQ(Sha256((work_ / "back").string()), want) << "the read-back differs";
  std::printf("[ numbers ] dd %llu MiB in and out through the mount: %llu cuts survived, sha256 equal\n",
              static_cast<unsigned long long>(mib),
              static_cast<unsigned long long>(proxy_->counters().cuts));
}

// Samba killed (SIGKILL) and restarted while dd writes 64 MiB through the mount: Samba's restart
// loses the durable handle, the client re-opens the file by path (the same file, by CreationTime
// and on-disk id) and dd finishes with no error; the server's copy matches.
TEST_F(MountFault, DdSurvivesSambaRestart) {
  const uint64_t mib = 64;
  const std::string src = (work_ / "src").string();
  auto gen = RunCommand({"dd", "if=/dev/urandom", "of=" + src, "bs=1M", "count=" + std::to_string(mib),
                         "status=none"});
  ASSERT_TRUE(gen.ok()) << gen.output;
  const std::string want = Sha256(src);
  const fs::path server_copy = samba_->share_path() / "restart";

  // One open of the file across the restart: a shell holds it on fd 3 while one dd writes the
  // first half and, once Samba has been killed and restarted, a second dd writes the rest and
  // fsyncs. The pause is by handshake (files in work_), so the kill lands mid-copy however fast
  // or slow this machine is.
  const fs::path half = work_ / "half-written", go = work_ / "go-on";
  const std::string script =
      "set -e; exec 3>\"$1\"; dd if=\"$2\" bs=1M count=$3 status=none >&3; : >\"$4\"; "
      "for i in $(seq 1 3000); do [ -e \"$5\" ] && break; sleep 0.1; done; [ -e \"$5\" ]; "
      "dd if=\"$2\" bs=1M skip=$3 conv=fsync status=none >&3; exec 3>&-";
  test::CommandResult dd;
  std::thread writer([&] {
    dd = RunCommand({"bash", "-c", script, "dd-across-restart", (mnt_ / "restart").string(), src,
                     std::to_string(mib / 2), half.string(), go.string()},
                    {.timeout = std::chrono::minutes(10)});
  });
  // Once dd wrote half and at least a quarter of the file is on the server.
  std::error_code ec;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (!(fs::exists(half, ec) && fs::exists(server_copy, ec) &&
           fs::file_size(server_copy, ec) >= mib * kMiB / 4) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool halfway = fs::exists(half, ec);
  int killed = 0;
  std::string error;
  bool restarted = false;
  if (halfway) {
    killed = samba_->KillAll();
    restarted = samba_->Restart(&error);
  }
  std::ofstream(go.string()).put('\n');
  writer.join();
  ASSERT_TRUE(halfway) << "dd did not write the first half within 5 minutes: " << dd.output;
  EXPECT_GT(killed, 0);
  ASSERT_TRUE(restarted) << error;
  ASSERT_TRUE(dd.ok()) << "dd through the mount failed across the Samba restart (exit "
                       << dd.exit_code << "): " << dd.output;
  EXPECT_EQ(Sha256(server_copy.string()), want) << "the server's copy differs";
  // The daemon's client says how the open came back.
  auto stats = RunCommand({bin_, "stats", mnt_.string(), "--json"});
  ASSERT_TRUE(stats.ok()) << stats.output;
  EXPECT_EQ(stats.output.find("\"reopened_by_path\":0"), std::string::npos) << stats.output;
  EXPECT_NE(stats.output.find("\"reopened_by_path\":"), std::string::npos) << stats.output;
  std::printf("[ numbers ] dd %llu MiB through the mount across a Samba kill and restart: sha256 equal\n",
              static_cast<unsigned long long>(mib));
}

uint64_t FioMiB() {
  const char* v = std::getenv("SMB3_FAULT_FIO_MIB");
  uint64_t mib = v ? std::strtoull(v, nullptr, 10) : 0;
  return mib ? mib : 48;
}

TEST_F(MountFault, FioVerifyThroughMountWhileCutting) {
  if (RunCommand({"fio", "--version"}).exit_code != 0) GTEST_SKIP() << "fio is not installed";
  const uint64_t seq = FioMiB(), rnd = FioMiB() * 2 / 3;
  std::atomic<bool> running{true};
  std::thread cutter = Cutter(Dir::kClientToServer, seq * kMiB / 2, 8, running);
  // Sequential and random writes, 4 jobs, each verified with crc32c after writing.
  auto fio = RunCommand({"fio", "--directory=" + mnt_.string(), "--ioengine=psync", "--direct=1",
                         "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
                         "--verify_state_save=0", "--end_fsync=1",
                         "--numjobs=2", "--group_reporting", "--output-format=terse",
                         "--name=seq", "--rw=write", "--bs=1M", "--size=" + std::to_string(seq) + "M",
                         "--name=rand", "--rw=randwrite", "--bs=64k", "--size=" + std::to_string(rnd) + "M"},
                        {.timeout = std::chrono::minutes(60)});
  running = false;
  cutter.join();
  EXPECT_TRUE(fio.ok()) << "fio failed (exit " << fio.exit_code << "):\n" << fio.output;
  EXPECT_EQ(fio.output.find("verify"), std::string::npos) << fio.output;
  EXPECT_GE(proxy_->counters().cuts, 1u);
  std::printf("[ numbers ] fio verify crc32c (seq 2x%llu MiB + rand 2x%llu MiB) through the mount: %llu cuts, 0 mismatches\n",
              static_cast<unsigned long long>(seq), static_cast<unsigned long long>(rnd),
              static_cast<unsigned long long>(proxy_->counters().cuts));
}

}  // namespace
}  // namespace smb3
