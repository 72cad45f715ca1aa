// SPDX-License-Identifier: LGPL-2.1-or-later
// SMB Direct control path: resolve, connect, negotiate, the event loop, close. The data path
// (buffers, completions, draining the engine) is in smbdirect_data_path.cc.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "transport/rdma/registrar.h"
#include "transport/smbdirect_impl.h"
#ifdef SMB3_HAVE_VERBS
#include "transport/rdma/verbs_endpoint.h"
#endif

namespace smb3::transport {
namespace {

using std::chrono::milliseconds;

// Registrar::Owns compares the top 24 bits with kWorkRequestTag; different top 16 bits suffice.
static_assert((SmbDirectTransport::kRecvTag & SmbDirectTransport::kTagMask) !=
                      (rdma::Registrar::kWorkRequestTag & SmbDirectTransport::kTagMask) &&
                  (SmbDirectTransport::kSendTag & SmbDirectTransport::kTagMask) !=
                      (rdma::Registrar::kWorkRequestTag & SmbDirectTransport::kTagMask),
              "the transport's wr_ids must not look like the registrar's");

// [MS-SMBD] 2.1: SMB Direct listens on 5445 over iWARP, on 445 over InfiniBand and RoCE.
constexpr uint16_t kSmbPort = 445;
constexpr uint16_t kIwarpPort = 5445;
constexpr auto kTick = std::chrono::seconds(1);

milliseconds Until(smbd::Timestamp now, smbd::Timestamp deadline) {
  if (deadline <= now) return milliseconds(0);
  // Round up so a wakeup never lands just before the deadline and spins.
  return std::chrono::ceil<milliseconds>(deadline - now);
}

}  // namespace

uint16_t SmbDirectPort(const rdma::DeviceCaps& caps, uint16_t port) {
  return caps.iwarp && port == kSmbPort ? kIwarpPort : port;
}

std::vector<uint8_t> EncodeIrdOrdHeader(IrdOrd ours) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<uint8_t>(ours.ird >> (24 - 8 * i));
    out[4 + i] = static_cast<uint8_t>(ours.ord >> (24 - 8 * i));
  }
  return out;
}

Result<std::optional<IrdOrd>> CheckIrdOrdReply(std::span<const uint8_t> reply, IrdOrd ours) {
  if (reply.size() != 8) return std::optional<IrdOrd>();
  IrdOrd theirs;
  for (int i = 0; i < 4; ++i) {
    theirs.ird = theirs.ird << 8 | reply[i];
    theirs.ord = theirs.ord << 8 | reply[4 + i];
  }
  // [MS-SMBD] 6.2: "If either the resulting IRD or ORD is zero, the connection is rejected";
  // the answer is the smaller of each side's value, so never more than we offered.
  if (theirs.ird == 0 || theirs.ord == 0)
    return Status::Protocol("smbd: the server's iWARP IRD/ORD answer has a zero depth");
  if (theirs.ird > ours.ird || theirs.ord > ours.ord)
    return Status::Protocol("smbd: the server's iWARP IRD/ORD answer exceeds what we offered");
  return std::optional<IrdOrd>(theirs);
}

SmbDirectTransport::SmbDirectTransport(std::unique_ptr<rdma::Endpoint> endpoint, std::string peer,
                                       const SmbDirectOptions& options,
                                       std::shared_ptr<BufferPool> pool, smbd::Connection engine)
    : peer_(std::move(peer)),
      options_(options),
      pool_(std::move(pool)),
      endpoint_(std::move(endpoint)),
      engine_(std::move(engine)) {}

SmbDirectTransport::~SmbDirectTransport() {
  Close();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(endpoint_mu_);
  // Registrations go before the endpoint that created them (device.h's life cycle); the data
  // channel's buffers stay mapped while the client holds them.
  if (channel_) channel_->Detach();
  recv_mr_.reset();
  send_mr_.reset();
  endpoint_.reset();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status SmbDirectTransport::Setup() {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::Errno(errno, "smbd: eventfd");
  const smbd::Parameters& p = engine_.parameters();
  // Receives: one buffer per credit we may grant ([MS-SMBD] 3.1.1.1 ReceiveCreditMax) of our
  // MaxReceiveSize (the negotiated size is never larger), plus the one the engine posts early so
  // that its last send credit can carry a grant ([MS-SMBD] 3.1.5.1, 3.1.5.9).
  recv_count_ = uint32_t{p.receive_credit_max} + 1;
  recv_size_ = p.max_receive_size;
  send_count_ = std::max<uint32_t>(1, options_.send_buffers);
  send_size_ = p.max_send_size;
  recv_slab_.assign(size_t{recv_count_} * recv_size_, 0);
  send_slab_.assign(size_t{send_count_} * send_size_, 0);
  std::lock_guard lock(endpoint_mu_);
  SMB3_ASSIGN_OR_RETURN(recv_mr_, endpoint_->Register(recv_slab_, rdma::Access::kLocalWrite));
  // The device only reads send buffers.
  SMB3_ASSIGN_OR_RETURN(send_mr_, endpoint_->Register(send_slab_, 0));
  free_recv_.reserve(recv_count_);
  for (uint32_t i = recv_count_; i > 0; --i) free_recv_.push_back(i - 1);
  free_send_.reserve(send_count_);
  for (uint32_t i = send_count_; i > 0; --i) free_send_.push_back(i - 1);
  return Status::Ok();
}

Status SmbDirectTransport::Negotiate() {
  const auto start = smbd::Clock::now();
  const auto deadline = start + options_.connect_timeout;
  {
    std::lock_guard lock(endpoint_mu_);
    // [MS-SMBD] 3.1.4.1: a receive is posted before connecting, for the negotiate response.
    PostReceives();
    if (disconnecting_) return engine_.error();
    rdma::ConnectParams cp;
    // The server reads our WRITE data by RDMA READ (we are its responder) and writes READ data
    // (MS-SMB2 3.2.4.6-7): offer what the device allows; the endpoint clamps to 255.
    const rdma::DeviceCaps& caps = endpoint_->caps();
    cp.responder_resources = std::min(caps.max_qp_rd_atom, 255u);
    cp.initiator_depth = std::min(caps.max_qp_init_rd_atom, 255u);
    // MS-SMBD peers retry receiver-not-ready forever (Windows and ksmbd use 7).
    cp.rnr_retry_count = 7;
    cp.retry_count = 7;
    cp.timeout = options_.connect_timeout;
    // [MS-SMBD] 6.1: over iWARP the private data starts with our IRD/ORD, as Windows and cifs.ko
    // send it, for peers whose provider cannot negotiate them (MPA v1); an MPA v2 peer finds the
    // same values there as in the connection request.
    const IrdOrd ours{cp.responder_resources, cp.initiator_depth};
    if (caps.iwarp) cp.private_data = EncodeIrdOrdHeader(ours);
    SMB3_RETURN_IF_ERROR(endpoint_->Connect(cp));
    if (caps.iwarp) {
      auto answer = CheckIrdOrdReply(endpoint_->accept_private_data(), ours);
      if (!answer.ok()) {
        BeginDisconnect();
        return answer.status();
      }
      if (*answer) {
        SMB3_LOG_INFO("smbd %s: iWARP IRD/ORD: ours %u/%u, the server answered %u/%u",
                      peer_.c_str(), ours.ird, ours.ord, (*answer)->ird, (*answer)->ord);
      } else {
        SMB3_LOG_INFO("smbd %s: iWARP IRD/ORD %u/%u sent; the server answered none (its provider "
                      "negotiates them)", peer_.c_str(), ours.ird, ours.ord);
      }
    }
    SMB3_RETURN_IF_ERROR(engine_.Start(smbd::Clock::now()));
    Drive(smbd::Clock::now());
  }
  for (;;) {
    {
      std::lock_guard lock(endpoint_mu_);
      const auto now = smbd::Clock::now();
      if (engine_.state() == smbd::State::kConnected) break;
      if (disconnecting_ || engine_.state() == smbd::State::kDisconnected) {
        Status why = engine_.error();
        if (why.ok())
          why = Status(Code::kDisconnected, 0, "smbd: connection lost while negotiating");
        BeginDisconnect();
        return why;
      }
      if (now >= deadline) {
        Lose(Status(Code::kTimeout, 0, "smbd: no negotiate response in time"));
        return engine_.error();
      }
    }
    Wait(Until(smbd::Clock::now(), deadline));
    std::lock_guard lock(endpoint_mu_);
    Drive(smbd::Clock::now());
  }
  std::lock_guard lock(endpoint_mu_);
  const smbd::NegotiatedParameters& n = engine_.negotiated();
  max_message_size_ = n.max_fragmented_send_size;
  SMB3_LOG_INFO(
      "smbd %s: negotiated on %s: send %u, receive %u, fragmented send %u / receive %u, "
      "read/write %u",
      peer_.c_str(), endpoint_->caps().name.c_str(), n.max_send_size, n.max_receive_size,
      n.max_fragmented_send_size, n.max_fragmented_recv_size, n.max_read_write_size);
  // The receives of the connected state ([MS-SMBD] 3.1.5.7: post, then grant them).
  Drive(smbd::Clock::now());
  CreateDataChannel();
  return Status::Ok();
}

void SmbDirectTransport::CreateDataChannel() {
  if (options_.rdma_buffer_count == 0 || options_.rdma_buffer_size == 0) {
    SMB3_LOG_INFO("smbd %s: no RDMA data channel (0 buffers asked for): READ/WRITE data inline",
                  peer_.c_str());
    return;
  }
  const uint32_t max_rw = engine_.negotiated().max_read_write_size;
  // [MS-SMBD] 3.1.5.7 / 2.2.2: one READ/WRITE moves at most the negotiated MaxReadWriteSize by
  // RDMA, so a buffer of that size (capped by rdma_buffer_size) carries any one I/O whole. The
  // message size does not bound it: the data is not in the message. Whole pages; the same memory
  // (rdma_buffer_size x rdma_buffer_count), registered once, as fewer bigger buffers or more
  // smaller ones.
  constexpr size_t kPage = 4096;
  const size_t buffer_size =
      std::max(kPage, std::min(options_.rdma_buffer_size, size_t{max_rw}) / kPage * kPage);
  const size_t count = std::max<size_t>(
      1, options_.rdma_buffer_size * options_.rdma_buffer_count / buffer_size);
  auto channel = rdma::DataChannel::Create(*endpoint_, endpoint_mu_, buffer_size, count, max_rw);
  if (!channel.ok()) {
    SMB3_LOG_INFO("smbd %s: no RDMA data channel (%s): READ/WRITE data inline", peer_.c_str(),
                  channel.status().ToString().c_str());
    return;
  }
  channel_ = std::move(channel).value();
  SMB3_LOG_DEBUG("smbd %s: RDMA data channel: %zu x %zu bytes, %s", peer_.c_str(), count,
                 buffer_size, channel_->mechanism());
}

std::shared_ptr<RdmaChannel> SmbDirectTransport::rdma_channel() {
  std::lock_guard lock(endpoint_mu_);
  return channel_;
}

Status SmbDirectTransport::Start(TransportHandler* handler) {
  if (thread_.joinable() || handler_) return Status::Invalid("smbd: transport already started");
  handler_ = handler;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

Status SmbDirectTransport::Send(std::span<const ByteView> parts) {
  size_t total = 0;
  for (auto p : parts) total += p.size();
  if (total == 0) return Status::Invalid("smbd: empty message");
  if (total > max_message_size_) {
    // [MS-SMBD] 3.1.4.2: larger than the negotiated MaxFragmentedSize of the peer.
    return Status::Invalid("smbd: message larger than the peer's MaxFragmentedSize");
  }
  std::unique_lock lock(endpoint_mu_);
  const bool on_loop = std::this_thread::get_id() == thread_.get_id();
  if (!on_loop && !closed_ && engine_.queued_bytes() >= options_.max_queued_bytes) {
    ++send_waits_;
    send_cv_.wait(lock,
                  [&] { return closed_ || engine_.queued_bytes() < options_.max_queued_bytes; });
  }
  if (closed_) {
    // The engine's error says why (a violation, a timeout, the peer's disconnect).
    const Status& why = engine_.error();
    return Status(Code::kDisconnected, why.detail(),
                  why.ok() ? "smbd: connection closed" : why.where());
  }
  ByteView message;
  if (parts.size() == 1) {
    message = parts[0];
  } else {
    gather_.clear();
    for (auto p : parts) gather_.insert(gather_.end(), p.begin(), p.end());
    message = ByteView(gather_.data(), gather_.size());
  }
  Status s = engine_.QueueSend(message);
  if (!s.ok()) return s.Is(Code::kInvalidArgument) ? s : Status(Code::kDisconnected, 0, s.where());
  // Post what credits and buffers allow now; the loop goes on as completions and grants arrive.
  PostSends(smbd::Clock::now());
  if (engine_.HasQueuedData()) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  return Status::Ok();
}

void SmbDirectTransport::Close() {
  {
    std::lock_guard lock(endpoint_mu_);
    closed_ = true;
    send_cv_.notify_all();
  }
  close_requested_.store(true);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

SmbDirectCounters SmbDirectTransport::Snapshot() {
  std::lock_guard lock(endpoint_mu_);
  SmbDirectCounters c;
  c.smbd = engine_.counters();
  c.send_buffer_stalls = send_buffer_stalls_;
  c.send_waits = send_waits_;
  return c;
}

void SmbDirectTransport::Wait(milliseconds timeout) {
  pollfd fds[3];
  nfds_t n = 0;
  int cm = -1, cq = -1;
  {
    std::lock_guard lock(endpoint_mu_);
    cm = endpoint_->cm_fd();
    cq = endpoint_->cq_fd();
  }
  if (cm >= 0) fds[n++] = {cm, POLLIN, 0};
  if (cq >= 0 && cq != cm) fds[n++] = {cq, POLLIN, 0};
  if (wake_fd_ >= 0) fds[n++] = {wake_fd_, POLLIN, 0};
  const int ms = static_cast<int>(std::min<milliseconds::rep>(timeout.count(), 60000));
  if (::poll(fds, n, ms) < 0 && errno != EINTR) {
    SMB3_LOG_ERROR("smbd %s: poll: %s", peer_.c_str(), std::strerror(errno));
  }
}

void SmbDirectTransport::DrainWakeups() {
  uint64_t v;
  while (::read(wake_fd_, &v, sizeof v) > 0) {
  }
}

void SmbDirectTransport::Loop() {
  {
    std::lock_guard lock(endpoint_mu_);
    if (channel_) channel_->SetLoopThread(std::this_thread::get_id());
  }
  auto next_tick = smbd::Clock::now() + kTick;
  std::vector<Buffer> messages;
  for (;;) {
    smbd::Timestamp wake_at = next_tick;
    {
      std::lock_guard lock(endpoint_mu_);
      const auto now = smbd::Clock::now();
      if (close_requested_.load() && !disconnecting_) {
        engine_.Close();
        BeginDisconnect();
      }
      Drive(now);
      TakeMessages(messages);
      if (disconnecting_) {
        if (endpoint_gone_ || now >= teardown_deadline_) break;
        wake_at = std::min(wake_at, teardown_deadline_);
      }
      if (auto d = engine_.NextDeadline()) wake_at = std::min(wake_at, *d);
    }
    // The handler runs without endpoint_mu_: it sends, and releases RDMA buffers, from here.
    for (Buffer& m : messages) handler_->OnMessage(std::move(m));
    messages.clear();
    auto now = smbd::Clock::now();
    if (now >= next_tick) {
      handler_->OnTick(now);
      next_tick = now + kTick;
      continue;
    }
    Wait(Until(now, wake_at));
    DrainWakeups();
  }
  Status why;
  {
    std::lock_guard lock(endpoint_mu_);
    why = engine_.error();
    if (why.ok()) why = Status(Code::kDisconnected, 0, "smbd: connection closed");
    // Acquire fails from here on; buffers the client holds stay mapped until it releases them.
    if (channel_) channel_->Detach();
    if (!endpoint_gone_) {
      SMB3_LOG_DEBUG("smbd %s: no disconnect event within the teardown time", peer_.c_str());
    }
  }
  if (close_requested_.load()) {
    SMB3_LOG_DEBUG("smbd %s: closed: %s", peer_.c_str(), why.ToString().c_str());
  } else {
    SMB3_LOG_INFO("smbd %s: connection lost: %s", peer_.c_str(), why.ToString().c_str());
  }
  handler_->OnClosed(why);
}

Result<std::unique_ptr<Transport>> ConnectSmbDirect(std::unique_ptr<rdma::Endpoint> endpoint,
                                                    const std::string& peer,
                                                    const SmbDirectOptions& options,
                                                    std::shared_ptr<BufferPool> pool) {
  if (!endpoint) return Status::Invalid("smbd: no endpoint");
  if (endpoint->state() != rdma::Endpoint::State::kResolved) {
    return Status::Invalid("smbd: the endpoint is not freshly resolved");
  }
  smbd::Parameters params = options.smbd;
  // Never grant more credits than the device's receive queue holds (one more is posted early).
  if (endpoint->caps().max_qp_wr > 1) {
    params.receive_credit_max = static_cast<uint16_t>(
        std::min<uint32_t>(params.receive_credit_max, endpoint->caps().max_qp_wr - 1));
  }
  SMB3_ASSIGN_OR_RETURN(smbd::Connection engine, smbd::Connection::Create(params));
  auto t = std::make_unique<SmbDirectTransport>(std::move(endpoint), peer, options, std::move(pool),
                                                std::move(engine));
  SMB3_RETURN_IF_ERROR(t->Setup());
  SMB3_RETURN_IF_ERROR(t->Negotiate());
  return std::unique_ptr<Transport>(std::move(t));
}

Result<std::unique_ptr<Transport>> ConnectSmbDirect(const std::string& host, uint16_t port,
                                                    const SmbDirectOptions& options,
                                                    std::shared_ptr<BufferPool> pool) {
#ifdef SMB3_HAVE_VERBS
  rdma::ResolveOptions ro;
  ro.queues = options.queues;
  // One receive per credit we may grant, plus slack for a reposted buffer.
  ro.queues.recv_queue_depth =
      std::max<uint32_t>(ro.queues.recv_queue_depth, uint32_t{options.smbd.receive_credit_max} + 1);
  ro.timeout = options.connect_timeout;
  ro.use_memory_windows = options.use_memory_windows;
  SMB3_ASSIGN_OR_RETURN(auto endpoint, rdma::Resolve(host, port, ro));
  const uint16_t smbd_port = SmbDirectPort(endpoint->caps(), port);
  if (smbd_port != port) {
    endpoint.reset();
    SMB3_ASSIGN_OR_RETURN(endpoint, rdma::Resolve(host, smbd_port, ro));
  }
  return ConnectSmbDirect(std::move(endpoint), host + ":" + std::to_string(smbd_port), options,
                          std::move(pool));
#else
  (void)host;
  (void)port;
  (void)options;
  (void)pool;
  return Status(Code::kNotSupported, 0,
                "smbd: built without rdma-core (libibverbs, librdmacm): no SMB Direct");
#endif
}

std::optional<SmbDirectCounters> SmbDirectSnapshot(Transport& transport) {
  auto* t = dynamic_cast<SmbDirectTransport*>(&transport);
  if (!t) return std::nullopt;
  return t->Snapshot();
}

}  // namespace smb3::transport
