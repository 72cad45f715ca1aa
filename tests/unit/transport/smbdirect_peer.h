// SPDX-License-Identifier: LGPL-2.1-or-later
// A scripted MS-SMBD responder on the passive side of a softrdma fabric, for testing the SMB
// Direct transport: the test thread plays the server message by message while the transport
// runs its own event loop thread.
//
// softrdma is single-threaded, so every endpoint of the fabric is wrapped in a LockedEndpoint
// sharing one mutex: the transport's thread and the test's thread never touch the fabric at once.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "smbd/pdu.h"
#include "transport/rdma/device.h"
#include "transport/softrdma/fabric.h"

namespace smb3::transport::test {

// Serialises every call into a softrdma endpoint (and what it created) with `mu`.
class LockedRegion final : public rdma::MemoryRegion {
 public:
  LockedRegion(std::unique_ptr<rdma::MemoryRegion> inner, std::shared_ptr<std::mutex> mu)
      : inner_(std::move(inner)), mu_(std::move(mu)) {}
  ~LockedRegion() override {
    std::lock_guard lock(*mu_);
    inner_.reset();
  }
  uint8_t* data() const override { return inner_->data(); }
  size_t size() const override { return inner_->size(); }
  uint32_t lkey() const override { return inner_->lkey(); }
  uint32_t access() const override { return inner_->access(); }
  rdma::MemoryRegion& inner() const { return *inner_; }

 private:
  std::unique_ptr<rdma::MemoryRegion> inner_;
  std::shared_ptr<std::mutex> mu_;
};

class LockedWindow final : public rdma::MemoryWindow {
 public:
  LockedWindow(std::unique_ptr<rdma::MemoryWindow> inner, std::shared_ptr<std::mutex> mu)
      : inner_(std::move(inner)), mu_(std::move(mu)) {}
  ~LockedWindow() override {
    std::lock_guard lock(*mu_);
    inner_.reset();
  }
  rdma::RemoteWindow remote() const override {
    std::lock_guard lock(*mu_);
    return inner_->remote();
  }
  bool bound() const override {
    std::lock_guard lock(*mu_);
    return inner_->bound();
  }
  rdma::MemoryWindow& inner() const { return *inner_; }

 private:
  std::unique_ptr<rdma::MemoryWindow> inner_;
  std::shared_ptr<std::mutex> mu_;
};

class LockedEndpoint final : public rdma::Endpoint {
 public:
  LockedEndpoint(std::unique_ptr<rdma::Endpoint> inner, std::shared_ptr<std::mutex> mu)
      : inner_(std::move(inner)), mu_(std::move(mu)) {}
  ~LockedEndpoint() override {
    std::lock_guard lock(*mu_);
    inner_.reset();
  }
  rdma::Endpoint& inner() { return *inner_; }

  State state() const override {
    std::lock_guard lock(*mu_);
    return inner_->state();
  }
  const rdma::DeviceCaps& caps() const override { return inner_->caps(); }
  Status Connect(const rdma::ConnectParams& params) override {
    std::lock_guard lock(*mu_);
    return inner_->Connect(params);
  }
  std::vector<uint8_t> accept_private_data() const override {
    std::lock_guard lock(*mu_);
    return inner_->accept_private_data();
  }
  void Disconnect() override {
    std::lock_guard lock(*mu_);
    inner_->Disconnect();
  }
  Result<std::unique_ptr<rdma::MemoryRegion>> Register(std::span<uint8_t> memory,
                                                       uint32_t access) override {
    std::lock_guard lock(*mu_);
    auto r = inner_->Register(memory, access);
    if (!r.ok()) return r.status();
    return std::unique_ptr<rdma::MemoryRegion>(new LockedRegion(std::move(r).value(), mu_));
  }
  Result<std::unique_ptr<rdma::MemoryWindow>> AllocateWindow() override {
    std::lock_guard lock(*mu_);
    auto w = inner_->AllocateWindow();
    if (!w.ok()) return w.status();
    return std::unique_ptr<rdma::MemoryWindow>(new LockedWindow(std::move(w).value(), mu_));
  }
  Status Bind(uint64_t wr_id, rdma::MemoryWindow& window, const rdma::MemoryRegion& region,
              size_t offset, uint32_t length, uint32_t remote_access) override {
    std::lock_guard lock(*mu_);
    return inner_->Bind(wr_id, static_cast<LockedWindow&>(window).inner(),
                        static_cast<const LockedRegion&>(region).inner(), offset, length,
                        remote_access);
  }
  Status Invalidate(uint64_t wr_id, rdma::MemoryWindow& window) override {
    std::lock_guard lock(*mu_);
    return inner_->Invalidate(wr_id, static_cast<LockedWindow&>(window).inner());
  }
  Status PostReceive(uint64_t wr_id, std::span<const rdma::Sge> sges) override {
    std::lock_guard lock(*mu_);
    return inner_->PostReceive(wr_id, sges);
  }
  Status PostSend(uint64_t wr_id, std::span<const rdma::Sge> sges, bool inline_data,
                  std::optional<uint32_t> invalidate_rkey) override {
    std::lock_guard lock(*mu_);
    return inner_->PostSend(wr_id, sges, inline_data, invalidate_rkey);
  }
  Status PostWrite(uint64_t wr_id, std::span<const rdma::Sge> sges,
                   const rdma::RemoteWindow& to) override {
    std::lock_guard lock(*mu_);
    return inner_->PostWrite(wr_id, sges, to);
  }
  Status PostRead(uint64_t wr_id, std::span<const rdma::Sge> sges,
                  const rdma::RemoteWindow& from) override {
    std::lock_guard lock(*mu_);
    return inner_->PostRead(wr_id, sges, from);
  }
  int cm_fd() const override { return inner_->cm_fd(); }
  int cq_fd() const override { return inner_->cq_fd(); }
  Status Process() override {
    std::lock_guard lock(*mu_);
    return inner_->Process();
  }
  std::optional<rdma::Event> NextEvent() override {
    std::lock_guard lock(*mu_);
    return inner_->NextEvent();
  }

 private:
  std::unique_ptr<rdma::Endpoint> inner_;
  std::shared_ptr<std::mutex> mu_;
};

// The server's side: posts `receives` buffers of `receive_size` bytes, answers the negotiation and
// exchanges data transfer messages as the test dictates, counting the credits each side grants.
class ScriptedSmbdPeer {
 public:
  static constexpr auto kWait = std::chrono::seconds(10);

  ScriptedSmbdPeer(std::unique_ptr<rdma::Endpoint> endpoint, uint32_t receives = 255,
                   uint32_t receive_size = 8192)
      : ep_(std::move(endpoint)),
        receives_(receives),
        receive_size_(receive_size),
        recv_slab_(size_t{receives} * receive_size),
        send_buf_(1 << 16) {
    auto rmr = ep_->Register(recv_slab_, rdma::Access::kLocalWrite);
    EXPECT_TRUE(rmr.ok()) << rmr.status().ToString();
    recv_mr_ = std::move(rmr).value();
    auto smr = ep_->Register(send_buf_, 0);
    EXPECT_TRUE(smr.ok()) << smr.status().ToString();
    send_mr_ = std::move(smr).value();
    for (uint32_t i = 0; i < receives_; ++i) Repost(i);
  }

  rdma::Endpoint& endpoint() { return *ep_; }
  // Credits the transport granted us and we did not spend yet.
  uint32_t credits_from_client() const { return client_credits_; }
  bool disconnected() const { return disconnected_; }
  // The private data of the initiator's connect, once its first message was received.
  const std::vector<uint8_t>& connect_private_data() const { return connect_private_data_; }

  // The next event other than a send completion; nothing after `timeout`.
  std::optional<rdma::Event> NextEvent(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      EXPECT_TRUE(ep_->Process().ok());
      while (auto e = ep_->NextEvent()) {
        if (e->kind == rdma::Event::Kind::kSend && e->ok()) continue;
        if (e->kind == rdma::Event::Kind::kDisconnected) disconnected_ = true;
        return e;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return std::nullopt;
      pollfd pfd{ep_->cq_fd(), POLLIN, 0};
      ::poll(
          &pfd, 1,
          static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count()));
    }
  }

  // The next received message (its buffer is reposted); nothing on timeout or another event.
  std::optional<std::vector<uint8_t>> Receive(std::chrono::milliseconds timeout = kWait) {
    auto e = NextEvent(timeout);
    if (!e) return std::nullopt;
    if (e->kind == rdma::Event::Kind::kConnected) {
      connect_private_data_ = e->private_data;
      return Receive(timeout);
    }
    if (e->kind != rdma::Event::Kind::kRecv || !e->ok()) return std::nullopt;
    const auto index = static_cast<uint32_t>(e->wr_id);
    const uint8_t* p = recv_slab_.data() + size_t{index} * receive_size_;
    std::vector<uint8_t> out(p, p + e->byte_len);
    Repost(index);
    ++reposted_;
    return out;
  }

  // Waits for the negotiate request and decodes it.
  smbd::NegotiateRequest ExpectNegotiateRequest() {
    auto m = Receive();
    EXPECT_TRUE(m.has_value()) << "no negotiate request";
    if (!m) return {};
    auto r = smbd::DecodeNegotiateRequest(*m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : smbd::NegotiateRequest{};
  }

  // One SEND from the single send buffer. The transport's credits guarantee a posted receive,
  // and the fabric runs on post, so the buffer is free again when this returns.
  Status SendRaw(ByteView bytes, std::optional<uint32_t> invalidate_rkey = std::nullopt) {
    EXPECT_LE(bytes.size(), send_buf_.size());
    std::memcpy(send_buf_.data(), bytes.data(), bytes.size());
    rdma::Sge sge = send_mr_->Slice(0, static_cast<uint32_t>(bytes.size()));
    return ep_->PostSend(++wr_id_, {&sge, 1}, false, invalidate_rkey);
  }

  // RDMA WRITE of `bytes` into the transport's exposed buffer (as a server answers a READ).
  Status WriteTo(ByteView bytes, const rdma::RemoteWindow& to) {
    std::memcpy(send_buf_.data(), bytes.data(), bytes.size());
    rdma::Sge sge = send_mr_->Slice(0, static_cast<uint32_t>(bytes.size()));
    return ep_->PostWrite(++wr_id_, {&sge, 1}, to);
  }

  Status SendNegotiateResponse(const smbd::NegotiateResponse& r) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    (void)smbd::EncodeNegotiateResponse(r, w);
    max_send_ = r.preferred_send_size;
    return SendRaw(out);
  }

  // A data transfer message granting the receives reposted since the last grant (plus `extra`
  // withheld ones when `grant` is given explicitly).
  Status SendData(ByteView payload, uint32_t remaining = 0, uint16_t flags = 0,
                  std::optional<uint16_t> grant = std::nullopt,
                  std::optional<uint32_t> invalidate_rkey = std::nullopt) {
    smbd::DataTransfer h;
    h.credits_requested = 255;
    h.credits_granted = grant ? *grant : static_cast<uint16_t>(reposted_);
    if (!grant) reposted_ = 0;
    h.flags = flags;
    h.remaining_data_length = remaining;
    std::vector<uint8_t> out;
    ByteWriter w(out);
    (void)smbd::EncodeDataTransfer(h, payload, w);
    EXPECT_GT(client_credits_, 0u) << "the peer sends without a credit";
    if (client_credits_) --client_credits_;
    return SendRaw(out, invalidate_rkey);
  }

  // Sends `message` as fragments of at most max_send_ bytes ([MS-SMBD] 3.1.5.2 as a server does).
  Status SendFragmented(ByteView message) {
    const size_t room = max_send_ - smbd::kDataTransferDataOffset;
    size_t sent = 0;
    while (sent < message.size()) {
      const size_t n = std::min(room, message.size() - sent);
      SMB3_RETURN_IF_ERROR(
          SendData(message.subspan(sent, n), static_cast<uint32_t>(message.size() - sent - n)));
      sent += n;
      // Each SEND uses the one send buffer: let it complete before reusing it.
      (void)ep_->Process();
    }
    return Status::Ok();
  }

  // Receives one data transfer message and counts its grant. Nothing on timeout.
  std::optional<smbd::DataTransfer> ReceiveData(std::vector<uint8_t>& storage,
                                                std::chrono::milliseconds timeout = kWait) {
    auto m = Receive(timeout);
    if (!m) return std::nullopt;
    storage = std::move(*m);
    auto d = smbd::DecodeDataTransfer(storage);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (!d.ok()) return std::nullopt;
    client_credits_ += d->credits_granted;
    return *d;
  }

  // Reassembles one upper-layer message from the transport's fragments ([MS-SMBD] 3.1.5.8);
  // empty messages (credit grants, keepalives) in between are counted and skipped.
  std::optional<std::vector<uint8_t>> ReceiveUpper(size_t* fragments = nullptr) {
    std::vector<uint8_t> upper;
    size_t n = 0;
    for (;;) {
      std::vector<uint8_t> storage;
      auto d = ReceiveData(storage);
      if (!d) return std::nullopt;
      if (d->data_length == 0) continue;
      upper.insert(upper.end(), d->data.begin(), d->data.end());
      ++n;
      if (d->remaining_data_length == 0) break;
    }
    if (fragments) *fragments = n;
    return upper;
  }

 private:
  void Repost(uint32_t index) {
    rdma::Sge sge = recv_mr_->Slice(size_t{index} * receive_size_, receive_size_);
    Status s = ep_->PostReceive(index, {&sge, 1});
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<rdma::Endpoint> ep_;
  uint32_t receives_;
  uint32_t receive_size_;
  std::vector<uint8_t> recv_slab_;
  std::vector<uint8_t> send_buf_;
  std::unique_ptr<rdma::MemoryRegion> recv_mr_;
  std::unique_ptr<rdma::MemoryRegion> send_mr_;
  uint64_t wr_id_ = 1u << 20;
  uint32_t reposted_ = 0;
  uint32_t client_credits_ = 0;
  uint32_t max_send_ = 1364;
  bool disconnected_ = false;
  std::vector<uint8_t> connect_private_data_;  // what the initiator sent with its connect
};

}  // namespace smb3::transport::test
