// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as every [MS-FSCC] 2.4/2.5 information class of smb2/file_info.h and as
// a directory entry list; the first byte picks the directory class.
#include <cstddef>
#include <cstdint>

#include "smb2/file_info.h"
#include "smb2/query_directory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smb3::smb2;
  if (size == 0) return 0;
  smb3::ByteView buffer(data + 1, size - 1);
  (void)DecodeFileBasicInformation(buffer);
  (void)DecodeFileStandardInformation(buffer);
  (void)DecodeFileInternalInformation(buffer);
  (void)DecodeFileAllInformation(buffer);
  (void)DecodeFileNetworkOpenInformation(buffer);
  (void)DecodeFileFsFullSizeInformation(buffer);
  (void)DecodeFileFsSizeInformation(buffer);
  (void)DecodeFileFsAttributeInformation(buffer);
  (void)DecodeDirectoryEntries(buffer, data[0]);
  return 0;
}
