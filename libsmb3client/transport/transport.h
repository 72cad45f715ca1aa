// SPDX-License-Identifier: LGPL-2.1-or-later
// The transport seam: moves whole SMB2 messages (plain, compound, or transform-wrapped) between
// client and server. TCP adds the 4-byte Direct TCP header ([MS-SMB2] 2.1); SMB Direct fragments
// into MS-SMBD data transfer messages. Nothing above this interface knows about framing.
#pragma once

#include <chrono>
#include <cstdint>
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

// Memory of one SMB2 READ or WRITE that the server reaches by RDMA ([MS-SMB2] 3.2.4.6, 3.2.4.7;
// [MS-SMBD] 3.1.4.3): a registered, page-aligned buffer exposed to the server for this I/O only.
struct RdmaIoBuffer {
  uint64_t handle = 0;         // for RdmaChannel::Release
  std::span<uint8_t> memory;   // the registered bytes; exactly the length asked for
  // SMB_DIRECT_BUFFER_DESCRIPTOR_V1 ([MS-SMBD] 2.2.3.1) to put in the request's channel info.
  uint64_t remote_offset = 0;
  uint32_t remote_token = 0;
  uint32_t remote_length = 0;
  // The key may be invalidated by the server with its response: request with
  // SMB2_CHANNEL_RDMA_V1_INVALIDATE. false: SMB2_CHANNEL_RDMA_V1 (we revoke it ourselves).
  bool remote_invalidate = false;
};

// Counters of an RdmaChannel; monotonic over the connection's life.
struct RdmaChannelCounters {
  uint64_t buffers_acquired = 0;
  uint64_t acquire_waits = 0;      // Acquire found every buffer in use and waited for one
  uint64_t acquire_wait_us = 0;    // time spent in those waits, microseconds
  uint64_t acquire_exhausted = 0;  // Acquire found no free buffer within its wait
  uint64_t windows_bound = 0;
  uint64_t windows_invalidated_remote = 0;  // by the server's SEND_WITH_INVALIDATE
  uint64_t windows_invalidated_local = 0;   // by us before reuse
  uint64_t bind_failures = 0;
};

// Server-initiated RDMA for READ/WRITE data, offered by an SMB Direct transport.
//
// Thread-safety: Acquire and Release may be called from any thread. A buffer's memory stays valid
// (mapped) while its handle is held, even after the transport closed; once the connection is gone
// Acquire fails with kDisconnected and Release only returns the memory.
class RdmaChannel {
 public:
  virtual ~RdmaChannel() = default;
  // Largest I/O one buffer carries: min(the pool's buffer size, negotiated MaxReadWriteSize).
  virtual size_t max_io_size() const = 0;
  // "memory window" (type-2 window per I/O, remote invalidation) or "register per I/O".
  virtual const char* mechanism() const = 0;
  // A buffer of `length` bytes (1..max_io_size()) exposed to the server for writing into it
  // (`server_writes`: the data of our READ) or reading from it (the data of our WRITE). When every
  // buffer is in use it waits up to `wait` for one to come back (counted in acquire_waits) —
  // except on the transport's own thread, which is the one that frees them. Errors:
  // kResourceExhausted when no buffer came free in time, kDisconnected, kInvalidArgument (length 0
  // or above max_io_size()).
  virtual Result<RdmaIoBuffer> Acquire(size_t length, bool server_writes,
                                       std::chrono::milliseconds wait) = 0;
  // The I/O is over (its response arrived, or it failed). The key is revoked unless the server
  // already invalidated it, and the buffer is reused only after that. Unknown handles are ignored.
  virtual void Release(uint64_t handle) = 0;
  virtual RdmaChannelCounters counters() const = 0;

  // Caller memory as the source of a WRITE's data, so that it is not copied into a buffer of the
  // pool: `region` is memory the client's user registered for I/O (it stays mapped until
  // forgotten) and `memory` (1..max_io_size() bytes) lies wholly inside it. The channel registers
  // `region` the first time it is named on this connection, then exposes exactly `memory` to the
  // server for reading, for this I/O only, under a key the server invalidates with its response
  // (remote_invalidate is true): once the response is in, nothing of the caller's memory is
  // reachable. Release the handle as for Acquire; memory is `memory` itself. Waits for a free
  // window as Acquire does. Errors: kNotSupported (no such exposure here, or the region's
  // registration failed on this connection), kInvalidArgument (`memory` empty, too long or not
  // inside `region`), kResourceExhausted, kDisconnected.
  virtual Result<RdmaIoBuffer> ExposeCallerMemory(std::span<uint8_t> region,
                                                  std::span<const uint8_t> memory,
                                                  std::chrono::milliseconds wait) {
    (void)region, (void)memory, (void)wait;
    return Status(Code::kNotSupported, 0, "rdma: no caller memory on this channel");
  }
  // The region is no longer the caller's to lend (no I/O from it is in flight): it is
  // deregistered once no key bound on it lives.
  virtual void ForgetCallerMemory(std::span<uint8_t> region) { (void)region; }
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
  // Server-initiated RDMA for file data; nullptr on TCP or when the device offers none.
  virtual std::shared_ptr<RdmaChannel> rdma_channel() { return nullptr; }
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
