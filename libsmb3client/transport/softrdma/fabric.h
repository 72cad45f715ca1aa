// SPDX-License-Identifier: LGPL-2.1-or-later
// An in-process RDMA device for tests: endpoints implementing rdma::Endpoint, connected through a
// Fabric that moves SEND/RECV, RDMA WRITE and RDMA READ between them and enforces what hardware
// enforces — local keys and access on every SGE, remote keys, bounds and access rights on every
// RDMA operation, type-2 window binding and invalidation (local and by SEND_WITH_INVALIDATE), and
// receiver-not-ready retries. A violation completes the work request with the error a device would
// report and moves the queue pair to error: its outstanding work requests complete as flushed. A
// remote-access violation moves both queue pairs to error, so the side whose memory was attacked
// sees its connection fail too.
//
// Determinism: nothing moves on its own. Work requests wait in their send queue until Step() (one
// round: every endpoint, in creation order, executes its send queue in order until one blocks) or
// RunUntilIdle(); with FabricOptions::progress == kOnPost every Post*/Bind/Invalidate runs the
// fabric until idle before returning. Control operations (Connect, Disconnect, faults) act at once.
//
// Not thread-safe: the fabric, its endpoints and everything they create belong to one thread.
// Endpoints must be destroyed before the last reference to their fabric goes away.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "smb3/status.h"
#include "transport/rdma/device.h"

namespace smb3::transport::softrdma {

class SoftEndpoint;

struct FabricOptions {
  enum class Progress : uint8_t { kManual, kOnPost };
  Progress progress = Progress::kManual;
  // What every endpoint's caps() reports; memory_windows_type2 selects the window mechanism.
  rdma::DeviceCaps caps = DefaultCaps();

  static rdma::DeviceCaps DefaultCaps();
};

// What moved and what was refused, for assertions.
struct FabricCounters {
  uint64_t steps = 0;
  uint64_t sends_delivered = 0;
  uint64_t rnr_naks = 0;  // a SEND found no receive (or an injected RNR)
  uint64_t rdma_write_bytes = 0;
  uint64_t rdma_read_bytes = 0;
  uint64_t remote_access_errors = 0;  // RDMA READ/WRITE refused by key, bounds or rights
  uint64_t windows_bound = 0;
  uint64_t windows_invalidated_local = 0;
  uint64_t windows_invalidated_remote = 0;
};

class Fabric {
 public:
  static std::shared_ptr<Fabric> Create(const FabricOptions& options = {});
  ~Fabric();
  Fabric(const Fabric&) = delete;
  Fabric& operator=(const Fabric&) = delete;

  // A passive endpoint reachable at (address, port), in kResolved: it registers memory and posts
  // receives, and becomes kConnected (with an Event::kConnected carrying the initiator's private
  // data) when an initiator connects. `accept` is its side of the connection parameters (its
  // rnr_retry_count governs its own SENDs). Errors: kInvalidArgument when something listens there.
  Result<std::unique_ptr<rdma::Endpoint>> Listen(const std::string& address, uint16_t port,
                                                 const rdma::QueueOptions& queues = {},
                                                 const rdma::ConnectParams& accept = {});
  // An active endpoint resolved towards (address, port), in kResolved. Errors: kUnreachable
  // (EHOSTUNREACH) when nothing listens on `address` at any port.
  Result<std::unique_ptr<rdma::Endpoint>> Resolve(const std::string& address, uint16_t port,
                                                  const rdma::QueueOptions& queues = {});

  // One round of progress; whether any work request completed or moved.
  bool Step();
  // Steps until a round changes nothing and no delayed work waits; returns the rounds run.
  size_t RunUntilIdle();

  // --- Fault injection (on endpoints of this fabric)
  // ---------------------------------------------- Moves `endpoint`'s queue pair to error now: its
  // outstanding work requests complete as flushed; the peer notices when its next operation toward
  // it fails (retries exceeded). As on RC hardware the error itself tells the peer nothing (no
  // DREQ, no event): an idle peer learns of it only by sending. The fabric has no clock, so the
  // retries a device spends first (retry_count x local ACK timeout, seconds) take no time here.
  void InjectQpError(rdma::Endpoint& endpoint);
  // Loses the connection under both sides: each flushes and gets Event::kDisconnected
  // (kDisconnected "softrdma: connection lost").
  void InjectConnectionLoss(rdma::Endpoint& endpoint);
  // The next `count` SENDs arriving at `endpoint` meet receiver-not-ready, receives posted or not.
  void InjectRnr(rdma::Endpoint& endpoint, uint32_t count);
  // `endpoint`'s send queue executes nothing for the next `steps` rounds.
  void InjectDelay(rdma::Endpoint& endpoint, uint32_t steps);
  // The next Connect towards `address`:`port` is rejected (kUnreachable, ECONNREFUSED).
  void InjectConnectReject(const std::string& address, uint16_t port);

  const FabricCounters& counters() const { return counters_; }
  const FabricOptions& options() const { return options_; }

 private:
  friend class SoftEndpoint;
  explicit Fabric(const FabricOptions& options) : options_(options) {}

  FabricOptions options_;
  FabricCounters counters_;
  std::vector<SoftEndpoint*> endpoints_;  // creation order
  std::vector<std::pair<std::string, uint16_t>> rejects_;
  uint32_t next_key_index_ = 1;
  bool running_ = false;
};

}  // namespace smb3::transport::softrdma
