// SPDX-License-Identifier: LGPL-2.1-or-later
// One SMB2 connection: sequence window and credits, the outstanding-request table, signing and
// sealing of requests, and verification/decryption of responses ([MS-SMB2] 3.2.4.1, 3.2.5.1).
//
// Threads: any thread may Submit; responses are matched and callbacks run on the transport's
// receive thread. Callbacks must not block. All state below is guarded by mu_.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "base/buffer.h"
#include "conn/credits.h"
#include "crypto/keys.h"
#include "crypto/signing.h"
#include "crypto/transform.h"
#include "smb2/header.h"
#include "smb3/status.h"
#include "smb3/types.h"
#include "transport/transport.h"

namespace smb3::client {

// A response as received: owns its bytes; `message` is this response (header + body).
struct Response {
  std::shared_ptr<const void> owner;
  ByteView message;
  smb2::Header header;
  bool encrypted = false;
  uint32_t nt_status() const { return header.status; }
};

// A request to send. `message` holds 64 bytes reserved for the header followed by the encoded
// body (see NewRequest); the connection fills the header. `payload` is appended after the body
// (WRITE data) and is sent without a copy when the message is neither signed nor sealed.
struct Request {
  uint16_t command = 0;
  std::vector<uint8_t> message;
  ByteView payload;
  uint32_t credit_bytes = 0;   // the larger of request payload and expected response, for CreditCharge
  uint32_t tree_id = 0;
  uint32_t extra_flags = 0;    // e.g. SMB2_FLAGS_REPLAY_OPERATION
  bool in_session = true;      // carry Session.SessionId
  bool session_setup = false;  // SESSION_SETUP: never sealed; signature checked by the caller
  bool encrypt = false;        // seal even if the session does not require it (share/tree demand)
  bool sign = false;           // sign even if the session does not require it ([MS-SMB2] 3.2.4.1.1 MAY)
  // When set, receives the exact bytes of this message as sent (for the preauth integrity hash).
  std::vector<uint8_t>* record_sent = nullptr;
};

// A request with its header space reserved; encode the body with a ByteWriter on `message`.
Request NewRequest(uint16_t command);

// Session-wide security state installed after authentication ([MS-SMB2] 3.2.5.3).
struct SessionSecurity {
  uint64_t session_id = 0;
  crypto::SigningAlgorithm signing_algorithm = crypto::SigningAlgorithm::kAesCmac;
  crypto::SecretKey signing_key;
  bool signing_required = false;  // sign every request, verify every response
  crypto::CipherId cipher = crypto::CipherId::kNone;
  crypto::SecretKey encryption_key;
  crypto::SecretKey decryption_key;
  bool encrypt_all = false;       // Session.EncryptData
};

struct ConnectionStats {
  uint64_t requests = 0, responses = 0, interims = 0, credit_stalls = 0;
  uint64_t signed_messages = 0, encrypted_messages = 0;
  uint32_t credits = 0;
};

class Connection : public transport::TransportHandler,
                   public std::enable_shared_from_this<Connection> {
 public:
  using Callback = std::function<void(Result<Response>)>;
  using CompoundCallback = std::function<void(std::vector<Result<Response>>)>;

  struct Options {
    std::chrono::milliseconds request_timeout{60000};
    // Keepalive: an idle connection sends ECHO after echo_interval of silence and is dead after two;
    // while a request waits for its answer, ECHO goes after half an interval and the connection
    // is dead after one (see OnTick). 0 = none.
    std::chrono::seconds echo_interval{60};
    // Runs once, on the transport thread, when the connection closes for any reason, before the
    // requests still outstanding are failed (so that their callbacks see the owner's reaction).
    // Must not block.
    std::function<void(Connection&, const Status&)> on_closed;
    // An oplock break notification ([MS-SMB2] 2.2.23.1) for `file_id`, breaking to `level`. Runs on
    // the transport thread; must not block (it may Submit the acknowledgment).
    std::function<void(Connection&, const FileId& file_id, uint8_t level)> on_oplock_break;
  };

  Connection(std::unique_ptr<transport::Transport> transport, Options options);
  ~Connection() override;

  Status Start();

  // Sends one request; `done` runs exactly once (on the receive thread, or inline on failure).
  void Submit(Request request, Callback done);
  // Sends `requests` as one compound chain ([MS-SMB2] 3.2.4.1.4), related when `related`.
  void SubmitCompound(std::vector<Request> requests, bool related, CompoundCallback done);
  // Synchronous forms: block the calling thread (never call them from a callback).
  Result<Response> Call(Request request);
  std::vector<Result<Response>> CallCompound(std::vector<Request> requests, bool related);

  void SetSessionSecurity(SessionSecurity security);
  // The session id used in requests before security is installed (during SESSION_SETUP).
  void SetSessionId(uint64_t session_id);
  // Largest credit charge the server allows in one request (0 = multi-credit unsupported).
  void SetMultiCredit(bool supported) { multi_credit_ = supported; }

  // Asks the server to cancel an outstanding request ([MS-SMB2] 3.2.4.24); its final response
  // (usually STATUS_CANCELLED) still completes it. No effect when it is no longer outstanding.
  void Cancel(uint64_t message_id);

  void Close(Status why);
  bool connected() const;
  Status close_reason() const;
  ConnectionStats stats() const;
  transport::Transport& transport() { return *transport_; }

  // TransportHandler
  void OnMessage(Buffer message) override;
  void OnClosed(Status why) override;
  void OnTick(std::chrono::steady_clock::time_point now) override;

 private:
  struct Group;
  struct Pending {
    std::shared_ptr<Group> group;
    size_t index = 0;
    uint16_t command = 0;
    bool session_setup = false;
    bool expect_encrypted = false;
    uint64_t async_id = 0;
    uint32_t tree_id = 0;
    bool cancel_sent = false;
    std::chrono::steady_clock::time_point deadline;
  };

  void Fail(std::vector<Request>&, Status, CompoundCallback&);
  void Deliver(uint64_t message_id, Result<Response> r);
  Status HandleOne(std::shared_ptr<const void> owner, ByteView msg, bool encrypted);
  Status HandlePlain(std::shared_ptr<const void> owner, ByteView data, bool encrypted);
  void SendEcho();

  std::unique_ptr<transport::Transport> transport_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable credits_cv_;
  conn::CreditWindow credits_;
  std::map<uint64_t, Pending> pending_;
  bool closed_ = false;
  Status close_reason_;
  uint64_t session_id_ = 0;
  std::shared_ptr<const SessionSecurity> security_;
  std::shared_ptr<crypto::NonceSequence> nonces_;
  bool multi_credit_ = true;
  ConnectionStats stats_;
  std::chrono::steady_clock::time_point last_receive_;
  bool echo_outstanding_ = false;
};

}  // namespace smb3::client
