// SPDX-License-Identifier: LGPL-2.1-or-later
// The initiator's side of an MS-SMBD connection as a sans-I/O state machine ([MS-SMBD] 3.1).
//
// The engine owns no buffers of the transport and does no I/O. A transport (rdma-core verbs, the
// in-process software device, anything that moves whole messages in order) drives it:
//
//   receives  ReceivesWanted() says how many receive buffers of ReceiveBufferSize() bytes to post;
//             the transport posts them and reports OnReceivesPosted(n). Every completed receive is
//             handed in with OnReceive(bytes, now) and its buffer may be reposted right after.
//   sends     QueueSend(smb2_message) takes an upper-layer message; NextSend(out, now) writes the
//             next message to post (at most SendBufferSize() bytes) into `out`, e.g. a registered
//             send buffer, or returns nothing when there is none or no send credit allows one.
//   upward    NextReassembled() yields each complete upper-layer message, in order.
//   time      NextDeadline() is when OnTimer(now) must next be called.
//
// After any input the transport loops: post ReceivesWanted(), drain NextSend(), drain
// NextReassembled(), re-arm its timer from NextDeadline(). The engine does not track send
// completions: the transport stops draining NextSend() while its send queue is full, and reports a
// failed work request as OnConnectionLost(). Any protocol violation (kProtocol), timeout
// (kTimeout) or local close moves the engine to kDisconnected for good; error() says why, and the
// transport then tears the RDMA connection down ([MS-SMBD] 3.1.7.1).
//
// Credits: a send needs a send credit granted by the peer; every message we send grants the peer
// one credit per receive posted since the last grant ([MS-SMBD] 3.1.5.9). The last send credit is
// never spent on a message that grants none ([MS-SMBD] 3.1.5.1).
//
// Not thread-safe: one event loop owns a Connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"
#include "smbd/parameters.h"
#include "smbd/pdu.h"

namespace smb3::smbd {

enum class State : uint8_t {
  kIdle,         // created; post one receive, then Start()
  kNegotiating,  // negotiate request queued or sent, waiting for the response
  kConnected,    // data transfer ([MS-SMBD] Connection.Role "ESTABLISHED")
  kDisconnected  // terminal; error() says why
};

// Counters for stats; monotonic over the connection's life.
struct Counters {
  // SMBD messages handed out by NextSend (the negotiate request included), and their bytes.
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;
  // SMBD messages consumed by OnReceive, and their bytes.
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  // Upper-layer messages fully sent / reassembled.
  uint64_t upper_messages_sent = 0;
  uint64_t upper_messages_received = 0;
  // Data-bearing messages sent / received, and upper-layer messages that took several.
  uint64_t fragments_sent = 0;
  uint64_t fragments_received = 0;
  uint64_t fragmented_messages_received = 0;
  // Receive credits we granted the peer; send credits it granted us; send credits we spent.
  uint64_t credits_granted = 0;
  uint64_t credits_received = 0;
  uint64_t send_credits_used = 0;
  // Times sending stopped for want of a usable send credit (counted once per stall).
  uint64_t send_credit_stalls = 0;
  // Messages without data (credit grants, answers to SMB_DIRECT_RESPONSE_REQUESTED).
  uint64_t empty_messages_sent = 0;
  // Our keepalives (SMB_DIRECT_RESPONSE_REQUESTED set) and the peer's.
  uint64_t keepalives_sent = 0;
  uint64_t keepalive_requests_received = 0;
  // Receive buffers reported by OnReceivesPosted.
  uint64_t receives_posted = 0;
};

// An upper-layer message reassembled from one or more data transfer messages.
struct ReceivedMessage {
  std::vector<uint8_t> data;
  // [MS-SMBD] 3.1.5.8 Connection.InvalidatedToken: the last local token the RDMA provider reported
  // invalidated by the peer while the message's fragments arrived.
  std::optional<uint32_t> invalidated_token;
};

class Connection {
 public:
  // Errors (kInvalidArgument): a parameter outside what MS-SMBD allows (MaxSendSize below 128,
  // MaxReceiveSize below 512 — the first receive must hold 512 bytes, [MS-SMBD] 3.1.4.1 —,
  // MaxFragmentedRecvSize below 131072, zero credits or timers).
  static Result<Connection> Create(const Parameters& params = {});

  State state() const { return state_; }
  // Why the engine is kDisconnected; Ok otherwise.
  const Status& error() const { return error_; }
  // Valid once kConnected.
  const NegotiatedParameters& negotiated() const { return negotiated_; }
  const Parameters& parameters() const { return params_; }
  const Counters& counters() const { return counters_; }

  // Sends the negotiate request ([MS-SMBD] 3.1.5.2) on the next NextSend and starts the Negotiation
  // Timer. Precondition: kIdle and at least one receive posted ([MS-SMBD] 3.1.4.1).
  // Errors (kInvalidArgument): wrong state, or no receive posted.
  Status Start(Timestamp now);

  // --- Receives -------------------------------------------------------------------------------
  // Size of each receive buffer to post: our MaxReceiveSize (the negotiated one once connected).
  uint32_t ReceiveBufferSize() const;
  // How many more receives to post now. Receives are refilled in batches; the engine asks for a
  // single one early when it holds its last send credit and has no credit to grant with it.
  uint32_t ReceivesWanted() const;
  // The transport posted `count` more receive buffers.
  void OnReceivesPosted(uint32_t count);
  // One received message (one completed receive), `invalidated_token` when the provider reports the
  // peer invalidated a local token with it. Errors: the violation that disconnected the engine
  // (kProtocol, kNtStatus for a refused negotiation), kInvalidArgument for a receive never posted,
  // or error() when already disconnected.
  Status OnReceive(ByteView message, Timestamp now,
                   std::optional<uint32_t> invalidated_token = std::nullopt);
  // The next complete upper-layer message, in arrival order.
  std::optional<ReceivedMessage> NextReassembled();

  // --- Sends ----------------------------------------------------------------------------------
  // Queues an upper-layer message; it is copied. Errors: kInvalidArgument for an empty message or
  // one larger than MaxFragmentedSendSize ([MS-SMBD] 3.1.4.2), or before kConnected; error() after
  // a disconnect.
  Status QueueSend(ByteView message);
  // Bytes NextSend may write: our MaxSendSize (the negotiated one once connected).
  uint32_t SendBufferSize() const;
  // Writes the next message to post into `out` (at least SendBufferSize() bytes) and returns its
  // size, or nothing when there is nothing to send or no send credit permits it.
  std::optional<size_t> NextSend(MutableByteView out, Timestamp now);
  // The same into a new vector.
  std::optional<std::vector<uint8_t>> NextSend(Timestamp now);
  // Whether upper-layer bytes wait in the send queue.
  bool HasQueuedData() const { return !send_queue_.empty(); }
  size_t queued_bytes() const { return queued_bytes_; }

  // --- Timers ---------------------------------------------------------------------------------
  // When OnTimer must next run; nothing when no timer is armed.
  std::optional<Timestamp> NextDeadline() const;
  // Fires the timers due at `now`: the Negotiation Timer ([MS-SMBD] 3.1.6.1) and the Idle
  // Connection Timer ([MS-SMBD] 3.1.6.2).
  void OnTimer(Timestamp now);

  // --- Local events ---------------------------------------------------------------------------
  // The transport lost the connection ([MS-SMBD] 3.1.7.1) or failed a send/receive; `why` becomes
  // error() unless already disconnected.
  void OnConnectionLost(Status why);
  // Local close: error() becomes kDisconnected "smbd: closed locally".
  void Close();

  // Credit state, for stats and tests.
  uint32_t send_credits() const { return send_credits_; }
  // Credits the peer holds: granted and not yet consumed by a received message.
  uint32_t peer_credits() const { return peer_credits_; }
  uint32_t receives_posted() const { return receives_posted_; }
  // Receives posted but not yet granted to the peer.
  uint32_t unannounced_credits() const { return receives_posted_ - peer_credits_; }
  // The peer's latest CreditsRequested (Connection.ReceiveCreditTarget).
  uint16_t receive_credit_target() const { return receive_credit_target_; }

 private:
  struct Outgoing {
    std::vector<uint8_t> data;
    size_t sent = 0;
  };
  enum class Keepalive : uint8_t { kNone, kPending, kSent };

  explicit Connection(const Parameters& params) : params_(params) {}

  Status Fail(Status why);
  Status OnNegotiateResponse(ByteView message, Timestamp now);
  Status OnDataTransfer(ByteView message, Timestamp now, std::optional<uint32_t> invalidated_token);
  uint32_t ReceiveTarget() const;
  uint32_t RefillBatch() const;
  uint16_t CreditsToGrant() const;
  bool WantsEmptyMessage() const;
  bool LastCreditStalled() const;

  Parameters params_;
  State state_ = State::kIdle;
  Status error_;
  NegotiatedParameters negotiated_;
  Counters counters_;

  // Credits ([MS-SMBD] 3.1.1.1).
  uint32_t send_credits_ = 0;           // Connection.SendCredits
  uint32_t receives_posted_ = 0;        // receives the transport holds posted
  uint32_t peer_credits_ = 0;           // Connection.ReceiveCredits as the peer sees them
  uint16_t receive_credit_target_ = 1;  // Connection.ReceiveCreditTarget
  bool stalled_ = false;                // a stall is counted once until a send succeeds
  bool peer_sent_data_transfer_ = false;

  // Sending.
  bool negotiate_pending_ = false;
  bool negotiate_sent_ = false;
  std::deque<Outgoing> send_queue_;  // Connection.SendQueue
  size_t queued_bytes_ = 0;
  bool send_immediate_ = false;  // Connection.SendImmediate: the peer asked for a response

  // Receiving.
  std::vector<uint8_t> reassembly_;    // Connection.FragmentReassemblyBuffer
  uint32_t reassembly_remaining_ = 0;  // Connection.FragmentReassemblyRemaining
  bool reassembling_ = false;
  uint32_t reassembly_fragments_ = 0;
  std::optional<uint32_t> invalidated_token_;  // Connection.InvalidatedToken
  std::deque<ReceivedMessage> reassembled_;

  // Timers.
  Keepalive keepalive_ = Keepalive::kNone;  // Connection.KeepaliveRequested, our own request
  std::optional<Timestamp> negotiate_deadline_;
  std::optional<Timestamp> idle_deadline_;
};

}  // namespace smb3::smbd
