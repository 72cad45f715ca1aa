// SPDX-License-Identifier: LGPL-2.1-or-later
#include "base/utf16.h"

namespace smb3 {

Status AppendUtf16le(std::string_view s, std::vector<uint8_t>& out) {
  size_t i = 0;
  auto put = [&out](uint16_t u) {
    out.push_back(static_cast<uint8_t>(u));
    out.push_back(static_cast<uint8_t>(u >> 8));
  };
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 2; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 3; }
    else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; n = 4; }
    else return Status::Invalid("utf8: bad lead byte");
    if (i + n > s.size()) return Status::Invalid("utf8: truncated sequence");
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return Status::Invalid("utf8: bad continuation byte");
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return Status::Invalid("utf8: overlong or out-of-range code point");
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(static_cast<uint16_t>(0xD800 | (cp >> 10)));
      put(static_cast<uint16_t>(0xDC00 | (cp & 0x3FF)));
    } else {
      put(static_cast<uint16_t>(cp));
    }
    i += n;
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> Utf8ToUtf16le(std::string_view s) {
  std::vector<uint8_t> out;
  out.reserve(s.size() * 2);
  SMB3_RETURN_IF_ERROR(AppendUtf16le(s, out));
  return out;
}

Result<std::string> Utf16leToUtf8(ByteView in) {
  if (in.size() % 2) return Status::Protocol("utf16: odd byte count");
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i += 2) {
    uint32_t cp = LoadU16(&in[i]);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 4 > in.size()) return Status::Protocol("utf16: unpaired high surrogate");
      uint32_t lo = LoadU16(&in[i + 2]);
      if (lo < 0xDC00 || lo > 0xDFFF) return Status::Protocol("utf16: unpaired high surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return Status::Protocol("utf16: unpaired low surrogate");
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

}  // namespace smb3
