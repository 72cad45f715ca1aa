// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection against malformed and hostile server input ([MS-SMB2] 3.2.5.1): each breach of the
// protocol fails what is pending with kProtocol and drops the connection; what the spec says to
// discard is discarded without harming other requests; nothing crashes.
#include <functional>
#include <random>

#include "connection_fixture.h"
#include "smb2/oplock_break.h"

namespace smb3::test {
namespace {

class HostileSim : public ConnectionSim {
 protected:
  // Starts a connection with one ECHO outstanding and returns its request header.
  smb2::Header StartWithEcho(Outcome& echo) {
    StartConnection();
    conn_->Submit(EchoRequest(), echo.Callback());
    return NextSingle().header;
  }
};

struct Mangle {
  const char* name;
  std::function<void(std::vector<uint8_t>&)> apply;
};

// Each turns a valid ECHO response into one the client must reject with kProtocol.
std::vector<Mangle> ProtocolBreaches() {
  return {
      {"truncated header", [](auto& m) { m.resize(40); }},
      {"wrong ProtocolId", [](auto& m) { m[0] = 0x00; }},
      {"StructureSize 63", [](auto& m) { StoreU16(&m[4], 63); }},
      {"request from the server",
       [](auto& m) { StoreU32(&m[smb2::kOffsetFlags], LoadU32(&m[smb2::kOffsetFlags]) & ~smb2::SMB2_FLAGS_SERVER_TO_REDIR); }},
      {"command differs from the request", [](auto& m) { StoreU16(&m[smb2::kOffsetCommand], smb2::SMB2_READ); }},
      {"transform header without a session",
       [](auto& m) {
         std::vector<uint8_t> t(52, 0);
         StoreU32(t.data(), smb2::kTransformProtocolId);
         StoreU32(&t[36], static_cast<uint32_t>(m.size()));  // OriginalMessageSize
         StoreU16(&t[42], 1);                                // Flags: encrypted
         t.insert(t.end(), m.begin(), m.end());
         m = t;
       }},
      {"compression transform header", [](auto& m) { StoreU32(m.data(), smb2::kCompressionProtocolId); }},
      {"empty message", [](auto& m) { m.clear(); }},
      {"33 elements in one compound",
       [](auto& m) {
         std::vector<std::vector<uint8_t>> many(33, m);
         m = Compound(many);
       }},
  };
}

TEST_F(HostileSim, ProtocolBreachesFailPendingAndDropTheConnection) {
  for (const Mangle& mangle : ProtocolBreaches()) {
    SCOPED_TRACE(mangle.name);
    Outcome echo;
    smb2::Header req = StartWithEcho(echo);
    std::vector<uint8_t> bytes = EchoResponse(req);
    mangle.apply(bytes);
    server_->Raw(bytes);
    ASSERT_TRUE(echo.Wait());
    EXPECT_TRUE(echo.status().Is(Code::kProtocol)) << echo.status().ToString();
    EXPECT_EQ(echo.calls(), 1);
    ExpectDroppedWith(Code::kProtocol);
    TearDown();
  }
}

// The first element of a compound is processed before the second breaks the protocol.
TEST_F(HostileSim, BreachInTheSecondCompoundElement) {
  StartConnection();
  Outcome warmup, a, b;
  conn_->Submit(EchoRequest(), warmup.Callback());
  ClientRequest w = NextSingle();
  ResponseOptions grant;
  grant.credits = 4;
  ASSERT_TRUE(server_->Reply({EchoResponse(w.header, grant)}).ok());
  ASSERT_TRUE(warmup.Wait());
  conn_->Submit(EchoRequest(), a.Callback());
  ClientRequest ra = NextSingle();
  conn_->Submit(EchoRequest(), b.Callback());
  ClientRequest rb = NextSingle();
  auto second = EchoResponse(rb.header);
  StoreU16(&second[smb2::kOffsetCommand], smb2::SMB2_CLOSE);
  server_->Raw(Compound({EchoResponse(ra.header), second}));
  ASSERT_TRUE(a.Wait());
  ASSERT_TRUE(b.Wait());
  EXPECT_TRUE(a.result().ok());
  EXPECT_TRUE(b.status().Is(Code::kProtocol)) << b.status().ToString();
  ExpectDroppedWith(Code::kProtocol);
}

// [MS-SMB2] 3.2.5.1.2: a response for a MessageId with no outstanding request is discarded; the
// request that is outstanding still completes normally afterwards.
TEST_F(HostileSim, UnknownMessageIdIsDiscarded) {
  Outcome echo;
  smb2::Header req = StartWithEcho(echo);
  ResponseOptions other;
  other.message_id = 99;
  server_->Raw(EchoResponse(req, other));
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_EQ(echo.calls(), 0);
  EXPECT_TRUE(conn_->connected());
  ASSERT_TRUE(server_->Reply({EchoResponse(req)}).ok());
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.result().ok());
  EXPECT_EQ(echo.calls(), 1);
  EXPECT_TRUE(conn_->connected());
}

// [MS-SMB2] 3.2.5.1.2 / 2.2.23.1: an oplock break arrives with MessageId 0xFFFFFFFFFFFFFFFF and
// is no response to anything; the client (which requests no oplocks) ignores it.
TEST_F(HostileSim, UnsolicitedOplockBreakIsIgnored) {
  Outcome echo;
  smb2::Header req = StartWithEcho(echo);
  smb2::Header unsolicited;
  unsolicited.command = smb2::SMB2_OPLOCK_BREAK;
  ResponseOptions o;
  o.message_id = 0xFFFFFFFFFFFFFFFFULL;
  o.credits = 0;
  std::vector<uint8_t> brk = ResponseHeader(unsolicited, o);
  ByteWriter w(brk);
  w.U16(24);  // [MS-SMB2] 2.2.23.1 StructureSize
  w.U8(0x01); // OplockLevel II
  w.Zeros(5); // Reserved, Reserved2
  w.Zeros(16);  // FileId
  server_->Raw(brk);
  // And an unsolicited message of another kind, also discarded.
  ResponseOptions stray;
  stray.message_id = 0xFFFFFFFFFFFFFFFFULL;
  server_->Raw(EchoResponse(req, stray));
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_TRUE(conn_->connected());
  EXPECT_EQ(echo.calls(), 0);
  ASSERT_TRUE(server_->Reply({EchoResponse(req)}).ok());
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.result().ok());
}

// Every prefix of a valid ECHO response. Shorter than a header: kProtocol and the connection
// drops. A whole header with a cut body is a response as far as the connection goes (it does not
// parse bodies); the command's decoder then rejects it.
TEST_F(HostileSim, EveryPrefixOfAnEchoResponse) {
  const size_t full = EchoResponse(smb2::Header{}).size();
  for (size_t n = 0; n < full; ++n) {
    SCOPED_TRACE(n);
    Outcome echo;
    smb2::Header req = StartWithEcho(echo);
    std::vector<uint8_t> bytes = EchoResponse(req);
    bytes.resize(n);
    server_->Raw(bytes);
    ASSERT_TRUE(echo.Wait());
    EXPECT_EQ(echo.calls(), 1);
    if (n < smb2::kHeaderSize) {
      EXPECT_TRUE(echo.status().Is(Code::kProtocol)) << echo.status().ToString();
      ExpectDroppedWith(Code::kProtocol);
    } else {
      ASSERT_TRUE(echo.result().ok());
      EXPECT_EQ(echo.result()->message.size(), n);
      EXPECT_TRUE(smb2::DecodeEchoResponse(echo.result()->message).Is(Code::kProtocol));
      EXPECT_TRUE(conn_->connected());
    }
    TearDown();
  }
}

// Seeded random input: pure noise, and valid ECHO responses with a few bytes changed, cut or
// extended. Whatever happens, the outstanding request completes exactly once; if the connection
// dropped it was for kProtocol or kSecurity, and OnClosed ran once.
TEST_F(HostileSim, RandomInput) {
  std::mt19937 rng(20261123);
  auto byte = [&] { return static_cast<uint8_t>(rng() & 0xFF); };
  constexpr int kNoise = 1000, kMutations = 2000;
  int dropped = 0, delivered = 0, discarded = 0;
  for (int i = 0; i < kNoise + kMutations; ++i) {
    SCOPED_TRACE(i);
    Outcome echo;
    smb2::Header req = StartWithEcho(echo);
    std::vector<uint8_t> bytes;
    if (i < kNoise) {
      bytes.resize(rng() % 300);
      for (auto& b : bytes) b = byte();
      if (i % 4 == 0 && bytes.size() >= 4) StoreU32(bytes.data(), smb2::kProtocolId);
      if (i % 4 == 1 && bytes.size() >= 4) StoreU32(bytes.data(), smb2::kTransformProtocolId);
    } else {
      bytes = EchoResponse(req);
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) bytes[rng() % bytes.size()] = byte();
      if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
      if (rng() % 4 == 0) bytes.insert(bytes.end(), rng() % 64, byte());
    }
    server_->Raw(bytes);
    ASSERT_TRUE(wire_->WaitIdle());
    if (!conn_->connected()) {
      ++dropped;
      ASSERT_TRUE(echo.Wait());
      EXPECT_TRUE(echo.status().Is(Code::kProtocol) || echo.status().Is(Code::kSecurity))
          << echo.status().ToString();
      ExpectDroppedWith(conn_->close_reason().code());
      EXPECT_TRUE(conn_->close_reason().Is(Code::kProtocol) ||
                  conn_->close_reason().Is(Code::kSecurity));
    } else if (echo.calls() == 1) {
      ++delivered;
      EXPECT_TRUE(echo.result().ok());
    } else {
      ++discarded;  // e.g. a changed MessageId, or an interim response
      conn_->Close(Status(Code::kCancelled, 0, "test: done"));
      ASSERT_TRUE(echo.Wait());
      EXPECT_TRUE(echo.status().Is(Code::kDisconnected));
    }
    EXPECT_EQ(echo.calls(), 1);
    TearDown();
    if (HasFatalFailure()) return;
  }
  // The mix exercises all three paths.
  EXPECT_GT(dropped, 0);
  EXPECT_GT(delivered, 0);
  EXPECT_GT(discarded, 0);
}

}  // namespace
}  // namespace smb3::test
