// SPDX-License-Identifier: LGPL-2.1-or-later
// What reconnect over SMB Direct rests on, on the software RDMA device: a QP error (softrdma fault
// injection on the client's QP) under a client Connection running on the real SMB Direct transport
// must (1) fail the request in flight with kDisconnected — the status ClientImpl::WithReconnect /
// Attempt retry after a reconnect — and (2) call Connection::Options::on_closed exactly once with
// that cause, which is how ClientImpl learns of the break and starts its reconnect thread; and (3)
// a new SMB Direct connection to the same listener must work afterwards, as the reconnect's
// OpenConnection opens one through the same transport policy.
//
// Not covered here (and why): ClientImpl itself over softrdma. ClientImpl opens its transport
// through client/transport_select (rdma-core devices only) and has no seam for an in-process
// device, and the scripted peer speaks no SMB2 handshake or DH2C. The durable-handle and
// "handle lost" behaviour of the reconnect path is transport-independent and is tested against
// Samba over TCP (tests/integration/samba/reconnect_test.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>

#include "client/connection.h"
#include "smb2/echo.h"
#include "support/scripted_server.h"
#include "transport/smbdirect.h"
#include "transport/softrdma/fabric.h"
#include "unit/transport/smbdirect_peer.h"

namespace smb3::test {
namespace {

using namespace std::chrono_literals;
namespace rdma = transport::rdma;
namespace softrdma = transport::softrdma;
using client::Connection;
using client::Request;
using client::Response;
using transport::test::LockedEndpoint;
using transport::test::ScriptedSmbdPeer;

constexpr char kAddr[] = "10.99.0.9";
constexpr uint16_t kPort = 445;

// One SMB Direct link: a scripted peer listening on the fabric and a client Connection over the
// real transport, with on_closed recorded.
struct Link {
  std::unique_ptr<ScriptedSmbdPeer> peer;
  std::shared_ptr<Connection> conn;
  std::mutex mu;
  std::vector<Status> closed;
  std::promise<void> closed_once;
  LockedEndpoint* client_endpoint = nullptr;  // owned by the transport inside conn
};

void Establish(softrdma::Fabric& fabric, const std::shared_ptr<std::mutex>& mu, Link& link) {
  auto listening = fabric.Listen(kAddr, kPort);
  ASSERT_TRUE(listening.ok()) << listening.status().ToString();
  link.peer = std::make_unique<ScriptedSmbdPeer>(
      std::make_unique<LockedEndpoint>(std::move(listening).value(), mu));
  std::unique_ptr<rdma::Endpoint> ep;
  {
    std::lock_guard lock(*mu);
    auto resolved = fabric.Resolve(kAddr, kPort);
    ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
    auto locked = std::make_unique<LockedEndpoint>(std::move(resolved).value(), mu);
    link.client_endpoint = locked.get();
    ep = std::move(locked);
  }
  auto connecting = std::async(std::launch::async, [ep = std::move(ep)]() mutable {
    return transport::ConnectSmbDirect(std::move(ep), "softrdma-peer",
                                       transport::SmbDirectOptions{}, BufferPool::Create());
  });
  (void)link.peer->ExpectNegotiateRequest();
  smbd::NegotiateResponse r;
  r.credits_requested = 255;
  r.credits_granted = 255;
  r.max_read_write_size = 1048576;
  r.preferred_send_size = 8192;
  r.max_receive_size = 8192;
  r.max_fragmented_size = 1048576;
  ASSERT_TRUE(link.peer->SendNegotiateResponse(r).ok());
  auto t = connecting.get();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Connection::Options co;
  co.echo_interval = std::chrono::seconds(3600);
  // Long enough for nothing here to time out: a break must be noticed from the QP, not the clock.
  co.request_timeout = std::chrono::seconds(30);
  co.on_closed = [&link](Connection&, const Status& why) {
    std::lock_guard lock(link.mu);
    link.closed.push_back(why);
    if (link.closed.size() == 1) link.closed_once.set_value();
  };
  link.conn = std::make_shared<Connection>(std::move(t).value(), co);
  ASSERT_TRUE(link.conn->Start().ok());
}

Request Echo() {
  Request r = client::NewRequest(smb2::SMB2_ECHO);
  ByteWriter w(r.message);
  EXPECT_TRUE(smb2::EncodeEchoRequest(w).ok());
  return r;
}

// The next SMB2 request the peer receives.
std::optional<ClientRequest> NextRequest(ScriptedSmbdPeer& peer) {
  auto upper = peer.ReceiveUpper();
  if (!upper) return std::nullopt;
  auto m = DecodeClientMessage(*upper);
  if (!m.ok() || m->requests.size() != 1) return std::nullopt;
  return m->requests[0];
}

TEST(ReconnectSmbDirect, QpErrorFailsInFlightRequestClosesOnceAndANewLinkWorks) {
  auto mu = std::make_shared<std::mutex>();
  softrdma::FabricOptions fo;
  fo.progress = softrdma::FabricOptions::Progress::kOnPost;
  auto fabric = softrdma::Fabric::Create(fo);

  Link first;
  ASSERT_NO_FATAL_FAILURE(Establish(*fabric, mu, first));
  // A request the peer receives and never answers: in flight when the QP fails.
  std::promise<Result<Response>> done;
  first.conn->Submit(Echo(), [&done](Result<Response> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(NextRequest(*first.peer).has_value());
  {
    std::lock_guard lock(*mu);
    fabric->InjectQpError(first.client_endpoint->inner());
  }
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "the request in flight never failed";
  Result<Response> r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Code::kDisconnected)) << r.status().ToString();
  ASSERT_EQ(first.closed_once.get_future().wait_for(10s), std::future_status::ready);
  {
    std::lock_guard lock(first.mu);
    ASSERT_EQ(first.closed.size(), 1u);
    EXPECT_TRUE(first.closed[0].Is(Code::kDisconnected)) << first.closed[0].ToString();
  }
  EXPECT_FALSE(first.conn->connected());
  // Later requests on the broken link fail at once, without a second on_closed.
  auto again = first.conn->Call(Echo());
  EXPECT_TRUE(again.status().Is(Code::kDisconnected)) << again.status().ToString();
  first.conn.reset();
  first.peer.reset();
  {
    std::lock_guard lock(first.mu);
    EXPECT_EQ(first.closed.size(), 1u);
  }

  // A fresh SMB Direct connection to the same address works: an ECHO round trip.
  Link second;
  ASSERT_NO_FATAL_FAILURE(Establish(*fabric, mu, second));
  std::promise<Result<Response>> echoed;
  second.conn->Submit(Echo(),
                      [&echoed](Result<Response> resp) { echoed.set_value(std::move(resp)); });
  auto req = NextRequest(*second.peer);
  ASSERT_TRUE(req.has_value());
  ASSERT_TRUE(second.peer->SendData(EchoResponse(req->header)).ok());
  auto e = echoed.get_future();
  ASSERT_EQ(e.wait_for(10s), std::future_status::ready);
  auto er = e.get();
  ASSERT_TRUE(er.ok()) << er.status().ToString();
  EXPECT_EQ(er->nt_status(), STATUS_SUCCESS);
  second.conn.reset();
  second.peer.reset();
}

}  // namespace
}  // namespace smb3::test
