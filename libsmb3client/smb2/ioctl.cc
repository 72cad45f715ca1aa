// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/ioctl.h"

#include "smb2/body.h"

namespace smb3::smb2 {
namespace {
constexpr uint16_t kRequestStructureSize = 57;
constexpr size_t kRequestFixedSize = 56;
constexpr uint16_t kResponseStructureSize = 49;
constexpr size_t kResponseFixedSize = 48;
}  // namespace

// [MS-SMB2] 2.2.31
Status EncodeIoctlRequest(const IoctlRequest& request, ByteWriter& w) {
  if (request.input.size() > UINT32_MAX) return Status::Invalid("ioctl request: input too long");
  const size_t buffer_offset = w.size() + kRequestFixedSize;
  w.U16(kRequestStructureSize);
  w.U16(0);  // Reserved
  w.U32(request.ctl_code);
  w.U64(request.file_id.persistent);
  w.U64(request.file_id.volatile_id);
  w.U32(request.input.empty() ? 0 : static_cast<uint32_t>(buffer_offset));  // InputOffset
  w.U32(static_cast<uint32_t>(request.input.size()));                       // InputCount
  w.U32(request.max_input_response);
  w.U32(0);  // OutputOffset: SHOULD be 0
  w.U32(0);  // OutputCount: MUST be 0
  w.U32(request.max_output_response);
  w.U32(request.flags);
  w.U32(0);  // Reserved2
  if (request.input.empty()) {
    w.U8(0);
  } else {
    w.Bytes(request.input);
  }
  return Status::Ok();
}

// [MS-SMB2] 2.2.32
Result<IoctlResponse> DecodeIoctlResponse(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, kResponseStructureSize, kResponseFixedSize,
                                               "ioctl response: bad size"));
  IoctlResponse out;
  r.U16();  // StructureSize
  r.U16();  // Reserved
  out.ctl_code = r.U32();
  out.file_id.persistent = r.U64();
  out.file_id.volatile_id = r.U64();
  uint32_t input_offset = r.U32();
  uint32_t input_count = r.U32();
  uint32_t output_offset = r.U32();
  uint32_t output_count = r.U32();
  r.U32();  // Flags
  r.U32();  // Reserved2
  if (!r.ok()) return Status::Protocol("ioctl response: truncated");
  SMB3_ASSIGN_OR_RETURN(out.input, VariablePart(message, input_offset, input_count,
                                                "ioctl response: input out of bounds"));
  SMB3_ASSIGN_OR_RETURN(out.output, VariablePart(message, output_offset, output_count,
                                                 "ioctl response: output out of bounds"));
  return out;
}

}  // namespace smb3::smb2
