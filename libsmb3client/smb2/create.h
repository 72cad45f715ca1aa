// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.13 SMB2 CREATE Request and 2.2.14 SMB2 CREATE Response, plus the SMB2_FILEID
// (2.2.14.1) helpers and the share-relative path conversion every path-carrying request uses.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/byte_io.h"
#include "smb2/create_context.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.13 RequestedOplockLevel / 2.2.14 OplockLevel.
inline constexpr uint8_t SMB2_OPLOCK_LEVEL_NONE = 0x00;
inline constexpr uint8_t SMB2_OPLOCK_LEVEL_II = 0x01;
inline constexpr uint8_t SMB2_OPLOCK_LEVEL_EXCLUSIVE = 0x08;
inline constexpr uint8_t SMB2_OPLOCK_LEVEL_BATCH = 0x09;
inline constexpr uint8_t SMB2_OPLOCK_LEVEL_LEASE = 0xFF;

// [MS-SMB2] 2.2.13 ImpersonationLevel.
inline constexpr uint32_t SMB2_IMPERSONATION_ANONYMOUS = 0;
inline constexpr uint32_t SMB2_IMPERSONATION_IDENTIFICATION = 1;
inline constexpr uint32_t SMB2_IMPERSONATION_IMPERSONATION = 2;
inline constexpr uint32_t SMB2_IMPERSONATION_DELEGATE = 3;

// [MS-SMB2] 2.2.13 ShareAccess.
inline constexpr uint32_t FILE_SHARE_READ = 0x00000001;
inline constexpr uint32_t FILE_SHARE_WRITE = 0x00000002;
inline constexpr uint32_t FILE_SHARE_DELETE = 0x00000004;

// [MS-SMB2] 2.2.13 CreateDisposition.
inline constexpr uint32_t FILE_SUPERSEDE = 0;
inline constexpr uint32_t FILE_OPEN = 1;
inline constexpr uint32_t FILE_CREATE = 2;
inline constexpr uint32_t FILE_OPEN_IF = 3;
inline constexpr uint32_t FILE_OVERWRITE = 4;
inline constexpr uint32_t FILE_OVERWRITE_IF = 5;

// [MS-SMB2] 2.2.13 CreateOptions.
inline constexpr uint32_t FILE_DIRECTORY_FILE = 0x00000001;
inline constexpr uint32_t FILE_WRITE_THROUGH = 0x00000002;
inline constexpr uint32_t FILE_SEQUENTIAL_ONLY = 0x00000004;
inline constexpr uint32_t FILE_NO_INTERMEDIATE_BUFFERING = 0x00000008;
inline constexpr uint32_t FILE_NON_DIRECTORY_FILE = 0x00000040;
inline constexpr uint32_t FILE_NO_EA_KNOWLEDGE = 0x00000200;
inline constexpr uint32_t FILE_RANDOM_ACCESS = 0x00000800;
inline constexpr uint32_t FILE_DELETE_ON_CLOSE = 0x00001000;
inline constexpr uint32_t FILE_OPEN_FOR_BACKUP_INTENT = 0x00004000;
inline constexpr uint32_t FILE_NO_COMPRESSION = 0x00008000;
inline constexpr uint32_t FILE_OPEN_REPARSE_POINT = 0x00200000;
inline constexpr uint32_t FILE_OPEN_NO_RECALL = 0x00400000;

// [MS-SMB2] 2.2.14 Flags.
inline constexpr uint8_t SMB2_CREATE_FLAG_REPARSEPOINT = 0x01;

// [MS-SMB2] 2.2.14 CreateAction.
inline constexpr uint32_t FILE_SUPERSEDED = 0;
inline constexpr uint32_t FILE_OPENED = 1;
inline constexpr uint32_t FILE_CREATED = 2;
inline constexpr uint32_t FILE_OVERWRITTEN = 3;

// [MS-SMB2] 2.2.14.1 SMB2_FILEID: Persistent then Volatile, 16 bytes.
inline constexpr size_t kFileIdSize = 16;
inline void AppendFileId(const FileId& id, ByteWriter& w) {
  w.U64(id.persistent);
  w.U64(id.volatile_id);
}
inline FileId ReadFileId(ByteReader& r) {
  FileId id;
  id.persistent = r.U64();
  id.volatile_id = r.U64();
  return id;
}

// Converts a UTF-8 share-relative path to the UTF-16LE form the server expects ([MS-FSCC] 2.1.5):
// '/' becomes '\', leading, trailing and repeated separators are dropped, "" (or "/") is the share
// root and yields no bytes. Errors (kInvalidArgument): invalid UTF-8, a NUL character, a "." or
// ".." component, or a result longer than 65534 bytes (NameLength is 16 bits).
Result<std::vector<uint8_t>> SharePathToUtf16(std::string_view path);

// [MS-SMB2] 2.2.13 SMB2 CREATE Request.
struct CreateRequest {
  uint8_t requested_oplock_level = SMB2_OPLOCK_LEVEL_NONE;
  uint32_t impersonation_level = SMB2_IMPERSONATION_IMPERSONATION;
  uint32_t desired_access = 0;
  uint32_t file_attributes = 0;
  uint32_t share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
  uint32_t create_disposition = FILE_OPEN;
  uint32_t create_options = 0;
  std::string_view name;  // UTF-8, share-relative, '/' or '\' separators; "" opens the root
  CreateContextsRequest contexts;
};

// Appends the CREATE body after the 64-byte header already in `w` (the message's header starts at
// w.size() - 64; offsets are counted from there). Layout: the 56-byte fixed part, the name at
// offset 120, then the create context chain at the next 8-byte boundary. An empty name with no
// contexts gets one zero byte so that the Buffer is not empty (2.2.13). Errors (kInvalidArgument):
// w holds less than a header, or the name is not a valid path (see SharePathToUtf16).
Status EncodeCreateRequest(const CreateRequest& request, ByteWriter& w);

// [MS-SMB2] 2.2.14 SMB2 CREATE Response.
struct CreateResponse {
  uint8_t oplock_level = 0;
  uint8_t flags = 0;
  uint32_t create_action = 0;
  FileTime creation_time = 0;
  FileTime last_access_time = 0;
  FileTime last_write_time = 0;
  FileTime change_time = 0;
  uint64_t allocation_size = 0;
  uint64_t end_of_file = 0;
  uint32_t file_attributes = 0;
  FileId file_id;
  ByteView create_contexts;  // the raw chain, a view into the message
  CreateContextsResponse contexts;

  // The metadata as a FileInfo; file_id is the QFid DiskFileId when the server returned one.
  FileInfo ToFileInfo() const;
};

inline constexpr uint16_t kCreateResponseStructureSize = 89;
inline constexpr size_t kCreateResponseFixed = 88;

// Decodes a CREATE response (whole message, header included). Errors (kProtocol): short body,
// wrong StructureSize, a context chain outside the message or malformed (see create_context.h).
Result<CreateResponse> DecodeCreateResponse(ByteView message);

}  // namespace smb3::smb2
