// SPDX-License-Identifier: LGPL-2.1-or-later
// The client's RDMA data path (client/rdma_io) over a Connection whose transport offers a fake
// RDMA channel: the scripted server plays the RDMA engine — it RDMA-writes a READ's data into the
// registered buffer before answering with DataLength 0, and RDMA-reads a WRITE's data from it.
// Checked: Channel, descriptor and lengths on the wire; the response's claims bounded by the
// descriptor; inline for small I/O, signing, encryption and exhausted buffers; every buffer
// released on success, on error and on disconnect; a zero-copy view holding its buffer; a view
// larger than the buffer pool completing (client/read_view.h) instead of waiting on itself.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <string>
#include <thread>

#include "client/rdma_io.h"
#include "client/read_view.h"
#include "connection_fixture.h"
#include "smb2/read.h"
#include "smb2/write.h"
#include "smb3/log.h"
#include "support/fake_rdma_channel.h"

namespace smb3::test {
namespace {

using client::EncodeReadFor;
using client::EncodeWriteFor;
using client::RdmaDataPath;
using client::RdmaReadPiece;
using client::RdmaTransfer;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// Records one READ's outcome: the data and its owner, as a ReadView piece would hold them.
class ReadOutcome {
 public:
  void Set(Result<RdmaReadPiece> r) {
    std::lock_guard lock(mu_);
    result_.emplace(std::move(r));
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kFakeWaitTimeout, [&] { return result_.has_value(); });
  }
  Result<RdmaReadPiece>& result() { return *result_; }
  void Drop() {
    std::lock_guard lock(mu_);
    result_.reset();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Result<RdmaReadPiece>> result_;
};

class RdmaIoSim : public ConnectionSim {
 protected:
  void Start(size_t max_io = 1 << 20, size_t count = 4, bool remote_invalidate = true) {
    StartConnection();
    channel_ = std::make_shared<FakeRdmaChannel>(max_io, count, remote_invalidate);
    wire_->SetRdmaChannel(channel_);
    GrantCredits();
  }
  // An ECHO answered with 32 credits, so that several requests (and multi-credit ones) may be
  // outstanding.
  void GrantCredits() {
    Outcome echo;
    conn_->Submit(EchoRequest(), echo.Callback());
    ClientRequest req = NextSingle();
    ResponseOptions grant;
    grant.credits = 32;
    ASSERT_TRUE(server_->Reply({EchoResponse(req.header, grant)}).ok());
    ASSERT_TRUE(echo.Wait());
  }

  // A READ as ClientImpl::ReadAsyncView sends it: the transfer (if any) lives in the callback
  // until the response is handled, then in the returned piece's owner.
  std::shared_ptr<RdmaTransfer> SubmitRead(uint32_t length, uint64_t offset, ReadOutcome& out,
                                           bool signing = false, bool encryption = false) {
    std::shared_ptr<RdmaTransfer> t = path_.Begin(*wire_, length, true, signing, encryption);
    Request r = client::NewRequest(smb2::SMB2_READ);
    r.tree_id = 7;
    smb2::ReadRequest rr;
    rr.length = length;
    rr.offset = offset;
    EXPECT_TRUE(EncodeReadFor(r, rr, t.get()).ok());
    conn_->Submit(std::move(r), [this, &out, t, length](Result<Response> resp) mutable {
      if (!resp.ok()) return out.Set(resp.status());
      if (resp->nt_status() != STATUS_SUCCESS)
        return out.Set(Status::NtStatus(resp->nt_status(), "read"));
      out.Set(client::ReadResponseData(*resp, length, std::move(t), path_));
    });
    return t;
  }

  // A WRITE as ClientImpl::WriteAsync sends it; `out` gets the response, or the error of its Count;
  // `kept` (if given) a reference to the transfer. Whether the data went by RDMA.
  bool SubmitWrite(ByteView data, Outcome& out, std::shared_ptr<RdmaTransfer>* kept = nullptr,
                   bool signing = false) {
    std::shared_ptr<RdmaTransfer> t = path_.Begin(*wire_, data.size(), false, signing, false);
    Request r = client::NewRequest(smb2::SMB2_WRITE);
    r.tree_id = 7;
    smb2::WriteRequest wr;
    wr.offset = 0;
    EXPECT_TRUE(EncodeWriteFor(r, wr, data, t.get()).ok());
    if (kept) *kept = t;
    const bool rdma = t != nullptr;
    conn_->Submit(std::move(r), [this, cb = out.Callback(), t = std::move(t),
                                 size = data.size()](Result<Response> resp) mutable {
      if (resp.ok() && resp->nt_status() == STATUS_SUCCESS) {
        auto count = client::WriteResponseCount(*resp, size, t.get(), path_);
        if (!count.ok()) resp = count.status();
      }
      t.reset();  // released before the caller hears of it
      cb(std::move(resp));
    });
    return rdma;
  }

  ClientStats Stats(bool signing = false, bool encryption = false) {
    ClientStats s;
    s.bytes_read = bytes_read_;
    s.bytes_written = bytes_written_;
    path_.FillStats(wire_, signing, encryption, s);
    return s;
  }

  RdmaDataPath path_;
  std::shared_ptr<FakeRdmaChannel> channel_;
  uint64_t bytes_read_ = 0, bytes_written_ = 0;
};

TEST_F(RdmaIoSim, ReadCarriesOneDescriptorAndTheDataArrivesByRdmaWithoutACopy) {
  Start();
  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(65536, 4096, out);
  ClientRequest req = NextSingle();
  auto f = ParseReadRequestChannel(req);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->channel, smb2::SMB2_CHANNEL_RDMA_V1_INVALIDATE);
  EXPECT_EQ(f->length, 65536u);           // [MS-SMB2] 3.2.4.6: Length = requested
  EXPECT_EQ(f->remaining_bytes, 65536u);  // 2.2.19: the length of the data to be read
  ASSERT_EQ(f->descriptors.size(), 1u);
  EXPECT_EQ(f->descriptors[0].length, 65536u);
  EXPECT_EQ(req.header.credit_charge, 1);
  EXPECT_EQ(channel_->in_use(), 1u);

  const auto data = Pattern(65536, 3);
  ASSERT_TRUE(channel_->PeerWrite(f->descriptors[0], data).ok());
  channel_->PeerInvalidate(f->descriptors[0].token);  // SEND_WITH_INVALIDATE with the response
  ASSERT_TRUE(server_->Reply({RdmaReadResponse(req.header, 65536)}).ok());
  ASSERT_TRUE(out.Wait());
  ASSERT_TRUE(out.result().ok()) << out.result().status().ToString();
  ByteView got = out.result()->data;
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin(), data.end()));
  // Zero copy: the view is the registered memory, which stays out of the pool while it is held.
  EXPECT_EQ(channel_->in_use(), 1u);
  ClientStats s = Stats();
  EXPECT_EQ(s.bytes_rdma_write, 65536u);
  EXPECT_EQ(s.rdma_reads, 1u);
  EXPECT_EQ(s.rdma_data_path, "rdma");
  EXPECT_EQ(s.rdma_mechanism, "memory window");
  EXPECT_EQ(s.rdma_windows_invalidated_remote, 1u);
  out.Drop();
  EXPECT_EQ(channel_->in_use(), 0u);
  EXPECT_EQ(channel_->counters().windows_invalidated_local, 0u);
  // The key is dead: a late write by the server is refused.
  EXPECT_FALSE(channel_->PeerWrite(f->descriptors[0], data).ok());
}

TEST_F(RdmaIoSim, ShortReadReturnsDataRemainingBytes) {
  Start();
  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(20000, 0, out);
  ClientRequest req = NextSingle();
  auto f = ParseReadRequestChannel(req);
  ASSERT_TRUE(f.ok() && f->descriptors.size() == 1);
  ASSERT_TRUE(channel_->PeerWrite(f->descriptors[0], Pattern(5000, 1)).ok());
  ASSERT_TRUE(server_->Reply({RdmaReadResponse(req.header, 5000)}).ok());
  ASSERT_TRUE(out.Wait());
  ASSERT_TRUE(out.result().ok());
  EXPECT_EQ(out.result()->data.size(), 5000u);
  EXPECT_EQ(out.result()->data[4999], Pattern(5000, 1)[4999]);
}

TEST_F(RdmaIoSim, WithoutRemoteInvalidationTheReadIsV1AndTheBufferIsRevokedBeforeTheDataIsSeen) {
  Start(1 << 20, 4, /*remote_invalidate=*/false);
  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(8192, 0, out);
  ClientRequest req = NextSingle();
  auto f = ParseReadRequestChannel(req);
  ASSERT_TRUE(f.ok() && f->descriptors.size() == 1);
  EXPECT_EQ(f->channel, smb2::SMB2_CHANNEL_RDMA_V1);
  const auto data = Pattern(8192, 9);
  ASSERT_TRUE(channel_->PeerWrite(f->descriptors[0], data).ok());
  ASSERT_TRUE(server_->Reply({RdmaReadResponse(req.header, 8192)}).ok());
  ASSERT_TRUE(out.Wait());
  ASSERT_TRUE(out.result().ok());
  // [MS-SMB2] 3.2.5.11: deregistered before returning to the application — the data was copied.
  EXPECT_TRUE(WaitUntil([&] { return channel_->in_use() == 0; }));
  EXPECT_EQ(channel_->counters().windows_invalidated_local, 1u);
  ByteView got = out.result()->data;
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin(), data.end()));
  EXPECT_FALSE(channel_->PeerWrite(f->descriptors[0], data).ok());
}

TEST_F(RdmaIoSim, WriteSendsOnlyTheDescriptorAndTheServerReadsTheData) {
  Start();
  Outcome out;
  CloseAtExit close(conn_);
  const auto data = Pattern(10000, 5);
  std::shared_ptr<RdmaTransfer> kept;
  ASSERT_TRUE(SubmitWrite(data, out, &kept));
  ASSERT_TRUE(kept);
  EXPECT_NE(kept->memory().data(), data.data());  // copied into the registered buffer
  kept.reset();
  ClientRequest req = NextSingle();
  auto f = ParseWriteRequestChannel(req);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->channel, smb2::SMB2_CHANNEL_RDMA_V1_INVALIDATE);
  EXPECT_EQ(f->length, 0u);  // [MS-SMB2] 3.2.4.7: Length and DataOffset 0
  EXPECT_EQ(f->data_offset, 0u);
  EXPECT_EQ(f->remaining_bytes, 10000u);
  ASSERT_EQ(f->descriptors.size(), 1u);
  EXPECT_EQ(f->descriptors[0].length, 10000u);
  EXPECT_LT(req.bytes.size(), 200u);  // no file data in the message
  // The server may not write into a WRITE's buffer, and reads exactly what was given.
  EXPECT_FALSE(channel_->PeerWrite(f->descriptors[0], Pattern(16, 0)).ok());
  auto pulled = channel_->PeerRead(f->descriptors[0]);
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(*pulled, data);
  smb2::BufferDescriptorV1 beyond = f->descriptors[0];
  beyond.length += 1;
  EXPECT_FALSE(channel_->PeerRead(beyond).ok());
  ASSERT_TRUE(server_->Reply({WriteResponse(req.header, 10000)}).ok());
  ASSERT_TRUE(out.Wait());
  EXPECT_TRUE(out.status().ok()) << out.status().ToString();
  EXPECT_EQ(channel_->in_use(), 0u);
  ClientStats s = Stats();
  EXPECT_EQ(s.bytes_rdma_read, 10000u);
  EXPECT_EQ(s.rdma_writes, 1u);
}

// A caller whose data already sits in the registered buffer (it filled memory() itself) sends it
// without a copy: what the server pulls is that memory.
TEST_F(RdmaIoSim, WriteFromTheRegisteredBufferItselfIsNotCopied) {
  Start();
  std::shared_ptr<RdmaTransfer> t = path_.Begin(*wire_, 20000, false, false, false);
  ASSERT_NE(t, nullptr);
  const auto data = Pattern(20000, 8);
  std::copy(data.begin(), data.end(), t->memory().begin());
  Request r = client::NewRequest(smb2::SMB2_WRITE);
  ASSERT_TRUE(EncodeWriteFor(r, smb2::WriteRequest{}, t->memory(), t.get()).ok());
  EXPECT_TRUE(r.payload.empty());
  Outcome out;
  CloseAtExit close(conn_);
  conn_->Submit(std::move(r), out.Callback());
  ClientRequest req = NextSingle();
  auto f = ParseWriteRequestChannel(req);
  ASSERT_TRUE(f.ok() && f->descriptors.size() == 1);
  auto pulled = channel_->PeerRead(f->descriptors[0]);
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(*pulled, data);
  ASSERT_TRUE(server_->Reply({WriteResponse(req.header, 20000)}).ok());
  ASSERT_TRUE(out.Wait());
  t.reset();
  EXPECT_EQ(channel_->in_use(), 0u);
  // A span of the wrong length is refused rather than sent short.
  std::shared_ptr<RdmaTransfer> u = path_.Begin(*wire_, 8192, false, false, false);
  ASSERT_NE(u, nullptr);
  Request r2 = client::NewRequest(smb2::SMB2_WRITE);
  EXPECT_TRUE(EncodeWriteFor(r2, smb2::WriteRequest{}, ByteView(data).first(8000), u.get())
                  .Is(Code::kInvalidArgument));
}

TEST_F(RdmaIoSim, WriteCountAboveTheDataIsRejectedAndTheBufferReleased) {
  Start();
  Outcome out;
  CloseAtExit close(conn_);
  const auto data = Pattern(8000, 1);
  ASSERT_TRUE(SubmitWrite(data, out));
  ClientRequest req = NextSingle();
  ASSERT_TRUE(server_->Reply({WriteResponse(req.header, 8001)}).ok());
  ASSERT_TRUE(out.Wait());
  EXPECT_TRUE(out.status().Is(Code::kProtocol)) << out.status().ToString();
  EXPECT_EQ(channel_->in_use(), 0u);
  EXPECT_EQ(Stats().bytes_rdma_read, 0u);
}

TEST_F(RdmaIoSim, ResponseClaimingMoreThanTheDescriptorIsAProtocolError) {
  Start();
  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(8192, 0, out);
  ClientRequest req = NextSingle();
  ASSERT_TRUE(server_->Reply({RdmaReadResponse(req.header, 8193)}).ok());
  ASSERT_TRUE(out.Wait());
  EXPECT_TRUE(out.result().status().Is(Code::kProtocol)) << out.result().status().ToString();
  EXPECT_TRUE(WaitUntil([&] { return channel_->in_use() == 0; }));
  EXPECT_EQ(Stats().bytes_rdma_write, 0u);
}

TEST_F(RdmaIoSim, InlineDataInTheResponseToAnRdmaReadIsAProtocolError) {
  Start();
  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(8192, 0, out);
  ClientRequest req = NextSingle();
  ASSERT_TRUE(server_->Reply({ReadResponse(req.header, Pattern(100, 0))}).ok());
  ASSERT_TRUE(out.Wait());
  EXPECT_TRUE(out.result().status().Is(Code::kProtocol));
  EXPECT_TRUE(WaitUntil([&] { return channel_->in_use() == 0; }));
}

TEST_F(RdmaIoSim, AnRdmaTransformWeNeverNegotiatedIsAProtocolError) {
  Start();
  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(8192, 0, out);
  ClientRequest req = NextSingle();
  auto resp = RdmaReadResponse(req.header, 100);
  StoreU32(&resp[smb2::kHeaderSize + 12], smb2::SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM);
  ASSERT_TRUE(server_->Reply({resp}).ok());
  ASSERT_TRUE(out.Wait());
  EXPECT_TRUE(out.result().status().Is(Code::kProtocol));
}

TEST_F(RdmaIoSim, SigningOrEncryptionSendsTheDataInline) {
  Start();
  EXPECT_EQ(path_.Begin(*wire_, 65536, true, /*signing=*/true, false), nullptr);
  EXPECT_EQ(path_.Begin(*wire_, 65536, false, false, /*encryption=*/true), nullptr);
  EXPECT_EQ(channel_->counters().buffers_acquired, 0u);
  EXPECT_EQ(Stats(true, false).rdma_data_path, "inline: signing required");
  EXPECT_EQ(Stats(true, true).rdma_data_path, "inline: encryption required");

  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(65536, 0, out, /*signing=*/true);
  ClientRequest req = NextSingle();
  auto f = ParseReadRequestChannel(req);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->channel, smb2::SMB2_CHANNEL_NONE);
  EXPECT_EQ(f->remaining_bytes, 0u);
  EXPECT_TRUE(f->descriptors.empty());
  const auto data = Pattern(65536, 2);
  ASSERT_TRUE(server_->Reply({ReadResponse(req.header, data)}).ok());
  ASSERT_TRUE(out.Wait());
  ASSERT_TRUE(out.result().ok());
  EXPECT_EQ(out.result()->data.size(), 65536u);
  EXPECT_EQ(channel_->in_use(), 0u);
}

TEST_F(RdmaIoSim, SigningForcingInlineIsSaidOnceInTheLog) {
  Start();
  std::mutex mu;
  std::vector<std::string> lines;
  const LogLevel level = GetLogLevel();
  SetLogLevel(LogLevel::kInfo);
  SetLogSink([&](LogLevel, std::string_view m) {
    std::lock_guard lock(mu);
    if (m.find("inline, not by RDMA") != std::string_view::npos) lines.emplace_back(m);
  });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(path_.Begin(*wire_, 65536, true, true, false), nullptr);
  SetLogSink(nullptr);
  SetLogLevel(level);
  std::lock_guard lock(mu);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("signing required"), std::string::npos) << lines[0];
}

TEST_F(RdmaIoSim, SmallAndOversizedIoGoesInline) {
  Start(/*max_io=*/65536);
  EXPECT_EQ(path_.Begin(*wire_, 4096, true, false, false), nullptr);   // at the threshold
  EXPECT_EQ(path_.Begin(*wire_, 65537, true, false, false), nullptr);  // above max_io_size
  EXPECT_NE(path_.Begin(*wire_, 4097, true, false, false), nullptr);
  EXPECT_EQ(channel_->in_use(), 0u);  // the transfer above was dropped at once: released

  Outcome out;
  CloseAtExit close(conn_);
  const auto data = Pattern(4096, 4);
  EXPECT_FALSE(SubmitWrite(data, out));
  ClientRequest req = NextSingle();
  auto f = ParseWriteRequestChannel(req);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->channel, smb2::SMB2_CHANNEL_NONE);
  EXPECT_EQ(f->length, 4096u);
  EXPECT_EQ(req.bytes.size(), smb2::kWriteRequestDataOffset + 4096u);
  ASSERT_TRUE(server_->Reply({WriteResponse(req.header, 4096)}).ok());
  ASSERT_TRUE(out.Wait());
  EXPECT_TRUE(out.status().ok());
}

TEST_F(RdmaIoSim, NoTransportChannelMeansTcp) {
  StartConnection();
  EXPECT_EQ(path_.Begin(*wire_, 65536, true, false, false), nullptr);
  ClientStats s = Stats();
  EXPECT_EQ(s.rdma_data_path, "tcp");
  EXPECT_EQ(s.rdma_mechanism, "");
}

// Every buffer in flight: the next READ waits for one rather than going inline, and still moves its
// data by RDMA once the first READ's buffer comes back.
TEST_F(RdmaIoSim, ExhaustedBuffersMakeTheNextIoWait) {
  Start(1 << 20, /*count=*/1);
  ReadOutcome first, second;
  CloseAtExit close(conn_);
  ASSERT_NE(SubmitRead(8192, 0, first), nullptr);
  ClientRequest r1 = NextSingle();
  std::atomic<bool> submitted{false};
  std::thread reader([&] {
    SubmitRead(8192, 8192, second);  // blocks in Begin until the first buffer is released
    submitted.store(true);
  });
  // The reader has reached the wait before the buffer comes back (not a guess at its timing).
  ASSERT_TRUE(WaitUntil([&] { return Stats().rdma_acquire_waits == 1; }));
  EXPECT_FALSE(submitted.load());
  auto f1 = ParseReadRequestChannel(r1);
  ASSERT_TRUE(f1.ok() && f1->descriptors.size() == 1);
  ASSERT_TRUE(channel_->PeerWrite(f1->descriptors[0], Pattern(8192, 1)).ok());
  channel_->PeerInvalidate(f1->descriptors[0].token);
  ASSERT_TRUE(server_->Reply({RdmaReadResponse(r1.header, 8192)}).ok());
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(first.result().ok());
  first.Drop();  // the zero-copy view let go: the buffer returns, the waiting READ takes it
  reader.join();
  ClientRequest r2 = NextSingle();
  auto f2 = ParseReadRequestChannel(r2);
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f2->channel, smb2::SMB2_CHANNEL_RDMA_V1_INVALIDATE);
  ASSERT_EQ(f2->descriptors.size(), 1u);
  ASSERT_TRUE(channel_->PeerWrite(f2->descriptors[0], Pattern(8192, 2)).ok());
  ASSERT_TRUE(server_->Reply({RdmaReadResponse(r2.header, 8192)}).ok());
  ASSERT_TRUE(second.Wait());
  ASSERT_TRUE(second.result().ok());
  ClientStats s = Stats();
  EXPECT_EQ(s.bytes_rdma_write, 16384u);
  EXPECT_EQ(s.rdma_reads, 2u);
  EXPECT_EQ(s.rdma_acquire_waits, 1u);
  EXPECT_EQ(s.rdma_acquire_exhausted, 0u);
  EXPECT_EQ(s.bytes_copied_rdma, 0u);  // both READs viewed in place
  second.Drop();
  EXPECT_EQ(channel_->in_use(), 0u);
}

// The wait is bounded: then an I/O that fits a message goes inline, and one that does not fails
// with the channel's reason instead of being sent in a message the peer would refuse.
TEST_F(RdmaIoSim, ExhaustionAfterTheWaitGoesInlineOnlyWhenItFits) {
  Start(1 << 20, /*count=*/1);
  path_.SetLimits(/*inline_limit=*/65536, /*rdma_limit=*/1 << 20);
  std::shared_ptr<RdmaTransfer> held = path_.Begin(*wire_, 8192, true, false, false);
  ASSERT_NE(held, nullptr);
  constexpr std::chrono::milliseconds kShort{30};
  EXPECT_EQ(path_.Begin(*wire_, 65536, true, false, false, kShort), nullptr);  // inline
  std::shared_ptr<RdmaTransfer> failed = path_.Begin(*wire_, 65537, false, false, false, kShort);
  ASSERT_NE(failed, nullptr);
  EXPECT_TRUE(failed->status().Is(Code::kResourceExhausted)) << failed->status().ToString();
  Request r = client::NewRequest(smb2::SMB2_WRITE);
  const auto data = Pattern(65537, 3);
  EXPECT_TRUE(EncodeWriteFor(r, smb2::WriteRequest{}, data, failed.get())
                  .Is(Code::kResourceExhausted));
  Request rr = client::NewRequest(smb2::SMB2_READ);
  smb2::ReadRequest read;
  read.length = 65537;
  EXPECT_TRUE(EncodeReadFor(rr, read, failed.get()).Is(Code::kResourceExhausted));
  ClientStats s = Stats();
  EXPECT_EQ(s.rdma_acquire_exhausted, 2u);
  EXPECT_EQ(s.rdma_acquire_waits, 2u);
  failed.reset();  // holds no buffer: nothing to release
  held.reset();
  EXPECT_EQ(channel_->in_use(), 0u);
  EXPECT_EQ(channel_->released(), 1u);
}

// rsize/wsize follow the path the data takes: one RDMA buffer with data by RDMA, one message
// when signing or encryption keeps it inline ([MS-SMB2] 3.2.4.6), no limit of ours on TCP.
TEST_F(RdmaIoSim, IoLimitFollowsTheDataPath) {
  RdmaDataPath path;
  EXPECT_EQ(path.IoLimit(false, false), 0u);  // nothing set: TCP
  path.SetLimits(0, 0);
  EXPECT_EQ(path.IoLimit(true, true), 0u);
  path.SetLimits(/*inline_limit=*/172032 - 4096, /*rdma_limit=*/1 << 20);
  EXPECT_EQ(path.IoLimit(false, false), 1u << 20);
  EXPECT_EQ(path.IoLimit(true, false), 172032u - 4096);
  EXPECT_EQ(path.IoLimit(false, true), 172032u - 4096);
  path.SetLimits(/*inline_limit=*/1040384, /*rdma_limit=*/65536);  // small buffers: inline bigger
  EXPECT_EQ(path.IoLimit(false, false), 1040384u);
  path.SetLimits(/*inline_limit=*/1040384, /*rdma_limit=*/0);  // SMB Direct without a channel
  EXPECT_EQ(path.IoLimit(false, false), 1040384u);
}

TEST_F(RdmaIoSim, ErrorStatusReleasesTheBuffer) {
  Start();
  ReadOutcome out;
  CloseAtExit close(conn_);
  SubmitRead(8192, 0, out);
  ClientRequest req = NextSingle();
  ASSERT_TRUE(server_->Reply({ErrorResponse(req.header, STATUS_ACCESS_DENIED)}).ok());
  ASSERT_TRUE(out.Wait());
  EXPECT_TRUE(out.result().status().IsNt(STATUS_ACCESS_DENIED));
  EXPECT_TRUE(WaitUntil([&] { return channel_->in_use() == 0; }));
  EXPECT_EQ(channel_->counters().windows_invalidated_local, 1u);  // revoked by us
}

TEST_F(RdmaIoSim, DisconnectReleasesEveryBuffer) {
  Start();
  ReadOutcome read;
  Outcome write;
  CloseAtExit close(conn_);
  SubmitRead(8192, 0, read);
  const auto data = Pattern(9000, 7);
  ASSERT_TRUE(SubmitWrite(data, write));
  ASSERT_TRUE(wire_->WaitForSent(2));
  EXPECT_EQ(channel_->in_use(), 2u);
  channel_->Disconnect();
  wire_->CloseFromServer(Status(Code::kDisconnected, 0, "test: server hung up"));
  ASSERT_TRUE(read.Wait() && write.Wait());
  EXPECT_TRUE(read.result().status().Is(Code::kDisconnected));
  EXPECT_TRUE(write.status().Is(Code::kDisconnected));
  EXPECT_TRUE(WaitUntil([&] { return channel_->in_use() == 0; }));
  // After the connection is gone, Acquire fails and I/O would go inline (and then fail to send).
  EXPECT_EQ(path_.Begin(*wire_, 8192, true, false, false), nullptr);
}

TEST_F(RdmaIoSim, CreditChargeCoversTheRdmaLength) {
  Start();
  ReadOutcome second;
  CloseAtExit close(conn_);
  SubmitRead(200000, 0, second);
  ClientRequest r2 = NextSingle();
  EXPECT_EQ(r2.header.credit_charge, smb2::CreditChargeFor(200000));  // 4
  ASSERT_TRUE(server_->Reply({RdmaReadResponse(r2.header, 0)}).ok());
  ASSERT_TRUE(second.Wait());

  Outcome write;
  ASSERT_TRUE(SubmitWrite(Pattern(150000, 1), write));
  ClientRequest r3 = NextSingle();
  EXPECT_EQ(r3.header.credit_charge, 3);  // by RemainingBytes, though Length is 0
  ASSERT_TRUE(server_->Reply({WriteResponse(r3.header, 150000)}).ok());
  ASSERT_TRUE(write.Wait());
}

// One ReadAsyncView of `pieces` READs of `piece_size` bytes, sent as ClientImpl::ReadAsyncView
// sends them (client/file_ops.cc): in file order from the caller's thread, each acquiring its
// buffer when built (waiting while the pool is empty), each settled by the view's budget when its
// response arrives. The server answers every READ as it comes, RDMA-writing Pattern(piece, i) —
// except, when `hold_first` > 0, the first `hold_first` READs: those it answers only once the
// caller has been seen waiting for a buffer (so a view larger than a pool of `hold_first` buffers
// waits every time, whatever the threads' timing). Returns the pieces' outcomes; fails the test
// when the view does not complete.
struct ViewRun {
  std::vector<std::optional<RdmaReadPiece>> pieces;
  size_t held = 0;
};

class ViewSim : public RdmaIoSim {
 protected:
  ViewRun ReadView(size_t pieces, uint32_t piece_size, size_t max_held, size_t hold_first = 0) {
    auto budget = std::make_shared<client::ViewBufferBudget>(pieces, max_held);
    std::mutex mu;
    std::condition_variable cv;
    ViewRun run;
    run.pieces.resize(pieces);
    size_t done = 0;
    std::vector<Status> errors;
    std::thread caller([&] {
      for (size_t i = 0; i < pieces; ++i) {
        std::shared_ptr<RdmaTransfer> t = path_.Begin(*wire_, piece_size, true, false, false);
        Request r = client::NewRequest(smb2::SMB2_READ);
        r.tree_id = 7;
        smb2::ReadRequest rr;
        rr.length = piece_size;
        rr.offset = uint64_t{i} * piece_size;
        Status encoded = EncodeReadFor(r, rr, t.get());
        budget->Built();
        if (!encoded.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(encoded);
          ++done;
          cv.notify_all();
          continue;
        }
        conn_->Submit(std::move(r), [&, i, t, budget](Result<Response> resp) mutable {
          std::optional<RdmaReadPiece> settled;
          Status st;
          if (!resp.ok()) {
            st = resp.status();
          } else {
            auto piece = client::ReadResponseData(*resp, piece_size, t, path_);
            if (piece.ok()) settled = budget->Settle(std::move(piece).value(), t.get());
            else st = piece.status();
          }
          t.reset();
          std::lock_guard lock(mu);
          if (!st.ok()) errors.push_back(st);
          run.pieces[i] = std::move(settled);
          ++done;
          cv.notify_all();
        });
      }
    });
    auto answer = [&](const ClientRequest& req, size_t i) {
      auto f = ParseReadRequestChannel(req);
      if (!f.ok() || f->descriptors.size() != 1) {
        ADD_FAILURE() << "READ " << i << " carries no single descriptor";
        return false;
      }
      const auto data = Pattern(piece_size, static_cast<uint8_t>(req.header.message_id));
      EXPECT_TRUE(channel_->PeerWrite(f->descriptors[0], data).ok());
      channel_->PeerInvalidate(f->descriptors[0].token);
      EXPECT_TRUE(server_->Reply({RdmaReadResponse(req.header, piece_size)}).ok());
      return true;
    };
    std::vector<ClientRequest> held;
    for (size_t i = 0; i < pieces; ++i) {
      ClientRequest req = NextSingle();
      if (i < hold_first) {
        held.push_back(std::move(req));
        if (held.size() < hold_first && i + 1 < pieces) continue;
        // Every buffer is in a READ the server has not answered: the caller's next Begin waits.
        EXPECT_TRUE(WaitUntil([&] { return Stats().rdma_acquire_waits > 0; }))
            << "the caller never waited for a buffer";
        bool ok = true;
        for (size_t k = 0; k < held.size() && ok; ++k) ok = answer(held[k], k);
        held.clear();
        if (!ok) break;
        continue;
      }
      if (!answer(req, i)) break;
    }
    {
      std::unique_lock lock(mu);
      EXPECT_TRUE(cv.wait_for(lock, kFakeWaitTimeout, [&] { return done == pieces; }))
          << "the view did not complete: " << done << " of " << pieces << " pieces";
    }
    caller.join();
    for (const Status& e : errors) ADD_FAILURE() << e.ToString();
    run.held = budget->held();
    return run;
  }
};

// A view of 10 READs over a pool of 4 buffers: the caller's thread has to wait for buffers that
// only the view's own earlier pieces can return. Pieces answered while later ones still wait are
// copied out and give their buffer back; the view completes with every byte right, keeping at
// most max_held buffers until the caller drops it.
TEST_F(ViewSim, AViewLargerThanThePoolCompletesAndHoldsAtMostItsBudget) {
  Start(65536, 4);
  CloseAtExit close(conn_);
  ViewRun run = ReadView(10, 65536, /*max_held=*/2, /*hold_first=*/4);
  ASSERT_EQ(run.pieces.size(), 10u);
  for (size_t i = 0; i < run.pieces.size(); ++i) {
    ASSERT_TRUE(run.pieces[i].has_value()) << i;
    EXPECT_EQ(run.pieces[i]->data.size(), 65536u);
  }
  EXPECT_GE(run.held, 1u);  // the last READ was answered after every piece had its buffer
  EXPECT_LE(run.held, 2u);
  EXPECT_EQ(channel_->in_use(), run.held);  // only the held pieces keep registered memory
  ClientStats s = Stats();
  EXPECT_EQ(s.bytes_rdma_write, 10u * 65536);
  EXPECT_EQ(s.bytes_copied_rdma, (10 - run.held) * 65536);
  EXPECT_GT(s.rdma_acquire_waits, 0u);      // the view did outgrow the pool
  EXPECT_EQ(s.rdma_acquire_exhausted, 0u);  // and no piece gave up waiting
  run.pieces.clear();
  EXPECT_EQ(channel_->in_use(), 0u);
}

// The data of each piece is the server's for that READ, copied or held alike.
TEST_F(ViewSim, EveryPieceOfALargeViewCarriesItsOwnData) {
  Start(65536, 3);
  CloseAtExit close(conn_);
  ViewRun run = ReadView(7, 65536, client::kViewHeldBuffersMax);
  ASSERT_EQ(run.pieces.size(), 7u);
  // Message ids: the credit-granting ECHO took 0, the READs follow in order.
  for (size_t i = 0; i < run.pieces.size(); ++i) {
    ASSERT_TRUE(run.pieces[i].has_value()) << i;
    const auto want = Pattern(65536, static_cast<uint8_t>(i + 1));
    ByteView got = run.pieces[i]->data;
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin(), want.end())) << "piece " << i;
  }
  // The bound of 16 is above this pool: the rule that no piece holds while another still waits
  // is what kept the view from waiting on itself; what it holds fits the pool.
  EXPECT_GE(run.held, 1u);
  EXPECT_LE(run.held, 3u);
  EXPECT_EQ(channel_->in_use(), run.held);
  EXPECT_EQ(Stats().rdma_acquire_exhausted, 0u);
  run.pieces.clear();
  EXPECT_EQ(channel_->in_use(), 0u);
}

// A view no larger than the pool is zero copy throughout, as before.
TEST_F(ViewSim, AViewWithinThePoolStaysZeroCopy) {
  Start(65536, 4);
  CloseAtExit close(conn_);
  ViewRun run = ReadView(1, 65536, client::kViewHeldBuffersMax);
  ASSERT_TRUE(run.pieces[0].has_value());
  EXPECT_EQ(run.held, 1u);
  EXPECT_EQ(channel_->in_use(), 1u);
  EXPECT_EQ(Stats().bytes_copied_rdma, 0u);
  run.pieces.clear();
  EXPECT_EQ(channel_->in_use(), 0u);
}

}  // namespace
}  // namespace smb3::test
