// SPDX-License-Identifier: LGPL-2.1-or-later
// LoadCredentialsFile: a credentials file readable by group or others is refused (as ssh refuses
// such a private key) unless the caller opts in, and then only with a warning in the log.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "smb3/log.h"
#include "smb3/options.h"

namespace smb3 {
namespace {

class CredentialsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/smb3-credentials-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "credentials").string();
    std::ofstream(path_) << "username=alice\npassword=pass word=1\ndomain=WORKGROUP\n";
  }
  void TearDown() override {
    SetLogSink(nullptr);
    std::filesystem::remove_all(dir_);
  }
  void Chmod(mode_t mode) { ASSERT_EQ(::chmod(path_.c_str(), mode), 0); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(CredentialsFile, OwnerOnlyIsRead) {
  Chmod(0600);
  auto c = LoadCredentialsFile(path_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "pass word=1");  // taken as is after the first '='
  EXPECT_EQ(c->domain, "WORKGROUP");
  Chmod(0400);
  EXPECT_TRUE(LoadCredentialsFile(path_).ok());
}

TEST_F(CredentialsFile, GroupOrWorldAccessIsRefused) {
  for (mode_t mode : {0640, 0604, 0644, 0660, 0606, 0610, 0601, 0620, 0602, 0777}) {
    SCOPED_TRACE(mode);
    Chmod(mode);
    auto c = LoadCredentialsFile(path_);
    ASSERT_FALSE(c.ok());
    EXPECT_TRUE(c.status().Is(Code::kSecurity)) << c.status().ToString();
    EXPECT_NE(c.status().ToString().find("chmod 600"), std::string::npos) << c.status().ToString();
  }
}

TEST_F(CredentialsFile, InsecureOptInWarnsAndNeverLogsThePassword) {
  Chmod(0644);
  std::mutex mu;
  std::vector<std::pair<LogLevel, std::string>> lines;
  SetLogSink([&](LogLevel level, std::string_view m) {
    std::lock_guard lock(mu);
    lines.emplace_back(level, std::string(m));
  });
  auto c = LoadCredentialsFile(path_, /*allow_insecure=*/true);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->password, "pass word=1");
  std::lock_guard lock(mu);
  bool warned = false;
  for (const auto& [level, m] : lines) {
    if (level == LogLevel::kWarning && m.find("readable by group or others") != std::string::npos)
      warned = true;
    EXPECT_EQ(m.find("pass word"), std::string::npos) << m;
  }
  EXPECT_TRUE(warned);
}

TEST_F(CredentialsFile, NotARegularFileIsRefused) {
  auto c = LoadCredentialsFile(dir_.string());
  EXPECT_FALSE(c.ok());
  auto missing = LoadCredentialsFile((dir_ / "absent").string());
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace smb3
