// SPDX-License-Identifier: LGPL-2.1-or-later
// The rdma= policy against a real Samba (which has no SMB Direct): rdma=auto on a host without an
// RDMA device falls back to TCP at once and says why; rdma=yes fails naming cause and fix;
// rdma=no says so. On a host that has an RDMA device the fallback names another cause (Samba on
// 127.0.0.1 is not reachable over RDMA), still ending in TCP.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "smb3/client.h"
#include "support/samba_server.h"

namespace smb3 {
namespace {

using test::SambaOptions;
using test::SambaServer;

bool HostHasRdmaDevice() {
  std::error_code ec;
  return std::filesystem::exists("/sys/class/infiniband", ec) &&
         !std::filesystem::is_empty("/sys/class/infiniband", ec);
}

class TransportSelectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = SambaServer::Start(SambaOptions{}, &error);
    ASSERT_TRUE(server_) << error;
  }
  ClientOptions Options(RdmaPolicy rdma) const {
    ClientOptions o;
    o.server = server_->host();
    o.port = server_->port();
    o.share = server_->share();
    o.credentials.username = server_->user();
    o.credentials.password = server_->password();
    o.credentials.domain = server_->domain();
    o.echo_interval = std::chrono::seconds(0);
    o.rdma = rdma;
    return o;
  }
  std::unique_ptr<SambaServer> server_;
};

TEST(TransportSelect, AutoIsTheDefault) { EXPECT_EQ(ClientOptions{}.rdma, RdmaPolicy::kAuto); }

TEST_F(TransportSelectTest, AutoFallsBackToTcpAtOnceAndSaysWhy) {
  // A plain TCP connect beside it, as the measure of this machine's speed now.
  auto t0 = std::chrono::steady_clock::now();
  auto tcp = Client::Connect(Options(RdmaPolicy::kNo));
  const auto took_tcp = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(tcp.ok()) << DescribeError(tcp.status());
  t0 = std::chrono::steady_clock::now();
  auto c = Client::Connect(Options(RdmaPolicy::kAuto));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(c.ok()) << DescribeError(c.status());
  ConnectionInfo info = (*c)->info();
  EXPECT_EQ(info.transport, TransportKind::kTcp);
  if (!HostHasRdmaDevice()) {
    EXPECT_EQ(info.transport_reason, "no RDMA device: TCP");
    // No device is known before any network traffic: the fallback costs nothing measurable
    // (an RDMA attempt's timeouts would add seconds to the TCP connect's time).
    EXPECT_LT(took, 2 * took_tcp + std::chrono::seconds(3));
  } else {
    EXPECT_NE(info.transport_reason.find("TCP"), std::string::npos) << info.transport_reason;
  }
  // The fallback connection works.
  auto listing = (*c)->ListDirectory("");
  EXPECT_TRUE(listing.ok()) << DescribeError(listing.status());
}

TEST_F(TransportSelectTest, YesFailsNamingTheCauseAndTheFix) {
  auto c = Client::Connect(Options(RdmaPolicy::kYes));
  ASSERT_FALSE(c.ok());
  const std::string where = c.status().where();
  EXPECT_EQ(where.rfind("rdma=yes: ", 0), 0u) << where;
  EXPECT_NE(where.find("rdma=auto"), std::string::npos) << where;  // the fix offered
  if (!HostHasRdmaDevice()) {
    EXPECT_TRUE(c.status().Is(Code::kNotSupported)) << c.status().ToString();
    EXPECT_NE(where.find("no RDMA device"), std::string::npos) << where;
  }
}

TEST_F(TransportSelectTest, NoSaysSo) {
  auto c = Client::Connect(Options(RdmaPolicy::kNo));
  ASSERT_TRUE(c.ok()) << DescribeError(c.status());
  EXPECT_EQ((*c)->info().transport, TransportKind::kTcp);
  EXPECT_EQ((*c)->info().transport_reason, "rdma=no");
}

}  // namespace
}  // namespace smb3
