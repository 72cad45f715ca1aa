// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.41 TRANSFORM_HEADER, 3.1.4.3 sealing and 3.2.5.1.1.1 unsealing, against the
// vectors of Microsoft's Open Specifications blog posts "Encryption in SMB 3.0: A protocol
// perspective" (AES-128-CCM) and "SMB 3.1.1 Encryption in Windows 10" (AES-128-GCM).
#include "crypto/transform.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "crypto/crypto.h"
#include "smb2/header.h"
#include "unit/crypto/hex.h"

namespace smb3::crypto {
namespace {

using test_util::Hex;
using test_util::ToHex;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// SMB 3.0, AES-128-CCM.
const char* const k30EncryptionKey = "261B72350558F2E9DCF613070383EDBF";
const char* const k30DecryptionKey = "8FE2B57EC34D2DB5B1A9727F526BBDB5";
const uint64_t k30SessionId = 0x8E40014000011;
const char* const k30Nonce = "66E69A111892584FB5ED524A744DA3EE";
const char* const k30Request =
    "FE534D4240000100000000000900400008000000000000000400000000000000"
    "FFFE0000010000001100001400E4080000000000000000000000000000000000"
    "3100700017000000000000000000000015010000390000020100000039020000"
    "00000000000000007000000000000000536D623320656E6372797074696F6E20"
    "74657374696E67";
const char* const k30SealedRequest =
    "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A"
    "744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5"
    "2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4"
    "4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5"
    "AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6"
    "C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB";
const char* const k30SealedResponse =
    "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
    "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
    "E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787"
    "1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
    "77309E5B";
const char* const k30Response =
    "FE534D4240000100000000000900210009000000000000000400000000000000"
    "FFFE0000010000001100001400E4080000000000000000000000000000000000"
    "11000000170000000000000000000000";

// SMB 3.1.1, AES-128-GCM.
const char* const k311EncryptionKey = "A2F5E80E5D59103034F32E52F698E5EC";
const char* const k311DecryptionKey = "748C50868C90F302962A5C35F5F9A8BF";
const uint64_t k311SessionId = 0x100000000025;
const char* const k311Nonce = "C7D6822D269CAF48904C664C00000000";
const char* const k311Request =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
    "25000000001000000000000000000000000000000000000031007000170000000000000000000000"
    "0600000004000000010000000400000000000000000000007000000000000000536D623320656E63"
    "72797074696F6E2074657374696E67";
const char* const k311SealedRequest =
    "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000"
    "0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02"
    "D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4"
    "4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9"
    "1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8";
const char* const k311SealedResponse =
    "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000"
    "00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8"
    "F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B"
    "82E03C9E18A050FF0EA1C967";
const char* const k311Response =
    "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"
    "25000000001000000000000000000000000000000000000011000000170000000000000000000000";

TransformNonce NonceFrom(const char* hex) {
  TransformNonce n{};
  auto bytes = Hex(hex);
  std::copy(bytes.begin(), bytes.end(), n.begin());
  return n;
}

TEST(EncryptMessage, Smb30CcmVector) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(EncryptMessage(CipherId::SMB2_ENCRYPTION_AES128_CCM, Hex(k30EncryptionKey),
                             NonceFrom(k30Nonce), k30SessionId, Hex(k30Request), out)
                  .ok());
  EXPECT_EQ(Upper(ToHex(out)), k30SealedRequest);
}

TEST(EncryptMessage, Smb311GcmVector) {
  // Appends: earlier bytes in `out` (a transport prefix, say) are kept.
  std::vector<uint8_t> out = {0xAA, 0xBB, 0xCC, 0xDD};
  ASSERT_TRUE(EncryptMessage(CipherId::SMB2_ENCRYPTION_AES128_GCM, Hex(k311EncryptionKey),
                             NonceFrom(k311Nonce), k311SessionId, Hex(k311Request), out)
                  .ok());
  EXPECT_EQ(Upper(ToHex(out)), std::string("AABBCCDD") + k311SealedRequest);
}

// AES-256: no published vector, so these were produced by an independent implementation of
// [MS-SMB2] 3.1.4.3 (a Python script over the `cryptography` package): the 3.1.1 WRITE request
// above sealed under the AES-256 EncryptionKey of keys_test.cc, nonce C7D6822D269CAF48904C664C
// (GCM) or its first 11 bytes (CCM).
const char* const kAes256Key = "3334a9f25e7dbdb8a342c07ebfbb2d26cc2fd6c04058ec2083cba7d217a76848";
const char* const kAes256GcmSealed =
    "FD534D426FCFB04A44AB5F16B8F839CDA60C5FAAC7D6822D269CAF48904C664C0000000087000000000001002500"
    "0000001000006B44DD0F69EC2AB687889586805C3C841B154609BDA90D21D0C5994C36FA07302BF2180298F948BD"
    "C40B730CBA929CA9BB79D30E04D2C34273BFFDE37C55315ECCE3D4602BF79A88E0D002D8DF32CB6673AEB5655D13"
    "2ED637D07D246FA6942270E5055D066A64F8611845A2B0223DC81EB0D709E74FF9CDDBB2CE3B8DB2A419F6D73DDA"
    "C56ECB";
const char* const kAes256CcmSealed =
    "FD534D42EA7A26C7526A4C1B02E2D38B5711D3B8C7D6822D269CAF48904C66000000000087000000000001002500"
    "000000100000A9007EEC79161E2C95F011D1BFD92AF5EE5C44BA4C0DB47EDC1A8C5CAF9E110301AD377F394A655E"
    "D8253363B7B12704D2AD2F077E29F9810438AB4D1C8B8597100B1004E5BFBBA5DD4D7BB0C17DEDB91EDFADC311D3"
    "B0785DC022144C3C06CD598E6A2C091CA16219A46070DC0646C9E5B104DF72D83637B8CA0CB1EC13A41CE688BF84"
    "EF3402";

TEST(EncryptMessage, Aes256CrossChecked) {
  const struct {
    CipherId cipher;
    const char* nonce;
    const char* sealed;
  } kCases[] = {
      {CipherId::SMB2_ENCRYPTION_AES256_GCM, "C7D6822D269CAF48904C664C00000000", kAes256GcmSealed},
      {CipherId::SMB2_ENCRYPTION_AES256_CCM, "C7D6822D269CAF48904C660000000000", kAes256CcmSealed},
  };
  for (const auto& c : kCases) {
    std::vector<uint8_t> out;
    ASSERT_TRUE(EncryptMessage(c.cipher, Hex(kAes256Key), NonceFrom(c.nonce), k311SessionId,
                               Hex(k311Request), out)
                    .ok());
    EXPECT_EQ(Upper(ToHex(out)), c.sealed);
    auto plain = DecryptMessageInPlace(c.cipher, Hex(kAes256Key), out);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(Upper(ToHex(*plain)), k311Request);
  }
}

TEST(DecryptMessage, Smb30CcmVector) {
  auto sealed = Hex(k30SealedResponse);
  auto header = DecodeTransformHeader(sealed);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->session_id, k30SessionId);
  EXPECT_EQ(header->original_message_size, 80u);
  auto plain = DecryptMessageInPlace(CipherId::SMB2_ENCRYPTION_AES128_CCM,
                                     Hex(k30DecryptionKey), sealed);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(Upper(ToHex(*plain)), k30Response);
  EXPECT_EQ(plain->data(), sealed.data() + kTransformHeaderSize);
  EXPECT_TRUE(CheckDecryptedChain(*plain, header->session_id).ok());
}

TEST(DecryptMessage, Smb311GcmVector) {
  auto sealed = Hex(k311SealedResponse);
  auto plain = DecryptMessageInPlace(CipherId::SMB2_ENCRYPTION_AES128_GCM,
                                     Hex(k311DecryptionKey), sealed);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(Upper(ToHex(*plain)), k311Response);
  EXPECT_TRUE(CheckDecryptedChain(*plain, k311SessionId).ok());
  EXPECT_TRUE(CheckDecryptedChain(*plain, k311SessionId + 1).Is(Code::kProtocol));
}

TEST(DecodeTransformHeader, EveryPrefixIsRejected) {
  for (const char* hex : {k30SealedResponse, k311SealedResponse, k311SealedRequest}) {
    const auto sealed = Hex(hex);
    ASSERT_TRUE(DecodeTransformHeader(sealed).ok());
    for (size_t len = 0; len < sealed.size(); ++len) {
      auto r = DecodeTransformHeader(ByteView(sealed).first(len));
      EXPECT_TRUE(r.status().Is(Code::kProtocol)) << len;
    }
  }
}

TEST(DecodeTransformHeader, RejectsBadFields) {
  const auto good = Hex(k311SealedResponse);
  auto bad_protocol = good;
  bad_protocol[0] = 0xFE;
  EXPECT_TRUE(DecodeTransformHeader(bad_protocol).status().Is(Code::kProtocol));
  for (uint16_t flags : {0x0000, 0x0002, 0x0101, 0xFFFF}) {
    auto bad_flags = good;
    StoreU16(bad_flags.data() + 42, flags);
    EXPECT_TRUE(DecodeTransformHeader(bad_flags).status().Is(Code::kProtocol)) << flags;
  }
  for (uint32_t size : {0u, 79u, 81u, 0xFFFFFFFFu}) {
    auto bad_size = good;
    StoreU32(bad_size.data() + 36, size);
    EXPECT_TRUE(DecodeTransformHeader(bad_size).status().Is(Code::kProtocol)) << size;
  }
  // Reserved is ignored on receipt.
  auto reserved = good;
  reserved[40] = 0x12;
  EXPECT_TRUE(DecodeTransformHeader(reserved).ok());
}

TEST(TransformHeader, EncodeDecodeRoundTrip) {
  TransformHeader h;
  for (size_t i = 0; i < 16; ++i) {
    h.signature[i] = static_cast<uint8_t>(i);
    h.nonce[i] = static_cast<uint8_t>(0xF0 + i);
  }
  h.original_message_size = 3;
  h.session_id = 0x1122334455667788;
  std::vector<uint8_t> buf;
  ByteWriter w(buf);
  EncodeTransformHeader(h, w);
  ASSERT_EQ(buf.size(), kTransformHeaderSize);
  w.Bytes(Hex("010203"));
  auto d = DecodeTransformHeader(buf);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->signature, h.signature);
  EXPECT_EQ(d->nonce, h.nonce);
  EXPECT_EQ(d->original_message_size, 3u);
  EXPECT_EQ(d->flags, SMB2_TRANSFORM_FLAG_ENCRYPTED);
  EXPECT_EQ(d->session_id, h.session_id);
}

TEST(DecryptMessage, EveryModifiedByteIsRejected) {
  const auto good = Hex(k311SealedResponse);
  const auto key = Hex(k311DecryptionKey);
  for (size_t i = 0; i < good.size(); ++i) {
    if (i == 40 || i == 41) continue;  // Reserved: ignored by the header checks, but see below
    auto bad = good;
    bad[i] ^= 0x04;
    auto r = DecryptMessageInPlace(CipherId::SMB2_ENCRYPTION_AES128_GCM, key, bad);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_TRUE(r.status().Is(Code::kProtocol) || r.status().Is(Code::kSecurity)) << i;
    if (r.status().Is(Code::kSecurity)) {
      // The plaintext region never holds unauthenticated data.
      EXPECT_EQ(std::vector<uint8_t>(bad.begin() + kTransformHeaderSize, bad.end()),
                std::vector<uint8_t>(good.size() - kTransformHeaderSize, 0))
          << i;
    }
  }
  // Reserved is authenticated (it is inside the associated data) even though it is not checked.
  auto reserved = good;
  reserved[41] ^= 0x01;
  EXPECT_TRUE(DecryptMessageInPlace(CipherId::SMB2_ENCRYPTION_AES128_GCM, key, reserved)
                  .status()
                  .Is(Code::kSecurity));
}

TEST(DecryptMessage, WrongCipherOrKey) {
  auto sealed = Hex(k311SealedResponse);
  EXPECT_TRUE(DecryptMessageInPlace(CipherId::SMB2_ENCRYPTION_AES128_CCM,
                                    Hex(k311DecryptionKey), sealed)
                  .status()
                  .Is(Code::kSecurity));
  sealed = Hex(k311SealedResponse);
  EXPECT_TRUE(DecryptMessageInPlace(CipherId::kNone, Hex(k311DecryptionKey), sealed)
                  .status()
                  .Is(Code::kInvalidArgument));
  EXPECT_TRUE(DecryptMessageInPlace(CipherId::SMB2_ENCRYPTION_AES256_GCM,
                                    Hex(k311DecryptionKey), sealed)
                  .status()
                  .Is(Code::kInvalidArgument));
}

// Seals `message` with a fresh key and returns {key, sealed}.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> Seal(CipherId cipher, ByteView message,
                                                           uint64_t session_id) {
  std::vector<uint8_t> key(CipherKeySize(cipher));
  EXPECT_TRUE(RandomBytes(key).ok());
  auto nonces = NonceSequence::Create(cipher);
  EXPECT_TRUE(nonces.ok());
  auto nonce = nonces->Next();
  EXPECT_TRUE(nonce.ok());
  std::vector<uint8_t> sealed;
  EXPECT_TRUE(EncryptMessage(cipher, key, *nonce, session_id, message, sealed).ok());
  return {key, sealed};
}

TEST(DecryptMessage, RejectsNestedAndUnknownPlaintext) {
  const auto cipher = CipherId::SMB2_ENCRYPTION_AES128_GCM;
  // A decrypted message that is itself a TRANSFORM_HEADER message.
  auto inner = Hex(k311SealedRequest);
  auto [key, sealed] = Seal(cipher, inner, 7);
  EXPECT_TRUE(DecryptMessageInPlace(cipher, key, sealed).status().Is(Code::kProtocol));
  // Neither 0xFE nor 0xFC 'SMB', and too short to carry a ProtocolId.
  for (const char* hex : {"FF534D420000", "FE53"}) {
    auto [k, s] = Seal(cipher, Hex(hex), 7);
    EXPECT_TRUE(DecryptMessageInPlace(cipher, k, s).status().Is(Code::kProtocol)) << hex;
  }
  // A compressed message (0xFC 'SMB') is handed back for decompression.
  auto [k, s] = Seal(cipher, Hex("FC534D42 00000000 0000 0000 00000000"), 7);
  auto plain = DecryptMessageInPlace(cipher, k, s);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(LoadU32(plain->data()), smb2::kCompressionProtocolId);
}

class SealRoundTrip : public ::testing::TestWithParam<CipherId> {};

TEST_P(SealRoundTrip, EncryptThenDecrypt) {
  const CipherId cipher = GetParam();
  auto message = Hex(k311Request);
  for (size_t extra : {size_t{0}, size_t{1}, size_t{4096}}) {
    auto msg = message;
    msg.resize(msg.size() + extra, 0x5A);
    auto [key, sealed] = Seal(cipher, msg, k311SessionId);
    ASSERT_EQ(sealed.size(), kTransformHeaderSize + msg.size());
    auto h = DecodeTransformHeader(sealed);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->session_id, k311SessionId);
    auto plain = DecryptMessageInPlace(cipher, key, sealed);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(std::vector<uint8_t>(plain->begin(), plain->end()), msg);
  }
}

TEST_P(SealRoundTrip, RejectsBadArguments) {
  const CipherId cipher = GetParam();
  std::vector<uint8_t> out;
  std::vector<uint8_t> wrong_key(CipherKeySize(cipher) == 16 ? 32 : 16, 1);
  std::vector<uint8_t> key(CipherKeySize(cipher), 1);
  EXPECT_TRUE(EncryptMessage(cipher, wrong_key, {}, 1, Hex(k311Request), out)
                  .Is(Code::kInvalidArgument));
  EXPECT_TRUE(EncryptMessage(cipher, key, {}, 1, {}, out).Is(Code::kInvalidArgument));
  EXPECT_TRUE(out.empty());
}

INSTANTIATE_TEST_SUITE_P(AllCiphers, SealRoundTrip,
                         ::testing::Values(CipherId::SMB2_ENCRYPTION_AES128_CCM,
                                           CipherId::SMB2_ENCRYPTION_AES128_GCM,
                                           CipherId::SMB2_ENCRYPTION_AES256_CCM,
                                           CipherId::SMB2_ENCRYPTION_AES256_GCM));

TEST(EncryptMessage, RejectsNoCipher) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(EncryptMessage(CipherId::kNone, Hex(k311EncryptionKey), {}, 1, Hex(k311Request), out)
                  .Is(Code::kInvalidArgument));
}

TEST(NonceSequence, Layout) {
  NonceSequence gcm(CipherId::SMB2_ENCRYPTION_AES128_GCM, 0xA1B2C3D4, 5);
  auto n = gcm.Next();
  ASSERT_TRUE(n.ok());
  // Counter (LE), 4 salt bytes, 4 reserved zero bytes.
  EXPECT_EQ(ToHex(*n), "0500000000000000d4c3b2a100000000");
  EXPECT_EQ(ToHex(*gcm.Next()), "0600000000000000d4c3b2a100000000");
  NonceSequence ccm(CipherId::SMB2_ENCRYPTION_AES256_CCM, 0xA1B2C3D4, 0);
  // CCM: 11 bytes used, so 3 salt bytes and 5 reserved zero bytes.
  EXPECT_EQ(ToHex(*ccm.Next()), "0000000000000000d4c3b20000000000");
}

TEST(NonceSequence, ExhaustionAndBadCipher) {
  NonceSequence s(CipherId::SMB2_ENCRYPTION_AES128_GCM, 0, UINT64_MAX - 1);
  EXPECT_TRUE(s.Next().ok());
  EXPECT_TRUE(s.Next().status().Is(Code::kResourceExhausted));
  EXPECT_TRUE(s.Next().status().Is(Code::kResourceExhausted));
  EXPECT_TRUE(NonceSequence::Create(CipherId::kNone).status().Is(Code::kInvalidArgument));
  NonceSequence none(CipherId::kNone, 0, 0);
  EXPECT_TRUE(none.Next().status().Is(Code::kInvalidArgument));
}

TEST(NonceSequence, UniqueAcrossThreads) {
  auto seq = NonceSequence::Create(CipherId::SMB2_ENCRYPTION_AES128_GCM);
  ASSERT_TRUE(seq.ok());
  NonceSequence& s = *seq;
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<std::vector<TransformNonce>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, &got, t] {
      for (int i = 0; i < kPerThread; ++i) got[t].push_back(*s.Next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<TransformNonce> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

// Builds an SMB2 message: a header with `session_id` and `next_command`, then `body` bytes.
std::vector<uint8_t> Message(uint64_t session_id, uint32_t next_command, size_t body) {
  smb2::Header h;
  h.flags = smb2::SMB2_FLAGS_SERVER_TO_REDIR;
  h.session_id = session_id;
  h.next_command = next_command;
  std::vector<uint8_t> out;
  ByteWriter w(out);
  smb2::EncodeHeader(h, w);
  w.Zeros(body);
  return out;
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(CheckDecryptedChain, Compounds) {
  const uint64_t sid = 0x42;
  // Three messages: 64+16, 64+8 (aligned), last 64+3.
  auto chain = Concat({Message(sid, 80, 16), Message(sid, 72, 8), Message(sid, 0, 3)});
  EXPECT_TRUE(CheckDecryptedChain(chain, sid).ok());
  // Every truncation that cuts into a later header fails; the first 64 bytes must be there too.
  for (size_t len = 0; len < 80 + 72 + 64; ++len) {
    EXPECT_TRUE(CheckDecryptedChain(ByteView(chain).first(len), sid).Is(Code::kProtocol)) << len;
  }
  // A different SessionId in a later message.
  EXPECT_TRUE(CheckDecryptedChain(Concat({Message(sid, 80, 16), Message(sid + 1, 0, 0)}), sid)
                  .Is(Code::kProtocol));
  // Misaligned, too small, and out-of-bounds NextCommand.
  EXPECT_TRUE(CheckDecryptedChain(Concat({Message(sid, 76, 12), Message(sid, 0, 0)}), sid)
                  .Is(Code::kProtocol));
  EXPECT_TRUE(CheckDecryptedChain(Concat({Message(sid, 56, 0), Message(sid, 0, 0)}), sid)
                  .Is(Code::kProtocol));
  EXPECT_TRUE(CheckDecryptedChain(Concat({Message(sid, 136, 8), Message(sid, 0, 0)}), sid)
                  .Is(Code::kProtocol));
  EXPECT_TRUE(CheckDecryptedChain(Message(sid, 0xFFFFFFF8, 0), sid).Is(Code::kProtocol));
  // Not an SMB2 header at all.
  auto compressed = Message(sid, 0, 0);
  compressed[0] = 0xFC;
  EXPECT_TRUE(CheckDecryptedChain(compressed, sid).Is(Code::kProtocol));
}

}  // namespace
}  // namespace smb3::crypto
