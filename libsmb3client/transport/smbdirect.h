// SPDX-License-Identifier: LGPL-2.1-or-later
// SMB Direct ([MS-SMBD]) as a Transport: one smbd::Connection engine driven over one
// rdma::Endpoint (rdma-core verbs, or the in-process softrdma fabric in tests).
//
// ConnectSmbDirect connects and completes the MS-SMBD negotiation on the caller's thread, so a
// refused connection or a failed negotiation is an error of the call (the client then falls back
// to TCP under rdma=auto). Start() then runs the connection's own event loop thread: it polls the
// endpoint's connection-manager and completion descriptors, an eventfd for wakeups and a timeout
// from the engine's next deadline and the handler's 1 s tick.
//
// Memory: one registered slab of receive buffers (local write) and one of send buffers, both
// registered once per connection. Send() copies the caller's parts into the engine's send queue;
// the loop fragments them into the send buffers as credits and free buffers allow.
//
// Threading: the transport owns `endpoint_mu_` and holds it whenever it touches the endpoint or
// the engine; it never holds it while calling the handler. The RDMA data channel (RdmaChannel)
// shares the same mutex for its own work requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "smb3/status.h"
#include "smbd/connection.h"
#include "smbd/parameters.h"
#include "transport/rdma/device.h"
#include "transport/transport.h"

namespace smb3::transport {

struct SmbDirectOptions {
  // What we offer in the MS-SMBD negotiation (Windows defaults, [MS-SMBD] 7 <3>).
  smbd::Parameters smbd;
  // Queue pair sizes; the receive queue must hold smbd.receive_credit_max receives.
  rdma::QueueOptions queues;
  // Address and route resolution, rdma_cm connection and MS-SMBD negotiation each get this long.
  std::chrono::milliseconds connect_timeout{10000};
  // Registered send buffers of smbd.max_send_size bytes (SENDs in flight at once).
  uint32_t send_buffers = 64;
  // Send() blocks (except on the transport's own thread) while this many bytes wait in the
  // engine's send queue: the back pressure a TCP socket's send buffer gives.
  size_t max_queued_bytes = 16u << 20;
  // The RDMA data channel for READ/WRITE payloads: rdma_buffer_count x rdma_buffer_size bytes of
  // memory registered once per connection, cut into buffers of min(rdma_buffer_size, negotiated
  // MaxReadWriteSize) bytes (whole pages), one per READ/WRITE in flight; with the defaults and any
  // server granting at least 1 MiB, 32 buffers of 1 MiB (the largest FUSE request). The client
  // sizes its RDMA READ/WRITEs to the buffers, not to the largest message, and waits for a free
  // buffer rather than sending such an I/O inline. 0 buffers: no channel.
  size_t rdma_buffer_size = 1u << 20;
  size_t rdma_buffer_count = 32;
  // rdma-core only: never use type-2 memory windows (see rdma::ResolveOptions).
  bool use_memory_windows = true;
};

// Counters of one SMB Direct transport (the engine's, plus what the transport adds).
struct SmbDirectCounters {
  smbd::Counters smbd;
  uint64_t send_buffer_stalls = 0;  // NextSend stopped for want of a free send buffer
  uint64_t send_waits = 0;          // Send() blocked on max_queued_bytes
};

// The port MS-SMBD uses on a device: 5445 for iWARP when the caller asked for SMB's 445
// ([MS-SMBD] 2.1), else `port` unchanged.
uint16_t SmbDirectPort(const rdma::DeviceCaps& caps, uint16_t port);

// [MS-SMBD] 6.1: the IRD/ORD negotiate header an iWARP connecting peer puts first in its private
// data, for providers that do not negotiate IRD/ORD themselves (no RFC 6581): IRD (the RDMA READs
// it accepts at once) then ORD (those it issues), 32-bit big-endian each, as Windows and Linux
// peers encode them.
struct IrdOrd {
  uint32_t ird = 0;
  uint32_t ord = 0;
};
std::vector<uint8_t> EncodeIrdOrdHeader(IrdOrd ours);
// [MS-SMBD] 6.2: the accepting peer's answer in its reply's private data. No header (any length
// but 8: its provider negotiated, or it ignored ours): nullopt. A header must carry non-zero
// depths no larger than the ones we sent (it answers min(ours, its own)); otherwise
// kProtocol, and the connection is not used.
Result<std::optional<IrdOrd>> CheckIrdOrdReply(std::span<const uint8_t> reply, IrdOrd ours);

// Resolves `host` over rdma-core, connects to `port` (445 for InfiniBand and RoCE; 5445 for
// iWARP, see SmbDirectPort), negotiates MS-SMBD and returns the transport, not yet started.
// Errors: kNotSupported (no RDMA device, no route through one, or a build without rdma-core;
// the message says which), kUnreachable (ECONNREFUSED: nothing listens for SMB Direct there),
// kTimeout, kInvalidArgument (the name does not resolve), kNtStatus (the server refused the
// negotiation), kProtocol (a malformed negotiate response), kSystem.
Result<std::unique_ptr<Transport>> ConnectSmbDirect(const std::string& host, uint16_t port,
                                                    const SmbDirectOptions& options,
                                                    std::shared_ptr<BufferPool> pool);

// The same over an endpoint already resolved (kResolved; e.g. from softrdma::Fabric::Resolve).
// `peer` names the server in logs and peer(). Errors as above, minus resolution.
Result<std::unique_ptr<Transport>> ConnectSmbDirect(std::unique_ptr<rdma::Endpoint> endpoint,
                                                    const std::string& peer,
                                                    const SmbDirectOptions& options,
                                                    std::shared_ptr<BufferPool> pool);

// A snapshot of the counters (thread-safe); nothing for another kind of transport.
std::optional<SmbDirectCounters> SmbDirectSnapshot(Transport& transport);

}  // namespace smb3::transport
