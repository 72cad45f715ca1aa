// SPDX-License-Identifier: LGPL-2.1-or-later
// What a hostile peer can make the MS-SMBD engine allocate while it reassembles: memory must follow
// the bytes that arrived, never the total a fragment announces in RemainingDataLength
// ([MS-SMBD] 3.1.5.8). Measured without clocks: this executable replaces the global operator new
// to record the largest single allocation made while a probe is armed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "smbd/connection.h"
#include "unit/smbd/smbd_test_util.h"

namespace {

std::atomic<bool> probe_armed{false};
std::atomic<size_t> probe_largest{0};

// The largest single allocation made by `f`.
template <typename F>
size_t LargestAllocation(F&& f) {
  probe_largest = 0;
  probe_armed = true;
  f();
  probe_armed = false;
  return probe_largest;
}

}  // namespace

void* operator new(size_t n) {
  if (probe_armed) {
    size_t seen = probe_largest;
    while (n > seen && !probe_largest.compare_exchange_weak(seen, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// GCC sees the free() of a pointer that came from operator new once both are inlined; here both
// are ours and malloc-based.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace smb3::smbd {
namespace {

using test_util::At;
using test_util::Connected;
using test_util::Pattern;
using test_util::PeerMessage;
using test_util::ServerResponse;

// A connected engine whose peer holds 255 credits.
Connection ReadyToReceive() {
  Connection c = Connected(ServerResponse());
  EXPECT_TRUE(c.QueueSend(Pattern(10)).ok());
  EXPECT_TRUE(c.NextSend(At({})).has_value());
  EXPECT_EQ(c.peer_credits(), 255u);
  return c;
}

TEST(SmbdReassemblyMemory, OneByteAnnouncingMaxFragmentedRecvSizeCostsNoMore) {
  Connection c = ReadyToReceive();
  const uint32_t announced = c.negotiated().max_fragmented_recv_size;
  ASSERT_EQ(announced, 1048576u);
  const std::vector<uint8_t> message = PeerMessage(1, Pattern(1), announced - 1);
  size_t largest = LargestAllocation([&] { ASSERT_TRUE(c.OnReceive(message, At({})).ok()); });
  // The probe must see the engine's allocations at all: the first byte is stored somewhere.
  EXPECT_GE(largest, 1u);
  EXPECT_LT(largest, 4096u) << "reassembly reserved for the announced total";
}

TEST(SmbdReassemblyMemory, BufferGrowsWithTheBytesReceived) {
  Connection c = ReadyToReceive();
  const std::vector<uint8_t> smb2 = Pattern(262144, 7);
  // Fragments of 1340 bytes, the peer's PreferredSendSize 1364 less the header.
  size_t at = 0;
  while (at < smb2.size()) {
    const size_t n = std::min<size_t>(1340, smb2.size() - at);
    const uint32_t remaining = static_cast<uint32_t>(smb2.size() - at - n);
    const std::vector<uint8_t> message = PeerMessage(1, ByteView(smb2).subspan(at, n), remaining);
    size_t largest = LargestAllocation([&] { ASSERT_TRUE(c.OnReceive(message, At({})).ok()); });
    at += n;
    // Geometric growth: at most twice what has arrived, plus one fragment.
    EXPECT_LE(largest, 2 * at + 1340) << "after " << at << " bytes of " << smb2.size();
    c.OnReceivesPosted(c.ReceivesWanted());
    while (c.NextSend(At({}))) {
    }
  }
  auto got = c.NextReassembled();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->data, smb2);
}

}  // namespace
}  // namespace smb3::smbd
