// SPDX-License-Identifier: LGPL-2.1-or-later
#include "conn/credits.h"

#include <algorithm>

namespace smb3::conn {

std::optional<uint64_t> CreditWindow::Take(uint16_t charge) {
  uint32_t n = charge ? charge : 1;
  if (n > available_) return std::nullopt;
  uint64_t first = next_;
  next_ += n;  // [MS-SMB2] 3.2.4.1.6: lowest available consecutive numbers
  available_ -= n;
  return first;
}

void CreditWindow::Grant(uint16_t credits) {
  available_ = std::min<uint32_t>(available_ + credits, kMaxHeld);
}

uint16_t CreditWindow::RequestFor(uint16_t charge) const {
  uint32_t n = charge ? charge : 1;
  uint32_t want = n;
  if (available_ < kTarget) want += std::min<uint32_t>(kTarget - available_, 256);
  return static_cast<uint16_t>(std::min<uint32_t>(want, 0xFFFF));
}

}  // namespace smb3::conn
