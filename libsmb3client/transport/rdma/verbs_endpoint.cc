// SPDX-License-Identifier: LGPL-2.1-or-later
// Control path of the rdma-core endpoint: device discovery, address and route resolution, queue
// pair creation, connection, memory registration, connection events and completion events.
#include "transport/rdma/verbs_endpoint.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "transport/rdma/verbs_impl.h"

namespace smb3::transport::rdma {

namespace {

using Clock = std::chrono::steady_clock;

DeviceCaps CapsOf(ibv_context* ctx, const ibv_device_attr& attr) {
  DeviceCaps caps;
  caps.name = ibv_get_device_name(ctx->device);
  caps.max_qp_wr = static_cast<uint32_t>(std::max(attr.max_qp_wr, 0));
  caps.max_sge = static_cast<uint32_t>(std::max(attr.max_sge, 0));
  caps.max_qp_rd_atom = static_cast<uint32_t>(std::max(attr.max_qp_rd_atom, 0));
  caps.max_qp_init_rd_atom = static_cast<uint32_t>(std::max(attr.max_qp_init_rd_atom, 0));
  caps.max_cqe = static_cast<uint32_t>(std::max(attr.max_cqe, 0));
  caps.max_mr_size_mib =
      static_cast<uint32_t>(std::min<uint64_t>(attr.max_mr_size >> 20, 4u << 20));
  caps.memory_windows_type2 =
      (attr.device_cap_flags & (IBV_DEVICE_MEM_WINDOW_TYPE_2A | IBV_DEVICE_MEM_WINDOW_TYPE_2B)) !=
      0;
  caps.iwarp = ctx->device->transport_type == IBV_TRANSPORT_IWARP;
  return caps;
}

Status SetNonBlocking(int fd, const char* where) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return ErrnoStatus(errno, where);
  return Status::Ok();
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

}  // namespace

Status CheckDevicePresent() {
  int count = 0;
  ibv_device** list = ibv_get_device_list(&count);
  // NULL with ENOSYS when the kernel has no verbs support at all: the same answer for a user.
  if (list == nullptr) return Status(Code::kNotSupported, ENODEV, kNoRdmaDevice);
  ibv_free_device_list(list);
  if (count <= 0) return Status(Code::kNotSupported, ENODEV, kNoRdmaDevice);
  return Status::Ok();
}

Result<std::vector<DeviceCaps>> ListDevices() {
  SMB3_RETURN_IF_ERROR(CheckDevicePresent());
  int count = 0;
  ibv_device** list = ibv_get_device_list(&count);
  if (list == nullptr) return Status(Code::kNotSupported, ENODEV, kNoRdmaDevice);
  std::vector<DeviceCaps> out;
  Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    ibv_context* ctx = ibv_open_device(list[i]);
    if (ctx == nullptr) {
      status = ErrnoStatus(errno, "rdma: ibv_open_device");
      break;
    }
    ibv_device_attr attr{};
    status = VerbsStatus(ibv_query_device(ctx, &attr), "rdma: ibv_query_device");
    if (status.ok()) out.push_back(CapsOf(ctx, attr));
    ibv_close_device(ctx);
  }
  ibv_free_device_list(list);
  if (!status.ok()) return status;
  return out;
}

Result<std::unique_ptr<Endpoint>> Resolve(const std::string& address, uint16_t port,
                                          const ResolveOptions& options) {
  SMB3_RETURN_IF_ERROR(CheckDevicePresent());
  auto endpoint = std::make_unique<verbs::VerbsEndpoint>();
  SMB3_RETURN_IF_ERROR(endpoint->Resolve(address, port, options));
  return std::unique_ptr<Endpoint>(std::move(endpoint));
}

namespace verbs {

uint32_t ToIbvAccess(uint32_t access) {
  uint32_t out = 0;
  if (access & Access::kLocalWrite) out |= IBV_ACCESS_LOCAL_WRITE;
  if (access & Access::kRemoteWrite) out |= IBV_ACCESS_REMOTE_WRITE;
  if (access & Access::kRemoteRead) out |= IBV_ACCESS_REMOTE_READ;
  if (access & Access::kMwBind) out |= IBV_ACCESS_MW_BIND;
  return out;
}

VerbsEndpoint::~VerbsEndpoint() {
  // Members go in reverse order of creation (queue pair, completion queue, channels, domain, id,
  // event channel); a connection still up is closed first so the peer hears of it.
  if (connected_once_ && !disconnecting_ && id_) rdma_disconnect(id_.get());
}

Status VerbsEndpoint::Resolve(const std::string& address, uint16_t port,
                              const ResolveOptions& options) {
  const Clock::time_point deadline = Clock::now() + options.timeout;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* ai = nullptr;
  std::string service = std::to_string(port);
  if (getaddrinfo(address.c_str(), service.c_str(), &hints, &ai) != 0 || ai == nullptr) {
    return Status::Invalid("rdma: server name does not resolve");
  }
  sockaddr_storage dst{};
  std::memcpy(&dst, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof dst));
  freeaddrinfo(ai);

  channel_.reset(rdma_create_event_channel());
  if (!channel_) return ErrnoStatus(errno, "rdma: rdma_create_event_channel");
  SMB3_RETURN_IF_ERROR(SetNonBlocking(channel_->fd, "rdma: event channel O_NONBLOCK"));
  rdma_cm_id* id = nullptr;
  SMB3_RETURN_IF_ERROR(
      CmStatus(rdma_create_id(channel_.get(), &id, this, RDMA_PS_TCP), "rdma: rdma_create_id"));
  id_.reset(id);

  SMB3_RETURN_IF_ERROR(
      CmStatus(rdma_resolve_addr(id_.get(), nullptr, reinterpret_cast<sockaddr*>(&dst),
                                 std::max(RemainingMs(deadline), 1)),
               "rdma: rdma_resolve_addr"));
  SMB3_ASSIGN_OR_RETURN(rdma_cm_event_type ev, WaitCmEvent(deadline));
  if (ev == RDMA_CM_EVENT_ADDR_ERROR) {
    // The route leaves by a netdev without an RDMA device, or the address is unreachable.
    return Status(Code::kUnreachable, EHOSTUNREACH, "rdma: address resolution failed");
  }
  if (ev != RDMA_CM_EVENT_ADDR_RESOLVED) return Status::Errno(EPROTO, "rdma: unexpected CM event");
  SMB3_RETURN_IF_ERROR(CmStatus(rdma_resolve_route(id_.get(), std::max(RemainingMs(deadline), 1)),
                                "rdma: rdma_resolve_route"));
  SMB3_ASSIGN_OR_RETURN(ev, WaitCmEvent(deadline));
  if (ev == RDMA_CM_EVENT_ROUTE_ERROR) {
    return Status(Code::kUnreachable, ENETUNREACH, "rdma: route resolution failed");
  }
  if (ev != RDMA_CM_EVENT_ROUTE_RESOLVED) return Status::Errno(EPROTO, "rdma: unexpected CM event");
  SMB3_RETURN_IF_ERROR(CreateQueuePair(options.queues));
  if (!options.use_memory_windows) caps_.memory_windows_type2 = false;
  return Status::Ok();
}

Status VerbsEndpoint::CreateQueuePair(const QueueOptions& queues) {
  if (id_->verbs == nullptr) return Status(Code::kNotSupported, ENODEV, kNoRdmaDevice);
  ibv_device_attr attr{};
  SMB3_RETURN_IF_ERROR(VerbsStatus(ibv_query_device(id_->verbs, &attr), "rdma: ibv_query_device"));
  caps_ = CapsOf(id_->verbs, attr);
  queues_ = queues;
  queues_.send_queue_depth = std::min(queues_.send_queue_depth, caps_.max_qp_wr);
  queues_.recv_queue_depth = std::min(queues_.recv_queue_depth, caps_.max_qp_wr);
  queues_.max_send_sge = std::min(queues_.max_send_sge, caps_.max_sge);
  queues_.max_recv_sge = std::min(queues_.max_recv_sge, caps_.max_sge);

  pd_.reset(ibv_alloc_pd(id_->verbs));
  if (!pd_) return ErrnoStatus(errno, "rdma: ibv_alloc_pd");
  comp_channel_.reset(ibv_create_comp_channel(id_->verbs));
  if (!comp_channel_) return ErrnoStatus(errno, "rdma: ibv_create_comp_channel");
  SMB3_RETURN_IF_ERROR(SetNonBlocking(comp_channel_->fd, "rdma: completion channel O_NONBLOCK"));
  int cqe = static_cast<int>(
      std::min(queues_.send_queue_depth + queues_.recv_queue_depth, std::max(caps_.max_cqe, 1u)));
  ibv_cq* cq = ibv_create_cq(id_->verbs, cqe, nullptr, comp_channel_.get(), 0);
  if (cq == nullptr) return ErrnoStatus(errno, "rdma: ibv_create_cq");
  cq_.Reset(cq);
  SMB3_RETURN_IF_ERROR(VerbsStatus(ibv_req_notify_cq(cq, 0), "rdma: ibv_req_notify_cq"));

  ibv_qp_init_attr qp_attr{};
  qp_attr.send_cq = cq;
  qp_attr.recv_cq = cq;
  qp_attr.qp_type = IBV_QPT_RC;
  qp_attr.sq_sig_all = 1;
  qp_attr.cap.max_send_wr = queues_.send_queue_depth;
  qp_attr.cap.max_recv_wr = queues_.recv_queue_depth;
  qp_attr.cap.max_send_sge = queues_.max_send_sge;
  qp_attr.cap.max_recv_sge = queues_.max_recv_sge;
  qp_attr.cap.max_inline_data = queues_.max_inline_data;
  SMB3_RETURN_IF_ERROR(
      CmStatus(rdma_create_qp(id_.get(), pd_.get(), &qp_attr), "rdma: rdma_create_qp"));
  qp_.Reset(id_.get());
  queues_.max_inline_data = qp_attr.cap.max_inline_data;  // what the device granted
  state_ = State::kResolved;
  return Status::Ok();
}

Result<rdma_cm_event_type> VerbsEndpoint::WaitCmEvent(Clock::time_point deadline) {
  for (;;) {
    rdma_cm_event* event = nullptr;
    if (rdma_get_cm_event(channel_.get(), &event) == 0) {
      rdma_cm_event_type type = event->event;
      if (type == RDMA_CM_EVENT_ESTABLISHED && !passive_) {
        // The acceptor's reply private data lives only until the event is acked.
        const auto* pd = static_cast<const uint8_t*>(event->param.conn.private_data);
        accept_private_data_.assign(pd, pd + (pd ? event->param.conn.private_data_len : 0));
      }
      rdma_ack_cm_event(event);
      return type;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return ErrnoStatus(errno, "rdma: rdma_get_cm_event");
    }
    int left = RemainingMs(deadline);
    if (left == 0) return Status(Code::kTimeout, ETIMEDOUT, "rdma: connection manager timed out");
    pollfd pfd{channel_->fd, POLLIN, 0};
    if (poll(&pfd, 1, left) < 0 && errno != EINTR) return ErrnoStatus(errno, "rdma: poll");
  }
}

Status VerbsEndpoint::Connect(const ConnectParams& params) {
  if (state_ != State::kResolved || disconnecting_ || !qp_.get()) {
    return Status::Invalid("rdma: Connect needs a resolved endpoint");
  }
  const Clock::time_point deadline = Clock::now() + params.timeout;
  rdma_conn_param cp{};
  cp.private_data = params.private_data.empty() ? nullptr : params.private_data.data();
  cp.private_data_len = static_cast<uint8_t>(std::min<size_t>(params.private_data.size(), 255));
  // The server reads our buffers: we answer its RDMA READs (responder resources) and issue none
  // of our own beyond the initiator depth; both within what the device allows.
  cp.responder_resources =
      static_cast<uint8_t>(std::min({params.responder_resources, caps_.max_qp_rd_atom, 255u}));
  cp.initiator_depth =
      static_cast<uint8_t>(std::min({params.initiator_depth, caps_.max_qp_init_rd_atom, 255u}));
  cp.retry_count = std::min<uint8_t>(params.retry_count, 7);
  cp.rnr_retry_count = std::min<uint8_t>(params.rnr_retry_count, 7);
  cp.flow_control = 1;
  if (passive_) {
    SMB3_RETURN_IF_ERROR(CmStatus(rdma_accept(id_.get(), &cp), "rdma: rdma_accept"));
  } else {
    SMB3_RETURN_IF_ERROR(CmStatus(rdma_connect(id_.get(), &cp), "rdma: rdma_connect"));
  }
  for (;;) {
    SMB3_ASSIGN_OR_RETURN(rdma_cm_event_type ev, WaitCmEvent(deadline));
    switch (ev) {
      case RDMA_CM_EVENT_ESTABLISHED:
        state_ = State::kConnected;
        connected_once_ = true;
        if (passive_) {
          Event e;
          e.kind = Event::Kind::kConnected;
          e.private_data = std::move(peer_private_data_);
          Emit(std::move(e));
        }
        return Status::Ok();
      case RDMA_CM_EVENT_REJECTED:
        return Status(Code::kUnreachable, ECONNREFUSED, "rdma: connection rejected");
      case RDMA_CM_EVENT_UNREACHABLE:
        return Status(Code::kUnreachable, EHOSTUNREACH, "rdma: peer unreachable");
      case RDMA_CM_EVENT_CONNECT_ERROR:
        return Status(Code::kUnreachable, ECONNABORTED, "rdma: connection error");
      case RDMA_CM_EVENT_CONNECT_RESPONSE:
        // Only without a queue pair on the id (not ours): accept it anyway.
        SMB3_RETURN_IF_ERROR(CmStatus(rdma_establish(id_.get()), "rdma: rdma_establish"));
        break;
      default:
        break;  // e.g. TIMEWAIT_EXIT of an earlier attempt
    }
  }
}

void VerbsEndpoint::MarkDisconnecting(Status why) {
  if (disconnecting_) return;
  disconnecting_ = true;
  qp_error_ = true;
  disconnect_reason_ = why;
  if (connected_once_) {
    // Moves the queue pair to error: every outstanding work request completes as flushed.
    rdma_disconnect(id_.get());
  } else if (qp_.get() != nullptr) {
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_ERR;
    ibv_modify_qp(qp_.get(), &attr, IBV_QP_STATE);
  }
}

void VerbsEndpoint::MaybeFinishDisconnect() {
  if (!disconnecting_ || state_ == State::kDisconnected || !pending_.empty()) return;
  state_ = State::kDisconnected;
  Event e;
  e.kind = Event::Kind::kDisconnected;
  e.status = disconnect_reason_;
  Emit(std::move(e));
}

void VerbsEndpoint::Disconnect() {
  MarkDisconnecting(Status(Code::kDisconnected, 0, "rdma: disconnected locally"));
  MaybeFinishDisconnect();
}

void VerbsEndpoint::HandleCmEvent(rdma_cm_event_type type) {
  switch (type) {
    case RDMA_CM_EVENT_DISCONNECTED:
      MarkDisconnecting(Status(Code::kDisconnected, 0, "rdma: peer disconnected"));
      break;
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
      MarkDisconnecting(Status(Code::kDisconnected, ENODEV, "rdma: device removed"));
      break;
    default:
      break;
  }
}

Status VerbsEndpoint::Process() {
  if (channel_) {
    for (;;) {
      rdma_cm_event* event = nullptr;
      if (rdma_get_cm_event(channel_.get(), &event) != 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        Status s = ErrnoStatus(errno, "rdma: rdma_get_cm_event");
        MarkDisconnecting(s);
        return s;
      }
      rdma_cm_event_type type = event->event;
      rdma_ack_cm_event(event);
      HandleCmEvent(type);
    }
  }
  if (comp_channel_ && cq_.get() != nullptr) {
    // get event -> re-arm -> poll until empty -> acknowledge: a completion that lands between the
    // last poll and the re-arm still raises an event, so none is missed.
    bool got_event = false;
    ibv_cq* cq = nullptr;
    void* context = nullptr;
    while (ibv_get_cq_event(comp_channel_.get(), &cq, &context) == 0) {
      cq_.CountEvent();
      got_event = true;
    }
    if (got_event) {
      SMB3_RETURN_IF_ERROR(VerbsStatus(ibv_req_notify_cq(cq_.get(), 0), "rdma: ibv_req_notify_cq"));
    }
    SMB3_RETURN_IF_ERROR(PollCompletions());
    cq_.AckEvents();
  }
  MaybeFinishDisconnect();
  return Status::Ok();
}

std::optional<Event> VerbsEndpoint::NextEvent() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

Result<std::unique_ptr<MemoryRegion>> VerbsEndpoint::Register(std::span<uint8_t> memory,
                                                              uint32_t access) {
  if (memory.empty()) return Status::Invalid("rdma: empty registration");
  if (!pd_) return Status::Invalid("rdma: Register before Resolve");
  // Without windows there is nothing to bind: MW_BIND would only make some devices refuse.
  if (!caps_.memory_windows_type2) access &= ~static_cast<uint32_t>(Access::kMwBind);
  MrPtr mr(
      ibv_reg_mr(pd_.get(), memory.data(), memory.size(), static_cast<int>(ToIbvAccess(access))));
  if (!mr) return ErrnoStatus(errno, "rdma: ibv_reg_mr");
  return std::unique_ptr<MemoryRegion>(std::make_unique<VerbsRegion>(std::move(mr), access));
}

Result<std::unique_ptr<MemoryWindow>> VerbsEndpoint::AllocateWindow() {
  if (!pd_) return Status::Invalid("rdma: AllocateWindow before Resolve");
  auto window = std::make_unique<VerbsWindow>(this);
  if (caps_.memory_windows_type2) {
    window->mw.reset(ibv_alloc_mw(pd_.get(), IBV_MW_TYPE_2));
    if (!window->mw) return ErrnoStatus(errno, "rdma: ibv_alloc_mw");
    window->key = window->mw->rkey;
  }
  return std::unique_ptr<MemoryWindow>(std::move(window));
}

Status VerbsEndpoint::Adopt(EventChannelPtr channel, CmIdPtr id, std::vector<uint8_t> private_data,
                            const QueueOptions& queues) {
  channel_ = std::move(channel);
  id_ = std::move(id);
  passive_ = true;
  peer_private_data_ = std::move(private_data);
  return CreateQueuePair(queues);
}

namespace {

class VerbsListener final : public Listener {
 public:
  Status Listen(const std::string& address, uint16_t port, const QueueOptions& queues) {
    queues_ = queues;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* ai = nullptr;
    std::string service = std::to_string(port);
    if (getaddrinfo(address.c_str(), service.c_str(), &hints, &ai) != 0 || ai == nullptr) {
      return Status::Invalid("rdma: listen address does not resolve");
    }
    sockaddr_storage local{};
    std::memcpy(&local, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof local));
    freeaddrinfo(ai);
    channel_.reset(rdma_create_event_channel());
    if (!channel_) return ErrnoStatus(errno, "rdma: rdma_create_event_channel");
    SMB3_RETURN_IF_ERROR(SetNonBlocking(channel_->fd, "rdma: event channel O_NONBLOCK"));
    rdma_cm_id* id = nullptr;
    SMB3_RETURN_IF_ERROR(CmStatus(rdma_create_id(channel_.get(), &id, nullptr, RDMA_PS_TCP),
                                  "rdma: rdma_create_id"));
    id_.reset(id);
    SMB3_RETURN_IF_ERROR(CmStatus(rdma_bind_addr(id_.get(), reinterpret_cast<sockaddr*>(&local)),
                                  "rdma: rdma_bind_addr"));
    return CmStatus(rdma_listen(id_.get(), 8), "rdma: rdma_listen");
  }

  Result<std::unique_ptr<Endpoint>> WaitRequest(std::chrono::milliseconds timeout) override {
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      rdma_cm_event* event = nullptr;
      if (rdma_get_cm_event(channel_.get(), &event) == 0) {
        if (event->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
          rdma_ack_cm_event(event);
          continue;
        }
        CmIdPtr child(event->id);
        const auto* pd = static_cast<const uint8_t*>(event->param.conn.private_data);
        std::vector<uint8_t> private_data(pd, pd + (pd ? event->param.conn.private_data_len : 0));
        // rdma_migrate_id waits until every event of the id is acknowledged.
        rdma_ack_cm_event(event);
        EventChannelPtr channel(rdma_create_event_channel());
        if (!channel) return ErrnoStatus(errno, "rdma: rdma_create_event_channel");
        SMB3_RETURN_IF_ERROR(SetNonBlocking(channel->fd, "rdma: event channel O_NONBLOCK"));
        SMB3_RETURN_IF_ERROR(
            CmStatus(rdma_migrate_id(child.get(), channel.get()), "rdma: rdma_migrate_id"));
        auto endpoint = std::make_unique<VerbsEndpoint>();
        SMB3_RETURN_IF_ERROR(endpoint->Adopt(std::move(channel), std::move(child),
                                             std::move(private_data), queues_));
        return std::unique_ptr<Endpoint>(std::move(endpoint));
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return ErrnoStatus(errno, "rdma: rdma_get_cm_event");
      }
      int left = RemainingMs(deadline);
      if (left == 0) return Status(Code::kTimeout, ETIMEDOUT, "rdma: no connection request");
      pollfd pfd{channel_->fd, POLLIN, 0};
      if (poll(&pfd, 1, left) < 0 && errno != EINTR) return ErrnoStatus(errno, "rdma: poll");
    }
  }

 private:
  // Declaration order is creation order; the id goes before its channel.
  EventChannelPtr channel_;
  CmIdPtr id_;
  QueueOptions queues_;
};

}  // namespace
}  // namespace verbs

Result<std::unique_ptr<Listener>> Listen(const std::string& address, uint16_t port,
                                         const QueueOptions& queues) {
  SMB3_RETURN_IF_ERROR(CheckDevicePresent());
  auto listener = std::make_unique<verbs::VerbsListener>();
  SMB3_RETURN_IF_ERROR(listener->Listen(address, port, queues));
  return std::unique_ptr<Listener>(std::move(listener));
}

}  // namespace smb3::transport::rdma
