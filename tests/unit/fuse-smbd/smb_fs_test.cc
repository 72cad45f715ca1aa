// SPDX-License-Identifier: LGPL-2.1-or-later
// SmbFs over MemoryClient: the POSIX semantics FUSE sees, without a kernel.
#include "smb_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "memory_client.h"
#include "smb3/ntstatus.h"

namespace fuse_smbd {
namespace {

constexpr uint64_t kRoot = InodeTable::kRootIno;

int ErrnoOf(const smb3::Status& s) { return s.ok() ? 0 : static_cast<int>(s.detail()); }

class SmbFsTest : public ::testing::Test {
 protected:
  explicit SmbFsTest(MemoryClient::Options o = {}) : client_(o), fs_(client_, Opts()) {}
  static FsOptions Opts() {
    FsOptions o;
    o.uid = 1234;
    o.gid = 567;
    o.file_mode = 0644;
    o.dir_mode = 0750;
    o.actimeo = 2.5;
    return o;
  }

  // Creates `name` in `parent` and returns (ino, fh).
  std::pair<uint64_t, uint64_t> CreateFile(uint64_t parent, const std::string& name,
                                           int flags = O_RDWR | O_CREAT) {
    auto r = fs_.Create(parent, name, S_IFREG | 0644, flags);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {0, 0};
    return {r->first.ino, r->second.fh};
  }
  smb3::Result<size_t> WriteSync(uint64_t fh, uint64_t off, const std::string& data) {
    std::promise<smb3::Result<size_t>> p;
    fs_.Write(fh, off, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
              [&](smb3::Result<size_t> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  std::string ReadSync(uint64_t fh, uint64_t off, size_t n) {
    std::promise<smb3::Result<smb3::ReadView>> p;
    fs_.Read(fh, off, n, [&](smb3::Result<smb3::ReadView> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok());
    std::string out;
    if (!r.ok()) return out;
    for (auto piece : r->pieces) out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    EXPECT_EQ(out.size(), r->size);
    return out;
  }
  void Put(uint64_t parent, const std::string& name, const std::string& data) {
    auto [ino, fh] = CreateFile(parent, name);
    ASSERT_TRUE(WriteSync(fh, 0, data).ok());
    ASSERT_TRUE(fs_.Release(fh).ok());
  }
  std::vector<std::string> List(uint64_t dir, bool plus = false) {
    auto dh = fs_.OpenDir(dir);
    EXPECT_TRUE(dh.ok());
    std::vector<std::string> names;
    EXPECT_TRUE(fs_.ReadDir(*dh, 0, plus, [&](const DirItem& it) {
                     names.emplace_back(it.name);
                     return true;
                   }).ok());
    EXPECT_TRUE(fs_.ReleaseDir(*dh).ok());
    return names;
  }

  MemoryClient client_;
  SmbFs fs_;
};

TEST_F(SmbFsTest, LookupGivesStableInodesAndCounts) {
  Put(kRoot, "a", "xyz");
  auto e1 = fs_.Lookup(kRoot, "a");
  ASSERT_TRUE(e1.ok());
  auto e2 = fs_.Lookup(kRoot, "a");
  EXPECT_EQ(e1->ino, e2->ino);
  EXPECT_EQ(fs_.inodes().LookupCount(e1->ino), 3u);  // create + 2 lookups
  EXPECT_EQ(e1->attr.st_size, 3);
  EXPECT_EQ(e1->attr.st_uid, 1234u);
  EXPECT_EQ(e1->attr.st_gid, 567u);
  EXPECT_EQ(e1->attr.st_mode, S_IFREG | 0644u);
  EXPECT_DOUBLE_EQ(e1->attr_timeout, 2.5);
  EXPECT_EQ(e1->attr.st_ino, e1->ino);
  fs_.Forget(e1->ino, 3);
  EXPECT_EQ(fs_.inodes().LookupCount(e1->ino), 0u);
}

TEST_F(SmbFsTest, NegativeLookupIsCachedEntry) {
  auto e = fs_.Lookup(kRoot, "nothing");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ino, 0u);
  EXPECT_DOUBLE_EQ(e->entry_timeout, 2.5);
  EXPECT_EQ(ErrnoOf(fs_.Lookup(kRoot, std::string(256, 'x')).status()), ENAMETOOLONG);
}

TEST_F(SmbFsTest, DirectoriesAndErrors) {
  auto d = fs_.Mkdir(kRoot, "d", 0755);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(S_ISDIR(d->attr.st_mode));
  EXPECT_EQ(d->attr.st_mode & 07777, 0750u);
  EXPECT_EQ(ErrnoOf(fs_.Mkdir(kRoot, "d", 0755).status()), EEXIST);
  Put(d->ino, "f", "1");
  EXPECT_EQ(ErrnoOf(fs_.Rmdir(kRoot, "d")), ENOTEMPTY);
  EXPECT_EQ(ErrnoOf(fs_.Unlink(kRoot, "d")), EISDIR);
  EXPECT_EQ(ErrnoOf(fs_.Rmdir(d->ino, "f")), ENOTDIR);
  EXPECT_EQ(ErrnoOf(fs_.Unlink(kRoot, "missing")), ENOENT);
  EXPECT_EQ(ErrnoOf(fs_.Create(kRoot, "d", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR).status()),
            EEXIST);
  ASSERT_TRUE(fs_.Unlink(d->ino, "f").ok());
  ASSERT_TRUE(fs_.Rmdir(kRoot, "d").ok());
  EXPECT_EQ(fs_.Lookup(kRoot, "d")->ino, 0u);
  EXPECT_EQ(ErrnoOf(fs_.Mkdir(kRoot, "bad\\name", 0755).status()), EINVAL);
  EXPECT_EQ(ErrnoOf(fs_.Mknod(kRoot, "fifo", S_IFIFO | 0644).status()), EPERM);
  EXPECT_TRUE(fs_.Mknod(kRoot, "plain", S_IFREG | 0644).ok());
}

TEST_F(SmbFsTest, NewDirectoryAnswersLookupsWithoutTheServer) {
  auto d = fs_.Mkdir(kRoot, "fresh", 0755);
  ASSERT_TRUE(d.ok());
  const uint64_t before = client_.stats().requests;
  auto e = fs_.Lookup(d->ino, "a");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ino, 0u);
  EXPECT_EQ(client_.stats().requests, before);  // answered from what we know
  auto [ino, fh] = CreateFile(d->ino, "a");
  ASSERT_TRUE(fs_.Release(fh).ok());
  EXPECT_EQ(fs_.Lookup(d->ino, "a")->ino, ino);  // a name we created goes to the server
  ASSERT_TRUE(fs_.Mkdir(d->ino, "sub", 0755).ok());
  EXPECT_NE(fs_.Lookup(d->ino, "sub")->ino, 0u);
  Put(kRoot, "outside", "x");
  ASSERT_TRUE(fs_.Rename(kRoot, "outside", d->ino, "moved", 0).ok());
  EXPECT_NE(fs_.Lookup(d->ino, "moved")->ino, 0u);
  // Existing directories always ask the server.
  ASSERT_TRUE(client_.Mkdir("old").ok());
  const uint64_t old = fs_.Lookup(kRoot, "old")->ino;
  auto r = client_.Open("old/theirs", {.desired_access = smb3::kAccessWriteData,
                                       .disposition = smb3::Disposition::kCreate});
  ASSERT_TRUE(client_.Close(r->handle).ok());
  EXPECT_NE(fs_.Lookup(old, "theirs")->ino, 0u);
}

smb3::FileTime MtimeOf(const struct stat& st) {
  // FILETIME: 100 ns since 1601.
  return (static_cast<smb3::FileTime>(st.st_mtim.tv_sec) + 11644473600ull) * 10000000ull +
         static_cast<smb3::FileTime>(st.st_mtim.tv_nsec) / 100;
}

// The kernel asks for a directory's attributes after every create in it (to check permissions):
// a directory this mount made answers from what the mount knows, its times moved by each entry
// created in it; anything else that changes it sends the next getattr to the server.
TEST_F(SmbFsTest, NewDirectoryAttributesFollowItsCreates) {
  auto d = fs_.Mkdir(kRoot, "fresh", 0755);
  ASSERT_TRUE(d.ok());
  uint64_t before = client_.stats().requests;
  auto st = fs_.GetAttr(d->ino, std::nullopt);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0750u);
  EXPECT_EQ(client_.stats().requests, before);
  EXPECT_EQ(MtimeOf(*st), client_.Stat("fresh")->last_write_time);

  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a later time than the mkdir's
  auto [ino, fh] = CreateFile(d->ino, "a", O_RDWR | O_CREAT | O_EXCL);
  ASSERT_TRUE(fs_.Release(fh).ok());
  ASSERT_TRUE(fs_.Mkdir(d->ino, "sub", 0755).ok());
  const smb3::FileInfo sub = *client_.Stat("fresh/sub");
  before = client_.stats().requests;
  st = fs_.GetAttr(d->ino, std::nullopt);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(client_.stats().requests, before);  // still from what the mount knows
  const smb3::FileInfo server = *client_.Stat("fresh");
  EXPECT_GT(MtimeOf(*st), MtimeOf(d->attr));  // the mkdir's times moved on
  EXPECT_GE(MtimeOf(*st), sub.creation_time);  // moved by the last entry created
  EXPECT_LE(MtimeOf(*st), server.last_write_time);

  // Opening an existing name changes nothing; the answer stays local.
  auto [ino2, fh2] = CreateFile(d->ino, "a");
  EXPECT_EQ(ino2, ino);
  ASSERT_TRUE(fs_.Release(fh2).ok());
  before = client_.stats().requests;
  ASSERT_TRUE(fs_.GetAttr(d->ino, std::nullopt).ok());
  EXPECT_EQ(client_.stats().requests, before);

  // An unlink: the server decides the times again.
  ASSERT_TRUE(fs_.Unlink(d->ino, "a").ok());
  before = client_.stats().requests;
  st = fs_.GetAttr(d->ino, std::nullopt);
  ASSERT_TRUE(st.ok());
  EXPECT_GT(client_.stats().requests, before);
  EXPECT_EQ(MtimeOf(*st), client_.Stat("fresh")->last_write_time);

  // A setattr of a new directory does the same.
  auto d2 = fs_.Mkdir(kRoot, "fresh2", 0755);
  ASSERT_TRUE(d2.ok());
  SetAttrRequest times;
  times.set_mtime = true;
  times.mtime = {1000000, 0};
  ASSERT_TRUE(fs_.SetAttr(d2->ino, std::nullopt, times).ok());
  before = client_.stats().requests;
  st = fs_.GetAttr(d2->ino, std::nullopt);
  ASSERT_TRUE(st.ok());
  EXPECT_GT(client_.stats().requests, before);
  EXPECT_EQ(st->st_mtim.tv_sec, 1000000);
}

TEST_F(SmbFsTest, ReadWriteAndAttributes) {
  auto [ino, fh] = CreateFile(kRoot, "f");
  ASSERT_EQ(*WriteSync(fh, 0, "hello world"), 11u);
  EXPECT_EQ(ReadSync(fh, 6, 100), "world");
  auto st = fs_.GetAttr(ino, fh);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_size, 11);
  EXPECT_EQ(st->st_blksize, 1 << 20);
  ASSERT_TRUE(fs_.Release(fh).ok());
  st = fs_.GetAttr(ino, std::nullopt);
  EXPECT_EQ(st->st_size, 11);
}

TEST_F(SmbFsTest, SetAttrSizeTimesMode) {
  Put(kRoot, "f", "0123456789");
  const uint64_t ino = fs_.Lookup(kRoot, "f")->ino;
  SetAttrRequest req;
  req.set_size = true;
  req.size = 4;
  auto st = fs_.SetAttr(ino, std::nullopt, req);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->st_size, 4);
  SetAttrRequest times;
  times.set_mtime = true;
  times.mtime = {1600000000, 123456700};
  times.set_atime = true;
  times.atime = {1500000000, 0};
  st = fs_.SetAttr(ino, std::nullopt, times);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st->st_mtim.tv_nsec, 123456700);
  EXPECT_EQ(st->st_atim.tv_sec, 1500000000);
  // chmod a-w sets READONLY (write bits vanish), chmod u+w clears it.
  SetAttrRequest ro;
  ro.set_mode = true;
  ro.mode = 0444;
  st = fs_.SetAttr(ino, std::nullopt, ro);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_mode & 0777, 0444u);
  EXPECT_EQ(ErrnoOf(fs_.Open(ino, O_WRONLY).status()), EACCES);
  // POSIX unlink needs only a writable directory: the attribute is cleared first.
  Put(kRoot, "g", "x");
  const uint64_t g = fs_.Lookup(kRoot, "g")->ino;
  ASSERT_TRUE(fs_.SetAttr(g, std::nullopt, ro).ok());
  EXPECT_TRUE(fs_.Unlink(kRoot, "g").ok());
  SetAttrRequest rw;
  rw.set_mode = true;
  rw.mode = 0644;
  st = fs_.SetAttr(ino, std::nullopt, rw);
  EXPECT_EQ(st->st_mode & 0777, 0644u);
  // chown is accepted and changes nothing; it is answered from the attributes just presented.
  SetAttrRequest own;
  own.set_uid = true;
  const uint64_t before = client_.stats().requests;
  auto owned = fs_.SetAttr(ino, std::nullopt, own);
  ASSERT_TRUE(owned.ok());
  EXPECT_EQ(owned->st_mode & 0777, 0644u);
  EXPECT_EQ(client_.stats().requests, before);
}

// tar -x per file: create, write, chmod, utimensat, and the kernel's time write-back at close. What
// the server already has costs no round trip; times and READONLY go in one SET_INFO; the reply is
// computed, not queried; a write in between makes the same times go to the server again.
TEST_F(SmbFsTest, SetAttrSendsOnlyWhatChanges) {
  auto [ino, fh] = CreateFile(kRoot, "t");
  SetAttrRequest mode;
  mode.set_mode = true;
  mode.mode = 0640;  // write bits kept: READONLY unchanged
  uint64_t before = client_.stats().requests;
  auto st = fs_.SetAttr(ino, fh, mode);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(client_.stats().requests, before);
  SetAttrRequest times;
  times.set_mtime = true;
  times.mtime = {1234567890, 500};
  times.set_atime = true;
  times.atime = {1234567000, 0};
  before = client_.stats().requests;
  st = fs_.SetAttr(ino, fh, times);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(client_.stats().requests, before + 1);  // one SET_INFO, no QUERY_INFO
  EXPECT_EQ(st->st_mtim.tv_sec, 1234567890);
  EXPECT_EQ(st->st_mtim.tv_nsec, 500);
  before = client_.stats().requests;
  st = fs_.SetAttr(ino, fh, times);  // the kernel writing back what was just set
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(client_.stats().requests, before);
  EXPECT_EQ(st->st_mtim.tv_sec, 1234567890);
  // After a write the server's times may have moved: the same times are sent again.
  ASSERT_TRUE(WriteSync(fh, 0, "data").ok());
  before = client_.stats().requests;
  st = fs_.SetAttr(ino, fh, times);
  ASSERT_TRUE(st.ok());
  EXPECT_GT(client_.stats().requests, before);
  // chmod a-w with new times: one SET_INFO carries both.
  SetAttrRequest both = times;
  both.mtime = {1300000000, 0};
  both.set_mode = true;
  both.mode = 0444;
  ASSERT_TRUE(fs_.GetAttr(ino, fh).ok());  // fresh attributes, as the kernel would have
  before = client_.stats().requests;
  st = fs_.SetAttr(ino, fh, both);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(client_.stats().requests, before + 1);
  EXPECT_EQ(st->st_mode & 0777, 0444u);
  EXPECT_EQ(st->st_mtim.tv_sec, 1300000000);
  ASSERT_TRUE(fs_.Release(fh).ok());
  // What the server holds agrees with what was answered.
  auto info = client_.Stat("t");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->attributes & smb3::kFileAttributeReadonly);
  auto back = fs_.GetAttr(ino, std::nullopt);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->st_mtim.tv_sec, 1300000000);
  EXPECT_EQ(back->st_atim.tv_sec, 1234567000);
  EXPECT_EQ(back->st_size, 4);
}

// utimensat(2) by path carries no handle: the change goes through the handle that wrote (a server
// moves the write time when that handle closes unless the time was set through it).
TEST_F(SmbFsTest, SetAttrWithoutHandleUsesTheOpenWritableHandle) {
  auto [ino, fh] = CreateFile(kRoot, "w", O_WRONLY | O_CREAT);
  ASSERT_TRUE(WriteSync(fh, 0, "abc").ok());
  SetAttrRequest times;
  times.set_mtime = true;
  times.mtime = {1000000000, 0};
  const uint64_t before = client_.stats().requests;
  auto st = fs_.SetAttr(ino, std::nullopt, times);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(client_.stats().requests, before + 2);  // SET_INFO + QUERY_INFO; no CREATE, no CLOSE
  EXPECT_EQ(st->st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(client_.OpenHandleCount(), 1u);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(SmbFsTest, TimesOfADeletedFileAreAcceptedQuietly) {
  Put(kRoot, "gone", "x");
  const uint64_t ino = fs_.Lookup(kRoot, "gone")->ino;
  ASSERT_TRUE(fs_.Unlink(kRoot, "gone").ok());
  SetAttrRequest t;
  t.set_mtime = true;
  t.mtime = {1000, 0};
  EXPECT_TRUE(fs_.SetAttr(ino, std::nullopt, t).ok());
  SetAttrRequest size;
  size.set_size = true;
  EXPECT_FALSE(fs_.SetAttr(ino, std::nullopt, size).ok());
}

TEST_F(SmbFsTest, FtruncateOnReadOnlyHandleFallsBackToPath) {
  Put(kRoot, "f", "0123456789");
  const uint64_t ino = fs_.Lookup(kRoot, "f")->ino;
  auto o = fs_.Open(ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  SetAttrRequest t;
  t.set_mtime = true;
  t.mtime = {1000, 0};
  EXPECT_TRUE(fs_.SetAttr(ino, o->fh, t).ok());
  ASSERT_TRUE(fs_.Release(o->fh).ok());
}

TEST_F(SmbFsTest, OpenTruncAndAppend) {
  Put(kRoot, "f", "abcdef");
  const uint64_t ino = fs_.Lookup(kRoot, "f")->ino;
  auto o = fs_.Open(ino, O_WRONLY | O_APPEND);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(WriteSync(o->fh, 0, "XY").ok());  // O_APPEND: at the end whatever the offset
  ASSERT_TRUE(fs_.Release(o->fh).ok());
  auto r = fs_.Open(ino, O_RDONLY);
  EXPECT_EQ(ReadSync(r->fh, 0, 100), "abcdefXY");
  ASSERT_TRUE(fs_.Release(r->fh).ok());
  auto t = fs_.Open(ino, O_RDWR | O_TRUNC);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(fs_.GetAttr(ino, t->fh)->st_size, 0);
  ASSERT_TRUE(fs_.Release(t->fh).ok());
}

TEST_F(SmbFsTest, RenameReplaceNoreplaceAndDirectories) {
  Put(kRoot, "a", "A");
  Put(kRoot, "b", "B");
  const uint64_t a = fs_.Lookup(kRoot, "a")->ino;
  EXPECT_EQ(ErrnoOf(fs_.Rename(kRoot, "a", kRoot, "b", RENAME_NOREPLACE)), EEXIST);
  ASSERT_TRUE(fs_.Rename(kRoot, "a", kRoot, "b", 0).ok());
  EXPECT_EQ(fs_.Lookup(kRoot, "b")->ino, a);
  EXPECT_EQ(fs_.Lookup(kRoot, "a")->ino, 0u);
  EXPECT_EQ(ErrnoOf(fs_.Rename(kRoot, "b", kRoot, "c", RENAME_EXCHANGE)), EINVAL);
  // A directory replaces an empty directory (POSIX), not a non-empty one.
  auto d1 = fs_.Mkdir(kRoot, "d1", 0755);
  auto d2 = fs_.Mkdir(kRoot, "d2", 0755);
  ASSERT_TRUE(d1.ok() && d2.ok());
  Put(d1->ino, "inner", "I");
  ASSERT_TRUE(fs_.Rename(kRoot, "d1", kRoot, "d2", 0).ok());
  const uint64_t moved = fs_.Lookup(kRoot, "d2")->ino;
  EXPECT_EQ(moved, d1->ino);
  EXPECT_NE(fs_.Lookup(moved, "inner")->ino, 0u);
  auto d3 = fs_.Mkdir(kRoot, "d3", 0755);
  Put(d3->ino, "x", "x");
  EXPECT_EQ(ErrnoOf(fs_.Rename(kRoot, "d2", kRoot, "d3", 0)), ENOTEMPTY);
  EXPECT_EQ(ErrnoOf(fs_.Rename(kRoot, "b", kRoot, "d3", 0)), EISDIR);
  EXPECT_EQ(ErrnoOf(fs_.Rename(kRoot, "d3", kRoot, "b", 0)), ENOTDIR);
  // Paths of inodes below a renamed directory follow it.
  const uint64_t x = fs_.Lookup(d3->ino, "x")->ino;
  ASSERT_TRUE(fs_.Rename(kRoot, "d3", moved, "d3moved", 0).ok());
  EXPECT_EQ(*fs_.inodes().Path(x), "d2/d3moved/x");
  EXPECT_TRUE(fs_.GetAttr(x, std::nullopt).ok());
}

TEST_F(SmbFsTest, OpenUnlinkedFileKeepsWorking) {
  auto [ino, fh] = CreateFile(kRoot, "f");
  ASSERT_TRUE(WriteSync(fh, 0, "still here").ok());
  ASSERT_TRUE(fs_.Unlink(kRoot, "f").ok());
  // The name is gone at once and can be reused.
  EXPECT_EQ(fs_.Lookup(kRoot, "f")->ino, 0u);
  EXPECT_EQ(List(kRoot), (std::vector<std::string>{".", ".."}));  // hidden name not listed
  auto [ino2, fh2] = CreateFile(kRoot, "f");
  EXPECT_NE(ino2, ino);
  ASSERT_TRUE(fs_.Release(fh2).ok());
  // The old file still reads, writes and stats (nlink 0).
  EXPECT_EQ(ReadSync(fh, 0, 100), "still here");
  ASSERT_TRUE(WriteSync(fh, 10, "!").ok());
  auto st = fs_.GetAttr(ino, std::nullopt);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->st_size, 11);
  EXPECT_EQ(st->st_nlink, 0u);
  ASSERT_TRUE(fs_.Release(fh).ok());
  // After the last close the server deleted it: only "f" (the new one) is left.
  auto all = client_.ListDirectory("");
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "f");
  EXPECT_EQ(client_.OpenHandleCount(), 0u);
}

TEST_F(SmbFsTest, RenameOverOpenFile) {
  Put(kRoot, "new", "NEW");
  auto [old_ino, fh] = CreateFile(kRoot, "target");
  ASSERT_TRUE(WriteSync(fh, 0, "OLD").ok());
  ASSERT_TRUE(fs_.Rename(kRoot, "new", kRoot, "target", 0).ok());
  EXPECT_EQ(ReadSync(fh, 0, 10), "OLD");  // the replaced file stays readable while open
  ASSERT_TRUE(fs_.Release(fh).ok());
  const uint64_t t = fs_.Lookup(kRoot, "target")->ino;
  auto o = fs_.Open(t, O_RDONLY);
  EXPECT_EQ(ReadSync(o->fh, 0, 10), "NEW");
  ASSERT_TRUE(fs_.Release(o->fh).ok());
  EXPECT_EQ(client_.ListDirectory("")->size(), 1u);
}

TEST_F(SmbFsTest, ReaddirPlusCountsOnlyAcceptedEntries) {
  for (int i = 0; i < 5; ++i) {  // made by another client: the inode table knows none of them
    auto r = client_.Open("f" + std::to_string(i), {.desired_access = smb3::kAccessWriteData,
                                                    .disposition = smb3::Disposition::kCreate});
    ASSERT_TRUE(r.ok());
    const uint8_t x = 'x';
    ASSERT_TRUE(client_.Write(r->handle, 0, std::span(&x, 1)).ok());
    ASSERT_TRUE(client_.Close(r->handle).ok());
  }
  auto dh = fs_.OpenDir(kRoot);
  ASSERT_TRUE(dh.ok());
  std::vector<DirItem> got;
  std::vector<std::string> names;
  // Accept ".", "..", f0, f1 then report the buffer full.
  ASSERT_TRUE(fs_.ReadDir(*dh, 0, true, [&](const DirItem& it) {
                   if (names.size() == 4) return false;
                   names.emplace_back(it.name);
                   got.push_back(it);
                   return true;
                 }).ok());
  ASSERT_EQ(names, (std::vector<std::string>{".", "..", "f0", "f1"}));
  const uint64_t f0 = got[2].entry.ino;
  EXPECT_EQ(fs_.inodes().LookupCount(f0), 1u);
  EXPECT_FALSE(fs_.inodes().Find("f2"));        // offered but refused: not counted
  // Continue from the offset the kernel got with f1.
  names.clear();
  ASSERT_TRUE(fs_.ReadDir(*dh, got[3].next_offset, true, [&](const DirItem& it) {
                   names.emplace_back(it.name);
                   return true;
                 }).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"f2", "f3", "f4"}));
  ASSERT_TRUE(fs_.ReleaseDir(*dh).ok());
  EXPECT_TRUE(S_ISREG(got[2].entry.attr.st_mode));
  EXPECT_EQ(got[2].entry.attr.st_size, 1);
}

TEST_F(SmbFsTest, RewinddirSeesNewEntries) {
  auto dh = fs_.OpenDir(kRoot);
  std::vector<std::string> names;
  auto add = [&](const DirItem& it) {
    names.emplace_back(it.name);
    return true;
  };
  ASSERT_TRUE(fs_.ReadDir(*dh, 0, false, add).ok());
  EXPECT_EQ(names.size(), 2u);
  Put(kRoot, "late", "x");
  names.clear();
  ASSERT_TRUE(fs_.ReadDir(*dh, 0, false, add).ok());
  EXPECT_EQ(names.size(), 3u);
  ASSERT_TRUE(fs_.ReleaseDir(*dh).ok());
}

TEST_F(SmbFsTest, StatfsAndFallocate) {
  auto st = fs_.StatFs();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->f_bsize, 4096u);
  EXPECT_GT(st->f_blocks, 0u);
  EXPECT_EQ(st->f_namemax, 255u);
  auto [ino, fh] = CreateFile(kRoot, "f");
  ASSERT_TRUE(fs_.Fallocate(fh, 0, 0, 1 << 20).ok());
  EXPECT_EQ(fs_.GetAttr(ino, fh)->st_size, 1 << 20);
  ASSERT_TRUE(fs_.Fallocate(fh, FALLOC_FL_KEEP_SIZE, 0, 4 << 20).ok());
  EXPECT_EQ(fs_.GetAttr(ino, fh)->st_size, 1 << 20);
  EXPECT_GE(fs_.GetAttr(ino, fh)->st_blocks, (4 << 20) / 512);
  EXPECT_EQ(ErrnoOf(fs_.Fallocate(fh, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10)),
            EOPNOTSUPP);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(SmbFsTest, KeepCacheOnlyWhileUnchanged) {
  Put(kRoot, "f", "v1");
  const uint64_t ino = fs_.Lookup(kRoot, "f")->ino;
  auto o1 = fs_.Open(ino, O_RDONLY);
  ASSERT_TRUE(fs_.Release(o1->fh).ok());
  auto o2 = fs_.Open(ino, O_RDONLY);
  EXPECT_TRUE(o2->keep_cache);  // unchanged since the last open
  ASSERT_TRUE(fs_.Release(o2->fh).ok());
  // Another client changes the file.
  auto other = client_.Open("f", {.desired_access = smb3::kAccessWriteData,
                                  .disposition = smb3::Disposition::kOpen});
  const uint8_t b[3] = {'v', '2', '!'};
  ASSERT_TRUE(client_.Write(other->handle, 0, b).ok());
  ASSERT_TRUE(client_.Close(other->handle).ok());
  auto o3 = fs_.Open(ino, O_RDONLY);
  EXPECT_FALSE(o3->keep_cache);
  ASSERT_TRUE(fs_.Release(o3->fh).ok());
}

TEST_F(SmbFsTest, ShutdownClosesEverythingOnTheServer) {
  CreateFile(kRoot, "a");
  CreateFile(kRoot, "b");
  EXPECT_EQ(client_.OpenHandleCount(), 2u);
  fs_.Shutdown();
  EXPECT_EQ(client_.OpenHandleCount(), 0u);
  EXPECT_EQ(fs_.open_files(), 0u);
}

TEST_F(SmbFsTest, DisconnectedWriteIsEio) {
  auto [ino, fh] = CreateFile(kRoot, "f");
  client_.Disconnect();
  auto w = WriteSync(fh, 0, "data");
  EXPECT_EQ(ErrnoOf(w.status()), EIO);
  EXPECT_EQ(ErrnoOf(fs_.Fsync(fh)), EIO);
}

TEST_F(SmbFsTest, BadHandles) {
  EXPECT_EQ(ErrnoOf(fs_.Release(999)), EBADF);
  EXPECT_EQ(ErrnoOf(fs_.Flush(999)), EBADF);
  EXPECT_EQ(ErrnoOf(WriteSync(999, 0, "x").status()), EBADF);
  EXPECT_EQ(ErrnoOf(fs_.ReleaseDir(999)), EBADF);
}

// Passes every call to a MemoryClient; tests override what they need to change.
class ForwardingClient : public smb3::Client {
 public:
  explicit ForwardingClient(MemoryClient& inner) : in_(inner) {}

  smb3::ConnectionInfo info() const override { return in_.info(); }
  smb3::ClientStats stats() const override { return in_.stats(); }
  smb3::Result<smb3::OpenResult> Open(std::string_view p, const smb3::OpenOptions& o) override {
    return in_.Open(p, o);
  }
  smb3::Status Close(const smb3::FileHandle& f, smb3::FileInfo* i) override { return in_.Close(f, i); }
  smb3::Result<size_t> Read(const smb3::FileHandle& f, uint64_t o, std::span<uint8_t> d) override {
    return in_.Read(f, o, d);
  }
  smb3::Result<size_t> Write(const smb3::FileHandle& f, uint64_t o,
                             std::span<const uint8_t> s) override {
    return in_.Write(f, o, s);
  }
  void ReadAsync(const smb3::FileHandle& f, uint64_t o, std::span<uint8_t> d,
                 smb3::IoCallback cb) override {
    in_.ReadAsync(f, o, d, std::move(cb));
  }
  void WriteAsync(const smb3::FileHandle& f, uint64_t o, std::span<const uint8_t> s,
                  smb3::IoCallback cb) override {
    in_.WriteAsync(f, o, s, std::move(cb));
  }
  smb3::Status Flush(const smb3::FileHandle& f) override { return in_.Flush(f); }
  smb3::Result<smb3::FileInfo> QueryInfo(const smb3::FileHandle& f) override { return in_.QueryInfo(f); }
  smb3::Result<smb3::FileInfo> Stat(std::string_view p) override { return in_.Stat(p); }
  smb3::Result<std::vector<smb3::DirEntry>> ListDirectory(std::string_view p) override {
    return in_.ListDirectory(p);
  }
  smb3::Status SetEndOfFile(const smb3::FileHandle& f, uint64_t n) override { return in_.SetEndOfFile(f, n); }
  smb3::Status SetBasicInfo(const smb3::FileHandle& f, smb3::FileTime c, smb3::FileTime a,
                            smb3::FileTime w, smb3::FileTime ch, uint32_t at) override {
    return in_.SetBasicInfo(f, c, a, w, ch, at);
  }
  smb3::Status Rename(const smb3::FileHandle& f, std::string_view p, bool r) override {
    return in_.Rename(f, p, r);
  }
  smb3::Status SetDeleteOnClose(const smb3::FileHandle& f, bool on) override {
    return in_.SetDeleteOnClose(f, on);
  }
  smb3::Status SetAllocationSize(const smb3::FileHandle& f, uint64_t n) override {
    return in_.SetAllocationSize(f, n);
  }
  smb3::Status Mkdir(std::string_view p) override { return in_.Mkdir(p); }
  smb3::Status Rmdir(std::string_view p) override { return in_.Rmdir(p); }
  smb3::Status Unlink(std::string_view p) override { return in_.Unlink(p); }
  smb3::Status RenamePath(std::string_view a, std::string_view b, bool r) override {
    return in_.RenamePath(a, b, r);
  }
  smb3::Result<smb3::FsInfo> StatFs() override { return in_.StatFs(); }
  smb3::Status Echo() override { return in_.Echo(); }
  smb3::Result<std::vector<smb3::NetworkInterface>> QueryNetworkInterfaces() override {
    return in_.QueryNetworkInterfaces();
  }
  void Disconnect() override { in_.Disconnect(); }

 protected:
  MemoryClient& in_;
};

// A server that lists names no POSIX directory can hold (issue 7 item 6): MemoryClient refuses to
// create them, so this client adds them to its listings.
class HostileListingClient final : public ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;
  std::vector<std::string> extra;  // names added to every listing

  smb3::Result<std::vector<smb3::DirEntry>> ListDirectory(std::string_view p) override {
    auto list = in_.ListDirectory(p);
    if (!list.ok()) return list;
    for (const std::string& name : extra) {
      smb3::DirEntry e;
      e.name = name;
      e.info.file_id = 0x7777;
      e.info.end_of_file = 1;
      list->push_back(e);
    }
    return list;
  }
};

// A server that answers WRITEs only when the test says so (or fails them): what write-behind
// does while writes are on the wire.
class HeldWritesClient final : public ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;

  void WriteAsync(const smb3::FileHandle& f, uint64_t o, std::span<const uint8_t> s,
                  smb3::IoCallback cb) override {
    std::lock_guard lock(mu_);
    held_.push_back({f, o, s, std::move(cb)});
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Stores (or, with `fail`, refuses with STATUS_DISK_FULL) every held write, in order.
  void Answer(bool fail = false) {
    std::vector<Held> now;
    {
      std::lock_guard lock(mu_);
      now.swap(held_);
    }
    for (Held& h : now) {
      if (fail) {
        h.cb(smb3::Status::NtStatus(smb3::STATUS_DISK_FULL, "write"));
      } else {
        in_.WriteAsync(h.file, h.offset, h.data, std::move(h.cb));
      }
    }
  }

 private:
  struct Held {
    smb3::FileHandle file;
    uint64_t offset;
    std::span<const uint8_t> data;
    smb3::IoCallback cb;
  };
  std::mutex mu_;
  std::vector<Held> held_;
};

TEST(ServerNames, OnlyNamesAPosixDirectoryCanHold) {
  EXPECT_TRUE(ServerNameOk("a"));
  EXPECT_TRUE(ServerNameOk("..."));
  EXPECT_TRUE(ServerNameOk(".hidden"));
  EXPECT_FALSE(ServerNameOk(""));
  EXPECT_FALSE(ServerNameOk("."));
  EXPECT_FALSE(ServerNameOk(".."));
  EXPECT_FALSE(ServerNameOk("a/b"));
  EXPECT_FALSE(ServerNameOk("/"));
  EXPECT_FALSE(ServerNameOk(std::string_view("a\0b", 3)));
}

TEST(ServerNames, BadNamesFromTheServerAreSkippedInReaddirAndReaddirplus) {
  MemoryClient memory;
  HostileListingClient client(memory);
  client.extra = {"..", ".", "../../etc", "x/y", std::string("nul\0cut", 7), "", "fine"};
  SmbFs fs(client, FsOptions{});
  ASSERT_TRUE(memory.Mkdir("d").ok());
  auto d = fs.Lookup(InodeTable::kRootIno, "d");
  ASSERT_TRUE(d.ok());
  for (bool plus : {false, true}) {
    auto dh = fs.OpenDir(d->ino);
    ASSERT_TRUE(dh.ok());
    std::vector<std::string> names;
    ASSERT_TRUE(fs.ReadDir(*dh, 0, plus, [&](const DirItem& it) {
                    names.emplace_back(it.name);
                    return true;
                  }).ok());
    ASSERT_TRUE(fs.ReleaseDir(*dh).ok());
    // Our own "." and ".." first, then the one acceptable name the server sent.
    EXPECT_EQ(names, (std::vector<std::string>{".", "..", "fine"})) << "plus=" << plus;
  }
  // No inode was made for a rejected name; the accepted one got one through readdirplus.
  EXPECT_FALSE(fs.inodes().Find("d/x/y").has_value());
  EXPECT_FALSE(fs.inodes().Find("d/../../etc").has_value());
  EXPECT_TRUE(fs.inodes().Find("d/fine").has_value());
}

// cache=strict write-behind (see SmbFs): answered before the server stored the data, within the
// window; everything that could tell the difference waits.
class WriteBehind : public ::testing::Test {
 protected:
  explicit WriteBehind(CacheMode cache = CacheMode::kStrict) : held_(memory_), fs_(held_, Opts(cache)) {}
  static FsOptions Opts(CacheMode cache) {
    FsOptions o;
    o.cache = cache;
    o.write_behind = 2u << 20;  // two 1 MiB writes
    return o;
  }
  struct Tracked {
    std::vector<uint8_t> data;
    std::atomic<bool> accepted{false};
    std::atomic<bool> completed{false};
    std::atomic<int> error{0};
  };
  std::shared_ptr<Tracked> StartWrite(uint64_t fh, uint64_t off, size_t n, char c) {
    auto t = std::make_shared<Tracked>();
    t->data.assign(n, static_cast<uint8_t>(c));
    fs_.Write(
        fh, off, t->data,
        [t](smb3::Result<size_t> r) {
          t->error = r.ok() ? 0 : ErrnoOf(r.status());
          t->completed = true;
        },
        [t](size_t count) {
          EXPECT_EQ(count, t->data.size());
          t->accepted = true;
        });
    return t;
  }
  std::pair<uint64_t, uint64_t> Create(const std::string& name, int flags = O_RDWR | O_CREAT) {
    auto r = fs_.Create(kRoot, name, S_IFREG | 0644, flags);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::make_pair(r->first.ino, r->second.fh) : std::make_pair(uint64_t{0}, uint64_t{0});
  }
  // Runs `f` on another thread; true if it is still waiting after 100 ms.
  template <class F>
  static bool Waits(std::future<F>& f) {
    return f.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout;
  }

  MemoryClient memory_;
  HeldWritesClient held_;
  SmbFs fs_;
};

TEST_F(WriteBehind, AnsweredAtOnceWithinTheWindowAndDrainedByClose) {
  auto [ino, fh] = Create("f");
  const size_t mib = 1 << 20;
  auto w1 = StartWrite(fh, 0, mib, 'a');
  auto w2 = StartWrite(fh, mib, mib, 'b');
  auto w3 = StartWrite(fh, 2 * mib, mib, 'c');  // the window is full: answered when stored
  EXPECT_TRUE(w1->accepted);
  EXPECT_TRUE(w2->accepted);
  EXPECT_FALSE(w3->accepted);
  EXPECT_FALSE(w1->completed || w2->completed || w3->completed);
  EXPECT_EQ(held_.held(), 6u);  // each 1 MiB write went out as two 512 KiB WRITEs
  EXPECT_EQ(fs_.writes_behind(ino), 2u);

  // The server still has an empty file; a lookup meanwhile presents the size the writes make.
  ASSERT_EQ(memory_.Stat("f")->end_of_file, 0u);
  auto e = fs_.Lookup(kRoot, "f");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attr.st_size, static_cast<off_t>(2 * mib));

  auto flush = std::async(std::launch::async, [&, fh = fh] { return fs_.Flush(fh); });
  EXPECT_TRUE(Waits(flush));  // close(2) returns only once the server has the data
  held_.Answer();
  EXPECT_TRUE(flush.get().ok());
  EXPECT_TRUE(w1->completed && w2->completed && w3->completed);
  EXPECT_EQ(w1->error + w2->error + w3->error, 0);
  EXPECT_EQ(fs_.writes_behind(ino), 0u);
  ASSERT_EQ(memory_.Stat("f")->end_of_file, 3 * mib);
  std::vector<uint8_t> back(3 * mib);
  auto h = memory_.Open("f", {.desired_access = smb3::kAccessReadData});
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(*memory_.Read(h->handle, 0, back), back.size());
  EXPECT_EQ(back[0], 'a');
  EXPECT_EQ(back[mib], 'b');
  EXPECT_EQ(back[3 * mib - 1], 'c');
  ASSERT_TRUE(memory_.Close(h->handle).ok());
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(WriteBehind, AFailureComesBackAtTheNextWriteAndAtClose) {
  auto [ino, fh] = Create("f");
  auto w1 = StartWrite(fh, 0, 4096, 'a');
  ASSERT_TRUE(w1->accepted);
  held_.Answer(/*fail=*/true);
  EXPECT_EQ(w1->error, ENOSPC);  // the application was told "written": the error is kept
  auto w2 = StartWrite(fh, 4096, 4096, 'b');
  EXPECT_FALSE(w2->accepted);  // the next write returns it at once
  EXPECT_TRUE(w2->completed);
  EXPECT_EQ(w2->error, ENOSPC);
  EXPECT_EQ(held_.held(), 0u);  // and sent nothing

  auto w3 = StartWrite(fh, 4096, 4096, 'c');  // reported once: the next write tries again
  ASSERT_TRUE(w3->accepted);
  held_.Answer(/*fail=*/true);
  EXPECT_EQ(ErrnoOf(fs_.Flush(fh)), ENOSPC);  // close(2) sees it
  EXPECT_TRUE(fs_.Flush(fh).ok());

  auto w4 = StartWrite(fh, 0, 4096, 'd');
  ASSERT_TRUE(w4->accepted);
  held_.Answer(/*fail=*/true);
  EXPECT_EQ(ErrnoOf(fs_.Fsync(fh)), ENOSPC);  // and so does fsync(2)
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(WriteBehind, ReadGetattrTruncateAndFsyncWaitForTheWritesBehind) {
  auto [ino, fh] = Create("f");
  auto w = StartWrite(fh, 0, 8192, 'x');
  ASSERT_TRUE(w->accepted);
  auto attr = std::async(std::launch::async, [&, ino = ino, fh = fh] { return fs_.GetAttr(ino, fh); });
  auto read = std::async(std::launch::async, [&, fh = fh] {
    std::promise<smb3::Result<smb3::ReadView>> p;
    fs_.Read(fh, 0, 8192, [&](smb3::Result<smb3::ReadView> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    return r.ok() ? r->size : size_t{0};
  });
  EXPECT_TRUE(Waits(attr));
  EXPECT_TRUE(Waits(read));
  held_.Answer();
  ASSERT_TRUE(attr.get().ok());
  EXPECT_EQ(read.get(), 8192u);  // not the empty file the server had before

  auto w2 = StartWrite(fh, 8192, 8192, 'y');
  ASSERT_TRUE(w2->accepted);
  SetAttrRequest truncate;
  truncate.set_size = true;
  truncate.size = 100;
  auto set = std::async(std::launch::async, [&, ino = ino, fh = fh] { return fs_.SetAttr(ino, fh, truncate); });
  EXPECT_TRUE(Waits(set));  // the truncate lands after the write, not before it
  held_.Answer();
  ASSERT_TRUE(set.get().ok());
  EXPECT_EQ(memory_.Stat("f")->end_of_file, 100u);
  auto e = fs_.Lookup(kRoot, "f");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attr.st_size, 100);  // no longer the end of the writes behind

  auto w3 = StartWrite(fh, 0, 10, 'z');
  ASSERT_TRUE(w3->accepted);
  auto sync = std::async(std::launch::async, [&, fh = fh] { return fs_.Fsync(fh); });
  EXPECT_TRUE(Waits(sync));
  held_.Answer();
  EXPECT_TRUE(sync.get().ok());
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(WriteBehind, NeverForAppendOrAZeroWindow) {
  auto [ino, fh] = Create("f", O_WRONLY | O_CREAT | O_APPEND);
  auto w = StartWrite(fh, 0, 10, 'a');
  EXPECT_FALSE(w->accepted);  // its place is the server's end of file: known only in order
  held_.Answer();
  EXPECT_TRUE(w->completed);
  ASSERT_TRUE(fs_.Release(fh).ok());

  FsOptions o = Opts(CacheMode::kStrict);
  o.write_behind = 0;
  SmbFs through(held_, o);
  auto c = through.Create(kRoot, "g", S_IFREG | 0644, O_RDWR | O_CREAT);
  ASSERT_TRUE(c.ok());
  bool accepted = false;
  std::vector<uint8_t> data(10, 'g');
  through.Write(c->second.fh, 0, data, [](smb3::Result<size_t>) {}, [&](size_t) { accepted = true; });
  EXPECT_FALSE(accepted);
  held_.Answer();
  ASSERT_TRUE(through.Release(c->second.fh).ok());
}

class WriteBehindNone : public WriteBehind {
 protected:
  WriteBehindNone() : WriteBehind(CacheMode::kNone) {}
};

TEST_F(WriteBehindNone, DirectIoWritesThrough) {
  auto [ino, fh] = Create("f");
  auto w = StartWrite(fh, 0, 10, 'a');
  EXPECT_FALSE(w->accepted);  // cache=none: the server has it when write(2) returns
  held_.Answer();
  EXPECT_TRUE(w->completed);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(WriteBehind, NotUnderTheWritebackCache) {
  fs_.SetWriteback(true);  // cache=loose: the kernel's writeback is already behind
  auto [ino, fh] = Create("f");
  auto w = StartWrite(fh, 0, 10, 'a');
  EXPECT_FALSE(w->accepted);
  held_.Answer();
  EXPECT_TRUE(w->completed);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

class SmallShare : public SmbFsTest {
 protected:
  SmallShare() : SmbFsTest(MemoryClient::Options{.capacity_bytes = 2 << 20}) {}
};

TEST_F(SmallShare, EnospcReachesTheWriter) {
  auto [ino, fh] = CreateFile(kRoot, "f");
  std::string block(1 << 20, 'z');
  ASSERT_TRUE(WriteSync(fh, 0, block).ok());
  ASSERT_TRUE(WriteSync(fh, 1 << 20, block).ok());
  EXPECT_EQ(ErrnoOf(WriteSync(fh, 2 << 20, block).status()), ENOSPC);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(SmallShare, WritebackErrorComesBackAtFlushAndFsync) {
  fs_.SetWriteback(true);
  auto [ino, fh] = CreateFile(kRoot, "f");
  std::string block(3 << 20, 'z');
  EXPECT_EQ(ErrnoOf(WriteSync(fh, 0, block).status()), ENOSPC);
  EXPECT_EQ(ErrnoOf(fs_.Flush(fh)), ENOSPC);  // close(2) sees it
  EXPECT_TRUE(fs_.Flush(fh).ok());            // reported once
  EXPECT_EQ(ErrnoOf(WriteSync(fh, 0, block).status()), ENOSPC);
  EXPECT_EQ(ErrnoOf(fs_.Fsync(fh)), ENOSPC);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

class AsyncClient : public SmbFsTest {
 protected:
  AsyncClient() : SmbFsTest(MemoryClient::Options{.async_thread = true}) {}
};

TEST_F(AsyncClient, CompletionsFromTheConnectionThread) {
  auto [ino, fh] = CreateFile(kRoot, "f");
  std::string data(300000, 'q');
  ASSERT_EQ(*WriteSync(fh, 0, data), data.size());
  EXPECT_EQ(ReadSync(fh, 0, data.size()), data);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(AsyncClient, LargeWriteGoesOutInPiecesAtOnce) {
  auto [ino, fh] = CreateFile(kRoot, "f");
  std::string data((1 << 20) + 12345, 'a');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  const uint64_t before = client_.stats().writes;
  ASSERT_EQ(*WriteSync(fh, 4096, data), data.size());
  EXPECT_EQ(client_.stats().writes - before, 3u);  // 512 KiB + 512 KiB + the rest
  EXPECT_EQ(ReadSync(fh, 4096, data.size()), data);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

TEST_F(SmallShare, FailedPieceFailsTheWholeSplitWrite) {
  auto [ino, fh] = CreateFile(kRoot, "f");
  std::string block(3 << 20, 'z');  // six 512 KiB pieces; the share holds four
  EXPECT_EQ(ErrnoOf(WriteSync(fh, 0, block).status()), ENOSPC);
  ASSERT_TRUE(fs_.Release(fh).ok());
}

class PrefixMount : public ::testing::Test {
 protected:
  PrefixMount() {
    EXPECT_TRUE(client_.Mkdir("top").ok());
    EXPECT_TRUE(client_.Mkdir("top/sub").ok());
    FsOptions o;
    o.root_path = "top/sub";
    fs_ = std::make_unique<SmbFs>(client_, o);
  }
  MemoryClient client_;
  std::unique_ptr<SmbFs> fs_;
};

TEST_F(PrefixMount, EverythingIsBelowThePrefix) {
  auto d = fs_->Mkdir(kRoot, "d", 0755);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(client_.Stat("top/sub/d").ok());
  EXPECT_TRUE(fs_->GetAttr(kRoot, std::nullopt).ok());
}

}  // namespace
}  // namespace fuse_smbd
