// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared helpers for command codecs: reading a body that follows the 64-byte header and taking a
// variable part by (offset-from-header, length), both checked.
#pragma once

#include <optional>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// A reader over `message` positioned at the body (offset 64), after checking that the body's
// StructureSize equals `structure_size` and that at least `fixed_size` body bytes are present
// (fixed_size is usually structure_size rounded down to even: the odd bit marks a variable part).
inline Result<ByteReader> OpenBody(ByteView message, uint16_t structure_size, size_t fixed_size,
                                   const char* where) {
  if (message.size() < kHeaderSize + fixed_size || message.size() < kHeaderSize + 2)
    return Status::Protocol(where);
  ByteReader r(message);
  r.Seek(kHeaderSize);
  if (LoadU16(&message[kHeaderSize]) != structure_size) return Status::Protocol(where);
  return r;
}

// The variable part at `offset` (counted from the start of the SMB2 header) of `length` bytes.
// A zero length is valid with any offset and yields an empty view.
inline Result<ByteView> VariablePart(ByteView message, size_t offset, size_t length, const char* where) {
  if (length == 0) return ByteView{};
  auto v = Slice(message, offset, length);
  if (!v || offset < kHeaderSize) return Status::Protocol(where);
  return *v;
}

// The body shared by QUERY_DIRECTORY and QUERY_INFO responses ([MS-SMB2] 2.2.34, 2.2.38):
// StructureSize 9, OutputBufferOffset (16 bits), OutputBufferLength (32 bits), then the buffer.
// Returns the checked output buffer; the three messages name the failure for the caller's command.
struct OutputBufferErrors {
  const char* bad_body;
  const char* overlaps_fixed_part;
  const char* out_of_bounds;
};
inline Result<ByteView> DecodeOutputBufferBody(ByteView message, const OutputBufferErrors& errors) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, 9, 8, errors.bad_body));
  r.U16();  // StructureSize
  uint16_t offset = r.U16();
  uint32_t length = r.U32();
  if (!r.ok()) return Status::Protocol(errors.bad_body);
  if (length != 0 && offset < kHeaderSize + 8) return Status::Protocol(errors.overlaps_fixed_part);
  return VariablePart(message, offset, length, errors.out_of_bounds);
}

}  // namespace smb3::smb2
