// SPDX-License-Identifier: LGPL-2.1-or-later
// tests/support/fault_proxy against an in-process echo server on 127.0.0.1.
#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace smb3::test {
namespace {

using Dir = FaultProxy::Direction;

// Accepts connections and echoes every byte back.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  void Run() {
    std::vector<std::thread> conns;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      conns.emplace_back([c] {
        char buf[65536];
        for (;;) {
          ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          if (send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        }
        close(c);
      });
    }
    for (auto& t : conns) t.join();
  }
  int fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends `out` and reads back as much as arrives (up to out.size()); -1 when the connection broke.
ssize_t RoundTrip(int fd, const std::vector<uint8_t>& out, std::vector<uint8_t>& in) {
  if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return -1;
  in.assign(out.size(), 0);
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = recv(fd, in.data() + got, out.size() - got, 0);
    if (n <= 0) return got > 0 ? static_cast<ssize_t>(got) : -1;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    proxy_ = FaultProxy::Start("127.0.0.1", echo_.port(), &error);
    ASSERT_TRUE(proxy_) << error;
  }
  EchoServer echo_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, ForwardsBothWaysAndCounts) {
  int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> out(100000), in;
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 7);
  ASSERT_EQ(RoundTrip(fd, out, in), static_cast<ssize_t>(out.size()));
  EXPECT_EQ(in, out);
  auto c = proxy_->counters();
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.bytes[0], out.size());
  EXPECT_EQ(c.bytes[1], out.size());
  close(fd);
}

TEST_F(FaultProxyTest, CutAfterNBytesForwardsExactlyN) {
  int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  proxy_->CutAfter(Dir::kServerToClient, 1000);
  std::vector<uint8_t> out(5000, 0x5a), in;
  ssize_t got = RoundTrip(fd, out, in);
  EXPECT_EQ(got, 1000);  // exactly the bytes before the cut, then a reset
  EXPECT_EQ(proxy_->counters().cuts, 1u);
  close(fd);
  // A new connection is not affected (the cut fired once).
  fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(RoundTrip(fd, out, in), static_cast<ssize_t>(out.size()));
  close(fd);
}

TEST_F(FaultProxyTest, FlipsOneByteAtItsPosition) {
  int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  proxy_->FlipAfter(Dir::kClientToServer, 300);
  std::vector<uint8_t> out(1000, 0x11), in;
  ASSERT_EQ(RoundTrip(fd, out, in), 1000);
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(in[i], i == 300 ? 0xee : 0x11) << i;
  EXPECT_EQ(proxy_->counters().flips, 1u);
  close(fd);
}

TEST_F(FaultProxyTest, StallSilencesCurrentConnectionsOnly) {
  int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> out(10, 1), in;
  ASSERT_EQ(RoundTrip(fd, out, in), 10);
  proxy_->StallCurrent();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(RoundTrip(fd, out, in), -1);  // nothing within the 2 s receive timeout
  int fd2 = Connect(proxy_->port());
  ASSERT_GE(fd2, 0);
  EXPECT_EQ(RoundTrip(fd2, out, in), 10);
  close(fd);
  close(fd2);
}

TEST_F(FaultProxyTest, DelayHoldsData) {
  proxy_->SetDelay(std::chrono::milliseconds(200));
  int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> out(10, 1), in;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(RoundTrip(fd, out, in), 10);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));  // both ways
  close(fd);
}

TEST_F(FaultProxyTest, RefusesForAWhileThenAccepts) {
  // Refusing until told otherwise, then told: no race with the proxy thread's clock.
  proxy_->RefuseFor(std::chrono::minutes(1));
  int fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);  // accepted by the kernel, then reset by the proxy
  std::vector<uint8_t> out(10, 1), in;
  EXPECT_EQ(RoundTrip(fd, out, in), -1);
  close(fd);
  EXPECT_EQ(proxy_->counters().refused, 1u);
  proxy_->RefuseFor(std::chrono::milliseconds(0));
  fd = Connect(proxy_->port());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(RoundTrip(fd, out, in), 10);
  close(fd);
}

TEST_F(FaultProxyTest, CutAllResetsEveryConnection) {
  int a = Connect(proxy_->port()), b = Connect(proxy_->port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::vector<uint8_t> out(10, 1), in;
  ASSERT_EQ(RoundTrip(a, out, in), 10);
  ASSERT_EQ(RoundTrip(b, out, in), 10);
  proxy_->CutAll();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(RoundTrip(a, out, in), -1);
  EXPECT_EQ(RoundTrip(b, out, in), -1);
  EXPECT_EQ(proxy_->counters().cuts, 2u);
  EXPECT_EQ(proxy_->counters().active, 0u);
  close(a);
  close(b);
}

}  // namespace
}  // namespace smb3::test
