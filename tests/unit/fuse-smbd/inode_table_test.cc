// SPDX-License-Identifier: LGPL-2.1-or-later
#include "inode_table.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace fuse_smbd {
namespace {

smb3::FileInfo File(uint64_t id) {
  smb3::FileInfo i;
  i.file_id = id;
  i.attributes = smb3::kFileAttributeArchive;
  return i;
}
smb3::FileInfo Dir(uint64_t id) {
  smb3::FileInfo i;
  i.file_id = id;
  i.attributes = smb3::kFileAttributeDirectory;
  return i;
}

TEST(InodeTable, RootAndChildPaths) {
  InodeTable t("", true);
  EXPECT_EQ(*t.Path(InodeTable::kRootIno), "");
  EXPECT_EQ(*t.ChildPath(InodeTable::kRootIno, "a"), "a");
  InodeTable sub("pre/fix", true);
  EXPECT_EQ(*sub.ChildPath(InodeTable::kRootIno, "a"), "pre/fix/a");
  EXPECT_EQ(t.ChildPath(999, "a").status().detail(), static_cast<uint32_t>(ENOENT));
}

TEST(InodeTable, ServerFileIdsAreInodeNumbers) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(0x1234));
  EXPECT_EQ(a, 0x1234u);
  EXPECT_EQ(t.Lookup("a", File(0x1234)), a);
  EXPECT_EQ(t.LookupCount(a), 2u);
  // No file id, or file ids off: synthetic numbers, stable per path while known.
  const uint64_t b = t.Lookup("b", File(0));
  EXPECT_NE(b, 0u);
  EXPECT_NE(b, InodeTable::kRootIno);
  EXPECT_EQ(t.Lookup("b", File(0)), b);
  InodeTable n("", false);
  EXPECT_NE(n.Lookup("a", File(0x1234)), 0x1234u);
}

TEST(InodeTable, ReservedIdsNeverCollide) {
  InodeTable t("", true);
  EXPECT_NE(t.Lookup("x", File(1)), InodeTable::kRootIno);
  const uint64_t y = t.Lookup("y", File(77));
  smb3::FileInfo link = File(77);
  link.nlink = 2;
  const uint64_t z = t.Lookup("z", link);  // a hard link: a different inode number
  EXPECT_EQ(y, 77u);
  EXPECT_NE(z, 77u);
}

TEST(InodeTable, ForgetDropsAtZero) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(10));
  t.Lookup("a", File(10));
  t.Forget(a, 1);
  EXPECT_EQ(t.LookupCount(a), 1u);
  EXPECT_TRUE(t.Find("a"));
  t.Forget(a, 1);
  EXPECT_EQ(t.LookupCount(a), 0u);
  EXPECT_FALSE(t.Find("a"));
  EXPECT_EQ(t.size(), 1u);  // only the root
  t.Forget(InodeTable::kRootIno, 100);
  EXPECT_TRUE(t.Path(InodeTable::kRootIno).ok());
}

TEST(InodeTable, OpenFileOutlivesForget) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(10));
  t.AddOpen(a);
  t.Forget(a, 1);
  EXPECT_EQ(t.OpenCount(a), 1);
  EXPECT_TRUE(t.Path(a).ok());
  t.ReleaseOpen(a);
  EXPECT_FALSE(t.Path(a).ok());
}

TEST(InodeTable, ReplacedFileGetsNewInode) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(10));
  const uint64_t b = t.Lookup("a", File(11));  // another client replaced it
  EXPECT_NE(a, b);
  EXPECT_EQ(t.Path(a).status().detail(), static_cast<uint32_t>(ESTALE));
  EXPECT_EQ(*t.Path(b), "a");
}

TEST(InodeTable, RenameMovesSubtree) {
  InodeTable t("", true);
  const uint64_t d = t.Lookup("d", Dir(20));
  const uint64_t f = t.Lookup("d/f", File(21));
  const uint64_t g = t.Lookup("d/sub/g", File(22));
  const uint64_t other = t.Lookup("dx", File(23));  // shares a prefix, not a child
  t.Renamed("d", "e/d2");
  EXPECT_EQ(*t.Path(d), "e/d2");
  EXPECT_EQ(*t.Path(f), "e/d2/f");
  EXPECT_EQ(*t.Path(g), "e/d2/sub/g");
  EXPECT_EQ(*t.Path(other), "dx");
  EXPECT_FALSE(t.Find("d/f"));
  EXPECT_EQ(*t.Find("e/d2/f"), f);
}

TEST(InodeTable, RenameOverExistingDetachesTarget) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(30));
  const uint64_t b = t.Lookup("b", File(31));
  t.Renamed("a", "b");
  EXPECT_EQ(*t.Find("b"), a);
  EXPECT_FALSE(t.Path(b).ok());
  EXPECT_FALSE(t.Find("a"));
}

TEST(InodeTable, UnlinkAndHidden) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(40));
  t.Unlinked("a");
  EXPECT_FALSE(t.Find("a"));
  EXPECT_TRUE(t.IsUnlinked(a));
  EXPECT_FALSE(t.Path(a).ok());
  const uint64_t b = t.Lookup("b", File(41));
  t.AddOpen(b);
  t.Hidden(b, ".fuse-smbd-deleted-1");
  EXPECT_FALSE(t.Find("b"));
  EXPECT_EQ(*t.Path(b), ".fuse-smbd-deleted-1");
  EXPECT_TRUE(t.IsUnlinked(b));
  // The name is free for a new file.
  EXPECT_NE(t.Lookup("b", File(42)), b);
}

TEST(InodeTable, MovedByAnotherClientKeepsInode) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(50));
  EXPECT_EQ(t.Lookup("renamed", File(50)), a);
  EXPECT_EQ(*t.Path(a), "renamed");
  EXPECT_FALSE(t.Find("a"));
}

TEST(InodeTable, ParentIno) {
  InodeTable t("", true);
  const uint64_t d = t.Lookup("d", Dir(60));
  const uint64_t f = t.Lookup("d/f", File(61));
  EXPECT_EQ(t.ParentIno(f), d);
  EXPECT_EQ(t.ParentIno(d), InodeTable::kRootIno);
}

TEST(InodeTable, VersionTracking) {
  InodeTable t("", true);
  const uint64_t a = t.Lookup("a", File(70));
  EXPECT_FALSE(t.UpdateVersion(a, 10, 100));
  EXPECT_TRUE(t.UpdateVersion(a, 10, 100));
  EXPECT_FALSE(t.UpdateVersion(a, 11, 100));
}

TEST(JoinPath, Basics) {
  EXPECT_EQ(JoinPath("", "a"), "a");
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
}

}  // namespace
}  // namespace fuse_smbd
