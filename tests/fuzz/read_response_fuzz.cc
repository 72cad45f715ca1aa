// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an SMB2 READ response ([MS-SMB2] 2.2.20), whole and by its fixed
// part; the data must lie inside the message and both decoders must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/read.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView message(data, size);
  auto whole = smb3::smb2::DecodeReadResponse(message);
  size_t prefix = size < smb3::smb2::kReadResponseFixed ? size : smb3::smb2::kReadResponseFixed;
  auto fixed = smb3::smb2::DecodeReadResponseFixed(message.first(prefix), size);
  if (whole.ok() != fixed.ok()) abort();
  if (!whole.ok()) return 0;
  if (whole->data.size() != whole->data_length) abort();
  if (whole->data_length != 0 && (whole->data.data() < data + smb3::smb2::kReadResponseFixed ||
                                  whole->data.data() + whole->data.size() > data + size))
    abort();
  if (fixed->data_offset != whole->data_offset || fixed->data_length != whole->data_length) abort();
  return 0;
}
