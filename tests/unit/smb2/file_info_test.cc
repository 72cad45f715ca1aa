// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/file_info.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> Utf16(std::string_view ascii) {
  std::vector<uint8_t> out;
  for (char c : ascii) {
    out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
  }
  return out;
}

void AppendBasic(ByteWriter& w, uint32_t attributes) {
  w.U64(0x01D8000000000001ULL);
  w.U64(0x01D8000000000002ULL);
  w.U64(0x01D8000000000003ULL);
  w.U64(0x01D8000000000004ULL);
  w.U32(attributes);
  w.U32(0);
}

void AppendStandard(ByteWriter& w, bool directory) {
  w.U64(1048576);  // AllocationSize
  w.U64(1000000);  // EndOfFile
  w.U32(2);        // NumberOfLinks
  w.U8(1);         // DeletePending
  w.U8(directory ? 1 : 0);
  w.U16(0);
}

// FILE_ALL_INFORMATION as Windows returns it, with the name "\dir\file.txt".
std::vector<uint8_t> SampleAll(size_t name_bytes_kept = SIZE_MAX) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  AppendBasic(w, kFileAttributeArchive);
  AppendStandard(w, false);
  w.U64(0x000300000000ABCDULL);  // InternalInformation.IndexNumber
  w.U32(0);                      // EaInformation.EaSize
  w.U32(0x0012019F);             // AccessInformation.AccessFlags
  w.U64(0);                      // PositionInformation.CurrentByteOffset
  w.U32(0);                      // ModeInformation.Mode
  w.U32(0);                      // AlignmentInformation.AlignmentRequirement
  std::vector<uint8_t> name = Utf16("\\dir\\file.txt");
  w.U32(static_cast<uint32_t>(name.size()));
  w.Bytes(ByteView(name).first(std::min(name.size(), name_bytes_kept)));
  return b;
}

template <class Decoder>
void ExpectEveryPrefixBelowFails(const std::vector<uint8_t>& buffer, size_t minimum,
                                 Decoder decode) {
  for (size_t n = 0; n < minimum; ++n)
    EXPECT_TRUE(decode(ByteView(buffer).first(n)).status().Is(Code::kProtocol)) << n;
  EXPECT_TRUE(decode(ByteView(buffer).first(minimum)).ok());
}

TEST(FileBasicInformation, Decodes) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  AppendBasic(w, kFileAttributeReadonly | kFileAttributeDirectory);
  auto r = DecodeFileBasicInformation(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->creation_time, 0x01D8000000000001ULL);
  EXPECT_EQ(r->last_access_time, 0x01D8000000000002ULL);
  EXPECT_EQ(r->last_write_time, 0x01D8000000000003ULL);
  EXPECT_EQ(r->change_time, 0x01D8000000000004ULL);
  EXPECT_EQ(r->file_attributes, kFileAttributeReadonly | kFileAttributeDirectory);
  ExpectEveryPrefixBelowFails(b, kFileBasicInformationSize, DecodeFileBasicInformation);
}

TEST(FileStandardInformation, Decodes) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  AppendStandard(w, true);
  auto r = DecodeFileStandardInformation(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->allocation_size, 1048576u);
  EXPECT_EQ(r->end_of_file, 1000000u);
  EXPECT_EQ(r->number_of_links, 2u);
  EXPECT_TRUE(r->delete_pending);
  EXPECT_TRUE(r->directory);
  ExpectEveryPrefixBelowFails(b, 22, DecodeFileStandardInformation);
}

TEST(FileInternalInformation, Decodes) {
  std::vector<uint8_t> b = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  auto r = DecodeFileInternalInformation(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0x1122334455667788ULL);
  ExpectEveryPrefixBelowFails(b, 8, DecodeFileInternalInformation);
}

TEST(FileAllInformation, DecodesFixedPart) {
  std::vector<uint8_t> b = SampleAll();
  auto r = DecodeFileAllInformation(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->creation_time, 0x01D8000000000001ULL);
  EXPECT_EQ(r->last_access_time, 0x01D8000000000002ULL);
  EXPECT_EQ(r->last_write_time, 0x01D8000000000003ULL);
  EXPECT_EQ(r->change_time, 0x01D8000000000004ULL);
  EXPECT_EQ(r->attributes, kFileAttributeArchive);
  EXPECT_EQ(r->allocation_size, 1048576u);
  EXPECT_EQ(r->end_of_file, 1000000u);
  EXPECT_EQ(r->nlink, 2u);
  EXPECT_TRUE(r->delete_pending);
  EXPECT_EQ(r->file_id, 0x000300000000ABCDULL);
}

TEST(FileAllInformation, ToleratesATruncatedName) {
  // STATUS_BUFFER_OVERFLOW: the server filled only part of the name, or none of it.
  EXPECT_TRUE(DecodeFileAllInformation(SampleAll(4)).ok());
  EXPECT_TRUE(DecodeFileAllInformation(SampleAll(0)).ok());
  std::vector<uint8_t> b = SampleAll();
  ExpectEveryPrefixBelowFails(b, kFileAllInformationFixedSize, DecodeFileAllInformation);
}

TEST(FileNetworkOpenInformation, Decodes) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  w.U64(1);
  w.U64(2);
  w.U64(3);
  w.U64(4);
  w.U64(8192);
  w.U64(8000);
  w.U32(kFileAttributeDirectory);
  w.U32(0);
  auto r = DecodeFileNetworkOpenInformation(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->creation_time, 1u);
  EXPECT_EQ(r->change_time, 4u);
  EXPECT_EQ(r->allocation_size, 8192u);
  EXPECT_EQ(r->end_of_file, 8000u);
  EXPECT_TRUE(r->is_directory());
  EXPECT_EQ(r->file_id, 0u);
  ExpectEveryPrefixBelowFails(b, kFileNetworkOpenInformationSize,
                              DecodeFileNetworkOpenInformation);
}

TEST(FileFsFullSizeInformation, Decodes) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  w.U64(26214400);  // TotalAllocationUnits
  w.U64(1000);      // CallerAvailableAllocationUnits
  w.U64(2000);      // ActualAvailableAllocationUnits
  w.U32(8);         // SectorsPerAllocationUnit
  w.U32(512);       // BytesPerSector
  auto r = DecodeFileFsFullSizeInformation(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total_allocation_units, 26214400u);
  EXPECT_EQ(r->caller_available_units, 1000u);
  EXPECT_EQ(r->actual_available_units, 2000u);
  EXPECT_EQ(r->sectors_per_unit, 8u);
  EXPECT_EQ(r->bytes_per_sector, 512u);
  ExpectEveryPrefixBelowFails(b, 32, DecodeFileFsFullSizeInformation);
}

TEST(FileFsSizeInformation, Decodes) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  w.U64(500);
  w.U64(100);
  w.U32(1);
  w.U32(4096);
  auto r = DecodeFileFsSizeInformation(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total_allocation_units, 500u);
  EXPECT_EQ(r->caller_available_units, 100u);
  EXPECT_EQ(r->actual_available_units, 100u);
  EXPECT_EQ(r->sectors_per_unit, 1u);
  EXPECT_EQ(r->bytes_per_sector, 4096u);
  ExpectEveryPrefixBelowFails(b, 24, DecodeFileFsSizeInformation);
}

std::vector<uint8_t> SampleFsAttribute(std::string_view name) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  w.U32(0x0000002F);  // case sensitive/preserving, unicode, ACLs, ...
  w.U32(255);
  std::vector<uint8_t> n = Utf16(name);
  w.U32(static_cast<uint32_t>(n.size()));
  w.Bytes(n);
  return b;
}

TEST(FileFsAttributeInformation, DecodesAndMerges) {
  std::vector<uint8_t> b = SampleFsAttribute("NTFS");
  auto r = DecodeFileFsAttributeInformation(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->file_system_attributes, 0x2Fu);
  EXPECT_EQ(r->maximum_component_name_length, 255u);
  EXPECT_EQ(r->file_system_name, "NTFS");
  FsInfo fs;
  fs.total_allocation_units = 9;
  r->MergeInto(fs);
  EXPECT_EQ(fs.total_allocation_units, 9u);
  EXPECT_EQ(fs.fs_attributes, 0x2Fu);
  EXPECT_EQ(fs.max_name_length, 255u);
  EXPECT_EQ(fs.fs_name, "NTFS");
  ExpectEveryPrefixBelowFails(b, b.size(), DecodeFileFsAttributeInformation);
}

TEST(FileFsAttributeInformation, RejectsHostileNames) {
  auto with_length = [](uint32_t len) {
    std::vector<uint8_t> b = SampleFsAttribute("NTFS");
    StoreU32(&b[8], len);
    return DecodeFileFsAttributeInformation(b).status();
  };
  EXPECT_TRUE(with_length(0).ok());
  EXPECT_TRUE(with_length(7).Is(Code::kProtocol));
  EXPECT_TRUE(with_length(10).Is(Code::kProtocol));
  EXPECT_TRUE(with_length(0xFFFFFFFEu).Is(Code::kProtocol));
  std::vector<uint8_t> big = SampleFsAttribute(std::string(kMaxFileSystemNameBytes / 2 + 1, 'x'));
  EXPECT_TRUE(DecodeFileFsAttributeInformation(big).status().Is(Code::kProtocol));
  std::vector<uint8_t> surrogate = SampleFsAttribute("ab");
  surrogate[12] = 0x00;
  surrogate[13] = 0xD8;
  EXPECT_TRUE(DecodeFileFsAttributeInformation(surrogate).status().Is(Code::kProtocol));
}

TEST(SetInfoEncoders, FileBasicInformationGolden) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  FileBasicInfo b;
  b.last_write_time = 0x0102030405060708ULL;
  b.file_attributes = kFileAttributeHidden;
  EncodeFileBasicInformation(b, w);
  // [MS-FSCC] 2.4.7: zero times are "unchanged".
  std::vector<uint8_t> expected(40, 0);
  for (int i = 0; i < 8; ++i) expected[16 + i] = static_cast<uint8_t>(8 - i);
  expected[32] = 0x02;
  EXPECT_EQ(out, expected);
  auto back = DecodeFileBasicInformation(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->last_write_time, b.last_write_time);
}

TEST(SetInfoEncoders, SizesAndDisposition) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  EncodeFileEndOfFileInformation(0x1122334455667788ULL, w);
  EXPECT_EQ(out, (std::vector<uint8_t>{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}));
  out.clear();
  EncodeFileAllocationInformation(4096, w);
  EXPECT_EQ(out, (std::vector<uint8_t>{0x00, 0x10, 0, 0, 0, 0, 0, 0}));
  out.clear();
  EncodeFileDispositionInformation(true, w);
  EncodeFileDispositionInformation(false, w);
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 0}));
}

TEST(SetInfoEncoders, FileRenameInformationGolden) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  ASSERT_TRUE(EncodeFileRenameInformation("dir/new.txt", true, w).ok());
  // [MS-FSCC] 2.4.42.2: ReplaceIfExists, Reserved (7), RootDirectory (8), FileNameLength, name.
  std::vector<uint8_t> expected = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   22, 0, 0, 0};
  std::vector<uint8_t> name = Utf16("dir\\new.txt");
  expected.insert(expected.end(), name.begin(), name.end());
  EXPECT_EQ(out, expected);
}

TEST(SetInfoEncoders, FileRenameInformationPadsTo24AndRejectsBadPaths) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  ASSERT_TRUE(EncodeFileRenameInformation("/a", false, w).ok());
  ASSERT_EQ(out.size(), 24u);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(LoadU32(&out[16]), 2u);
  EXPECT_EQ(out[20], 'a');
  EXPECT_EQ(out[22], 0);
  out.clear();
  EXPECT_TRUE(EncodeFileRenameInformation("", false, w).Is(Code::kInvalidArgument));
  EXPECT_TRUE(EncodeFileRenameInformation("/", false, w).Is(Code::kInvalidArgument));
  EXPECT_TRUE(EncodeFileRenameInformation("../x", false, w).Is(Code::kInvalidArgument));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace smb3::smb2
