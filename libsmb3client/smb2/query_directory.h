// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.33 SMB2 QUERY_DIRECTORY Request, 2.2.34 SMB2 QUERY_DIRECTORY Response, and the
// decoding of the directory entry list ([MS-FSCC] 2.4.10, 2.4.15, 2.4.8, 2.4.24, 2.4.22) into
// smb3::DirEntry.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/byte_io.h"
#include "smb2/file_info.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.33 Flags.
inline constexpr uint8_t SMB2_RESTART_SCANS = 0x01;
inline constexpr uint8_t SMB2_RETURN_SINGLE_ENTRY = 0x02;
inline constexpr uint8_t SMB2_INDEX_SPECIFIED = 0x04;
inline constexpr uint8_t SMB2_REOPEN = 0x10;

// [MS-SMB2] 2.2.33 SMB2 QUERY_DIRECTORY Request.
struct QueryDirectoryRequest {
  uint8_t file_information_class = FileIdBothDirectoryInformation;
  uint8_t flags = 0;
  uint32_t file_index = 0;  // only with SMB2_INDEX_SPECIFIED
  FileId file_id;
  std::string_view file_name = "*";  // UTF-8 search pattern; "" sends none
  uint32_t output_buffer_length = 65536;
};

// Appends the QUERY_DIRECTORY body after the header already in `w`: the 32-byte fixed part and
// the UTF-16LE pattern at offset 96 (one zero byte instead when the pattern is empty). Errors
// (kInvalidArgument): a pattern that is not valid UTF-8 or longer than 65534 bytes in UTF-16.
Status EncodeQueryDirectoryRequest(const QueryDirectoryRequest& request, ByteWriter& w);

// [MS-SMB2] 2.2.34 SMB2 QUERY_DIRECTORY Response.
struct QueryDirectoryResponse {
  ByteView output_buffer;  // the entry list, a view into the message
};

inline constexpr uint16_t kQueryDirectoryResponseStructureSize = 9;

// Errors (kProtocol): short body, wrong StructureSize, output buffer outside the message or
// overlapping the fixed part.
Result<QueryDirectoryResponse> DecodeQueryDirectoryResponse(ByteView message);

// An output buffer with more entries than this is rejected.
inline constexpr size_t kMaxDirectoryEntries = 1u << 20;

// Walks the entry list of `file_information_class` (FileDirectoryInformation,
// FileFullDirectoryInformation, FileBothDirectoryInformation, FileIdFullDirectoryInformation or
// FileIdBothDirectoryInformation) and appends one DirEntry per entry, leaving out "." and "..".
// FileId, where the class has one, becomes info.file_id. Names are converted to UTF-8.
// Errors: kInvalidArgument for another class; kProtocol for an entry shorter than its class's fixed
// part, a NextEntryOffset that is not a multiple of 8 or does not cover the entry and its name or
// runs past the buffer, a name that is empty, odd-length, not valid UTF-16, or contains '/' or NUL,
// more than kMaxDirectoryEntries entries. On error `out` may hold the entries decoded before it.
Status AppendDirectoryEntries(ByteView output_buffer, uint8_t file_information_class,
                              std::vector<DirEntry>& out);
// The same into a new vector. An empty buffer yields no entries.
Result<std::vector<DirEntry>> DecodeDirectoryEntries(ByteView output_buffer,
                                                     uint8_t file_information_class);

}  // namespace smb3::smb2
