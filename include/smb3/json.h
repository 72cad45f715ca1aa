// SPDX-License-Identifier: LGPL-2.1-or-later
// JSON text of the public value types, so that every program printing them (smb3 --json,
// fuse-smbd stats --json) spells each field the same way: as the C++ member is named.
#pragma once

#include <string>
#include <string_view>

#include "smb3/types.h"

namespace smb3 {

// S escaped for use between JSON double quotes (", \ and control characters).
std::string JsonEscape(std::string_view s);

// One JSON object with every ClientStats field, keyed by member name.
std::string ClientStatsJson(const ClientStats& stats);

}  // namespace smb3
