// SPDX-License-Identifier: LGPL-2.1-or-later
#include "memory_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "smb3/ntstatus.h"

namespace fuse_smbd {
namespace {

using smb3::Disposition;
using smb3::FileKind;

smb3::OpenOptions Opts(Disposition d, FileKind k = FileKind::kAny,
                       uint32_t access = smb3::kAccessReadData | smb3::kAccessWriteData |
                                         smb3::kAccessReadAttributes |
                                         smb3::kAccessWriteAttributes) {
  smb3::OpenOptions o;
  o.disposition = d;
  o.kind = k;
  o.desired_access = access;
  return o;
}

uint32_t Nt(const smb3::Status& s) {
  EXPECT_EQ(s.code(), smb3::Code::kNtStatus) << s.ToString();
  return s.detail();
}

class MemoryClientTest : public ::testing::Test {
 protected:
  smb3::FileHandle Create(const std::string& path) {
    auto r = c_.Open(path, Opts(Disposition::kCreate, FileKind::kFile));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->handle : nullptr;
  }
  void Put(const std::string& path, const std::string& data) {
    auto h = Create(path);
    ASSERT_TRUE(h);
    auto w = c_.Write(h, 0, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(c_.Close(h).ok());
  }
  std::string Get(const std::string& path) {
    auto r = c_.Open(path, Opts(Disposition::kOpen, FileKind::kFile, smb3::kAccessReadData));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    std::string out(r->info.end_of_file, '\0');
    auto n = c_.Read(r->handle, 0, std::span(reinterpret_cast<uint8_t*>(out.data()), out.size()));
    EXPECT_TRUE(n.ok());
    EXPECT_TRUE(c_.Close(r->handle).ok());
    return out;
  }
  MemoryClient c_;
};

TEST_F(MemoryClientTest, CreateWriteReadStat) {
  Put("f", "hello");
  EXPECT_EQ(Get("f"), "hello");
  auto st = c_.Stat("f");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->end_of_file, 5u);
  EXPECT_FALSE(st->is_directory());
  EXPECT_NE(st->file_id, 0u);
  EXPECT_GT(st->last_write_time, smb3::kFileTimeUnixEpoch);
  EXPECT_EQ(c_.OpenHandleCount(), 0u);
}

TEST_F(MemoryClientTest, ServerStatuses) {
  EXPECT_EQ(Nt(c_.Stat("missing").status()), smb3::STATUS_OBJECT_NAME_NOT_FOUND);
  EXPECT_EQ(Nt(c_.Stat("nodir/x").status()), smb3::STATUS_OBJECT_PATH_NOT_FOUND);
  Put("f", "x");
  EXPECT_EQ(Nt(c_.Stat("f/x").status()), smb3::STATUS_OBJECT_PATH_NOT_FOUND);
  EXPECT_EQ(Nt(c_.Open("f", Opts(Disposition::kCreate)).status()),
            smb3::STATUS_OBJECT_NAME_COLLISION);
  ASSERT_TRUE(c_.Mkdir("d").ok());
  EXPECT_EQ(Nt(c_.Mkdir("d")), smb3::STATUS_OBJECT_NAME_COLLISION);
  EXPECT_EQ(Nt(c_.Open("d", Opts(Disposition::kOpen, FileKind::kFile)).status()),
            smb3::STATUS_FILE_IS_A_DIRECTORY);
  EXPECT_EQ(Nt(c_.Open("f", Opts(Disposition::kOpen, FileKind::kDirectory)).status()),
            smb3::STATUS_NOT_A_DIRECTORY);
  EXPECT_EQ(Nt(c_.Unlink("d")), smb3::STATUS_FILE_IS_A_DIRECTORY);
  EXPECT_EQ(Nt(c_.Rmdir("f")), smb3::STATUS_NOT_A_DIRECTORY);
  Put("d/inner", "y");
  EXPECT_EQ(Nt(c_.Rmdir("d")), smb3::STATUS_DIRECTORY_NOT_EMPTY);
  EXPECT_EQ(Nt(c_.ListDirectory("f").status()), smb3::STATUS_NOT_A_DIRECTORY);
  EXPECT_EQ(Nt(c_.Open("bad:name", Opts(Disposition::kCreate)).status()),
            smb3::STATUS_OBJECT_NAME_INVALID);
  EXPECT_EQ(Nt(c_.Open("absent", Opts(Disposition::kOverwrite)).status()),
            smb3::STATUS_OBJECT_NAME_NOT_FOUND);
  EXPECT_EQ(Nt(c_.Open("d", Opts(Disposition::kOverwriteIf)).status()),
            smb3::STATUS_INVALID_PARAMETER);
}

TEST_F(MemoryClientTest, AccessIsChecked) {
  Put("f", "data");
  auto ro = c_.Open("f", Opts(Disposition::kOpen, FileKind::kFile, smb3::kAccessReadData));
  ASSERT_TRUE(ro.ok());
  const uint8_t b = 1;
  EXPECT_EQ(Nt(c_.Write(ro->handle, 0, std::span(&b, 1)).status()), smb3::STATUS_ACCESS_DENIED);
  EXPECT_EQ(Nt(c_.SetEndOfFile(ro->handle, 0)), smb3::STATUS_ACCESS_DENIED);
  EXPECT_EQ(Nt(c_.Rename(ro->handle, "g", false)), smb3::STATUS_ACCESS_DENIED);
  EXPECT_EQ(Nt(c_.SetDeleteOnClose(ro->handle, true)), smb3::STATUS_ACCESS_DENIED);
  ASSERT_TRUE(c_.Close(ro->handle).ok());
  EXPECT_EQ(Nt(c_.Close(ro->handle)), smb3::STATUS_FILE_CLOSED);
}

TEST_F(MemoryClientTest, ReadOnlyAttribute) {
  Put("f", "data");
  auto h = c_.Open("f", Opts(Disposition::kOpen));
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(c_.SetBasicInfo(h->handle, 0, 0, 0, 0, smb3::kFileAttributeReadonly).ok());
  ASSERT_TRUE(c_.Close(h->handle).ok());
  EXPECT_EQ(Nt(c_.Open("f", Opts(Disposition::kOpen)).status()), smb3::STATUS_ACCESS_DENIED);
  EXPECT_EQ(Nt(c_.Unlink("f")), smb3::STATUS_CANNOT_DELETE);
  EXPECT_TRUE(c_.Open("f", Opts(Disposition::kOpen, FileKind::kFile, smb3::kAccessReadData)).ok());
}

TEST_F(MemoryClientTest, DeletePendingUntilLastClose) {
  Put("f", "data");
  auto keep = c_.Open("f", Opts(Disposition::kOpen));
  ASSERT_TRUE(keep.ok());
  ASSERT_TRUE(c_.Unlink("f").ok());
  // The name stays, delete pending: it cannot be opened, stat'ed or created again.
  EXPECT_EQ(Nt(c_.Stat("f").status()), smb3::STATUS_DELETE_PENDING);
  EXPECT_EQ(Nt(c_.Open("f", Opts(Disposition::kOpenIf)).status()), smb3::STATUS_DELETE_PENDING);
  auto list = c_.ListDirectory("");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].info.delete_pending);
  // The open handle still works.
  uint8_t buf[4];
  EXPECT_EQ(*c_.Read(keep->handle, 0, buf), 4u);
  ASSERT_TRUE(c_.Close(keep->handle).ok());
  EXPECT_EQ(Nt(c_.Stat("f").status()), smb3::STATUS_OBJECT_NAME_NOT_FOUND);
  EXPECT_EQ(c_.UsedBytes(), 0u);
}

TEST_F(MemoryClientTest, RenameSemantics) {
  Put("a", "A");
  Put("b", "B");
  EXPECT_EQ(Nt(c_.RenamePath("a", "b", false)), smb3::STATUS_OBJECT_NAME_COLLISION);
  ASSERT_TRUE(c_.RenamePath("a", "b", true).ok());
  EXPECT_EQ(Get("b"), "A");
  EXPECT_EQ(Nt(c_.Stat("a").status()), smb3::STATUS_OBJECT_NAME_NOT_FOUND);
  ASSERT_TRUE(c_.Mkdir("d").ok());
  EXPECT_EQ(Nt(c_.RenamePath("b", "d", true)), smb3::STATUS_ACCESS_DENIED);  // never a directory
  EXPECT_EQ(Nt(c_.RenamePath("b", "nodir/x", true)), smb3::STATUS_OBJECT_PATH_NOT_FOUND);
  ASSERT_TRUE(c_.Mkdir("d/e").ok());
  EXPECT_EQ(Nt(c_.RenamePath("d", "d/e/f", false)), smb3::STATUS_INVALID_PARAMETER);
  // A directory with an open file below it cannot move; an open file cannot be replaced.
  Put("d/e/x", "X");
  auto open = c_.Open("d/e/x", Opts(Disposition::kOpen));
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(Nt(c_.RenamePath("d", "d2", false)), smb3::STATUS_ACCESS_DENIED);
  EXPECT_EQ(Nt(c_.RenamePath("b", "d/e/x", true)), smb3::STATUS_ACCESS_DENIED);
  // The open file itself may be renamed through its handle when opened with DELETE.
  ASSERT_TRUE(c_.Close(open->handle).ok());
  ASSERT_TRUE(c_.RenamePath("d", "d2", false).ok());
  EXPECT_EQ(Get("d2/e/x"), "X");
}

TEST_F(MemoryClientTest, SparseAndLargeFiles) {
  auto h = Create("big");
  ASSERT_TRUE(h);
  std::vector<uint8_t> block(3 << 20, 0xAB);
  ASSERT_EQ(*c_.Write(h, 5 << 20, block), block.size());
  auto info = c_.QueryInfo(h);
  EXPECT_EQ(info->end_of_file, 8u << 20);
  std::vector<uint8_t> out(8 << 20, 0xFF);
  ASSERT_EQ(*c_.Read(h, 0, out), out.size());
  for (size_t i = 0; i < (5u << 20); i += 4096) ASSERT_EQ(out[i], 0) << i;
  EXPECT_EQ(out[5 << 20], 0xAB);
  EXPECT_EQ(out[(8 << 20) - 1], 0xAB);
  // Shrink then grow: the cut-off bytes read back as zeros.
  ASSERT_TRUE(c_.SetEndOfFile(h, (5 << 20) + 10).ok());
  ASSERT_TRUE(c_.SetEndOfFile(h, 6 << 20).ok());
  ASSERT_EQ(*c_.Read(h, 5 << 20, std::span(out.data(), 1 << 20)), 1u << 20);
  EXPECT_EQ(out[9], 0xAB);
  EXPECT_EQ(out[10], 0);
  EXPECT_EQ(out[(1 << 20) - 1], 0);
  ASSERT_TRUE(c_.Close(h).ok());
  // Reading past the end returns 0 bytes.
  auto r = c_.Open("big", Opts(Disposition::kOpen));
  EXPECT_EQ(*c_.Read(r->handle, 100 << 20, out), 0u);
  ASSERT_TRUE(c_.Close(r->handle).ok());
}

TEST_F(MemoryClientTest, SmallFileGrowsIntoChunks) {
  auto h = Create("f");
  std::vector<uint8_t> a(100 << 10, 1);
  ASSERT_TRUE(c_.Write(h, 0, a).ok());
  std::vector<uint8_t> b(400 << 10, 2);
  ASSERT_TRUE(c_.Write(h, 50 << 10, b).ok());
  std::vector<uint8_t> out(450 << 10);
  ASSERT_EQ(*c_.Read(h, 0, out), out.size());
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[(50 << 10) - 1], 1);
  EXPECT_EQ(out[50 << 10], 2);
  EXPECT_EQ(out.back(), 2);
  ASSERT_TRUE(c_.Close(h).ok());
}

TEST(MemoryClientCapacity, DiskFull) {
  MemoryClient::Options o;
  o.capacity_bytes = 4 << 20;
  MemoryClient c(o);
  auto r = c.Open("f", Opts(Disposition::kCreate));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> block(1 << 20, 7);
  uint64_t off = 0;
  smb3::Status last;
  for (int i = 0; i < 8; ++i) {
    auto w = c.Write(r->handle, off, block);
    if (!w.ok()) {
      last = w.status();
      break;
    }
    off += block.size();
  }
  EXPECT_EQ(last.code(), smb3::Code::kNtStatus);
  EXPECT_EQ(last.detail(), smb3::STATUS_DISK_FULL);
  EXPECT_EQ(off, 4u << 20);
  auto fs = c.StatFs();
  EXPECT_EQ(fs->caller_available_units, 0u);
  ASSERT_TRUE(c.SetEndOfFile(r->handle, 0).ok());
  EXPECT_EQ(c.UsedBytes(), 0u);
  ASSERT_TRUE(c.Close(r->handle).ok());
}

TEST(MemoryClientAsync, CallbacksOnTheConnectionThread) {
  MemoryClient::Options o;
  o.async_thread = true;
  MemoryClient c(o);
  auto r = c.Open("f", Opts(Disposition::kCreate));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> data(1000, 9);
  std::promise<std::thread::id> where;
  c.WriteAsync(r->handle, 0, data, [&](smb3::Result<size_t> n) {
    EXPECT_EQ(*n, 1000u);
    where.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
  std::vector<uint8_t> back(2000);
  std::promise<size_t> got;
  c.ReadAsync(r->handle, 0, back, [&](smb3::Result<size_t> n) { got.set_value(*n); });
  EXPECT_EQ(got.get_future().get(), 1000u);
  EXPECT_EQ(back[999], 9);
  ASSERT_TRUE(c.Close(r->handle).ok());
}

TEST(MemoryClientAsync, ReadViewOwnsAPooledBufferAndStopsAtEndOfFile) {
  MemoryClient c;
  auto r = c.Open("f", Opts(Disposition::kCreate));
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> data(3000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(c.Write(r->handle, 0, data).ok());
  smb3::Result<smb3::ReadView> got = smb3::Status::Invalid("not called");
  c.ReadAsyncView(r->handle, 1000, 1 << 20, [&](smb3::Result<smb3::ReadView> v) { got = std::move(v); });
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size, 2000u);  // short at end of file
  ASSERT_EQ(got->pieces.size(), 1u);
  ASSERT_EQ(got->owners.size(), 1u);
  EXPECT_TRUE(std::equal(got->pieces[0].begin(), got->pieces[0].end(), data.begin() + 1000));
  c.ReadAsyncView(r->handle, 5000, 10, [&](smb3::Result<smb3::ReadView> v) { got = std::move(v); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size, 0u);
  EXPECT_TRUE(got->pieces.empty());
  // Larger than one pooled buffer: the default path, same bytes.
  c.ReadAsyncView(r->handle, 0, (1 << 20) + 1, [&](smb3::Result<smb3::ReadView> v) { got = std::move(v); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size, 3000u);
  ASSERT_TRUE(c.Close(r->handle).ok());
  c.ReadAsyncView(r->handle, 0, 10, [&](smb3::Result<smb3::ReadView> v) { got = std::move(v); });
  EXPECT_EQ(got.status().detail(), smb3::STATUS_FILE_CLOSED);
}

TEST(MemoryClientDisconnect, EverythingFailsDisconnected) {
  MemoryClient c;
  auto r = c.Open("f", Opts(Disposition::kCreate));
  ASSERT_TRUE(r.ok());
  c.Disconnect();
  const uint8_t b = 0;
  EXPECT_EQ(c.Write(r->handle, 0, std::span(&b, 1)).status().code(), smb3::Code::kDisconnected);
  EXPECT_EQ(c.Stat("f").status().code(), smb3::Code::kDisconnected);
}

TEST(MemoryClientThreads, ConcurrentWritersAndReaders) {
  MemoryClient c;
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = "t" + std::to_string(t);
      auto r = c.Open(name, Opts(Disposition::kCreate));
      if (!r.ok()) return void(++failures);
      std::vector<uint8_t> block(64 << 10, static_cast<uint8_t>(t));
      for (int i = 0; i < 64; ++i) {
        if (!c.Write(r->handle, static_cast<uint64_t>(i) * block.size(), block).ok()) ++failures;
      }
      std::vector<uint8_t> back(block.size());
      for (int i = 0; i < 64; ++i) {
        auto n = c.Read(r->handle, static_cast<uint64_t>(i) * block.size(), back);
        if (!n.ok() || back != block) ++failures;
      }
      if (!c.Close(r->handle).ok()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(c.ListDirectory("")->size(), static_cast<size_t>(kThreads));
}

TEST(MemoryClientHandles, DroppedHandleClosesInBackground) {
  MemoryClient c;
  {
    auto r = c.Open("f", Opts(Disposition::kCreate));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(c.OpenHandleCount(), 1u);
  }
  EXPECT_EQ(c.OpenHandleCount(), 0u);
}

}  // namespace
}  // namespace fuse_smbd
