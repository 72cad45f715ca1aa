// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/oplock_break.h"

#include "smb2/body.h"

namespace smb3::smb2 {
namespace {

constexpr uint16_t kOplockBreakStructureSize = 24;
constexpr uint16_t kLeaseBreakNotificationStructureSize = 44;
constexpr uint16_t kLeaseBreakAckStructureSize = 36;

// [MS-SMB2] 2.2.23.1 / 2.2.25.1
Result<OplockBreakNotification> DecodeOplockLayout(ByteView message, const char* where) {
  SMB3_ASSIGN_OR_RETURN(
      ByteReader r, OpenBody(message, kOplockBreakStructureSize, kOplockBreakStructureSize, where));
  OplockBreakNotification out;
  r.U16();  // StructureSize
  out.oplock_level = r.U8();
  r.U8();   // Reserved
  r.U32();  // Reserved2
  out.file_id.persistent = r.U64();
  out.file_id.volatile_id = r.U64();
  if (!r.ok()) return Status::Protocol(where);
  return out;
}

}  // namespace

bool IsUnsolicitedMessage(ByteView message) {
  if (message.size() < kHeaderSize) return false;
  return LoadU64(&message[kOffsetMessageId]) == kUnsolicitedMessageId &&
         (LoadU32(&message[kOffsetFlags]) & SMB2_FLAGS_SERVER_TO_REDIR) != 0;
}

bool IsBreakNotification(ByteView message) {
  return IsUnsolicitedMessage(message) && LoadU16(&message[kOffsetCommand]) == SMB2_OPLOCK_BREAK;
}

Result<std::variant<OplockBreakNotification, LeaseBreakNotification>> DecodeBreakNotification(
    ByteView message) {
  if (message.size() < kHeaderSize + 2) return Status::Protocol("break notification: truncated");
  switch (LoadU16(&message[kHeaderSize])) {
    case kOplockBreakStructureSize: {
      SMB3_ASSIGN_OR_RETURN(auto n, DecodeOplockBreakNotification(message));
      return std::variant<OplockBreakNotification, LeaseBreakNotification>(n);
    }
    case kLeaseBreakNotificationStructureSize: {
      SMB3_ASSIGN_OR_RETURN(auto n, DecodeLeaseBreakNotification(message));
      return std::variant<OplockBreakNotification, LeaseBreakNotification>(n);
    }
    default:
      return Status::Protocol("break notification: unknown StructureSize");
  }
}

// [MS-SMB2] 2.2.23.1
Result<OplockBreakNotification> DecodeOplockBreakNotification(ByteView message) {
  return DecodeOplockLayout(message, "oplock break notification: bad size");
}

// [MS-SMB2] 2.2.23.2
Result<LeaseBreakNotification> DecodeLeaseBreakNotification(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, kLeaseBreakNotificationStructureSize,
                                               kLeaseBreakNotificationStructureSize,
                                               "lease break notification: bad size"));
  LeaseBreakNotification out;
  r.U16();  // StructureSize
  out.new_epoch = r.U16();
  out.flags = r.U32();
  r.CopyTo(out.lease_key.data(), out.lease_key.size());
  out.current_lease_state = r.U32();
  out.new_lease_state = r.U32();
  r.U32();  // BreakReason
  r.U32();  // AccessMaskHint
  r.U32();  // ShareMaskHint
  if (!r.ok()) return Status::Protocol("lease break notification: truncated");
  return out;
}

// [MS-SMB2] 2.2.24.1
Status EncodeOplockBreakAcknowledgment(const OplockBreakAcknowledgment& ack, ByteWriter& w) {
  w.U16(kOplockBreakStructureSize);
  w.U8(ack.oplock_level);
  w.U8(0);   // Reserved
  w.U32(0);  // Reserved2
  w.U64(ack.file_id.persistent);
  w.U64(ack.file_id.volatile_id);
  return Status::Ok();
}

// [MS-SMB2] 2.2.24.2
Status EncodeLeaseBreakAcknowledgment(const LeaseBreakAcknowledgment& ack, ByteWriter& w) {
  w.U16(kLeaseBreakAckStructureSize);
  w.U16(0);  // Reserved
  w.U32(0);  // Flags
  w.Bytes(ack.lease_key);
  w.U32(ack.lease_state);
  w.U64(0);  // LeaseDuration
  return Status::Ok();
}

// [MS-SMB2] 2.2.25.1
Result<OplockBreakResponse> DecodeOplockBreakResponse(ByteView message) {
  return DecodeOplockLayout(message, "oplock break response: bad size");
}

// [MS-SMB2] 2.2.25.2
Result<LeaseBreakResponse> DecodeLeaseBreakResponse(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r,
                        OpenBody(message, kLeaseBreakAckStructureSize, kLeaseBreakAckStructureSize,
                                 "lease break response: bad size"));
  LeaseBreakResponse out;
  r.U16();  // StructureSize
  r.U16();  // Reserved
  r.U32();  // Flags
  r.CopyTo(out.lease_key.data(), out.lease_key.size());
  out.lease_state = r.U32();
  r.U64();  // LeaseDuration
  if (!r.ok()) return Status::Protocol("lease break response: truncated");
  return out;
}

// [MS-SMB2] 2.2.44.1
Result<ServerToClientNotification> DecodeServerToClientNotification(ByteView message) {
  constexpr size_t kFixedSize = 8;  // StructureSize, Reserved, NotificationType
  if (message.size() < kHeaderSize + kFixedSize) {
    return Status::Protocol("server to client notification: truncated");
  }
  ByteReader r(message);
  r.Seek(kHeaderSize);
  const uint16_t structure_size = r.U16();
  r.U16();  // Reserved
  ServerToClientNotification out;
  out.notification_type = r.U32();
  if (structure_size < kFixedSize) {
    return Status::Protocol("server to client notification: bad StructureSize");
  }
  out.notification = r.Bytes(structure_size - kFixedSize);
  if (!r.ok()) return Status::Protocol("server to client notification: Notification out of bounds");
  return out;
}

}  // namespace smb3::smb2
