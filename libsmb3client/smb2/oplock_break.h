// SPDX-License-Identifier: LGPL-2.1-or-later
// Unsolicited server messages: [MS-SMB2] 2.2.23 OPLOCK_BREAK notifications (oplock and lease),
// with the 2.2.24 acknowledgments and 2.2.25 responses, and the 2.2.44 SERVER_TO_CLIENT
// notification. Both notifications arrive with MessageId 0xFFFFFFFFFFFFFFFF ([MS-SMB2] 3.2.5.19,
// 3.2.5.20); an acknowledgment's response carries the ordinary MessageId.
#pragma once

#include <array>
#include <cstdint>
#include <variant>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 3.2.5.19: the MessageId of unsolicited server messages.
inline constexpr uint64_t kUnsolicitedMessageId = 0xFFFFFFFFFFFFFFFFULL;

// [MS-SMB2] 2.2.23.2 Flags.
inline constexpr uint32_t SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED = 0x00000001;

// [MS-SMB2] 2.2.44.1 NotificationType.
inline constexpr uint32_t SmbNotifySessionClosed = 0x00000000;

// [MS-SMB2] 2.2.23.1 (notification) and 2.2.25.1 (response): same layout.
struct OplockBreakNotification {
  uint8_t oplock_level = 0;
  FileId file_id;
};
using OplockBreakResponse = OplockBreakNotification;

// [MS-SMB2] 2.2.23.2
struct LeaseBreakNotification {
  uint16_t new_epoch = 0;
  uint32_t flags = 0;
  std::array<uint8_t, 16> lease_key{};
  uint32_t current_lease_state = 0;
  uint32_t new_lease_state = 0;
};

// [MS-SMB2] 2.2.24.1
struct OplockBreakAcknowledgment {
  uint8_t oplock_level = 0;
  FileId file_id;
};

// [MS-SMB2] 2.2.24.2
struct LeaseBreakAcknowledgment {
  std::array<uint8_t, 16> lease_key{};
  uint32_t lease_state = 0;
};

// [MS-SMB2] 2.2.25.2
struct LeaseBreakResponse {
  std::array<uint8_t, 16> lease_key{};
  uint32_t lease_state = 0;
};

// [MS-SMB2] 2.2.44.1
struct ServerToClientNotification {
  uint32_t notification_type = 0;
  ByteView notification;  // e.g. 2.2.44.2 SMB2_NOTIFY_SESSION_CLOSED; view into the message
};

// True when `message` is a server message with MessageId 0xFFFFFFFFFFFFFFFF: a break or
// server-to-client notification that answers no request.
bool IsUnsolicitedMessage(ByteView message);

// True when `message` is an SMB2 OPLOCK_BREAK sent by the server with MessageId
// 0xFFFFFFFFFFFFFFFF, i.e. a break notification rather than an acknowledgment's response.
bool IsBreakNotification(ByteView message);

// Parses a break notification, told apart by StructureSize (24: oplock, 44: lease, [MS-SMB2]
// 3.2.5.19). Errors: kProtocol when the size matches neither or the body is truncated.
Result<std::variant<OplockBreakNotification, LeaseBreakNotification>> DecodeBreakNotification(
    ByteView message);

// Errors: kProtocol when StructureSize is not 24 or the body is truncated.
Result<OplockBreakNotification> DecodeOplockBreakNotification(ByteView message);
// Errors: kProtocol when StructureSize is not 44 or the body is truncated.
Result<LeaseBreakNotification> DecodeLeaseBreakNotification(ByteView message);

// Write the acknowledgment bodies after the header already in `w`. Never fail.
Status EncodeOplockBreakAcknowledgment(const OplockBreakAcknowledgment& ack, ByteWriter& w);
Status EncodeLeaseBreakAcknowledgment(const LeaseBreakAcknowledgment& ack, ByteWriter& w);

// Errors: kProtocol when StructureSize is not 24 (oplock) / 36 (lease) or the body is truncated.
Result<OplockBreakResponse> DecodeOplockBreakResponse(ByteView message);
Result<LeaseBreakResponse> DecodeLeaseBreakResponse(ByteView message);

// Parses a SERVER_TO_CLIENT notification: StructureSize covers the 8 fixed bytes plus the
// Notification, which must lie within the message. Errors: kProtocol.
Result<ServerToClientNotification> DecodeServerToClientNotification(ByteView message);

}  // namespace smb3::smb2
