// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/negotiate.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

#include "smb2/header.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Hex(std::string_view s) {
  std::string digits;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  }
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> WithHeader(uint16_t command, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.credits = 1;
  h.flags = response ? SMB2_FLAGS_SERVER_TO_REDIR : 0;
  EncodeHeader(h, w);
  return m;
}

// Every proper prefix of `message` must be rejected (copied so ASan sees any over-read).
template <class Decode>
void ExpectEveryPrefixFails(const std::vector<uint8_t>& message, Decode decode) {
  for (size_t n = 0; n < message.size(); ++n) {
    std::vector<uint8_t> prefix(message.begin(), message.begin() + static_cast<ptrdiff_t>(n));
    auto r = decode(ByteView(prefix));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
  }
}

NegotiateRequest SampleRequest() {
  NegotiateRequest req;
  req.dialects = {kDialect300, kDialect302, kDialect311};
  req.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
  req.capabilities = SMB2_GLOBAL_CAP_DFS | SMB2_GLOBAL_CAP_LEASING | SMB2_GLOBAL_CAP_LARGE_MTU |
                     SMB2_GLOBAL_CAP_MULTI_CHANNEL | SMB2_GLOBAL_CAP_ENCRYPTION;
  for (uint8_t i = 0; i < 16; ++i) req.client_guid[i] = i;
  for (uint8_t i = 0; i < 32; ++i) req.salt[i] = static_cast<uint8_t>(0x20 + i);
  req.ciphers = {SMB2_ENCRYPTION_AES128_GCM, SMB2_ENCRYPTION_AES128_CCM};
  req.signing_algorithms = {SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC};
  req.net_name = "srv";
  return req;
}

// Hand-derived from [MS-SMB2] 2.2.3 / 2.2.3.1: body at offset 64, dialects at 100, contexts from
// offset 112 (0x70), each 8-byte aligned, the last unpadded.
constexpr std::string_view kSampleRequestBody =
    "2400 0300 0100 0000 4f000000"
    "000102030405060708090a0b0c0d0e0f"
    "70000000 0400 0000"
    "0003 0203 1103 000000000000"
    // SMB2_PREAUTH_INTEGRITY_CAPABILITIES, DataLength 38: count 1, salt 32, SHA-512, salt
    "0100 2600 00000000 0100 2000 0100"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f 0000"
    // SMB2_ENCRYPTION_CAPABILITIES, DataLength 6: 2 ciphers, GCM then CCM
    "0200 0600 00000000 0200 0200 0100 0000"
    // SMB2_NETNAME_NEGOTIATE_CONTEXT_ID "srv"
    "0500 0600 00000000 7300 7200 7600 0000"
    // SMB2_SIGNING_CAPABILITIES, DataLength 6: GMAC then CMAC
    "0800 0600 00000000 0200 0200 0100";

TEST(NegotiateRequest, GoldenEncoding311) {
  std::vector<uint8_t> m = WithHeader(SMB2_NEGOTIATE, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeNegotiateRequest(SampleRequest(), w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  EXPECT_EQ(body, Hex(kSampleRequestBody));
  EXPECT_EQ(m.size(), 206u);
}

TEST(NegotiateRequest, WithoutSmb311HasNoContextsAndZeroClientStartTime) {
  NegotiateRequest req;
  req.dialects = {kDialect300, kDialect302};
  req.security_mode = SMB2_NEGOTIATE_SIGNING_REQUIRED;
  req.capabilities = SMB2_GLOBAL_CAP_ENCRYPTION;
  req.ciphers = {SMB2_ENCRYPTION_AES128_CCM};  // ignored without 3.1.1
  std::vector<uint8_t> m = WithHeader(SMB2_NEGOTIATE, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeNegotiateRequest(req, w).ok());
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  EXPECT_EQ(body, Hex("2400 0200 0200 0000 40000000"
                      "00000000000000000000000000000000"
                      "0000000000000000"
                      "0003 0203"));
}

TEST(NegotiateRequest, OptionalRdmaAndTransportContexts) {
  NegotiateRequest req;
  req.dialects = {kDialect311};
  req.rdma_transform_ids = {SMB2_RDMA_TRANSFORM_ENCRYPTION, SMB2_RDMA_TRANSFORM_SIGNING};
  req.transport_capabilities = SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY;
  std::vector<uint8_t> m = WithHeader(SMB2_NEGOTIATE, false);
  ByteWriter w(m);
  ASSERT_TRUE(EncodeNegotiateRequest(req, w).ok());
  // Dialects end at 102, contexts from 104 (0x68): preauth (46 bytes incl. header) to 150, pad to
  // 152, transport (12) to 164, pad to 168, RDMA transforms (20).
  std::vector<uint8_t> body(m.begin() + kHeaderSize, m.end());
  EXPECT_EQ(body, Hex("2400 0100 0100 0000 00000000"
                      "00000000000000000000000000000000"
                      "68000000 0300 0000"
                      "1103 0000"
                      "0100 2600 00000000 0100 2000 0100"
                      "0000000000000000000000000000000000000000000000000000000000000000 0000"
                      "0600 0400 00000000 01000000 00000000"
                      "0700 0c00 00000000 0200 0000 00000000 0100 0200"));
}

// [MS-SMB2] 4.3: the SMB2-only NEGOTIATE of the example, header included (Credits 126,
// MessageId 0, dialect 0x0202, signing enabled, zero ClientGuid and ClientStartTime).
TEST(NegotiateRequest, SpecExample43) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = SMB2_NEGOTIATE;
  h.credits = 126;
  EncodeHeader(h, w);
  NegotiateRequest req;
  req.dialects = {kDialect202};
  ASSERT_TRUE(EncodeNegotiateRequest(req, w).ok());
  EXPECT_EQ(m, Hex("fe534d42 4000 0000 00000000 0000 7e00 00000000 00000000 0000000000000000"
                   "00000000 00000000 0000000000000000 00000000000000000000000000000000"
                   "2400 0100 0100 0000 00000000 00000000000000000000000000000000"
                   "0000000000000000 0202"));
}

TEST(NegotiateRequest, RejectsBadArguments) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  NegotiateRequest req;
  EXPECT_TRUE(EncodeNegotiateRequest(req, w).Is(Code::kInvalidArgument));  // no dialects
  req.dialects.assign(kMaxDialects + 1, kDialect300);
  EXPECT_TRUE(EncodeNegotiateRequest(req, w).Is(Code::kInvalidArgument));
  req.dialects = {kDialect311};
  req.hash_algorithms.clear();
  EXPECT_TRUE(EncodeNegotiateRequest(req, w).Is(Code::kInvalidArgument));
  req.hash_algorithms = {SMB2_PREAUTH_INTEGRITY_SHA512};
  req.net_name = "\xff\xfe";
  EXPECT_TRUE(EncodeNegotiateRequest(req, w).Is(Code::kInvalidArgument));
  req.net_name.clear();
  req.ciphers.assign(1000, SMB2_ENCRYPTION_AES128_GCM);
  EXPECT_TRUE(EncodeNegotiateRequest(req, w).Is(Code::kInvalidArgument));
}

struct Context {
  uint16_t type;
  std::vector<uint8_t> data;
};

// A NEGOTIATE response as Windows Server / Samba send it: fixed part, security buffer at 128,
// contexts from the next 8-byte boundary.
std::vector<uint8_t> BuildResponse(uint16_t dialect, const std::vector<uint8_t>& token,
                                   const std::vector<Context>& contexts) {
  std::vector<uint8_t> m = WithHeader(SMB2_NEGOTIATE, true);
  ByteWriter w(m);
  w.U16(65);
  w.U16(SMB2_NEGOTIATE_SIGNING_ENABLED);
  w.U16(dialect);
  w.U16(dialect == kDialect311 ? static_cast<uint16_t>(contexts.size()) : 0);
  for (uint8_t i = 0; i < 16; ++i) w.U8(static_cast<uint8_t>(0xA0 + i));  // ServerGuid
  w.U32(SMB2_GLOBAL_CAP_DFS | SMB2_GLOBAL_CAP_LEASING | SMB2_GLOBAL_CAP_LARGE_MTU |
        SMB2_GLOBAL_CAP_MULTI_CHANNEL | SMB2_GLOBAL_CAP_DIRECTORY_LEASING);
  w.U32(8388608);
  w.U32(8388608);
  w.U32(8388608);
  w.U64(0x01D9A1B2C3D4E5F6ULL);  // SystemTime
  w.U64(0);                      // ServerStartTime
  w.U16(token.empty() ? 0 : 128);
  w.U16(static_cast<uint16_t>(token.size()));
  const size_t context_offset_at = w.size();
  w.U32(0);
  w.Bytes(token);
  if (dialect == kDialect311 && !contexts.empty()) {
    w.Align(8);
    w.PatchU32(context_offset_at, static_cast<uint32_t>(w.size()));
    for (size_t i = 0; i < contexts.size(); ++i) {
      if (i > 0) w.Align(8);
      w.U16(contexts[i].type);
      w.U16(static_cast<uint16_t>(contexts[i].data.size()));
      w.U32(0);
      w.Bytes(contexts[i].data);
    }
  }
  return m;
}

std::vector<uint8_t> PreauthData(uint16_t count = 1) {
  std::vector<uint8_t> d;
  ByteWriter w(d);
  w.U16(count);
  w.U16(32);
  for (uint16_t i = 0; i < count; ++i) w.U16(SMB2_PREAUTH_INTEGRITY_SHA512);
  for (uint8_t i = 0; i < 32; ++i) w.U8(static_cast<uint8_t>(0x80 + i));
  return d;
}

std::vector<uint8_t> IdData(std::vector<uint16_t> ids) {
  std::vector<uint8_t> d;
  ByteWriter w(d);
  w.U16(static_cast<uint16_t>(ids.size()));
  for (uint16_t id : ids) w.U16(id);
  return d;
}

std::vector<uint8_t> RdmaData(std::vector<uint16_t> ids) {
  std::vector<uint8_t> d;
  ByteWriter w(d);
  w.U16(static_cast<uint16_t>(ids.size()));
  w.U16(0);
  w.U32(0);
  for (uint16_t id : ids) w.U16(id);
  return d;
}

const std::vector<uint8_t> kToken =
    Hex("604806062b0601050502a03e303ca00e300c060a2b06010401823702020a"
        "a22a04284e544c4d5353500001000000978208e20000000000000000"
        "00000000000000000a00f4650000000f");

std::vector<uint8_t> Sample311Response() {
  return BuildResponse(kDialect311, kToken,
                       {{SMB2_PREAUTH_INTEGRITY_CAPABILITIES, PreauthData()},
                        {SMB2_ENCRYPTION_CAPABILITIES, IdData({SMB2_ENCRYPTION_AES128_GCM})},
                        {SMB2_SIGNING_CAPABILITIES, IdData({SMB2_SIGNING_AES_GMAC})}});
}

TEST(NegotiateResponse, Decodes311WithContexts) {
  std::vector<uint8_t> m = Sample311Response();
  auto r = DecodeNegotiateResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->security_mode, SMB2_NEGOTIATE_SIGNING_ENABLED);
  EXPECT_EQ(r->dialect_revision, kDialect311);
  EXPECT_EQ(r->server_guid[0], 0xA0);
  EXPECT_EQ(r->server_guid[15], 0xAF);
  EXPECT_EQ(r->capabilities, 0x2Fu);
  EXPECT_EQ(r->max_transact_size, 8388608u);
  EXPECT_EQ(r->max_read_size, 8388608u);
  EXPECT_EQ(r->max_write_size, 8388608u);
  EXPECT_EQ(r->system_time, 0x01D9A1B2C3D4E5F6ULL);
  EXPECT_EQ(r->server_start_time, 0u);
  ASSERT_EQ(r->security_buffer.size(), kToken.size());
  EXPECT_EQ(r->security_buffer.data(), m.data() + 128);
  EXPECT_EQ(r->preauth_hash_algorithm, SMB2_PREAUTH_INTEGRITY_SHA512);
  ASSERT_EQ(r->preauth_salt.size(), 32u);
  EXPECT_EQ(r->preauth_salt[0], 0x80);
  ASSERT_TRUE(r->cipher.has_value());
  EXPECT_EQ(*r->cipher, SMB2_ENCRYPTION_AES128_GCM);
  ASSERT_TRUE(r->signing_algorithm.has_value());
  EXPECT_EQ(*r->signing_algorithm, SMB2_SIGNING_AES_GMAC);
  EXPECT_FALSE(r->has_rdma_transform_context);
  EXPECT_FALSE(r->transport_capabilities.has_value());
  EXPECT_TRUE(CheckNegotiateResponse(SampleRequest(), *r).ok());
}

TEST(NegotiateResponse, Decodes300WithoutContexts) {
  // NegotiateContextCount/Offset are reserved below 3.1.1: garbage there must be ignored.
  std::vector<uint8_t> m = BuildResponse(kDialect302, kToken, {});
  StoreU16(&m[kHeaderSize + 6], 0x1234);
  StoreU32(&m[kHeaderSize + 60], 0xDEADBEEF);
  auto r = DecodeNegotiateResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dialect_revision, kDialect302);
  EXPECT_FALSE(r->cipher.has_value());
  EXPECT_EQ(r->security_buffer.size(), kToken.size());
  NegotiateRequest req = SampleRequest();
  EXPECT_TRUE(CheckNegotiateResponse(req, *r).ok());
}

TEST(NegotiateResponse, EmptySecurityBufferIsValid) {
  std::vector<uint8_t> m = BuildResponse(kDialect300, {}, {});
  auto r = DecodeNegotiateResponse(m);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->security_buffer.empty());
}

TEST(NegotiateResponse, OptionalContextsAndUnknownOnesSkipped) {
  std::vector<uint8_t> m =
      BuildResponse(kDialect311, kToken,
                    {{0x0100, {1, 2, 3}},  // SMB2_CONTEXTTYPE_RESERVED: ignored
                     {SMB2_RDMA_TRANSFORM_CAPABILITIES, RdmaData({SMB2_RDMA_TRANSFORM_ENCRYPTION})},
                     {0x7777, {}},  // unknown, empty: ignored
                     {SMB2_PREAUTH_INTEGRITY_CAPABILITIES, PreauthData()},
                     {SMB2_TRANSPORT_CAPABILITIES, {1, 0, 0, 0}},
                     {SMB2_COMPRESSION_CAPABILITIES, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
                     {SMB2_NETNAME_NEGOTIATE_CONTEXT_ID, {'x', 0}},
                     {SMB2_ENCRYPTION_CAPABILITIES, IdData({0})}});
  auto r = DecodeNegotiateResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_rdma_transform_context);
  EXPECT_EQ(r->rdma_transform_ids, std::vector<uint16_t>{SMB2_RDMA_TRANSFORM_ENCRYPTION});
  ASSERT_TRUE(r->transport_capabilities.has_value());
  EXPECT_EQ(*r->transport_capabilities, SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY);
  EXPECT_EQ(r->compression_algorithms, std::vector<uint16_t>{SMB2_COMPRESSION_NONE});
  ASSERT_TRUE(r->cipher.has_value());
  EXPECT_EQ(*r->cipher, 0);  // the server shares no cipher: allowed
  EXPECT_FALSE(r->signing_algorithm.has_value());

  NegotiateRequest req = SampleRequest();
  EXPECT_FALSE(CheckNegotiateResponse(req, *r).ok());  // RDMA transform never offered
  req.rdma_transform_ids = {SMB2_RDMA_TRANSFORM_ENCRYPTION, SMB2_RDMA_TRANSFORM_SIGNING};
  EXPECT_TRUE(CheckNegotiateResponse(req, *r).ok());
}

// [MS-SMB2] 4.3: the example's NEGOTIATE response, laid out from its field values (the 30-byte
// GSS token's content is not given there; zeros stand in).
TEST(NegotiateResponse, SpecExample43) {
  std::vector<uint8_t> m =
      Hex("fe534d42 4000 0000 00000000 0000 0100 01000000 00000000 0000000000000000"
          "00000000 00000000 0000000000000000 00000000000000000000000000000000"
          "4100 0100 0202 0000 09f25c3fe5a44900a7d66a456d5ca5cf 01000000"
          "00000100 00000100 00000100 8026ae1cc2a6c601 e03825adc0a6c601 8000 1e00 00000000");
  m.resize(m.size() + 30, 0);
  auto r = DecodeNegotiateResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->security_mode, SMB2_NEGOTIATE_SIGNING_ENABLED);
  EXPECT_EQ(r->dialect_revision, kDialect202);
  EXPECT_EQ(r->server_guid[0], 0x09);  // {3F5CF209-A4E5-0049-A7D6-6A456D5CA5CF}, [MS-DTYP] 2.3.4
  EXPECT_EQ(r->server_guid[15], 0xCF);
  EXPECT_EQ(r->capabilities, SMB2_GLOBAL_CAP_DFS);
  EXPECT_EQ(r->max_transact_size, 65536u);
  EXPECT_EQ(r->max_read_size, 65536u);
  EXPECT_EQ(r->max_write_size, 65536u);
  EXPECT_EQ(r->system_time, 127972992061679232ULL);
  EXPECT_EQ(r->server_start_time, 127972985895467232ULL);
  EXPECT_EQ(r->security_buffer.size(), 30u);
  NegotiateRequest req;
  req.dialects = {kDialect202};
  EXPECT_TRUE(CheckNegotiateResponse(req, *r).ok());
}

TEST(NegotiateResponse, TruncationTable) {
  ExpectEveryPrefixFails(Sample311Response(),
                         [](ByteView v) { return DecodeNegotiateResponse(v); });
  ExpectEveryPrefixFails(BuildResponse(kDialect300, kToken, {}),
                         [](ByteView v) { return DecodeNegotiateResponse(v); });
}

struct HostileCase {
  const char* name;
  std::vector<uint8_t> message;
};

TEST(NegotiateResponse, RejectsHostileInput) {
  std::vector<HostileCase> cases;
  auto base = Sample311Response();
  const size_t ctx_offset = LoadU32(&base[kHeaderSize + 60]);
  auto patched = [&](const char* name, auto patch) {
    std::vector<uint8_t> m = base;
    patch(m);
    cases.push_back({name, std::move(m)});
  };
  patched("bad StructureSize", [](auto& m) { StoreU16(&m[kHeaderSize], 64); });
  patched("security buffer past end", [](auto& m) { StoreU16(&m[kHeaderSize + 58], 0xFFFF); });
  patched("security offset past end", [](auto& m) { StoreU16(&m[kHeaderSize + 56], 0xFFF0); });
  patched("security offset inside header", [](auto& m) { StoreU16(&m[kHeaderSize + 56], 8); });
  patched("context offset misaligned",
          [&](auto& m) { StoreU32(&m[kHeaderSize + 60], ctx_offset + 2); });
  patched("context offset huge", [](auto& m) { StoreU32(&m[kHeaderSize + 60], 0xFFFFFFF8); });
  patched("context offset in fixed part", [](auto& m) { StoreU32(&m[kHeaderSize + 60], 64); });
  patched("context count zero", [](auto& m) { StoreU16(&m[kHeaderSize + 6], 0); });
  patched("context count too high", [](auto& m) { StoreU16(&m[kHeaderSize + 6], 4); });
  patched("context count hostile", [](auto& m) { StoreU16(&m[kHeaderSize + 6], 0xFFFF); });
  patched("first DataLength huge", [&](auto& m) { StoreU16(&m[ctx_offset + 2], 0xFFFF); });
  patched("preauth salt overruns", [&](auto& m) { StoreU16(&m[ctx_offset + 8 + 2], 33); });
  patched("preauth count 2", [&](auto& m) { StoreU16(&m[ctx_offset + 8], 2); });
  cases.push_back({"no preauth", BuildResponse(kDialect311, kToken,
                                               {{SMB2_ENCRYPTION_CAPABILITIES, IdData({2})}})});
  cases.push_back(
      {"two preauth", BuildResponse(kDialect311, kToken,
                                    {{SMB2_PREAUTH_INTEGRITY_CAPABILITIES, PreauthData()},
                                     {SMB2_PREAUTH_INTEGRITY_CAPABILITIES, PreauthData()}})});
  cases.push_back(
      {"preauth count 0", BuildResponse(kDialect311, kToken,
                                        {{SMB2_PREAUTH_INTEGRITY_CAPABILITIES, PreauthData(0)}})});
  cases.push_back(
      {"preauth short",
       BuildResponse(kDialect311, kToken, {{SMB2_PREAUTH_INTEGRITY_CAPABILITIES, {1, 0, 0}}})});
  auto with_preauth = [&](const char* name, Context extra, std::optional<Context> extra2 = {}) {
    std::vector<Context> list = {{SMB2_PREAUTH_INTEGRITY_CAPABILITIES, PreauthData()}, extra};
    if (extra2) list.push_back(*extra2);
    cases.push_back({name, BuildResponse(kDialect311, kToken, list)});
  };
  with_preauth("cipher count 2", {SMB2_ENCRYPTION_CAPABILITIES, IdData({1, 2})});
  with_preauth("cipher count 0", {SMB2_ENCRYPTION_CAPABILITIES, {0, 0, 0, 0}});
  with_preauth("cipher short", {SMB2_ENCRYPTION_CAPABILITIES, {1, 0}});
  with_preauth("two encryption", {SMB2_ENCRYPTION_CAPABILITIES, IdData({2})},
               Context{SMB2_ENCRYPTION_CAPABILITIES, IdData({2})});
  with_preauth("signing count 2", {SMB2_SIGNING_CAPABILITIES, IdData({1, 2})});
  with_preauth("signing short", {SMB2_SIGNING_CAPABILITIES, {1}});
  with_preauth("two signing", {SMB2_SIGNING_CAPABILITIES, IdData({2})},
               Context{SMB2_SIGNING_CAPABILITIES, IdData({1})});
  with_preauth("rdma count 0", {SMB2_RDMA_TRANSFORM_CAPABILITIES, RdmaData({})});
  with_preauth("rdma overrun", {SMB2_RDMA_TRANSFORM_CAPABILITIES, {5, 0, 0, 0, 0, 0, 0, 0, 1, 0}});
  with_preauth("two rdma", {SMB2_RDMA_TRANSFORM_CAPABILITIES, RdmaData({1})},
               Context{SMB2_RDMA_TRANSFORM_CAPABILITIES, RdmaData({1})});
  with_preauth("transport short", {SMB2_TRANSPORT_CAPABILITIES, {1, 0}});
  with_preauth("two transport", {SMB2_TRANSPORT_CAPABILITIES, {0, 0, 0, 0}},
               Context{SMB2_TRANSPORT_CAPABILITIES, {0, 0, 0, 0}});
  with_preauth("compression count 0", {SMB2_COMPRESSION_CAPABILITIES, {0, 0, 0, 0, 0, 0, 0, 0}});
  with_preauth("compression id >= 32",
               {SMB2_COMPRESSION_CAPABILITIES, {1, 0, 0, 0, 0, 0, 0, 0, 32, 0}});
  with_preauth("compression duplicate",
               {SMB2_COMPRESSION_CAPABILITIES, {2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0}});
  with_preauth("compression overrun",
               {SMB2_COMPRESSION_CAPABILITIES, {2, 0, 0, 0, 0, 0, 0, 0, 1, 0}});

  for (const auto& c : cases) {
    auto r = DecodeNegotiateResponse(c.message);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << c.name;
  }
}

TEST(NegotiateResponse, CheckAgainstRequest) {
  auto decoded = DecodeNegotiateResponse(Sample311Response());
  ASSERT_TRUE(decoded.ok());
  const NegotiateRequest req = SampleRequest();
  {
    NegotiateResponse r = *decoded;
    r.dialect_revision = kDialect210;  // not offered
    EXPECT_TRUE(CheckNegotiateResponse(req, r).Is(Code::kProtocol));
    r.dialect_revision = kDialectWildcard;
    EXPECT_TRUE(CheckNegotiateResponse(req, r).Is(Code::kProtocol));
  }
  {
    NegotiateResponse r = *decoded;
    r.preauth_hash_algorithm = 2;
    EXPECT_TRUE(CheckNegotiateResponse(req, r).Is(Code::kProtocol));
  }
  {
    NegotiateResponse r = *decoded;
    r.cipher = SMB2_ENCRYPTION_AES256_GCM;
    EXPECT_TRUE(CheckNegotiateResponse(req, r).Is(Code::kProtocol));
    r.cipher = 0;
    EXPECT_TRUE(CheckNegotiateResponse(req, r).ok());
  }
  {
    NegotiateResponse r = *decoded;
    r.signing_algorithm = SMB2_SIGNING_HMAC_SHA256;
    EXPECT_TRUE(CheckNegotiateResponse(req, r).Is(Code::kProtocol));
  }
  {
    NegotiateResponse r = *decoded;
    r.compression_algorithms = {2};
    EXPECT_TRUE(CheckNegotiateResponse(req, r).Is(Code::kProtocol));
  }
  {
    NegotiateResponse r = *decoded;
    r.max_read_size = 65535;
    EXPECT_TRUE(CheckNegotiateResponse(req, r).Is(Code::kProtocol));
  }
  {
    NegotiateRequest two = req;
    two.rdma_transform_ids = {SMB2_RDMA_TRANSFORM_ENCRYPTION};
    NegotiateResponse r = *decoded;
    r.has_rdma_transform_context = true;
    r.rdma_transform_ids = {SMB2_RDMA_TRANSFORM_ENCRYPTION, SMB2_RDMA_TRANSFORM_ENCRYPTION};
    EXPECT_TRUE(CheckNegotiateResponse(two, r).Is(Code::kProtocol));  // more than offered
  }
}

TEST(NegotiateRoundTrip, RequestContextsParseWithResponseParser) {
  // The request's context list has the response's format ([MS-SMB2] 2.2.4.1): re-parse it by
  // transplanting it behind a response's fixed part, which checks offsets and alignment.
  NegotiateRequest req = SampleRequest();
  req.ciphers = {SMB2_ENCRYPTION_AES256_GCM};
  req.signing_algorithms = {SMB2_SIGNING_AES_CMAC};
  std::vector<uint8_t> request = WithHeader(SMB2_NEGOTIATE, false);
  ByteWriter rw(request);
  ASSERT_TRUE(EncodeNegotiateRequest(req, rw).ok());
  const size_t first = LoadU32(&request[kHeaderSize + 28]);
  std::vector<uint8_t> response = BuildResponse(kDialect311, {}, {});
  ByteWriter w(response);
  w.Align(8);
  StoreU32(&response[kHeaderSize + 60], static_cast<uint32_t>(response.size()));
  StoreU16(&response[kHeaderSize + 6], LoadU16(&request[kHeaderSize + 32]));
  w.Bytes(ByteView(request).subspan(first));
  auto r = DecodeNegotiateResponse(response);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->cipher, SMB2_ENCRYPTION_AES256_GCM);
  EXPECT_EQ(*r->signing_algorithm, SMB2_SIGNING_AES_CMAC);
  EXPECT_EQ(r->preauth_salt[31], 0x3F);
}

}  // namespace
}  // namespace smb3::smb2
