// SPDX-License-Identifier: LGPL-2.1-or-later
// POSIX semantics on a mounted fuse-smbd, syscall by syscall. Run by mount-tests (case "posix")
// with FUSE_SMBD_TEST_DIR set to an empty directory inside the mount; it is not a standalone test.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <string>

namespace {

std::string Root() {
  const char* d = std::getenv("FUSE_SMBD_TEST_DIR");
  return d != nullptr ? d : "";
}

class Posix : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Root().empty()) << "FUSE_SMBD_TEST_DIR is not set (run through mount-tests)";
    dir_ = Root() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0) << dir_ << ": " << strerror(errno);
  }
  std::string P(const std::string& name) const { return dir_ + "/" + name; }
  void Put(const std::string& name, const std::string& data) {
    const int fd = open(P(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << name << ": " << strerror(errno);
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ASSERT_EQ(close(fd), 0);
  }
  std::string Get(const std::string& name) {
    const int fd = open(P(name).c_str(), O_RDONLY);
    if (fd < 0) return "<" + std::string(strerror(errno)) + ">";
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
  }
  std::set<std::string> Names(const std::string& d) {
    std::set<std::string> names;
    DIR* dp = opendir(d.c_str());
    if (dp == nullptr) return names;
    while (dirent* e = readdir(dp)) names.insert(e->d_name);
    closedir(dp);
    return names;
  }
  int Errno(int rc) { return rc == 0 ? 0 : errno; }
  std::string dir_;
};

TEST_F(Posix, CreateExclusiveAndMissing) {
  Put("a", "1");
  EXPECT_EQ(open(P("a").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(open(P("none").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(open(P("none/x").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(Errno(mkdir(P("a").c_str(), 0755)), EEXIST);
}

TEST_F(Posix, UnlinkRmdirErrors) {
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  Put("d/f", "x");
  EXPECT_EQ(Errno(rmdir(P("d").c_str())), ENOTEMPTY);
  EXPECT_EQ(Errno(unlink(P("d").c_str())), EISDIR);
  EXPECT_EQ(Errno(rmdir(P("d/f").c_str())), ENOTDIR);
  EXPECT_EQ(Errno(unlink(P("d/none").c_str())), ENOENT);
  EXPECT_EQ(unlink(P("d/f").c_str()), 0);
  EXPECT_EQ(rmdir(P("d").c_str()), 0);
  struct stat st{};
  EXPECT_EQ(Errno(stat(P("d").c_str(), &st)), ENOENT);
}

TEST_F(Posix, RenameReplaceAndNoreplace) {
  Put("a", "A");
  Put("b", "B");
  EXPECT_EQ(syscall(SYS_renameat2, AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(),
                    RENAME_NOREPLACE),
            -1);
  EXPECT_EQ(errno, EEXIST);
  ASSERT_EQ(rename(P("a").c_str(), P("b").c_str()), 0);
  EXPECT_EQ(Get("b"), "A");
  EXPECT_EQ(Names(dir_), (std::set<std::string>{".", "..", "b"}));
  ASSERT_EQ(syscall(SYS_renameat2, AT_FDCWD, P("b").c_str(), AT_FDCWD, P("c").c_str(),
                    RENAME_NOREPLACE),
            0);
  EXPECT_EQ(Get("c"), "A");
}

TEST_F(Posix, RenameDirectories) {
  ASSERT_EQ(mkdir(P("d1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("d2").c_str(), 0755), 0);
  Put("d1/f", "F");
  ASSERT_EQ(rename(P("d1").c_str(), P("d2").c_str()), 0) << strerror(errno);  // over an empty dir
  EXPECT_EQ(Get("d2/f"), "F");
  ASSERT_EQ(mkdir(P("d3").c_str(), 0755), 0);
  Put("d3/g", "G");
  EXPECT_EQ(Errno(rename(P("d2").c_str(), P("d3").c_str())), ENOTEMPTY);
  Put("file", "x");
  EXPECT_EQ(Errno(rename(P("file").c_str(), P("d3").c_str())), EISDIR);
  EXPECT_EQ(Errno(rename(P("d3").c_str(), P("file").c_str())), ENOTDIR);
  EXPECT_EQ(Errno(rename(P("d2").c_str(), P("d2/sub").c_str())), EINVAL);
  ASSERT_EQ(rename(P("d3").c_str(), P("d2/d3").c_str()), 0);
  EXPECT_EQ(Get("d2/d3/g"), "G");
}

TEST_F(Posix, OpenUnlinkedFile) {
  const int fd = open(P("f").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "before", 6), 6);
  ASSERT_EQ(unlink(P("f").c_str()), 0);
  struct stat st{};
  EXPECT_EQ(Errno(stat(P("f").c_str(), &st)), ENOENT);
  EXPECT_EQ(Names(dir_), (std::set<std::string>{".", ".."}));
  EXPECT_EQ(Names(Root()).count(".fuse-smbd-deleted-"), 0u);
  for (const auto& n : Names(Root())) EXPECT_NE(n.rfind(".fuse-smbd-deleted-", 0), 0u) << n;
  Put("f", "new file");  // the name is free at once
  ASSERT_EQ(pwrite(fd, "+after", 6, 6), 6);
  char buf[32] = {};
  ASSERT_EQ(pread(fd, buf, sizeof buf, 0), 12);
  EXPECT_STREQ(buf, "before+after");
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 12);
  EXPECT_EQ(st.st_nlink, 0u);
  ASSERT_EQ(close(fd), 0);
  EXPECT_EQ(Get("f"), "new file");
}

TEST_F(Posix, RenameOverOpenFile) {
  Put("target", "old");
  const int fd = open(P("target").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Put("src", "new");
  ASSERT_EQ(rename(P("src").c_str(), P("target").c_str()), 0) << strerror(errno);
  char buf[8] = {};
  ASSERT_EQ(pread(fd, buf, sizeof buf, 0), 3);
  EXPECT_STREQ(buf, "old");
  close(fd);
  EXPECT_EQ(Get("target"), "new");
}

TEST_F(Posix, ReadOnlyModeAndUnlink) {
  Put("ro", "x");
  ASSERT_EQ(chmod(P("ro").c_str(), 0444), 0);
  struct stat st{};
  ASSERT_EQ(stat(P("ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0222, 0u);
  EXPECT_EQ(unlink(P("ro").c_str()), 0) << strerror(errno);
}

TEST_F(Posix, TruncateTimesAppendSparse) {
  Put("f", "0123456789");
  ASSERT_EQ(truncate(P("f").c_str(), 4), 0);
  EXPECT_EQ(Get("f"), "0123");
  struct timespec ts[2] = {{1500000000, 0}, {1600000000, 500000000}};
  ASSERT_EQ(utimensat(AT_FDCWD, P("f").c_str(), ts, 0), 0);
  struct stat st{};
  ASSERT_EQ(stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500000000);
  const int fd = open(P("f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "AB", 2), 2);
  close(fd);
  EXPECT_EQ(Get("f"), "0123AB");
  const int sp = open(P("sparse").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(pwrite(sp, "z", 1, 10 << 20), 1);
  char b[4] = {1, 1, 1, 1};
  ASSERT_EQ(pread(sp, b, 4, 5 << 20), 4);
  EXPECT_EQ(b[0] | b[1] | b[2] | b[3], 0);
  ASSERT_EQ(fstat(sp, &st), 0);
  EXPECT_EQ(st.st_size, (10 << 20) + 1);
  ASSERT_EQ(ftruncate(sp, 0), 0);
  ASSERT_EQ(fstat(sp, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  close(sp);
}

TEST_F(Posix, FallocateAndStatfs) {
  const int fd = open(P("f").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(posix_fallocate(fd, 0, 1 << 20), 0);
  struct stat st{};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  close(fd);
  struct statvfs vfs{};
  ASSERT_EQ(statvfs(dir_.c_str(), &vfs), 0);
  EXPECT_GT(vfs.f_blocks, 0u);
  EXPECT_EQ(vfs.f_namemax, 255u);
}

TEST_F(Posix, NoLinksOrSpecialFiles) {
  Put("f", "x");
  EXPECT_EQ(Errno(link(P("f").c_str(), P("g").c_str())), EPERM);
  EXPECT_EQ(Errno(symlink("f", P("s").c_str())), EPERM);
  EXPECT_EQ(Errno(mkfifo(P("p").c_str(), 0644)), EPERM);
}

TEST_F(Posix, ManyEntries) {
  for (int i = 0; i < 1000; ++i) Put("e" + std::to_string(i), "");
  EXPECT_EQ(Names(dir_).size(), 1002u);
  struct stat st{};
  ASSERT_EQ(stat(P("e999").c_str(), &st), 0);
  ASSERT_EQ(stat(P("e0").c_str(), &st), 0);
  const ino_t ino = st.st_ino;
  ASSERT_EQ(stat(P("e0").c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, ino);  // stable
}

}  // namespace
