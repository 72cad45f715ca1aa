// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smbd/connection.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace smb3::smbd {

namespace {
constexpr uint32_t kMaxCredits = std::numeric_limits<uint16_t>::max();
}  // namespace

Result<Connection> Connection::Create(const Parameters& params) {
  // [MS-SMBD] 3.1.5.6: a peer rejects MaxReceiveSize < 128 and MaxFragmentedSize < 131072; a send
  // must carry the 24-byte header and at least one byte of data.
  if (params.max_send_size < kMinMaxReceiveSize) {
    return Status::Invalid("smbd parameters: MaxSendSize below 128");
  }
  // [MS-SMBD] 3.1.4.1: the first receive posted holds at least 512 bytes.
  if (params.max_receive_size < 512) {
    return Status::Invalid("smbd parameters: MaxReceiveSize below 512");
  }
  if (params.max_fragmented_recv_size < kMinMaxFragmentedSize) {
    return Status::Invalid("smbd parameters: MaxFragmentedRecvSize below 131072");
  }
  if (params.receive_credit_max == 0 || params.send_credit_target == 0) {
    return Status::Invalid("smbd parameters: zero credits");
  }
  if (params.keepalive_interval <= Duration::zero() ||
      params.keepalive_response_timeout <= Duration::zero() ||
      params.negotiate_timeout <= Duration::zero()) {
    return Status::Invalid("smbd parameters: timers must be positive");
  }
  return Connection(params);
}

Status Connection::Fail(Status why) {
  if (state_ == State::kDisconnected) return error_;
  state_ = State::kDisconnected;
  error_ = why;
  send_queue_.clear();
  queued_bytes_ = 0;
  reassembly_.clear();
  reassembly_.shrink_to_fit();
  reassembled_.clear();
  negotiate_deadline_.reset();
  idle_deadline_.reset();
  return why;
}

void Connection::OnConnectionLost(Status why) {
  // [MS-SMBD] 3.1.7.1
  Fail(why.ok() ? Status(Code::kDisconnected, 0, "smbd: connection lost") : why);
}

void Connection::Close() { Fail(Status(Code::kDisconnected, 0, "smbd: closed locally")); }

// [MS-SMBD] 3.1.4.1, 3.1.5.2
Status Connection::Start(Timestamp now) {
  if (state_ != State::kIdle) return Status::Invalid("smbd: Start called twice");
  if (receives_posted_ == 0) return Status::Invalid("smbd: Start before a receive was posted");
  state_ = State::kNegotiating;
  negotiate_pending_ = true;
  negotiate_deadline_ = now + params_.negotiate_timeout;
  return Status::Ok();
}

uint32_t Connection::ReceiveBufferSize() const {
  return state_ == State::kConnected ? negotiated_.max_receive_size : params_.max_receive_size;
}

uint32_t Connection::SendBufferSize() const {
  return state_ == State::kConnected ? negotiated_.max_send_size : params_.max_send_size;
}

// [MS-SMBD] 3.1.5.9: keep up to min(ReceiveCreditTarget, ReceiveCreditMax) receives posted.
uint32_t Connection::ReceiveTarget() const {
  return std::clamp<uint32_t>(receive_credit_target_, 1, params_.receive_credit_max);
}

uint32_t Connection::RefillBatch() const {
  const uint32_t target = ReceiveTarget();
  if (params_.receive_refill_batch != 0) {
    return std::min<uint32_t>(params_.receive_refill_batch, target);
  }
  return std::max<uint32_t>(1, target / 8);
}

// [MS-SMBD] 3.1.5.9: the credits a message grants are the receives posted since the last grant.
uint16_t Connection::CreditsToGrant() const {
  return static_cast<uint16_t>(std::min(unannounced_credits(), kMaxCredits));
}

bool Connection::LastCreditStalled() const {
  if (state_ != State::kConnected || send_credits_ != 1 || unannounced_credits() != 0) return false;
  return !send_queue_.empty() || send_immediate_ || keepalive_ == Keepalive::kPending;
}

uint32_t Connection::ReceivesWanted() const {
  switch (state_) {
    case State::kIdle:
    case State::kNegotiating:
      // [MS-SMBD] 3.1.4.1: one receive for the negotiate response.
      return receives_posted_ == 0 ? 1 : 0;
    case State::kDisconnected:
      return 0;
    case State::kConnected:
      break;
  }
  const uint32_t target = ReceiveTarget();
  const uint32_t want = receives_posted_ < target ? target - receives_posted_ : 0;
  // [MS-SMBD] 3.1.5.9: with no receive posted, post at least one; otherwise refill in batches so
  // that reposting and announcing credits costs one message per batch, not one per receive.
  if (want > 0 && (receives_posted_ == 0 || want >= RefillBatch())) return want;
  // [MS-SMBD] 3.1.5.9: holding one send credit with messages queued, post at least one receive so
  // the last credit can carry a grant (3.1.5.1) — even one above ReceiveCreditMax.
  if (LastCreditStalled() && receives_posted_ <= params_.receive_credit_max) {
    return std::max<uint32_t>(want, 1);
  }
  return 0;
}

void Connection::OnReceivesPosted(uint32_t count) {
  if (state_ == State::kDisconnected) return;
  const uint32_t room = std::numeric_limits<uint32_t>::max() - receives_posted_;
  receives_posted_ += std::min(count, room);
  counters_.receives_posted += count;
}

Status Connection::OnReceive(ByteView message, Timestamp now,
                             std::optional<uint32_t> invalidated_token) {
  if (state_ == State::kDisconnected) return error_;
  if (receives_posted_ == 0)
    return Fail(Status::Invalid("smbd: receive completed but none posted"));
  --receives_posted_;
  ++counters_.messages_received;
  counters_.bytes_received += message.size();
  switch (state_) {
    case State::kIdle:
      return Fail(Status::Protocol("smbd: message received before the negotiate request"));
    case State::kNegotiating:
      return OnNegotiateResponse(message, now);
    case State::kConnected:
      return OnDataTransfer(message, now, invalidated_token);
    case State::kDisconnected:
      break;
  }
  return error_;
}

// [MS-SMBD] 3.1.5.7
Status Connection::OnNegotiateResponse(ByteView message, Timestamp now) {
  if (!negotiate_sent_) {
    return Fail(Status::Protocol("smbd: negotiate response before the request was sent"));
  }
  auto response = DecodeNegotiateResponse(message);
  if (!response.ok()) return Fail(response.status());
  Status check = CheckNegotiateResponse(*response, params_.max_receive_size);
  if (!check.ok()) return Fail(check);

  negotiated_.protocol = kSmbDirectVersion1;
  receive_credit_target_ = response->credits_requested;
  // The peer sends no more than its PreferredSendSize; a receive never needs to be below 128.
  negotiated_.max_receive_size = std::max(
      std::min(params_.max_receive_size, response->preferred_send_size), kMinMaxReceiveSize);
  negotiated_.max_send_size = std::min(params_.max_send_size, response->max_receive_size);
  // 7 <7>: the implementation-specific cap on RDMA transfers.
  negotiated_.max_read_write_size =
      std::min(params_.max_read_write_size, response->max_read_write_size);
  send_credits_ = response->credits_granted;
  counters_.credits_received += response->credits_granted;
  negotiated_.max_fragmented_send_size = response->max_fragmented_size;
  negotiated_.max_fragmented_recv_size = params_.max_fragmented_recv_size;
  negotiated_.keepalive_interval = params_.keepalive_interval;
  // The receives and credits of 3.1.5.9 follow through ReceivesWanted(): with none posted it asks
  // for a full batch, and no message can be sent before they are, for want of a credit to grant.
  negotiate_deadline_.reset();
  idle_deadline_ = now + params_.keepalive_interval;
  state_ = State::kConnected;
  return Status::Ok();
}

// [MS-SMBD] 3.1.5.5, 3.1.5.8
Status Connection::OnDataTransfer(ByteView message, Timestamp now,
                                  std::optional<uint32_t> invalidated_token) {
  // 2.2.2: the peer promised to send no more than its PreferredSendSize, our MaxReceiveSize now.
  if (message.size() > negotiated_.max_receive_size) {
    return Fail(Status::Protocol("smbd data transfer: larger than the negotiated MaxReceiveSize"));
  }
  auto decoded = DecodeDataTransfer(message);
  if (!decoded.ok()) return Fail(decoded.status());
  const DataTransfer& m = *decoded;
  if (static_cast<uint64_t>(m.data_length) + m.remaining_data_length >
      negotiated_.max_fragmented_recv_size) {
    return Fail(Status::Protocol(
        "smbd data transfer: DataLength + RemainingDataLength exceed MaxFragmentedSize"));
  }

  // Every message consumes a credit we granted; one sent without is the peer's violation even if
  // a receive happened to be posted for it.
  if (peer_credits_ == 0) {
    return Fail(Status::Protocol("smbd data transfer: peer sent without a receive credit"));
  }
  --peer_credits_;
  peer_sent_data_transfer_ = true;
  receive_credit_target_ = m.credits_requested;

  if (m.flags & SMB_DIRECT_RESPONSE_REQUESTED) {
    // 3.1.5.8 sets KeepaliveRequested to PENDING and SendImmediate; 3.1.5.1 would then set the flag
    // on our answer too, which the peer would answer in turn, forever. The flag is the peer's
    // request, so we answer promptly (SendImmediate) and keep KeepaliveRequested for our own
    // keepalives, as 3.1.6.2 uses it.
    send_immediate_ = true;
    ++counters_.keepalive_requests_received;
  }
  if (m.credits_granted > 0) {
    if (send_credits_ + m.credits_granted > kMaxCredits) {
      return Fail(Status::Protocol("smbd data transfer: send credits granted beyond 65535"));
    }
    send_credits_ += m.credits_granted;
    counters_.credits_received += m.credits_granted;
    stalled_ = false;
  } else if (send_credits_ == 0 && peer_credits_ == 0) {
    // 3.1.5.1 binds the peer too: it spent its last credit on a message granting none while we
    // hold none, so neither side can ever send again.
    return Fail(Status::Protocol(
        "smbd data transfer: peer spent its last credit granting none while we hold none"));
  }

  if (m.data_length > 0) {
    if (!reassembling_) {
      reassembling_ = true;
      reassembly_remaining_ = m.remaining_data_length;
      reassembly_fragments_ = 0;
      reassembly_.clear();
      // No reserve for the announced total: the buffer grows with the bytes that arrive, so a peer
      // announcing MaxFragmentedRecvSize in a one-byte fragment costs us a byte, not a MiB.
    } else {
      // Within a sequence each fragment's RemainingDataLength is what the previous one announced
      // minus this fragment's data; a sequence that ends early or overruns is a violation.
      if (m.data_length > reassembly_remaining_ ||
          m.remaining_data_length != reassembly_remaining_ - m.data_length) {
        return Fail(Status::Protocol(
            "smbd data transfer: RemainingDataLength inconsistent with the fragment sequence"));
      }
      reassembly_remaining_ -= m.data_length;
    }
    reassembly_.insert(reassembly_.end(), m.data.begin(), m.data.end());
    ++reassembly_fragments_;
    ++counters_.fragments_received;
  }
  // A message without data (credits, keepalive answer) carries no part of an upper-layer message,
  // even in the middle of a fragmented one: a peer's credit and keepalive path need not wait for
  // its fragmenter, so such a message leaves the sequence alone rather than ending it.
  if (invalidated_token) invalidated_token_ = invalidated_token;
  if (m.data_length > 0 && m.remaining_data_length == 0) {
    ++counters_.upper_messages_received;
    if (reassembly_fragments_ > 1) ++counters_.fragmented_messages_received;
    reassembled_.push_back(ReceivedMessage{std::move(reassembly_), invalidated_token_});
    reassembly_ = {};
    invalidated_token_.reset();
    reassembling_ = false;
    reassembly_remaining_ = 0;
  }

  // 3.1.5.5: any message re-arms the Idle Connection Timer and answers our keepalive.
  keepalive_ = Keepalive::kNone;
  idle_deadline_ = now + params_.keepalive_interval;
  return Status::Ok();
}

std::optional<ReceivedMessage> Connection::NextReassembled() {
  if (reassembled_.empty()) return std::nullopt;
  ReceivedMessage m = std::move(reassembled_.front());
  reassembled_.pop_front();
  return m;
}

// [MS-SMBD] 3.1.4.2, 3.1.5.4
Status Connection::QueueSend(ByteView message) {
  if (state_ == State::kDisconnected) return error_;
  if (state_ != State::kConnected) {
    return Status::Invalid("smbd: QueueSend before the negotiation completed");
  }
  if (message.empty()) return Status::Invalid("smbd: empty upper-layer message");
  if (message.size() > negotiated_.max_fragmented_send_size) {
    return Status::Invalid("smbd: message larger than the peer's MaxFragmentedSize");
  }
  send_queue_.push_back(Outgoing{std::vector<uint8_t>(message.begin(), message.end()), 0});
  queued_bytes_ += message.size();
  return Status::Ok();
}

// Whether a message without data is due: the peer asked for a response (3.1.5.8), our keepalive is
// pending (3.1.6.2), or a batch of new credits waits to be announced (3.1.5.8, 3.1.5.9). Credits
// are announced on their own only once the peer has spoken: before that, SMB2 being client-first,
// the first upper-layer message carries them (as in 4.1).
bool Connection::WantsEmptyMessage() const {
  if (send_immediate_ || keepalive_ == Keepalive::kPending) return true;
  const uint32_t unannounced = unannounced_credits();
  if (!peer_sent_data_transfer_ || unannounced == 0) return false;
  const uint32_t batch = RefillBatch();
  return unannounced >= batch || peer_credits_ < batch;
}

std::optional<size_t> Connection::NextSend(MutableByteView out, Timestamp now) {
  if (state_ == State::kNegotiating && negotiate_pending_) {
    // [MS-SMBD] 3.1.5.2: sent without a credit; it is the first message on the connection.
    if (out.size() < kNegotiateRequestSize) return std::nullopt;
    std::vector<uint8_t> bytes;
    ByteWriter w(bytes);
    NegotiateRequest request;
    request.credits_requested = params_.send_credit_target;
    request.preferred_send_size = params_.max_send_size;
    request.max_receive_size = params_.max_receive_size;
    request.max_fragmented_size = params_.max_fragmented_recv_size;
    (void)EncodeNegotiateRequest(request, w);
    std::copy(bytes.begin(), bytes.end(), out.begin());
    negotiate_pending_ = false;
    negotiate_sent_ = true;
    ++counters_.messages_sent;
    counters_.bytes_sent += bytes.size();
    return bytes.size();
  }
  if (state_ != State::kConnected) return std::nullopt;
  const bool has_data = !send_queue_.empty();
  if (!has_data && !WantsEmptyMessage()) return std::nullopt;

  // [MS-SMBD] 3.1.5.4: DataOffset 24 and DataOffset + DataLength within MaxSendSize (and within
  // the caller's buffer, which may only shorten fragments).
  size_t chunk = 0;
  if (has_data) {
    const size_t room = std::min<size_t>(negotiated_.max_send_size, out.size());
    if (room <= kDataTransferDataOffset) return std::nullopt;
    const Outgoing& front = send_queue_.front();
    chunk = std::min(front.data.size() - front.sent, room - kDataTransferDataOffset);
  } else if (out.size() < kDataTransferHeaderSize) {
    return std::nullopt;
  }

  // [MS-SMBD] 3.1.5.1: no credit, no send; the last credit only for a message that grants one.
  const uint16_t grant = CreditsToGrant();
  if (send_credits_ == 0 || (send_credits_ == 1 && grant == 0)) {
    if (!stalled_) {
      stalled_ = true;
      ++counters_.send_credit_stalls;
    }
    return std::nullopt;
  }

  DataTransfer header;
  header.credits_requested = params_.send_credit_target;
  header.credits_granted = grant;
  ByteView payload;
  if (has_data) {
    const Outgoing& front = send_queue_.front();
    payload = ByteView(front.data).subspan(front.sent, chunk);
    header.remaining_data_length = static_cast<uint32_t>(front.data.size() - front.sent - chunk);
  }
  if (keepalive_ == Keepalive::kPending) {
    // [MS-SMBD] 3.1.5.1, 7 <4>: the answer is due within the response timeout.
    header.flags = SMB_DIRECT_RESPONSE_REQUESTED;
    keepalive_ = Keepalive::kSent;
    idle_deadline_ = now + params_.keepalive_response_timeout;
    ++counters_.keepalives_sent;
  }
  auto written = EncodeDataTransfer(header, payload, out);
  if (!written.ok()) return std::nullopt;  // unreachable: sizes were checked above

  --send_credits_;
  peer_credits_ += grant;
  send_immediate_ = false;
  stalled_ = false;
  ++counters_.messages_sent;
  ++counters_.send_credits_used;
  counters_.bytes_sent += *written;
  counters_.credits_granted += grant;
  if (has_data) {
    ++counters_.fragments_sent;
    Outgoing& front = send_queue_.front();
    front.sent += chunk;
    queued_bytes_ -= chunk;
    if (front.sent == front.data.size()) {
      send_queue_.pop_front();
      ++counters_.upper_messages_sent;
    }
  } else {
    ++counters_.empty_messages_sent;
  }
  return *written;
}

std::optional<std::vector<uint8_t>> Connection::NextSend(Timestamp now) {
  std::vector<uint8_t> out(SendBufferSize());
  auto size = NextSend(MutableByteView(out), now);
  if (!size) return std::nullopt;
  out.resize(*size);
  return out;
}

std::optional<Timestamp> Connection::NextDeadline() const {
  switch (state_) {
    case State::kNegotiating:
      return negotiate_deadline_;
    case State::kConnected:
      return idle_deadline_;
    default:
      return std::nullopt;
  }
}

void Connection::OnTimer(Timestamp now) {
  if (state_ == State::kNegotiating && negotiate_deadline_ && now >= *negotiate_deadline_) {
    // [MS-SMBD] 3.1.6.1
    Fail(Status(Code::kTimeout, 0, "smbd: negotiation timed out"));
    return;
  }
  if (state_ == State::kConnected && idle_deadline_ && now >= *idle_deadline_) {
    // [MS-SMBD] 3.1.6.2: an unanswered keepalive ends the connection; otherwise send one.
    if (keepalive_ != Keepalive::kNone) {
      Fail(Status(Code::kTimeout, 0, "smbd: peer did not answer the keepalive"));
      return;
    }
    keepalive_ = Keepalive::kPending;
    // Should no credit let the keepalive go out, the same timeout still bounds the wait.
    idle_deadline_ = now + params_.keepalive_response_timeout;
  }
}

}  // namespace smb3::smbd
