// SPDX-License-Identifier: LGPL-2.1-or-later
#include "unc.h"

#include <charconv>

namespace smb3::cli {

std::optional<Unc> ParseUnc(std::string_view text, std::string* error) {
  std::string s(text);
  for (char& c : s)
    if (c == '\\') c = '/';
  if (s.rfind("//", 0) != 0) {
    *error = "expected //server/share[/path]";
    return std::nullopt;
  }
  s.erase(0, 2);
  Unc u;
  size_t slash = s.find('/');
  std::string host = s.substr(0, slash);
  std::string rest = slash == std::string::npos ? "" : s.substr(slash + 1);
  std::string port_text;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close == std::string::npos) {
      *error = "unterminated [IPv6 address]";
      return std::nullopt;
    }
    u.server = host.substr(1, close - 1);
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') {
        *error = "junk after ]";
        return std::nullopt;
      }
      port_text = host.substr(close + 2);
    }
  } else {
    size_t colon = host.find(':');
    u.server = host.substr(0, colon);
    if (colon != std::string::npos) port_text = host.substr(colon + 1);
  }
  if (u.server.empty()) {
    *error = "no server name";
    return std::nullopt;
  }
  if (!port_text.empty() || host.find(':') != std::string::npos) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || p == 0 || p > 65535) {
      *error = "bad port number";
      return std::nullopt;
    }
    u.port = static_cast<uint16_t>(p);
  }
  slash = rest.find('/');
  u.share = rest.substr(0, slash);
  if (u.share.empty()) {
    *error = "no share name";
    return std::nullopt;
  }
  if (slash != std::string::npos) u.path = rest.substr(slash + 1);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  // Collapse repeated separators; reject "." and ".." components (the server would resolve them).
  std::string clean;
  size_t pos = 0;
  while (pos <= u.path.size()) {
    size_t next = u.path.find('/', pos);
    if (next == std::string::npos) next = u.path.size();
    std::string part = u.path.substr(pos, next - pos);
    if (part == "." || part == "..") {
      *error = "'.' and '..' are not allowed in the path";
      return std::nullopt;
    }
    if (!part.empty()) {
      if (!clean.empty()) clean += '/';
      clean += part;
    }
    pos = next + 1;
  }
  u.path = clean;
  return u;
}

}  // namespace smb3::cli
