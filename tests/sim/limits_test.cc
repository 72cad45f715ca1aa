// SPDX-License-Identifier: LGPL-2.1-or-later
// Item 7 limits in the sim tier: a scripted server that grants the protocol maximum of credits on
// every response. The window must stay bounded ([MS-SMB2] 3.2.5.1.4: CreditResponse is a uint16;
// the client caps what it holds at CreditWindow::kMaxHeld), the client must not keep asking for
// more than its target, and memory must not grow with the credits granted.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "conn/credits.h"
#include "connection_fixture.h"

namespace smb3::test {
namespace {

// Ceiling for the RSS growth over 20,000 round trips that each grant 65,535 credits. The window is
// a counter, so growth must not scale with the grants. Sanitizer builds keep freed blocks resident
// (ASan's quarantine holds up to 256 MiB) and add shadow memory, so there the ceiling is loose.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr long kCreditFloodCeilingKiB = (16 + 256) * 1024;
#else
constexpr long kCreditFloodCeilingKiB = 16 * 1024;
#endif

long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST_F(ConnectionSim, HugeCreditGrantsStayBounded) {
  StartConnection();
  ResponseOptions flood;
  flood.credits = 65535;
  constexpr int kBatch = 500;
  constexpr int kRounds = 40;  // 20,000 echoes, each answered with 65,535 more credits
  const long rss_before = RssKiB();
  uint32_t max_credits = 0;
  uint16_t max_request = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Outcome> outcomes(round == 0 ? 1 : kBatch);
    for (auto& o : outcomes) conn_->Submit(EchoRequest(), o.Callback());
    std::vector<ClientRequest> requests;
    while (requests.size() < outcomes.size()) {
      auto m = server_->Next();
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      for (auto& r : m->requests) requests.push_back(std::move(r));
    }
    for (const ClientRequest& r : requests) {
      max_request = std::max(max_request, r.header.credits);
      ASSERT_TRUE(server_->Reply({EchoResponse(r.header, flood)}).ok());
    }
    for (auto& o : outcomes) {
      ASSERT_TRUE(o.Wait());
      ASSERT_TRUE(o.result().ok()) << o.status().ToString();
    }
    max_credits = std::max(max_credits, conn_->stats().credits);
  }
  const long growth = RssKiB() - rss_before;
  std::printf(
      "credit flood: %d echoes granted 65535 credits each; max held %u, max CreditRequest "
      "%u, RSS growth %ld KiB (ceiling %ld KiB)\n",
      1 + (kRounds - 1) * kBatch, max_credits, unsigned{max_request}, growth,
      kCreditFloodCeilingKiB);
  RecordProperty("rss_growth_kib", std::to_string(growth));
  EXPECT_LE(max_credits, conn::CreditWindow::kMaxHeld);
  EXPECT_GT(max_credits, conn::CreditWindow::kTarget);  // the grants did arrive
  // Holding far more than its target, the client asks only to replace what it consumes.
  EXPECT_LE(max_request, conn::CreditWindow::kTarget);
  EXPECT_LT(growth, kCreditFloodCeilingKiB);
  EXPECT_TRUE(conn_->connected());
}

}  // namespace
}  // namespace smb3::test
