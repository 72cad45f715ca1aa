// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/error.h"

#include <gtest/gtest.h>

#include "base/utf16.h"
#include "smb3/ntstatus.h"

namespace smb3::smb2 {
namespace {

std::vector<uint8_t> ResponseHeader(uint16_t command, uint32_t status) {
  std::vector<uint8_t> m;
  ByteWriter w(m);
  Header h;
  h.command = command;
  h.status = status;
  h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
  EncodeHeader(h, w);
  return m;
}

template <class Decode>
void ExpectEveryPrefixFails(const std::vector<uint8_t>& message, Decode decode) {
  for (size_t n = 0; n < message.size(); ++n) {
    std::vector<uint8_t> prefix(message.begin(), message.begin() + static_cast<ptrdiff_t>(n));
    ASSERT_FALSE(decode(ByteView(prefix)).ok()) << "prefix of " << n << " bytes accepted";
  }
}

// [MS-SMB2] 2.2.2: the error body; Windows adds one zero byte when ByteCount is 0.
std::vector<uint8_t> ErrorMessage(uint16_t command, uint32_t status, uint8_t context_count,
                                  const std::vector<uint8_t>& data) {
  std::vector<uint8_t> m = ResponseHeader(command, status);
  ByteWriter w(m);
  w.U16(9);
  w.U8(context_count);
  w.U8(0);
  w.U32(static_cast<uint32_t>(data.size()));
  if (data.empty()) {
    w.U8(0);
  } else {
    w.Bytes(data);
  }
  return m;
}

std::vector<uint8_t> U16(std::string_view s) { return Utf8ToUtf16le(s).value(); }

// [MS-SMB2] 2.2.2.2.1, with the names of the spec's absolute example (2.2.2.2.1.1).
std::vector<uint8_t> SymlinkData(uint32_t flags = 0) {
  std::vector<uint8_t> substitute = U16("\\??\\D:\\DonHall\\MiscDocuments\\PDocs");
  std::vector<uint8_t> print = U16("D:\\DonHall\\MiscDocuments\\PDocs");
  std::vector<uint8_t> d;
  ByteWriter w(d);
  const size_t path_buffer = substitute.size() + print.size();
  w.U32(static_cast<uint32_t>(24 + path_buffer));  // SymLinkLength: all but itself
  w.U32(0x4C4D5953);                               // SymLinkErrorTag
  w.U32(0xA000000C);                               // ReparseTag
  w.U16(static_cast<uint16_t>(path_buffer + 12));  // ReparseDataLength
  w.U16(0x2E);                                     // UnparsedPathLength
  w.U16(0);
  w.U16(static_cast<uint16_t>(substitute.size()));
  w.U16(static_cast<uint16_t>(substitute.size()));
  w.U16(static_cast<uint16_t>(print.size()));
  w.U32(flags);
  w.Bytes(substitute);
  w.Bytes(print);
  return d;
}

TEST(IsErrorResponse, RecognisesErrorBodies) {
  EXPECT_TRUE(IsErrorResponse(ErrorMessage(SMB2_CREATE, STATUS_ACCESS_DENIED, 0, {})));
  EXPECT_TRUE(IsErrorResponse(ErrorMessage(SMB2_READ, STATUS_END_OF_FILE, 0, {})));
  EXPECT_TRUE(
      IsErrorResponse(ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 0, SymlinkData())));
  EXPECT_TRUE(IsErrorResponse(ErrorMessage(SMB2_WRITE, STATUS_PENDING, 0, {})));  // interim
  EXPECT_TRUE(IsErrorResponse(ErrorMessage(SMB2_SESSION_SETUP, STATUS_LOGON_FAILURE, 0, {})));
  EXPECT_TRUE(IsErrorResponse(ErrorMessage(SMB2_READ, STATUS_BUFFER_OVERFLOW, 0, {})));
}

TEST(IsErrorResponse, RejectsSuccessAndRealBodies) {
  EXPECT_FALSE(IsErrorResponse(ErrorMessage(SMB2_QUERY_INFO, STATUS_SUCCESS, 0, {})));
  EXPECT_FALSE(
      IsErrorResponse(ErrorMessage(SMB2_SESSION_SETUP, STATUS_MORE_PROCESSING_REQUIRED, 0, {})));
  EXPECT_FALSE(IsErrorResponse(ErrorMessage(SMB2_QUERY_INFO, STATUS_BUFFER_OVERFLOW, 0, {})));
  EXPECT_FALSE(IsErrorResponse(ErrorMessage(SMB2_QUERY_DIRECTORY, STATUS_BUFFER_OVERFLOW, 0, {})));
  EXPECT_FALSE(IsErrorResponse(ErrorMessage(SMB2_CHANGE_NOTIFY, STATUS_BUFFER_OVERFLOW, 0, {})));
  std::vector<uint8_t> ioctl = ErrorMessage(SMB2_IOCTL, STATUS_BUFFER_OVERFLOW, 0, {});
  StoreU16(&ioctl[kHeaderSize], 49);  // a real IOCTL body
  EXPECT_FALSE(IsErrorResponse(ioctl));
  std::vector<uint8_t> m = ErrorMessage(SMB2_CREATE, STATUS_ACCESS_DENIED, 0, {});
  for (size_t n = 0; n < kHeaderSize + 2; ++n) {
    std::vector<uint8_t> prefix(m.begin(), m.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(IsErrorResponse(prefix)) << n;
  }
}

TEST(ErrorResponse, DecodesEmptyErrorData) {
  auto r = DecodeErrorResponse(ErrorMessage(SMB2_CREATE, STATUS_OBJECT_NAME_NOT_FOUND, 0, {}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, STATUS_OBJECT_NAME_NOT_FOUND);
  EXPECT_EQ(r->error_context_count, 0);
  EXPECT_EQ(r->byte_count, 0u);
  EXPECT_TRUE(r->error_data.empty());
  EXPECT_TRUE(r->contexts.empty());
  // Samba omits the pad byte: the 8 fixed bytes suffice.
  std::vector<uint8_t> m = ErrorMessage(SMB2_CREATE, STATUS_OBJECT_NAME_NOT_FOUND, 0, {});
  m.pop_back();
  EXPECT_TRUE(DecodeErrorResponse(m).ok());
}

TEST(ErrorResponse, DecodesSymlinkErrorSmb30) {
  std::vector<uint8_t> m = ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 0, SymlinkData());
  auto r = DecodeErrorResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->byte_count, SymlinkData().size());
  auto link = GetSymlinkError(*r);
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  EXPECT_EQ(link->substitute_name, "\\??\\D:\\DonHall\\MiscDocuments\\PDocs");
  EXPECT_EQ(link->substitute_name.size() * 2, 0x44u);  // SubstituteNameLength in the spec example
  EXPECT_EQ(link->print_name, "D:\\DonHall\\MiscDocuments\\PDocs");
  EXPECT_EQ(link->unparsed_path_length, 0x2E);
  EXPECT_EQ(link->flags, 0u);
}

// [MS-SMB2] 2.2.2.1: two contexts, the second 8-byte aligned after the first.
std::vector<uint8_t> TwoContextData(const std::vector<uint8_t>& symlink) {
  std::vector<uint8_t> d;
  ByteWriter w(d);
  w.U32(5);
  w.U32(0x12345678);  // unknown ErrorId
  w.Bytes(std::vector<uint8_t>{1, 2, 3, 4, 5});
  w.Align(8);
  w.U32(static_cast<uint32_t>(symlink.size()));
  w.U32(SMB2_ERROR_ID_DEFAULT);
  w.Bytes(symlink);
  return d;
}

TEST(ErrorResponse, DecodesErrorContextsSmb311) {
  std::vector<uint8_t> symlink = SymlinkData(SYMLINK_FLAG_RELATIVE);
  std::vector<uint8_t> m =
      ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 2, TwoContextData(symlink));
  auto r = DecodeErrorResponse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->contexts.size(), 2u);
  EXPECT_EQ(r->contexts[0].error_id, 0x12345678u);
  EXPECT_EQ(r->contexts[0].data.size(), 5u);
  EXPECT_EQ(r->contexts[1].error_id, SMB2_ERROR_ID_DEFAULT);
  EXPECT_EQ(r->contexts[1].data.size(), symlink.size());
  EXPECT_EQ(r->contexts[1].data.data(), m.data() + kHeaderSize + 8 + 16 + 8);
  auto link = GetSymlinkError(*r);
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  EXPECT_EQ(link->flags, SYMLINK_FLAG_RELATIVE);
  EXPECT_EQ(link->print_name, "D:\\DonHall\\MiscDocuments\\PDocs");
}

TEST(ErrorResponse, RequiredBufferLength) {
  const std::vector<uint8_t> plain =
      ErrorMessage(SMB2_QUERY_INFO, STATUS_BUFFER_TOO_SMALL, 0, {0x68, 0, 0, 0});
  auto r = DecodeErrorResponse(plain);
  ASSERT_TRUE(r.ok());
  auto need = GetRequiredBufferLength(*r);
  ASSERT_TRUE(need.ok());
  EXPECT_EQ(*need, 0x68u);

  const std::vector<uint8_t> in_context = ErrorMessage(SMB2_QUERY_INFO, STATUS_BUFFER_TOO_SMALL, 1,
                                                       {4, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x10, 0, 0});
  r = DecodeErrorResponse(in_context);
  ASSERT_TRUE(r.ok());
  need = GetRequiredBufferLength(*r);
  ASSERT_TRUE(need.ok());
  EXPECT_EQ(*need, 0x1000u);

  const std::vector<uint8_t> short_data =
      ErrorMessage(SMB2_QUERY_INFO, STATUS_BUFFER_TOO_SMALL, 0, {1, 2});
  r = DecodeErrorResponse(short_data);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(GetRequiredBufferLength(*r).status().Is(Code::kProtocol));
  const std::vector<uint8_t> other =
      ErrorMessage(SMB2_QUERY_INFO, STATUS_ACCESS_DENIED, 0, {1, 2, 3, 4});
  r = DecodeErrorResponse(other);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(GetRequiredBufferLength(*r).ok());
  EXPECT_FALSE(GetSymlinkError(*r).ok());
}

TEST(ErrorResponse, TruncationTable) {
  auto decode = [](ByteView v) { return DecodeErrorResponse(v); };
  ExpectEveryPrefixFails(ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 0, SymlinkData()),
                         decode);
  ExpectEveryPrefixFails(
      ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 2, TwoContextData(SymlinkData())),
      decode);
}

TEST(ErrorResponse, RejectsHostileCountsAndLengths) {
  auto decode_fails = [](const std::vector<uint8_t>& m, const char* name) {
    auto r = DecodeErrorResponse(m);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << name;
  };
  std::vector<uint8_t> m = ErrorMessage(SMB2_CREATE, STATUS_ACCESS_DENIED, 0, {1, 2, 3, 4});
  StoreU32(&m[kHeaderSize + 4], 5);
  decode_fails(m, "ByteCount past end");
  StoreU32(&m[kHeaderSize + 4], 0xFFFFFFFF);
  decode_fails(m, "ByteCount max");
  m = ErrorMessage(SMB2_CREATE, STATUS_ACCESS_DENIED, 0, {1, 2, 3, 4});
  StoreU16(&m[kHeaderSize], 8);
  decode_fails(m, "StructureSize");

  std::vector<uint8_t> two = TwoContextData(SymlinkData());
  m = ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 3, two);
  decode_fails(m, "ErrorContextCount beyond data");
  m = ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 255, two);
  decode_fails(m, "ErrorContextCount 255");
  m = ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 2, two);
  StoreU32(&m[kHeaderSize + 8], 0xFFFFFFF0);
  decode_fails(m, "ErrorDataLength huge");
  m = ErrorMessage(SMB2_CREATE, STATUS_STOPPED_ON_SYMLINK, 1, {1, 0, 0, 0});
  decode_fails(m, "context header truncated");
}

TEST(SymlinkErrorResponse, TruncationTable) {
  ExpectEveryPrefixFails(SymlinkData(), [](ByteView v) { return DecodeSymlinkErrorResponse(v); });
}

TEST(SymlinkErrorResponse, RejectsHostileFields) {
  struct Case {
    const char* name;
    size_t at;
    uint32_t value;
    int width;
  } cases[] = {
      {"SymLinkLength short", 0, 10, 4},
      {"SymLinkLength past end", 0, 0x1000, 4},
      {"SymLinkLength max", 0, 0xFFFFFFFF, 4},
      {"SymLinkErrorTag", 4, 0x4C4D5954, 4},
      {"ReparseTag", 8, 0xA0000003, 4},
      {"ReparseDataLength < 12", 12, 11, 2},
      {"ReparseDataLength past end", 12, 0xFFFF, 2},
      {"SubstituteName past PathBuffer", 16, 0x40, 2},
      {"SubstituteNameLength huge", 18, 0xFFFF, 2},
      {"PrintNameOffset huge", 20, 0xFFFF, 2},
      {"PrintNameLength odd", 22, 0x3B, 2},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> d = SymlinkData();
    if (c.width == 4) {
      StoreU32(&d[c.at], c.value);
    } else {
      StoreU16(&d[c.at], static_cast<uint16_t>(c.value));
    }
    auto r = DecodeSymlinkErrorResponse(d);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << c.name;
  }
}

}  // namespace
}  // namespace smb3::smb2
