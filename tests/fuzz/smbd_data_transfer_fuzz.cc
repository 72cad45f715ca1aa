// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an MS-SMBD data transfer message ([MS-SMBD] 2.2.3, 3.1.5.8): the
// payload view must lie inside the input, and re-encoding the fields must decode to the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "smbd/pdu.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView input(data, size);
  auto m = smb3::smbd::DecodeDataTransfer(input);
  if (!m.ok()) return 0;
  if (m->data.size() != m->data_length) abort();
  if (!m->data.empty() && (m->data.data() < input.data() + 24 ||
                           m->data.data() + m->data.size() > input.data() + input.size())) {
    abort();
  }
  std::vector<uint8_t> out;
  smb3::ByteWriter w(out);
  if (!smb3::smbd::EncodeDataTransfer(*m, m->data, w).ok()) abort();
  auto again = smb3::smbd::DecodeDataTransfer(out);
  if (!again.ok()) abort();
  if (again->credits_requested != m->credits_requested ||
      again->credits_granted != m->credits_granted || again->flags != m->flags ||
      again->remaining_data_length != m->remaining_data_length ||
      again->data_length != m->data_length ||
      (m->data_length != 0 && std::memcmp(again->data.data(), m->data.data(), m->data_length))) {
    abort();
  }
  return 0;
}
