// SPDX-License-Identifier: LGPL-2.1-or-later
#include "transport/softrdma/fabric.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>

namespace smb3::transport::softrdma {

using rdma::Access;
using rdma::Event;
using rdma::RemoteWindow;
using rdma::Sge;
using rdma::WcStatus;

namespace {

constexpr uint8_t kRnrRetryForever = 7;  // InfiniBand: an RNR retry count of 7 means "no limit"

// A protection-domain entry. Keys are index << 8 | key byte, as a device's are: rebinding a
// window changes only the byte, so a stale key is refused while the index is reused.
struct KeyEntry {
  enum class Type : uint8_t {
    kMrLocal,   // a region's lkey
    kMrRemote,  // a region's rkey (never handed out by the interface, but a peer may guess it)
    kWindow,    // a type-2 memory window
    kIoRegion,  // a per-I/O registration (kRegisterPerIo)
  };
  Type type = Type::kMrLocal;
  uint32_t key = 0;
  uint64_t addr = 0;
  uint64_t length = 0;
  uint32_t access = 0;
  bool valid = false;
  const rdma::MemoryRegion* region = nullptr;  // the region registered or bound on
};

struct WorkRequest {
  enum class Op : uint8_t { kRecv, kSend, kWrite, kRead, kBind, kInvalidate };
  Op op = Op::kSend;
  uint64_t wr_id = 0;
  std::vector<Sge> sges;
  bool is_inline = false;
  std::vector<uint8_t> inline_bytes;
  std::optional<uint32_t> invalidate_rkey;  // kSend: SEND_WITH_INVALIDATE
  RemoteWindow remote;                      // kWrite/kRead
  // kBind/kInvalidate
  uint32_t entry_index = 0;
  uint32_t key = 0;
  const rdma::MemoryRegion* region = nullptr;
  uint64_t addr = 0;
  uint32_t length = 0;
  uint32_t access = 0;
  uint32_t rnr_attempts = 0;
};

Event::Kind KindOf(WorkRequest::Op op) {
  switch (op) {
    case WorkRequest::Op::kRecv:
      return Event::Kind::kRecv;
    case WorkRequest::Op::kSend:
      return Event::Kind::kSend;
    case WorkRequest::Op::kWrite:
      return Event::Kind::kRdmaWrite;
    case WorkRequest::Op::kRead:
      return Event::Kind::kRdmaRead;
    case WorkRequest::Op::kBind:
      return Event::Kind::kBind;
    case WorkRequest::Op::kInvalidate:
      return Event::Kind::kInvalidate;
  }
  return Event::Kind::kSend;
}

uint64_t TotalLength(std::span<const Sge> sges) {
  uint64_t n = 0;
  for (const Sge& s : sges) n += s.length;
  return n;
}

bool Covers(const KeyEntry& e, uint64_t addr, uint64_t length) {
  return addr >= e.addr && addr - e.addr <= e.length && length <= e.length - (addr - e.addr);
}

}  // namespace

class SoftEndpoint;

class SoftRegion final : public rdma::MemoryRegion {
 public:
  SoftRegion(SoftEndpoint* ep, std::span<uint8_t> mem, uint32_t access, uint32_t lkey,
             uint32_t rkey)
      : ep_(ep), mem_(mem), access_(access), lkey_(lkey), rkey_(rkey) {}
  ~SoftRegion() override;
  uint8_t* data() const override { return mem_.data(); }
  size_t size() const override { return mem_.size(); }
  uint32_t lkey() const override { return lkey_; }
  uint32_t access() const override { return access_; }
  uint32_t rkey() const { return rkey_; }

 private:
  SoftEndpoint* ep_;
  std::span<uint8_t> mem_;
  uint32_t access_;
  uint32_t lkey_;
  uint32_t rkey_;
};

class SoftWindow final : public rdma::MemoryWindow {
 public:
  explicit SoftWindow(SoftEndpoint* ep) : ep_(ep) {}
  ~SoftWindow() override;
  RemoteWindow remote() const override { return remote_; }
  bool bound() const override;

 private:
  friend class SoftEndpoint;
  SoftEndpoint* ep_;
  uint32_t index_ = 0;  // key-table entry (0: none yet)
  uint32_t key_ = 0;    // the key of the latest bind
  bool bind_pending_ = false;
  RemoteWindow remote_;
};

class SoftEndpoint final : public rdma::Endpoint {
 public:
  SoftEndpoint(Fabric* fabric, std::string address, uint16_t port, bool passive,
               const rdma::QueueOptions& queues, const rdma::ConnectParams& params, int fd)
      : address_(std::move(address)),
        port_(port),
        passive_(passive),
        fabric_(fabric),
        queues_(queues),
        params_(params),
        fd_(fd) {
    const rdma::DeviceCaps& caps = fabric_->options_.caps;
    queues_.send_queue_depth = std::min(queues_.send_queue_depth, caps.max_qp_wr);
    queues_.recv_queue_depth = std::min(queues_.recv_queue_depth, caps.max_qp_wr);
    queues_.max_send_sge = std::min(queues_.max_send_sge, caps.max_sge);
    queues_.max_recv_sge = std::min(queues_.max_recv_sge, caps.max_sge);
    fabric_->endpoints_.push_back(this);
  }

  ~SoftEndpoint() override {
    if (peer_ != nullptr) {
      peer_->Teardown(Status(Code::kDisconnected, 0, "softrdma: connection lost (peer destroyed)"));
      peer_->peer_ = nullptr;
    }
    auto& eps = fabric_->endpoints_;
    eps.erase(std::remove(eps.begin(), eps.end(), this), eps.end());
    for (auto& [index, w] : windows_) w->ep_ = nullptr;
    ::close(fd_);
  }

  State state() const override { return state_; }
  const rdma::DeviceCaps& caps() const override { return fabric_->options_.caps; }

  std::vector<uint8_t> accept_private_data() const override { return accept_private_data_; }

  Status Connect(const rdma::ConnectParams& params) override {
    if (passive_ || state_ != State::kResolved) {
      return Status::Invalid("softrdma: Connect needs a resolved active endpoint");
    }
    auto& rejects = fabric_->rejects_;
    auto reject = std::find(rejects.begin(), rejects.end(), std::make_pair(address_, port_));
    if (reject != rejects.end()) {
      rejects.erase(reject);
      return Status(Code::kUnreachable, ECONNREFUSED, "softrdma: connection rejected");
    }
    SoftEndpoint* listener = nullptr;
    for (SoftEndpoint* e : fabric_->endpoints_) {
      if (e->passive_ && e->address_ == address_ && e->port_ == port_ &&
          e->state_ == State::kResolved) {
        listener = e;
      }
    }
    if (listener == nullptr) {
      return Status(Code::kUnreachable, ECONNREFUSED, "softrdma: no listener at port");
    }
    params_ = params;
    accept_private_data_ = listener->params_.private_data;
    params_.responder_resources = std::min(params.responder_resources, caps().max_qp_rd_atom);
    params_.initiator_depth = std::min(params.initiator_depth, caps().max_qp_init_rd_atom);
    peer_ = listener;
    listener->peer_ = this;
    state_ = State::kConnected;
    listener->state_ = State::kConnected;
    Event connected;
    connected.kind = Event::Kind::kConnected;
    connected.private_data = params.private_data;
    listener->Emit(std::move(connected));
    return Status::Ok();
  }

  void Disconnect() override {
    if (state_ == State::kDisconnected) return;
    SoftEndpoint* peer = peer_;
    Unlink();
    Teardown(Status(Code::kDisconnected, 0, "softrdma: disconnected locally"));
    if (peer != nullptr) {
      peer->Teardown(Status(Code::kDisconnected, 0, "softrdma: peer disconnected"));
    }
  }

  Result<std::unique_ptr<rdma::MemoryRegion>> Register(std::span<uint8_t> memory,
                                                       uint32_t access) override {
    if (memory.empty()) return Status::Invalid("softrdma: empty registration");
    // As ibv_reg_mr: remote write needs local write.
    if ((access & Access::kRemoteWrite) && !(access & Access::kLocalWrite)) {
      return Status::Errno(EINVAL, "softrdma: kRemoteWrite needs kLocalWrite");
    }
    uint64_t addr = reinterpret_cast<uint64_t>(memory.data());
    KeyEntry local{KeyEntry::Type::kMrLocal, 0, addr, memory.size(), access, true, nullptr};
    KeyEntry remote{KeyEntry::Type::kMrRemote,
                    0,
                    addr,
                    memory.size(),
                    access & (Access::kRemoteWrite | Access::kRemoteRead),
                    true,
                    nullptr};
    uint32_t lkey = NewEntry(local, 0x11);
    uint32_t rkey = NewEntry(remote, 0x77);
    auto region = std::make_unique<SoftRegion>(this, memory, access, lkey, rkey);
    keys_[lkey >> 8].region = region.get();
    keys_[rkey >> 8].region = region.get();
    regions_.insert(region.get());
    return std::unique_ptr<rdma::MemoryRegion>(std::move(region));
  }

  Result<std::unique_ptr<rdma::MemoryWindow>> AllocateWindow() override {
    auto window = std::make_unique<SoftWindow>(this);
    if (caps().memory_windows_type2) {
      KeyEntry e{KeyEntry::Type::kWindow, 0, 0, 0, 0, false, nullptr};
      window->key_ = NewEntry(e, 0);
      window->index_ = window->key_ >> 8;
      windows_[window->index_] = window.get();
    }
    return std::unique_ptr<rdma::MemoryWindow>(std::move(window));
  }

  Status Bind(uint64_t wr_id, rdma::MemoryWindow& w, const rdma::MemoryRegion& region,
              size_t offset, uint32_t length, uint32_t remote_access) override {
    SMB3_RETURN_IF_ERROR(CanPostSend());
    auto& window = static_cast<SoftWindow&>(w);
    if (window.ep_ != this || window.bound() || window.bind_pending_) {
      return Status::Invalid("softrdma: window already bound or of another endpoint");
    }
    if (offset > region.size() || length == 0 || length > region.size() - offset) {
      return Status::Invalid("softrdma: bind outside the region");
    }
    if (remote_access == 0 || (remote_access & ~(Access::kRemoteWrite | Access::kRemoteRead))) {
      return Status::Invalid("softrdma: bind needs kRemoteWrite and/or kRemoteRead only");
    }
    WorkRequest wr;
    wr.op = WorkRequest::Op::kBind;
    wr.wr_id = wr_id;
    wr.region = &region;
    wr.addr = reinterpret_cast<uint64_t>(region.data()) + offset;
    wr.length = length;
    wr.access = remote_access;
    if (caps().memory_windows_type2) {
      window.key_ = (window.key_ & ~0xffu) | ((window.key_ + 1) & 0xffu);
    } else {
      RemoveWindow(&window);  // a per-I/O registration whose bind failed
      KeyEntry e{KeyEntry::Type::kIoRegion, 0, 0, 0, 0, false, nullptr};
      window.key_ = NewEntry(e, 0x3c);
      window.index_ = window.key_ >> 8;
      windows_[window.index_] = &window;
    }
    wr.entry_index = window.index_;
    wr.key = window.key_;
    window.bind_pending_ = true;
    window.remote_ = RemoteWindow{wr.addr, window.key_, length};
    return Enqueue(std::move(wr));
  }

  Status Invalidate(uint64_t wr_id, rdma::MemoryWindow& w) override {
    SMB3_RETURN_IF_ERROR(CanPostSend());
    auto& window = static_cast<SoftWindow&>(w);
    if (window.ep_ != this || (!window.bound() && !window.bind_pending_)) {
      return Status::Invalid("softrdma: invalidating a window that is not bound");
    }
    WorkRequest wr;
    wr.op = WorkRequest::Op::kInvalidate;
    wr.wr_id = wr_id;
    wr.entry_index = window.index_;
    wr.key = window.key_;
    return Enqueue(std::move(wr));
  }

  Status PostReceive(uint64_t wr_id, std::span<const Sge> sges) override {
    if (state_ == State::kDisconnected || qp_error_) {
      return Status(Code::kDisconnected, 0, "softrdma: receive posted after disconnect");
    }
    if (sges.size() > queues_.max_recv_sge) return Status::Invalid("softrdma: too many SGEs");
    if (rq_.size() >= queues_.recv_queue_depth) {
      return Status(Code::kResourceExhausted, 0, "softrdma: receive queue full");
    }
    WorkRequest wr;
    wr.op = WorkRequest::Op::kRecv;
    wr.wr_id = wr_id;
    wr.sges.assign(sges.begin(), sges.end());
    rq_.push_back(std::move(wr));
    MaybeRun();
    return Status::Ok();
  }

  Status PostSend(uint64_t wr_id, std::span<const Sge> sges, bool inline_data,
                  std::optional<uint32_t> invalidate_rkey) override {
    SMB3_RETURN_IF_ERROR(CanPostSend());
    WorkRequest wr;
    wr.op = WorkRequest::Op::kSend;
    wr.wr_id = wr_id;
    wr.invalidate_rkey = invalidate_rkey;
    if (inline_data) {
      if (TotalLength(sges) > queues_.max_inline_data) {
        return Status::Invalid("softrdma: inline SEND larger than max_inline_data");
      }
      wr.is_inline = true;
      // Inline data is copied at post time, without a key check, as a device does.
      for (const Sge& s : sges) {
        const auto* p = reinterpret_cast<const uint8_t*>(s.addr);
        wr.inline_bytes.insert(wr.inline_bytes.end(), p, p + s.length);
      }
    } else {
      wr.sges.assign(sges.begin(), sges.end());
    }
    return Enqueue(std::move(wr));
  }

  Status PostWrite(uint64_t wr_id, std::span<const Sge> sges, const RemoteWindow& to) override {
    SMB3_RETURN_IF_ERROR(CanPostSend());
    WorkRequest wr;
    wr.op = WorkRequest::Op::kWrite;
    wr.wr_id = wr_id;
    wr.sges.assign(sges.begin(), sges.end());
    wr.remote = to;
    return Enqueue(std::move(wr));
  }

  Status PostRead(uint64_t wr_id, std::span<const Sge> sges, const RemoteWindow& from) override {
    SMB3_RETURN_IF_ERROR(CanPostSend());
    WorkRequest wr;
    wr.op = WorkRequest::Op::kRead;
    wr.wr_id = wr_id;
    wr.sges.assign(sges.begin(), sges.end());
    wr.remote = from;
    return Enqueue(std::move(wr));
  }

  int cm_fd() const override { return fd_; }
  int cq_fd() const override { return fd_; }

  Status Process() override {
    uint64_t n;
    while (::read(fd_, &n, sizeof n) == static_cast<ssize_t>(sizeof n)) {
    }
    return Status::Ok();
  }

  std::optional<Event> NextEvent() override {
    if (events_.empty()) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

  // --- Used by Fabric, SoftRegion, SoftWindow ----------------------------------------------------
  enum class Outcome : uint8_t { kDone, kProgressed, kBlocked };

  // Executes the send queue in order until it empties or blocks; whether anything moved.
  bool Run() {
    if (delay_ > 0) {
      --delay_;
      return !sq_.empty();
    }
    bool progressed = false;
    while (!sq_.empty() && !qp_error_ && state_ == State::kConnected) {
      WorkRequest wr = std::move(sq_.front());
      sq_.pop_front();
      Outcome o = Execute(wr);
      if (o != Outcome::kDone) {
        if (!qp_error_) sq_.push_front(std::move(wr));
        if (o == Outcome::kProgressed) progressed = true;
        break;
      }
      progressed = true;
    }
    return progressed;
  }
  bool delayed_work() const { return delay_ > 0 && !sq_.empty(); }

  void EnterError() {
    if (qp_error_) return;
    qp_error_ = true;
    Flush();
  }

  void Teardown(Status why) {
    if (state_ == State::kDisconnected) return;
    qp_error_ = true;
    Flush();
    state_ = State::kDisconnected;
    Event e;
    e.kind = Event::Kind::kDisconnected;
    e.status = why;
    Emit(std::move(e));
  }

  void Unlink() {
    if (peer_ != nullptr) peer_->peer_ = nullptr;
    peer_ = nullptr;
  }
  SoftEndpoint* peer() const { return peer_; }

  void InjectRnr(uint32_t count) { rnr_inject_ += count; }
  void InjectDelay(uint32_t steps) { delay_ += steps; }

  void RemoveRegion(const SoftRegion* soft) {
    const rdma::MemoryRegion* region = soft;
    regions_.erase(region);
    keys_.erase(soft->lkey() >> 8);
    keys_.erase(soft->rkey() >> 8);
    // Windows bound on the region stop working with it (hardware refuses the deregistration).
    for (auto it = keys_.begin(); it != keys_.end();) {
      if (it->second.region == region && it->second.type == KeyEntry::Type::kIoRegion) {
        it = keys_.erase(it);
      } else {
        if (it->second.region == region) it->second.valid = false;
        ++it;
      }
    }
  }

  void RemoveWindow(SoftWindow* window) {
    if (window->index_ != 0) {
      keys_.erase(window->index_);
      windows_.erase(window->index_);
    }
  }

  bool WindowBound(uint32_t index, uint32_t key) const {
    auto it = keys_.find(index);
    return it != keys_.end() && it->second.valid && it->second.key == key;
  }

  std::string address_;
  uint16_t port_;
  bool passive_;

 private:
  Status CanPostSend() const {
    if (state_ == State::kDisconnected || qp_error_) {
      return Status(Code::kDisconnected, 0, "softrdma: queue pair in error or disconnected");
    }
    if (state_ != State::kConnected) {
      return Status::Invalid("softrdma: send queue used before the connection is up");
    }
    return Status::Ok();
  }

  Status Enqueue(WorkRequest wr) {
    if (wr.sges.size() > queues_.max_send_sge) return Status::Invalid("softrdma: too many SGEs");
    if (sq_.size() >= queues_.send_queue_depth) {
      return Status(Code::kResourceExhausted, 0, "softrdma: send queue full");
    }
    sq_.push_back(std::move(wr));
    MaybeRun();
    return Status::Ok();
  }

  void MaybeRun() {
    if (fabric_->options_.progress == FabricOptions::Progress::kOnPost && !fabric_->running_) {
      fabric_->RunUntilIdle();
    }
  }

  uint32_t NewEntry(KeyEntry entry, uint8_t key_byte) {
    uint32_t index = fabric_->next_key_index_++;
    entry.key = (index << 8) | key_byte;
    keys_[index] = entry;
    return entry.key;
  }

  void Emit(Event e) {
    events_.push_back(std::move(e));
    uint64_t one = 1;
    ssize_t n = ::write(fd_, &one, sizeof one);
    (void)n;  // the counter only wakes poll(); events_ is the truth
  }

  void Complete(const WorkRequest& wr, WcStatus s, uint32_t byte_len = 0,
                std::optional<uint32_t> invalidated = std::nullopt) {
    Event e;
    e.kind = KindOf(wr.op);
    e.wr_id = wr.wr_id;
    e.wc_status = s;
    e.status = rdma::WcStatusToStatus(s);
    e.byte_len = byte_len;
    e.invalidated_rkey = invalidated;
    Emit(std::move(e));
  }

  // Completes `wr` with an error and moves the queue pair to error.
  Outcome Fail(const WorkRequest& wr, WcStatus s) {
    Complete(wr, s);
    EnterError();
    return Outcome::kDone;
  }

  void Flush() {
    std::deque<WorkRequest> sq = std::move(sq_);
    std::deque<WorkRequest> rq = std::move(rq_);
    sq_.clear();
    rq_.clear();
    for (const WorkRequest& wr : sq) Complete(wr, WcStatus::kFlushed);
    for (const WorkRequest& wr : rq) Complete(wr, WcStatus::kFlushed);
  }

  const KeyEntry* LocalEntry(const Sge& s, uint32_t need) const {
    auto it = keys_.find(s.lkey >> 8);
    if (it == keys_.end()) return nullptr;
    const KeyEntry& e = it->second;
    if (e.type != KeyEntry::Type::kMrLocal || !e.valid || e.key != s.lkey) return nullptr;
    if (!Covers(e, s.addr, s.length) || (e.access & need) != need) return nullptr;
    return &e;
  }

  bool Gather(std::span<const Sge> sges, std::vector<uint8_t>& out) const {
    for (const Sge& s : sges) {
      if (LocalEntry(s, 0) == nullptr) return false;
    }
    for (const Sge& s : sges) {
      const auto* p = reinterpret_cast<const uint8_t*>(s.addr);
      out.insert(out.end(), p, p + s.length);
    }
    return true;
  }

  bool CanScatter(std::span<const Sge> sges) const {
    for (const Sge& s : sges) {
      if (LocalEntry(s, Access::kLocalWrite) == nullptr) return false;
    }
    return true;
  }

  static void Scatter(std::span<const Sge> sges, const std::vector<uint8_t>& data) {
    size_t done = 0;
    for (const Sge& s : sges) {
      size_t n = std::min<size_t>(s.length, data.size() - done);
      if (n > 0) std::memcpy(reinterpret_cast<uint8_t*>(s.addr), data.data() + done, n);
      done += n;
    }
  }

  // The peer's view of our memory: an rkey with bounds and rights, as a responder checks it.
  bool RemoteAllows(uint32_t rkey, uint64_t addr, uint64_t length, uint32_t need) const {
    auto it = keys_.find(rkey >> 8);
    if (it == keys_.end()) return false;
    const KeyEntry& e = it->second;
    if (e.type == KeyEntry::Type::kMrLocal || !e.valid || e.key != rkey) return false;
    return Covers(e, addr, length) && (e.access & need) == need;
  }

  SoftEndpoint* LivePeer() const {
    if (peer_ == nullptr || peer_->qp_error_ || peer_->state_ != State::kConnected) {
      return nullptr;
    }
    return peer_;
  }

  Outcome Execute(WorkRequest& wr) {
    switch (wr.op) {
      case WorkRequest::Op::kSend:
        return ExecuteSend(wr);
      case WorkRequest::Op::kWrite:
        return ExecuteWrite(wr);
      case WorkRequest::Op::kRead:
        return ExecuteRead(wr);
      case WorkRequest::Op::kBind:
        return ExecuteBind(wr);
      case WorkRequest::Op::kInvalidate:
        return ExecuteInvalidate(wr);
      case WorkRequest::Op::kRecv:
        break;
    }
    return Fail(wr, WcStatus::kLocalQpOperation);
  }

  Outcome ExecuteSend(WorkRequest& wr) {
    std::vector<uint8_t> payload;
    if (wr.is_inline) {
      payload = wr.inline_bytes;
    } else if (!Gather(wr.sges, payload)) {
      return Fail(wr, WcStatus::kLocalProtection);
    }
    SoftEndpoint* target = LivePeer();
    if (target == nullptr) return Fail(wr, WcStatus::kRetryExceeded);
    if (target->rnr_inject_ > 0 || target->rq_.empty()) {
      // Receiver not ready: the responder NAKs, the requester retries after the RNR timer.
      bool injected = target->rnr_inject_ > 0;
      if (injected) --target->rnr_inject_;
      ++fabric_->counters_.rnr_naks;
      ++wr.rnr_attempts;
      bool finite = params_.rnr_retry_count != kRnrRetryForever;
      if (finite && wr.rnr_attempts > params_.rnr_retry_count) {
        return Fail(wr, WcStatus::kRnrRetryExceeded);
      }
      return (finite || injected) ? Outcome::kProgressed : Outcome::kBlocked;
    }
    WorkRequest recv = std::move(target->rq_.front());
    target->rq_.pop_front();
    if (payload.size() > TotalLength(recv.sges)) {
      target->Complete(recv, WcStatus::kLocalLength);
      target->EnterError();
      return Fail(wr, WcStatus::kRemoteInvalidRequest);
    }
    if (!target->CanScatter(recv.sges)) {
      target->Complete(recv, WcStatus::kLocalProtection);
      target->EnterError();
      return Fail(wr, WcStatus::kRemoteOperation);
    }
    std::optional<uint32_t> invalidated;
    if (wr.invalidate_rkey) {
      // [MS-SMBD] 3.1.4.4 remote invalidation: only a bound type-2 window can be invalidated by
      // the peer; anything else is a remote operation error that breaks the connection.
      auto it = target->keys_.find(*wr.invalidate_rkey >> 8);
      if (it == target->keys_.end() || it->second.type != KeyEntry::Type::kWindow ||
          it->second.key != *wr.invalidate_rkey) {
        target->Complete(recv, WcStatus::kRemoteInvalidRequest);
        target->EnterError();
        return Fail(wr, WcStatus::kRemoteOperation);
      }
      it->second.valid = false;
      invalidated = *wr.invalidate_rkey;
      ++fabric_->counters_.windows_invalidated_remote;
    }
    Scatter(recv.sges, payload);
    ++fabric_->counters_.sends_delivered;
    target->Complete(recv, WcStatus::kSuccess, static_cast<uint32_t>(payload.size()), invalidated);
    Complete(wr, WcStatus::kSuccess, static_cast<uint32_t>(payload.size()));
    return Outcome::kDone;
  }

  // A remote-access violation: the requester's work request fails, and the responder, whose memory
  // was addressed with a bad key, bounds or rights, moves to error as well.
  Outcome RemoteAccessError(WorkRequest& wr, SoftEndpoint* target) {
    ++fabric_->counters_.remote_access_errors;
    Fail(wr, WcStatus::kRemoteAccess);
    target->EnterError();
    return Outcome::kDone;
  }

  Outcome ExecuteWrite(WorkRequest& wr) {
    std::vector<uint8_t> payload;
    if (!Gather(wr.sges, payload)) return Fail(wr, WcStatus::kLocalProtection);
    SoftEndpoint* target = LivePeer();
    if (target == nullptr) return Fail(wr, WcStatus::kRetryExceeded);
    if (!target->RemoteAllows(wr.remote.rkey, wr.remote.addr, payload.size(),
                              Access::kRemoteWrite)) {
      return RemoteAccessError(wr, target);
    }
    if (!payload.empty()) {
      std::memcpy(reinterpret_cast<uint8_t*>(wr.remote.addr), payload.data(), payload.size());
    }
    fabric_->counters_.rdma_write_bytes += payload.size();
    Complete(wr, WcStatus::kSuccess, static_cast<uint32_t>(payload.size()));
    return Outcome::kDone;
  }

  Outcome ExecuteRead(WorkRequest& wr) {
    uint64_t length = TotalLength(wr.sges);
    if (!CanScatter(wr.sges)) return Fail(wr, WcStatus::kLocalProtection);
    SoftEndpoint* target = LivePeer();
    if (target == nullptr) return Fail(wr, WcStatus::kRetryExceeded);
    if (!target->RemoteAllows(wr.remote.rkey, wr.remote.addr, length, Access::kRemoteRead)) {
      return RemoteAccessError(wr, target);
    }
    const auto* src = reinterpret_cast<const uint8_t*>(wr.remote.addr);
    std::vector<uint8_t> data(src, src + length);
    Scatter(wr.sges, data);
    fabric_->counters_.rdma_read_bytes += length;
    Complete(wr, WcStatus::kSuccess, static_cast<uint32_t>(length));
    return Outcome::kDone;
  }

  Outcome ExecuteBind(WorkRequest& wr) {
    auto window = windows_.find(wr.entry_index);
    if (window != windows_.end()) window->second->bind_pending_ = false;
    auto it = keys_.find(wr.entry_index);
    const rdma::MemoryRegion* region = wr.region;
    if (it == keys_.end() || !regions_.contains(region)) {
      return Fail(wr, WcStatus::kMemoryWindowBind);
    }
    uint32_t region_access = region->access();
    bool type2 = it->second.type == KeyEntry::Type::kWindow;
    // As a device: binding needs a region registered for it, and remote write needs local write.
    if ((type2 && !(region_access & Access::kMwBind)) ||
        ((wr.access & Access::kRemoteWrite) && !(region_access & Access::kLocalWrite))) {
      return Fail(wr, WcStatus::kMemoryWindowBind);
    }
    KeyEntry& e = it->second;
    e.key = wr.key;
    e.addr = wr.addr;
    e.length = wr.length;
    e.access = wr.access;
    e.region = region;
    e.valid = true;
    ++fabric_->counters_.windows_bound;
    Complete(wr, WcStatus::kSuccess);
    return Outcome::kDone;
  }

  Outcome ExecuteInvalidate(WorkRequest& wr) {
    auto window = windows_.find(wr.entry_index);
    if (window != windows_.end()) window->second->bind_pending_ = false;
    auto it = keys_.find(wr.entry_index);
    if (it == keys_.end() || it->second.key != wr.key) {
      return Fail(wr, WcStatus::kLocalQpOperation);
    }
    // Invalidating a key the peer already invalidated succeeds: the race is the normal case.
    if (it->second.type == KeyEntry::Type::kIoRegion) {
      keys_.erase(it);
      if (window != windows_.end()) {
        window->second->index_ = 0;
        windows_.erase(window);
      }
    } else {
      it->second.valid = false;
    }
    ++fabric_->counters_.windows_invalidated_local;
    Complete(wr, WcStatus::kSuccess);
    return Outcome::kDone;
  }

  Fabric* fabric_;
  rdma::QueueOptions queues_;
  rdma::ConnectParams params_;
  std::vector<uint8_t> accept_private_data_;  // active: the listener's accept private data
  int fd_;
  State state_ = State::kResolved;
  bool qp_error_ = false;
  SoftEndpoint* peer_ = nullptr;
  uint32_t rnr_inject_ = 0;
  uint32_t delay_ = 0;
  std::deque<WorkRequest> sq_;
  std::deque<WorkRequest> rq_;
  std::deque<Event> events_;
  std::map<uint32_t, KeyEntry> keys_;  // by key index: the protection domain
  std::set<const rdma::MemoryRegion*> regions_;
  std::map<uint32_t, SoftWindow*> windows_;  // by key index
};

SoftRegion::~SoftRegion() { ep_->RemoveRegion(this); }

SoftWindow::~SoftWindow() {
  if (ep_ != nullptr) ep_->RemoveWindow(this);
}

bool SoftWindow::bound() const { return ep_ != nullptr && ep_->WindowBound(index_, key_); }

rdma::DeviceCaps FabricOptions::DefaultCaps() {
  rdma::DeviceCaps caps;
  caps.name = "softrdma";
  caps.max_qp_wr = 1024;
  caps.max_sge = 16;
  caps.max_qp_rd_atom = 16;
  caps.max_qp_init_rd_atom = 16;
  caps.max_cqe = 4096;
  caps.max_mr_size_mib = 1024;
  caps.memory_windows_type2 = true;
  return caps;
}

std::shared_ptr<Fabric> Fabric::Create(const FabricOptions& options) {
  return std::shared_ptr<Fabric>(new Fabric(options));
}

Fabric::~Fabric() = default;

namespace {

Result<int> NewEventFd() {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Status::Errno(errno, "softrdma: eventfd");
  return fd;
}

SoftEndpoint& Soft(rdma::Endpoint& endpoint) { return dynamic_cast<SoftEndpoint&>(endpoint); }

}  // namespace

Result<std::unique_ptr<rdma::Endpoint>> Fabric::Listen(const std::string& address, uint16_t port,
                                                       const rdma::QueueOptions& queues,
                                                       const rdma::ConnectParams& accept) {
  for (SoftEndpoint* e : endpoints_) {
    if (e->passive_ && e->address_ == address && e->port_ == port &&
        e->state() != rdma::Endpoint::State::kDisconnected) {
      return Status::Invalid("softrdma: address and port in use");
    }
  }
  SMB3_ASSIGN_OR_RETURN(int fd, NewEventFd());
  return std::unique_ptr<rdma::Endpoint>(
      std::make_unique<SoftEndpoint>(this, address, port, true, queues, accept, fd));
}

Result<std::unique_ptr<rdma::Endpoint>> Fabric::Resolve(const std::string& address, uint16_t port,
                                                        const rdma::QueueOptions& queues) {
  bool known = std::any_of(endpoints_.begin(), endpoints_.end(),
                           [&](SoftEndpoint* e) { return e->passive_ && e->address_ == address; });
  if (!known) return Status(Code::kUnreachable, EHOSTUNREACH, "softrdma: no route to address");
  SMB3_ASSIGN_OR_RETURN(int fd, NewEventFd());
  return std::unique_ptr<rdma::Endpoint>(std::make_unique<SoftEndpoint>(
      this, address, port, false, queues, rdma::ConnectParams{}, fd));
}

bool Fabric::Step() {
  ++counters_.steps;
  bool progressed = false;
  std::vector<SoftEndpoint*> order = endpoints_;
  for (SoftEndpoint* e : order) {
    if (std::find(endpoints_.begin(), endpoints_.end(), e) == endpoints_.end()) continue;
    if (e->Run()) progressed = true;
  }
  return progressed;
}

size_t Fabric::RunUntilIdle() {
  running_ = true;
  size_t rounds = 0;
  // The bound only guards against a bug turning into a hang; no test comes near it.
  constexpr size_t kMaxRounds = 1u << 20;
  while (rounds < kMaxRounds) {
    ++rounds;
    bool progressed = Step();
    bool delayed = std::any_of(endpoints_.begin(), endpoints_.end(),
                               [](SoftEndpoint* e) { return e->delayed_work(); });
    if (!progressed && !delayed) break;
  }
  running_ = false;
  return rounds;
}

void Fabric::InjectQpError(rdma::Endpoint& endpoint) { Soft(endpoint).EnterError(); }

void Fabric::InjectConnectionLoss(rdma::Endpoint& endpoint) {
  SoftEndpoint& e = Soft(endpoint);
  SoftEndpoint* peer = e.peer();
  e.Unlink();
  e.Teardown(Status(Code::kDisconnected, 0, "softrdma: connection lost"));
  if (peer != nullptr) peer->Teardown(Status(Code::kDisconnected, 0, "softrdma: connection lost"));
}

void Fabric::InjectRnr(rdma::Endpoint& endpoint, uint32_t count) {
  Soft(endpoint).InjectRnr(count);
}

void Fabric::InjectDelay(rdma::Endpoint& endpoint, uint32_t steps) {
  Soft(endpoint).InjectDelay(steps);
}

void Fabric::InjectConnectReject(const std::string& address, uint16_t port) {
  rejects_.emplace_back(address, port);
}

}  // namespace smb3::transport::softrdma
