// SPDX-License-Identifier: LGPL-2.1-or-later
// The scripted server's builders produce what the library's own decoders accept, so that the
// simulations test the connection and not the fake.
#include <gtest/gtest.h>

#include "crypto/signing.h"
#include "smb2/close.h"
#include "smb2/compound.h"
#include "smb2/echo.h"
#include "smb2/error.h"
#include "smb2/read.h"
#include "smb2/write.h"
#include "support/scripted_server.h"

namespace smb3::test {
namespace {

smb2::Header Request(uint16_t command) {
  smb2::Header h;
  h.command = command;
  h.message_id = 41;
  h.tree_id = 5;
  h.session_id = 0x77;
  h.credit_charge = 2;
  return h;
}

TEST(ScriptedServerTest, ResponseHeaderMirrorsTheRequest) {
  ResponseOptions o;
  o.credits = 9;
  o.status = STATUS_ACCESS_DENIED;
  auto h = smb2::DecodeHeader(ResponseHeader(Request(smb2::SMB2_READ), o));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->is_response());
  EXPECT_FALSE(h->is_async());
  EXPECT_EQ(h->message_id, 41u);
  EXPECT_EQ(h->command, smb2::SMB2_READ);
  EXPECT_EQ(h->tree_id, 5u);
  EXPECT_EQ(h->session_id, 0x77u);
  EXPECT_EQ(h->credits, 9u);
  EXPECT_EQ(h->status, STATUS_ACCESS_DENIED);

  auto interim = InterimResponse(Request(smb2::SMB2_READ), 0x1234, 3);
  auto ih = smb2::DecodeHeader(interim);
  ASSERT_TRUE(ih.ok());
  EXPECT_TRUE(ih->is_async());
  EXPECT_EQ(ih->async_id, 0x1234u);
  EXPECT_EQ(ih->status, STATUS_PENDING);
  EXPECT_TRUE(smb2::IsErrorResponse(interim));
}

TEST(ScriptedServerTest, BodiesDecode) {
  EXPECT_TRUE(smb2::DecodeEchoResponse(EchoResponse(Request(smb2::SMB2_ECHO))).ok());

  const uint8_t data[5] = {1, 2, 3, 4, 5};
  auto read = ReadResponse(Request(smb2::SMB2_READ), data);
  auto rr = smb2::DecodeReadResponse(read);
  ASSERT_TRUE(rr.ok()) << rr.status().ToString();
  EXPECT_EQ(std::vector<uint8_t>(rr->data.begin(), rr->data.end()),
            std::vector<uint8_t>(data, data + 5));
  auto empty = smb2::DecodeReadResponse(ReadResponse(Request(smb2::SMB2_READ), {}));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->data_length, 0u);

  auto wr = smb2::DecodeWriteResponse(WriteResponse(Request(smb2::SMB2_WRITE), 4096));
  ASSERT_TRUE(wr.ok());
  EXPECT_EQ(wr->count, 4096u);

  auto cr = smb2::DecodeCloseResponse(CloseResponse(Request(smb2::SMB2_CLOSE)));
  ASSERT_TRUE(cr.ok());
  EXPECT_FALSE(cr->has_attributes());

  auto err = ErrorResponse(Request(smb2::SMB2_CREATE), STATUS_ACCESS_DENIED);
  EXPECT_TRUE(smb2::IsErrorResponse(err));
  auto er = smb2::DecodeErrorResponse(err);
  ASSERT_TRUE(er.ok());
  EXPECT_EQ(er->status, STATUS_ACCESS_DENIED);
}

TEST(ScriptedServerTest, CompoundSignAndSealRoundTrip) {
  auto chain = Compound({EchoResponse(Request(smb2::SMB2_ECHO)),
                         ReadResponse(Request(smb2::SMB2_READ), std::vector<uint8_t>(3, 9)),
                         CloseResponse(Request(smb2::SMB2_CLOSE))});
  auto parts = smb2::SplitCompound(chain);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);

  const std::vector<uint8_t> key(16, 0x42);
  ASSERT_TRUE(SignChain(chain, crypto::SigningAlgorithm::kAesCmac, key).ok());
  parts = smb2::SplitCompound(chain);
  ASSERT_TRUE(parts.ok());
  for (ByteView p : *parts) {
    EXPECT_NE(LoadU32(&p[smb2::kOffsetFlags]) & smb2::SMB2_FLAGS_SIGNED, 0u);
    EXPECT_TRUE(crypto::VerifySignature(crypto::SigningAlgorithm::kAesCmac, key, p).ok());
  }

  ServerKeys keys;
  keys.session_id = 0x77;
  keys.cipher = crypto::CipherId::SMB2_ENCRYPTION_AES128_GCM;
  keys.client_to_server = key;
  auto sealed = Seal(chain, keys.cipher, key, 0x77, 1);
  ASSERT_TRUE(sealed.ok());
  // DecodeClientMessage unseals with client_to_server: here the same key.
  auto m = DecodeClientMessage(*sealed, &keys);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->encrypted);
  EXPECT_EQ(m->transform.session_id, 0x77u);
  ASSERT_EQ(m->requests.size(), 3u);
  EXPECT_EQ(m->requests[1].header.command, smb2::SMB2_READ);
  EXPECT_FALSE(DecodeClientMessage(*sealed, nullptr).ok());
}

}  // namespace
}  // namespace smb3::test
