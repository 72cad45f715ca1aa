// SPDX-License-Identifier: LGPL-2.1-or-later
// Internals of the rdma-core endpoint: RAII holders for every rdma-core object and the endpoint
// class, shared by the control path (verbs_endpoint.cc) and the data path (verbs_data_path.cc).
#pragma once

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "transport/rdma/device.h"
#include "transport/rdma/verbs_endpoint.h"
#include "transport/rdma/verbs_errors.h"

namespace smb3::transport::rdma::verbs {

struct EventChannelDeleter {
  void operator()(rdma_event_channel* c) const { rdma_destroy_event_channel(c); }
};
struct CmIdDeleter {
  void operator()(rdma_cm_id* id) const { rdma_destroy_id(id); }
};
struct PdDeleter {
  void operator()(ibv_pd* pd) const { ibv_dealloc_pd(pd); }
};
struct CompChannelDeleter {
  void operator()(ibv_comp_channel* c) const { ibv_destroy_comp_channel(c); }
};
struct MrDeleter {
  void operator()(ibv_mr* mr) const { ibv_dereg_mr(mr); }
};
struct MwDeleter {
  void operator()(ibv_mw* mw) const { ibv_dealloc_mw(mw); }
};
using EventChannelPtr = std::unique_ptr<rdma_event_channel, EventChannelDeleter>;
using CmIdPtr = std::unique_ptr<rdma_cm_id, CmIdDeleter>;
using PdPtr = std::unique_ptr<ibv_pd, PdDeleter>;
using CompChannelPtr = std::unique_ptr<ibv_comp_channel, CompChannelDeleter>;
using MrPtr = std::unique_ptr<ibv_mr, MrDeleter>;
using MwPtr = std::unique_ptr<ibv_mw, MwDeleter>;

// A completion queue; acknowledges the events it was handed before it is destroyed, as
// ibv_destroy_cq requires.
class CompletionQueue {
 public:
  CompletionQueue() = default;
  explicit CompletionQueue(ibv_cq* cq) : cq_(cq) {}
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;
  ~CompletionQueue() {
    if (cq_ == nullptr) return;
    AckEvents();
    ibv_destroy_cq(cq_);
  }
  ibv_cq* get() const { return cq_; }
  // Takes ownership; called once, on an empty holder.
  void Reset(ibv_cq* cq) { cq_ = cq; }
  void CountEvent() { ++unacked_; }
  void AckEvents() {
    if (unacked_ > 0) ibv_ack_cq_events(cq_, unacked_);
    unacked_ = 0;
  }

 private:
  ibv_cq* cq_ = nullptr;
  unsigned unacked_ = 0;
};

// The queue pair rdma_create_qp attached to an id; rdma_destroy_qp on destruction.
class QueuePair {
 public:
  QueuePair() = default;
  explicit QueuePair(rdma_cm_id* id) : id_(id) {}
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;
  ~QueuePair() {
    if (id_ != nullptr) rdma_destroy_qp(id_);
  }
  ibv_qp* get() const { return id_ != nullptr ? id_->qp : nullptr; }
  // Takes ownership of the queue pair on `id`; called once, on an empty holder.
  void Reset(rdma_cm_id* id) { id_ = id; }

 private:
  rdma_cm_id* id_ = nullptr;
};

uint32_t ToIbvAccess(uint32_t access);
// A completion's status, the one mapping from ibv_wc_status.
WcStatus FromIbv(ibv_wc_status s);

class VerbsRegion final : public MemoryRegion {
 public:
  VerbsRegion(MrPtr mr, uint32_t access) : mr_(std::move(mr)), access_(access) {}
  uint8_t* data() const override { return static_cast<uint8_t*>(mr_->addr); }
  size_t size() const override { return mr_->length; }
  uint32_t lkey() const override { return mr_->lkey; }
  uint32_t access() const override { return access_; }
  ibv_mr* mr() const { return mr_.get(); }

 private:
  MrPtr mr_;
  uint32_t access_;
};

// A type-2 memory window, or (kRegisterPerIo) the slot for a per-I/O registration.
class VerbsEndpoint;

class VerbsWindow final : public MemoryWindow {
 public:
  explicit VerbsWindow(VerbsEndpoint* owner) : owner_(owner) {}
  ~VerbsWindow() override;
  RemoteWindow remote() const override { return remote_; }
  bool bound() const override { return bound_; }

  MwPtr mw;          // kMemoryWindow
  MrPtr io_mr;       // kRegisterPerIo: the registration of the exposed range
  uint32_t key = 0;  // the key of the latest bind
  bool bound_ = false;
  bool pending_ = false;  // a bind or invalidation is in flight
  // The peer invalidated `key` before our bind's completion was polled: the bind completes
  // into an unbound window.
  bool invalidated_early_ = false;
  RemoteWindow remote_;
  VerbsEndpoint* owner_;
};

class VerbsEndpoint final : public Endpoint {
 public:
  VerbsEndpoint() = default;
  ~VerbsEndpoint() override;

  // Control path (verbs_endpoint.cc).
  Status Resolve(const std::string& address, uint16_t port, const ResolveOptions& options);
  // Passive side: takes a requested id (migrated to `channel`) and creates its queue pair.
  Status Adopt(EventChannelPtr channel, CmIdPtr id, std::vector<uint8_t> private_data,
               const QueueOptions& queues);
  State state() const override { return state_; }
  const DeviceCaps& caps() const override { return caps_; }
  Status Connect(const ConnectParams& params) override;
  std::vector<uint8_t> accept_private_data() const override { return accept_private_data_; }
  void Disconnect() override;
  Result<std::unique_ptr<MemoryRegion>> Register(std::span<uint8_t> memory,
                                                 uint32_t access) override;
  Result<std::unique_ptr<MemoryWindow>> AllocateWindow() override;
  int cm_fd() const override { return channel_ ? channel_->fd : -1; }
  int cq_fd() const override { return comp_channel_ ? comp_channel_->fd : -1; }
  Status Process() override;
  std::optional<Event> NextEvent() override;

  // Data path (verbs_data_path.cc).
  Status Bind(uint64_t wr_id, MemoryWindow& window, const MemoryRegion& region, size_t offset,
              uint32_t length, uint32_t remote_access) override;
  Status Invalidate(uint64_t wr_id, MemoryWindow& window) override;
  Status PostReceive(uint64_t wr_id, std::span<const Sge> sges) override;
  Status PostSend(uint64_t wr_id, std::span<const Sge> sges, bool inline_data,
                  std::optional<uint32_t> invalidate_rkey) override;
  Status PostWrite(uint64_t wr_id, std::span<const Sge> sges, const RemoteWindow& to) override;
  Status PostRead(uint64_t wr_id, std::span<const Sge> sges, const RemoteWindow& from) override;

  // A window is going away: no completion may reach it any more.
  void ForgetWindow(VerbsWindow* window);

 private:
  // What a posted work request was, by our own id: an error completion carries no opcode.
  struct Pending {
    Event::Kind kind;
    uint64_t wr_id;
    VerbsWindow* window = nullptr;  // kBind/kInvalidate
  };

  Status CreateQueuePair(const QueueOptions& queues);
  Result<rdma_cm_event_type> WaitCmEvent(std::chrono::steady_clock::time_point deadline);
  void HandleCmEvent(rdma_cm_event_type type);
  void MarkDisconnecting(Status why);
  void MaybeFinishDisconnect();
  Status PollCompletions();
  void OnCompletion(const ibv_wc& wc);
  Status CanPostSend() const;
  Status PostSendWr(ibv_send_wr& wr, Pending pending);
  void Emit(Event e) { events_.push_back(std::move(e)); }

  // Declaration order is creation order: members are destroyed in reverse, queue pair first.
  EventChannelPtr channel_;
  CmIdPtr id_;
  PdPtr pd_;
  CompChannelPtr comp_channel_;
  CompletionQueue cq_;
  QueuePair qp_;

  DeviceCaps caps_;
  QueueOptions queues_;
  State state_ = State::kResolved;
  bool connected_once_ = false;
  bool passive_ = false;
  std::vector<uint8_t> peer_private_data_;  // passive: the initiator's, for Event::kConnected
  std::vector<uint8_t> accept_private_data_;  // active: the acceptor's, from ESTABLISHED
  bool qp_error_ = false;
  bool disconnecting_ = false;
  Status disconnect_reason_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Pending> pending_;
  // By rkey, from the bind's posting until the key dies: remote invalidation.
  std::unordered_map<uint32_t, VerbsWindow*> bound_windows_;
  std::deque<Event> events_;
};

}  // namespace smb3::transport::rdma::verbs
