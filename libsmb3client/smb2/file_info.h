// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-FSCC] 2.4 file information classes and 2.5 file system information classes: the ones this
// client queries (decoded into smb3::FileInfo / smb3::FsInfo) and the ones it sets (encoded as the
// Buffer of an SMB2 SET_INFO request).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/byte_io.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-FSCC] 2.4 FILE_INFORMATION_CLASS levels.
enum FileInformationClass : uint8_t {
  FileDirectoryInformation = 1,
  FileFullDirectoryInformation = 2,
  FileBothDirectoryInformation = 3,
  FileBasicInformation = 4,
  FileStandardInformation = 5,
  FileInternalInformation = 6,
  FileEaInformation = 7,
  FileAccessInformation = 8,
  FileNameInformation = 9,
  FileRenameInformation = 10,
  FileNamesInformation = 12,
  FileDispositionInformation = 13,
  FilePositionInformation = 14,
  FileFullEaInformation = 15,
  FileModeInformation = 16,
  FileAlignmentInformation = 17,
  FileAllInformation = 18,
  FileAllocationInformation = 19,
  FileEndOfFileInformation = 20,
  FileAlternateNameInformation = 21,
  FileStreamInformation = 22,
  FileAttributeTagInformation = 35,
  FileNetworkOpenInformation = 34,
  FileIdBothDirectoryInformation = 37,
  FileIdFullDirectoryInformation = 38,
};

// [MS-FSCC] 2.5 FS_INFORMATION_CLASS levels.
enum FsInformationClass : uint8_t {
  FileFsVolumeInformation = 1,
  FileFsSizeInformation = 3,
  FileFsDeviceInformation = 4,
  FileFsAttributeInformation = 5,
  FileFsControlInformation = 6,
  FileFsFullSizeInformation = 7,
  FileFsObjectIdInformation = 8,
  FileFsSectorSizeInformation = 11,
};

// ---- query: file information ----

// [MS-FSCC] 2.4.7 FILE_BASIC_INFORMATION (40 bytes). In a SET, a time of 0 and attributes of 0
// mean "leave unchanged".
struct FileBasicInfo {
  FileTime creation_time = 0;
  FileTime last_access_time = 0;
  FileTime last_write_time = 0;
  FileTime change_time = 0;
  uint32_t file_attributes = 0;
};
inline constexpr size_t kFileBasicInformationSize = 40;

// [MS-FSCC] 2.4.47 FILE_STANDARD_INFORMATION (24 bytes).
struct FileStandardInfo {
  uint64_t allocation_size = 0;
  uint64_t end_of_file = 0;
  uint32_t number_of_links = 0;
  bool delete_pending = false;
  bool directory = false;
};
inline constexpr size_t kFileStandardInformationSize = 24;

// The fixed part of [MS-FSCC] 2.4.2 FILE_ALL_INFORMATION before NameInformation: Basic (40),
// Standard (24), Internal (8), Ea (4), Access (4), Position (8), Mode (4), Alignment (4).
inline constexpr size_t kFileAllInformationFixedSize = 96;
// [MS-FSCC] 2.4.34 FILE_NETWORK_OPEN_INFORMATION.
inline constexpr size_t kFileNetworkOpenInformationSize = 56;

// Each decoder takes the QUERY_INFO output buffer. Errors (kProtocol): a buffer shorter than the
// structure (FileStandardInformation: its first 22 bytes, the trailing Reserved may be left out).
// Longer buffers are accepted (the extra bytes are ignored).
Result<FileBasicInfo> DecodeFileBasicInformation(ByteView buffer);
Result<FileStandardInfo> DecodeFileStandardInformation(ByteView buffer);
// [MS-FSCC] 2.4.27: the 64-bit IndexNumber ([MS-FSCC] 2.1.9 file id).
Result<uint64_t> DecodeFileInternalInformation(ByteView buffer);
// Only the fixed part is required: a server may truncate the trailing FileNameInformation (and
// answer STATUS_BUFFER_OVERFLOW). Fills times, sizes, attributes, file_id (IndexNumber), nlink
// and delete_pending.
Result<FileInfo> DecodeFileAllInformation(ByteView buffer);
// Fills times, sizes and attributes (file_id 0: this class does not carry it).
Result<FileInfo> DecodeFileNetworkOpenInformation(ByteView buffer);

// ---- query: file system information ----

// [MS-FSCC] 2.5.4 FILE_FS_FULL_SIZE_INFORMATION (32 bytes): fills the size fields of FsInfo.
Result<FsInfo> DecodeFileFsFullSizeInformation(ByteView buffer);
// [MS-FSCC] 2.5.8 FILE_FS_SIZE_INFORMATION (24 bytes): AvailableAllocationUnits fills both
// caller_available_units and actual_available_units.
Result<FsInfo> DecodeFileFsSizeInformation(ByteView buffer);

// [MS-FSCC] 2.5.1 FILE_FS_ATTRIBUTE_INFORMATION.
struct FileFsAttributeInfo {
  uint32_t file_system_attributes = 0;
  uint32_t maximum_component_name_length = 0;
  std::string file_system_name;  // UTF-8 ("NTFS", "ext4", ...)

  // Copies fs_attributes, max_name_length and fs_name into `fs`.
  void MergeInto(FsInfo& fs) const;
};
// A name longer than this is rejected.
inline constexpr size_t kMaxFileSystemNameBytes = 512;
// Errors (kProtocol): short buffer, FileSystemNameLength beyond the buffer, odd, over
// kMaxFileSystemNameBytes, or not valid UTF-16.
Result<FileFsAttributeInfo> DecodeFileFsAttributeInformation(ByteView buffer);

// ---- set: file information (the SET_INFO Buffer) ----

// [MS-FSCC] 2.4.7, 40 bytes with Reserved 0.
void EncodeFileBasicInformation(const FileBasicInfo& info, ByteWriter& w);
// [MS-FSCC] 2.4.14 FILE_END_OF_FILE_INFORMATION: EndOfFile (8 bytes).
void EncodeFileEndOfFileInformation(uint64_t end_of_file, ByteWriter& w);
// [MS-FSCC] 2.4.4 FILE_ALLOCATION_INFORMATION: AllocationSize (8 bytes).
void EncodeFileAllocationInformation(uint64_t allocation_size, ByteWriter& w);
// [MS-FSCC] 2.4.11 FILE_DISPOSITION_INFORMATION: DeletePending (1 byte).
void EncodeFileDispositionInformation(bool delete_pending, ByteWriter& w);
// [MS-FSCC] 2.4.42.2 FILE_RENAME_INFORMATION_TYPE_2: ReplaceIfExists, 7 reserved, RootDirectory 0,
// FileNameLength, FileName (the share-relative target, '\' separated; see SharePathToUtf16),
// padded to at least 24 bytes. Errors (kInvalidArgument): a bad or empty path.
Status EncodeFileRenameInformation(std::string_view new_path, bool replace_if_exists,
                                   ByteWriter& w);

}  // namespace smb3::smb2
