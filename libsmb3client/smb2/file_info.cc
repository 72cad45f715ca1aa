// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/file_info.h"

#include "base/utf16.h"
#include "smb2/create.h"

namespace smb3::smb2 {
namespace {

FileBasicInfo ReadBasic(ByteReader& r) {
  // [MS-FSCC] 2.4.7: four FILETIMEs, FileAttributes, Reserved.
  FileBasicInfo b;
  b.creation_time = r.U64();
  b.last_access_time = r.U64();
  b.last_write_time = r.U64();
  b.change_time = r.U64();
  b.file_attributes = r.U32();
  r.U32();  // Reserved
  return b;
}

FileStandardInfo ReadStandard(ByteReader& r) {
  // [MS-FSCC] 2.4.47: AllocationSize, EndOfFile, NumberOfLinks, DeletePending, Directory, Reserved.
  FileStandardInfo s;
  s.allocation_size = r.U64();
  s.end_of_file = r.U64();
  s.number_of_links = r.U32();
  s.delete_pending = r.U8() != 0;
  s.directory = r.U8() != 0;
  r.U16();  // Reserved
  return s;
}

}  // namespace

Result<FileBasicInfo> DecodeFileBasicInformation(ByteView buffer) {
  if (buffer.size() < kFileBasicInformationSize)
    return Status::Protocol("FileBasicInformation: truncated");
  ByteReader r(buffer);
  return ReadBasic(r);
}

Result<FileStandardInfo> DecodeFileStandardInformation(ByteView buffer) {
  // The last 2 bytes are Reserved; some servers send only the 22 meaningful ones.
  if (buffer.size() < kFileStandardInformationSize - 2)
    return Status::Protocol("FileStandardInformation: truncated");
  ByteReader r(buffer.first(kFileStandardInformationSize - 2));
  FileStandardInfo s;
  s.allocation_size = r.U64();
  s.end_of_file = r.U64();
  s.number_of_links = r.U32();
  s.delete_pending = r.U8() != 0;
  s.directory = r.U8() != 0;
  return s;
}

Result<uint64_t> DecodeFileInternalInformation(ByteView buffer) {
  // [MS-FSCC] 2.4.27: IndexNumber.
  if (buffer.size() < 8) return Status::Protocol("FileInternalInformation: truncated");
  return LoadU64(buffer.data());
}

Result<FileInfo> DecodeFileAllInformation(ByteView buffer) {
  // [MS-FSCC] 2.4.2: the fixed part only; NameInformation may be cut short by the server.
  if (buffer.size() < kFileAllInformationFixedSize)
    return Status::Protocol("FileAllInformation: truncated");
  ByteReader r(buffer);
  FileBasicInfo basic = ReadBasic(r);
  FileStandardInfo standard = ReadStandard(r);
  uint64_t index_number = r.U64();  // InternalInformation
  FileInfo info;
  info.creation_time = basic.creation_time;
  info.last_access_time = basic.last_access_time;
  info.last_write_time = basic.last_write_time;
  info.change_time = basic.change_time;
  info.attributes = basic.file_attributes;
  info.allocation_size = standard.allocation_size;
  info.end_of_file = standard.end_of_file;
  info.nlink = standard.number_of_links;
  info.delete_pending = standard.delete_pending;
  info.file_id = index_number;
  return info;
}

Result<FileInfo> DecodeFileNetworkOpenInformation(ByteView buffer) {
  // [MS-FSCC] 2.4.34: four FILETIMEs, AllocationSize, EndOfFile, FileAttributes, Reserved.
  if (buffer.size() < kFileNetworkOpenInformationSize)
    return Status::Protocol("FileNetworkOpenInformation: truncated");
  ByteReader r(buffer);
  FileInfo info;
  info.creation_time = r.U64();
  info.last_access_time = r.U64();
  info.last_write_time = r.U64();
  info.change_time = r.U64();
  info.allocation_size = r.U64();
  info.end_of_file = r.U64();
  info.attributes = r.U32();
  return info;
}

Result<FsInfo> DecodeFileFsFullSizeInformation(ByteView buffer) {
  // [MS-FSCC] 2.5.4.
  if (buffer.size() < 32) return Status::Protocol("FileFsFullSizeInformation: truncated");
  ByteReader r(buffer);
  FsInfo fs;
  fs.total_allocation_units = r.U64();
  fs.caller_available_units = r.U64();
  fs.actual_available_units = r.U64();
  fs.sectors_per_unit = r.U32();
  fs.bytes_per_sector = r.U32();
  return fs;
}

Result<FsInfo> DecodeFileFsSizeInformation(ByteView buffer) {
  // [MS-FSCC] 2.5.8.
  if (buffer.size() < 24) return Status::Protocol("FileFsSizeInformation: truncated");
  ByteReader r(buffer);
  FsInfo fs;
  fs.total_allocation_units = r.U64();
  fs.caller_available_units = fs.actual_available_units = r.U64();
  fs.sectors_per_unit = r.U32();
  fs.bytes_per_sector = r.U32();
  return fs;
}

void FileFsAttributeInfo::MergeInto(FsInfo& fs) const {
  fs.fs_attributes = file_system_attributes;
  fs.max_name_length = maximum_component_name_length;
  fs.fs_name = file_system_name;
}

Result<FileFsAttributeInfo> DecodeFileFsAttributeInformation(ByteView buffer) {
  // [MS-FSCC] 2.5.1: FileSystemAttributes, MaximumComponentNameLength, FileSystemNameLength, name.
  ByteReader r(buffer);
  FileFsAttributeInfo out;
  out.file_system_attributes = r.U32();
  out.maximum_component_name_length = r.U32();
  uint32_t name_length = r.U32();
  if (!r.ok()) return Status::Protocol("FileFsAttributeInformation: truncated");
  if (name_length > kMaxFileSystemNameBytes || name_length % 2 != 0)
    return Status::Protocol("FileFsAttributeInformation: bad FileSystemNameLength");
  ByteView name = r.Bytes(name_length);
  if (!r.ok()) return Status::Protocol("FileFsAttributeInformation: name out of bounds");
  auto utf8 = Utf16leToUtf8(name);
  if (!utf8.ok()) return Status::Protocol("FileFsAttributeInformation: bad name");
  out.file_system_name = std::move(utf8).value();
  return out;
}

void EncodeFileBasicInformation(const FileBasicInfo& info, ByteWriter& w) {
  // [MS-FSCC] 2.4.7.
  w.U64(info.creation_time);
  w.U64(info.last_access_time);
  w.U64(info.last_write_time);
  w.U64(info.change_time);
  w.U32(info.file_attributes);
  w.U32(0);  // Reserved
}

void EncodeFileEndOfFileInformation(uint64_t end_of_file, ByteWriter& w) { w.U64(end_of_file); }

void EncodeFileAllocationInformation(uint64_t allocation_size, ByteWriter& w) {
  w.U64(allocation_size);
}

void EncodeFileDispositionInformation(bool delete_pending, ByteWriter& w) {
  w.U8(delete_pending ? 1 : 0);
}

Status EncodeFileRenameInformation(std::string_view new_path, bool replace_if_exists,
                                   ByteWriter& w) {
  SMB3_ASSIGN_OR_RETURN(std::vector<uint8_t> name, SharePathToUtf16(new_path));
  if (name.empty()) return Status::Invalid("rename: empty target");
  // [MS-FSCC] 2.4.42.2 FILE_RENAME_INFORMATION_TYPE_2.
  const size_t start = w.size();
  w.U8(replace_if_exists ? 1 : 0);
  w.Zeros(7);  // Reserved
  w.U64(0);    // RootDirectory: MUST be 0 for network operations
  w.U32(static_cast<uint32_t>(name.size()));
  w.Bytes(name);
  // Padding: the structure is at least 24 bytes long.
  if (w.size() - start < 24) w.Zeros(24 - (w.size() - start));
  return Status::Ok();
}

}  // namespace smb3::smb2
