// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing of //server[:port]/share[/path] (also \\server\share\path and [v6addr]:port).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smb3::cli {

struct Unc {
  std::string server;
  std::optional<uint16_t> port;
  std::string share;
  std::string path;  // share-relative, '/' separated, no leading slash ("" = root)
};

// nullopt with `error` set when `text` is not a UNC path.
std::optional<Unc> ParseUnc(std::string_view text, std::string* error);

}  // namespace smb3::cli
