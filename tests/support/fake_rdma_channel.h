// SPDX-License-Identifier: LGPL-2.1-or-later
// A transport::RdmaChannel for the sim tier: its buffers are plain heap memory, and the test plays
// the server's RDMA engine on them (PeerWrite for the data of a READ, PeerRead for a WRITE), with
// the checks a device makes: the key must be live, the right must match the I/O, and the transfer
// must fit the descriptor and the window. Also carries a server-side parser of the channel fields
// of READ/WRITE requests and a builder of the READ response to an RDMA read.
//
// Each Acquire allocates exactly `length` bytes that are freed on Release, so a view used after
// its buffer was released, or a read past the descriptor, is caught by ASan. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "smb2/channel.h"
#include "smb3/status.h"
#include "support/scripted_server.h"
#include "transport/transport.h"

namespace smb3::test {

class FakeRdmaChannel final : public transport::RdmaChannel {
 public:
  // `count` buffers of at most `max_io` bytes; `remote_invalidate` presents the memory-window
  // mechanism (the server may invalidate keys), else per-I/O registration.
  FakeRdmaChannel(size_t max_io, size_t count, bool remote_invalidate = true);

  // transport::RdmaChannel
  size_t max_io_size() const override { return max_io_; }
  const char* mechanism() const override;
  // Waits up to `wait` for a Release when every buffer is in use.
  Result<transport::RdmaIoBuffer> Acquire(size_t length, bool server_writes,
                                          std::chrono::milliseconds wait) override;
  void Release(uint64_t handle) override;
  transport::RdmaChannelCounters counters() const override;

  // --- the server's side ----------------------------------------------------------------------
  // RDMA WRITE of `data` at the start of the window `d` names. kProtocol (nothing written) for an
  // unknown or dead key, a window the server may not write, or data beyond d.length or the window.
  Status PeerWrite(const smb2::BufferDescriptorV1& d, ByteView data);
  // RDMA READ of d.length bytes from the window; errors as PeerWrite.
  Result<std::vector<uint8_t>> PeerRead(const smb2::BufferDescriptorV1& d);
  // The key dies as by a SEND_WITH_INVALIDATE with the response (memory-window mode only).
  void PeerInvalidate(uint32_t token);
  // The connection is gone: Acquire fails with kDisconnected; held buffers stay valid.
  void Disconnect();

  size_t in_use() const;      // buffers acquired and not released
  uint64_t released() const;  // Release calls that returned a buffer
  uint64_t refused() const;   // PeerWrite/PeerRead calls refused

 private:
  struct Slot {
    uint64_t handle = 0;  // 0: free
    std::unique_ptr<uint8_t[]> memory;
    size_t length = 0;
    uint32_t token = 0;
    bool server_writes = false;
    bool key_live = false;
  };
  Slot* FindLive(uint32_t token);

  const size_t max_io_;
  const bool remote_invalidate_;
  mutable std::mutex mu_;
  std::condition_variable released_cv_;
  std::vector<Slot> slots_;
  uint64_t next_handle_ = 1;
  uint32_t next_token_ = 0x1000;
  bool disconnected_ = false;
  uint64_t released_ = 0;
  uint64_t refused_ = 0;
  transport::RdmaChannelCounters counters_;
};

// The channel fields of a READ ([MS-SMB2] 2.2.19) or WRITE (2.2.21) request, as a server reads
// them: Length, Channel, RemainingBytes and the decoded descriptor list. kProtocol when the
// request is too short or its channel info lies outside it.
struct RdmaRequestFields {
  uint32_t length = 0;
  uint32_t channel = 0;
  uint32_t remaining_bytes = 0;
  uint16_t data_offset = 0;  // WRITE only
  std::vector<smb2::BufferDescriptorV1> descriptors;
};
Result<RdmaRequestFields> ParseReadRequestChannel(const ClientRequest& request);
Result<RdmaRequestFields> ParseWriteRequestChannel(const ClientRequest& request);

// [MS-SMB2] 2.2.20 / 3.3.5.12: the READ response to an RDMA read: DataLength 0 (a zero Buffer
// byte) and DataRemaining `data_remaining`.
std::vector<uint8_t> RdmaReadResponse(const smb2::Header& request, uint32_t data_remaining,
                                      const ResponseOptions& options = {});

}  // namespace smb3::test
