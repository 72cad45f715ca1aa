// SPDX-License-Identifier: LGPL-2.1-or-later
// Helpers for the MS-SMBD engine tests: explicit timestamps, peer messages, a connected engine.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "smbd/connection.h"
#include "smbd/pdu.h"

namespace smb3::smbd::test_util {

inline Timestamp At(std::chrono::milliseconds since_start) {
  return Timestamp{} + std::chrono::duration_cast<Duration>(since_start);
}

inline std::vector<uint8_t> Pattern(size_t n, uint32_t seed = 1) {
  std::vector<uint8_t> p(n);
  uint32_t x = seed * 2654435761u + 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345;
    p[i] = static_cast<uint8_t>(x >> 24);
  }
  return p;
}

// A negotiate response as a Windows server sends it (7 <8>), with the given grants and sizes.
inline NegotiateResponse ServerResponse(uint16_t credits_granted = 255,
                                        uint16_t credits_requested = 255,
                                        uint32_t preferred_send_size = 1364,
                                        uint32_t max_receive_size = 8192) {
  NegotiateResponse r;
  r.credits_requested = credits_requested;
  r.credits_granted = credits_granted;
  r.max_read_write_size = 8388608;
  r.preferred_send_size = preferred_send_size;
  r.max_receive_size = max_receive_size;
  r.max_fragmented_size = 1048576;
  return r;
}

inline std::vector<uint8_t> EncodeResponse(const NegotiateResponse& r) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  (void)EncodeNegotiateResponse(r, w);
  return out;
}

// A data transfer message from the peer.
inline std::vector<uint8_t> PeerMessage(uint16_t credits_granted, ByteView payload = {},
                                        uint32_t remaining = 0, uint16_t flags = 0,
                                        uint16_t credits_requested = 255) {
  DataTransfer h;
  h.credits_requested = credits_requested;
  h.credits_granted = credits_granted;
  h.flags = flags;
  h.remaining_data_length = remaining;
  std::vector<uint8_t> out;
  ByteWriter w(out);
  (void)EncodeDataTransfer(h, payload, w);
  return out;
}

// Creates an engine, posts its first receive, negotiates with `response` and posts the receives it
// then wants. The engine is kConnected on return (checked).
inline Connection Connected(const NegotiateResponse& response = ServerResponse(),
                            const Parameters& params = {}, Timestamp now = At({})) {
  auto created = Connection::Create(params);
  EXPECT_TRUE(created.ok());
  Connection c = std::move(created).value();
  c.OnReceivesPosted(c.ReceivesWanted());
  EXPECT_TRUE(c.Start(now).ok());
  auto request = c.NextSend(now);
  EXPECT_TRUE(request.has_value());
  Status s = c.OnReceive(EncodeResponse(response), now);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.state(), State::kConnected);
  c.OnReceivesPosted(c.ReceivesWanted());
  return c;
}

}  // namespace smb3::smbd::test_util
