// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 ERROR response ([MS-SMB2] 2.2.2) with its error contexts
// (2.2.2.1), then its ErrorData as a symbolic link error (2.2.2.2.1) and a required length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView input(data, size);
  (void)smb3::smb2::IsErrorResponse(input);
  (void)smb3::smb2::DecodeSymlinkErrorResponse(input);
  auto r = smb3::smb2::DecodeErrorResponse(input);
  if (!r.ok()) return 0;
  if (r->error_data.size() != r->byte_count) abort();
  if (r->error_context_count != 0 && r->contexts.size() != r->error_context_count) abort();
  (void)smb3::smb2::DecodeSymlinkErrorResponse(r->error_data);
  (void)smb3::smb2::GetSymlinkError(*r);
  (void)smb3::smb2::GetRequiredBufferLength(*r);
  return 0;
}
