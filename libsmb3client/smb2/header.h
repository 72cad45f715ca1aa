// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.1 SMB2 packet header (SYNC and ASYNC forms) and the constants every command shares.
//
// Codec conventions for every command in smb2/: requests are encoded as the body that follows the
// 64-byte header (`Status EncodeXRequest(const XRequest&, ByteWriter&)`, where the writer is already
// positioned after the header so that offsets are counted from the header's start); responses are
// decoded from the whole message including its header (`Result<XResponse> DecodeXResponse(ByteView
// message)`), with variable parts returned as views into `message`.
#pragma once

#include <array>
#include <cstdint>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::smb2 {

inline constexpr size_t kHeaderSize = 64;
inline constexpr uint32_t kProtocolId = 0x424D53FE;           // 0xFE 'S' 'M' 'B'
inline constexpr uint32_t kTransformProtocolId = 0x424D53FD;  // 0xFD 'S' 'M' 'B'
inline constexpr uint32_t kCompressionProtocolId = 0x424D53FC;

// [MS-SMB2] 2.2.1 Command.
enum Command : uint16_t {
  SMB2_NEGOTIATE = 0x0000,
  SMB2_SESSION_SETUP = 0x0001,
  SMB2_LOGOFF = 0x0002,
  SMB2_TREE_CONNECT = 0x0003,
  SMB2_TREE_DISCONNECT = 0x0004,
  SMB2_CREATE = 0x0005,
  SMB2_CLOSE = 0x0006,
  SMB2_FLUSH = 0x0007,
  SMB2_READ = 0x0008,
  SMB2_WRITE = 0x0009,
  SMB2_LOCK = 0x000A,
  SMB2_IOCTL = 0x000B,
  SMB2_CANCEL = 0x000C,
  SMB2_ECHO = 0x000D,
  SMB2_QUERY_DIRECTORY = 0x000E,
  SMB2_CHANGE_NOTIFY = 0x000F,
  SMB2_QUERY_INFO = 0x0010,
  SMB2_SET_INFO = 0x0011,
  SMB2_OPLOCK_BREAK = 0x0012,
  SMB2_SERVER_TO_CLIENT_NOTIFICATION = 0x0013,
};

// [MS-SMB2] 2.2.1.2 Flags.
inline constexpr uint32_t SMB2_FLAGS_SERVER_TO_REDIR = 0x00000001;
inline constexpr uint32_t SMB2_FLAGS_ASYNC_COMMAND = 0x00000002;
inline constexpr uint32_t SMB2_FLAGS_RELATED_OPERATIONS = 0x00000004;
inline constexpr uint32_t SMB2_FLAGS_SIGNED = 0x00000008;
inline constexpr uint32_t SMB2_FLAGS_PRIORITY_MASK = 0x00000070;
inline constexpr uint32_t SMB2_FLAGS_DFS_OPERATIONS = 0x10000000;
inline constexpr uint32_t SMB2_FLAGS_REPLAY_OPERATION = 0x20000000;

// Dialects ([MS-SMB2] 2.2.3).
inline constexpr uint16_t kDialect300 = 0x0300;
inline constexpr uint16_t kDialect302 = 0x0302;
inline constexpr uint16_t kDialect311 = 0x0311;

// Offsets of header fields, for patching an encoded message (signing, compounding, credits).
inline constexpr size_t kOffsetCreditCharge = 6;
inline constexpr size_t kOffsetStatus = 8;
inline constexpr size_t kOffsetCommand = 12;
inline constexpr size_t kOffsetCredits = 14;
inline constexpr size_t kOffsetFlags = 16;
inline constexpr size_t kOffsetNextCommand = 20;
inline constexpr size_t kOffsetMessageId = 24;
inline constexpr size_t kOffsetAsyncId = 32;
inline constexpr size_t kOffsetTreeId = 36;
inline constexpr size_t kOffsetSessionId = 40;
inline constexpr size_t kOffsetSignature = 48;
inline constexpr size_t kSignatureSize = 16;

// [MS-SMB2] 2.2.1.1 / 2.2.1.2. `async_id` is meaningful when SMB2_FLAGS_ASYNC_COMMAND is set,
// `tree_id` otherwise. `channel_sequence_status` is ChannelSequence/Reserved in requests and
// Status in responses.
struct Header {
  uint16_t credit_charge = 0;
  uint32_t status = 0;  // responses: NTSTATUS; requests: ChannelSequence (low 16 bits)
  uint16_t command = 0;
  uint16_t credits = 0;  // CreditRequest / CreditResponse
  uint32_t flags = 0;
  uint32_t next_command = 0;
  uint64_t message_id = 0;
  uint64_t async_id = 0;
  uint32_t tree_id = 0;
  uint64_t session_id = 0;
  std::array<uint8_t, 16> signature{};

  bool is_async() const { return (flags & SMB2_FLAGS_ASYNC_COMMAND) != 0; }
  bool is_response() const { return (flags & SMB2_FLAGS_SERVER_TO_REDIR) != 0; }
};

// Writes the 64-byte header.
inline void EncodeHeader(const Header& h, ByteWriter& w) {
  w.U32(kProtocolId);
  w.U16(kHeaderSize);  // StructureSize
  w.U16(h.credit_charge);
  w.U32(h.status);
  w.U16(h.command);
  w.U16(h.credits);
  w.U32(h.flags);
  w.U32(h.next_command);
  w.U64(h.message_id);
  if (h.is_async()) {
    w.U64(h.async_id);
  } else {
    w.U32(0);  // Reserved
    w.U32(h.tree_id);
  }
  w.U64(h.session_id);
  w.Bytes(h.signature);
}

// Parses the header at the start of `message`; checks ProtocolId and StructureSize.
inline Result<Header> DecodeHeader(ByteView message) {
  ByteReader r(message);
  Header h;
  uint32_t protocol = r.U32();
  uint16_t structure_size = r.U16();
  h.credit_charge = r.U16();
  h.status = r.U32();
  h.command = r.U16();
  h.credits = r.U16();
  h.flags = r.U32();
  h.next_command = r.U32();
  h.message_id = r.U64();
  if (h.flags & SMB2_FLAGS_ASYNC_COMMAND) {
    h.async_id = r.U64();
  } else {
    r.U32();
    h.tree_id = r.U32();
  }
  h.session_id = r.U64();
  r.CopyTo(h.signature.data(), 16);
  if (!r.ok()) return Status::Protocol("smb2 header: truncated");
  if (protocol != kProtocolId) return Status::Protocol("smb2 header: bad ProtocolId");
  if (structure_size != kHeaderSize) return Status::Protocol("smb2 header: bad StructureSize");
  return h;
}

}  // namespace smb3::smb2
