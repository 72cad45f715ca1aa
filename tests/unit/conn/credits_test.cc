// SPDX-License-Identifier: LGPL-2.1-or-later
#include "conn/credits.h"

#include <gtest/gtest.h>

namespace smb3::conn {
namespace {

TEST(CreditWindow, StartsWithSequenceNumberZeroOnly) {
  CreditWindow w;
  EXPECT_EQ(w.available(), 1u);
  EXPECT_EQ(w.Take(1), 0u);
  EXPECT_FALSE(w.Take(1).has_value());
}

TEST(CreditWindow, GrowsByGrantsAndTakesLowestConsecutiveRange) {
  CreditWindow w;
  ASSERT_EQ(w.Take(0), 0u);  // NEGOTIATE: charge 0 still consumes one number
  w.Grant(2);                // [MS-SMB2] 3.2.4.1.6: {0} + 2 credits -> {1, 2}
  EXPECT_FALSE(w.Take(3).has_value());
  EXPECT_EQ(w.Take(2), 1u);
  w.Grant(20);
  EXPECT_EQ(w.Take(16), 3u);  // a 1 MiB READ charges 16 consecutive ids
  EXPECT_EQ(w.Take(1), 19u);
  EXPECT_EQ(w.available(), 3u);
}

TEST(CreditWindow, AsksForGrowthUntilTarget) {
  CreditWindow w;
  EXPECT_GT(w.RequestFor(1), 1u);
  w.Grant(CreditWindow::kTarget);
  EXPECT_EQ(w.RequestFor(16), 16u);
}

TEST(CreditWindow, CapsHostileGrants) {
  CreditWindow w;
  for (int i = 0; i < 10; ++i) w.Grant(0xFFFF);
  EXPECT_EQ(w.available(), CreditWindow::kMaxHeld);
}

}  // namespace
}  // namespace smb3::conn
