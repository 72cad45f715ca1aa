// SPDX-License-Identifier: LGPL-2.1-or-later
// FaultProxy: a TCP proxy on 127.0.0.1 between a client and a server (Samba) that tests drive to
// inject network faults: cut the connection after N more bytes in one direction, flip one byte at
// a position, delay or stall the traffic, refuse new connections for a while.
//
// Byte positions count the bytes forwarded in a direction over the proxy's whole life (all
// connections), so "after N more bytes" is relative to the count when the fault is armed. Each
// armed cut or flip fires once, on the connection that carries that byte.
//
// Thread-safety: one forwarding thread (poll) owns the sockets; every public method may be called
// from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace smb3::test {

class FaultProxy {
 public:
  enum class Direction : uint8_t { kClientToServer = 0, kServerToClient = 1 };

  struct Counters {
    uint64_t accepted = 0;      // client connections accepted and forwarded
    uint64_t refused = 0;       // client connections closed at once (RefuseFor)
    uint64_t cuts = 0;          // connections cut by CutAfter/CutAll
    uint64_t flips = 0;         // bytes flipped
    uint64_t bytes[2] = {0, 0};  // forwarded, by Direction
    uint64_t active = 0;        // connections open now
  };

  // Listens on 127.0.0.1 (a free port) and forwards every connection to target_host:target_port.
  // nullptr with *error set when the listening socket or thread cannot be created.
  static std::unique_ptr<FaultProxy> Start(const std::string& target_host, uint16_t target_port,
                                           std::string* error);
  ~FaultProxy();  // closes every connection and stops the thread
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const;

  // Forwards `bytes` more bytes in `dir`, then closes that connection (both sides, with RST).
  void CutAfter(Direction dir, uint64_t bytes);
  // Closes every open connection now (RST both sides).
  void CutAll();
  // Inverts (XOR 0xff) the byte that comes `bytes_from_now` bytes from now in `dir`.
  void FlipAfter(Direction dir, uint64_t bytes_from_now);
  // Holds every chunk for `delay` before forwarding it (0: none). Applies to new data.
  void SetDelay(std::chrono::milliseconds delay);
  // The connections open now stop forwarding in both directions (their sockets stay open; the
  // peers see silence); connections accepted later are not affected. Ends when they are cut.
  void StallCurrent();
  // Accepts and at once closes new connections for `duration` (a server that is down).
  void RefuseFor(std::chrono::milliseconds duration);

  Counters counters() const;

 private:
  struct Impl;
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace smb3::test
