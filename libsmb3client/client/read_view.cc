// SPDX-License-Identifier: LGPL-2.1-or-later
#include "client/read_view.h"

#include <vector>

namespace smb3::client {

void ViewBufferBudget::Built() {
  std::lock_guard lock(mu_);
  ++built_;
}

RdmaReadPiece ViewBufferBudget::Settle(RdmaReadPiece piece, const RdmaTransfer* transfer) {
  if (transfer == nullptr || piece.owner.get() != static_cast<const void*>(transfer)) return piece;
  {
    std::lock_guard lock(mu_);
    if (built_ >= pieces_ && held_ < max_held_) {
      ++held_;
      return piece;
    }
  }
  auto copy = std::make_shared<std::vector<uint8_t>>(piece.data.begin(), piece.data.end());
  transfer->CountCopy(piece.data.size());
  const ByteView view(copy->data(), copy->size());
  return RdmaReadPiece{std::move(copy), view};
}

size_t ViewBufferBudget::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

}  // namespace smb3::client
