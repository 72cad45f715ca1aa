// SPDX-License-Identifier: LGPL-2.1-or-later
// UTF-8 <-> UTF-16LE, strict: invalid UTF-8, unpaired surrogates and odd byte counts are errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3 {

Result<std::vector<uint8_t>> Utf8ToUtf16le(std::string_view utf8);
// Appends the UTF-16LE form of `utf8` to `out`.
Status AppendUtf16le(std::string_view utf8, std::vector<uint8_t>& out);
Result<std::string> Utf16leToUtf8(ByteView utf16le);

}  // namespace smb3
