// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.2 ERROR response, 2.2.2.1 error contexts and the 2.2.2.2 ErrorData formats the
// client uses (symbolic link error response, STATUS_BUFFER_TOO_SMALL's required length).
//
// The connection layer checks the header Status first: a failing status normally carries this
// 9-byte error body instead of the command's own response, except where the command returns a
// real body with a non-success status (IsErrorResponse knows those cases).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.2.1 ErrorId.
inline constexpr uint32_t SMB2_ERROR_ID_DEFAULT = 0x00000000;
inline constexpr uint32_t SMB2_ERROR_ID_SHARE_REDIRECT = 0x72645253;

// [MS-SMB2] 2.2.2.2.1 Flags.
inline constexpr uint32_t SYMLINK_FLAG_RELATIVE = 0x00000001;

// [MS-SMB2] 2.2.2.1 one SMB2 ERROR Context.
struct ErrorContext {
  uint32_t error_id = 0;
  ByteView data;  // ErrorContextData, view into the message
};

// [MS-SMB2] 2.2.2 ERROR response.
struct ErrorResponse {
  uint32_t status = 0;  // from the header
  uint8_t error_context_count = 0;
  uint32_t byte_count = 0;
  ByteView error_data;                 // ErrorData, view into the message
  std::vector<ErrorContext> contexts;  // parsed when error_context_count > 0 (3.1.1)
};

// [MS-SMB2] 2.2.2.2.1 Symbolic Link Error Response, names decoded to UTF-8.
struct SymlinkErrorResponse {
  uint16_t unparsed_path_length = 0;  // bytes (UTF-16) at the end of the original path
  std::string substitute_name;
  std::string print_name;
  uint32_t flags = 0;  // SYMLINK_FLAG_RELATIVE
};

// True when `message` (header included) carries the 2.2.2 error body: its Status is not
// STATUS_SUCCESS, its body's StructureSize is 9, and it is not one of the responses that pair a
// non-success status with their own 9-byte body (SESSION_SETUP with
// STATUS_MORE_PROCESSING_REQUIRED; QUERY_INFO, QUERY_DIRECTORY and CHANGE_NOTIFY with
// STATUS_BUFFER_OVERFLOW). An interim STATUS_PENDING response is an error response. Never reads out
// of bounds.
bool IsErrorResponse(ByteView message);

// Parses the error body of `message`. ErrorData must lie within the message; with a non-zero
// ErrorContextCount it must hold exactly that many 8-byte aligned contexts.
// Errors: kProtocol on any malformed field.
Result<ErrorResponse> DecodeErrorResponse(ByteView message);

// Parses a Symbolic Link Error Response from ErrorData (or from the ErrorContextData of an
// SMB2_ERROR_ID_DEFAULT context). Errors: kProtocol when the tags, lengths or offsets are wrong
// or a name is not valid UTF-16.
Result<SymlinkErrorResponse> DecodeSymlinkErrorResponse(ByteView error_data);

// The symlink error of a decoded STATUS_STOPPED_ON_SYMLINK response, wherever the dialect put it.
// Errors: kProtocol when the status is not STATUS_STOPPED_ON_SYMLINK or the data is malformed.
Result<SymlinkErrorResponse> GetSymlinkError(const ErrorResponse& error);

// [MS-SMB2] 2.2.2.2: the minimum buffer length a STATUS_BUFFER_TOO_SMALL error reports.
// Errors: kProtocol when the status differs or ErrorData holds fewer than 4 bytes.
Result<uint32_t> GetRequiredBufferLength(const ErrorResponse& error);

}  // namespace smb3::smb2
