// SPDX-License-Identifier: LGPL-2.1-or-later
// smbd_negotiate_probe: connects to an SMB Direct server with librdmacm, sends the MS-SMBD
// Negotiate Request and checks the Negotiate Response the way [MS-SMBD] 3.1.5.7 requires. The vm
// tier runs it against ksmbd over soft-RoCE: it shows that a userspace verbs client -- what
// fuse-smbd's SMB Direct transport is -- reaches the kernel's server, independently of
// libsmb3client.
//
// Usage: smbd_negotiate_probe [--timeout-ms N] ADDRESS [PORT]     (PORT: 445, ksmbd's port on
// IB/RoCE) Exit status: 0 negotiated; 1 the response failed a check; 2 usage; 3 an RDMA step failed
// or timed out.

#include <infiniband/verbs.h>
#include <netdb.h>
#include <poll.h>
#include <rdma/rdma_cma.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// [MS-SMBD] 1.7 and the defaults of 3.1.1.1 (Connection.MaxSendSize, MaxReceiveSize,
// MaxFragmentedRecvSize, SendCreditTarget).
constexpr uint16_t kSmbdVersion1 = 0x0100;
constexpr uint32_t kMaxSendSize = 1364;
constexpr uint32_t kMaxReceiveSize = 1364;
constexpr uint32_t kMaxFragmentedSize = 1048576;
constexpr uint16_t kSendCreditTarget = 255;
constexpr size_t kNegotiateRequestSize = 20;   // [MS-SMBD] 2.2.1
constexpr size_t kNegotiateResponseSize = 32;  // [MS-SMBD] 2.2.2

constexpr uint64_t kRecvWrId = 1;
constexpr uint64_t kSendWrId = 2;

// A failed RDMA step: what was attempted and the errno it ended with.
struct RdmaFailure {
  std::string what;
  int error;
};

// The one place both error conventions become an errno: librdmacm returns -1 and sets errno,
// ibverbs returns the errno itself.
void CheckSetsErrno(int rc, const char* what) {
  if (rc != 0) throw RdmaFailure{what, errno};
}
void CheckReturnsErrno(int rc, const char* what) {
  if (rc != 0) throw RdmaFailure{what, rc};
}
template <typename T>
T* CheckPtr(T* p, const char* what) {
  if (p == nullptr) throw RdmaFailure{what, errno != 0 ? errno : ENOMEM};
  return p;
}

// Owning handles, destroyed in reverse order of creation by declaration order in Probe().
template <typename T, auto Destroy>
struct Deleter {
  void operator()(T* p) const { Destroy(p); }
};
using EventChannel =
    std::unique_ptr<rdma_event_channel, Deleter<rdma_event_channel, rdma_destroy_event_channel>>;
using CmId = std::unique_ptr<rdma_cm_id, Deleter<rdma_cm_id, rdma_destroy_id>>;
using Pd = std::unique_ptr<ibv_pd, Deleter<ibv_pd, ibv_dealloc_pd>>;
using CompChannel =
    std::unique_ptr<ibv_comp_channel, Deleter<ibv_comp_channel, ibv_destroy_comp_channel>>;
using Cq = std::unique_ptr<ibv_cq, Deleter<ibv_cq, ibv_destroy_cq>>;
using Mr = std::unique_ptr<ibv_mr, Deleter<ibv_mr, ibv_dereg_mr>>;
using AddrInfo = std::unique_ptr<addrinfo, Deleter<addrinfo, freeaddrinfo>>;

// The QP belongs to the CM id; this destroys it before the id goes.
struct QpGuard {
  rdma_cm_id* id = nullptr;
  ~QpGuard() {
    if (id != nullptr) rdma_destroy_qp(id);
  }
};

void PutLe16(std::span<uint8_t> out, size_t offset, uint16_t v) {
  out[offset] = static_cast<uint8_t>(v);
  out[offset + 1] = static_cast<uint8_t>(v >> 8);
}
void PutLe32(std::span<uint8_t> out, size_t offset, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) out[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t GetLe16(std::span<const uint8_t> in, size_t offset) {
  return static_cast<uint16_t>(in[offset] | (in[offset + 1] << 8));
}
uint32_t GetLe32(std::span<const uint8_t> in, size_t offset) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in[offset + i]) << (8 * i);
  return v;
}

// [MS-SMBD] 2.2.1, with the fields 3.1.5.2 prescribes.
void EncodeNegotiateRequest(std::span<uint8_t, kNegotiateRequestSize> out) {
  PutLe16(out, 0, kSmbdVersion1);        // MinVersion
  PutLe16(out, 2, kSmbdVersion1);        // MaxVersion
  PutLe16(out, 4, 0);                    // Reserved
  PutLe16(out, 6, kSendCreditTarget);    // CreditsRequested
  PutLe32(out, 8, kMaxSendSize);         // PreferredSendSize
  PutLe32(out, 12, kMaxReceiveSize);     // MaxReceiveSize
  PutLe32(out, 16, kMaxFragmentedSize);  // MaxFragmentedSize
}

// [MS-SMBD] 2.2.2
struct NegotiateResponse {
  uint16_t min_version;
  uint16_t max_version;
  uint16_t negotiated_version;
  uint16_t credits_requested;
  uint16_t credits_granted;
  uint32_t status;
  uint32_t max_read_write_size;
  uint32_t preferred_send_size;
  uint32_t max_receive_size;
  uint32_t max_fragmented_size;
};

std::optional<NegotiateResponse> DecodeNegotiateResponse(std::span<const uint8_t> in) {
  if (in.size() < kNegotiateResponseSize) return std::nullopt;
  return NegotiateResponse{
      .min_version = GetLe16(in, 0),
      .max_version = GetLe16(in, 2),
      .negotiated_version = GetLe16(in, 4),
      // Reserved at 6 is ignored on receipt.
      .credits_requested = GetLe16(in, 8),
      .credits_granted = GetLe16(in, 10),
      .status = GetLe32(in, 12),
      .max_read_write_size = GetLe32(in, 16),
      .preferred_send_size = GetLe32(in, 20),
      .max_receive_size = GetLe32(in, 24),
      .max_fragmented_size = GetLe32(in, 28),
  };
}

// The conditions of [MS-SMBD] 3.1.5.7 a response must meet; returns the ones it does not.
std::vector<std::string> CheckNegotiateResponse(const NegotiateResponse& r) {
  std::vector<std::string> failed;
  if (r.negotiated_version != kSmbdVersion1) failed.emplace_back("NegotiatedVersion is not 0x0100");
  if (r.max_receive_size < 128) failed.emplace_back("MaxReceiveSize < 128");
  if (r.max_fragmented_size < 131072) failed.emplace_back("MaxFragmentedSize < 131072");
  if (r.credits_granted == 0) failed.emplace_back("CreditsGranted is 0");
  if (r.credits_requested == 0) failed.emplace_back("CreditsRequested is 0");
  if (r.preferred_send_size > kMaxReceiveSize)
    failed.emplace_back("PreferredSendSize > our MaxReceiveSize");
  if (r.status != 0) failed.emplace_back("Status is not STATUS_SUCCESS");
  return failed;
}

int MillisecondsLeft(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits until FD is readable or the deadline passes.
void WaitReadable(int fd, Clock::time_point deadline, const char* what) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  for (;;) {
    int n = poll(&p, 1, MillisecondsLeft(deadline));
    if (n > 0) return;
    if (n == 0) throw RdmaFailure{what, ETIMEDOUT};
    if (errno != EINTR) throw RdmaFailure{what, errno};
  }
}

// Takes and acks the next CM event, which must be WANT; any other (REJECTED, UNREACHABLE, ...)
// fails.
void ExpectCmEvent(rdma_event_channel* channel, rdma_cm_event_type want,
                   Clock::time_point deadline) {
  WaitReadable(channel->fd, deadline, rdma_event_str(want));
  rdma_cm_event* event = nullptr;
  CheckSetsErrno(rdma_get_cm_event(channel, &event), "rdma_get_cm_event");
  rdma_cm_event_type got = event->event;
  int status = event->status;
  rdma_ack_cm_event(event);
  if (got != want) {
    std::string what = std::string("expected ") + rdma_event_str(want) + ", got " +
                       rdma_event_str(got) + " (status " + std::to_string(status) + ")";
    throw RdmaFailure{what, ECONNREFUSED};
  }
}

// Collects work completions until every WR id in WANT has completed successfully. Follows the verbs
// life cycle: get the event, re-arm, poll until empty, ack (also when polling fails: a CQ with
// unacked events cannot be destroyed).
void WaitCompletions(ibv_comp_channel* channel, ibv_cq* cq, std::vector<uint64_t> want,
                     Clock::time_point deadline, uint32_t* recv_bytes) {
  auto drain = [&] {
    ibv_wc wc{};
    int n;
    while ((n = ibv_poll_cq(cq, 1, &wc)) > 0) {
      if (wc.status != IBV_WC_SUCCESS) {
        throw RdmaFailure{std::string("work completion ") + std::to_string(wc.wr_id) + ": " +
                              ibv_wc_status_str(wc.status),
                          EIO};
      }
      if (wc.wr_id == kRecvWrId) *recv_bytes = wc.byte_len;
      std::erase(want, wc.wr_id);
    }
    if (n < 0) throw RdmaFailure{"ibv_poll_cq", EIO};
  };
  drain();
  while (!want.empty()) {
    WaitReadable(channel->fd, deadline, "a work completion");
    ibv_cq* event_cq = nullptr;
    void* context = nullptr;
    CheckSetsErrno(ibv_get_cq_event(channel, &event_cq, &context), "ibv_get_cq_event");
    struct AckOnExit {
      ibv_cq* cq;
      ~AckOnExit() { ibv_ack_cq_events(cq, 1); }
    } ack{event_cq};
    CheckReturnsErrno(ibv_req_notify_cq(cq, 0), "ibv_req_notify_cq");
    drain();
  }
}

void PrintResponse(const NegotiateResponse& r, uint32_t bytes) {
  std::printf(
      "negotiate response (%u bytes): min_version 0x%04x max_version 0x%04x negotiated_version "
      "0x%04x "
      "credits_requested %u credits_granted %u status 0x%08x max_read_write_size %u "
      "preferred_send_size %u max_receive_size %u max_fragmented_size %u\n",
      bytes, r.min_version, r.max_version, r.negotiated_version, r.credits_requested,
      r.credits_granted, r.status, r.max_read_write_size, r.preferred_send_size, r.max_receive_size,
      r.max_fragmented_size);
}

int Probe(const char* address, const char* port, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const int step_ms = static_cast<int>(timeout.count());

  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* resolved = nullptr;
  if (int rc = getaddrinfo(address, port, &hints, &resolved); rc != 0) {
    std::fprintf(stderr, "smbd_negotiate_probe: %s:%s: %s\n", address, port, gai_strerror(rc));
    return 3;
  }
  AddrInfo peer(resolved);

  EventChannel events(CheckPtr(rdma_create_event_channel(), "rdma_create_event_channel"));
  rdma_cm_id* raw_id = nullptr;
  CheckSetsErrno(rdma_create_id(events.get(), &raw_id, nullptr, RDMA_PS_TCP), "rdma_create_id");
  CmId id(raw_id);
  CheckSetsErrno(rdma_resolve_addr(id.get(), nullptr, peer->ai_addr, step_ms), "rdma_resolve_addr");
  ExpectCmEvent(events.get(), RDMA_CM_EVENT_ADDR_RESOLVED, deadline);
  CheckSetsErrno(rdma_resolve_route(id.get(), step_ms), "rdma_resolve_route");
  ExpectCmEvent(events.get(), RDMA_CM_EVENT_ROUTE_RESOLVED, deadline);
  std::printf("device %s port %u -> %s:%s\n", ibv_get_device_name(id->verbs->device), id->port_num,
              address, port);

  Pd pd(CheckPtr(ibv_alloc_pd(id->verbs), "ibv_alloc_pd"));
  CompChannel completions(CheckPtr(ibv_create_comp_channel(id->verbs), "ibv_create_comp_channel"));
  Cq cq(CheckPtr(ibv_create_cq(id->verbs, 8, nullptr, completions.get(), 0), "ibv_create_cq"));
  CheckReturnsErrno(ibv_req_notify_cq(cq.get(), 0), "ibv_req_notify_cq");
  ibv_qp_init_attr qp_attr{};
  qp_attr.send_cq = cq.get();
  qp_attr.recv_cq = cq.get();
  qp_attr.qp_type = IBV_QPT_RC;
  qp_attr.cap.max_send_wr = 2;
  qp_attr.cap.max_recv_wr = 2;
  qp_attr.cap.max_send_sge = 1;
  qp_attr.cap.max_recv_sge = 1;
  CheckSetsErrno(rdma_create_qp(id.get(), pd.get(), &qp_attr), "rdma_create_qp");
  QpGuard qp{id.get()};

  std::array<uint8_t, kMaxReceiveSize> receive_buffer{};
  std::array<uint8_t, kNegotiateRequestSize> send_buffer{};
  Mr receive_mr(CheckPtr(
      ibv_reg_mr(pd.get(), receive_buffer.data(), receive_buffer.size(), IBV_ACCESS_LOCAL_WRITE),
      "ibv_reg_mr"));
  Mr send_mr(
      CheckPtr(ibv_reg_mr(pd.get(), send_buffer.data(), send_buffer.size(), 0), "ibv_reg_mr"));

  // The receive for the response is posted before connecting: the peer may answer at once, and
  // ksmbd's QP does not retry on receiver-not-ready.
  ibv_sge receive_sge{.addr = reinterpret_cast<uintptr_t>(receive_buffer.data()),
                      .length = static_cast<uint32_t>(receive_buffer.size()),
                      .lkey = receive_mr->lkey};
  ibv_recv_wr receive_wr{};
  receive_wr.wr_id = kRecvWrId;
  receive_wr.sg_list = &receive_sge;
  receive_wr.num_sge = 1;
  ibv_recv_wr* bad_receive = nullptr;
  CheckReturnsErrno(ibv_post_recv(id->qp, &receive_wr, &bad_receive), "ibv_post_recv");

  rdma_conn_param conn{};
  conn.responder_resources = 1;
  conn.initiator_depth = 1;
  conn.retry_count = 6;
  conn.rnr_retry_count = 6;
  CheckSetsErrno(rdma_connect(id.get(), &conn), "rdma_connect");
  ExpectCmEvent(events.get(), RDMA_CM_EVENT_ESTABLISHED, deadline);
  std::printf("RC connection established\n");

  EncodeNegotiateRequest(send_buffer);
  ibv_sge send_sge{.addr = reinterpret_cast<uintptr_t>(send_buffer.data()),
                   .length = static_cast<uint32_t>(send_buffer.size()),
                   .lkey = send_mr->lkey};
  ibv_send_wr send_wr{};
  send_wr.wr_id = kSendWrId;
  send_wr.sg_list = &send_sge;
  send_wr.num_sge = 1;
  send_wr.opcode = IBV_WR_SEND;
  send_wr.send_flags = IBV_SEND_SIGNALED;
  ibv_send_wr* bad_send = nullptr;
  CheckReturnsErrno(ibv_post_send(id->qp, &send_wr, &bad_send), "ibv_post_send");

  uint32_t received = 0;
  WaitCompletions(completions.get(), cq.get(), {kRecvWrId, kSendWrId}, deadline, &received);
  // A graceful close, best effort: the verdict is the response's.
  if (rdma_disconnect(id.get()) == 0) {
    try {
      ExpectCmEvent(events.get(), RDMA_CM_EVENT_DISCONNECTED,
                    Clock::now() + std::chrono::seconds(2));
    } catch (const RdmaFailure& failure) {
      std::printf("note: no clean disconnect: %s\n", failure.what.c_str());
    }
  }

  auto response =
      DecodeNegotiateResponse(std::span<const uint8_t>(receive_buffer.data(), received));
  if (!response) {
    std::printf("SMBD negotiate FAILED: the response has %u bytes, fewer than %zu\n", received,
                kNegotiateResponseSize);
    return 1;
  }
  PrintResponse(*response, received);
  auto failed = CheckNegotiateResponse(*response);
  for (const auto& f : failed) std::printf("check failed: %s\n", f.c_str());
  std::printf("SMBD negotiate %s\n", failed.empty() ? "OK" : "FAILED");
  return failed.empty() ? 0 : 1;
}

int Usage() {
  std::fprintf(stderr, "usage: smbd_negotiate_probe [--timeout-ms N] ADDRESS [PORT]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  long timeout_ms = 10000;
  if (args.size() >= 2 && args[0] == "--timeout-ms") {
    char* end = nullptr;
    timeout_ms = std::strtol(argv[2], &end, 10);
    if (*end != '\0' || timeout_ms <= 0) return Usage();
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args.size() > 2 || args[0].starts_with("-")) return Usage();
  const char* address = args[0].data();
  const char* port = args.size() == 2 ? args[1].data() : "445";
  try {
    return Probe(address, port, std::chrono::milliseconds(timeout_ms));
  } catch (const RdmaFailure& failure) {
    std::fprintf(stderr, "smbd_negotiate_probe: %s: %s\n", failure.what.c_str(),
                 std::strerror(failure.error));
    return 3;
  }
}
