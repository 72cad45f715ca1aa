// SPDX-License-Identifier: LGPL-2.1-or-later
#include "support/fake_rdma_channel.h"

#include <cstring>

namespace smb3::test {

FakeRdmaChannel::FakeRdmaChannel(size_t max_io, size_t count, bool remote_invalidate)
    : max_io_(max_io), remote_invalidate_(remote_invalidate), slots_(count) {}

const char* FakeRdmaChannel::mechanism() const {
  return remote_invalidate_ ? "memory window" : "register per I/O";
}

Result<transport::RdmaIoBuffer> FakeRdmaChannel::Acquire(size_t length, bool server_writes,
                                                         std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  if (length == 0 || length > max_io_) return Status::Invalid("fake rdma: length out of range");
  auto free_slot = [&] {
    for (const Slot& s : slots_)
      if (s.handle == 0) return true;
    return disconnected_;
  };
  if (!free_slot()) {
    ++counters_.acquire_waits;
    released_cv_.wait_for(lock, wait, free_slot);
  }
  if (disconnected_) return Status(Code::kDisconnected, 0, "fake rdma: disconnected");
  for (Slot& s : slots_) {
    if (s.handle != 0) continue;
    s.handle = next_handle_++;
    s.memory = std::make_unique<uint8_t[]>(length);
    std::memset(s.memory.get(), 0xEE, length);
    s.length = length;
    s.token = next_token_++;
    s.server_writes = server_writes;
    s.key_live = true;
    ++counters_.buffers_acquired;
    ++counters_.windows_bound;
    transport::RdmaIoBuffer b;
    b.handle = s.handle;
    b.memory = {s.memory.get(), length};
    b.remote_offset = reinterpret_cast<uint64_t>(s.memory.get());
    b.remote_token = s.token;
    b.remote_length = static_cast<uint32_t>(length);
    b.remote_invalidate = remote_invalidate_;
    return b;
  }
  ++counters_.acquire_exhausted;
  return Status(Code::kResourceExhausted, 0, "fake rdma: every buffer in use");
}

void FakeRdmaChannel::Release(uint64_t handle) {
  std::lock_guard lock(mu_);
  for (Slot& s : slots_) {
    if (handle == 0 || s.handle != handle) continue;
    if (s.key_live) ++counters_.windows_invalidated_local;
    s = Slot{};
    ++released_;
    released_cv_.notify_all();
    return;
  }
}

transport::RdmaChannelCounters FakeRdmaChannel::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

FakeRdmaChannel::Slot* FakeRdmaChannel::FindLive(uint32_t token) {
  for (Slot& s : slots_) {
    if (s.handle != 0 && s.key_live && s.token == token) return &s;
  }
  return nullptr;
}

Status FakeRdmaChannel::PeerWrite(const smb2::BufferDescriptorV1& d, ByteView data) {
  std::lock_guard lock(mu_);
  Slot* s = FindLive(d.token);
  if (!s || !s->server_writes || data.size() > d.length || data.size() > s->length ||
      d.offset != reinterpret_cast<uint64_t>(s->memory.get())) {
    ++refused_;
    return Status::Protocol("fake rdma: remote access error on RDMA WRITE");
  }
  if (!data.empty()) std::memcpy(s->memory.get(), data.data(), data.size());
  return Status::Ok();
}

Result<std::vector<uint8_t>> FakeRdmaChannel::PeerRead(const smb2::BufferDescriptorV1& d) {
  std::lock_guard lock(mu_);
  Slot* s = FindLive(d.token);
  if (!s || s->server_writes || d.length > s->length ||
      d.offset != reinterpret_cast<uint64_t>(s->memory.get())) {
    ++refused_;
    return Status::Protocol("fake rdma: remote access error on RDMA READ");
  }
  return std::vector<uint8_t>(s->memory.get(), s->memory.get() + d.length);
}

void FakeRdmaChannel::PeerInvalidate(uint32_t token) {
  std::lock_guard lock(mu_);
  Slot* s = FindLive(token);
  if (!s || !remote_invalidate_) return;
  s->key_live = false;
  ++counters_.windows_invalidated_remote;
}

void FakeRdmaChannel::Disconnect() {
  std::lock_guard lock(mu_);
  disconnected_ = true;
  released_cv_.notify_all();
}

size_t FakeRdmaChannel::in_use() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const Slot& s : slots_) n += s.handle != 0 ? 1 : 0;
  return n;
}

uint64_t FakeRdmaChannel::released() const {
  std::lock_guard lock(mu_);
  return released_;
}

uint64_t FakeRdmaChannel::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

namespace {

Result<RdmaRequestFields> ParseChannel(const ClientRequest& request, size_t channel_at,
                                       size_t info_offset_at, size_t fixed) {
  ByteView m = request.bytes;
  if (m.size() < smb2::kHeaderSize + fixed) return Status::Protocol("fake rdma: short request");
  const uint8_t* body = m.data() + smb2::kHeaderSize;
  RdmaRequestFields f;
  f.channel = LoadU32(body + channel_at);
  f.remaining_bytes = LoadU32(body + channel_at + 4);
  const uint16_t info_offset = LoadU16(body + info_offset_at);
  const uint16_t info_length = LoadU16(body + info_offset_at + 2);
  if (info_length != 0) {
    auto info = Slice(m, info_offset, info_length);
    if (!info) return Status::Protocol("fake rdma: channel info outside the request");
    SMB3_ASSIGN_OR_RETURN(f.descriptors, smb2::DecodeBufferDescriptorsV1(*info));
  }
  return f;
}

}  // namespace

Result<RdmaRequestFields> ParseReadRequestChannel(const ClientRequest& request) {
  // [MS-SMB2] 2.2.19: Length at 4, Channel at 36, RemainingBytes at 40, ReadChannelInfoOffset 44.
  SMB3_ASSIGN_OR_RETURN(RdmaRequestFields f, ParseChannel(request, 36, 44, 48));
  f.length = LoadU32(request.bytes.data() + smb2::kHeaderSize + 4);
  return f;
}

Result<RdmaRequestFields> ParseWriteRequestChannel(const ClientRequest& request) {
  // [MS-SMB2] 2.2.21: DataOffset at 2, Length at 4, Channel at 32, RemainingBytes at 36,
  // WriteChannelInfoOffset at 40.
  SMB3_ASSIGN_OR_RETURN(RdmaRequestFields f, ParseChannel(request, 32, 40, 48));
  f.data_offset = LoadU16(request.bytes.data() + smb2::kHeaderSize + 2);
  f.length = LoadU32(request.bytes.data() + smb2::kHeaderSize + 4);
  return f;
}

std::vector<uint8_t> RdmaReadResponse(const smb2::Header& request, uint32_t data_remaining,
                                      const ResponseOptions& options) {
  std::vector<uint8_t> m = ResponseHeader(request, options);
  ByteWriter w(m);
  w.U16(17);   // StructureSize
  w.U8(0x50);  // DataOffset
  w.U8(0);     // Reserved
  w.U32(0);    // DataLength: the data went through the channel
  w.U32(data_remaining);
  w.U32(0);  // Flags
  w.U8(0);   // the Buffer is never empty
  return m;
}

}  // namespace smb3::test
