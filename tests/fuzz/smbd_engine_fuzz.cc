// SPDX-License-Identifier: LGPL-2.1-or-later
// Drives a connected MS-SMBD engine with a script split from the input: received messages (the
// peer's bytes, untrusted), upper-layer sends, draining sends and reassembled messages, time
// passing. Whatever the peer sends, the engine must keep its credit invariants and either go on or
// stop in kDisconnected with a reason; nothing may leave it afterwards.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "smbd/connection.h"
#include "smbd/pdu.h"

namespace {

using smb3::smbd::Connection;
using smb3::smbd::State;

// The upper layer's messages: 4 KiB spans four fragments of the 1364-byte sends the engine
// negotiates, and fragmentation is the same beyond. An SMB2 client has few requests in flight (its
// credits), so the script queues at most 256 KiB. Without either bound a 16 KiB script could queue
// over 5000 messages of 64 KiB, each filled and copied: the fuzzer then measured allocation.
constexpr size_t kMaxUpperMessage = 4096;
constexpr size_t kMaxQueuedBytes = 262144;
// Both buffers are set up once per process, not once per input.
const std::vector<uint8_t> kUpperBytes(kMaxUpperMessage, 0x5A);
std::vector<uint8_t> send_buffer(65536);

void CheckInvariants(const Connection& c) {
  if (c.state() == State::kDisconnected) {
    if (c.error().ok() || c.ReceivesWanted() != 0 || c.NextDeadline()) abort();
    return;
  }
  if (c.peer_credits() > c.receives_posted() || c.send_credits() > 65535) abort();
  if (c.state() == State::kConnected && !c.NextDeadline()) abort();
}

Connection ConnectedEngine() {
  auto created = Connection::Create();
  if (!created.ok()) abort();
  Connection c = std::move(created).value();
  const smb3::smbd::Timestamp now{};
  c.OnReceivesPosted(c.ReceivesWanted());
  if (!c.Start(now).ok() || !c.NextSend(now)) abort();
  smb3::smbd::NegotiateResponse r;
  r.credits_requested = 255;
  r.credits_granted = 255;
  r.max_read_write_size = 1048576;
  r.preferred_send_size = 8192;
  r.max_receive_size = 8192;
  r.max_fragmented_size = 1048576;
  std::vector<uint8_t> bytes;
  smb3::ByteWriter w(bytes);
  (void)smb3::smbd::EncodeNegotiateResponse(r, w);
  if (!c.OnReceive(bytes, now).ok()) abort();
  c.OnReceivesPosted(c.ReceivesWanted());
  // The first upper-layer message grants the peer its credits.
  const uint8_t hello[8] = {0xFE, 'S', 'M', 'B'};
  if (!c.QueueSend(hello).ok() || !c.NextSend(now)) abort();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteReader in(smb3::ByteView(data, size));
  Connection c = ConnectedEngine();
  smb3::smbd::Timestamp now{};
  while (in.ok() && in.remaining() > 0) {
    const uint8_t op = in.U8();
    switch (op % 6) {
      case 0:
      case 5: {  // one received message, of up to 8 KiB and change
        const size_t n = std::min<size_t>(in.U16() % 8300, in.remaining());
        smb3::ByteView message = in.Bytes(n);
        if (c.receives_posted() == 0) c.OnReceivesPosted(1);
        std::optional<uint32_t> token;
        if (op % 6 == 5) token = op;
        smb3::Status s = c.OnReceive(message, now, token);
        if (s.ok() != (c.state() != State::kDisconnected)) abort();
        break;
      }
      case 1: {  // an upper-layer message of up to 4 KiB
        const size_t n = in.U16() % (kMaxUpperMessage + 1);
        if (c.queued_bytes() + n <= kMaxQueuedBytes) {
          (void)c.QueueSend(smb3::ByteView(kUpperBytes.data(), n));
        }
        break;
      }
      case 2: {  // the transport drains the sends
        for (int i = 0; i < 100; ++i) {
          const uint32_t credits = c.send_credits();
          if (c.SendBufferSize() > send_buffer.size()) abort();
          auto written = c.NextSend(smb3::MutableByteView(send_buffer), now);
          if (!written) break;
          if (*written > c.negotiated().max_send_size) abort();
          auto m = smb3::smbd::DecodeDataTransfer(smb3::ByteView(send_buffer.data(), *written));
          if (!m.ok() || c.send_credits() != credits - 1) abort();
          if (credits == 1 && m->credits_granted == 0) abort();  // [MS-SMBD] 3.1.5.1
        }
        break;
      }
      case 3: {  // time passes
        now += std::chrono::seconds(in.U8());
        if (auto deadline = c.NextDeadline(); deadline && *deadline <= now) c.OnTimer(now);
        break;
      }
      case 4: {  // the upper layer takes what was reassembled
        while (auto m = c.NextReassembled()) {
          if (m->data.empty() || m->data.size() > 1048576) abort();
        }
        c.OnReceivesPosted(c.ReceivesWanted());
        break;
      }
    }
    CheckInvariants(c);
  }
  return 0;
}
