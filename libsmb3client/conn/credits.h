// SPDX-License-Identifier: LGPL-2.1-or-later
// The client's sequence window and credits ([MS-SMB2] 3.2.4.1.5, 3.2.4.1.6, 3.2.5.1.4).
// Sans-I/O and not thread-safe: the connection guards it with its own mutex.
//
// The allowable set starts as {0}. Each credit granted adds the next sequence number; a request
// takes the lowest `charge` consecutive numbers. Because numbers are always taken from the bottom
// and added at the top, the set is always one range [next_, next_ + available_).
#pragma once

#include <cstdint>
#include <optional>

namespace smb3::conn {

class CreditWindow {
 public:
  // Keep asking for credits until this many are held (8 MiB of 64 KiB credits = 128; more lets
  // many 1 MiB requests from several threads stay in flight).
  static constexpr uint32_t kTarget = 512;
  // A server may grant at most this many outstanding; more is treated as hostile and capped.
  static constexpr uint32_t kMaxHeld = 65535;

  // Takes `charge` consecutive sequence numbers (charge 0 counts as 1) and returns the first, or
  // nullopt when fewer are available.
  std::optional<uint64_t> Take(uint16_t charge);
  // Adds `credits` granted by a response's CreditResponse.
  void Grant(uint16_t credits);
  // The CreditRequest for a request of `charge`: replaces what it consumes, plus growth toward
  // kTarget.
  uint16_t RequestFor(uint16_t charge) const;

  uint32_t available() const { return available_; }
  uint64_t next_message_id() const { return next_; }
  // Requests with a charge this large can never be satisfied: the caller must split or fail.
  bool Exceeds(uint16_t charge) const { return charge > kMaxHeld; }

 private:
  uint64_t next_ = 0;
  uint32_t available_ = 1;
};

}  // namespace smb3::conn
