// SPDX-License-Identifier: LGPL-2.1-or-later
#include <algorithm>
#include <array>
#include <cstdio>
#include <iterator>

#include "smb3/ntstatus.h"

namespace smb3 {
namespace {

struct Entry {
  uint32_t value;
  const char* name;
};

constexpr Entry kTable[] = {
#include "base/ntstatus_table.inc"
};

}  // namespace

const char* NtStatusName(uint32_t status) {
  auto it = std::lower_bound(std::begin(kTable), std::end(kTable), status,
                             [](const Entry& e, uint32_t v) { return e.value < v; });
  if (it != std::end(kTable) && it->value == status) return it->name;
  thread_local char buf[16];
  snprintf(buf, sizeof buf, "0x%08X", status);
  return buf;
}

}  // namespace smb3
