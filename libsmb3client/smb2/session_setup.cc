// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/session_setup.h"

#include "smb2/body.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.5
Status EncodeSessionSetupRequest(const SessionSetupRequest& request, ByteWriter& w) {
  if (request.security_buffer.size() > UINT16_MAX) {
    return Status::Invalid("session setup request: security buffer too long");
  }
  const size_t body_start = w.size();
  w.U16(25);  // StructureSize
  w.U8(request.flags);
  w.U8(request.security_mode);
  w.U32(request.capabilities);
  w.U32(0);  // Channel
  w.U16(static_cast<uint16_t>(body_start +
                              24));  // SecurityBufferOffset: Buffer follows the fixed part
  w.U16(static_cast<uint16_t>(request.security_buffer.size()));
  w.U64(request.previous_session_id);
  if (request.security_buffer.empty()) {
    w.U8(0);
  } else {
    w.Bytes(request.security_buffer);
  }
  return Status::Ok();
}

// [MS-SMB2] 2.2.6
Result<SessionSetupResponse> DecodeSessionSetupResponse(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, 9, 8, "session setup response: bad size"));
  SessionSetupResponse out;
  r.U16();  // StructureSize
  out.session_flags = r.U16();
  uint16_t offset = r.U16();
  uint16_t length = r.U16();
  if (!r.ok()) return Status::Protocol("session setup response: truncated");
  SMB3_ASSIGN_OR_RETURN(out.security_buffer,
                        VariablePart(message, offset, length,
                                     "session setup response: security buffer out of bounds"));
  return out;
}

}  // namespace smb3::smb2
