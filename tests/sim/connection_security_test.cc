// SPDX-License-Identifier: LGPL-2.1-or-later
// Connection with session security installed: signed requests and verified responses
// ([MS-SMB2] 3.2.4.1.1, 3.2.5.1.3) for each signing algorithm, and sealed requests and unsealed
// responses ([MS-SMB2] 3.1.4.3, 3.2.5.1.1.1) for each cipher. A response that fails the checks
// fails what is pending and drops the connection.
#include <set>

#include "connection_fixture.h"
#include "crypto/signing.h"
#include "smb2/read.h"

namespace smb3::test {
namespace {

using crypto::CipherId;
using crypto::SigningAlgorithm;

constexpr uint64_t kSessionId = 0x0000400000000011ULL;

std::vector<uint8_t> KeyBytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> k(n);
  for (size_t i = 0; i < n; ++i) k[i] = static_cast<uint8_t>(seed + 7 * i);
  return k;
}

const char* AlgorithmName(SigningAlgorithm a) {
  switch (a) {
    case SigningAlgorithm::kHmacSha256: return "HMAC-SHA256";
    case SigningAlgorithm::kAesCmac: return "AES-CMAC";
    case SigningAlgorithm::kAesGmac: return "AES-GMAC";
  }
  return "?";
}

class SigningSim : public ConnectionSim, public ::testing::WithParamInterface<SigningAlgorithm> {
 protected:
  void SetUp() override {
    StartConnection();
    ServerKeys keys;
    keys.session_id = kSessionId;
    keys.signing_algorithm = GetParam();
    keys.signing_key = KeyBytes(16, 0x31);
    server_->set_keys(keys);
    client::SessionSecurity sec;
    sec.session_id = kSessionId;
    sec.signing_algorithm = GetParam();
    sec.signing_key = crypto::SecretKey(keys.signing_key);
    sec.signing_required = true;
    conn_->SetSessionSecurity(sec);
  }

  // Submits an ECHO and returns its request as sent, after checking its signature.
  ClientRequest SignedEcho(Outcome& echo) {
    conn_->Submit(EchoRequest(), echo.Callback());
    ClientRequest r = NextSingle();
    EXPECT_NE(r.header.flags & smb2::SMB2_FLAGS_SIGNED, 0u);
    EXPECT_EQ(r.header.session_id, kSessionId);
    EXPECT_TRUE(crypto::VerifySignature(GetParam(), server_->keys().signing_key, r.bytes).ok());
    return r;
  }
};

TEST_P(SigningSim, RequestsAreSignedAndSignedResponsesAccepted) {
  Outcome echo;
  ClientRequest r = SignedEcho(echo);
  std::vector<uint8_t> response = EchoResponse(r.header);
  ASSERT_TRUE(SignChain(response, GetParam(), server_->keys().signing_key).ok());
  server_->Raw(response);
  ASSERT_TRUE(echo.Wait());
  ASSERT_TRUE(echo.result().ok()) << echo.status().ToString();
  EXPECT_EQ(echo.calls(), 1);
  EXPECT_TRUE(conn_->connected());
  EXPECT_EQ(conn_->stats().signed_messages, 1u);
}

// A one-byte change in any element of a signed compound request would break its signature: each
// element of a compound request is signed on its own, over its padding ([MS-SMB2] 3.1.4.1).
TEST_P(SigningSim, CompoundRequestElementsAreSignedSeparately) {
  Outcome warmup;
  ClientRequest w = SignedEcho(warmup);
  ResponseOptions grant;
  grant.credits = 4;
  ASSERT_TRUE(server_->Reply({EchoResponse(w.header, grant)}, /*sign=*/true).ok());
  ASSERT_TRUE(warmup.Wait());
  CompoundOutcome chain;
  std::vector<Request> requests;
  requests.push_back(ReadRequest(3, 0));
  requests.push_back(EchoRequest());
  conn_->SubmitCompound(std::move(requests), false, chain.Callback());
  auto m = server_->Next();
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->requests.size(), 2u);
  for (const ClientRequest& r : m->requests) {
    EXPECT_NE(r.header.flags & smb2::SMB2_FLAGS_SIGNED, 0u);
    EXPECT_TRUE(crypto::VerifySignature(GetParam(), server_->keys().signing_key, r.bytes).ok());
  }
  uint8_t data[3] = {1, 2, 3};
  ASSERT_TRUE(server_->Reply({ReadResponse(m->requests[0].header, data),
                              EchoResponse(m->requests[1].header)},
                             /*sign=*/true)
                  .ok());
  ASSERT_TRUE(chain.Wait());
  auto results = chain.results();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_TRUE(results[1].ok()) << results[1].status().ToString();
}

TEST_P(SigningSim, UnsignedResponseIsASecurityFailure) {
  Outcome echo;
  ClientRequest r = SignedEcho(echo);
  server_->Raw(EchoResponse(r.header));
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.status().Is(Code::kSecurity)) << echo.status().ToString();
  EXPECT_EQ(echo.calls(), 1);
  ExpectDroppedWith(Code::kSecurity);
}

TEST_P(SigningSim, ResponseWithAFlippedByteIsASecurityFailure) {
  // One flip in the body, one in the signature, one in a header field the client does not
  // otherwise look at (Reserved/TreeId).
  for (size_t at : {size_t{66}, size_t{smb2::kOffsetSignature + 3}, size_t{36}}) {
    SCOPED_TRACE(at);
    if (conn_ == nullptr) SetUp();
    Outcome echo;
    ClientRequest r = SignedEcho(echo);
    std::vector<uint8_t> response = EchoResponse(r.header);
    ASSERT_TRUE(SignChain(response, GetParam(), server_->keys().signing_key).ok());
    response[at] ^= 0x01;
    server_->Raw(response);
    ASSERT_TRUE(echo.Wait());
    EXPECT_TRUE(echo.status().Is(Code::kSecurity)) << echo.status().ToString();
    EXPECT_EQ(echo.calls(), 1);
    ExpectDroppedWith(Code::kSecurity);
    TearDown();
  }
}

// A response signed with another key is as bad as an unsigned one.
TEST_P(SigningSim, ResponseSignedWithAnotherKeyIsASecurityFailure) {
  Outcome echo;
  ClientRequest r = SignedEcho(echo);
  std::vector<uint8_t> response = EchoResponse(r.header);
  ASSERT_TRUE(SignChain(response, GetParam(), KeyBytes(16, 0x99)).ok());
  server_->Raw(response);
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.status().Is(Code::kSecurity)) << echo.status().ToString();
  ExpectDroppedWith(Code::kSecurity);
}

// [MS-SMB2] 3.2.5.1.3: interim responses are not signed; they must not trip verification.
TEST_P(SigningSim, UnsignedInterimResponseIsAccepted) {
  Outcome echo;
  ClientRequest r = SignedEcho(echo);
  server_->Raw(InterimResponse(r.header, 77));
  ASSERT_TRUE(wire_->WaitIdle());
  EXPECT_TRUE(conn_->connected());
  EXPECT_EQ(echo.calls(), 0);
  ResponseOptions final_options;
  final_options.async_id = 77;
  std::vector<uint8_t> response = EchoResponse(r.header, final_options);
  ASSERT_TRUE(SignChain(response, GetParam(), server_->keys().signing_key).ok());
  server_->Raw(response);
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.result().ok()) << echo.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SigningSim,
                         ::testing::Values(SigningAlgorithm::kHmacSha256, SigningAlgorithm::kAesCmac,
                                           SigningAlgorithm::kAesGmac),
                         [](const auto& p) {
                           std::string n = AlgorithmName(p.param);
                           std::erase(n, '-');
                           return n;
                         });

class SealingSim : public ConnectionSim, public ::testing::WithParamInterface<CipherId> {
 protected:
  void SetUp() override {
    StartConnection();
    const size_t key_size = crypto::CipherKeySize(GetParam());
    ServerKeys keys;
    keys.session_id = kSessionId;
    keys.cipher = GetParam();
    keys.signing_key = KeyBytes(16, 0x31);
    keys.client_to_server = KeyBytes(key_size, 0x52);
    keys.server_to_client = KeyBytes(key_size, 0x73);
    server_->set_keys(keys);
    client::SessionSecurity sec;
    sec.session_id = kSessionId;
    sec.signing_key = crypto::SecretKey(keys.signing_key);
    sec.cipher = GetParam();
    sec.encryption_key = crypto::SecretKey(keys.client_to_server);
    sec.decryption_key = crypto::SecretKey(keys.server_to_client);
    sec.encrypt_all = true;
    conn_->SetSessionSecurity(sec);
  }

  // Submits an ECHO and returns its request, checking that it went out sealed for our session.
  ClientRequest SealedEcho(Outcome& echo) {
    conn_->Submit(EchoRequest(), echo.Callback());
    auto m = server_->Next();
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok() || m->requests.size() != 1) {
      ADD_FAILURE() << "expected one sealed request";
      return {};
    }
    EXPECT_TRUE(m->encrypted);
    EXPECT_EQ(m->transform.session_id, kSessionId);
    EXPECT_EQ(m->requests[0].header.session_id, kSessionId);
    EXPECT_EQ(m->requests[0].header.command, smb2::SMB2_ECHO);
    return m->requests[0];
  }
};

TEST_P(SealingSim, RequestsAreSealedAndSealedResponsesAccepted) {
  Outcome echo;
  ClientRequest r = SealedEcho(echo);
  ASSERT_TRUE(server_->Reply({EchoResponse(r.header)}, false, /*seal=*/true).ok());
  ASSERT_TRUE(echo.Wait());
  ASSERT_TRUE(echo.result().ok()) << echo.status().ToString();
  EXPECT_TRUE(echo.result()->encrypted);
  EXPECT_EQ(echo.calls(), 1);
  EXPECT_TRUE(conn_->connected());
  EXPECT_EQ(conn_->stats().encrypted_messages, 1u);
}

// [MS-SMB2] 3.1.4.3: a compound chain is sealed as one message; the answer may be too.
TEST_P(SealingSim, CompoundIsSealedAsOneMessage) {
  Outcome warmup;
  ClientRequest w = SealedEcho(warmup);
  ResponseOptions grant;
  grant.credits = 4;
  ASSERT_TRUE(server_->Reply({EchoResponse(w.header, grant)}, false, true).ok());
  ASSERT_TRUE(warmup.Wait());
  CompoundOutcome chain;
  std::vector<Request> requests;
  requests.push_back(EchoRequest());
  requests.push_back(EchoRequest());
  conn_->SubmitCompound(std::move(requests), false, chain.Callback());
  auto m = server_->Next();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->encrypted);
  ASSERT_EQ(m->requests.size(), 2u);
  ASSERT_TRUE(server_->Reply({EchoResponse(m->requests[0].header),
                              EchoResponse(m->requests[1].header)},
                             false, true)
                  .ok());
  ASSERT_TRUE(chain.Wait());
  for (const auto& r : chain.results()) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->encrypted);
  }
}

TEST_P(SealingSim, UnencryptedResponseIsASecurityFailure) {
  for (bool sign : {false, true}) {
    SCOPED_TRACE(sign ? "signed" : "unsigned");
    if (conn_ == nullptr) SetUp();
    Outcome echo;
    ClientRequest r = SealedEcho(echo);
    ASSERT_TRUE(server_->Reply({EchoResponse(r.header)}, sign, /*seal=*/false).ok());
    ASSERT_TRUE(echo.Wait());
    EXPECT_TRUE(echo.status().Is(Code::kSecurity)) << echo.status().ToString();
    EXPECT_EQ(echo.calls(), 1);
    ExpectDroppedWith(Code::kSecurity);
    TearDown();
  }
}

TEST_P(SealingSim, TransformWithAFlippedByteIsASecurityFailure) {
  // A byte of the ciphertext, of the tag (Signature), and of the authenticated Nonce.
  for (size_t at : {size_t{0} /* last byte, see below */, size_t{4}, size_t{20}}) {
    SCOPED_TRACE(at);
    if (conn_ == nullptr) SetUp();
    Outcome echo;
    ClientRequest r = SealedEcho(echo);
    auto sealed = Seal(EchoResponse(r.header), GetParam(), server_->keys().server_to_client,
                       kSessionId, 5);
    ASSERT_TRUE(sealed.ok());
    (*sealed)[at == 0 ? sealed->size() - 1 : at] ^= 0x80;
    server_->Raw(*sealed);
    ASSERT_TRUE(echo.Wait());
    EXPECT_TRUE(echo.status().Is(Code::kSecurity)) << echo.status().ToString();
    EXPECT_EQ(echo.calls(), 1);
    ExpectDroppedWith(Code::kSecurity);
    TearDown();
  }
}

// [MS-SMB2] 3.2.5.1.1.1: a transform whose SessionId names no session of ours is dropped with the
// connection (kProtocol); so is one whose decrypted header names another session.
TEST_P(SealingSim, TransformForAnotherSessionIsAProtocolError) {
  Outcome echo;
  ClientRequest r = SealedEcho(echo);
  auto sealed = Seal(EchoResponse(r.header), GetParam(), server_->keys().server_to_client,
                     kSessionId + 1, 5);
  ASSERT_TRUE(sealed.ok());
  server_->Raw(*sealed);
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.status().Is(Code::kProtocol)) << echo.status().ToString();
  ExpectDroppedWith(Code::kProtocol);
}

TEST_P(SealingSim, DecryptedHeaderForAnotherSessionIsAProtocolError) {
  Outcome echo;
  ClientRequest r = SealedEcho(echo);
  ResponseOptions other;
  other.session_id = kSessionId + 1;
  auto sealed = Seal(EchoResponse(r.header, other), GetParam(), server_->keys().server_to_client,
                     kSessionId, 5);
  ASSERT_TRUE(sealed.ok());
  server_->Raw(*sealed);
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.status().Is(Code::kProtocol)) << echo.status().ToString();
  ExpectDroppedWith(Code::kProtocol);
}

// A transform sealed with the client's own (client-to-server) key does not authenticate.
TEST_P(SealingSim, TransformSealedWithTheWrongKeyIsASecurityFailure) {
  Outcome echo;
  ClientRequest r = SealedEcho(echo);
  auto sealed = Seal(EchoResponse(r.header), GetParam(), server_->keys().client_to_server,
                     kSessionId, 5);
  ASSERT_TRUE(sealed.ok());
  server_->Raw(*sealed);
  ASSERT_TRUE(echo.Wait());
  EXPECT_TRUE(echo.status().Is(Code::kSecurity)) << echo.status().ToString();
  ExpectDroppedWith(Code::kSecurity);
}

const char* CipherName(CipherId c) {
  switch (c) {
    case CipherId::SMB2_ENCRYPTION_AES128_CCM: return "AES128CCM";
    case CipherId::SMB2_ENCRYPTION_AES128_GCM: return "AES128GCM";
    case CipherId::SMB2_ENCRYPTION_AES256_CCM: return "AES256CCM";
    case CipherId::SMB2_ENCRYPTION_AES256_GCM: return "AES256GCM";
    case CipherId::kNone: break;
  }
  return "none";
}

INSTANTIATE_TEST_SUITE_P(Ciphers, SealingSim,
                         ::testing::Values(CipherId::SMB2_ENCRYPTION_AES128_CCM,
                                           CipherId::SMB2_ENCRYPTION_AES128_GCM,
                                           CipherId::SMB2_ENCRYPTION_AES256_CCM,
                                           CipherId::SMB2_ENCRYPTION_AES256_GCM),
                         [](const auto& p) { return std::string(CipherName(p.param)); });

}  // namespace
}  // namespace smb3::test

namespace smb3::test {
namespace {

// A request that asks to be sealed (Request::encrypt, set for every request to a share with
// SMB2_SHAREFLAG_ENCRYPT_DATA, [MS-SMB2] 3.2.4.1.8) or a session with encrypt_all must never leave
// in the clear. When the connection cannot seal (no cipher or no EncryptionKey installed, as for a
// guest session, which derives no keys), the request has to fail instead.
class SealingRequiredSim : public ConnectionSim {
 protected:
  // Submits `request` and waits until it either completed or something was sent.
  void ExpectRefusedUnsealed(Request request) {
    Outcome outcome;
    CloseAtExit close_at_exit(conn_);
    conn_->Submit(std::move(request), outcome.Callback());
    ASSERT_TRUE(WaitUntil([&] { return outcome.calls() > 0 || wire_->sent_count() > 0; }));
    for (const auto& sent : wire_->sent()) {
      ASSERT_GE(sent.size(), 4u);
      EXPECT_EQ(LoadU32(sent.data()), smb2::kTransformProtocolId)
          << "a request that must be sealed was sent in the clear";
    }
    if (wire_->sent_count() == 0) {
      EXPECT_EQ(outcome.calls(), 1);
      EXPECT_TRUE(outcome.status().Is(Code::kSecurity)) << outcome.status().ToString();
    }
  }
};

// A guest session: security installed (session id, no keys), the share demands encryption.
TEST_F(SealingRequiredSim, ShareEncryptionWithoutKeysIsNotSentInTheClear) {
  StartConnection();
  client::SessionSecurity guest;
  guest.session_id = kSessionId;
  conn_->SetSessionSecurity(guest);
  Request r = EchoRequest();
  r.encrypt = true;
  ExpectRefusedUnsealed(std::move(r));
}

// Session.EncryptData with a cipher but no EncryptionKey.
TEST_F(SealingRequiredSim, EncryptAllWithoutAnEncryptionKeyIsNotSentInTheClear) {
  StartConnection();
  client::SessionSecurity sec;
  sec.session_id = kSessionId;
  sec.cipher = CipherId::SMB2_ENCRYPTION_AES128_GCM;
  sec.decryption_key = crypto::SecretKey(KeyBytes(16, 0x73));
  sec.encrypt_all = true;
  conn_->SetSessionSecurity(sec);
  ExpectRefusedUnsealed(EchoRequest());
}

}  // namespace
}  // namespace smb3::test

namespace smb3::test {
namespace {

// Sealed traffic from several threads at once: every request is sealed with a nonce never used
// before in the session ([MS-SMB2] 2.2.41), every response reaches its own request.
TEST_P(SealingSim, ConcurrentSealedTrafficUsesUniqueNonces) {
  constexpr int kThreads = 4, kPerThread = 100, kTotal = kThreads * kPerThread;
  std::mutex mu;
  std::condition_variable cv;
  int completed = 0, bad = 0;
  std::set<std::vector<uint8_t>> nonces;
  bool server_ok = true;

  std::thread server([&] {
    int answered = 0;
    while (answered < kTotal) {
      auto m = server_->Next();
      if (!m.ok() || !m->encrypted) {
        server_ok = false;
        return;
      }
      if (!nonces.insert({m->transform.nonce.begin(), m->transform.nonce.end()}).second)
        server_ok = false;
      std::vector<std::vector<uint8_t>> responses;
      for (const ClientRequest& r : m->requests) {
        uint8_t token[8];
        StoreU64(token, ReadOffsetOf(r));
        ResponseOptions o;
        o.credits = r.header.credits;
        responses.push_back(ReadResponse(r.header, token, o));
      }
      if (!server_->Reply(responses, false, /*seal=*/true).ok()) server_ok = false;
      answered += static_cast<int>(m->requests.size());
    }
  });
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const uint64_t id = static_cast<uint64_t>(t * kPerThread + i);
        conn_->Submit(ReadRequest(8, id), [&, id](Result<Response> r) {
          std::lock_guard lock(mu);
          if (!r.ok() || !r->encrypted) {
            ++bad;
          } else {
            auto rr = smb2::DecodeReadResponse(r->message);
            if (!rr.ok() || rr->data.size() != 8 || LoadU64(rr->data.data()) != id) ++bad;
          }
          ++completed;
          cv.notify_all();
        });
      }
    });
  }
  for (auto& s : submitters) s.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return completed == kTotal; }));
  }
  server.join();
  EXPECT_TRUE(server_ok);
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(nonces.size(), static_cast<size_t>(kTotal));
  EXPECT_TRUE(conn_->connected());
}

}  // namespace
}  // namespace smb3::test
