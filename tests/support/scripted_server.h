// SPDX-License-Identifier: LGPL-2.1-or-later
// A scripted SMB2 server for the sim tier: decodes what the client sent through a FakeTransport
// (unsealing transforms and splitting compound chains with the server's view of the keys) and
// builds responses with the library's codec: a response header for a recorded request, bodies for
// ECHO, READ, WRITE, CLOSE and the ERROR response, signing, sealing and compounding.
//
// Every builder returns the bytes of one SMB2 message (header + body); nothing is validated, so a
// test can build malformed input by editing them. Thread-safety: the free functions are pure;
// a ScriptedServer is used from one test thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "crypto/keys.h"
#include "crypto/transform.h"
#include "smb2/header.h"
#include "smb3/ntstatus.h"
#include "smb3/status.h"
#include "support/fake_transport.h"

namespace smb3::test {

// One element of a message the client sent: its header and its bytes (header, body, padding).
struct ClientRequest {
  smb2::Header header;
  std::vector<uint8_t> bytes;
};

// A message the client sent, as the server sees it.
struct ClientMessage {
  bool encrypted = false;
  crypto::TransformHeader transform;  // when encrypted
  std::vector<ClientRequest> requests;
};

// The server's view of one session's keys. client_to_server is the client's EncryptionKey (the
// server decrypts with it), server_to_client the client's DecryptionKey.
struct ServerKeys {
  uint64_t session_id = 0;
  crypto::SigningAlgorithm signing_algorithm = crypto::SigningAlgorithm::kAesCmac;
  std::vector<uint8_t> signing_key;
  crypto::CipherId cipher = crypto::CipherId::kNone;
  std::vector<uint8_t> client_to_server;
  std::vector<uint8_t> server_to_client;
};

// Decodes a message the client sent: a transform is decrypted with keys->client_to_server (an
// error without keys), then the chain is split with SplitCompound and every header decoded.
Result<ClientMessage> DecodeClientMessage(ByteView sent, const ServerKeys* keys = nullptr);

// What a response header carries besides what it copies from the request.
struct ResponseOptions {
  uint32_t status = STATUS_SUCCESS;
  uint16_t credits = 1;                     // CreditResponse
  uint32_t extra_flags = 0;                 // added to SERVER_TO_REDIR (and ASYNC with async_id)
  std::optional<uint64_t> async_id;         // set: the ASYNC form with this AsyncId
  std::optional<uint16_t> command;          // default: the request's
  std::optional<uint64_t> message_id;       // default: the request's
  std::optional<uint64_t> session_id;       // default: the request's
};

// [MS-SMB2] 2.2.1: the 64-byte header of a response to `request` (same MessageId, command,
// TreeId and SessionId; SMB2_FLAGS_SERVER_TO_REDIR; CreditCharge copied).
std::vector<uint8_t> ResponseHeader(const smb2::Header& request, const ResponseOptions& options = {});

// [MS-SMB2] 2.2.29 ECHO response.
std::vector<uint8_t> EchoResponse(const smb2::Header& request, const ResponseOptions& options = {});
// [MS-SMB2] 2.2.20 READ response with `data` at DataOffset 0x50.
std::vector<uint8_t> ReadResponse(const smb2::Header& request, ByteView data,
                                  const ResponseOptions& options = {});
// [MS-SMB2] 2.2.22 WRITE response reporting `count` bytes written.
std::vector<uint8_t> WriteResponse(const smb2::Header& request, uint32_t count,
                                   const ResponseOptions& options = {});
// [MS-SMB2] 2.2.16 CLOSE response without attributes.
std::vector<uint8_t> CloseResponse(const smb2::Header& request, const ResponseOptions& options = {});
// [MS-SMB2] 2.2.2 ERROR response carrying `nt_status` (overrides options.status).
std::vector<uint8_t> ErrorResponse(const smb2::Header& request, uint32_t nt_status,
                                   ResponseOptions options = {});
// [MS-SMB2] 3.3.4.2: the interim STATUS_PENDING response (ASYNC form, error body).
std::vector<uint8_t> InterimResponse(const smb2::Header& request, uint64_t async_id,
                                     uint16_t credits = 1);

// [MS-SMB2] 3.3.4.1.3 / 3.2.5.1.9: chains messages: all but the last padded to 8 bytes with
// NextCommand pointing at the next; the last keeps NextCommand 0.
std::vector<uint8_t> Compound(const std::vector<std::vector<uint8_t>>& messages);
// Signs every element of a chain in place ([MS-SMB2] 3.1.4.1), setting SMB2_FLAGS_SIGNED.
Status SignChain(std::vector<uint8_t>& chain, crypto::SigningAlgorithm algorithm, ByteView key);
// [MS-SMB2] 3.1.4.3: TRANSFORM_HEADER + ciphertext of `plain`, with a nonce made from `counter`.
Result<std::vector<uint8_t>> Seal(ByteView plain, crypto::CipherId cipher, ByteView key,
                                  uint64_t session_id, uint64_t counter);

// The server end of a FakeTransport: reads the client's messages in order and answers them.
class ScriptedServer {
 public:
  explicit ScriptedServer(FakeTransport& wire, ServerKeys keys = {})
      : wire_(wire), keys_(std::move(keys)) {}

  void set_keys(ServerKeys keys) { keys_ = std::move(keys); }
  const ServerKeys& keys() const { return keys_; }
  FakeTransport& wire() { return wire_; }

  // Waits for the next message the client sent (in send order) and decodes it with the keys.
  Result<ClientMessage> Next(std::chrono::milliseconds timeout = kFakeWaitTimeout);
  // Chains `responses` (Compound), signs each element when `sign`, seals the chain when `seal`,
  // and delivers it. Errors from signing or sealing (the key does not fit the algorithm).
  Status Reply(const std::vector<std::vector<uint8_t>>& responses, bool sign = false,
               bool seal = false);
  // Delivers raw bytes.
  void Raw(ByteView bytes) { wire_.Deliver(bytes); }

 private:
  FakeTransport& wire_;
  ServerKeys keys_;
  size_t cursor_ = 0;
  uint64_t nonce_counter_ = 1;
};

}  // namespace smb3::test
