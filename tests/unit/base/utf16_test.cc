// SPDX-License-Identifier: LGPL-2.1-or-later
#include "base/utf16.h"

#include <gtest/gtest.h>

namespace smb3 {
namespace {

TEST(Utf16, RoundTripsBmpAndSupplementary) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  auto u = Utf8ToUtf16le(s);
  ASSERT_TRUE(u.ok());
  const std::vector<uint8_t> want = {0x61, 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE};
  EXPECT_EQ(*u, want);
  auto back = Utf16leToUtf8(*u);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

TEST(Utf16, RejectsInvalidInput) {
  EXPECT_FALSE(Utf8ToUtf16le("\xC0\x80").ok());      // overlong NUL
  EXPECT_FALSE(Utf8ToUtf16le("\xED\xA0\x80").ok());  // encoded surrogate
  EXPECT_FALSE(Utf8ToUtf16le("\xE2\x82").ok());      // truncated
  const uint8_t odd[] = {0x61, 0x00, 0x62};
  EXPECT_FALSE(Utf16leToUtf8(odd).ok());
  const uint8_t lone_low[] = {0x00, 0xDC};
  EXPECT_FALSE(Utf16leToUtf8(lone_low).ok());
  const uint8_t lone_high[] = {0x00, 0xD8, 0x61, 0x00};
  EXPECT_FALSE(Utf16leToUtf8(lone_high).ok());
}

}  // namespace
}  // namespace smb3
