// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/query_directory.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smb2/header.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Header64(uint16_t command, bool response) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.credits = 1;
  h.message_id = 13;
  if (response) h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
  EncodeHeader(h, w);
  return m;
}

std::vector<uint8_t> Utf16(std::string_view ascii) {
  std::vector<uint8_t> out;
  for (char c : ascii) {
    out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
  }
  return out;
}

struct Entry {
  std::vector<uint8_t> name;  // UTF-16LE
  uint64_t file_id = 0;
  uint32_t attributes = kFileAttributeArchive;
  uint64_t end_of_file = 0;
};

// Lays out entries of `cls` as Samba does: each 8-aligned, NextEntryOffset 0 on the last.
std::vector<uint8_t> Entries(uint8_t cls, const std::vector<Entry>& entries) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const size_t start = w.size();
    w.U32(0);                  // NextEntryOffset, patched
    w.U32(0);                  // FileIndex
    w.U64(0x01DA000000000001ULL + i);  // CreationTime
    w.U64(0x01DA000000000100ULL);      // LastAccessTime
    w.U64(0x01DA000000000200ULL + i);  // LastWriteTime
    w.U64(0x01DA000000000300ULL);      // ChangeTime
    w.U64(e.end_of_file);
    w.U64((e.end_of_file + 4095) / 4096 * 4096);  // AllocationSize
    w.U32(e.attributes);
    w.U32(static_cast<uint32_t>(e.name.size()));
    switch (cls) {
      case FileDirectoryInformation:
        break;
      case FileFullDirectoryInformation:
        w.U32(0);  // EaSize
        break;
      case FileBothDirectoryInformation:
        w.U32(0);  // EaSize
        w.U8(0);   // ShortNameLength
        w.U8(0);
        w.Zeros(24);
        break;
      case FileIdFullDirectoryInformation:
        w.U32(0);  // EaSize
        w.U32(0);  // Reserved
        w.U64(e.file_id);
        break;
      case FileIdBothDirectoryInformation:
        w.U32(0);  // EaSize
        w.U8(0);   // ShortNameLength
        w.U8(0);   // Reserved1
        w.Zeros(24);
        w.U16(0);  // Reserved2
        w.U64(e.file_id);
        break;
    }
    w.Bytes(e.name);
    if (i + 1 < entries.size()) {
      w.Align(8);
      w.PatchU32(start, static_cast<uint32_t>(w.size() - start));
    }
  }
  return out;
}

std::vector<Entry> SampleEntries() {
  return {{Utf16("."), 100, kFileAttributeDirectory, 0},
          {Utf16(".."), 2, kFileAttributeDirectory, 0},
          {Utf16("file.txt"), 0x1122334455667788ULL, kFileAttributeArchive, 12345},
          {Utf16("sub"), 101, kFileAttributeDirectory, 0},
          {{0x3A, 0xD8, 0x00, 0xDE, 'x', 0}, 102, kFileAttributeArchive, 1}};  // U+1EA00 "x"
}

TEST(QueryDirectoryRequest, Golden) {
  std::vector<uint8_t> m = Header64(SMB2_QUERY_DIRECTORY, false);
  ByteWriter w(m);
  QueryDirectoryRequest req;
  req.flags = SMB2_RESTART_SCANS;
  req.file_id = {0x0A, 0x0B};
  ASSERT_TRUE(EncodeQueryDirectoryRequest(req, w).ok());
  // [MS-SMB2] 2.2.33: class 0x25, pattern "*" at 0x60.
  std::vector<uint8_t> expected = {
      0x21, 0x00, 0x25, 0x01, 0x00, 0x00, 0x00, 0x00,          // StructureSize, class, Flags, Index
      0x0A, 0, 0, 0, 0, 0, 0, 0, 0x0B, 0, 0, 0, 0, 0, 0, 0,     // FileId
      0x60, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00,          // FileName*, OutputBufferLength
      0x2A, 0x00};
  EXPECT_EQ(std::vector<uint8_t>(m.begin() + kHeaderSize, m.end()), expected);
}

TEST(QueryDirectoryRequest, EmptyPatternAndIndex) {
  std::vector<uint8_t> m = Header64(SMB2_QUERY_DIRECTORY, false);
  ByteWriter w(m);
  QueryDirectoryRequest req;
  req.file_information_class = FileDirectoryInformation;
  req.flags = SMB2_INDEX_SPECIFIED;
  req.file_index = 0x44;
  req.file_name = "";
  ASSERT_TRUE(EncodeQueryDirectoryRequest(req, w).ok());
  ASSERT_EQ(m.size(), kHeaderSize + 33u);
  EXPECT_EQ(m[kHeaderSize + 2], FileDirectoryInformation);
  EXPECT_EQ(LoadU32(&m[kHeaderSize + 4]), 0x44u);
  EXPECT_EQ(LoadU16(&m[kHeaderSize + 24]), 0);
  EXPECT_EQ(LoadU16(&m[kHeaderSize + 26]), 0);
  req.file_name = "\xFF";
  EXPECT_TRUE(EncodeQueryDirectoryRequest(req, w).Is(Code::kInvalidArgument));
}

std::vector<uint8_t> SampleResponse(const std::vector<uint8_t>& buffer) {
  std::vector<uint8_t> m = Header64(SMB2_QUERY_DIRECTORY, true);
  ByteWriter w(m);
  w.U16(9);
  w.U16(0x48);
  w.U32(static_cast<uint32_t>(buffer.size()));
  w.Bytes(buffer);
  return m;
}

TEST(QueryDirectoryResponse, DecodesIdBothEntries) {
  std::vector<uint8_t> buffer = Entries(FileIdBothDirectoryInformation, SampleEntries());
  std::vector<uint8_t> m = SampleResponse(buffer);
  auto r = DecodeQueryDirectoryResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->output_buffer.size(), buffer.size());
  EXPECT_EQ(r->output_buffer.data(), m.data() + 0x48);
  auto entries = DecodeDirectoryEntries(r->output_buffer, FileIdBothDirectoryInformation);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 3u);
  const DirEntry& f = (*entries)[0];
  EXPECT_EQ(f.name, "file.txt");
  EXPECT_EQ(f.info.file_id, 0x1122334455667788ULL);
  EXPECT_EQ(f.info.end_of_file, 12345u);
  EXPECT_EQ(f.info.allocation_size, 16384u);
  EXPECT_EQ(f.info.creation_time, 0x01DA000000000003ULL);
  EXPECT_EQ(f.info.last_access_time, 0x01DA000000000100ULL);
  EXPECT_EQ(f.info.last_write_time, 0x01DA000000000202ULL);
  EXPECT_EQ(f.info.change_time, 0x01DA000000000300ULL);
  EXPECT_FALSE(f.info.is_directory());
  EXPECT_EQ((*entries)[1].name, "sub");
  EXPECT_TRUE((*entries)[1].info.is_directory());
  EXPECT_EQ((*entries)[1].info.file_id, 101u);
  EXPECT_EQ((*entries)[2].name, "\xF0\x9E\xA8\x80x");
}

TEST(DirectoryEntries, DecodesEveryClass) {
  const uint8_t classes[] = {FileDirectoryInformation, FileFullDirectoryInformation,
                             FileBothDirectoryInformation, FileIdFullDirectoryInformation,
                             FileIdBothDirectoryInformation};
  for (uint8_t cls : classes) {
    auto entries = DecodeDirectoryEntries(Entries(cls, SampleEntries()), cls);
    ASSERT_TRUE(entries.ok()) << int(cls) << " " << entries.status().ToString();
    ASSERT_EQ(entries->size(), 3u) << int(cls);
    EXPECT_EQ((*entries)[0].name, "file.txt") << int(cls);
    EXPECT_EQ((*entries)[0].info.end_of_file, 12345u) << int(cls);
    bool has_id = cls == FileIdFullDirectoryInformation || cls == FileIdBothDirectoryInformation;
    EXPECT_EQ((*entries)[0].info.file_id, has_id ? 0x1122334455667788ULL : 0u) << int(cls);
  }
}

TEST(DirectoryEntries, AppendsAcrossResponses) {
  std::vector<DirEntry> all;
  ASSERT_TRUE(AppendDirectoryEntries(Entries(FileIdBothDirectoryInformation, SampleEntries()),
                                     FileIdBothDirectoryInformation, all)
                  .ok());
  ASSERT_TRUE(AppendDirectoryEntries(
                  Entries(FileIdBothDirectoryInformation, {{Utf16("last"), 5, 0, 0}}),
                  FileIdBothDirectoryInformation, all)
                  .ok());
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3].name, "last");
}

TEST(DirectoryEntries, EmptyBufferHasNoEntries) {
  auto entries = DecodeDirectoryEntries({}, FileIdBothDirectoryInformation);
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

TEST(DirectoryEntries, RejectsUnsupportedClass) {
  std::vector<uint8_t> buffer = Entries(FileIdBothDirectoryInformation, SampleEntries());
  EXPECT_TRUE(DecodeDirectoryEntries(buffer, FileNamesInformation)
                  .status()
                  .Is(Code::kInvalidArgument));
}

TEST(DirectoryEntries, EveryTruncationFails) {
  std::vector<uint8_t> buffer = Entries(FileIdBothDirectoryInformation, SampleEntries());
  for (size_t n = 1; n < buffer.size(); ++n) {
    auto r = DecodeDirectoryEntries(ByteView(buffer).first(n), FileIdBothDirectoryInformation);
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << n;
  }
}

TEST(DirectoryEntries, RejectsHostileEntries) {
  const std::vector<Entry> two = {{Utf16("a"), 1, 0, 0}, {Utf16("bb"), 2, 0, 0}};
  const std::vector<uint8_t> base = Entries(FileIdBothDirectoryInformation, two);
  auto with_u32 = [&](size_t at, uint32_t v) {
    std::vector<uint8_t> b = base;
    StoreU32(&b[at], v);
    return DecodeDirectoryEntries(b, FileIdBothDirectoryInformation).status();
  };
  ASSERT_TRUE(with_u32(4, 0).ok());                       // FileIndex is free
  EXPECT_TRUE(with_u32(0, 108).Is(Code::kProtocol));      // NextEntryOffset not 8-aligned
  EXPECT_TRUE(with_u32(0, 8).Is(Code::kProtocol));        // does not cover the entry
  EXPECT_TRUE(with_u32(0, 104).Is(Code::kProtocol));      // does not cover the name
  EXPECT_TRUE(with_u32(0, 0xFFFFFFF8u).Is(Code::kProtocol));
  EXPECT_TRUE(with_u32(0, static_cast<uint32_t>(base.size())).Is(Code::kProtocol));
  EXPECT_TRUE(with_u32(60, 0).Is(Code::kProtocol));       // empty name
  EXPECT_TRUE(with_u32(60, 3).Is(Code::kProtocol));       // odd name length
  EXPECT_TRUE(with_u32(60, 0xFFFFFFFEu).Is(Code::kProtocol));
  EXPECT_TRUE(with_u32(60, 10).Is(Code::kProtocol));      // runs into the next entry
  // The last entry's name may not run past the buffer either.
  EXPECT_TRUE(with_u32(112 + 60, 6).Is(Code::kProtocol));
}

TEST(DirectoryEntries, RejectsUnrepresentableNames) {
  const std::vector<std::vector<uint8_t>> bad = {
      Utf16("a/b"),
      {'a', 0, 0, 0, 'b', 0},      // NUL inside
      {0x00, 0xD8, 'a', 0},        // unpaired high surrogate
      {0x00, 0xDC},                // lone low surrogate
  };
  for (const auto& name : bad) {
    std::vector<uint8_t> buffer =
        Entries(FileIdBothDirectoryInformation, {{Utf16("ok"), 1, 0, 0}, {name, 2, 0, 0}});
    EXPECT_TRUE(DecodeDirectoryEntries(buffer, FileIdBothDirectoryInformation)
                    .status()
                    .Is(Code::kProtocol));
  }
  // A backslash is an ordinary character in a Linux name.
  auto ok = DecodeDirectoryEntries(
      Entries(FileIdBothDirectoryInformation, {{Utf16("a\\b"), 1, 0, 0}}),
      FileIdBothDirectoryInformation);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].name, "a\\b");
}

TEST(QueryDirectoryResponse, EveryTruncationFails) {
  std::vector<uint8_t> m =
      SampleResponse(Entries(FileIdBothDirectoryInformation, SampleEntries()));
  for (size_t n = 0; n < m.size(); ++n)
    EXPECT_TRUE(
        DecodeQueryDirectoryResponse(ByteView(m).first(n)).status().Is(Code::kProtocol))
        << n;
}

TEST(QueryDirectoryResponse, RejectsHostileOffsets) {
  std::vector<uint8_t> m = SampleResponse(Entries(FileIdFullDirectoryInformation, SampleEntries()));
  auto with = [&](uint16_t off, uint32_t len) {
    std::vector<uint8_t> c = m;
    StoreU16(&c[kHeaderSize + 2], off);
    StoreU32(&c[kHeaderSize + 4], len);
    return DecodeQueryDirectoryResponse(c).status();
  };
  EXPECT_TRUE(with(0x48, 8).ok());
  EXPECT_TRUE(with(0x40, 8).Is(Code::kProtocol));  // overlaps the fixed part
  EXPECT_TRUE(with(0, 8).Is(Code::kProtocol));
  EXPECT_TRUE(with(0x48, static_cast<uint32_t>(m.size())).Is(Code::kProtocol));
  EXPECT_TRUE(with(0xFFFF, 1).Is(Code::kProtocol));
  EXPECT_TRUE(with(0x48, 0xFFFFFFFFu).Is(Code::kProtocol));
  EXPECT_TRUE(with(0, 0).ok());  // an empty buffer
  StoreU16(&m[kHeaderSize], 8);
  EXPECT_TRUE(DecodeQueryDirectoryResponse(m).status().Is(Code::kProtocol));
}

}  // namespace
}  // namespace smb3::smb2
