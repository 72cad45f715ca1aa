// SPDX-License-Identifier: LGPL-2.1-or-later
#include "options.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "smb_fs.h"

namespace fuse_smbd {
namespace {

Env FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

MountConfig Parsed(const std::string& opts, const std::string& source = "//srv/share") {
  MountConfig c;
  c.source = source;
  c.mountpoint = "/mnt";
  auto err = ApplyMountOptions(opts, &c);
  EXPECT_FALSE(err) << err->message;
  auto fin = FinishConfig(&c, FakeEnv({}));
  EXPECT_FALSE(fin) << fin->message;
  return c;
}

std::string ErrorOf(const std::string& opts, const std::string& source = "//srv/share",
                    const Env& env = FakeEnv({})) {
  MountConfig c;
  c.source = source;
  c.mountpoint = "/mnt";
  if (auto err = ApplyMountOptions(opts, &c)) return err->message;
  if (auto err = FinishConfig(&c, env)) return err->message;
  return "";
}

TEST(ParseSource, ServerShareAndPort) {
  MountConfig c;
  ASSERT_FALSE(ParseSource("//fileserver/data", &c));
  EXPECT_EQ(c.client.server, "fileserver");
  EXPECT_EQ(c.client.share, "data");
  EXPECT_EQ(c.client.port, 445);
  EXPECT_EQ(c.prefix_path, "");
  ASSERT_FALSE(ParseSource("//10.0.0.1:4455/data/sub//dir/", &c));
  EXPECT_EQ(c.client.server, "10.0.0.1");
  EXPECT_EQ(c.client.port, 4455);
  EXPECT_EQ(c.prefix_path, "sub/dir");
  ASSERT_FALSE(ParseSource("\\\\host\\share", &c));
  EXPECT_EQ(c.client.server, "host");
  EXPECT_EQ(c.client.share, "share");
  ASSERT_FALSE(ParseSource("//[fe80::1]:445/s", &c));
  EXPECT_EQ(c.client.server, "fe80::1");
  ASSERT_FALSE(ParseSource("//[::1]/s", &c));
  EXPECT_EQ(c.client.server, "::1");
}

TEST(ParseSource, Rejects) {
  MountConfig c;
  for (const char* bad : {"server/share", "//server", "//server/", "///share", "//h:0/s",
                          "//h:70000/s", "//h:x/s", "//[::1/s", "//::1/s", "//h/s/../x"}) {
    EXPECT_TRUE(ParseSource(bad, &c)) << bad;
  }
}

TEST(MountOptions, CifsNamesKeepTheirMeaning) {
  MountConfig c = Parsed(
      "username=alice,password=secret,domain=CORP,port=1445,vers=3.1.1,sec=ntlmssp,seal,sign,"
      "uid=1000,gid=100,forceuid,forcegid,file_mode=0640,dir_mode=750,rsize=1048576,"
      "wsize=4194304,actimeo=5,cache=loose,echo_interval=30,ro,allow_other,rdma=no");
  EXPECT_EQ(c.client.credentials.username, "alice");
  EXPECT_EQ(c.client.credentials.password, "secret");
  EXPECT_EQ(c.client.credentials.domain, "CORP");
  EXPECT_EQ(c.client.port, 1445);
  EXPECT_EQ(c.client.dialects, std::vector<uint16_t>{0x0311});
  EXPECT_EQ(c.client.security, smb3::SecurityMode::kNtlmssp);
  EXPECT_EQ(c.client.encryption, smb3::Want::kRequired);
  EXPECT_EQ(c.client.signing, smb3::Want::kRequired);
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.gid, 100u);
  EXPECT_TRUE(c.forceuid);
  EXPECT_TRUE(c.forcegid);
  EXPECT_EQ(c.file_mode, 0640u);
  EXPECT_EQ(c.dir_mode, 0750u);
  EXPECT_EQ(c.client.max_io_size, 1048576u);  // min(rsize, wsize)
  EXPECT_DOUBLE_EQ(c.actimeo, 5.0);
  EXPECT_EQ(c.cache, CacheMode::kLoose);
  EXPECT_EQ(c.client.echo_interval, std::chrono::seconds(30));
  EXPECT_TRUE(c.read_only);
  EXPECT_TRUE(c.allow_other);
  EXPECT_EQ(c.client.rdma, smb3::RdmaPolicy::kNo);
  EXPECT_EQ(c.client.server, "srv");
  EXPECT_EQ(c.client.share, "share");
}

TEST(MountOptions, Defaults) {
  MountConfig c = Parsed("");
  EXPECT_EQ(c.cache, CacheMode::kStrict);
  EXPECT_DOUBLE_EQ(c.actimeo, 1.0);
  EXPECT_TRUE(c.default_permissions);  // "perm" is mount.cifs's default
  EXPECT_FALSE(c.read_only);
  EXPECT_EQ(c.file_mode, 0755u);
  EXPECT_EQ(c.dir_mode, 0755u);
  EXPECT_TRUE(c.client.dialects.empty());
  EXPECT_EQ(c.backend, Backend::kSmb);
  EXPECT_TRUE(c.use_server_inodes);
}

TEST(MountOptions, AliasesAndLaterOptionsWin) {
  MountConfig c = Parsed("user=bob,pass=x,dom=D,workgroup=W,cache=none,cache=strict,ro,rw");
  EXPECT_EQ(c.client.credentials.username, "bob");
  EXPECT_EQ(c.client.credentials.password, "x");
  EXPECT_EQ(c.client.credentials.domain, "W");
  EXPECT_EQ(c.cache, CacheMode::kStrict);
  EXPECT_FALSE(c.read_only);
}

TEST(MountOptions, UserSpellings) {
  MountConfig c = Parsed("user=CORP/carol%pw");
  EXPECT_EQ(c.client.credentials.username, "carol");
  EXPECT_EQ(c.client.credentials.domain, "CORP");
  EXPECT_EQ(c.client.credentials.password, "pw");
  c = Parsed("username=DOM\\dave");
  EXPECT_EQ(c.client.credentials.domain, "DOM");
  EXPECT_EQ(c.client.credentials.username, "dave");
}

TEST(MountOptions, PasswordWithCommasAndEquals) {
  MountConfig c = Parsed("username=u,password=a,,b=c,,,ro");
  EXPECT_EQ(c.client.credentials.password, "a,b=c,");
  EXPECT_TRUE(c.read_only);
  c = Parsed("password=,rw");
  EXPECT_EQ(c.client.credentials.password, "");
}

TEST(MountOptions, FstabNoiseIsDropped) {
  MountConfig c = Parsed(
      "_netdev,nofail,noauto,auto,defaults,user,users,x-systemd.automount,"
      "x-systemd.mount-timeout=30,comment=foo,relatime,rw");
  EXPECT_FALSE(c.read_only);
  EXPECT_TRUE(c.fuse_options.empty());
}

TEST(MountOptions, KernelOptionsPassThrough) {
  MountConfig c = Parsed("nosuid,nodev,noexec,noatime");
  EXPECT_EQ(c.fuse_options, (std::vector<std::string>{"nosuid", "nodev", "noexec", "noatime"}));
}

TEST(MountOptions, PermAndNoperm) {
  EXPECT_FALSE(Parsed("noperm").default_permissions);
  EXPECT_TRUE(Parsed("noperm,default_permissions").default_permissions);
  EXPECT_TRUE(Parsed("noperm,perm").default_permissions);
}

TEST(MountOptions, Versions) {
  EXPECT_EQ(Parsed("vers=3.0").client.dialects, std::vector<uint16_t>{0x0300});
  EXPECT_EQ(Parsed("vers=3.02").client.dialects, std::vector<uint16_t>{0x0302});
  EXPECT_EQ(Parsed("vers=3.0.2").client.dialects, std::vector<uint16_t>{0x0302});
  EXPECT_EQ(Parsed("vers=3.11").client.dialects, std::vector<uint16_t>{0x0311});
  EXPECT_TRUE(Parsed("vers=3").client.dialects.empty());
  EXPECT_NE(ErrorOf("vers=2.1").find("only SMB 3"), std::string::npos);
  EXPECT_NE(ErrorOf("vers=4"), "");
}

TEST(MountOptions, Security) {
  EXPECT_EQ(Parsed("sec=none").client.security, smb3::SecurityMode::kAnonymous);
  EXPECT_EQ(Parsed("guest").client.security, smb3::SecurityMode::kGuest);
  MountConfig c = Parsed("sec=ntlmsspi");
  EXPECT_EQ(c.client.signing, smb3::Want::kRequired);
  EXPECT_NE(ErrorOf("sec=krb5").find("Kerberos"), std::string::npos);
  EXPECT_NE(ErrorOf("sec=none,password=x"), "");
}

TEST(MountOptions, Rdma) {
  EXPECT_EQ(Parsed("rdma=auto").client.rdma, smb3::RdmaPolicy::kAuto);
  EXPECT_EQ(Parsed("rdma=no").client.rdma, smb3::RdmaPolicy::kNo);
  EXPECT_EQ(Parsed("rdma=yes").client.rdma, smb3::RdmaPolicy::kYes);
  EXPECT_EQ(Parsed("rdma").client.rdma, smb3::RdmaPolicy::kYes);
  EXPECT_NE(ErrorOf("rdma=maybe"), "");
}

TEST(MountOptions, WriteBehindWindow) {
  EXPECT_EQ(Parsed("").writebehind_kb, 8192u);
  EXPECT_EQ(Parsed("writebehind_kb=0").writebehind_kb, 0u);
  const MountConfig c = Parsed("writebehind_kb=2048");
  EXPECT_EQ(c.writebehind_kb, 2048u);
  EXPECT_EQ(FsOptionsFrom(c).write_behind, 2048u << 10);
}

TEST(MountOptions, DirtyRatio) {
  EXPECT_EQ(Parsed("").dirty_ratio, 20u);
  EXPECT_EQ(Parsed("dirty_ratio=0").dirty_ratio, 0u);
  EXPECT_EQ(Parsed("dirty_ratio=100").dirty_ratio, 100u);
}

TEST(MountOptions, BadValuesNameTheOption) {
  struct Case {
    const char* opts;
    const char* mentions;
  } cases[] = {
      {"port=0", "port"},          {"port=99999", "port"},       {"file_mode=0999", "file_mode"},
      {"dir_mode=abc", "dir_mode"}, {"rsize=100", "rsize"},       {"wsize=1G", "wsize"},
      {"actimeo=-1", "actimeo"},   {"actimeo=x", "actimeo"},     {"cache=maybe", "cache"},
      {"echo_interval=0", "echo_interval"}, {"uid=no-such-user-xyz", "uid"},
      {"gid=no-such-group-xyz", "gid"}, {"backend=disk", "backend"}, {"ro=1", "ro"},
      {"username", "username"},    {"memsize=12Q", "memsize"},    {"seal=yes", "seal"},
      {"writebehind_kb=x", "writebehind_kb"}, {"writebehind_kb=2000000", "writebehind_kb"},
      {"dirty_ratio=101", "dirty_ratio"}, {"dirty_ratio=-1", "dirty_ratio"},
  };
  for (const Case& c : cases) {
    const std::string err = ErrorOf(c.opts);
    EXPECT_NE(err.find(c.mentions), std::string::npos) << c.opts << " -> " << err;
  }
}

TEST(MountOptions, UnknownOptionIsOneClearError) {
  const std::string err = ErrorOf("rw,frobnicate=3");
  EXPECT_NE(err.find("unknown mount option 'frobnicate'"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
}

TEST(MountOptions, SloppyIgnoresUnknownWithWarning) {
  MountConfig c;
  c.source = "//s/x";
  c.mountpoint = "/mnt";
  c.sloppy = true;
  EXPECT_FALSE(ApplyMountOptions("frobnicate,ro", &c));
  EXPECT_TRUE(c.read_only);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("frobnicate"), std::string::npos);
}

TEST(MountOptions, NamesAreResolved) {
  MountConfig c = Parsed("uid=root,gid=root");
  EXPECT_EQ(c.uid, 0u);
  EXPECT_EQ(c.gid, 0u);
}

TEST(MountOptions, PortOptionBeatsSource) {
  MountConfig c = Parsed("port=2000", "//h:3000/s");
  EXPECT_EQ(c.client.port, 2000);
  c = Parsed("", "//h:3000/s");
  EXPECT_EQ(c.client.port, 3000);
}

TEST(MountOptions, IpOverridesServerAddress) {
  MountConfig c = Parsed("ip=192.0.2.7", "//name/s");
  EXPECT_EQ(c.client.server, "192.0.2.7");
  EXPECT_EQ(c.client.share, "s");
}

TEST(MountOptions, MemoryBackend) {
  MountConfig c = Parsed("backend=memory,memsize=64M", "anything");
  EXPECT_EQ(c.backend, Backend::kMemory);
  EXPECT_EQ(c.memory_size, 64ull << 20);
  EXPECT_EQ(c.workers, 0u);  // memory calls are cheap: serve them in the loop
  EXPECT_EQ(Parsed("backend=memory,workers=2", "m").workers, 2u);
  EXPECT_NE(ErrorOf("backend=memory,rdma=yes", "m").find("SMB Direct"), std::string::npos);
  EXPECT_EQ(Parsed("backend=memory,rdma=no", "m").backend, Backend::kMemory);
}

TEST(MountOptions, SmbBackendNeedsAProperSource) {
  EXPECT_NE(ErrorOf("", "notasource").find("//server/share"), std::string::npos);
}

TEST(Credentials, EnvironmentLikeMountCifs) {
  MountConfig c;
  c.source = "//s/x";
  c.mountpoint = "/mnt";
  ASSERT_FALSE(FinishConfig(&c, FakeEnv({{"USER", "erin"}, {"PASSWD", "pw1"}})));
  EXPECT_EQ(c.client.credentials.username, "erin");
  EXPECT_EQ(c.client.credentials.password, "pw1");
  // Explicit options win over the environment.
  MountConfig d;
  d.source = "//s/x";
  d.mountpoint = "/mnt";
  ASSERT_FALSE(ApplyMountOptions("username=frank,password=pw2", &d));
  ASSERT_FALSE(FinishConfig(&d, FakeEnv({{"USER", "erin"}, {"PASSWD", "pw1"}})));
  EXPECT_EQ(d.client.credentials.username, "frank");
  EXPECT_EQ(d.client.credentials.password, "pw2");
}

class CredentialsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fuse-smbd-cred-XXXXXX";
    const int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  void TearDown() override { unlink(path_.c_str()); }
  void Write(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    chmod(path_.c_str(), mode);
  }
  std::string path_;
};

TEST_F(CredentialsFile, ParsesMountCifsFormat) {
  Write("# comment\n\nusername=grace\npassword= p w=\ndomain=WG\n", 0600);
  smb3::Credentials cred;
  ASSERT_FALSE(ReadCredentialsFile(path_, false, &cred));
  EXPECT_EQ(cred.username, "grace");
  EXPECT_EQ(cred.password, " p w=");
  EXPECT_EQ(cred.domain, "WG");
}

TEST_F(CredentialsFile, ShortKeysAndDomainInUser) {
  Write("user=DOM/heidi\r\npass=x\r\n", 0600);
  smb3::Credentials cred;
  ASSERT_FALSE(ReadCredentialsFile(path_, false, &cred));
  EXPECT_EQ(cred.username, "heidi");
  EXPECT_EQ(cred.domain, "DOM");
  EXPECT_EQ(cred.password, "x");
}

TEST_F(CredentialsFile, RefusesReadableByOthers) {
  Write("username=a\npassword=b\n", 0644);
  smb3::Credentials cred;
  auto err = ReadCredentialsFile(path_, false, &cred);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("chmod 600"), std::string::npos);
  EXPECT_EQ(err->message.find("=b"), std::string::npos);  // never the password
  EXPECT_FALSE(ReadCredentialsFile(path_, true, &cred));
}

TEST_F(CredentialsFile, RejectsGarbageAndMissingFiles) {
  smb3::Credentials cred;
  Write("username=a\nthis is not a key\n", 0600);
  auto err = ReadCredentialsFile(path_, false, &cred);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find(path_), std::string::npos);
  err = ReadCredentialsFile("/nonexistent/cred", false, &cred);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("No such file"), std::string::npos) << err->message;
}

TEST_F(CredentialsFile, KeepsFieldsTheFileDoesNotName) {
  Write("password=only\n", 0600);
  smb3::Credentials cred;
  cred.username = "given";
  ASSERT_FALSE(ReadCredentialsFile(path_, false, &cred));
  EXPECT_EQ(cred.username, "given");
  EXPECT_EQ(cred.password, "only");
}

TEST_F(CredentialsFile, ThroughTheCredentialsOption) {
  Write("username=ivan\npassword=topsecret\n", 0600);
  MountConfig c = Parsed("credentials=" + path_);
  EXPECT_EQ(c.client.credentials.username, "ivan");
  EXPECT_EQ(c.client.credentials.password, "topsecret");
  // A later option overrides the file, as with mount.cifs.
  c = Parsed("credentials=" + path_ + ",username=judy");
  EXPECT_EQ(c.client.credentials.username, "judy");
}

TEST(DescribeConfig, NeverShowsThePassword) {
  MountConfig c = Parsed("username=u,password=hunter2-secret");
  const std::string d = DescribeConfig(c);
  EXPECT_EQ(d.find("hunter2"), std::string::npos);
  EXPECT_NE(d.find("username=u"), std::string::npos);
}

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> v;
  for (auto& a : args) v.push_back(a.data());
  return v;
}

TEST(CommandLine, FuseSmbd) {
  std::vector<std::string> args = {"fuse-smbd", "//h/s", "/mnt/x", "-f", "-o", "ro,uid=7",
                                   "-o", "cache=none"};
  auto argv = Argv(args);
  MountConfig c;
  bool exit_now = false;
  auto err = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), false, FakeEnv({}), &c,
                              &exit_now);
  ASSERT_FALSE(err) << err->message;
  EXPECT_FALSE(exit_now);
  EXPECT_EQ(c.source, "//h/s");
  EXPECT_EQ(c.mountpoint, "/mnt/x");
  EXPECT_TRUE(c.foreground);
  EXPECT_TRUE(c.read_only);
  EXPECT_EQ(c.uid, 7u);
  EXPECT_EQ(c.cache, CacheMode::kNone);
}

TEST(CommandLine, FuseSmbdDebugImpliesForegroundAndBackendFlag) {
  std::vector<std::string> args = {"fuse-smbd", "-d", "--backend=memory", "mem", "/mnt/x"};
  auto argv = Argv(args);
  MountConfig c;
  bool exit_now = false;
  ASSERT_FALSE(ParseCommandLine(static_cast<int>(argv.size()), argv.data(), false, FakeEnv({}), &c,
                                &exit_now));
  EXPECT_TRUE(c.debug);
  EXPECT_TRUE(c.foreground);
  EXPECT_EQ(c.backend, Backend::kMemory);
}

TEST(CommandLine, MountHelperConventions) {
  std::vector<std::string> args = {"mount.smbd-fuse", "//h/s", "/mnt/x", "-sfnv", "-o",
                                   "_netdev,nofail,weird,username=u"};
  auto argv = Argv(args);
  MountConfig c;
  bool exit_now = false;
  auto err = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), true, FakeEnv({}), &c,
                              &exit_now);
  ASSERT_FALSE(err) << err->message;
  EXPECT_TRUE(c.sloppy);
  EXPECT_TRUE(c.fake);  // -f is "fake" for a mount helper
  EXPECT_TRUE(c.verbose);
  EXPECT_FALSE(c.foreground);
  EXPECT_EQ(c.client.credentials.username, "u");
  EXPECT_EQ(c.warnings.size(), 1u);
}

TEST(CommandLine, MountHelperUnknownOptionFails) {
  std::vector<std::string> args = {"mount.smbd-fuse", "//h/s", "/mnt/x", "-o", "weird"};
  auto argv = Argv(args);
  MountConfig c;
  bool exit_now = false;
  auto err = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), true, FakeEnv({}), &c,
                              &exit_now);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("weird"), std::string::npos);
}

TEST(CommandLine, PasswordsAreScrubbedFromArgv) {
  std::vector<std::string> args = {"fuse-smbd", "//h/s", "/mnt", "-o",
                                   "user=u,password=a,,b,ro", "-opass=xyz", "-o", "compass=1"};
  auto argv = Argv(args);
  ScrubPasswords(static_cast<int>(argv.size()), argv.data());
  EXPECT_STREQ(argv[4], "user=u,password=****,ro");
  EXPECT_STREQ(argv[5], "-opass=***");
  EXPECT_STREQ(argv[7], "compass=1");
}

TEST(CommandLine, MissingMountpoint) {
  std::vector<std::string> args = {"fuse-smbd", "//h/s"};
  auto argv = Argv(args);
  MountConfig c;
  bool exit_now = false;
  EXPECT_TRUE(ParseCommandLine(static_cast<int>(argv.size()), argv.data(), false, FakeEnv({}), &c,
                               &exit_now));
}

}  // namespace
}  // namespace fuse_smbd
