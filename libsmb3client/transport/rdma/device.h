// SPDX-License-Identifier: LGPL-2.1-or-later
// The RDMA device seam: one reliable-connected queue pair with its completion queue, memory
// registration and memory windows, as an SMB Direct transport drives it from one event loop.
//
// Two implementations satisfy it: transport/rdma/verbs_endpoint.h (rdma-core: librdmacm and
// libibverbs, the only includer of <infiniband/*> and <rdma/*>) and transport/softrdma/ (an
// in-process fabric for tests that enforces keys, bounds, access rights and window invalidation
// like hardware). Neither knows MS-SMBD; smbd/ knows nothing of either.
//
// Life cycle of an initiator endpoint (rping's order):
//   1. the implementation's Resolve(address, port, ...) resolves address and route and creates the
//      protection domain, completion queue and queue pair: caps() is valid from here on;
//   2. Register() the receive and send memory, PostReceive() the first receives — receives are
//      posted before connecting, so the peer's first SEND never meets an empty queue;
//   3. Connect() with the MS-SMBD connection parameters;
//   4. Post*() work requests; when cm_fd() or cq_fd() is readable (or whenever convenient), call
//      Process(), then drain NextEvent() until it returns nothing;
//   5. Disconnect(): every outstanding work request completes as flushed, then kDisconnected;
//      destroying the endpoint frees queue pair, completion queue, channels, memory and id in the
//      reverse order of creation. MemoryRegion and MemoryWindow objects must be destroyed before
//      the endpoint that created them.
//
// Thread-safety: an endpoint and everything it created belong to one thread (its event loop). A
// MemoryWindow must outlive its pending Bind/Invalidate work requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "smb3/status.h"

namespace smb3::transport::rdma {

// Access rights of a registration or window (a subset of ibv_access_flags).
enum Access : uint32_t {
  kLocalWrite = 1u << 0,   // the device may write it: receive buffers, RDMA READ targets
  kRemoteWrite = 1u << 1,  // the peer may RDMA WRITE into it (data of our SMB2 READ)
  kRemoteRead = 1u << 2,   // the peer may RDMA READ from it (data of our SMB2 WRITE)
  kMwBind = 1u << 3,       // memory windows may be bound on it
};

// How a registered region is shown to the peer for one I/O.
enum class WindowMechanism : uint8_t {
  // A type-2 memory window bound per I/O with a fresh key; the peer may invalidate it with
  // SEND_WITH_INVALIDATE (SMB2_CHANNEL_RDMA_V1_INVALIDATE), else we invalidate it locally.
  kMemoryWindow,
  // The device has no type-2 windows: a memory region of just the I/O's range is registered per
  // I/O and deregistered when it completes (SMB2_CHANNEL_RDMA_V1), so a stale key stops working.
  kRegisterPerIo,
};
const char* WindowMechanismName(WindowMechanism m);

// What the device allows; from ibv_query_device on rdma-core.
struct DeviceCaps {
  std::string name;                  // e.g. "rxe0", "mlx5_0", "softrdma"
  uint32_t max_qp_wr = 0;            // work requests per queue
  uint32_t max_sge = 0;              // scatter/gather entries per work request
  uint32_t max_qp_rd_atom = 0;       // RDMA READs we may answer at once (responder resources)
  uint32_t max_qp_init_rd_atom = 0;  // RDMA READs we may have outstanding (initiator depth)
  uint32_t max_cqe = 0;
  uint32_t max_mr_size_mib = 0;  // capped at 4 TiB
  bool memory_windows_type2 = false;
  bool iwarp = false;  // iWARP: MS-SMBD uses port 5445 and IRD/ORD private data
  WindowMechanism window_mechanism() const {
    return memory_windows_type2 ? WindowMechanism::kMemoryWindow : WindowMechanism::kRegisterPerIo;
  }
};

// Queue sizes requested when the queue pair is created; clamped to the device's limits.
struct QueueOptions {
  uint32_t send_queue_depth = 256;  // SENDs, binds and invalidations in flight
  uint32_t recv_queue_depth = 256;
  uint32_t max_send_sge = 4;
  uint32_t max_recv_sge = 1;
  uint32_t max_inline_data = 0;  // bytes a SEND may carry inline (0: none)
};

// rdma_conn_param as MS-SMBD wants it.
struct ConnectParams {
  std::vector<uint8_t> private_data;  // e.g. the iWARP IRD/ORD exchange
  uint32_t responder_resources = 16;  // clamped to caps().max_qp_rd_atom
  uint32_t initiator_depth = 16;      // clamped to caps().max_qp_init_rd_atom
  uint8_t retry_count = 7;
  uint8_t rnr_retry_count = 7;  // 7: retry forever, as MS-SMBD peers expect
  std::chrono::milliseconds timeout{10000};
};

// One scatter/gather element: local memory inside a registration whose lkey is given.
struct Sge {
  uint64_t addr = 0;
  uint32_t length = 0;
  uint32_t lkey = 0;
};

// What the peer is told (an SMB_DIRECT_BUFFER_DESCRIPTOR_V1): valid only while the I/O needs it.
struct RemoteWindow {
  uint64_t addr = 0;
  uint32_t rkey = 0;
  uint32_t length = 0;
};

// Work-completion outcomes, the device-independent subset of ibv_wc_status.
enum class WcStatus : uint8_t {
  kSuccess,
  kFlushed,          // the queue pair is in error or disconnected: teardown, not a new fault
  kLocalLength,      // a message larger than the posted receive
  kLocalProtection,  // a local SGE outside its registration or without the access needed
  kLocalQpOperation,
  kMemoryWindowBind,  // a bind the region does not allow
  kRemoteAccess,      // the peer's key, bounds or access rights refused our RDMA operation
  kRemoteInvalidRequest,
  kRemoteOperation,   // e.g. the peer could not invalidate the key we sent
  kRetryExceeded,     // transport retries exhausted: the peer is gone
  kRnrRetryExceeded,  // the peer never posted a receive in time
  kGeneral,
};
const char* WcStatusName(WcStatus s);
// The one mapping from a failed completion to a Status: kDisconnected for a flush, a lost peer or
// exhausted retries; kProtocol for an access or protection violation (wrong key, bounds, rights);
// kSystem (EIO) otherwise. `where` names the WcStatus.
Status WcStatusToStatus(WcStatus s);

// What Process() produced: a work completion or a connection event.
struct Event {
  enum class Kind : uint8_t {
    kRecv,          // a receive completed: byte_len bytes in the buffer posted with wr_id
    kSend,          // a SEND (with or without invalidate) completed
    kRdmaWrite,     // our RDMA WRITE completed
    kRdmaRead,      // our RDMA READ completed
    kBind,          // a window bind (or per-I/O registration) completed
    kInvalidate,    // a local invalidation (or per-I/O deregistration) completed
    kConnected,     // passive side: a peer connected (its private data in private_data)
    kDisconnected,  // the connection is gone; last event, after every flushed completion
  };
  Kind kind = Kind::kRecv;
  uint64_t wr_id = 0;
  WcStatus wc_status = WcStatus::kSuccess;
  Status status;                             // Ok, or WcStatusToStatus / why disconnected
  uint32_t byte_len = 0;                     // kRecv; kRdmaRead/kRdmaWrite: bytes moved
  std::optional<uint32_t> invalidated_rkey;  // kRecv: the peer's SEND_WITH_INVALIDATE key
  std::vector<uint8_t> private_data;         // kConnected; the CM may zero-pad it (IB: 56 bytes)

  bool ok() const { return wc_status == WcStatus::kSuccess && status.ok(); }
  bool flushed() const { return wc_status == WcStatus::kFlushed; }
};

// A registered memory region; deregistered on destruction (before its endpoint is destroyed).
class MemoryRegion {
 public:
  virtual ~MemoryRegion() = default;
  virtual uint8_t* data() const = 0;
  virtual size_t size() const = 0;
  virtual uint32_t lkey() const = 0;
  virtual uint32_t access() const = 0;
  // An SGE over [offset, offset+length); the caller keeps it inside the region.
  Sge Slice(size_t offset, uint32_t length) const {
    return Sge{reinterpret_cast<uint64_t>(data()) + offset, length, lkey()};
  }
};

// A slot for exposing part of a MemoryRegion to the peer (a type-2 memory window, or the per-I/O
// registration of kRegisterPerIo). Unbound until Bind() completes; unbound again once invalidated,
// locally by Invalidate() or remotely by a SEND_WITH_INVALIDATE the endpoint has delivered.
class MemoryWindow {
 public:
  virtual ~MemoryWindow() = default;
  // The window as the peer must address it; meaningful only while bound().
  virtual RemoteWindow remote() const = 0;
  virtual bool bound() const = 0;
};

class Endpoint {
 public:
  enum class State : uint8_t { kResolved, kConnected, kDisconnected };

  virtual ~Endpoint() = default;

  virtual State state() const = 0;
  virtual const DeviceCaps& caps() const = 0;
  WindowMechanism window_mechanism() const { return caps().window_mechanism(); }

  // --- Control path -----------------------------------------------------------------------------
  // Active side: connects the resolved queue pair; a passive endpoint (from a listener) accepts
  // instead. Blocks at most params.timeout. Precondition: kResolved. After a failure the endpoint
  // is spent: destroy it and resolve again. Errors: kUnreachable (ECONNREFUSED: rejected or no
  // listener; EHOSTUNREACH: unreachable), kTimeout, kSystem, kInvalidArgument for a wrong state.
  virtual Status Connect(const ConnectParams& params) = 0;
  // Active side, after a successful Connect: the private data the accepting peer sent with its
  // reply (e.g. the iWARP IRD/ORD negotiate header, [MS-SMBD] 6.2); the CM may zero-pad it.
  virtual std::vector<uint8_t> accept_private_data() const { return {}; }
  // Starts an orderly disconnect: outstanding work requests complete as flushed, then an
  // Event::kDisconnected. Idempotent.
  virtual void Disconnect() = 0;

  // --- Memory
  // ------------------------------------------------------------------------------------- Registers
  // `memory` once (per connection) with `access` (Access bits). Errors: kSystem (ENOMEM, EINVAL),
  // kInvalidArgument for empty memory.
  virtual Result<std::unique_ptr<MemoryRegion>> Register(std::span<uint8_t> memory,
                                                         uint32_t access) = 0;
  // A window slot. With kMemoryWindow the region to bind on must carry kMwBind.
  virtual Result<std::unique_ptr<MemoryWindow>> AllocateWindow() = 0;
  // Exposes [offset, offset+length) of `region` to the peer with `remote_access` (kRemoteWrite
  // and/or kRemoteRead) under a fresh key: window.remote() is valid at once, usable by the peer
  // once the Event::kBind of wr_id succeeded (hardware orders the bind before later SENDs, so the
  // key may be sent right away). Errors: kInvalidArgument (bounds, already bound, no rights).
  virtual Status Bind(uint64_t wr_id, MemoryWindow& window, const MemoryRegion& region,
                      size_t offset, uint32_t length, uint32_t remote_access) = 0;
  // Revokes the window's key; Event::kInvalidate follows. Errors: kInvalidArgument when neither
  // bound nor being bound (so check bound() first: the peer may have invalidated it already).
  virtual Status Invalidate(uint64_t wr_id, MemoryWindow& window) = 0;

  // --- Data path
  // ---------------------------------------------------------------------------------- Posts a
  // receive into `sges` (registered with kLocalWrite). Errors: kDisconnected once disconnected,
  // kResourceExhausted when the receive queue is full, kSystem.
  virtual Status PostReceive(uint64_t wr_id, std::span<const Sge> sges) = 0;
  // Posts a SEND of the gathered `sges`; `inline_data` copies them into the work request (total at
  // most QueueOptions::max_inline_data); `invalidate_rkey` makes it a SEND_WITH_INVALIDATE of the
  // peer's key. Errors as PostReceive.
  virtual Status PostSend(uint64_t wr_id, std::span<const Sge> sges, bool inline_data = false,
                          std::optional<uint32_t> invalidate_rkey = std::nullopt) = 0;
  // RDMA WRITE of local `sges` to the peer's window / RDMA READ from it into `sges`, at to.addr
  // under to.rkey for the SGEs' total length (to.length is not consulted: the peer's device checks
  // the key's own bounds).
  virtual Status PostWrite(uint64_t wr_id, std::span<const Sge> sges, const RemoteWindow& to) = 0;
  virtual Status PostRead(uint64_t wr_id, std::span<const Sge> sges, const RemoteWindow& from) = 0;

  // --- Event loop
  // --------------------------------------------------------------------------------- Descriptors
  // to poll for reading: connection-manager events and completion-channel events (both
  // non-blocking; either may be the same descriptor, or -1 when an implementation has none).
  virtual int cm_fd() const = 0;
  virtual int cq_fd() const = 0;
  // Handles whatever is ready without blocking: connection events, and completion events (get the
  // event, re-arm notification, poll the queue until empty, acknowledge), queueing Events. Errors:
  // kSystem when the device itself failed (the endpoint is then disconnected).
  virtual Status Process() = 0;
  // The next queued event, in completion order.
  virtual std::optional<Event> NextEvent() = 0;
};

}  // namespace smb3::transport::rdma
