// SPDX-License-Identifier: LGPL-2.1-or-later
#include "client/connection.h"

#include <algorithm>

#include "base/log.h"
#include "smb2/cancel.h"
#include "smb2/compound.h"
#include "smb2/echo.h"
#include "smb2/oplock_break.h"
#include "smb2/read.h"
#include "smb3/ntstatus.h"

namespace smb3::client {

namespace {

constexpr uint64_t kUnsolicitedMessageId = 0xFFFFFFFFFFFFFFFFULL;

// Set while the transport thread runs our handlers. Only that thread grants credits, so it must
// never wait for them.
thread_local bool t_on_receive_thread = false;

struct ReceiveThreadScope {
  ReceiveThreadScope() { t_on_receive_thread = true; }
  ~ReceiveThreadScope() { t_on_receive_thread = false; }
};


}  // namespace

struct Connection::Group {
  std::vector<Result<Response>> results;
  size_t remaining = 0;
  CompoundCallback done;
};

Request NewRequest(uint16_t command) {
  Request r;
  r.command = command;
  r.message.reserve(256);
  r.message.resize(smb2::kHeaderSize);
  return r;
}

Connection::Connection(std::unique_ptr<transport::Transport> transport, Options options)
    : transport_(std::move(transport)), options_(options) {
  last_receive_ = std::chrono::steady_clock::now();
}

Connection::~Connection() { transport_->Close(); }

Status Connection::Start() { return transport_->Start(this); }

void Connection::SetSessionSecurity(SessionSecurity security) {
  std::lock_guard lock(mu_);
  session_id_ = security.session_id;
  nonces_.reset();
  if (security.cipher != crypto::CipherId::kNone && !security.encryption_key.empty()) {
    auto nonces = crypto::NonceSequence::Create(security.cipher);
    if (nonces.ok()) nonces_ = std::make_shared<crypto::NonceSequence>(std::move(nonces).value());
  }
  security_ = std::make_shared<const SessionSecurity>(std::move(security));
}

void Connection::SetSessionId(uint64_t session_id) {
  std::lock_guard lock(mu_);
  session_id_ = session_id;
}

bool Connection::connected() const {
  std::lock_guard lock(mu_);
  return !closed_;
}

Status Connection::close_reason() const {
  std::lock_guard lock(mu_);
  return close_reason_;
}

ConnectionStats Connection::stats() const {
  std::lock_guard lock(mu_);
  ConnectionStats s = stats_;
  s.credits = credits_.available();
  return s;
}

void Connection::Submit(Request request, Callback done) {
  std::vector<Request> one;
  one.push_back(std::move(request));
  SubmitCompound(std::move(one), false,
                 [done = std::move(done)](std::vector<Result<Response>> r) { done(std::move(r[0])); });
}

void Connection::Fail(std::vector<Request>& requests, Status why, CompoundCallback& done) {
  std::vector<Result<Response>> results;
  results.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) results.emplace_back(why);
  done(std::move(results));
}

void Connection::SubmitCompound(std::vector<Request> requests, bool related, CompoundCallback done) {
  if (requests.empty()) return done({});
  std::vector<uint16_t> charges;
  uint32_t total = 0;
  for (auto& r : requests) {
    // [MS-SMB2] 3.1.5.2; a payload beyond what 65535 credits cover cannot be sent at all.
    if (r.credit_bytes > 0xFFFFull * 65536) {
      CompoundCallback cb = std::move(done);
      return Fail(requests, Status::Invalid("request larger than 65535 credits can cover"), cb);
    }
    uint16_t c = multi_credit_ ? smb2::CreditChargeFor(r.credit_bytes) : 1;
    charges.push_back(c);
    total += c;
  }
  auto group = std::make_shared<Group>();
  group->remaining = requests.size();
  group->results.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i)
    group->results.emplace_back(Status(Code::kCancelled, 0, "no response"));
  group->done = std::move(done);

  std::shared_ptr<const SessionSecurity> sec;
  std::shared_ptr<crypto::NonceSequence> nonces;
  bool encrypt = false;
  {
    std::unique_lock lock(mu_);
    if (total > conn::CreditWindow::kMaxHeld) {
      lock.unlock();
      return Fail(requests, Status::Invalid("request needs more credits than a server can grant"), group->done);
    }
    if (!closed_ && credits_.available() < total && !t_on_receive_thread) {
      ++stats_.credit_stalls;
      credits_cv_.wait_for(lock, options_.request_timeout,
                           [&] { return closed_ || credits_.available() >= total; });
    }
    if (closed_ || credits_.available() < total) {
      Status why = closed_ ? Status(Code::kDisconnected, close_reason_.detail(), "connection closed")
                   : t_on_receive_thread
                       ? Status(Code::kResourceExhausted, 0, "no credits for a request from a callback")
                       : Status(Code::kTimeout, 0, "no credits granted by the server in time");
      lock.unlock();
      return Fail(requests, why, group->done);
    }
    sec = security_;
    nonces = nonces_;
    for (const Request& r : requests) {
      bool must_seal = !r.session_setup && (r.encrypt || (sec && sec->encrypt_all));
      if (must_seal && !(sec && nonces)) {
        // Never send in the clear what must be sealed (e.g. a guest session, which has no keys,
        // on a share that requires encryption).
        lock.unlock();
        return Fail(requests,
                    Status(Code::kSecurity, 0, "encryption required, but this session has no encryption keys"),
                    group->done);
      }
    }
    auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    for (size_t i = 0; i < requests.size(); ++i) {
      Request& r = requests[i];
      uint64_t mid = *credits_.Take(charges[i]);
      smb2::Header h;
      h.credit_charge = multi_credit_ ? charges[i] : 0;
      h.command = r.command;
      h.credits = credits_.RequestFor(charges[i]);
      h.flags = r.extra_flags | ((related && i > 0) ? smb2::SMB2_FLAGS_RELATED_OPERATIONS : 0);
      h.message_id = mid;
      h.tree_id = r.tree_id;
      h.session_id = r.in_session ? session_id_ : 0;
      std::vector<uint8_t> hdr;
      ByteWriter hw(hdr);
      smb2::EncodeHeader(h, hw);
      std::copy(hdr.begin(), hdr.end(), r.message.begin());
      bool want_encrypt = !r.session_setup && sec && nonces && (sec->encrypt_all || r.encrypt);
      encrypt = encrypt || want_encrypt;
      pending_[mid] = Pending{group, i, r.command, r.session_setup, want_encrypt, 0, r.tree_id, false, deadline};
      ++stats_.requests;
    }
  }

  // Chain: every element but the last is padded to 8 bytes and points at the next
  // ([MS-SMB2] 3.2.4.1.4). A payload becomes part of its element when the element is signed or
  // the chain is sealed, or when padding must follow it. Such copies go into per-thread scratch
  // buffers that keep their capacity: fresh multi-MiB allocations cost ~11 us per page here.
  thread_local std::vector<std::vector<uint8_t>> t_scratch;
  if (t_scratch.size() < requests.size() + 2) t_scratch.resize(requests.size() + 2);
  std::vector<std::vector<uint8_t>*> elements(requests.size());
  const bool can_sign = !encrypt && sec && !sec->signing_key.empty();
  size_t signed_count = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    Request& r = requests[i];
    bool last = i + 1 == requests.size();
    bool sign = can_sign && !r.session_setup && (sec->signing_required || r.sign);
    std::vector<uint8_t>* m = &r.message;
    if (!r.payload.empty() && (sign || encrypt || !last)) {
      m = &t_scratch[i];
      m->assign(r.message.begin(), r.message.end());
      m->insert(m->end(), r.payload.begin(), r.payload.end());
      r.payload = {};
    }
    elements[i] = m;
    if (!last) {
      while (m->size() % 8) m->push_back(0);
      StoreU32(&(*m)[smb2::kOffsetNextCommand], static_cast<uint32_t>(m->size()));
    }
    if (r.record_sent) *r.record_sent = *m;
    if (sign) {
      Status s = crypto::SignMessage(sec->signing_algorithm, sec->signing_key.view(), *m);
      if (!s.ok()) {
        Close(s);
        return;  // Close failed every pending request of this group
      }
      ++signed_count;
    }
  }
  std::vector<ByteView> parts;
  if (encrypt) {
    // [MS-SMB2] 3.1.4.3: the whole chain is encrypted as one message.
    ByteView plain;
    if (requests.size() == 1) {
      plain = *elements[0];
    } else {
      auto& chain = t_scratch[requests.size()];
      chain.clear();
      for (auto* m : elements) chain.insert(chain.end(), m->begin(), m->end());
      plain = chain;
    }
    auto& sealed = t_scratch[requests.size() + 1];
    sealed.clear();
    auto nonce = nonces->Next();
    Status s = nonce.ok() ? crypto::EncryptMessage(sec->cipher, sec->encryption_key.view(), *nonce,
                                                   sec->session_id, plain, sealed)
                          : nonce.status();
    if (!s.ok()) {
      Close(s);
      return;
    }
    parts.emplace_back(sealed);
  } else {
    for (size_t i = 0; i < requests.size(); ++i) {
      parts.emplace_back(*elements[i]);
      if (!requests[i].payload.empty()) parts.push_back(requests[i].payload);
    }
  }
  {
    std::lock_guard lock(mu_);
    if (encrypt) ++stats_.encrypted_messages;
    stats_.signed_messages += signed_count;
  }
  Status s = transport_->Send(parts);
  if (!s.ok()) Close(s);  // fails this group's requests along with everything else pending
}

Result<Response> Connection::Call(Request request) {
  std::vector<Request> one;
  one.push_back(std::move(request));
  return std::move(CallCompound(std::move(one), false)[0]);
}

std::vector<Result<Response>> Connection::CallCompound(std::vector<Request> requests, bool related) {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  std::vector<Result<Response>> results;
  SubmitCompound(std::move(requests), related, [&](std::vector<Result<Response>> r) {
    std::lock_guard lock(m);
    results = std::move(r);
    ready = true;
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return ready; });
  return results;
}

void Connection::Close(Status why) {
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      closed_ = true;
      close_reason_ = why;
    }
  }
  credits_cv_.notify_all();
  transport_->Close();  // OnClosed fails whatever is still pending
}

void Connection::OnClosed(Status why) {
  std::map<uint64_t, Pending> pending;
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      closed_ = true;
      close_reason_ = why;
    }
    pending.swap(pending_);
    why = close_reason_;
  }
  credits_cv_.notify_all();
  if (!why.Is(Code::kDisconnected) && !why.ok())
    SMB3_LOG_ERROR("connection to %s closed: %s", transport_->peer().c_str(), why.ToString().c_str());
  // The owner learns of the loss before the outstanding requests fail, so that a request retried
  // from its callback already finds a reconnect under way.
  if (options_.on_closed) options_.on_closed(*this, why);
  Status failure = why.Is(Code::kProtocol) || why.Is(Code::kSecurity) || why.Is(Code::kTimeout)
                       ? why
                       : Status(Code::kDisconnected, why.detail(), "connection lost");
  for (auto& [mid, p] : pending) {
    auto& g = *p.group;
    g.results[p.index] = failure;
    if (--g.remaining == 0) g.done(std::move(g.results));
  }
}

void Connection::Deliver(uint64_t message_id, Result<Response> r) {
  std::shared_ptr<Group> group;
  size_t index = 0;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(message_id);
    if (it == pending_.end()) return;
    group = it->second.group;
    index = it->second.index;
    pending_.erase(it);
    ++stats_.responses;
  }
  group->results[index] = std::move(r);
  bool complete;
  {
    std::lock_guard lock(mu_);
    complete = --group->remaining == 0;
  }
  if (complete) group->done(std::move(group->results));
}

void Connection::OnMessage(Buffer message) {
  ReceiveThreadScope scope;
  last_receive_ = std::chrono::steady_clock::now();
  auto owner = std::make_shared<Buffer>(std::move(message));
  MutableByteView data = owner->span();
  Status s;
  if (data.size() >= 4 && LoadU32(data.data()) == smb2::kTransformProtocolId) {
    // [MS-SMB2] 3.2.5.1.1.1: decrypt with Session.DecryptionKey; the session must be ours.
    std::shared_ptr<const SessionSecurity> sec;
    {
      std::lock_guard lock(mu_);
      sec = security_;
    }
    auto th = crypto::DecodeTransformHeader(data);
    if (!th.ok()) return Close(th.status());
    if (!sec || sec->cipher == crypto::CipherId::kNone || th->session_id != sec->session_id)
      return Close(Status::Protocol("transform: message for an unknown session"));
    auto plain = crypto::DecryptMessageInPlace(sec->cipher, sec->decryption_key.view(), data);
    if (!plain.ok()) return Close(plain.status());
    ByteView pv = *plain;
    // We negotiate no compression, so the plaintext must be SMB2 messages of this session.
    if (pv.size() < 4 || LoadU32(pv.data()) != smb2::kProtocolId)
      return Close(Status::Protocol("transform: plaintext is not an SMB2 message"));
    s = crypto::CheckDecryptedChain(pv, sec->session_id);
    if (s.ok()) s = HandlePlain(std::move(owner), pv, true);
  } else {
    s = HandlePlain(std::move(owner), data, false);
  }
  if (!s.ok()) Close(s);
}

Status Connection::HandlePlain(std::shared_ptr<const void> owner, ByteView data, bool encrypted) {
  // [MS-SMB2] 3.2.5.1.9: split a compounded response and process each in order.
  SMB3_ASSIGN_OR_RETURN(auto messages, smb2::SplitCompound(data));
  for (ByteView msg : messages) {
    SMB3_RETURN_IF_ERROR(HandleOne(owner, msg, encrypted));
  }
  return Status::Ok();
}

Status Connection::HandleOne(std::shared_ptr<const void> owner, ByteView msg, bool encrypted) {
  SMB3_ASSIGN_OR_RETURN(smb2::Header h, smb2::DecodeHeader(msg));
  if (!h.is_response()) return Status::Protocol("smb2: request received from the server");
  if (h.message_id == kUnsolicitedMessageId) {
    // [MS-SMB2] 3.2.5.1.2: only OPLOCK_BREAK may be unsolicited; anything else is discarded.
    // [MS-SMB2] 3.2.5.19.1: an oplock break goes to the owner, which acknowledges it (we request
    // batch oplocks for durable handles, 3.2.4.3.5, and cache nothing, so no flush is due first).
    // Lease breaks cannot arrive: we request no leases.
    if (h.command == smb2::SMB2_OPLOCK_BREAK && options_.on_oplock_break) {
      auto note = smb2::DecodeOplockBreakNotification(msg);
      if (note.ok()) {
        options_.on_oplock_break(*this, note->file_id, note->oplock_level);
        return Status::Ok();
      }
    }
    SMB3_LOG_DEBUG("unsolicited %s from server ignored",
                   h.command == smb2::SMB2_OPLOCK_BREAK ? "oplock break" : "message");
    return Status::Ok();
  }
  std::shared_ptr<const SessionSecurity> sec;
  bool session_setup = false, expect_encrypted = false;

  uint16_t command = 0;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(h.message_id);
    if (it == pending_.end()) {
      // [MS-SMB2] 3.2.5.1.2: no such request: discard.
      SMB3_LOG_WARN("response for unknown MessageId %llu discarded",
                    static_cast<unsigned long long>(h.message_id));
      return Status::Ok();
    }
    credits_.Grant(h.credits);  // [MS-SMB2] 3.2.5.1.4
    session_setup = it->second.session_setup;
    expect_encrypted = it->second.expect_encrypted;
    command = it->second.command;
    sec = security_;
    if (!encrypted && expect_encrypted)
      return Status(Code::kSecurity, 0, "smb2: unencrypted response on a sealed session");
    if (h.status == STATUS_PENDING && h.is_async()) {
      // [MS-SMB2] 3.2.5.1.5: interim response; the final one follows with the same MessageId.
      it->second.async_id = h.async_id;
      it->second.deadline = std::chrono::steady_clock::now() + options_.request_timeout * 4;
      ++stats_.interims;
      credits_cv_.notify_all();
      return Status::Ok();
    }
  }
  credits_cv_.notify_all();
  if (h.command != command) return Status::Protocol("smb2: response command does not match the request");
  // [MS-SMB2] 3.2.5.1.3: verify signatures unless the message was decrypted. SESSION_SETUP
  // responses are checked by the session code, which holds the keys being established.
  if (!encrypted && !session_setup && sec) {
    bool flagged = (h.flags & smb2::SMB2_FLAGS_SIGNED) != 0;
    if (sec->signing_required && !flagged)
      return Status(Code::kSecurity, 0, "smb2: unsigned response while signing is required");
    if (flagged && !sec->signing_key.empty())
      SMB3_RETURN_IF_ERROR(crypto::VerifySignature(sec->signing_algorithm, sec->signing_key.view(), msg));
  }
  Response r;
  r.owner = std::move(owner);
  r.message = msg;
  r.header = h;
  r.encrypted = encrypted;
  Deliver(h.message_id, std::move(r));
  return Status::Ok();
}

void Connection::SendEcho() {
  Request r = NewRequest(smb2::SMB2_ECHO);
  ByteWriter w(r.message);
  if (!smb2::EncodeEchoRequest(w).ok()) return;
  // `this` outlives the callback: ~Connection joins the receive thread, which fails everything
  // pending, before any member is destroyed. (A strong reference taken here could make the receive
  // thread run ~Connection and join itself.)
  Submit(std::move(r), [this](Result<Response>) {
    std::lock_guard lock(mu_);
    echo_outstanding_ = false;
  });
}

void Connection::Cancel(uint64_t message_id) {
  smb2::Header h;
  h.command = smb2::SMB2_CANCEL;
  h.message_id = message_id;  // the canceled request's id: a CANCEL consumes no sequence number
  bool encrypt;
  std::shared_ptr<const SessionSecurity> sec;
  std::shared_ptr<crypto::NonceSequence> nonces;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(message_id);
    if (closed_ || it == pending_.end()) return;
    it->second.cancel_sent = true;
    if (it->second.async_id) {
      h.flags |= smb2::SMB2_FLAGS_ASYNC_COMMAND;
      h.async_id = it->second.async_id;
    } else {
      h.tree_id = it->second.tree_id;
    }
    h.session_id = session_id_;
    encrypt = it->second.expect_encrypted;
    sec = security_;
    nonces = nonces_;
  }
  std::vector<uint8_t> msg;
  ByteWriter w(msg);
  smb2::EncodeHeader(h, w);
  if (!smb2::EncodeCancelRequest(w).ok()) return;
  Status s;
  std::vector<uint8_t> sealed;
  if (encrypt && sec && nonces) {
    auto nonce = nonces->Next();
    s = nonce.ok() ? crypto::EncryptMessage(sec->cipher, sec->encryption_key.view(), *nonce,
                                            sec->session_id, msg, sealed)
                   : nonce.status();
  } else if (sec && sec->signing_required && !sec->signing_key.empty()) {
    s = crypto::SignMessage(sec->signing_algorithm, sec->signing_key.view(), msg);
  }
  if (!s.ok()) return Close(s);
  ByteView part = sealed.empty() ? ByteView(msg) : ByteView(sealed);
  s = transport_->Send({&part, 1});
  if (!s.ok()) Close(s);
}

void Connection::OnTick(std::chrono::steady_clock::time_point now) {
  ReceiveThreadScope scope;
  bool timed_out = false, send_echo = false;
  std::vector<uint64_t> to_cancel;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    for (auto& [mid, p] : pending_) {
      if (now <= p.deadline) continue;
      if (p.async_id && !p.cancel_sent) {
        // The server took it on asynchronously but has not finished: cancel it and give the
        // server a grace period to answer STATUS_CANCELLED before giving up on the connection.
        to_cancel.push_back(mid);
        p.deadline = now + std::chrono::seconds(10);
        continue;
      }
      timed_out = true;
      break;
    }
    // Keepalive. An idle connection sends ECHO after echo_interval without a message from the
    // server and counts as dead when that stays unanswered for a second interval. A connection
    // on which someone waits for an answer (a request outstanding that the server has not taken
    // on asynchronously) probes after half an interval of silence and counts as dead after a whole
    // one: a stalled server is noticed within echo_interval while a caller is blocked on it.
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(options_.echo_interval);
    if (interval.count() > 0) {
      size_t waiting = 0;
      for (const auto& [mid, p] : pending_)
        if (p.async_id == 0 && p.command != smb2::SMB2_ECHO) ++waiting;
      const auto probe_after = waiting ? interval / 2 : interval;
      const auto dead_after = waiting ? interval : 2 * interval;
      const auto silence = now - last_receive_;
      if (silence >= probe_after) {
        if (echo_outstanding_ && silence >= dead_after) timed_out = true;
        else if (!echo_outstanding_ && credits_.available() > 0) {
          echo_outstanding_ = true;
          send_echo = true;
        }
      }
    }
  }
  for (uint64_t mid : to_cancel) Cancel(mid);
  if (timed_out) {
    // [MS-SMB2] 3.2.6.1: a request that outlives its expiration timer disconnects the connection.
    Close(Status(Code::kTimeout, 0, "server did not answer in time"));
    return;
  }
  if (send_echo) {
    // Never block the receive thread waiting for credits: only send when one is available.
    SendEcho();
  }
}

}  // namespace smb3::client
