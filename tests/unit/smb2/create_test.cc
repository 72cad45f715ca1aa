// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/create.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "smb2/create_context.h"
#include "smb2/header.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Header64(uint16_t command, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.credits = 1;
  h.message_id = 7;
  h.tree_id = 1;
  h.session_id = 0x1122334455667788ULL;
  if (response) h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
  EncodeHeader(h, w);
  return m;
}

std::vector<uint8_t> Body(const std::vector<uint8_t>& m) {
  return std::vector<uint8_t>(m.begin() + kHeaderSize, m.end());
}

std::vector<uint8_t> Utf16(std::string_view ascii) {
  std::vector<uint8_t> out;
  for (char c : ascii) {
    out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
  }
  return out;
}

// A context as a server lays it out: name at 16, data at 24 (8-aligned), Next covering padding.
void AppendServerContext(ByteWriter& w, const char* name, const std::vector<uint8_t>& data,
                         bool last) {
  size_t start = w.size();
  size_t size = 24 + data.size();
  size_t padded = (size + 7) / 8 * 8;
  w.U32(last ? 0 : static_cast<uint32_t>(padded));
  w.U16(16);
  w.U16(4);
  w.U16(0);
  w.U16(data.empty() ? 0 : 24);
  w.U32(static_cast<uint32_t>(data.size()));
  w.Bytes(ByteView(reinterpret_cast<const uint8_t*>(name), 4));
  w.Zeros(4);
  w.Bytes(data);
  if (!last) w.Zeros(padded - (w.size() - start));
}

std::vector<uint8_t> U32s(std::initializer_list<uint32_t> values) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  for (uint32_t v : values) w.U32(v);
  return out;
}

// A CREATE response as Samba sends it for an opened file, with MxAc, QFid and DH2Q contexts.
std::vector<uint8_t> SampleResponse() {
  std::vector<uint8_t> m = Header64(SMB2_CREATE, true);
  ByteWriter w(m);
  w.U16(89);
  w.U8(SMB2_OPLOCK_LEVEL_NONE);
  w.U8(0);
  w.U32(FILE_OPENED);
  w.U64(133000000000000001ULL);  // CreationTime
  w.U64(133000000000000002ULL);
  w.U64(133000000000000003ULL);
  w.U64(133000000000000004ULL);
  w.U64(4096);  // AllocationSize
  w.U64(1234);  // EndofFile
  w.U32(kFileAttributeArchive);
  w.U32(0);
  w.U64(0xAAAA0001);  // Persistent
  w.U64(0xBBBB0002);  // Volatile
  size_t ctx_fields = w.size();
  w.U32(0);
  w.U32(0);
  size_t ctx_start = w.size();  // 152: already 8-aligned
  AppendServerContext(w, "MxAc", U32s({0, 0x001F01FF}), false);
  std::vector<uint8_t> qfid = U32s({0x00C0FFEE, 0, 0x55, 0, 0, 0, 0, 0});
  AppendServerContext(w, "QFid", qfid, false);
  AppendServerContext(w, "DH2Q", U32s({60000, 0}), true);
  w.PatchU32(ctx_fields, static_cast<uint32_t>(ctx_start));
  w.PatchU32(ctx_fields + 4, static_cast<uint32_t>(w.size() - ctx_start));
  return m;
}

TEST(SharePath, ConvertsSeparatorsAndStripsThem) {
  EXPECT_EQ(*SharePathToUtf16("dir/sub/file.txt"), Utf16("dir\\sub\\file.txt"));
  EXPECT_EQ(*SharePathToUtf16("/a//b/"), Utf16("a\\b"));
  EXPECT_EQ(*SharePathToUtf16("\\a\\\\b\\"), Utf16("a\\b"));
  EXPECT_TRUE(SharePathToUtf16("")->empty());
  EXPECT_TRUE(SharePathToUtf16("/")->empty());
  EXPECT_TRUE(SharePathToUtf16("//\\")->empty());
  EXPECT_EQ(*SharePathToUtf16("\xC3\xBC"), (std::vector<uint8_t>{0xFC, 0x00}));  // U+00FC
  EXPECT_EQ(*SharePathToUtf16("...x/.y"), Utf16("...x\\.y"));
}

TEST(SharePath, RejectsBadPaths) {
  EXPECT_TRUE(SharePathToUtf16("a/./b").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(SharePathToUtf16("a/../b").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(SharePathToUtf16("..").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(SharePathToUtf16(std::string("a\0b", 3)).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(SharePathToUtf16("\xFF").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(SharePathToUtf16(std::string(32768, 'a')).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(SharePathToUtf16(std::string(32767, 'a')).ok());
}

TEST(CreateRequest, GoldenWithNameAndContexts) {
  std::vector<uint8_t> m = Header64(SMB2_CREATE, false);
  ByteWriter w(m);
  CreateRequest req;
  req.desired_access = 0x00120089;
  req.file_attributes = kFileAttributeNormal;
  req.create_disposition = FILE_OPEN;
  req.create_options = FILE_NON_DIRECTORY_FILE;
  req.name = "dir/a.txt";
  req.contexts.query_maximal_access = true;
  req.contexts.query_on_disk_id = true;
  ASSERT_TRUE(EncodeCreateRequest(req, w).ok());
  // [MS-SMB2] 2.2.13 layout; offsets from the header: name at 0x78 (18 bytes), contexts at 0x90.
  std::vector<uint8_t> expected = {
      0x39, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,  // StructureSize, flags, oplock, imperson.
      0, 0, 0, 0, 0, 0, 0, 0,                          // SmbCreateFlags
      0, 0, 0, 0, 0, 0, 0, 0,                          // Reserved
      0x89, 0x00, 0x12, 0x00, 0x80, 0x00, 0x00, 0x00,  // DesiredAccess, FileAttributes
      0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // ShareAccess, CreateDisposition
      0x40, 0x00, 0x00, 0x00, 0x78, 0x00, 0x12, 0x00,  // CreateOptions, NameOffset, NameLength
      0x90, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00,  // CreateContextsOffset, Length
      'd', 0, 'i', 0, 'r', 0, '\\', 0, 'a', 0, '.', 0, 't', 0, 'x', 0, 't', 0,
      0, 0, 0, 0, 0, 0,                                // pad to 0x90
      0x18, 0, 0, 0, 0x10, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'M', 'x', 'A', 'c', 0, 0, 0, 0,
      0x00, 0, 0, 0, 0x10, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'Q', 'F', 'i', 'd'};
  EXPECT_EQ(Body(m), expected);
}

TEST(CreateRequest, GoldenDurableV2Context) {
  std::vector<uint8_t> m = Header64(SMB2_CREATE, false);
  ByteWriter w(m);
  CreateRequest req;
  req.name = "f";
  DurableHandleRequestV2 d;
  d.timeout = 0;
  d.flags = SMB2_DHANDLE_FLAG_PERSISTENT;
  for (int i = 0; i < 16; ++i) d.create_guid[i] = static_cast<uint8_t>(0xA0 + i);
  req.contexts.durable_handle_v2 = d;
  ASSERT_TRUE(EncodeCreateRequest(req, w).ok());
  std::vector<uint8_t> body = Body(m);
  // Name "f" at 0x78 (2 bytes), chain at 0x80 = body offset 64.
  EXPECT_EQ(LoadU16(&body[44]), 0x78);
  EXPECT_EQ(LoadU16(&body[46]), 2);
  EXPECT_EQ(LoadU32(&body[48]), 0x80u);
  EXPECT_EQ(LoadU32(&body[52]), 56u);
  std::vector<uint8_t> chain(body.begin() + 64, body.end());
  std::vector<uint8_t> expected = {0, 0, 0, 0, 0x10, 0, 0x04, 0, 0, 0, 0x18, 0, 0x20, 0, 0, 0,
                                   'D', 'H', '2', 'Q', 0, 0, 0, 0,
                                   0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 16; ++i) expected.push_back(static_cast<uint8_t>(0xA0 + i));
  EXPECT_EQ(chain, expected);
}

TEST(CreateRequest, GoldenReconnectV2Context) {
  std::vector<uint8_t> m = Header64(SMB2_CREATE, false);
  ByteWriter w(m);
  CreateRequest req;
  req.name = "f";
  DurableHandleReconnectV2 r;
  r.file_id = {0x0102030405060708ULL, 0x1112131415161718ULL};
  r.create_guid.fill(0xCC);
  r.flags = 0;
  req.contexts.durable_reconnect_v2 = r;
  ASSERT_TRUE(EncodeCreateRequest(req, w).ok());
  std::vector<uint8_t> body = Body(m);
  std::vector<uint8_t> chain(body.begin() + 64, body.end());
  ASSERT_EQ(chain.size(), 24u + 36u);
  EXPECT_EQ(std::string(chain.begin() + 16, chain.begin() + 20), "DH2C");
  EXPECT_EQ(LoadU32(&chain[12]), 36u);
  EXPECT_EQ(LoadU64(&chain[24]), 0x0102030405060708ULL);
  EXPECT_EQ(LoadU64(&chain[32]), 0x1112131415161718ULL);
  EXPECT_EQ(chain[40], 0xCC);
  EXPECT_EQ(LoadU32(&chain[56]), 0u);
}

TEST(CreateRequest, RootOpenHasOnePaddingByte) {
  std::vector<uint8_t> m = Header64(SMB2_CREATE, false);
  ByteWriter w(m);
  CreateRequest req;
  req.create_options = FILE_DIRECTORY_FILE;
  ASSERT_TRUE(EncodeCreateRequest(req, w).ok());
  std::vector<uint8_t> body = Body(m);
  ASSERT_EQ(body.size(), 57u);
  EXPECT_EQ(LoadU16(&body[44]), 0x78);  // NameOffset
  EXPECT_EQ(LoadU16(&body[46]), 0);     // NameLength
  EXPECT_EQ(LoadU32(&body[48]), 0u);    // CreateContextsOffset
  EXPECT_EQ(LoadU32(&body[52]), 0u);
  EXPECT_EQ(body[56], 0);
}

TEST(CreateRequest, AllContextsChainIsLinkedAndAligned) {
  std::vector<uint8_t> m = Header64(SMB2_CREATE, false);
  ByteWriter w(m);
  CreateRequest req;
  req.name = "abc";
  req.contexts.durable_handle_v2 = DurableHandleRequestV2{};
  req.contexts.durable_reconnect_v2 = DurableHandleReconnectV2{};
  req.contexts.query_maximal_access = true;
  req.contexts.query_on_disk_id = true;
  // DH2Q and DH2C cannot go together ([MS-SMB2] 3.3.5.9.10).
  EXPECT_TRUE(EncodeCreateRequest(req, w).Is(Code::kInvalidArgument));
  EXPECT_EQ(m.size(), kHeaderSize);  // nothing written
  req.contexts.durable_handle_v2.reset();
  ASSERT_TRUE(EncodeCreateRequest(req, w).ok());
  uint32_t off = LoadU32(&m[kHeaderSize + 48]);
  uint32_t len = LoadU32(&m[kHeaderSize + 52]);
  EXPECT_EQ(off % 8, 0u);
  ASSERT_EQ(off + len, m.size());
  auto views = SplitCreateContexts(ByteView(m).subspan(off, len));
  ASSERT_TRUE(views.ok()) << views.status().ToString();
  ASSERT_EQ(views->size(), 3u);
  EXPECT_EQ(std::string((*views)[0].name.begin(), (*views)[0].name.end()), "DH2C");
  EXPECT_EQ((*views)[0].data.size(), 36u);
  EXPECT_EQ(std::string((*views)[1].name.begin(), (*views)[1].name.end()), "MxAc");
  EXPECT_TRUE((*views)[1].data.empty());
  EXPECT_EQ(std::string((*views)[2].name.begin(), (*views)[2].name.end()), "QFid");
  // DH2C's 36 bytes of data leave the next context 4 bytes of padding away.
  EXPECT_EQ(LoadU32(&m[off]), 64u);
}

TEST(CreateRequest, OffsetsAreRelativeToTheMessageInACompoundBuffer) {
  std::vector<uint8_t> m(24, 0xEE);  // a previous compound element, 8-aligned
  std::vector<uint8_t> h = Header64(SMB2_CREATE, false);
  m.insert(m.end(), h.begin(), h.end());
  ByteWriter w(m);
  CreateRequest req;
  req.name = "x";
  req.contexts.query_on_disk_id = true;
  ASSERT_TRUE(EncodeCreateRequest(req, w).ok());
  EXPECT_EQ(LoadU16(&m[24 + kHeaderSize + 44]), 0x78);
  EXPECT_EQ(LoadU32(&m[24 + kHeaderSize + 48]), 0x80u);
}

TEST(CreateRequest, RejectsBadInput) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  CreateRequest req;
  EXPECT_TRUE(EncodeCreateRequest(req, w).Is(Code::kInvalidArgument));  // no header
  m = Header64(SMB2_CREATE, false);
  req.name = "a/../b";
  EXPECT_TRUE(EncodeCreateRequest(req, w).Is(Code::kInvalidArgument));
  EXPECT_EQ(m.size(), kHeaderSize);
}

TEST(CreateResponse, DecodesSambaStyleResponse) {
  std::vector<uint8_t> m = SampleResponse();
  auto r = DecodeCreateResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->oplock_level, SMB2_OPLOCK_LEVEL_NONE);
  EXPECT_EQ(r->create_action, FILE_OPENED);
  EXPECT_EQ(r->creation_time, 133000000000000001ULL);
  EXPECT_EQ(r->change_time, 133000000000000004ULL);
  EXPECT_EQ(r->allocation_size, 4096u);
  EXPECT_EQ(r->end_of_file, 1234u);
  EXPECT_EQ(r->file_attributes, kFileAttributeArchive);
  EXPECT_EQ(r->file_id, (FileId{0xAAAA0001, 0xBBBB0002}));
  ASSERT_TRUE(r->contexts.maximal_access.has_value());
  EXPECT_EQ(r->contexts.maximal_access->query_status, 0u);
  EXPECT_EQ(r->contexts.maximal_access->maximal_access, 0x001F01FFu);
  ASSERT_TRUE(r->contexts.on_disk_id.has_value());
  EXPECT_EQ(r->contexts.on_disk_id->disk_file_id, 0x00C0FFEEu);
  EXPECT_EQ(r->contexts.on_disk_id->volume_id, 0x55u);
  ASSERT_TRUE(r->contexts.durable_handle_v2.has_value());
  EXPECT_EQ(r->contexts.durable_handle_v2->timeout, 60000u);
  EXPECT_FALSE(r->contexts.durable_handle_v1);
  FileInfo info = r->ToFileInfo();
  EXPECT_EQ(info.file_id, 0x00C0FFEEu);
  EXPECT_EQ(info.end_of_file, 1234u);
  EXPECT_EQ(info.last_write_time, 133000000000000003ULL);
  EXPECT_FALSE(info.is_directory());
}

TEST(CreateResponse, DecodesWithoutContexts) {
  std::vector<uint8_t> m = Header64(SMB2_CREATE, true);
  ByteWriter w(m);
  w.U16(89);
  w.U8(SMB2_OPLOCK_LEVEL_BATCH);
  w.U8(SMB2_CREATE_FLAG_REPARSEPOINT);
  w.U32(FILE_CREATED);
  w.Zeros(48);
  w.U32(kFileAttributeDirectory);
  w.U32(0);
  w.U64(1);
  w.U64(2);
  w.U32(0);
  w.U32(0);
  w.U8(0);  // Windows pads the empty Buffer with one byte
  auto r = DecodeCreateResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->oplock_level, SMB2_OPLOCK_LEVEL_BATCH);
  EXPECT_EQ(r->flags, SMB2_CREATE_FLAG_REPARSEPOINT);
  EXPECT_EQ(r->create_action, FILE_CREATED);
  EXPECT_TRUE(r->create_contexts.empty());
  EXPECT_FALSE(r->contexts.on_disk_id.has_value());
  EXPECT_EQ(r->ToFileInfo().file_id, 0u);
  EXPECT_TRUE(r->ToFileInfo().is_directory());
}

TEST(CreateResponse, EveryTruncationFails) {
  std::vector<uint8_t> m = SampleResponse();
  for (size_t n = 0; n < m.size(); ++n) {
    auto r = DecodeCreateResponse(ByteView(m).first(n));
    EXPECT_FALSE(r.ok()) << n;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << n;
  }
}

TEST(CreateResponse, RejectsWrongStructureSize) {
  std::vector<uint8_t> m = SampleResponse();
  m[kHeaderSize] = 88;
  EXPECT_TRUE(DecodeCreateResponse(m).status().Is(Code::kProtocol));
}

TEST(CreateResponse, RejectsHostileContextOffsets) {
  const size_t ctx_fields = kHeaderSize + 80;
  {
    std::vector<uint8_t> m = SampleResponse();
    StoreU32(&m[ctx_fields], 0xFFFFFFF0u);  // offset far beyond
    EXPECT_FALSE(DecodeCreateResponse(m).ok());
  }
  {
    std::vector<uint8_t> m = SampleResponse();
    StoreU32(&m[ctx_fields + 4], 0xFFFFFFFFu);  // length far beyond
    EXPECT_FALSE(DecodeCreateResponse(m).ok());
  }
  {
    std::vector<uint8_t> m = SampleResponse();
    StoreU32(&m[ctx_fields], kHeaderSize);  // into the fixed part
    EXPECT_FALSE(DecodeCreateResponse(m).ok());
  }
}

// Offset of the first context in SampleResponse() and accessors to patch it.
constexpr size_t kFirstCtx = kHeaderSize + 88;

TEST(CreateResponse, RejectsMalformedChains) {
  struct Case {
    const char* what;
    size_t at;
    uint32_t value;
    int width;
  };
  const Case cases[] = {
      {"Next below the header size", 0, 8, 4},
      {"Next not a multiple of 8", 0, 28, 4},
      {"Next beyond the chain", 0, 4096, 4},
      {"Next max", 0, 0xFFFFFFF8u, 4},
      {"NameOffset beyond context", 4, 200, 2},
      {"NameOffset inside header", 4, 8, 2},
      {"NameLength short", 6, 2, 2},
      {"NameLength beyond context", 6, 60, 2},
      {"DataOffset inside header", 10, 4, 2},
      {"DataOffset beyond context", 10, 0xFFF8, 2},
      {"DataLength beyond context", 12, 9, 4},
      {"DataLength huge", 12, 0xFFFFFFFFu, 4},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> m = SampleResponse();
    if (c.width == 4) StoreU32(&m[kFirstCtx + c.at], c.value);
    else StoreU16(&m[kFirstCtx + c.at], static_cast<uint16_t>(c.value));
    auto r = DecodeCreateResponse(m);
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << c.what;
  }
}

TEST(CreateResponse, RejectsShortOrDuplicateKnownContexts) {
  {
    // MxAc with 4 bytes of data.
    std::vector<uint8_t> m = SampleResponse();
    StoreU32(&m[kFirstCtx + 12], 4);
    EXPECT_TRUE(DecodeCreateResponse(m).status().Is(Code::kProtocol));
  }
  {
    // QFid with 16 bytes of data (second context: 32 bytes after the first).
    std::vector<uint8_t> m = SampleResponse();
    StoreU32(&m[kFirstCtx + 32 + 12], 16);
    EXPECT_TRUE(DecodeCreateResponse(m).status().Is(Code::kProtocol));
  }
  {
    // Rename the QFid context to MxAc: a duplicate.
    std::vector<uint8_t> m = SampleResponse();
    std::memcpy(&m[kFirstCtx + 32 + 16], "MxAc", 4);
    EXPECT_TRUE(DecodeCreateResponse(m).status().Is(Code::kProtocol));
  }
}

TEST(CreateContexts, SkipsUnknownAndGuidNamedContexts) {
  std::vector<uint8_t> chain;
  ByteWriter w(chain);
  AppendServerContext(w, "RqLs", std::vector<uint8_t>(52, 0x11), false);
  // A 16-byte (GUID) name: header, name at 16, no data.
  w.U32(32);
  w.U16(16);
  w.U16(16);
  w.U16(0);
  w.U16(0);
  w.U32(0);
  w.Zeros(16);
  AppendServerContext(w, "DHnQ", std::vector<uint8_t>(8, 0), true);
  auto r = DecodeCreateContexts(chain);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->durable_handle_v1);
  EXPECT_FALSE(r->maximal_access.has_value());
  EXPECT_FALSE(r->durable_handle_v2.has_value());
}

TEST(CreateContexts, EmptyChainHasNothing) {
  auto r = DecodeCreateContexts({});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->durable_handle_v2 || r->maximal_access || r->on_disk_id);
}

TEST(CreateContexts, CapsTheNumberOfContexts) {
  std::vector<uint8_t> chain;
  ByteWriter w(chain);
  for (size_t i = 0; i < kMaxCreateContexts; ++i) AppendServerContext(w, "Xxxx", {}, false);
  AppendServerContext(w, "Xxxx", {}, true);
  EXPECT_TRUE(SplitCreateContexts(chain).status().Is(Code::kProtocol));
  chain.clear();
  for (size_t i = 0; i + 1 < kMaxCreateContexts; ++i) AppendServerContext(w, "Xxxx", {}, false);
  AppendServerContext(w, "Xxxx", {}, true);
  auto ok = SplitCreateContexts(chain);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), kMaxCreateContexts);
}

TEST(CreateContexts, EveryTruncationOfAChainFails) {
  std::vector<uint8_t> chain;
  ByteWriter w(chain);
  AppendServerContext(w, "MxAc", U32s({0, 1}), false);
  AppendServerContext(w, "DH2Q", U32s({5, 0}), true);
  ASSERT_TRUE(DecodeCreateContexts(chain).ok());
  for (size_t n = 1; n < chain.size(); ++n)
    EXPECT_FALSE(DecodeCreateContexts(ByteView(chain).first(n)).ok()) << n;
}

}  // namespace
}  // namespace smb3::smb2
