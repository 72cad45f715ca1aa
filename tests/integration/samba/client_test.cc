// SPDX-License-Identifier: LGPL-2.1-or-later
// libsmb3client against a real Samba smbd started per test on 127.0.0.1 (tests/support/samba-ctl).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "smb3/client.h"
#include "smb3/ntstatus.h"
#include "support/samba_client.h"
#include "support/samba_server.h"

namespace smb3 {
namespace {

using test::SambaOptions;
using test::SambaServer;

std::unique_ptr<SambaServer> StartOrDie(const SambaOptions& o = {}) { return test::StartSamba(o); }

ClientOptions OptionsFor(const SambaServer& s) { return test::SambaClientOptions(s); }

std::unique_ptr<Client> ConnectOrDie(const ClientOptions& o) { return test::ConnectClient(o); }

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (size_t i = 0; i + 4 <= n; i += 4) {
    uint32_t x = rng();
    std::memcpy(&v[i], &x, 4);
  }
  return v;
}

FileHandle CreateFile(Client& c, const std::string& path) {
  OpenOptions o;
  o.desired_access = kAccessReadData | kAccessWriteData | kAccessReadAttributes |
                     kAccessWriteAttributes | kAccessDelete | kAccessSynchronize;
  o.disposition = Disposition::kOverwriteIf;
  o.kind = FileKind::kFile;
  auto r = c.Open(path, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->handle : nullptr;
}

FileHandle OpenForRead(Client& c, const std::string& path) {
  OpenOptions o;
  auto r = c.Open(path, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->handle : nullptr;
}

// Writes `data` to `path` and reads it back through the client; checks the server's copy too.
void RoundTrip(Client& c, const SambaServer& s, const std::string& path, const std::vector<uint8_t>& data) {
  auto f = CreateFile(c, path);
  ASSERT_TRUE(f);
  auto w = c.Write(f, 0, data);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(*w, data.size());
  ASSERT_TRUE(c.Close(f).ok());
  std::ifstream on_disk(s.share_path() / path, std::ios::binary);
  std::vector<uint8_t> disk((std::istreambuf_iterator<char>(on_disk)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(disk == data) << "server copy differs";
  auto r = OpenForRead(c, path);
  ASSERT_TRUE(r);
  std::vector<uint8_t> back(data.size() + 4096);
  auto n = c.Read(r, 0, back);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, data.size());  // short read at end of file
  back.resize(*n);
  EXPECT_TRUE(back == data) << "read-back differs";
  EXPECT_TRUE(c.Close(r).ok());
}

class DialectTest : public ::testing::TestWithParam<uint16_t> {};

TEST_P(DialectTest, ConnectsAndMovesData) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.dialects = {GetParam()};
  auto c = ConnectOrDie(o);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->info().dialect, GetParam());
  RoundTrip(*c, *s, "dialect.bin", Pattern(3 << 20, GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Dialects, DialectTest, ::testing::Values(0x0300, 0x0302, 0x0311));

// A Samba algorithm name and the name our ConnectionInfo reports for it.
struct AlgorithmCase {
  const char* samba_name;
  const char* our_name;
};

std::string CaseName(const ::testing::TestParamInfo<AlgorithmCase>& param_info) {
  std::string n = param_info.param.samba_name;
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

class SigningTest : public ::testing::TestWithParam<AlgorithmCase> {};

TEST_P(SigningTest, MandatorySigningSignsEveryMessage) {
  SambaOptions so;
  so.signing = "mandatory";
  so.signing_algorithms = GetParam().samba_name;
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->info().signing, GetParam().our_name);
  EXPECT_TRUE(c->info().signing_required);
  RoundTrip(*c, *s, "signed.bin", Pattern(5 << 20, 7));
  auto st = c->stats();
  EXPECT_GE(st.signed_messages, st.requests - 3);  // all but NEGOTIATE and SESSION_SETUP x2
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SigningTest,
                         ::testing::Values(AlgorithmCase{"aes-128-gmac", "AES-128-GMAC"},
                                           AlgorithmCase{"aes-128-cmac", "AES-128-CMAC"},
                                           AlgorithmCase{"hmac-sha256", "HMAC-SHA256"}),
                         CaseName);

class EncryptionTest : public ::testing::TestWithParam<AlgorithmCase> {};

TEST_P(EncryptionTest, RequiredEncryptionSealsEveryMessage) {
  SambaOptions so;
  so.encrypt = "required";
  so.ciphers = GetParam().samba_name;
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->info().cipher, GetParam().our_name);
  EXPECT_TRUE(c->info().encryption_required);
  RoundTrip(*c, *s, "sealed.bin", Pattern(5 << 20, 11));
  EXPECT_GT(c->stats().encrypted_messages, 0u);
}

INSTANTIATE_TEST_SUITE_P(Ciphers, EncryptionTest,
                         ::testing::Values(AlgorithmCase{"aes-128-gcm", "AES-128-GCM"},
                                           AlgorithmCase{"aes-128-ccm", "AES-128-CCM"},
                                           AlgorithmCase{"aes-256-gcm", "AES-256-GCM"},
                                           AlgorithmCase{"aes-256-ccm", "AES-256-CCM"}),
                         CaseName);

TEST(SambaClient, SealOnRequestEvenWhenServerDoesNotRequireIt) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.encryption = Want::kRequired;
  auto c = ConnectOrDie(o);
  ASSERT_TRUE(c);
  EXPECT_NE(c->info().cipher, "none");
  RoundTrip(*c, *s, "seal.bin", Pattern(1 << 20, 3));
  EXPECT_GT(c->stats().encrypted_messages, 0u);
}

TEST(SambaClient, SignOnRequestEvenWhenServerDoesNotRequireIt) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.signing = Want::kRequired;
  auto c = ConnectOrDie(o);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->info().signing_required);
  RoundTrip(*c, *s, "sign.bin", Pattern(1 << 20, 4));
}

TEST(SambaClient, WrongPasswordIsAnAuthenticationError) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.credentials.password = "definitely-wrong";
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kAuth);
  EXPECT_EQ(c.status().detail(), STATUS_LOGON_FAILURE);
  EXPECT_NE(DescribeError(c.status()).find("wrong user name or password"), std::string::npos);
}

TEST(SambaClient, MissingShareNamesTheShare) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.share = "no-such-share";
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNt(STATUS_BAD_NETWORK_NAME)) << c.status().ToString();
  EXPECT_NE(DescribeError(c.status()).find("no such share"), std::string::npos);
}

TEST(SambaClient, RefusedDialectIsNotSupported) {
  SambaOptions so;
  so.min_protocol = "SMB3_11";
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.dialects = {0x0300};
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotSupported) << c.status().ToString();
}

TEST(SambaClient, ClosedPortIsUnreachable) {
  ClientOptions o;
  o.server = "127.0.0.1";
  o.port = 1;
  o.share = "share";
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnreachable);
  EXPECT_EQ(c.status().detail(), static_cast<uint32_t>(ECONNREFUSED));
}

TEST(SambaClient, GuestOnPublicShare) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.share = s->public_share();
  o.security = SecurityMode::kGuest;
  o.credentials = {};
  o.credentials.username = "guest";
  auto c = ConnectOrDie(o);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->ListDirectory("").ok());
}

TEST(SambaClient, OneGibRoundTrip) {
  SambaOptions so;
  so.share_tmpfs = true;
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  constexpr size_t kChunk = 16u << 20, kTotal = 1u << 30;
  auto f = CreateFile(*c, "gib.bin");
  ASSERT_TRUE(f);
  for (size_t off = 0; off < kTotal; off += kChunk) {
    auto chunk = Pattern(kChunk, static_cast<uint32_t>(off / kChunk));
    auto w = c->Write(f, off, chunk);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
  }
  FileInfo final_info;
  ASSERT_TRUE(c->Close(f, &final_info).ok());
  EXPECT_EQ(final_info.end_of_file, kTotal);
  auto r = OpenForRead(*c, "gib.bin");
  ASSERT_TRUE(r);
  std::vector<uint8_t> buf(kChunk);
  for (size_t off = 0; off < kTotal; off += kChunk) {
    auto n = c->Read(r, off, buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, kChunk);
    ASSERT_TRUE(buf == Pattern(kChunk, static_cast<uint32_t>(off / kChunk))) << "at offset " << off;
  }
  auto n = c->Read(r, kTotal, buf);  // at end of file
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(c->Close(r).ok());
  EXPECT_GE(c->stats().bytes_read, kTotal);
}

TEST(SambaClient, TenThousandEntryDirectory) {
  SambaOptions so;
  so.share_tmpfs = true;
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto dir = s->share_path() / "many";
  std::filesystem::create_directory(dir);
  for (int i = 0; i < 10000; ++i) std::ofstream(dir / ("file-" + std::to_string(i) + ".txt")) << i;
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  auto entries = c->ListDirectory("many");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  std::set<std::string> names;
  for (const auto& e : *entries) names.insert(e.name);
  EXPECT_EQ(entries->size(), 10000u);
  EXPECT_EQ(names.size(), 10000u);
  EXPECT_TRUE(names.count("file-0.txt") && names.count("file-9999.txt"));
}

TEST(SambaClient, RenameReplaceAndDeleteSemantics) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  RoundTrip(*c, *s, "a.txt", Pattern(1000, 1));
  RoundTrip(*c, *s, "b.txt", Pattern(2000, 2));
  Status st = c->RenamePath("a.txt", "b.txt", false);
  EXPECT_TRUE(st.IsNt(STATUS_OBJECT_NAME_COLLISION)) << st.ToString();
  ASSERT_TRUE(c->RenamePath("a.txt", "b.txt", true).ok());
  EXPECT_TRUE(c->Stat("a.txt").status().IsNt(STATUS_OBJECT_NAME_NOT_FOUND));
  auto info = c->Stat("b.txt");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->end_of_file, 1000u);

  ASSERT_TRUE(c->Mkdir("d").ok());
  EXPECT_TRUE(c->Mkdir("d").IsNt(STATUS_OBJECT_NAME_COLLISION));
  ASSERT_TRUE(c->RenamePath("b.txt", "d/b.txt", false).ok());
  EXPECT_TRUE(c->Rmdir("d").IsNt(STATUS_DIRECTORY_NOT_EMPTY));
  EXPECT_TRUE(c->Unlink("d").IsNt(STATUS_FILE_IS_A_DIRECTORY));
  ASSERT_TRUE(c->Unlink("d/b.txt").ok());
  EXPECT_TRUE(c->Unlink("d/b.txt").IsNt(STATUS_OBJECT_NAME_NOT_FOUND));
  ASSERT_TRUE(c->Rmdir("d").ok());

  // Delete-on-close through an open handle, and rename through a handle.
  auto f = CreateFile(*c, "h.txt");
  ASSERT_TRUE(f);
  ASSERT_TRUE(c->Rename(f, "h2.txt", false).ok());
  ASSERT_TRUE(c->SetDeleteOnClose(f, true).ok());
  ASSERT_TRUE(c->Close(f).ok());
  EXPECT_TRUE(c->Stat("h2.txt").status().IsNt(STATUS_OBJECT_NAME_NOT_FOUND));
}

TEST(SambaClient, TruncateTimesAndStatFs) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  auto f = CreateFile(*c, "t.bin");
  ASSERT_TRUE(f);
  ASSERT_TRUE(c->SetEndOfFile(f, 123457).ok());
  const FileTime t = kFileTimeUnixEpoch + 1700000000ULL * 10000000ULL;
  ASSERT_TRUE(c->SetBasicInfo(f, 0, t, t, 0, 0).ok());
  auto info = c->QueryInfo(f);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->end_of_file, 123457u);
  EXPECT_EQ(info->last_write_time, t);
  EXPECT_NE(info->file_id, 0u);
  ASSERT_TRUE(c->Close(f).ok());
  EXPECT_EQ(std::filesystem::file_size(s->share_path() / "t.bin"), 123457u);
  auto fs = c->StatFs();
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  EXPECT_GT(fs->total_allocation_units, 0u);
  EXPECT_GT(fs->bytes_per_sector, 0u);
  EXPECT_FALSE(fs->fs_name.empty());
  EXPECT_TRUE(c->Echo().ok());
}

TEST(SambaClient, EightThreadsReadOneFile) {
  SambaOptions so;
  so.share_tmpfs = true;
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  const auto data = Pattern(64u << 20, 99);
  RoundTrip(*c, *s, "shared.bin", data);
  auto f = OpenForRead(*c, "shared.bin");
  ASSERT_TRUE(f);
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint8_t> buf(3u << 20);
      // Each thread walks the file in a different order of 3 MiB pieces.
      size_t pieces = (data.size() + buf.size() - 1) / buf.size();
      for (size_t k = 0; k < pieces; ++k) {
        size_t idx = (k * 7 + t * 3) % pieces;
        size_t off = idx * buf.size();
        auto n = c->Read(f, off, buf);
        if (!n.ok()) {
          ++errors;
          continue;
        }
        size_t want = std::min(buf.size(), data.size() - off);
        if (*n != want || std::memcmp(buf.data(), data.data() + off, want) != 0) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_TRUE(c->Close(f).ok());
}

TEST(SambaClient, CompoundStatOfRootAndDroppedHandlesAreClosed) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  auto root = c->Stat("");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_TRUE(root->is_directory());
  // Handles dropped without Close are closed in the background; a later exclusive open works.
  for (int i = 0; i < 50; ++i) {
    auto f = CreateFile(*c, "drop.txt");
    ASSERT_TRUE(f);
  }
  EXPECT_TRUE(c->Unlink("drop.txt").ok());
}

}  // namespace
}  // namespace smb3

namespace smb3 {
namespace {

TEST(SambaClientAnonymous, AnonymousSessionListsPublicShare) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.share = s->public_share();
  o.security = SecurityMode::kAnonymous;
  o.credentials = {};
  auto c = ConnectOrDie(o);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->info().signing, "none");
  EXPECT_TRUE(c->ListDirectory("").ok());
}

TEST(SambaClientAnonymous, AnonymousCannotBeSigned) {
  auto s = StartOrDie();
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.share = s->public_share();
  o.security = SecurityMode::kAnonymous;
  o.credentials = {};
  o.signing = Want::kRequired;
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kSecurity) << c.status().ToString();
}

}  // namespace
}  // namespace smb3

namespace smb3 {
namespace {

TEST(SambaClientInterfaces, MultichannelServerListsItsInterface) {
  SambaOptions so;
  so.global = {"server multi channel support = yes"};
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto c = ConnectOrDie(OptionsFor(*s));
  ASSERT_TRUE(c);
  auto ifs = c->QueryNetworkInterfaces();
  ASSERT_TRUE(ifs.ok()) << ifs.status().ToString();
  ASSERT_FALSE(ifs->empty());
  bool loopback = false;
  for (const auto& i : *ifs) loopback |= i.address == "127.0.0.1";
  EXPECT_TRUE(loopback);
  EXPECT_FALSE((*ifs)[0].rdma_capable);  // loopback has no RDMA
}

TEST(SambaClientInterfaces, SealAgainstServerWithEncryptionOffFailsClearly) {
  SambaOptions so;
  so.encrypt = "off";
  auto s = StartOrDie(so);
  ASSERT_TRUE(s);
  auto o = OptionsFor(*s);
  o.encryption = Want::kRequired;
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.ok());  // never silently weaker than asked
  EXPECT_EQ(c.status().code(), Code::kSecurity) << c.status().ToString();
}

}  // namespace
}  // namespace smb3
