// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 QUERY_INFO response ([MS-SMB2] 2.2.38) and its output buffer
// as the file and file system information classes the client queries.
#include <cstddef>
#include <cstdint>

#include "smb2/file_info.h"
#include "smb2/query_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smb3::smb2;
  auto r = DecodeQueryInfoResponse(smb3::ByteView(data, size));
  if (!r.ok()) return 0;
  smb3::ByteView out = r->output_buffer;
  (void)DecodeFileAllInformation(out);
  (void)DecodeFileNetworkOpenInformation(out);
  (void)DecodeFileFsFullSizeInformation(out);
  (void)DecodeFileFsAttributeInformation(out);
  return 0;
}
