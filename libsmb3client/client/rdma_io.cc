// SPDX-License-Identifier: LGPL-2.1-or-later
#include "client/rdma_io.h"

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "client/client_impl.h"
#include "smb2/channel.h"

namespace smb3::client {

RdmaTransfer::RdmaTransfer(std::shared_ptr<transport::RdmaChannel> channel,
                           transport::RdmaIoBuffer buffer, std::atomic<uint64_t>* copied)
    : channel_(std::move(channel)), buffer_(buffer), copied_(copied) {
  // [MS-SMBD] 2.2.3.1: one descriptor covers the whole registered range of this I/O.
  const smb2::BufferDescriptorV1 d{buffer_.remote_offset, buffer_.remote_token,
                                   buffer_.remote_length};
  descriptor_ = smb2::EncodeBufferDescriptorsV1({&d, 1});
}

// [MS-SMB2] 3.2.5.11 / 3.2.5.12: the buffer is deregistered ([MS-SMBD] 3.1.4.4) once the response
// is in, or the request failed; the channel revokes the key before the memory is used again.
RdmaTransfer::~RdmaTransfer() {
  if (channel_) channel_->Release(buffer_.handle);
}

RdmaTransfer::RdmaTransfer(Status why) : failed_(why) {}

void RdmaTransfer::CountCopy(uint64_t bytes) const {
  if (copied_) copied_->fetch_add(bytes, std::memory_order_relaxed);
}

uint32_t RdmaTransfer::channel() const {
  // [MS-SMB2] 3.2.4.6 / 3.2.4.7: SMB2_CHANNEL_RDMA_V1_INVALIDATE when we process received remote
  // invalidation ([MS-SMBD] 3.1.5.8) for this key; otherwise SMB2_CHANNEL_RDMA_V1.
  return buffer_.remote_invalidate ? smb2::SMB2_CHANNEL_RDMA_V1_INVALIDATE
                                   : smb2::SMB2_CHANNEL_RDMA_V1;
}

void RdmaTransfer::Describe(smb2::ReadRequest& rr) const {
  // [MS-SMB2] 3.2.4.6: Length is what the application asked for; the descriptor list goes into
  // the Buffer at ReadChannelInfoOffset; [MS-SMB2] 2.2.19: RemainingBytes is the length of the
  // data to be read.
  rr.length = length();
  rr.channel = channel();
  rr.remaining_bytes = length();
  rr.channel_info = descriptor_;
}

void RdmaTransfer::Describe(smb2::WriteRequest& wr) const {
  // [MS-SMB2] 3.2.4.7: Length and DataOffset 0, RemainingBytes the number of bytes being written,
  // the descriptor list at WriteChannelInfoOffset.
  wr.length = 0;
  wr.channel = channel();
  wr.remaining_bytes = length();
  wr.channel_info = descriptor_;
}

Result<ByteView> RdmaTransfer::ReadData(ByteView response) const {
  SMB3_ASSIGN_OR_RETURN(smb2::ReadResponse r, smb2::DecodeReadResponse(response));
  // [MS-SMB2] 3.2.5.11: an RDMA transform we did not negotiate is an invalid network response.
  if (r.flags & smb2::SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM) {
    return Status::Protocol("read: RDMA transform in the response was never negotiated");
  }
  // [MS-SMB2] 3.3.5.12: without a transform the server sets DataLength to zero and sends the data
  // through the channel; bytes inline would be a second, conflicting copy of the data.
  if (r.data_length != 0) {
    return Status::Protocol("read: data inline in the response to an RDMA read");
  }
  // [MS-SMB2] 3.3.5.12: DataRemaining is at most the request's Length, which is the descriptor's
  // length; more would claim bytes outside the buffer the server was given.
  if (r.data_remaining > length()) {
    return Status::Protocol("read: DataRemaining exceeds the RDMA buffer descriptor");
  }
  // [MS-SMB2] 3.2.5.11: return DataRemaining and the data to the application.
  return ByteView(buffer_.memory.data(), r.data_remaining);
}

Result<RdmaReadPiece> TakeRdmaReadData(std::shared_ptr<RdmaTransfer> transfer, ByteView response) {
  SMB3_ASSIGN_OR_RETURN(ByteView data, transfer->ReadData(response));
  if (transfer->channel() == smb2::SMB2_CHANNEL_RDMA_V1_INVALIDATE) {
    return RdmaReadPiece{std::move(transfer), data};
  }
  auto copy = std::make_shared<std::vector<uint8_t>>(data.begin(), data.end());
  transfer->CountCopy(data.size());
  transfer.reset();  // releases: the key is revoked now, before the application sees the data
  ByteView view(copy->data(), copy->size());
  return RdmaReadPiece{std::move(copy), view};
}

Status EncodeReadFor(Request& r, smb2::ReadRequest rr, const RdmaTransfer* transfer) {
  if (transfer) {
    SMB3_RETURN_IF_ERROR(transfer->status());
    if (rr.length != transfer->length())
      return Status::Invalid("read: length differs from RDMA buffer");
    transfer->Describe(rr);
  }
  // [MS-SMB2] 3.2.4.6: CreditCharge = 1 + (Length - 1) / 65536, for the bytes the server returns
  // (inline or placed by RDMA alike).
  r.credit_bytes = rr.length;
  ByteWriter w(r.message);
  return smb2::EncodeReadRequest(rr, w);
}

Status EncodeWriteFor(Request& r, smb2::WriteRequest wr, ByteView data,
                      const RdmaTransfer* transfer) {
  if (data.size() > UINT32_MAX) return Status::Invalid("write: too long");
  // [MS-SMB2] 3.2.4.7 / 3.1.5.2: the charge is for the data being written, also when Length is 0
  // because the data moves by RDMA.
  r.credit_bytes = static_cast<uint32_t>(data.size());
  if (transfer) {
    SMB3_RETURN_IF_ERROR(transfer->status());
    if (data.size() != transfer->length()) {
      return Status::Invalid("write: length differs from RDMA buffer");
    }
    std::span<uint8_t> memory = transfer->memory();
    if (data.data() != memory.data() && !data.empty()) {
      std::memcpy(memory.data(), data.data(), data.size());
      transfer->CountCopy(data.size());
    }
    transfer->Describe(wr);
    r.payload = {};
  } else {
    wr.length = static_cast<uint32_t>(data.size());
    r.payload = data;  // sent as its own iovec: no copy on plain connections
  }
  ByteWriter w(r.message);
  return smb2::EncodeWriteRequest(wr, w);
}

Result<RdmaReadPiece> ReadResponseData(const Response& response, size_t length,
                                       std::shared_ptr<RdmaTransfer> transfer, RdmaDataPath& path) {
  if (transfer) {
    SMB3_ASSIGN_OR_RETURN(RdmaReadPiece piece,
                          TakeRdmaReadData(std::move(transfer), response.message));
    path.CountRdma(/*server_writes=*/true, piece.data.size());
    return piece;
  }
  SMB3_ASSIGN_OR_RETURN(smb2::ReadResponse r, smb2::DecodeReadResponse(response.message));
  if (r.data.size() > length) return Status::Protocol("read: server returned more data than asked");
  return RdmaReadPiece{response.owner, r.data};
}

Result<uint32_t> WriteResponseCount(const Response& response, size_t length,
                                    const RdmaTransfer* transfer, RdmaDataPath& path) {
  SMB3_ASSIGN_OR_RETURN(smb2::WriteResponse r, smb2::DecodeWriteResponse(response.message));
  if (r.count > length) return Status::Protocol("write: count exceeds length");
  if (transfer) path.CountRdma(/*server_writes=*/false, r.count);
  return r.count;
}

const char* RdmaDataPath::Reason(bool has_channel, bool signing, bool encryption) {
  if (!has_channel) return "tcp";
  // [MS-SMB2] 3.2.4.6 / 3.2.4.7: the RDMA channel only when Session.SigningRequired and
  // Session.EncryptData are both FALSE (we negotiate no RDMA transform, 2.2.3.1.6).
  if (encryption) return "inline: encryption required";
  if (signing) return "inline: signing required";
  return "rdma";
}

void RdmaDataPath::SetLimits(uint32_t inline_limit, uint32_t rdma_limit) {
  inline_limit_.store(inline_limit, std::memory_order_relaxed);
  rdma_limit_.store(rdma_limit, std::memory_order_relaxed);
}

uint32_t RdmaDataPath::IoLimit(bool signing, bool encryption) const {
  const uint32_t inline_limit = inline_limit_.load(std::memory_order_relaxed);
  const uint32_t rdma_limit = rdma_limit_.load(std::memory_order_relaxed);
  // [MS-SMB2] 3.2.4.6 / 3.2.4.7: signed or sealed traffic carries its data inline, in one
  // message; otherwise one RDMA buffer (min(MaxReadWriteSize, buffer size), [MS-SMBD] 3.1.4.3)
  // bounds a READ/WRITE, and an I/O at most kRdmaThreshold goes inline anyway.
  if (rdma_limit == 0 || signing || encryption) return inline_limit;
  if (inline_limit == 0) return rdma_limit;
  return std::max(inline_limit, rdma_limit);
}

std::shared_ptr<RdmaTransfer> RdmaDataPath::Begin(transport::Transport& transport, size_t length,
                                                  bool server_writes, bool signing,
                                                  bool encryption, std::chrono::milliseconds wait,
                                                  ByteView source) {
  std::shared_ptr<transport::RdmaChannel> channel = transport.rdma_channel();
  if (!channel) return nullptr;
  if (signing || encryption) {
    // [MS-SMB2] 3.2.4.6 / 3.2.4.7: signed or sealed traffic never uses the RDMA channel.
    if (!noted_inline_.exchange(true)) {
      SMB3_LOG_INFO("SMB Direct: file data goes inline, not by RDMA: %s ([MS-SMB2] 3.2.4.6)",
                    encryption ? "encryption required" : "signing required");
    }
    return nullptr;
  }
  if (length <= kRdmaThreshold || length > channel->max_io_size()) return nullptr;
  if (!server_writes && source.size() == length) {
    std::span<uint8_t> region;
    {
      std::lock_guard lock(regions_mu_);
      for (std::span<uint8_t> r : regions_) {
        if (source.data() >= r.data() && source.data() + source.size() <= r.data() + r.size()) {
          region = r;
        }
      }
    }
    if (!region.empty()) {
      // [MS-SMB2] 3.2.4.7: the server RDMA-READs the data from where the caller has it.
      Result<transport::RdmaIoBuffer> lent = channel->ExposeCallerMemory(region, source, wait);
      if (lent.ok()) {
        writes_rdma_.fetch_add(1, std::memory_order_relaxed);
        writes_caller_.fetch_add(1, std::memory_order_relaxed);
        return std::make_shared<RdmaTransfer>(std::move(channel), *lent, &copied_);
      }
      if (!noted_caller_failure_.exchange(true)) {
        SMB3_LOG_INFO("SMB Direct: WRITE data copied into registered buffers, not sent from "
                      "where it is: %s", lent.status().ToString().c_str());
      }
    }
  }
  Result<transport::RdmaIoBuffer> buffer = channel->Acquire(length, server_writes, wait);
  if (!buffer.ok()) {
    // No buffer came free within `wait` (or the connection is going).
    if (buffer.status().Is(Code::kResourceExhausted)) {
      inline_no_buffer_.fetch_add(1, std::memory_order_relaxed);
    }
    const uint32_t inline_limit = inline_limit_.load(std::memory_order_relaxed);
    if (inline_limit != 0 && length > inline_limit) {
      SMB3_LOG_WARN("SMB Direct: no RDMA buffer for a %zu-byte %s (%s), too large to go inline",
                    length, server_writes ? "READ" : "WRITE", buffer.status().ToString().c_str());
      return std::make_shared<RdmaTransfer>(buffer.status());
    }
    SMB3_LOG_DEBUG("SMB Direct: no RDMA buffer (%s); inline", buffer.status().ToString().c_str());
    return nullptr;
  }
  (server_writes ? reads_rdma_ : writes_rdma_).fetch_add(1, std::memory_order_relaxed);
  return std::make_shared<RdmaTransfer>(std::move(channel), *buffer, &copied_);
}

Status RdmaDataPath::AddRegion(std::span<uint8_t> memory) {
  if (memory.empty()) return Status::Invalid("register io memory: empty");
  std::lock_guard lock(regions_mu_);
  for (std::span<uint8_t> r : regions_) {
    if (memory.data() < r.data() + r.size() && r.data() < memory.data() + memory.size()) {
      return Status::Invalid("register io memory: overlaps memory already registered");
    }
  }
  regions_.push_back(memory);
  return Status::Ok();
}

void RdmaDataPath::RemoveRegion(std::span<uint8_t> memory, transport::RdmaChannel* channel) {
  {
    std::lock_guard lock(regions_mu_);
    std::erase_if(regions_, [&](std::span<uint8_t> r) {
      return r.data() == memory.data() && r.size() == memory.size();
    });
  }
  if (channel) channel->ForgetCallerMemory(memory);
}

void RdmaDataPath::CountRdma(bool server_writes, uint64_t bytes) {
  (server_writes ? bytes_rdma_write_ : bytes_rdma_read_)
      .fetch_add(bytes, std::memory_order_relaxed);
}

void RdmaDataPath::FillStats(transport::Transport* transport, bool signing, bool encryption,
                             ClientStats& s) const {
  std::shared_ptr<transport::RdmaChannel> channel = transport ? transport->rdma_channel() : nullptr;
  s.bytes_rdma_write = bytes_rdma_write_.load(std::memory_order_relaxed);
  s.bytes_rdma_read = bytes_rdma_read_.load(std::memory_order_relaxed);
  const uint64_t all = s.bytes_read + s.bytes_written;
  const uint64_t rdma = s.bytes_rdma_write + s.bytes_rdma_read;
  s.bytes_inline = all > rdma ? all - rdma : 0;
  s.rdma_reads = reads_rdma_.load(std::memory_order_relaxed);
  s.rdma_writes = writes_rdma_.load(std::memory_order_relaxed);
  s.rdma_acquire_exhausted = inline_no_buffer_.load(std::memory_order_relaxed);
  s.bytes_copied_rdma = copied_.load(std::memory_order_relaxed);
  s.rdma_data_path = Reason(channel != nullptr, signing, encryption);
  if (channel) {
    transport::RdmaChannelCounters c = channel->counters();
    s.rdma_mechanism = channel->mechanism();
    s.rdma_windows_bound = c.windows_bound;
    s.rdma_windows_invalidated_remote = c.windows_invalidated_remote;
    s.rdma_windows_invalidated_local = c.windows_invalidated_local;
    s.rdma_bind_failures = c.bind_failures;
    s.rdma_acquire_waits = c.acquire_waits;
    s.rdma_acquire_wait_us = c.acquire_wait_us;
  }
}

std::shared_ptr<RdmaTransfer> ClientImpl::RdmaFor(Connection* c, size_t length, bool server_writes,
                                                  const Request& r, ByteView source) {
  if (!c) return nullptr;
  // [MS-SMB2] 3.2.4.6 / 3.2.4.7: Session.SigningRequired or EncryptData (or a tree or request that
  // demands either) keeps the data inline.
  return rdma_.Begin(c->transport(), length, server_writes, signing_on_ || r.sign,
                     encrypt_all_ || r.encrypt, kRdmaBufferWait, source);
}

Status ClientImpl::RegisterIoMemory(std::span<uint8_t> memory) {
  // Registered with the device lazily, per connection, by the first WRITE from it (Begin): a
  // reconnect's new channel registers it again without anything to replay here.
  return rdma_.AddRegion(memory);
}

void ClientImpl::UnregisterIoMemory(std::span<uint8_t> memory) {
  std::shared_ptr<Connection> c = conn();
  std::shared_ptr<transport::RdmaChannel> channel = c ? c->transport().rdma_channel() : nullptr;
  rdma_.RemoveRegion(memory, channel.get());
}

}  // namespace smb3::client
