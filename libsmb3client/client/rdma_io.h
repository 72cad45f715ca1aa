// SPDX-License-Identifier: LGPL-2.1-or-later
// The RDMA data path of SMB2 READ and WRITE over SMB Direct ([MS-SMB2] 3.2.4.6, 3.2.4.7, 3.2.5.11,
// 3.2.5.12; [MS-SMBD] 3.1.4.3, 3.1.4.4): when the transport offers an RdmaChannel and neither
// signing nor encryption is in force, the data of a READ or WRITE above kRdmaThreshold bytes moves
// by RDMA issued by the server — RDMA WRITE into a registered buffer for our READ, RDMA READ from
// it for our WRITE — and the request carries one SMB_DIRECT_BUFFER_DESCRIPTOR_V1 instead of data.
// Everything else goes inline, as on TCP.
//
// Thread-safety: RdmaDataPath is safe from any thread. An RdmaTransfer belongs to one request; its
// destructor (on whatever thread drops the last reference) releases the buffer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/byte_io.h"
#include "client/connection.h"
#include "smb2/read.h"
#include "smb2/write.h"
#include "smb3/status.h"
#include "smb3/types.h"
#include "transport/transport.h"

namespace smb3::client {

// [MS-SMB2] 3.2.4.6 <156>, 3.2.4.7 <159>: the implementation-specific threshold. A READ or WRITE
// of at most this many bytes goes inline (Windows uses 4096 as well).
inline constexpr size_t kRdmaThreshold = 4096;

// How long a READ/WRITE waits for a registered buffer when every one is in flight. Buffers come
// back as responses arrive, so a wait this long means the server stopped answering; the I/O then
// goes inline if it fits a message, else fails (kResourceExhausted).
inline constexpr std::chrono::milliseconds kRdmaBufferWait{10000};

class RdmaDataPath;

// The registered buffer of one READ or WRITE in flight. Destroying it releases the buffer: the
// channel revokes the key unless the server already invalidated it, and reuses the memory only
// after that. Keep it alive until the response arrived or the request failed.
class RdmaTransfer {
 public:
  // `copied` (may be null) counts the file data our code copies into or out of the buffer.
  RdmaTransfer(std::shared_ptr<transport::RdmaChannel> channel, transport::RdmaIoBuffer buffer,
               std::atomic<uint64_t>* copied = nullptr);
  // A transfer that could not get a buffer and whose I/O cannot go inline either: EncodeReadFor
  // and EncodeWriteFor fail with `why`.
  explicit RdmaTransfer(Status why);
  ~RdmaTransfer();
  RdmaTransfer(const RdmaTransfer&) = delete;
  RdmaTransfer& operator=(const RdmaTransfer&) = delete;

  // The registered bytes: exactly the I/O's length.
  std::span<uint8_t> memory() const { return buffer_.memory; }
  uint32_t length() const { return buffer_.remote_length; }
  // Ok, or why this I/O has neither a buffer nor the inline path.
  const Status& status() const { return failed_; }
  // Our code copied `bytes` of file data into or out of memory().
  void CountCopy(uint64_t bytes) const;
  // SMB2_CHANNEL_RDMA_V1_INVALIDATE when the server is asked to invalidate the key with its
  // response, else SMB2_CHANNEL_RDMA_V1.
  uint32_t channel() const;

  // Fills Channel, RemainingBytes and the channel info ([MS-SMB2] 3.2.4.6) of a READ of length()
  // bytes. The channel info views memory of this object: encode before destroying it.
  void Describe(smb2::ReadRequest& rr) const;
  // Fills Channel, Length 0, RemainingBytes and the channel info of a WRITE of length() bytes
  // ([MS-SMB2] 3.2.4.7); the data must be in memory() before the request is sent.
  void Describe(smb2::WriteRequest& wr) const;

  // [MS-SMB2] 3.2.5.11: checks a successful READ response to a request made with Describe() and
  // returns the data the server placed in memory() (DataRemaining bytes from its start). Errors
  // (kProtocol): the response does not decode, carries data inline or an RDMA transform we never
  // negotiated, or claims more than the descriptor offered.
  Result<ByteView> ReadData(ByteView response) const;

 private:
  std::shared_ptr<transport::RdmaChannel> channel_;  // null for a failed transfer
  transport::RdmaIoBuffer buffer_;
  std::vector<uint8_t> descriptor_;  // the encoded SMB_DIRECT_BUFFER_DESCRIPTOR_V1
  std::atomic<uint64_t>* copied_ = nullptr;
  Status failed_;
};

// The bytes of a READ and what keeps them alive (a ReadView piece).
struct RdmaReadPiece {
  std::shared_ptr<const void> owner;
  ByteView data;
};

// [MS-SMB2] 3.2.5.11 for the view form of READ: the data of a successful response, validated.
// When the server was asked to invalidate the key (SMB2_CHANNEL_RDMA_V1_INVALIDATE) the view is
// of the registered memory itself and `transfer` becomes its owner (zero copy; the buffer returns
// to the pool when the caller drops the view). Otherwise the key is still live until released, so
// — as 3.2.5.11 deregisters before returning to the application — the data is copied out and the
// buffer released at once.
Result<RdmaReadPiece> TakeRdmaReadData(std::shared_ptr<RdmaTransfer> transfer, ByteView response);

// Encodes READ `rr` into `r` ([MS-SMB2] 3.2.4.6): inline when `transfer` is null, else with its
// descriptor (rr.length must equal transfer->length()). Sets r.credit_bytes to the data length:
// the CreditCharge covers the data however it moves. A failed transfer's status is returned.
Status EncodeReadFor(Request& r, smb2::ReadRequest rr, const RdmaTransfer* transfer);
// Encodes WRITE `wr` of `data` into `r` ([MS-SMB2] 3.2.4.7): inline when `transfer` is null
// (r.payload = data, sent without a copy where possible), else the data is copied into the
// registered buffer — unless `data` already is that memory — and only the descriptor is sent
// (the copy is counted in the path's bytes_copied_rdma). A failed transfer's status is returned.
Status EncodeWriteFor(Request& r, smb2::WriteRequest wr, ByteView data,
                      const RdmaTransfer* transfer);

// The data of a successful READ response to a request of `length` bytes ([MS-SMB2] 3.2.5.11):
// views into the message (owner: the response's) when inline, else TakeRdmaReadData; RDMA bytes
// are counted into `path`. Errors (kProtocol): a malformed response, more data than asked.
Result<RdmaReadPiece> ReadResponseData(const Response& response, size_t length,
                                       std::shared_ptr<RdmaTransfer> transfer, RdmaDataPath& path);
// The Count of a successful WRITE response to a request of `length` bytes ([MS-SMB2] 3.2.5.12);
// RDMA bytes are counted into `path`. The caller drops `transfer` afterwards. Errors (kProtocol):
// a malformed response, a count above `length`.
Result<uint32_t> WriteResponseCount(const Response& response, size_t length,
                                    const RdmaTransfer* transfer, RdmaDataPath& path);

// One client's RDMA data path: the per-I/O decision, the byte counters and a once-only log line.
class RdmaDataPath {
 public:
  // The current connection's limits on one READ/WRITE payload: `inline_limit` when the data is in
  // the message (0: none, as on TCP), `rdma_limit` when it moves by RDMA (the channel's
  // max_io_size(); 0: no channel). Set for every new transport, before its first I/O.
  void SetLimits(uint32_t inline_limit, uint32_t rdma_limit);
  // rsize/wsize for the current connection (0: no limit of the transport's): the RDMA limit when
  // the data moves by RDMA (a channel, neither signing nor encryption), else the inline limit.
  uint32_t IoLimit(bool signing, bool encryption) const;

  // A transfer for a READ (`server_writes`) or WRITE of `length` bytes on `transport`, or nullptr
  // when the data goes inline: no channel (TCP), signing or encryption in force, `length` at most
  // kRdmaThreshold or above the channel's max_io_size(). A WRITE whose `source` (its data,
  // `length` bytes) lies wholly inside a lent region is exposed where it is
  // (RdmaChannel::ExposeCallerMemory: nothing to copy); when the channel cannot, or for any other
  // WRITE, a buffer of the pool is used. With every buffer in flight it waits up to `wait` for one;
  // then, or on any other failure to acquire one, the data goes inline if it fits a message
  // (inline limit), else the transfer returned is a failed one (status()).
  std::shared_ptr<RdmaTransfer> Begin(transport::Transport& transport, size_t length,
                                      bool server_writes, bool signing, bool encryption,
                                      std::chrono::milliseconds wait = kRdmaBufferWait,
                                      ByteView source = {});
  // Memory lent by the client's user (Client::RegisterIoMemory). Errors: kInvalidArgument (empty,
  // or overlapping a lent region). RemoveRegion forgets it here and on `channel` (may be null).
  Status AddRegion(std::span<uint8_t> memory);
  void RemoveRegion(std::span<uint8_t> memory, transport::RdmaChannel* channel);
  // WRITEs whose data the server read from lent memory (no copy).
  uint64_t writes_from_caller_memory() const {
    return writes_caller_.load(std::memory_order_relaxed);
  }
  // Data moved by the server: `bytes` RDMA-written into our buffers (a READ) or RDMA-read from
  // them (a WRITE).
  void CountRdma(bool server_writes, uint64_t bytes);

  // Fills the RDMA fields of `s` (bytes_rdma_*, rdma_*) and bytes_inline, from this path's counters
  // and the channel of `transport` (may be null). s.bytes_read and s.bytes_written must already
  // hold all file data moved, inline or not.
  void FillStats(transport::Transport* transport, bool signing, bool encryption,
                 ClientStats& s) const;

  // "rdma", "inline: signing required", "inline: encryption required" or "tcp".
  static const char* Reason(bool has_channel, bool signing, bool encryption);

 private:
  std::atomic<uint64_t> bytes_rdma_write_{0};  // our READs
  std::atomic<uint64_t> bytes_rdma_read_{0};   // our WRITEs
  std::atomic<uint64_t> reads_rdma_{0};
  std::atomic<uint64_t> writes_rdma_{0};
  std::atomic<uint64_t> inline_no_buffer_{0};  // went inline or failed: Acquire failed
  std::atomic<uint64_t> copied_{0};            // file data copied into/out of registered buffers
  std::atomic<uint32_t> inline_limit_{0};
  std::atomic<uint32_t> rdma_limit_{0};
  std::atomic<bool> noted_inline_{false};
  std::atomic<uint64_t> writes_caller_{0};
  std::atomic<bool> noted_caller_failure_{false};
  mutable std::mutex regions_mu_;
  std::vector<std::span<uint8_t>> regions_;  // guarded by regions_mu_
};

}  // namespace smb3::client
