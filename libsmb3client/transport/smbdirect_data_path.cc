// SPDX-License-Identifier: LGPL-2.1-or-later
// SMB Direct data path: receive and send buffers, work completions and draining the engine.
// Everything here runs with endpoint_mu_ held (see smbdirect_impl.h).
#include <cstring>

#include "base/log.h"
#include "transport/rdma/registrar.h"
#include "transport/smbdirect_impl.h"

namespace smb3::transport {
namespace {

// A flushed completion while we did not disconnect: the queue pair went into error under us.
constexpr Status kFlushed(Code::kDisconnected, 0,
                          "smbd: work request flushed (queue pair in error)");

}  // namespace

void SmbDirectTransport::Drive(smbd::Timestamp now) {
  if (!endpoint_gone_) {
    Status s = endpoint_->Process();
    // Process() fails only when the device itself failed; the endpoint is then disconnected.
    if (!s.ok()) Lose(s);
    while (auto e = endpoint_->NextEvent()) OnEvent(*e, now);
    // Flushes without our Disconnect(): the queue pair went into error under us. A disconnect
    // event in the same batch has already named the better reason.
    if (flushed_ && !disconnecting_) Lose(kFlushed);
  }
  if (auto deadline = engine_.NextDeadline(); deadline && now >= *deadline) engine_.OnTimer(now);
  if (!disconnecting_ && engine_.state() == smbd::State::kDisconnected) {
    // A protocol violation, a timer or a refused negotiation: tear the RDMA connection down
    // ([MS-SMBD] 3.1.7.1, 3.1.5.6).
    SMB3_LOG_DEBUG("smbd %s: %s", peer_.c_str(), engine_.error().ToString().c_str());
    BeginDisconnect();
  }
  if (disconnecting_) return;
  PostReceives();
  PostSends(now);
}

void SmbDirectTransport::OnEvent(const rdma::Event& e, smbd::Timestamp now) {
  using Kind = rdma::Event::Kind;
  if (e.kind == Kind::kDisconnected) {
    // The last event: every work request has completed (flushed) before it.
    endpoint_gone_ = true;
    engine_.OnConnectionLost(
        e.status.ok() ? Status(Code::kDisconnected, 0, "smbd: peer disconnected") : e.status);
    BeginDisconnect();
    return;
  }
  if (e.kind == Kind::kConnected) return;
  if (channel_ && rdma::Registrar::Owns(e.wr_id)) {
    // The data channel's binds and invalidations ([MS-SMBD] 3.1.4.3).
    channel_->OnEvent(e);
    if (!e.ok()) Fail(e);
    return;
  }
  const uint64_t tag = e.wr_id & kTagMask;
  const auto index = static_cast<uint32_t>(e.wr_id & ~kTagMask);
  if (e.kind == Kind::kRecv && tag == kRecvTag && index < recv_count_) {
    if (!e.ok()) {
      // A flushed receive means the queue pair is in error or going away: teardown, and the
      // buffer is not reposted.
      Fail(e);
      return;
    }
    if (e.invalidated_rkey && channel_) {
      // [MS-SMBD] 3.1.5.8 InvalidatedToken: the key is dead before the message carrying the
      // response goes upward, where the client releases the buffer.
      channel_->OnRemoteInvalidation(*e.invalidated_rkey);
    }
    const uint32_t length = std::min(e.byte_len, recv_size_);
    ByteView bytes(recv_slab_.data() + size_t{index} * recv_size_, length);
    // Every byte is the peer's: the engine validates the message and disconnects on a violation.
    (void)engine_.OnReceive(bytes, now, e.invalidated_rkey);
    free_recv_.push_back(index);
    return;
  }
  if (e.kind == Kind::kSend && tag == kSendTag && index < send_count_) {
    free_send_.push_back(index);
    if (!e.ok()) Fail(e);
    return;
  }
  if (!e.ok()) Fail(e);
}

// [MS-SMBD] 3.1.5.9: keep ReceivesWanted() receives posted; each grants the peer one credit.
void SmbDirectTransport::PostReceives() {
  if (engine_.state() == smbd::State::kDisconnected) return;
  uint32_t want = engine_.ReceivesWanted();
  uint32_t posted = 0;
  while (posted < want && !free_recv_.empty()) {
    const uint32_t index = free_recv_.back();
    rdma::Sge sge = recv_mr_->Slice(size_t{index} * recv_size_, recv_size_);
    Status s = endpoint_->PostReceive(kRecvTag | index, {&sge, 1});
    if (!s.ok()) {
      if (posted) engine_.OnReceivesPosted(posted);
      Lose(s);
      return;
    }
    free_recv_.pop_back();
    ++posted;
  }
  if (posted) engine_.OnReceivesPosted(posted);
}

// Fragments queued messages into free send buffers while credits allow ([MS-SMBD] 3.1.5.1: the
// engine decides what may go). Stops when every send buffer waits for its completion.
void SmbDirectTransport::PostSends(smbd::Timestamp now) {
  while (engine_.state() != smbd::State::kDisconnected) {
    if (free_send_.empty()) {
      if (engine_.HasQueuedData()) ++send_buffer_stalls_;
      break;
    }
    const uint32_t index = free_send_.back();
    MutableByteView out(send_slab_.data() + size_t{index} * send_size_, send_size_);
    auto size = engine_.NextSend(out, now);
    if (!size) break;
    rdma::Sge sge = send_mr_->Slice(size_t{index} * send_size_, static_cast<uint32_t>(*size));
    Status s = endpoint_->PostSend(kSendTag | index, {&sge, 1});
    if (!s.ok()) {
      // The engine already counted the message as sent: the connection cannot go on.
      Lose(s);
      return;
    }
    free_send_.pop_back();
  }
  if (engine_.queued_bytes() < options_.max_queued_bytes) send_cv_.notify_all();
}

void SmbDirectTransport::Fail(const rdma::Event& e) {
  if (e.flushed()) {
    flushed_ = true;
  } else {
    Lose(rdma::WcStatusToStatus(e.wc_status));
  }
}

void SmbDirectTransport::Lose(Status why) {
  engine_.OnConnectionLost(why);
  BeginDisconnect();
}

void SmbDirectTransport::BeginDisconnect() {
  closed_ = true;
  send_cv_.notify_all();
  if (disconnecting_) return;
  disconnecting_ = true;
  teardown_deadline_ = smbd::Clock::now() + std::chrono::seconds(5);
  if (!endpoint_gone_) endpoint_->Disconnect();
}

void SmbDirectTransport::TakeMessages(std::vector<Buffer>& out) {
  while (auto m = engine_.NextReassembled()) {
    Buffer b = pool_->Get(m->data.size());
    std::memcpy(b.data(), m->data.data(), m->data.size());
    out.push_back(std::move(b));
  }
}

}  // namespace smb3::transport
