// SPDX-License-Identifier: LGPL-2.1-or-later
// End to end on the software RDMA device: a client Connection over the real SMB Direct transport,
// with the client's RDMA data path (client/rdma_io), against a scripted SMBD+SMB2 server on the
// passive softrdma endpoint. The server answers a READ by RDMA WRITE into the window our request
// described and a SEND_WITH_INVALIDATE of its key (when asked to), and a WRITE by RDMA READ from
// it — through the transport's DataChannel, the registrar and the device's key checks. Run with
// both window mechanisms: type-2 memory windows and register-per-I/O.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "client/connection.h"
#include "client/rdma_io.h"
#include "client/transport_select.h"
#include "smb2/echo.h"
#include "support/fake_rdma_channel.h"
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
using client::RdmaDataPath;
using client::RdmaReadPiece;
using client::RdmaTransfer;
using client::Request;
using client::Response;
using transport::test::LockedEndpoint;
using transport::test::ScriptedSmbdPeer;

constexpr char kAddr[] = "10.99.0.7";
constexpr uint16_t kPort = 445;

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1103515245u + 12345;
    b = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

template <class T>
std::optional<T> Await(std::future<T>& f) {
  if (f.wait_for(10s) != std::future_status::ready) return std::nullopt;
  return f.get();
}

class SmbDirectRdmaIo : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    mu_ = std::make_shared<std::mutex>();
    softrdma::FabricOptions fo;
    fo.progress = softrdma::FabricOptions::Progress::kOnPost;
    fo.caps.memory_windows_type2 = GetParam();
    fabric_ = softrdma::Fabric::Create(fo);
    auto listening = fabric_->Listen(kAddr, kPort);
    ASSERT_TRUE(listening.ok()) << listening.status().ToString();
    peer_ = std::make_unique<ScriptedSmbdPeer>(
        std::make_unique<LockedEndpoint>(std::move(listening).value(), mu_));

    std::unique_ptr<rdma::Endpoint> ep;
    {
      std::lock_guard lock(*mu_);
      auto resolved = fabric_->Resolve(kAddr, kPort);
      ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
      ep = std::make_unique<LockedEndpoint>(std::move(resolved).value(), mu_);
    }
    transport::SmbDirectOptions options;
    options.rdma_buffer_size = buffer_size_;
    options.rdma_buffer_count = 4;
    auto connecting = std::async(std::launch::async, [&, ep = std::move(ep)]() mutable {
      return transport::ConnectSmbDirect(std::move(ep), "softrdma-peer", options,
                                         BufferPool::Create());
    });
    (void)peer_->ExpectNegotiateRequest();
    smbd::NegotiateResponse r;
    r.credits_requested = 255;
    r.credits_granted = 255;
    r.max_read_write_size = 1048576;
    r.preferred_send_size = 8192;
    r.max_receive_size = 8192;
    r.max_fragmented_size = peer_max_fragmented_;
    ASSERT_TRUE(peer_->SendNegotiateResponse(r).ok());
    auto t = connecting.get();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    wire_ = t->get();
    Connection::Options co;
    co.echo_interval = std::chrono::seconds(3600);
    conn_ = std::make_shared<Connection>(std::move(t).value(), co);
    ASSERT_TRUE(conn_->Start().ok());
  }
  void TearDown() override {
    conn_.reset();  // closes the transport: the channel is detached before the endpoint goes
    peer_mr_.reset();
    peer_.reset();
  }

  // The next SMB2 request the server receives (one per message here).
  std::optional<ClientRequest> NextRequest() {
    auto upper = peer_->ReceiveUpper();
    if (!upper) return std::nullopt;
    auto m = DecodeClientMessage(*upper);
    if (!m.ok() || m->requests.size() != 1) return std::nullopt;
    return m->requests[0];
  }
  // The key to invalidate with the response when the request asks for it ([MS-SMBD] 3.1.4.2).
  static std::optional<uint32_t> InvalidateKey(const RdmaRequestFields& f) {
    if (f.channel != smb2::SMB2_CHANNEL_RDMA_V1_INVALIDATE) return std::nullopt;
    return f.descriptors[0].token;
  }
  static rdma::RemoteWindow Window(const smb2::BufferDescriptorV1& d) {
    return {d.offset, d.token, d.length};
  }

  // What SetUp negotiates and registers (a derived fixture changes them in its constructor).
  uint32_t peer_max_fragmented_ = 1048576;
  size_t buffer_size_ = 256 * 1024;

  std::shared_ptr<std::mutex> mu_;
  std::shared_ptr<softrdma::Fabric> fabric_;
  std::unique_ptr<ScriptedSmbdPeer> peer_;
  std::unique_ptr<rdma::MemoryRegion> peer_mr_;
  transport::Transport* wire_ = nullptr;
  std::shared_ptr<Connection> conn_;
  RdmaDataPath path_;
};

TEST_P(SmbDirectRdmaIo, ReadByRdmaWriteAndWriteByRdmaRead) {
  auto channel = wire_->rdma_channel();
  ASSERT_NE(channel, nullptr);
  EXPECT_STREQ(channel->mechanism(),
               GetParam() ? rdma::WindowMechanismName(rdma::WindowMechanism::kMemoryWindow)
                          : rdma::WindowMechanismName(rdma::WindowMechanism::kRegisterPerIo));

  // --- READ of 64 KiB: the server RDMA-writes it into our window.
  std::promise<Result<RdmaReadPiece>> read_done;
  {
    std::shared_ptr<RdmaTransfer> t = path_.Begin(*wire_, 65536, true, false, false);
    ASSERT_NE(t, nullptr);
    Request r = client::NewRequest(smb2::SMB2_READ);
    r.tree_id = 1;
    smb2::ReadRequest rr;
    rr.length = 65536;
    ASSERT_TRUE(client::EncodeReadFor(r, rr, t.get()).ok());
    conn_->Submit(std::move(r), [this, &read_done, t](Result<Response> resp) mutable {
      if (!resp.ok()) return read_done.set_value(resp.status());
      read_done.set_value(client::ReadResponseData(*resp, 65536, std::move(t), path_));
    });
  }
  auto req = NextRequest();
  ASSERT_TRUE(req.has_value());
  auto f = ParseReadRequestChannel(*req);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->channel,
            GetParam() ? smb2::SMB2_CHANNEL_RDMA_V1_INVALIDATE : smb2::SMB2_CHANNEL_RDMA_V1);
  ASSERT_EQ(f->descriptors.size(), 1u);
  EXPECT_EQ(f->descriptors[0].length, 65536u);
  const smb2::BufferDescriptorV1 read_window = f->descriptors[0];
  const auto data = Pattern(65536, 1);
  ASSERT_TRUE(peer_->WriteTo(data, Window(read_window)).ok());
  auto written = peer_->NextEvent();
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(written->kind, rdma::Event::Kind::kRdmaWrite);
  EXPECT_TRUE(written->ok()) << rdma::WcStatusName(written->wc_status);
  ResponseOptions grant;
  grant.credits = 32;
  ASSERT_TRUE(peer_
                  ->SendData(RdmaReadResponse(req->header, 65536, grant), 0, 0, std::nullopt,
                             InvalidateKey(*f))
                  .ok());
  auto read_future = read_done.get_future();
  auto read = Await(read_future);
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(read->ok()) << read->status().ToString();
  EXPECT_TRUE(std::equal((*read)->data.begin(), (*read)->data.end(), data.begin(), data.end()));
  if (GetParam()) {
    EXPECT_EQ(channel->counters().windows_invalidated_remote, 1u);
  }
  read.reset();  // the view is dropped: the buffer goes back (revoked locally if still live)

  // --- WRITE of 100000 bytes: the server RDMA-reads them from our window.
  const auto payload = Pattern(100000, 2);
  std::promise<Result<uint32_t>> write_done;
  {
    std::shared_ptr<RdmaTransfer> t = path_.Begin(*wire_, payload.size(), false, false, false);
    ASSERT_NE(t, nullptr);
    Request r = client::NewRequest(smb2::SMB2_WRITE);
    r.tree_id = 1;
    ASSERT_TRUE(client::EncodeWriteFor(r, smb2::WriteRequest{}, payload, t.get()).ok());
    conn_->Submit(std::move(r), [this, &write_done, t](Result<Response> resp) mutable {
      if (!resp.ok()) return write_done.set_value(resp.status());
      write_done.set_value(client::WriteResponseCount(*resp, 100000, t.get(), path_));
      t.reset();
    });
  }
  req = NextRequest();
  ASSERT_TRUE(req.has_value());
  f = ParseWriteRequestChannel(*req);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->length, 0u);
  EXPECT_EQ(f->remaining_bytes, 100000u);
  ASSERT_EQ(f->descriptors.size(), 1u);
  std::vector<uint8_t> pulled(100000);
  {
    auto mr = peer_->endpoint().Register(pulled, rdma::Access::kLocalWrite);
    ASSERT_TRUE(mr.ok());
    peer_mr_ = std::move(mr).value();
  }
  rdma::Sge sge = peer_mr_->Slice(0, 100000);
  ASSERT_TRUE(peer_->endpoint().PostRead(4242, {&sge, 1}, Window(f->descriptors[0])).ok());
  auto read_event = peer_->NextEvent();
  ASSERT_TRUE(read_event.has_value());
  EXPECT_EQ(read_event->kind, rdma::Event::Kind::kRdmaRead);
  EXPECT_TRUE(read_event->ok()) << rdma::WcStatusName(read_event->wc_status);
  EXPECT_EQ(pulled, payload);
  ASSERT_TRUE(
      peer_->SendData(WriteResponse(req->header, 100000), 0, 0, std::nullopt, InvalidateKey(*f))
          .ok());
  auto write_future = write_done.get_future();
  auto written_count = Await(write_future);
  ASSERT_TRUE(written_count.has_value());
  ASSERT_TRUE(written_count->ok()) << written_count->status().ToString();
  EXPECT_EQ(**written_count, 100000u);

  ClientStats s;
  s.bytes_read = 65536;
  s.bytes_written = 100000;
  path_.FillStats(wire_, false, false, s);
  EXPECT_EQ(s.bytes_rdma_write, 65536u);
  EXPECT_EQ(s.bytes_rdma_read, 100000u);
  EXPECT_EQ(s.bytes_inline, 0u);
  EXPECT_EQ(s.rdma_data_path, "rdma");
  EXPECT_EQ(s.rdma_windows_bound, 2u);
  // The WRITE's data was copied into the registered buffer; the READ's is viewed in place when
  // the server invalidated the key, else copied out before the key is revoked.
  EXPECT_EQ(s.bytes_copied_rdma, 100000u + (GetParam() ? 0u : 65536u));

  // --- The READ is over: a server writing into its window now must fail (and the device then
  // breaks the connection, as hardware does on a remote access error).
  if (!GetParam()) {
    // The local revocation is posted on Release and completes on the transport's loop.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (channel->counters().windows_invalidated_local < 2 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(channel->counters().windows_invalidated_local, 2u);
  }
  ASSERT_TRUE(peer_->WriteTo(Pattern(64, 3), Window(read_window)).ok());
  auto late = peer_->NextEvent();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->kind, rdma::Event::Kind::kRdmaWrite);
  EXPECT_EQ(late->wc_status, rdma::WcStatus::kRemoteAccess);
}

// A WRITE whose data lies in memory the client's user lent (Client::RegisterIoMemory, e.g. a
// FUSE receive buffer) is read by the server from that memory: nothing copied, the window covers
// exactly the data and dies with the response. Data elsewhere is copied into the pool as before.
// Per-I/O registration cannot be revoked by the response, so there lent memory is copied too.
TEST_P(SmbDirectRdmaIo, WriteFromLentMemoryIsReadInPlace) {
  static constexpr size_t kLen = 100000;
  std::vector<uint8_t> lent(256 * 1024);
  ASSERT_TRUE(path_.AddRegion(lent).ok());
  EXPECT_TRUE(path_.AddRegion(std::span<uint8_t>(lent).subspan(4096, 8192))
                  .Is(Code::kInvalidArgument));  // overlaps
  const auto payload = Pattern(kLen, 5);
  std::copy(payload.begin(), payload.end(), lent.begin() + 80);  // after a FUSE header
  std::vector<uint8_t> elsewhere(payload);
  std::vector<uint8_t> pulled(kLen);
  {
    auto mr = peer_->endpoint().Register(pulled, rdma::Access::kLocalWrite);
    ASSERT_TRUE(mr.ok());
    peer_mr_ = std::move(mr).value();
  }
  // An ECHO whose response grants the credits the WRITEs are charged ([MS-SMB2] 3.2.4.7).
  {
    std::promise<Result<Response>> echo_done;
    Request e = client::NewRequest(smb2::SMB2_ECHO);
    ByteWriter w(e.message);
    ASSERT_TRUE(smb2::EncodeEchoRequest(w).ok());
    conn_->Submit(std::move(e), [&](Result<Response> resp) { echo_done.set_value(std::move(resp)); });
    auto echo = NextRequest();
    ASSERT_TRUE(echo.has_value());
    ResponseOptions grant;
    grant.credits = 32;
    ASSERT_TRUE(peer_->SendData(EchoResponse(echo->header, grant), 0, 0, std::nullopt, std::nullopt)
                    .ok());
    auto echo_future = echo_done.get_future();
    auto answered = Await(echo_future);
    ASSERT_TRUE(answered.has_value() && answered->ok());
  }
  // One WRITE of `data`; returns the descriptor the server was given, after the server read it.
  ResponseOptions grant;
  grant.credits = 4;
  auto write = [&](ByteView data, smb2::BufferDescriptorV1* window) {
    std::promise<Result<uint32_t>> done;
    std::shared_ptr<RdmaTransfer> t =
        path_.Begin(*wire_, kLen, false, false, false, client::kRdmaBufferWait, data);
    ASSERT_NE(t, nullptr);
    Request r = client::NewRequest(smb2::SMB2_WRITE);
    r.tree_id = 1;
    ASSERT_TRUE(client::EncodeWriteFor(r, smb2::WriteRequest{}, data, t.get()).ok());
    conn_->Submit(std::move(r), [this, &done, t](Result<Response> resp) mutable {
      if (!resp.ok()) return done.set_value(resp.status());
      done.set_value(client::WriteResponseCount(*resp, kLen, t.get(), path_));
      t.reset();
    });
    t.reset();
    auto req = NextRequest();
    ASSERT_TRUE(req.has_value());
    auto f = ParseWriteRequestChannel(*req);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_EQ(f->descriptors.size(), 1u);
    EXPECT_EQ(f->descriptors[0].length, kLen);
    *window = f->descriptors[0];
    std::fill(pulled.begin(), pulled.end(), 0);
    rdma::Sge sge = peer_mr_->Slice(0, kLen);
    ASSERT_TRUE(peer_->endpoint().PostRead(4243, {&sge, 1}, Window(f->descriptors[0])).ok());
    auto ev = peer_->NextEvent();
    ASSERT_TRUE(ev.has_value());
    EXPECT_TRUE(ev->ok()) << rdma::WcStatusName(ev->wc_status);
    EXPECT_EQ(pulled, payload);
    ASSERT_TRUE(
        peer_->SendData(WriteResponse(req->header, kLen, grant), 0, 0, std::nullopt,
                        InvalidateKey(*f))
            .ok());
    auto future = done.get_future();
    auto count = Await(future);
    ASSERT_TRUE(count.has_value());
    ASSERT_TRUE(count->ok()) << count->status().ToString();
    EXPECT_EQ(**count, kLen);
  };

  smb2::BufferDescriptorV1 lent_window{};
  write(ByteView(lent).subspan(80, kLen), &lent_window);
  ClientStats s;
  s.bytes_written = kLen;
  path_.FillStats(wire_, false, false, s);
  EXPECT_EQ(s.bytes_rdma_read, kLen);
  EXPECT_EQ(s.bytes_copied_rdma, GetParam() ? 0u : kLen);
  EXPECT_EQ(path_.writes_from_caller_memory(), GetParam() ? 1u : 0u);
  if (GetParam()) {
    // The server was shown the lent bytes themselves.
    EXPECT_EQ(lent_window.offset, reinterpret_cast<uint64_t>(lent.data() + 80));
  }

  smb2::BufferDescriptorV1 pool_window{};
  write(elsewhere, &pool_window);  // not lent: copied into a pool buffer
  s = ClientStats{};
  s.bytes_written = 2 * kLen;
  path_.FillStats(wire_, false, false, s);
  EXPECT_EQ(s.bytes_copied_rdma, GetParam() ? kLen : 2 * kLen);
  EXPECT_EQ(path_.writes_from_caller_memory(), GetParam() ? 1u : 0u);

  // The lent memory's WRITE is over: the server reading it again must fail.
  if (GetParam()) {
    EXPECT_EQ(wire_->rdma_channel()->counters().windows_invalidated_remote, 2u);
  }
  auto channel = wire_->rdma_channel();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!GetParam() && channel->counters().windows_invalidated_local < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  rdma::Sge sge = peer_mr_->Slice(0, 64);
  ASSERT_TRUE(peer_->endpoint().PostRead(4244, {&sge, 1}, Window(lent_window)).ok());
  auto late = peer_->NextEvent();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->kind, rdma::Event::Kind::kRdmaRead);
  EXPECT_EQ(late->wc_status, rdma::WcStatus::kRemoteAccess);
}

// A server whose largest message is small (ksmbd: MaxFragmentedSize ~170 KiB) but which moves
// 1 MiB per READ/WRITE by RDMA ([MS-SMBD] 3.1.5.7 MaxReadWriteSize): the buffers follow the RDMA
// limit, not the message, so a 1 MiB WRITE goes in one request whose data the server RDMA-reads.
class SmbDirectRdmaIoSmallMessages : public SmbDirectRdmaIo {
 protected:
  SmbDirectRdmaIoSmallMessages() {
    peer_max_fragmented_ = 173910;
    buffer_size_ = 1u << 20;
  }
};

TEST_P(SmbDirectRdmaIoSmallMessages, BuffersFollowMaxReadWriteSizeNotTheMessage) {
  auto channel = wire_->rdma_channel();
  ASSERT_NE(channel, nullptr);
  EXPECT_EQ(wire_->max_message_size(), 173910u);
  EXPECT_EQ(channel->max_io_size(), 1u << 20);
  path_.SetLimits(client::InlineIoLimit(wire_->max_message_size()),
                  static_cast<uint32_t>(channel->max_io_size()));
  EXPECT_EQ(path_.IoLimit(false, false), 1u << 20);
  EXPECT_EQ(path_.IoLimit(true, false), client::InlineIoLimit(173910));

  // An ECHO whose response grants the credits a 1 MiB WRITE is charged ([MS-SMB2] 3.2.4.7: 16).
  {
    std::promise<Result<Response>> echo_done;
    Request e = client::NewRequest(smb2::SMB2_ECHO);
    ByteWriter w(e.message);
    ASSERT_TRUE(smb2::EncodeEchoRequest(w).ok());
    conn_->Submit(std::move(e), [&](Result<Response> resp) { echo_done.set_value(std::move(resp)); });
    auto echo = NextRequest();
    ASSERT_TRUE(echo.has_value());
    ResponseOptions grant;
    grant.credits = 32;
    ASSERT_TRUE(peer_->SendData(EchoResponse(echo->header, grant), 0, 0, std::nullopt, std::nullopt)
                    .ok());
    auto echo_future = echo_done.get_future();
    auto answered = Await(echo_future);
    ASSERT_TRUE(answered.has_value() && answered->ok());
  }

  const auto payload = Pattern(1u << 20, 4);
  std::promise<Result<uint32_t>> write_done;
  {
    std::shared_ptr<RdmaTransfer> t = path_.Begin(*wire_, payload.size(), false, false, false);
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(t->status().ok());
    Request r = client::NewRequest(smb2::SMB2_WRITE);
    r.tree_id = 1;
    ASSERT_TRUE(client::EncodeWriteFor(r, smb2::WriteRequest{}, payload, t.get()).ok());
    conn_->Submit(std::move(r), [this, &write_done, t](Result<Response> resp) mutable {
      if (!resp.ok()) return write_done.set_value(resp.status());
      write_done.set_value(client::WriteResponseCount(*resp, 1u << 20, t.get(), path_));
      t.reset();
    });
  }
  auto req = NextRequest();
  ASSERT_TRUE(req.has_value());
  auto f = ParseWriteRequestChannel(*req);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->remaining_bytes, 1u << 20);
  ASSERT_EQ(f->descriptors.size(), 1u);
  EXPECT_EQ(f->descriptors[0].length, 1u << 20);
  std::vector<uint8_t> pulled(1u << 20);
  {
    auto mr = peer_->endpoint().Register(pulled, rdma::Access::kLocalWrite);
    ASSERT_TRUE(mr.ok());
    peer_mr_ = std::move(mr).value();
  }
  rdma::Sge sge = peer_mr_->Slice(0, 1u << 20);
  ASSERT_TRUE(peer_->endpoint().PostRead(4243, {&sge, 1}, Window(f->descriptors[0])).ok());
  auto read_event = peer_->NextEvent();
  ASSERT_TRUE(read_event.has_value());
  EXPECT_TRUE(read_event->ok()) << rdma::WcStatusName(read_event->wc_status);
  EXPECT_EQ(pulled, payload);
  ASSERT_TRUE(
      peer_->SendData(WriteResponse(req->header, 1u << 20), 0, 0, std::nullopt, InvalidateKey(*f))
          .ok());
  auto write_future = write_done.get_future();
  auto count = Await(write_future);
  ASSERT_TRUE(count.has_value());
  ASSERT_TRUE(count->ok()) << count->status().ToString();
  EXPECT_EQ(**count, 1u << 20);
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, SmbDirectRdmaIoSmallMessages, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "MemoryWindow" : "RegisterPerIo";
                         });

INSTANTIATE_TEST_SUITE_P(Mechanisms, SmbDirectRdmaIo, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "MemoryWindow" : "RegisterPerIo";
                         });

}  // namespace
}  // namespace smb3::test
