// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 QUERY_DIRECTORY response ([MS-SMB2] 2.2.34) and its output
// buffer as each supported directory information class ([MS-FSCC] 2.4).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "smb2/query_directory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smb3::smb2;
  auto r = DecodeQueryDirectoryResponse(smb3::ByteView(data, size));
  if (!r.ok()) return 0;
  for (uint8_t cls : {FileIdBothDirectoryInformation, FileIdFullDirectoryInformation,
                      FileDirectoryInformation, FileFullDirectoryInformation,
                      FileBothDirectoryInformation}) {
    auto entries = DecodeDirectoryEntries(r->output_buffer, cls);
    if (!entries.ok()) continue;
    for (const smb3::DirEntry& e : *entries)
      if (e.name.empty() || e.name == "." || e.name == ".." ||
          e.name.find('/') != std::string::npos)
        abort();
  }
  return 0;
}
