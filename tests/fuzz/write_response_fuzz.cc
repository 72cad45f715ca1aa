// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 WRITE response ([MS-SMB2] 2.2.22) and as a list of
// SMB_DIRECT_BUFFER_DESCRIPTOR_V1 ([MS-SMBD] 2.2.3.1), which must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "smb2/channel.h"
#include "smb2/write.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView message(data, size);
  (void)smb3::smb2::DecodeWriteResponse(message);
  auto list = smb3::smb2::DecodeBufferDescriptorsV1(message);
  if (!list.ok()) return 0;
  auto again = smb3::smb2::EncodeBufferDescriptorsV1(*list);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) abort();
  return 0;
}
