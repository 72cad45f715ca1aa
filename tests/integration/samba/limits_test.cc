// SPDX-License-Identifier: LGPL-2.1-or-later
// Item 7 limits against a real Samba: the client's memory (RSS of this process) stays under a
// documented ceiling with 10,000 files open at once and while listing a directory of 100,000
// entries. The measured values are printed and recorded as test properties.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "smb3/client.h"
#include "support/samba_client.h"
#include "support/samba_server.h"

namespace smb3 {
namespace {

using test::SambaOptions;
using test::SambaServer;

// Documented ceilings (README "Limits"), in KiB of RSS growth. Sanitizer builds keep freed blocks
// resident (ASan's quarantine holds up to 256 MiB) and add shadow memory, so there each ceiling
// gets that much on top.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr long kSanitizerSlackKiB = 256 * 1024;
#else
constexpr long kSanitizerSlackKiB = 0;
#endif
constexpr long kOpenFilesCeilingKiB = 16 * 1024 + kSanitizerSlackKiB;  // 10,000 open handles
constexpr long kListingCeilingKiB = 64 * 1024 + kSanitizerSlackKiB;    // 100,000 entries listed

constexpr int kOpenFiles = 10'000;
constexpr int kListingEntries = 100'000;

long StatusKiB(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::stol(line.substr(n + 1));
  }
  return -1;
}
long RssKiB() { return StatusKiB("VmRSS"); }
long PeakKiB() { return StatusKiB("VmHWM"); }
// Resets VmHWM to the current RSS (Linux: "5" > /proc/self/clear_refs).
bool ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::unique_ptr<SambaServer> StartOrDie(const SambaOptions& o) { return test::StartSamba(o); }

ClientOptions OptionsFor(const SambaServer& s) { return test::SambaClientOptions(s); }

TEST(SambaLimits, TenThousandOpenFilesStayUnderTheCeiling) {
  SambaOptions so;
  so.global = {"max open files = 20000"};
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto c = Client::Connect(OptionsFor(*s));
  ASSERT_TRUE(c.ok()) << DescribeError(c.status());
  Client& client = **c;
  ASSERT_TRUE(client.Mkdir("many").ok());

  const long rss_before = RssKiB();
  ASSERT_TRUE(ResetPeak());
  std::vector<FileHandle> handles(kOpenFiles);
  std::atomic<int> failures{0};
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      OpenOptions o;
      o.desired_access =
          kAccessReadData | kAccessWriteData | kAccessReadAttributes | kAccessSynchronize;
      o.disposition = Disposition::kOverwriteIf;
      o.kind = FileKind::kFile;
      for (int i = t; i < kOpenFiles; i += kThreads) {
        auto r = client.Open("many/f" + std::to_string(i), o);
        if (!r.ok()) {
          if (failures++ == 0) ADD_FAILURE() << "open " << i << ": " << r.status().ToString();
          continue;
        }
        handles[i] = r->handle;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  // All open at once: each still usable.
  EXPECT_TRUE(client.QueryInfo(handles.front()).ok());
  EXPECT_TRUE(client.QueryInfo(handles.back()).ok());
  const long growth = RssKiB() - rss_before;
  const long peak = PeakKiB() - rss_before;
  for (auto& h : handles) EXPECT_TRUE(client.Close(h).ok());
  handles.clear();
  const long after_close = RssKiB() - rss_before;
  std::printf(
      "10,000 open files: RSS growth %ld KiB while open (peak %ld KiB), %ld KiB after "
      "closing; ceiling %ld KiB\n",
      growth, peak, after_close, kOpenFilesCeilingKiB);
  RecordProperty("rss_growth_kib", std::to_string(growth));
  RecordProperty("rss_peak_growth_kib", std::to_string(peak));
  EXPECT_LT(peak, kOpenFilesCeilingKiB);
  client.Disconnect();
}

TEST(SambaLimits, HundredThousandEntryListingStaysUnderTheCeiling) {
  auto s = StartOrDie({});
  ASSERT_TRUE(s);
  // Seed the directory on the server's side: far faster than 100,000 CREATEs over the wire.
  const auto dir = s->share_path() / "big";
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  for (int i = 0; i < kListingEntries; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "entry-%06d.dat", i);
    int fd = ::open((dir / name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << name;
    ::close(fd);
  }
  auto c = Client::Connect(OptionsFor(*s));
  ASSERT_TRUE(c.ok()) << DescribeError(c.status());

  const long rss_before = RssKiB();
  ASSERT_TRUE(ResetPeak());
  const auto start = std::chrono::steady_clock::now();
  auto entries = (*c)->ListDirectory("big");
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(entries->size(), size_t{kListingEntries});
  const long growth = RssKiB() - rss_before;
  const long peak = PeakKiB() - rss_before;
  std::printf(
      "100,000-entry listing in %.1f s: RSS growth %ld KiB holding the result (peak %ld "
      "KiB); ceiling %ld KiB\n",
      secs, growth, peak, kListingCeilingKiB);
  RecordProperty("rss_growth_kib", std::to_string(growth));
  RecordProperty("rss_peak_growth_kib", std::to_string(peak));
  EXPECT_LT(peak, kListingCeilingKiB);
  (*c)->Disconnect();
}

}  // namespace
}  // namespace smb3
