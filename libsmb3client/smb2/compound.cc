// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/compound.h"

namespace smb3::smb2 {

// [MS-SMB2] 3.2.5.1.9
Result<std::vector<ByteView>> SplitCompound(ByteView message) {
  std::vector<ByteView> elements;
  size_t pos = 0;
  while (true) {
    if (elements.size() == kMaxCompoundElements) {
      return Status::Protocol("compound: too many elements");
    }
    ByteView rest = message.subspan(pos);
    if (rest.size() < kHeaderSize)
      return Status::Protocol("compound: element shorter than a header");
    if (LoadU32(rest.data()) != kProtocolId) return Status::Protocol("compound: bad ProtocolId");
    const uint32_t next = LoadU32(&rest[kOffsetNextCommand]);
    if (next == 0) {
      elements.push_back(rest);
      return elements;
    }
    if (next % 8 != 0) return Status::Protocol("compound: NextCommand not 8-byte aligned");
    if (next < kHeaderSize) return Status::Protocol("compound: NextCommand inside the header");
    if (next > rest.size() || rest.size() - next < kHeaderSize) {
      return Status::Protocol("compound: NextCommand beyond the message");
    }
    elements.push_back(rest.first(next));
    pos += next;
  }
}

// [MS-SMB2] 3.2.4.1.4
Status LinkCompound(std::span<std::vector<uint8_t>> messages, bool related) {
  if (messages.empty() || messages.size() > kMaxCompoundElements) {
    return Status::Invalid("compound: element count out of range");
  }
  for (const auto& m : messages) {
    if (m.size() < kHeaderSize) return Status::Invalid("compound: message shorter than a header");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    std::vector<uint8_t>& m = messages[i];
    const bool last = i + 1 == messages.size();
    if (!last) m.resize((m.size() + 7) & ~size_t{7}, 0);
    if (m.size() > UINT32_MAX) return Status::Invalid("compound: message too long");
    StoreU32(&m[kOffsetNextCommand], last ? 0 : static_cast<uint32_t>(m.size()));
    uint32_t flags = LoadU32(&m[kOffsetFlags]) & ~SMB2_FLAGS_RELATED_OPERATIONS;
    if (related && i > 0) flags |= SMB2_FLAGS_RELATED_OPERATIONS;
    StoreU32(&m[kOffsetFlags], flags);
  }
  return Status::Ok();
}

std::vector<uint8_t> JoinCompound(std::span<const std::vector<uint8_t>> messages) {
  size_t total = 0;
  for (const auto& m : messages) total += m.size();
  std::vector<uint8_t> out;
  out.reserve(total);
  for (const auto& m : messages) out.insert(out.end(), m.begin(), m.end());
  return out;
}

}  // namespace smb3::smb2
