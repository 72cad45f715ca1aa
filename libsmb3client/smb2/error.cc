// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/error.h"

#include "base/utf16.h"
#include "smb2/body.h"
#include "smb3/ntstatus.h"

namespace smb3::smb2 {
namespace {

constexpr uint16_t kErrorStructureSize = 9;
constexpr size_t kErrorFixedSize = 8;
constexpr size_t kErrorContextHeaderSize = 8;  // ErrorDataLength, ErrorId

// [MS-SMB2] 2.2.2.2.1
constexpr uint32_t kSymLinkErrorTag = 0x4C4D5953;
constexpr uint32_t kIoReparseTagSymlink = 0xA000000C;
constexpr size_t kSymlinkFixedSize = 28;         // through Flags
constexpr size_t kSymlinkReparseFixedSize = 12;  // SubstituteNameOffset .. Flags

}  // namespace

bool IsErrorResponse(ByteView message) {
  if (message.size() < kHeaderSize + 2) return false;
  const uint32_t status = LoadU32(&message[kOffsetStatus]);
  const uint16_t command = LoadU16(&message[kOffsetCommand]);
  if (status == STATUS_SUCCESS) return false;
  if (LoadU16(&message[kHeaderSize]) != kErrorStructureSize) return false;
  // Responses whose own body is 9 bytes and that come with a real body despite the status:
  // [MS-SMB2] 3.2.5.3.1 (SESSION_SETUP) and 3.3.4.4 (STATUS_BUFFER_OVERFLOW on QUERY_INFO,
  // QUERY_DIRECTORY, CHANGE_NOTIFY).
  if (command == SMB2_SESSION_SETUP && status == STATUS_MORE_PROCESSING_REQUIRED) return false;
  if (status == STATUS_BUFFER_OVERFLOW &&
      (command == SMB2_QUERY_INFO || command == SMB2_QUERY_DIRECTORY ||
       command == SMB2_CHANGE_NOTIFY)) {
    return false;
  }
  return true;
}

// [MS-SMB2] 2.2.2
Result<ErrorResponse> DecodeErrorResponse(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, kErrorStructureSize, kErrorFixedSize,
                                               "error response: bad size"));
  ErrorResponse out;
  out.status = LoadU32(&message[kOffsetStatus]);
  r.U16();  // StructureSize
  out.error_context_count = r.U8();
  r.U8();  // Reserved
  out.byte_count = r.U32();
  if (!r.ok()) return Status::Protocol("error response: truncated");
  SMB3_ASSIGN_OR_RETURN(out.error_data,
                        VariablePart(message, r.offset(), out.byte_count,
                                     "error response: ByteCount exceeds the message"));
  if (out.error_context_count == 0) return out;

  // [MS-SMB2] 2.2.2.1: ErrorContextCount contexts, each 8-byte aligned from the start of the
  // error body; ErrorData starts at body offset 8, so alignment within ErrorData is the same.
  out.contexts.reserve(out.error_context_count);
  size_t pos = 0;
  for (uint8_t i = 0; i < out.error_context_count; ++i) {
    if (i > 0) pos = (pos + 7) & ~size_t{7};
    auto head = Slice(out.error_data, pos, kErrorContextHeaderSize);
    if (!head) return Status::Protocol("error response: error context out of bounds");
    ErrorContext context;
    uint32_t length = LoadU32(&(*head)[0]);
    context.error_id = LoadU32(&(*head)[4]);
    auto data = Slice(out.error_data, pos + kErrorContextHeaderSize, length);
    if (!data) return Status::Protocol("error response: ErrorDataLength out of bounds");
    context.data = *data;
    out.contexts.push_back(context);
    pos += kErrorContextHeaderSize + length;
  }
  return out;
}

// [MS-SMB2] 2.2.2.2.1
Result<SymlinkErrorResponse> DecodeSymlinkErrorResponse(ByteView error_data) {
  ByteReader r(error_data);
  uint32_t symlink_length = r.U32();
  uint32_t error_tag = r.U32();
  uint32_t reparse_tag = r.U32();
  uint16_t reparse_data_length = r.U16();
  SymlinkErrorResponse out;
  out.unparsed_path_length = r.U16();
  uint16_t substitute_offset = r.U16();
  uint16_t substitute_length = r.U16();
  uint16_t print_offset = r.U16();
  uint16_t print_length = r.U16();
  out.flags = r.U32();
  if (!r.ok()) return Status::Protocol("symlink error: truncated");
  if (error_tag != kSymLinkErrorTag) return Status::Protocol("symlink error: bad SymLinkErrorTag");
  if (reparse_tag != kIoReparseTagSymlink) return Status::Protocol("symlink error: bad ReparseTag");
  // SymLinkLength counts everything after itself; it must cover the fixed part and lie in the data.
  if (symlink_length < kSymlinkFixedSize - 4 || symlink_length > error_data.size() - 4) {
    return Status::Protocol("symlink error: bad SymLinkLength");
  }
  if (reparse_data_length < kSymlinkReparseFixedSize) {
    return Status::Protocol("symlink error: bad ReparseDataLength");
  }
  const size_t path_buffer_length = reparse_data_length - kSymlinkReparseFixedSize;
  auto path_buffer =
      Slice(error_data.first(symlink_length + 4), kSymlinkFixedSize, path_buffer_length);
  if (!path_buffer) return Status::Protocol("symlink error: PathBuffer out of bounds");
  auto substitute = Slice(*path_buffer, substitute_offset, substitute_length);
  auto print = Slice(*path_buffer, print_offset, print_length);
  if (!substitute || !print) return Status::Protocol("symlink error: name out of bounds");
  auto substitute_name = Utf16leToUtf8(*substitute);
  auto print_name = Utf16leToUtf8(*print);
  if (!substitute_name.ok() || !print_name.ok()) {
    return Status::Protocol("symlink error: name is not valid UTF-16");
  }
  out.substitute_name = std::move(substitute_name).value();
  out.print_name = std::move(print_name).value();
  return out;
}

Result<SymlinkErrorResponse> GetSymlinkError(const ErrorResponse& error) {
  if (error.status != STATUS_STOPPED_ON_SYMLINK) {
    return Status::Protocol("symlink error: status is not STATUS_STOPPED_ON_SYMLINK");
  }
  if (error.contexts.empty()) return DecodeSymlinkErrorResponse(error.error_data);
  // [MS-SMB2] 2.2.2.1: in 3.1.1 the response sits in an SMB2_ERROR_ID_DEFAULT context.
  for (const ErrorContext& context : error.contexts) {
    if (context.error_id == SMB2_ERROR_ID_DEFAULT) return DecodeSymlinkErrorResponse(context.data);
  }
  return Status::Protocol("symlink error: no default error context");
}

Result<uint32_t> GetRequiredBufferLength(const ErrorResponse& error) {
  if (error.status != STATUS_BUFFER_TOO_SMALL) {
    return Status::Protocol("error response: status is not STATUS_BUFFER_TOO_SMALL");
  }
  ByteView data = error.error_data;
  for (const ErrorContext& context : error.contexts) {
    if (context.error_id == SMB2_ERROR_ID_DEFAULT) {
      data = context.data;
      break;
    }
  }
  if (data.size() < 4) return Status::Protocol("error response: no required buffer length");
  return LoadU32(data.data());
}

}  // namespace smb3::smb2
