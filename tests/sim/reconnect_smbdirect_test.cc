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

void Establish(softrdma::Fabric& fabric, const std::shared_ptr<std::mutex>& mu, Link& link,
               const transport::SmbDirectOptions& options = {}) {
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
  auto connecting = std::async(std::launch::async, [ep = std::move(ep), options]() mutable {
    return transport::ConnectSmbDirect(std::move(ep), "softrdma-peer", options,
                                       BufferPool::Create());
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

// The fault on the PEER's queue pair (a server whose QP went into error: it sends no DREQ and
// answers nothing). As on RC hardware, nothing reaches us until we send: our next SEND is never
// acknowledged and completes with a retry-exceeded error (softrdma compresses the retry time to
// nothing), which must fail that request with kDisconnected at once — not after the SMB2 request
// timeout.
TEST(ReconnectSmbDirect, PeerQpErrorFailsTheNextRequestWithinSeconds) {
  auto mu = std::make_shared<std::mutex>();
  softrdma::FabricOptions fo;
  fo.progress = softrdma::FabricOptions::Progress::kOnPost;
  auto fabric = softrdma::Fabric::Create(fo);
  Link link;
  ASSERT_NO_FATAL_FAILURE(Establish(*fabric, mu, link));
  // One round trip that grants SMB2 credits, as a real server's responses do: the next request
  // must not wait for a credit (a request that never leaves the client cannot meet the dead QP).
  std::promise<Result<Response>> first;
  link.conn->Submit(Echo(), [&first](Result<Response> r) { first.set_value(std::move(r)); });
  auto req = NextRequest(*link.peer);
  ASSERT_TRUE(req.has_value());
  ResponseOptions grant;
  grant.credits = 16;
  ASSERT_TRUE(link.peer->SendData(EchoResponse(req->header, grant)).ok());
  auto ff = first.get_future();
  ASSERT_EQ(ff.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(ff.get().ok());

  {
    std::lock_guard lock(*mu);
    fabric->InjectQpError(static_cast<LockedEndpoint&>(link.peer->endpoint()).inner());
  }
  const auto start = std::chrono::steady_clock::now();
  std::promise<Result<Response>> done;
  link.conn->Submit(Echo(), [&done](Result<Response> r) { done.set_value(std::move(r)); });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "the request to a dead peer never failed";
  const auto took = std::chrono::steady_clock::now() - start;
  Result<Response> r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Code::kDisconnected)) << r.status().ToString();
  EXPECT_LT(took, 5s);  // the request timeout here is 30 s
  ASSERT_EQ(link.closed_once.get_future().wait_for(10s), std::future_status::ready);
  {
    std::lock_guard lock(link.mu);
    ASSERT_EQ(link.closed.size(), 1u);
    EXPECT_TRUE(link.closed[0].Is(Code::kDisconnected)) << link.closed[0].ToString();
  }
  link.conn.reset();
  link.peer.reset();
}

// The colleague's case: a request in flight, the peer's QP dies, and nothing else is sent (the
// only SMB2 credit is spent, so a further request waits for a credit and never reaches the wire).
// Nothing on the wire can fail; [MS-SMBD] 3.1.6.2's Idle Connection Timer must: after
// KeepaliveInterval without a message from the peer the keepalive goes out, meets the dead QP,
// and the request fails with kDisconnected. Short timers stand in for the 120 s default.
TEST(ReconnectSmbDirect, DeadPeerUnderARequestInFlightIsFoundByTheIdleTimer) {
  auto mu = std::make_shared<std::mutex>();
  softrdma::FabricOptions fo;
  fo.progress = softrdma::FabricOptions::Progress::kOnPost;
  auto fabric = softrdma::Fabric::Create(fo);
  transport::SmbDirectOptions so;
  // Long enough that the request below is on the wire and the QP dead before the first keepalive
  // on a slow machine (the timer runs from the negotiate): else that keepalive reaches the live
  // peer, goes unanswered and ends the connection with kTimeout. Far below the 30 s request timeout.
  so.smbd.keepalive_interval = 3s;
  so.smbd.keepalive_response_timeout = 3s;
  Link link;
  ASSERT_NO_FATAL_FAILURE(Establish(*fabric, mu, link, so));
  std::promise<Result<Response>> in_flight;
  link.conn->Submit(Echo(),
                    [&in_flight](Result<Response> r) { in_flight.set_value(std::move(r)); });
  ASSERT_TRUE(NextRequest(*link.peer).has_value());
  const auto start = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(*mu);
    fabric->InjectQpError(static_cast<LockedEndpoint&>(link.peer->endpoint()).inner());
  }
  auto f = in_flight.get_future();
  ASSERT_EQ(f.wait_for(25s), std::future_status::ready) << "the dead peer was never noticed";
  const auto took = std::chrono::steady_clock::now() - start;
  Result<Response> r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Code::kDisconnected)) << r.status().ToString();
  EXPECT_LT(took, 15s);  // the idle timer, not the 30 s request timeout
  auto c = transport::SmbDirectSnapshot(link.conn->transport());
  ASSERT_TRUE(c.has_value());
  EXPECT_GE(c->smbd.keepalives_sent, 1u);  // found by the timer's keepalive, not by a request
  ASSERT_EQ(link.closed_once.get_future().wait_for(10s), std::future_status::ready);
  {
    std::lock_guard lock(link.mu);
    ASSERT_EQ(link.closed.size(), 1u);
    EXPECT_TRUE(link.closed[0].Is(Code::kDisconnected)) << link.closed[0].ToString();
  }
  link.conn.reset();
  link.peer.reset();
}

// A peer whose queue pair lives but whose MS-SMBD layer is gone (it never answers): an idle
// connection sends a keepalive with SMB_DIRECT_RESPONSE_REQUESTED after KeepaliveInterval and,
// unanswered within the keepalive response time, ends the connection ([MS-SMBD] 3.1.6.2).
TEST(ReconnectSmbDirect, IdleConnectionToASilentPeerEndsAfterAnUnansweredKeepalive) {
  auto mu = std::make_shared<std::mutex>();
  softrdma::FabricOptions fo;
  fo.progress = softrdma::FabricOptions::Progress::kOnPost;
  auto fabric = softrdma::Fabric::Create(fo);
  transport::SmbDirectOptions so;
  so.smbd.keepalive_interval = 300ms;
  so.smbd.keepalive_response_timeout = 500ms;
  Link link;
  // The idle timer starts inside Establish (at the negotiate): the lower bounds count from before
  // it, so that a slow Establish cannot make them fail; the upper one from after it.
  const auto before = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(Establish(*fabric, mu, link, so));
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> storage;
  std::optional<smbd::DataTransfer> keepalive;
  for (int i = 0; i < 10 && !keepalive; ++i) {
    auto d = link.peer->ReceiveData(storage);
    if (d && (d->flags & smbd::SMB_DIRECT_RESPONSE_REQUESTED)) keepalive = d;
  }
  ASSERT_TRUE(keepalive.has_value()) << "no keepalive on an idle connection";
  EXPECT_GE(std::chrono::steady_clock::now() - before, 300ms);  // not before the interval
  ASSERT_EQ(link.closed_once.get_future().wait_for(10s), std::future_status::ready)
      << "an unanswered keepalive did not end the connection";
  EXPECT_GE(std::chrono::steady_clock::now() - before, 800ms);  // interval + response time
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  {
    std::lock_guard lock(link.mu);
    ASSERT_EQ(link.closed.size(), 1u);
    EXPECT_TRUE(link.closed[0].Is(Code::kTimeout)) << link.closed[0].ToString();
  }
  EXPECT_FALSE(link.conn->connected());
  auto again = link.conn->Call(Echo());
  EXPECT_TRUE(again.status().Is(Code::kDisconnected)) << again.status().ToString();
  link.conn.reset();
  link.peer.reset();
}

}  // namespace
}  // namespace smb3::test
