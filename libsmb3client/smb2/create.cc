// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/create.h"

#include <string>

#include "base/utf16.h"
#include "smb2/body.h"
#include "smb2/header.h"

namespace smb3::smb2 {

Result<std::vector<uint8_t>> SharePathToUtf16(std::string_view path) {
  // [MS-FSCC] 2.1.5: a relative pathname is components separated by '\'; the share root is the
  // empty name ([MS-SMB2] 2.2.13 NameLength 0).
  std::string joined;
  joined.reserve(path.size());
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find_first_of("/\\", pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view component = path.substr(pos, end - pos);
    if (!component.empty()) {
      if (component == "." || component == "..") return Status::Invalid("path: dot component");
      if (component.find('\0') != std::string_view::npos) return Status::Invalid("path: NUL");
      if (!joined.empty()) joined.push_back('\\');
      joined.append(component);
    }
    pos = end + 1;
  }
  auto utf16 = Utf8ToUtf16le(joined);
  if (!utf16.ok()) return Status::Invalid("path: invalid UTF-8");
  if (utf16->size() > 0xFFFE) return Status::Invalid("path: too long");
  return std::move(utf16).value();
}

Status EncodeCreateRequest(const CreateRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("create request: no header");
  const size_t base = w.size() - kHeaderSize;
  SMB3_ASSIGN_OR_RETURN(std::vector<uint8_t> name, SharePathToUtf16(request.name));
  // Checked here as well as in EncodeCreateContexts so that nothing is written on error.
  if (request.contexts.durable_handle_v2 && request.contexts.durable_reconnect_v2)
    return Status::Invalid("create request: DH2Q and DH2C are exclusive");
  // [MS-SMB2] 2.2.13 fixed part (56 bytes).
  w.U16(57);  // StructureSize
  w.U8(0);    // SecurityFlags
  w.U8(request.requested_oplock_level);
  w.U32(request.impersonation_level);
  w.U64(0);  // SmbCreateFlags
  w.U64(0);  // Reserved
  w.U32(request.desired_access);
  w.U32(request.file_attributes);
  w.U32(request.share_access);
  w.U32(request.create_disposition);
  w.U32(request.create_options);
  const size_t name_fields = w.size();
  w.U16(0);  // NameOffset
  w.U16(0);  // NameLength
  w.U32(0);  // CreateContextsOffset
  w.U32(0);  // CreateContextsLength
  // The Buffer starts at offset 120, which is 8-byte aligned as NameOffset requires.
  const size_t name_offset = w.size() - base;
  w.Bytes(name);
  w.PatchU16(name_fields, static_cast<uint16_t>(name_offset));
  w.PatchU16(name_fields + 2, static_cast<uint16_t>(name.size()));
  if (!request.contexts.empty()) {
    // [MS-SMB2] 2.2.13: CreateContextsOffset points at the first 8-byte aligned context.
    size_t rem = (w.size() - base) % 8;
    if (rem) w.Zeros(8 - rem);
    const size_t contexts_offset = w.size() - base;
    SMB3_RETURN_IF_ERROR(EncodeCreateContexts(request.contexts, base, w));
    w.PatchU32(name_fields + 4, static_cast<uint32_t>(contexts_offset));
    w.PatchU32(name_fields + 8, static_cast<uint32_t>(w.size() - base - contexts_offset));
  } else if (name.empty()) {
    w.U8(0);  // [MS-SMB2] 2.2.13: the Buffer MUST be at least one byte long
  }
  return Status::Ok();
}

FileInfo CreateResponse::ToFileInfo() const {
  FileInfo info;
  info.creation_time = creation_time;
  info.last_access_time = last_access_time;
  info.last_write_time = last_write_time;
  info.change_time = change_time;
  info.allocation_size = allocation_size;
  info.end_of_file = end_of_file;
  info.attributes = file_attributes;
  if (contexts.on_disk_id) info.file_id = contexts.on_disk_id->disk_file_id;
  return info;
}

Result<CreateResponse> DecodeCreateResponse(ByteView message) {
  constexpr const char* kWhere = "create response: bad body";
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, kCreateResponseStructureSize,
                                               kCreateResponseFixed, kWhere));
  // [MS-SMB2] 2.2.14.
  CreateResponse out;
  r.U16();  // StructureSize
  out.oplock_level = r.U8();
  out.flags = r.U8();
  out.create_action = r.U32();
  out.creation_time = r.U64();
  out.last_access_time = r.U64();
  out.last_write_time = r.U64();
  out.change_time = r.U64();
  out.allocation_size = r.U64();
  out.end_of_file = r.U64();
  out.file_attributes = r.U32();
  r.U32();  // Reserved2
  out.file_id = ReadFileId(r);
  uint32_t contexts_offset = r.U32();
  uint32_t contexts_length = r.U32();
  if (!r.ok()) return Status::Protocol(kWhere);
  SMB3_ASSIGN_OR_RETURN(out.create_contexts,
                        VariablePart(message, contexts_offset, contexts_length,
                                     "create response: contexts out of bounds"));
  if (contexts_length != 0 && contexts_offset < kHeaderSize + kCreateResponseFixed)
    return Status::Protocol("create response: contexts overlap the fixed part");
  SMB3_ASSIGN_OR_RETURN(out.contexts, DecodeCreateContexts(out.create_contexts));
  return out;
}

}  // namespace smb3::smb2
