// SPDX-License-Identifier: LGPL-2.1-or-later
// Data path of the rdma-core endpoint: posting receives, SENDs, RDMA READ/WRITE, window binds and
// invalidations, and turning work completions into Events.
#include <array>
#include <cerrno>

#include "transport/rdma/verbs_impl.h"

namespace smb3::transport::rdma::verbs {

namespace {

constexpr size_t kMaxSge = 16;

Status ToIbvSges(std::span<const Sge> sges, uint32_t limit, std::array<ibv_sge, kMaxSge>& out) {
  if (sges.size() > limit || sges.size() > kMaxSge) return Status::Invalid("rdma: too many SGEs");
  for (size_t i = 0; i < sges.size(); ++i) {
    out[i].addr = sges[i].addr;
    out[i].length = sges[i].length;
    out[i].lkey = sges[i].lkey;
  }
  return Status::Ok();
}

}  // namespace

VerbsWindow::~VerbsWindow() { owner_->ForgetWindow(this); }

void VerbsEndpoint::ForgetWindow(VerbsWindow* window) {
  bound_windows_.erase(window->key);
  for (auto& [id, p] : pending_) {
    if (p.window == window) p.window = nullptr;
  }
}

Status VerbsEndpoint::CanPostSend() const {
  if (state_ == State::kDisconnected || disconnecting_ || qp_error_) {
    return Status(Code::kDisconnected, 0, "rdma: queue pair in error or disconnected");
  }
  if (state_ != State::kConnected) {
    return Status::Invalid("rdma: send queue used before the connection is up");
  }
  return Status::Ok();
}

Status VerbsEndpoint::PostSendWr(ibv_send_wr& wr, Pending pending) {
  uint64_t id = next_id_++;
  wr.wr_id = id;
  wr.send_flags |= IBV_SEND_SIGNALED;
  pending_.emplace(id, pending);
  ibv_send_wr* bad = nullptr;
  Status s = VerbsStatus(ibv_post_send(qp_.get(), &wr, &bad), "rdma: ibv_post_send");
  if (!s.ok()) pending_.erase(id);
  return s;
}

Status VerbsEndpoint::PostReceive(uint64_t wr_id, std::span<const Sge> sges) {
  if (state_ == State::kDisconnected || disconnecting_ || qp_error_ || !qp_.get()) {
    return Status(Code::kDisconnected, 0, "rdma: receive posted after disconnect");
  }
  std::array<ibv_sge, kMaxSge> sg{};
  SMB3_RETURN_IF_ERROR(ToIbvSges(sges, queues_.max_recv_sge, sg));
  uint64_t id = next_id_++;
  ibv_recv_wr wr{};
  wr.wr_id = id;
  wr.sg_list = sg.data();
  wr.num_sge = static_cast<int>(sges.size());
  pending_.emplace(id, Pending{Event::Kind::kRecv, wr_id});
  ibv_recv_wr* bad = nullptr;
  Status s = VerbsStatus(ibv_post_recv(qp_.get(), &wr, &bad), "rdma: ibv_post_recv");
  if (!s.ok()) pending_.erase(id);
  return s;
}

Status VerbsEndpoint::PostSend(uint64_t wr_id, std::span<const Sge> sges, bool inline_data,
                               std::optional<uint32_t> invalidate_rkey) {
  SMB3_RETURN_IF_ERROR(CanPostSend());
  std::array<ibv_sge, kMaxSge> sg{};
  SMB3_RETURN_IF_ERROR(ToIbvSges(sges, queues_.max_send_sge, sg));
  ibv_send_wr wr{};
  wr.sg_list = sg.data();
  wr.num_sge = static_cast<int>(sges.size());
  wr.opcode = IBV_WR_SEND;
  if (inline_data) {
    uint64_t total = 0;
    for (const Sge& s : sges) total += s.length;
    if (total > queues_.max_inline_data) {
      return Status::Invalid("rdma: inline SEND larger than max_inline_data");
    }
    wr.send_flags = IBV_SEND_INLINE;
  }
  if (invalidate_rkey) {
    wr.opcode = IBV_WR_SEND_WITH_INV;
    wr.invalidate_rkey = *invalidate_rkey;
  }
  return PostSendWr(wr, Pending{Event::Kind::kSend, wr_id});
}

Status VerbsEndpoint::PostWrite(uint64_t wr_id, std::span<const Sge> sges, const RemoteWindow& to) {
  SMB3_RETURN_IF_ERROR(CanPostSend());
  std::array<ibv_sge, kMaxSge> sg{};
  SMB3_RETURN_IF_ERROR(ToIbvSges(sges, queues_.max_send_sge, sg));
  ibv_send_wr wr{};
  wr.sg_list = sg.data();
  wr.num_sge = static_cast<int>(sges.size());
  wr.opcode = IBV_WR_RDMA_WRITE;
  wr.wr.rdma.remote_addr = to.addr;
  wr.wr.rdma.rkey = to.rkey;
  return PostSendWr(wr, Pending{Event::Kind::kRdmaWrite, wr_id});
}

Status VerbsEndpoint::PostRead(uint64_t wr_id, std::span<const Sge> sges,
                               const RemoteWindow& from) {
  SMB3_RETURN_IF_ERROR(CanPostSend());
  std::array<ibv_sge, kMaxSge> sg{};
  SMB3_RETURN_IF_ERROR(ToIbvSges(sges, queues_.max_send_sge, sg));
  ibv_send_wr wr{};
  wr.sg_list = sg.data();
  wr.num_sge = static_cast<int>(sges.size());
  wr.opcode = IBV_WR_RDMA_READ;
  wr.wr.rdma.remote_addr = from.addr;
  wr.wr.rdma.rkey = from.rkey;
  return PostSendWr(wr, Pending{Event::Kind::kRdmaRead, wr_id});
}

Status VerbsEndpoint::Bind(uint64_t wr_id, MemoryWindow& w, const MemoryRegion& r, size_t offset,
                           uint32_t length, uint32_t remote_access) {
  SMB3_RETURN_IF_ERROR(CanPostSend());
  auto& window = static_cast<VerbsWindow&>(w);
  const auto& region = static_cast<const VerbsRegion&>(r);
  if (window.bound_ || window.pending_) return Status::Invalid("rdma: window already bound");
  if (offset > region.size() || length == 0 || length > region.size() - offset) {
    return Status::Invalid("rdma: bind outside the region");
  }
  if (remote_access == 0 || (remote_access & ~(Access::kRemoteWrite | Access::kRemoteRead))) {
    return Status::Invalid("rdma: bind needs kRemoteWrite and/or kRemoteRead only");
  }
  uint64_t addr = reinterpret_cast<uint64_t>(region.data()) + offset;
  if (caps_.memory_windows_type2) {
    // A fresh key per bind (only the low byte changes), so the key of the previous I/O is dead.
    uint32_t key = ibv_inc_rkey(window.key);
    ibv_send_wr wr{};
    wr.opcode = IBV_WR_BIND_MW;
    wr.bind_mw.mw = window.mw.get();
    wr.bind_mw.rkey = key;
    wr.bind_mw.bind_info.mr = region.mr();
    wr.bind_mw.bind_info.addr = addr;
    wr.bind_mw.bind_info.length = length;
    wr.bind_mw.bind_info.mw_access_flags = ToIbvAccess(remote_access);
    SMB3_RETURN_IF_ERROR(PostSendWr(wr, Pending{Event::Kind::kBind, wr_id, &window}));
    // ibv_mw::rkey must name the window's current key: a provider may pass it with the next
    // bind as the key being replaced, and rdma_rxe refuses a bind whose old key is not the
    // window's (rxe_bind_mw: -EINVAL, nothing logged, the queue pair goes to error and every
    // work request completes flushed). Nothing updates it for a bind posted as a work request,
    // so a window's second bind failed: every reused buffer took the connection down.
    window.mw->rkey = key;
    window.key = key;
    window.pending_ = true;
    window.invalidated_early_ = false;
    window.remote_ = RemoteWindow{addr, key, length};
    // Known from now on, not from the bind's completion: the send carrying the key follows the
    // bind on the send queue, but the completion of the bind can be polled after the peer's
    // answer (a completion waits for the SENDs before it to be acknowledged), and that answer
    // may already have invalidated the key.
    bound_windows_[key] = &window;
    return Status::Ok();
  }
  // No windows: register just this range; deregistering it when the I/O ends kills the key.
  MrPtr mr(ibv_reg_mr(pd_.get(), reinterpret_cast<void*>(addr), length,
                      static_cast<int>(ToIbvAccess(remote_access | Access::kLocalWrite))));
  if (!mr) return ErrnoStatus(errno, "rdma: ibv_reg_mr (per-I/O window)");
  window.key = mr->rkey;
  window.io_mr = std::move(mr);
  window.bound_ = true;
  window.remote_ = RemoteWindow{addr, window.key, length};
  Event e;
  e.kind = Event::Kind::kBind;
  e.wr_id = wr_id;
  Emit(std::move(e));
  return Status::Ok();
}

Status VerbsEndpoint::Invalidate(uint64_t wr_id, MemoryWindow& w) {
  SMB3_RETURN_IF_ERROR(CanPostSend());
  auto& window = static_cast<VerbsWindow&>(w);
  // A key the peer already invalidated is never invalidated again: rdma_rxe dereferences the
  // window's vanished queue pair and region then (a kernel oops in rxe_invalidate_mw).
  if (window.invalidated_early_ || (!window.bound_ && !window.pending_)) {
    return Status::Invalid("rdma: invalidating a window that is not bound");
  }
  if (caps_.memory_windows_type2) {
    ibv_send_wr wr{};
    wr.opcode = IBV_WR_LOCAL_INV;
    wr.invalidate_rkey = window.key;
    SMB3_RETURN_IF_ERROR(PostSendWr(wr, Pending{Event::Kind::kInvalidate, wr_id, &window}));
    window.pending_ = true;
    return Status::Ok();
  }
  Status s =
      VerbsStatus(ibv_dereg_mr(window.io_mr.release()), "rdma: ibv_dereg_mr (per-I/O window)");
  window.bound_ = false;
  if (!s.ok()) return s;
  Event e;
  e.kind = Event::Kind::kInvalidate;
  e.wr_id = wr_id;
  Emit(std::move(e));
  return Status::Ok();
}

Status VerbsEndpoint::PollCompletions() {
  std::array<ibv_wc, 16> wc{};
  for (;;) {
    int n = ibv_poll_cq(cq_.get(), static_cast<int>(wc.size()), wc.data());
    if (n < 0) {
      Status s = ErrnoStatus(EIO, "rdma: ibv_poll_cq");
      MarkDisconnecting(s);
      return s;
    }
    for (int i = 0; i < n; ++i) OnCompletion(wc[static_cast<size_t>(i)]);
    if (n == 0) return Status::Ok();
  }
}

void VerbsEndpoint::OnCompletion(const ibv_wc& wc) {
  auto it = pending_.find(wc.wr_id);
  if (it == pending_.end()) return;  // not ours: nothing is posted unsignaled or untracked
  Pending p = it->second;
  pending_.erase(it);
  Event e;
  e.kind = p.kind;
  e.wr_id = p.wr_id;
  e.wc_status = FromIbv(wc.status);
  e.status = WcStatusToStatus(e.wc_status);
  if (e.wc_status != WcStatus::kSuccess) {
    // An error completion moves the queue pair to error; the rest will come flushed.
    qp_error_ = true;
    if (p.window != nullptr) p.window->pending_ = false;
    Emit(std::move(e));
    return;
  }
  switch (p.kind) {
    case Event::Kind::kRecv:
      e.byte_len = wc.byte_len;
      {
        // [MS-SMBD] 3.1.5.8: the peer invalidated one of our keys with its SEND. Soft-RoCE
        // (rdma_rxe) writes the kernel's IB_WC_WITH_INVALIDATE (1 << 2) into user completions,
        // where 1 << 2 reads as IBV_WC_IP_CSUM_OK; checksum offload means nothing on an RC queue
        // pair, so that bit counts too, but only for a key we actually have bound.
        auto w = bound_windows_.find(wc.invalidated_rkey);
        bool invalidated = (wc.wc_flags & IBV_WC_WITH_INV) ||
                           ((wc.wc_flags & IBV_WC_IP_CSUM_OK) && w != bound_windows_.end());
        if (invalidated) {
          e.invalidated_rkey = wc.invalidated_rkey;
          if (w != bound_windows_.end()) {
            // Either bound, or its bind still waits to be polled (see Bind).
            w->second->bound_ = false;
            w->second->invalidated_early_ = w->second->pending_;
            bound_windows_.erase(w);
          }
        }
      }
      break;
    case Event::Kind::kRdmaRead:
    case Event::Kind::kRdmaWrite:
      e.byte_len = wc.byte_len;
      break;
    case Event::Kind::kBind:
      if (p.window == nullptr) break;
      p.window->pending_ = false;
      p.window->bound_ = !p.window->invalidated_early_;
      p.window->invalidated_early_ = false;
      break;
    case Event::Kind::kInvalidate:
      if (p.window == nullptr) break;
      p.window->pending_ = false;
      p.window->bound_ = false;
      bound_windows_.erase(p.window->key);
      break;
    default:
      break;
  }
  Emit(std::move(e));
}

}  // namespace smb3::transport::rdma::verbs
