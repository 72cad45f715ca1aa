// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/query_directory.h"

#include "base/utf16.h"
#include "smb2/body.h"
#include "smb2/create.h"
#include "smb2/header.h"

namespace smb3::smb2 {
namespace {

// Where each supported class keeps its FileName and (if any) FileId. All share the first 64
// bytes of [MS-FSCC] 2.4.10: NextEntryOffset, FileIndex, 4 times, EndOfFile, AllocationSize,
// FileAttributes, FileNameLength.
struct EntryLayout {
  size_t name_offset;
  size_t file_id_offset;  // 0: none
};

bool LayoutFor(uint8_t file_information_class, EntryLayout& layout) {
  switch (file_information_class) {
    case FileDirectoryInformation:  // [MS-FSCC] 2.4.10
      layout = {64, 0};
      return true;
    case FileFullDirectoryInformation:  // [MS-FSCC] 2.4.15: + EaSize
      layout = {68, 0};
      return true;
    case FileBothDirectoryInformation:  // [MS-FSCC] 2.4.8: + EaSize, ShortNameLength, ShortName
      layout = {94, 0};
      return true;
    case FileIdFullDirectoryInformation:  // [MS-FSCC] 2.4.24: + EaSize, Reserved, FileId
      layout = {80, 72};
      return true;
    case FileIdBothDirectoryInformation:  // [MS-FSCC] 2.4.22: + EaSize .. Reserved2, FileId
      layout = {104, 96};
      return true;
    default:
      return false;
  }
}

}  // namespace

Status EncodeQueryDirectoryRequest(const QueryDirectoryRequest& request, ByteWriter& w) {
  if (w.size() < kHeaderSize) return Status::Invalid("query directory request: no header");
  auto pattern = Utf8ToUtf16le(request.file_name);
  if (!pattern.ok() || pattern->size() > 0xFFFE)
    return Status::Invalid("query directory request: bad pattern");
  const size_t base = w.size() - kHeaderSize;
  // [MS-SMB2] 2.2.33 fixed part (32 bytes).
  w.U16(33);  // StructureSize
  w.U8(request.file_information_class);
  w.U8(request.flags);
  w.U32(request.file_index);
  AppendFileId(request.file_id, w);
  const size_t name_fields = w.size();
  w.U16(0);  // FileNameOffset
  w.U16(0);  // FileNameLength
  w.U32(request.output_buffer_length);
  if (pattern->empty()) {
    w.U8(0);  // FileNameOffset/Length stay 0 (no pattern); keep the Buffer non-empty
  } else {
    w.PatchU16(name_fields, static_cast<uint16_t>(w.size() - base));
    w.PatchU16(name_fields + 2, static_cast<uint16_t>(pattern->size()));
    w.Bytes(*pattern);
  }
  return Status::Ok();
}

Result<QueryDirectoryResponse> DecodeQueryDirectoryResponse(ByteView message) {
  // [MS-SMB2] 2.2.34.
  static_assert(kQueryDirectoryResponseStructureSize == 9);
  QueryDirectoryResponse out;
  SMB3_ASSIGN_OR_RETURN(out.output_buffer,
                        DecodeOutputBufferBody(message, {"query directory response: bad body",
                                                         "query directory response: buffer overlaps the fixed part",
                                                         "query directory response: buffer out of bounds"}));
  return out;
}

Status AppendDirectoryEntries(ByteView output_buffer, uint8_t file_information_class,
                              std::vector<DirEntry>& out) {
  EntryLayout layout;
  if (!LayoutFor(file_information_class, layout))
    return Status::Invalid("directory entries: unsupported information class");
  size_t pos = 0;
  size_t count = 0;
  while (pos < output_buffer.size()) {
    if (++count > kMaxDirectoryEntries) return Status::Protocol("directory entries: too many");
    ByteView rest = output_buffer.subspan(pos);
    if (rest.size() < layout.name_offset) return Status::Protocol("directory entries: truncated");
    ByteReader r(rest);
    uint32_t next = r.U32();
    r.U32();  // FileIndex
    DirEntry entry;
    entry.info.creation_time = r.U64();
    entry.info.last_access_time = r.U64();
    entry.info.last_write_time = r.U64();
    entry.info.change_time = r.U64();
    entry.info.end_of_file = r.U64();
    entry.info.allocation_size = r.U64();
    entry.info.attributes = r.U32();
    uint32_t name_length = r.U32();
    if (layout.file_id_offset != 0) entry.info.file_id = LoadU64(&rest[layout.file_id_offset]);
    // The entry's extent: up to the next entry, or the rest of the buffer for the last one.
    size_t extent = rest.size();
    if (next != 0) {
      // [MS-FSCC] 2.4.10: entries are 8-byte aligned; NextEntryOffset moves strictly forward.
      // A NextEntryOffset at or past the end promises an entry that is not there.
      if (next % 8 != 0 || next >= rest.size())
        return Status::Protocol("directory entries: bad NextEntryOffset");
      extent = next;
    }
    if (name_length == 0 || name_length % 2 != 0 || extent < layout.name_offset ||
        name_length > extent - layout.name_offset)
      return Status::Protocol("directory entries: bad FileNameLength");
    auto name = Utf16leToUtf8(rest.subspan(layout.name_offset, name_length));
    if (!name.ok()) return Status::Protocol("directory entries: bad name");
    // A name with '/' or NUL cannot be represented as a path component.
    if (name->find('/') != std::string::npos || name->find('\0') != std::string::npos)
      return Status::Protocol("directory entries: unrepresentable name");
    if (*name != "." && *name != "..") {
      entry.name = std::move(name).value();
      out.push_back(std::move(entry));
    }
    if (next == 0) break;
    pos += next;
  }
  return Status::Ok();
}

Result<std::vector<DirEntry>> DecodeDirectoryEntries(ByteView output_buffer,
                                                     uint8_t file_information_class) {
  std::vector<DirEntry> out;
  SMB3_RETURN_IF_ERROR(AppendDirectoryEntries(output_buffer, file_information_class, out));
  return out;
}

}  // namespace smb3::smb2
