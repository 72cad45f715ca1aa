// SPDX-License-Identifier: LGPL-2.1-or-later
// Compounded messages ([MS-SMB2] 3.2.4.1.4 sending, 3.2.5.1.9 receiving): several SMB2 messages in
// one transport send, chained through the header's NextCommand.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// More elements than this make a received compound malformed (and a request chain invalid).
inline constexpr size_t kMaxCompoundElements = 32;

// Splits a received (already decrypted) message into its elements, each a view into `message`
// starting with an SMB2 header. Every non-zero NextCommand must be a multiple of 8, cover at
// least a header, and leave room for the next header; the last element has NextCommand 0 and
// runs to the end. Each element must start with the SMB2 ProtocolId.
// Errors: kProtocol on any violation or more than kMaxCompoundElements elements.
Result<std::vector<ByteView>> SplitCompound(ByteView message);

// Prepares separately encoded requests (each a complete message starting with its 64-byte header)
// for sending as one compound: pads every message but the last with zeros to a multiple of 8,
// sets its NextCommand to its padded length (the last one's to 0) and, when `related`, sets
// SMB2_FLAGS_RELATED_OPERATIONS on all but the first (clearing it on the first); when not
// `related` it is cleared on all. Sign each message after this call (the signature covers the
// padding and NextCommand), then send JoinCompound().
// Errors: kInvalidArgument for an empty or over-long chain or a message shorter than a header.
Status LinkCompound(std::span<std::vector<uint8_t>> messages, bool related);

// Concatenates linked messages into one buffer for the transport.
std::vector<uint8_t> JoinCompound(std::span<const std::vector<uint8_t>> messages);

}  // namespace smb3::smb2
