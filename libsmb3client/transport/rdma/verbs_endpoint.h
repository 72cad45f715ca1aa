// SPDX-License-Identifier: LGPL-2.1-or-later
// rdma::Endpoint over rdma-core (librdmacm for the connection, libibverbs for the queue pair).
//
// Set up after daemonizing: verbs are not fork-safe. With no RDMA device every entry point fails
// with kNotSupported and kNoRdmaDevice as its message, before touching anything else.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "smb3/status.h"
#include "transport/rdma/device.h"

namespace smb3::transport::rdma {

inline constexpr const char kNoRdmaDevice[] =
    "no RDMA device found (rdma link show lists none); SMB Direct needs an RDMA NIC or rdma_rxe";

// Ok when libibverbs lists at least one device; else kNotSupported (kNoRdmaDevice).
Status CheckDevicePresent();

// Capabilities of every device present. Errors: kNotSupported (kNoRdmaDevice), kSystem.
Result<std::vector<DeviceCaps>> ListDevices();

struct ResolveOptions {
  QueueOptions queues;
  std::chrono::milliseconds timeout{5000};  // for address and route resolution together
  // false: never use memory windows, even where the device has them (kRegisterPerIo; caps() then
  // reports memory_windows_type2 false). For devices with broken windows, and for testing.
  bool use_memory_windows = true;
};

// Resolves `address` (numeric or a name) and the route to it, then creates the protection domain,
// completion channel, completion queue and RC queue pair on the device the route leaves by: an
// endpoint in kResolved, ready for Register/PostReceive/Connect. Errors: kNotSupported
// (kNoRdmaDevice, or the route leaves by a netdev no RDMA device serves), kInvalidArgument (the
// name does not resolve), kUnreachable (EHOSTUNREACH/ENETUNREACH), kTimeout, kSystem.
Result<std::unique_ptr<Endpoint>> Resolve(const std::string& address, uint16_t port,
                                          const ResolveOptions& options = {});

// The passive side, for tests and the lab (an SMB client needs none): listens on a local address.
class Listener {
 public:
  virtual ~Listener() = default;
  // Waits for a connection request and returns its endpoint in kResolved, queue pair created:
  // Register and PostReceive, then Connect() accepts it (responder resources and initiator depth
  // from the ConnectParams, clamped to the device), after which it emits Event::kConnected with the
  // initiator's private data. Errors: kTimeout, kSystem.
  virtual Result<std::unique_ptr<Endpoint>> WaitRequest(std::chrono::milliseconds timeout) = 0;
};

// Binds (address, port) and listens. Errors: kNotSupported (kNoRdmaDevice), kInvalidArgument (the
// address does not resolve), kSystem (e.g. EADDRINUSE).
Result<std::unique_ptr<Listener>> Listen(const std::string& address, uint16_t port,
                                         const QueueOptions& queues = {});

}  // namespace smb3::transport::rdma
