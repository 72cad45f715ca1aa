// SPDX-License-Identifier: LGPL-2.1-or-later
// crypto.h primitives against published vectors: RFC 1320 (MD4), RFC 1321 (MD5), RFC 2202
// (HMAC-MD5), RFC 4231 (HMAC-SHA256), FIPS 180-2 (SHA-512), RFC 4493 (AES-CMAC), RFC 6229 (RC4),
// the GCM specification's test cases (McGrew & Viega; also NIST's gcmEncryptExtIV vectors).
#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <thread>

#include "unit/crypto/hex.h"

namespace smb3::crypto {
namespace {

using test_util::Bytes;
using test_util::Hex;
using test_util::ToHex;

TEST(Md4, Rfc1320Vectors) {
  const struct {
    const char* in;
    const char* digest;
  } kCases[] = {
      {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
      {"a", "bde52cb31de33e46245e05fbdbd6fb24"},
      {"abc", "a448017aaf21d8525fc10ae87aa6729d"},
      {"message digest", "d9130a8164549fe818874806e1c7014b"},
      {"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
  };
  for (const auto& c : kCases) {
    auto d = Md4(Bytes(c.in));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(ToHex(*d), c.digest) << c.in;
  }
}

TEST(Md5, Rfc1321Vectors) {
  EXPECT_EQ(ToHex(*Md5(Bytes(""))), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(ToHex(*Md5(Bytes("abc"))), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(ToHex(*Md5(Bytes("message digest"))), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(HmacMd5, Rfc2202Vectors) {
  std::vector<uint8_t> key1(16, 0x0b);
  auto data1 = Bytes("Hi There");
  const ByteView p1[] = {data1};
  EXPECT_EQ(ToHex(*HmacMd5(key1, p1)), "9294727a3638bb1c13f48ef8158bfc9d");
  // Split input: the parts are concatenated.
  auto key2 = Bytes("Jefe");
  auto a = Bytes("what do ya want ");
  auto b = Bytes("for nothing?");
  const ByteView p2[] = {a, ByteView(), b};
  EXPECT_EQ(ToHex(*HmacMd5(key2, p2)), "750c783e6ab0b503eaa86e310a5db738");
}

TEST(HmacSha256, Rfc4231Vectors) {
  std::vector<uint8_t> key1(20, 0x0b);
  auto data1 = Bytes("Hi There");
  const ByteView p1[] = {data1};
  EXPECT_EQ(ToHex(*HmacSha256(key1, p1)),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  auto key2 = Bytes("Jefe");
  auto data2 = Bytes("what do ya want for nothing?");
  const ByteView p2[] = {data2};
  EXPECT_EQ(ToHex(*HmacSha256(key2, p2)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Sha512, Fips180Vectors) {
  auto abc = Bytes("abc");
  const ByteView p[] = {abc};
  EXPECT_EQ(ToHex(*Sha512(p)),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(ToHex(*Sha512(std::span<const ByteView>())),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
}

TEST(AesCmac, Rfc4493Vectors) {
  const auto key = Hex("2b7e151628aed2a6abf7158809cf4f3c");
  const auto msg = Hex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  const struct {
    size_t len;
    const char* mac;
  } kCases[] = {{0, "bb1d6929e95937287fa37d129b756746"},
                {16, "070a16b46b4d4144f79bdd9dd04a287c"},
                {40, "dfa66747de9ae63030ca32611497c827"},
                {64, "51f0bebf7e3b9d92fc49741779363cfe"}};
  for (const auto& c : kCases) {
    const ByteView whole[] = {ByteView(msg).first(c.len)};
    auto mac = AesCmac(key, whole);
    ASSERT_TRUE(mac.ok()) << mac.status().ToString();
    EXPECT_EQ(ToHex(*mac), c.mac) << c.len;
    // Same MAC when the message arrives in uneven parts.
    const size_t cut = c.len / 3;
    const ByteView split[] = {ByteView(msg).first(cut), ByteView(msg).subspan(cut, c.len - cut)};
    EXPECT_EQ(ToHex(*AesCmac(key, split)), c.mac) << c.len;
  }
}

TEST(AesCmac, RejectsWrongKeySize) {
  std::vector<uint8_t> key(32, 1);
  auto mac = AesCmac(key, {});
  ASSERT_FALSE(mac.ok());
  EXPECT_TRUE(mac.status().Is(Code::kInvalidArgument));
}

TEST(Rc4, Rfc6229Keystream) {
  // Encrypting zeros yields the keystream; offset 0 of the 40-bit and 128-bit keys.
  std::vector<uint8_t> data(16, 0);
  ASSERT_TRUE(Rc4(Hex("0102030405"), data).ok());
  EXPECT_EQ(ToHex(data), "b2396305f03dc027ccc3524a0a1118a8");
  std::vector<uint8_t> data2(16, 0);
  ASSERT_TRUE(Rc4(Hex("0102030405060708090a0b0c0d0e0f10"), data2).ok());
  EXPECT_EQ(ToHex(data2), "9ac7cc9a609d1ef7b2932899cde41b97");
  // RC4 is its own inverse.
  ASSERT_TRUE(Rc4(Hex("0102030405060708090a0b0c0d0e0f10"), data2).ok());
  EXPECT_EQ(data2, std::vector<uint8_t>(16, 0));
  EXPECT_TRUE(Rc4({}, data).Is(Code::kInvalidArgument));
}

struct GcmVector {
  AeadAlgorithm alg;
  const char* key;
  const char* iv;
  const char* aad;
  const char* pt;
  const char* ct;
  const char* tag;
};

// The GCM specification's test cases 1-4 (AES-128) and 16 (AES-256), 96-bit IVs.
const GcmVector kGcmVectors[] = {
    {AeadAlgorithm::kAes128Gcm, "00000000000000000000000000000000", "000000000000000000000000", "",
     "", "", "58e2fccefa7e3061367f1d57a4e7455a"},
    {AeadAlgorithm::kAes128Gcm, "00000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    {AeadAlgorithm::kAes128Gcm, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {AeadAlgorithm::kAes128Gcm, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {AeadAlgorithm::kAes256Gcm,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AeadGcm, SpecificationVectors) {
  for (const auto& v : kGcmVectors) {
    const auto key = Hex(v.key), iv = Hex(v.iv), aad = Hex(v.aad), pt = Hex(v.pt);
    std::vector<uint8_t> ct(pt.size());
    std::array<uint8_t, 16> tag;
    ASSERT_TRUE(AeadEncrypt(v.alg, key, iv, aad, pt, ct, tag).ok());
    EXPECT_EQ(ToHex(ct), v.ct);
    EXPECT_EQ(ToHex(tag), v.tag);
    std::vector<uint8_t> back(ct.size());
    ASSERT_TRUE(AeadDecrypt(v.alg, key, iv, aad, ct, tag, back).ok());
    EXPECT_EQ(back, pt);
  }
}

TEST(AesGmac, MatchesGcmWithoutPlaintext) {
  // NIST gcmEncryptExtIV128, PTlen 0, AADlen 128, Count 0.
  const auto key = Hex("77be63708971c4e240d1cb79e8d77feb");
  const auto iv = Hex("e0e00f19fed7ba0136a797f3");
  const auto aad = Hex("7a43ec1d9c0a5a78a0b16533a6213cab");
  const ByteView parts[] = {ByteView(aad).first(5), ByteView(aad).subspan(5)};
  auto tag = AesGmac(key, iv, parts);
  ASSERT_TRUE(tag.ok()) << tag.status().ToString();
  EXPECT_EQ(ToHex(*tag), "209fcc8d3675ed938e9c7166709dd946");
  // Test case 1 of the GCM specification: no data at all.
  auto empty = AesGmac(Hex("00000000000000000000000000000000"), Hex("000000000000000000000000"),
                       {});
  EXPECT_EQ(ToHex(*empty), "58e2fccefa7e3061367f1d57a4e7455a");
  EXPECT_TRUE(AesGmac(key, Hex("00"), parts).status().Is(Code::kInvalidArgument));
}

class AeadRoundTrip : public ::testing::TestWithParam<AeadAlgorithm> {};

TEST_P(AeadRoundTrip, InPlaceAndTamperDetection) {
  const AeadAlgorithm alg = GetParam();
  const bool ccm = alg == AeadAlgorithm::kAes128Ccm || alg == AeadAlgorithm::kAes256Ccm;
  const bool wide = alg == AeadAlgorithm::kAes256Ccm || alg == AeadAlgorithm::kAes256Gcm;
  std::vector<uint8_t> key(wide ? 32 : 16);
  std::vector<uint8_t> nonce(ccm ? 11 : 12);
  ASSERT_TRUE(RandomBytes(key).ok());
  ASSERT_TRUE(RandomBytes(nonce).ok());
  const auto aad = Bytes("associated data");
  for (size_t len : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{1000}}) {
    std::vector<uint8_t> pt(len);
    for (size_t i = 0; i < len; ++i) pt[i] = static_cast<uint8_t>(i * 7);
    std::vector<uint8_t> buf = pt;
    std::array<uint8_t, 16> tag;
    ASSERT_TRUE(AeadEncrypt(alg, key, nonce, aad, buf, buf, tag).ok()) << len;  // in place
    if (len >= 16) {
      EXPECT_NE(buf, pt);
    }
    std::vector<uint8_t> copy = buf;
    ASSERT_TRUE(AeadDecrypt(alg, key, nonce, aad, copy, tag, copy).ok()) << len;
    EXPECT_EQ(copy, pt);

    // A flipped bit anywhere (ciphertext, tag, AAD, nonce) is rejected and the output zeroed.
    if (len > 0) {
      copy = buf;
      copy[len / 2] ^= 0x01;
      std::vector<uint8_t> out(len, 0xAA);
      Status s = AeadDecrypt(alg, key, nonce, aad, copy, tag, out);
      EXPECT_TRUE(s.Is(Code::kSecurity)) << s.ToString();
      EXPECT_EQ(out, std::vector<uint8_t>(len, 0));
    }
    auto bad_tag = tag;
    bad_tag[15] ^= 0x80;
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(AeadDecrypt(alg, key, nonce, aad, buf, bad_tag, out).Is(Code::kSecurity));
    auto bad_aad = aad;
    bad_aad[0] ^= 1;
    EXPECT_TRUE(AeadDecrypt(alg, key, nonce, bad_aad, buf, tag, out).Is(Code::kSecurity));
    auto bad_nonce = nonce;
    bad_nonce[0] ^= 1;
    EXPECT_TRUE(AeadDecrypt(alg, key, bad_nonce, aad, buf, tag, out).Is(Code::kSecurity));
  }
}

TEST_P(AeadRoundTrip, RejectsBadArguments) {
  const AeadAlgorithm alg = GetParam();
  const bool ccm = alg == AeadAlgorithm::kAes128Ccm || alg == AeadAlgorithm::kAes256Ccm;
  const bool wide = alg == AeadAlgorithm::kAes256Ccm || alg == AeadAlgorithm::kAes256Gcm;
  std::vector<uint8_t> key(wide ? 32 : 16, 1);
  std::vector<uint8_t> wrong_key(wide ? 16 : 32, 1);
  std::vector<uint8_t> nonce(ccm ? 11 : 12, 2);
  std::vector<uint8_t> wrong_nonce(ccm ? 12 : 11, 2);
  std::vector<uint8_t> buf(64, 3), out(64), short_out(63);
  std::array<uint8_t, 16> tag{};
  EXPECT_TRUE(AeadEncrypt(alg, wrong_key, nonce, {}, buf, out, tag).Is(Code::kInvalidArgument));
  EXPECT_TRUE(AeadEncrypt(alg, key, wrong_nonce, {}, buf, out, tag).Is(Code::kInvalidArgument));
  EXPECT_TRUE(AeadEncrypt(alg, key, nonce, {}, buf, short_out, tag).Is(Code::kInvalidArgument));
  // Partial overlap of input and output is refused; exact aliasing is in-place operation.
  EXPECT_TRUE(AeadEncrypt(alg, key, nonce, {}, ByteView(buf).first(32),
                          MutableByteView(buf).subspan(8, 32), tag)
                  .Is(Code::kInvalidArgument));
  EXPECT_TRUE(AeadDecrypt(alg, wrong_key, nonce, {}, buf, tag, out).Is(Code::kInvalidArgument));
}

INSTANTIATE_TEST_SUITE_P(AllCiphers, AeadRoundTrip,
                         ::testing::Values(AeadAlgorithm::kAes128Ccm, AeadAlgorithm::kAes128Gcm,
                                           AeadAlgorithm::kAes256Ccm, AeadAlgorithm::kAes256Gcm));

TEST(RandomBytes, FillsAndDiffers) {
  std::array<uint8_t, 32> a{}, b{};
  ASSERT_TRUE(RandomBytes(a).ok());
  ASSERT_TRUE(RandomBytes(b).ok());
  EXPECT_NE(a, b);  // 2^-256 chance of a false failure
  EXPECT_TRUE(RandomBytes({}).ok());
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  const auto a = Hex("00112233"), b = Hex("00112233"), c = Hex("00112234"), d = Hex("001122");
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(a, c));
  EXPECT_FALSE(ConstantTimeEqual(a, d));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
}

TEST(SecureZero, ClearsBytes) {
  auto secret = Hex("deadbeef");
  SecureZero(secret);
  EXPECT_EQ(secret, std::vector<uint8_t>(4, 0));
}

TEST(Primitives, ThreadSafeFirstUse) {
  // Several threads racing into the algorithm tables (fetched once) all get correct results.
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&good] {
      for (int i = 0; i < 50; ++i) {
        auto d = Md4(test_util::Bytes("abc"));
        const auto abc = test_util::Bytes("abc");
        const ByteView parts[] = {abc};
        auto h = Sha512(parts);
        if (d.ok() && ToHex(*d) == "a448017aaf21d8525fc10ae87aa6729d" && h.ok()) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 200);
}

}  // namespace
}  // namespace smb3::crypto
