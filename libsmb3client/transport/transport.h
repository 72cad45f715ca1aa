// SPDX-License-Identifier: LGPL-2.1-or-later
// The transport seam: moves whole SMB2 messages (plain, compound, or transform-wrapped) between
// client and server. TCP adds the 4-byte Direct TCP header ([MS-SMB2] 2.1); SMB Direct fragments
// into MS-SMBD data transfer messages. Nothing above this interface knows about framing.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "base/buffer.h"
#include "base/byte_io.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::transport {

// Receives events on the transport's own thread (its event loop). Must not block.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // One complete message from the server, as framed by the transport.
  virtual void OnMessage(Buffer message) = 0;
  // The connection is gone (peer closed, error, or Close()); called exactly once, last.
  virtual void OnClosed(Status why) = 0;
  // Called about once a second, for keepalives and request timeouts.
  virtual void OnTick(std::chrono::steady_clock::time_point now) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Starts delivering to `handler` from the transport's thread. Called once.
  virtual Status Start(TransportHandler* handler) = 0;
  // Sends one message made of `parts` (gathered, not copied where avoidable). Thread-safe; messages
  // from concurrent callers never interleave. Fails with kDisconnected after the connection closed.
  virtual Status Send(std::span<const ByteView> parts) = 0;
  // Closes the connection; OnClosed follows on the transport thread. Idempotent; may be called from
  // the transport thread itself. Blocks until the thread has stopped unless called from it.
  virtual void Close() = 0;

  virtual TransportKind kind() const = 0;
  // Largest message Send accepts.
  virtual size_t max_message_size() const = 0;
  virtual std::string peer() const = 0;
};

struct TcpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  int socket_buffer_bytes = 4 << 20;
};

// Resolves `host` and connects; kUnreachable with errno (ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT...)
// or kInvalidArgument when the name does not resolve.
Result<std::unique_ptr<Transport>> ConnectTcp(const std::string& host, uint16_t port,
                                              const TcpOptions& options,
                                              std::shared_ptr<BufferPool> pool);

}  // namespace smb3::transport
