// SPDX-License-Identifier: LGPL-2.1-or-later
// How many registered RDMA buffers one ReadAsyncView may keep. A zero-copy view holds the buffer
// each of its pieces was RDMA-written into until the caller drops the view (rdma_io.h), and every
// piece acquires its buffer when its READ is built, in file order, waiting when the pool is empty.
// A view with more pieces than the pool has buffers would hold them all while its later pieces
// wait for one that only the caller's release could return: a deadlock, ended only by the wait's
// timeout and a failed read. The rule that makes it impossible, whatever the pool's size:
//
//   a piece keeps its buffer only once every piece of its view has acquired one (its request was
//   built), so no piece of the view can be waiting behind it; and at most max_held pieces of one
//   view keep theirs, so that other I/O still finds buffers while the caller holds the view.
//
// Any other piece is copied into ordinary memory as its response arrives and its buffer goes back
// to the pool at once ([MS-SMB2] 3.2.5.11: the data is returned after the buffer is deregistered).
// A read of any size therefore succeeds; only the first max_held pieces answered after the last
// request was built avoid the copy.
//
// Thread-safety: a ViewBufferBudget is shared by the pieces of one view; its methods may be called
// from any thread.
#pragma once

#include <cstddef>
#include <mutex>

#include "client/rdma_io.h"

namespace smb3::client {

// Half the default pool (SmbDirectOptions: 32 buffers of 1 MiB): a view of up to 16 MiB (what
// `smb3 get` keeps in flight) may stay wholly zero copy, and the other half serves other I/O.
inline constexpr size_t kViewHeldBuffersMax = 16;

class ViewBufferBudget {
 public:
  // A view of `pieces` READs, at most `max_held` of which keep their registered buffer.
  explicit ViewBufferBudget(size_t pieces, size_t max_held = kViewHeldBuffersMax)
      : pieces_(pieces), max_held_(max_held) {}

  // One piece's first request was built (its buffer acquired, or none needed, or building
  // failed): it no longer waits for a buffer. Call once per piece.
  void Built();
  // `piece` as ReadResponseData returned it for `transfer`, a reference the caller keeps until
  // this returns (may be null). A zero-copy piece (its data is the registered memory of
  // `transfer`) keeps it when the rule above allows, counted against max_held; otherwise its data
  // is copied into ordinary memory (counted as the transfer's copy) and the buffer is released
  // once the caller drops `transfer`. Any other piece is returned unchanged.
  RdmaReadPiece Settle(RdmaReadPiece piece, const RdmaTransfer* transfer);
  // Pieces that kept their buffer.
  size_t held() const;

 private:
  mutable std::mutex mu_;
  const size_t pieces_;
  const size_t max_held_;
  size_t built_ = 0;
  size_t held_ = 0;
};

}  // namespace smb3::client
