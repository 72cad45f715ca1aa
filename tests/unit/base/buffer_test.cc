// SPDX-License-Identifier: LGPL-2.1-or-later
#include "base/buffer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace smb3 {
namespace {

TEST(BufferPool, RecyclesBlocksOfTheSameClass) {
  auto pool = BufferPool::Create(8u << 20);
  uint8_t* first;
  {
    Buffer b = pool->Get(100000);
    EXPECT_EQ(b.size(), 100000u);
    EXPECT_EQ(b.capacity(), 131072u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u);  // page-aligned
    first = b.data();
  }
  Buffer again = pool->Get(70000);
  EXPECT_EQ(again.data(), first);
}

TEST(BufferPool, BuffersOutliveThePoolHandle) {
  Buffer b;
  {
    auto pool = BufferPool::Create();
    b = pool->Get(4096);
  }
  b.data()[0] = 1;  // the pool stays alive while a buffer references it
  EXPECT_EQ(b.data()[0], 1);
}

TEST(Buffer, MoveTransfersOwnership) {
  Buffer a(5000);
  uint8_t* p = a.data();
  Buffer b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move)
  b.resize(10);
  EXPECT_EQ(b.size(), 10u);
}

}  // namespace
}  // namespace smb3
