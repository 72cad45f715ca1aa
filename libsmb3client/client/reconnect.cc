// SPDX-License-Identifier: LGPL-2.1-or-later
// Reconnect: when the connection breaks (transport closed, echo or request timeout, a bad
// signature that made the connection close itself), a dedicated thread connects again with
// bounded exponential backoff, negotiates the same dialect, authenticates with the same demands
// (never weaker), connects the tree and re-establishes every open through its durable handle v2
// ([MS-SMB2] 3.2.4.4). Requests that were in flight are sent again where that is safe
// (ClientImpl::Retry); the others, and opens that could not be re-established, fail.
#include <algorithm>
#include <chrono>

#include "base/log.h"
#include "client/client_impl.h"
#include "client/names.h"
#include "client/reconnect.h"
#include "smb2/close.h"
#include "smb2/create.h"
#include "smb2/create_context.h"
#include "smb2/header.h"
#include "smb2/oplock_break.h"
#include "smb3/ntstatus.h"

namespace smb3::client {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

}  // namespace

struct ClientImpl::AsyncAttempt {
  Retry retry = Retry::kIdempotent;
  std::function<Result<Request>(int)> build;
  Connection::Callback done;
  int attempt = 0;
};

std::shared_ptr<Connection> ClientImpl::conn() const {
  std::lock_guard lock(link_mu_);
  return live_;
}

Result<uint64_t> ClientImpl::WaitForLink() {
  std::unique_lock lock(link_mu_);
  link_cv_.wait(lock, [&] { return shutting_down_ || link_state_ != LinkState::kReconnecting; });
  if (shutting_down_) return Status(Code::kDisconnected, 0, "client disconnected");
  if (link_state_ == LinkState::kDown) return down_reason_;
  return generation_;
}

bool ClientImpl::LinkBrokeSince(uint64_t gen) {
  std::shared_ptr<Connection> live;
  {
    std::lock_guard lock(link_mu_);
    if (generation_ != gen || link_state_ != LinkState::kUp) return true;
    live = live_;
  }
  if (!live || live->connected()) return false;
  // Closed, but its OnClosed has not run yet: start the reconnect now.
  OnConnectionClosed(*live, live->close_reason());
  return true;
}

void ClientImpl::OnConnectionClosed(Connection& conn, const Status& why) {
  {
    std::lock_guard lock(link_mu_);
    if (shutting_down_ || live_.get() != &conn || link_state_ != LinkState::kUp) return;
    if (options_.reconnect_timeout.count() <= 0) {
      link_state_ = LinkState::kDown;
      down_reason_ = Status(Code::kDisconnected, why.detail(), "connection lost (reconnect disabled)");
    } else {
      link_state_ = LinkState::kReconnecting;
      break_reason_ = why;
    }
  }
  link_cv_.notify_all();
}

void ClientImpl::OnOplockBreak(Connection& conn, const FileId& file_id, uint8_t level) {
  // [MS-SMB2] 3.2.5.19.1: locate the open; not found: stop. Found: take the new level and
  // acknowledge with it. Nothing is cached on our side, so there is nothing to flush first.
  std::shared_ptr<OpenFile> file;
  {
    std::lock_guard lock(opens_mu_);
    for (auto& weak : opens_) {
      auto f = weak.lock();
      if (f && !f->released() && f->id() == file_id) {
        file = std::move(f);
        break;
      }
    }
  }
  if (!file) return;
  file->SetOplockLevel(level);
  smb2::OplockBreakAcknowledgment ack;
  ack.file_id = file_id;
  ack.oplock_level = level;
  Request r = NewRequest(smb2::SMB2_OPLOCK_BREAK);
  r.tree_id = tree_id_;
  r.encrypt = tree_encrypt_;
  ByteWriter w(r.message);
  if (!smb2::EncodeOplockBreakAcknowledgment(ack, w).ok()) return;
  conn.Submit(std::move(r), [](Result<Response> resp) {
    if (!resp.ok() || resp->nt_status() != STATUS_SUCCESS)
      SMB3_LOG_DEBUG("oplock break acknowledgment not accepted");
  });
}

void ClientImpl::RegisterOpen(const std::shared_ptr<OpenFile>& file) {
  std::lock_guard lock(opens_mu_);
  if (opens_.size() >= 64 && opens_.size() == opens_.capacity()) {
    // Prune before growing: the list stays proportional to the opens alive.
    std::erase_if(opens_, [](const std::weak_ptr<OpenFile>& w) {
      auto f = w.lock();
      return !f || f->released();
    });
  }
  opens_.push_back(file);
}

void ClientImpl::SubmitWithReconnect(Retry retry, std::function<Result<Request>(int)> build,
                                     Connection::Callback done) {
  auto op = std::make_shared<AsyncAttempt>();
  op->retry = retry;
  op->build = std::move(build);
  op->done = std::move(done);
  Attempt(std::move(op));
}

void ClientImpl::Attempt(std::shared_ptr<AsyncAttempt> op) {
  std::shared_ptr<Connection> c;
  uint64_t gen = 0;
  Status fail;
  {
    std::lock_guard lock(link_mu_);
    if (shutting_down_) {
      fail = Status(Code::kDisconnected, 0, "client disconnected");
    } else if (link_state_ == LinkState::kDown) {
      fail = down_reason_;
    } else if (link_state_ == LinkState::kReconnecting) {
      // Resumed by the reconnect thread once the outcome is known (never blocks this thread,
      // which may be a connection's receive thread).
      link_waiters_.push_back([this, op](Status s) {
        if (!s.ok()) return op->done(s);
        Attempt(op);
      });
      return;
    } else {
      c = live_;
      gen = generation_;
    }
  }
  if (!fail.ok()) return op->done(fail);
  auto req = op->build(op->attempt);
  if (!req.ok()) return op->done(req.status());
  // The callback runs on (or inline for) this connection, which therefore outlives it: no strong
  // reference, which could make the receive thread destroy its own connection.
  c->Submit(std::move(*req), [this, op, gen](Result<Response> r) {
    if (!r.ok() && op->retry != Retry::kNever && op->attempt < kMaxReconnectRetries &&
        LinkBrokeSince(gen)) {
      ++op->attempt;
      return Attempt(op);
    }
    op->done(std::move(r));
  });
}

void ClientImpl::ReconnectLoop() {
  std::unique_lock lock(link_mu_);
  for (;;) {
    link_cv_.wait(lock, [&] { return shutting_down_ || link_state_ == LinkState::kReconnecting; });
    if (shutting_down_) return;
    const Status cause = break_reason_;
    lock.unlock();

    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + options_.reconnect_timeout;
    SMB3_LOG_WARN("connection to %s lost (%s); reconnecting", options_.server.c_str(),
                  cause.ToString().c_str());
    // The broken connection stops here: its thread ends and everything still pending on it fails
    // (and is retried from the waiters below where allowed).
    std::shared_ptr<Connection> old = conn_;
    if (old) old->Close(Status(Code::kDisconnected, 0, "connection lost"));
    Status st;
    int attempts = 0;
    auto backoff = kFirstBackoff;
    // recovered: opens re-established on the connection of the last attempt. lost: opens the
    // server refused (or that were not durable) in any attempt; such an open is not tried again,
    // so it is counted once.
    size_t recovered = 0, reopened = 0, lost = 0;
    for (;;) {
      ++attempts;
      st = ReconnectOnce();
      if (st.ok()) {
        // A connection that breaks while the opens are re-established fails this attempt like a
        // failed handshake does: the durable opens survive on the server ([MS-SMB2] 3.3.7.1) and
        // are re-established on the next connection ([MS-SMB2] 3.2.7.1: a network error retries).
        // conn_ is not live_ yet, so its OnConnectionClosed starts nothing: the break is seen
        // here, as a CREATE without an answer.
        recovered = 0;
        reopened = 0;
        st = ReopenFiles(&recovered, &reopened, &lost);
        if (st.ok()) break;
      }
      SMB3_LOG_INFO("reconnect attempt %d to %s failed: %s", attempts, options_.server.c_str(),
                    st.ToString().c_str());
      if (conn_ && conn_ != old) conn_->Close(st);
      // Never settle for less security, and never retry credentials the server refused.
      if (st.Is(Code::kSecurity) || st.Is(Code::kAuth)) break;
      if (std::chrono::steady_clock::now() + backoff > deadline) break;
      std::unique_lock wait_lock(link_mu_);
      if (link_cv_.wait_for(wait_lock, backoff, [&] { return shutting_down_; })) break;
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    // Before live_: a caller woken below reads the new connection's values.
    if (st.ok()) PublishView();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    std::vector<std::function<void(Status)>> waiters;
    Status outcome = Status::Ok();
    lock.lock();
    if (st.ok() && !shutting_down_) {
      live_ = conn_;
      link_state_ = LinkState::kUp;
      ++generation_;
      reconnects_.fetch_add(1, std::memory_order_relaxed);
      reopened_by_path_.fetch_add(reopened, std::memory_order_relaxed);
    } else {
      link_state_ = LinkState::kDown;
      down_reason_ = shutting_down_ ? Status(Code::kDisconnected, 0, "client disconnected")
                                    : Status(st.code() == Code::kSecurity ? Code::kSecurity
                                                                          : Code::kDisconnected,
                                             st.detail(), "reconnect failed: gave up");
      outcome = down_reason_;
    }
    waiters.swap(link_waiters_);
    lock.unlock();
    link_cv_.notify_all();
    if (outcome.ok()) {
      SMB3_LOG_WARN("reconnected to %s after %lld ms (%d attempts; cause: %s): open files: %zu "
                    "recovered by durable reconnect, %zu re-opened by path, %zu lost",
                    options_.server.c_str(), static_cast<long long>(ms), attempts,
                    cause.ToString().c_str(), recovered, reopened, lost);
    } else {
      SMB3_LOG_ERROR("giving up on %s after %lld ms (%d attempts; cause: %s; last error: %s)",
                     options_.server.c_str(), static_cast<long long>(ms), attempts,
                     cause.ToString().c_str(), st.ToString().c_str());
      // Every open is gone with the connection.
      std::lock_guard olock(opens_mu_);
      for (auto& weak : opens_)
        if (auto f = weak.lock()) f->MarkLost(outcome);
    }
    // The old connection's thread has ended (Close joined it); dropping it here is safe.
    old.reset();
    for (auto& w : waiters) w(outcome);
    lock.lock();
  }
}

Status ClientImpl::ReconnectOnce() {
  SMB3_RETURN_IF_ERROR(OpenConnection());
  SMB3_RETURN_IF_ERROR(Negotiate());
  SMB3_RETURN_IF_ERROR(SessionSetup());
  SMB3_RETURN_IF_ERROR(TreeConnect());
  SMB3_RETURN_IF_ERROR(ValidateNegotiate());
  // Same demands as the first session: a server that stops requiring signing or sealing after a
  // broken connection is not followed there.
  if ((first_signing_ && !signing_on_) || (first_encrypt_all_ && !encrypt_all_) ||
      (first_tree_encrypt_ && !tree_encrypt_))
    return Status(Code::kSecurity, 0, "reconnect: the server no longer requires signing or encryption");
  return Status::Ok();
}

Status ClientImpl::ReopenFiles(size_t* recovered, size_t* reopened, size_t* lost) {
  // Every open still usable: those of the broken connection, and those an earlier attempt of
  // this reconnect re-established on a connection that broke in turn (the server preserved them
  // again, [MS-SMB2] 3.3.7.1; their FileId is the one that attempt got).
  std::vector<std::shared_ptr<OpenFile>> files;
  {
    std::lock_guard lock(opens_mu_);
    std::erase_if(opens_, [&](const std::weak_ptr<OpenFile>& w) {
      auto f = w.lock();
      if (!f || f->released()) return true;
      if (f->usable().ok()) files.push_back(std::move(f));
      return false;
    });
  }
  for (auto& f : files) {
    ReopenInfo ri = f->reopen();
    Status refused;  // why the durable reconnect could not be used, when it could not
    if (!ri.durable) {
      // [MS-SMB2] 3.2.7.1: an open that is not durable dies with its connection. It is not
      // re-opened by path either: the server never promised to keep it, and whatever it was
      // guarding (sharing, an oplock's cached data) may have changed hands in between.
      f->MarkLost(Status(Code::kDisconnected, 0,
                         "handle lost: no durable handle, the connection was re-established"));
      ++*lost;
      continue;
    }
    {
      // [MS-SMB2] 3.2.4.4: CREATE with the original parameters and
      // SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 (2.2.13.2.12) naming Open.FileId and
      // Open.CreateGuid.
      smb2::CreateRequest c;
      c.requested_oplock_level = ri.oplock_level;
      c.desired_access = ri.desired_access;
      c.file_attributes = ri.file_attributes;
      c.share_access = ri.share_access;
      c.create_disposition = ri.create_disposition;
      c.create_options = ri.create_options;
      c.name = f->path();
      smb2::DurableHandleReconnectV2 dh2c;
      dh2c.file_id = f->id();
      dh2c.create_guid = ri.create_guid;
      c.contexts.durable_reconnect_v2 = dh2c;
      Request r = NewRequest(smb2::SMB2_CREATE);
      r.tree_id = tree_id_;
      r.encrypt = tree_encrypt_;
      ByteWriter w(r.message);
      Status st = smb2::EncodeCreateRequest(c, w);
      Result<Response> resp = st.ok() ? conn_->Call(std::move(r)) : Result<Response>(st);
      if (st.ok() && !resp.ok()) {
        // No answer at all (the connection broke, or the server went silent until the request
        // timed out): the server refused nothing, the open stays usable for the next attempt.
        SMB3_LOG_INFO("re-establishing open file %s: no answer (%s); retrying on a new connection",
                      f->path().c_str(), resp.status().ToString().c_str());
        return resp.status();
      }
      if (resp.ok() && resp->nt_status() == STATUS_SUCCESS) {
        auto cr = smb2::DecodeCreateResponse(resp->message);
        if (cr.ok()) {
          f->Rebind(conn_, cr->file_id, tree_id_, tree_encrypt_);
          f->SetOplockLevel(cr->oplock_level);
          ++*recovered;
          continue;
        }
        st = cr.status();
      } else {
        st = resp.ok() ? Status::NtStatus(resp->nt_status(), "durable reconnect") : resp.status();
      }
      // [MS-SMB2] 3.3.5.9.12: STATUS_OBJECT_NAME_NOT_FOUND is the server not knowing the open
      // (e.g. a restart cleared its durable state): a re-open by path may find the file again.
      // Any other refusal (access denied, the open held elsewhere, ...) is final.
      if (st.nt_status() != STATUS_OBJECT_NAME_NOT_FOUND || !resp.ok()) {
        SMB3_LOG_WARN("open file %s could not be re-established: %s", f->path().c_str(),
                      st.ToString().c_str());
        f->MarkLost(Status(Code::kDisconnected, st.nt_status(),
                           "handle lost: the server refused the durable reconnect"));
        ++*lost;
        continue;
      }
      refused = st;
    }
    // Directories and delete-on-close opens are not re-opened: a listing restarts from a new open
    // anyway, and a delete-on-close file may rightly be gone.
    if (f->directory() || (ri.create_options & smb2::FILE_DELETE_ON_CLOSE) != 0) {
      f->MarkLost(Status(Code::kDisconnected, refused.nt_status(),
                         "handle lost: the server refused the durable reconnect"));
      ++*lost;
      continue;
    }
    Status st = ReopenByPath(*f, ri);
    if (st.ok()) {
      ++*reopened;
      continue;
    }
    if (st.Is(Code::kDisconnected) && std::string_view(st.where()).starts_with("reopen: no answer")) {
      SMB3_LOG_INFO("re-opening %s by path: no answer (%s); retrying on a new connection",
                    f->path().c_str(), st.ToString().c_str());
      return st;
    }
    SMB3_LOG_WARN("open file %s could not be re-established (%s) nor re-opened by path: %s",
                  f->path().c_str(), refused.ToString().c_str(), st.ToString().c_str());
    f->MarkLost(Status(Code::kDisconnected, st.nt_status(),
                       "handle lost: the server lost the open and re-opening the path failed"));
    ++*lost;
  }
  return Status::Ok();
}

Status ClientImpl::ReopenByPath(OpenFile& f, const ReopenInfo& ri) {
  // The open's original CREATE parameters with FILE_OPEN whatever its disposition was: a re-open
  // never creates, overwrites or supersedes. Like the first open it asks for a durable handle v2
  // with a new CreateGuid ([MS-SMB2] 3.2.4.3.5) and a batch oplock, and for QFid to compare ids.
  smb2::CreateRequest c;
  c.desired_access = ri.desired_access;
  c.file_attributes = ri.file_attributes;
  c.share_access = ri.share_access;
  c.create_disposition = smb2::FILE_OPEN;
  c.create_options = ri.create_options;
  c.name = f.path();
  c.contexts.query_on_disk_id = true;
  ReopenInfo next = ri;
  next.durable = false;
  if (ri.durable_requested) {
    smb2::DurableHandleRequestV2 dh2q;
    SMB3_RETURN_IF_ERROR(crypto::RandomBytes(dh2q.create_guid));
    next.create_guid = dh2q.create_guid;
    c.contexts.durable_handle_v2 = dh2q;
    c.requested_oplock_level = smb2::SMB2_OPLOCK_LEVEL_BATCH;
  }
  Request r = NewRequest(smb2::SMB2_CREATE);
  r.tree_id = tree_id_;
  r.encrypt = tree_encrypt_;
  ByteWriter w(r.message);
  SMB3_RETURN_IF_ERROR(smb2::EncodeCreateRequest(c, w));
  Result<Response> resp = conn_->Call(std::move(r));
  if (!resp.ok())
    return Status(Code::kDisconnected, resp.status().nt_status(), "reopen: no answer");
  if (resp->nt_status() != STATUS_SUCCESS) return Status::NtStatus(resp->nt_status(), "reopen by path");
  SMB3_ASSIGN_OR_RETURN(auto cr, smb2::DecodeCreateResponse(resp->message));
  // Only the same file: same CreationTime, and same on-disk id where both answers carry one. A
  // file deleted and created again under the name, or a different file renamed onto it, is not
  // this open's file, whatever its name.
  bool same = cr.creation_time == ri.creation_time;
  if (same && ri.has_on_disk_id && cr.contexts.on_disk_id)
    same = cr.contexts.on_disk_id->disk_file_id == ri.disk_file_id &&
           cr.contexts.on_disk_id->volume_id == ri.volume_id;
  if (!same || cr.ToFileInfo().is_directory()) {
    // Not ours: closed again, best effort (a failure here leaves an open the server drops with
    // the session).
    Request close = NewRequest(smb2::SMB2_CLOSE);
    close.tree_id = tree_id_;
    close.encrypt = tree_encrypt_;
    ByteWriter cw(close.message);
    smb2::CloseRequest cl;
    cl.file_id = cr.file_id;
    if (smb2::EncodeCloseRequest(cl, cw).ok()) (void)conn_->Call(std::move(close));
    return Status(Code::kDisconnected, 0, "reopen by path: another file now has the name");
  }
  next.durable = ri.durable_requested && cr.contexts.durable_handle_v2.has_value();
  next.oplock_level = cr.oplock_level;
  // The reopen info first: an oplock break for the new FileId finds the open only once rebound,
  // and its level must not be overwritten afterwards.
  f.SetReopen(next);
  f.Rebind(conn_, cr.file_id, tree_id_, tree_encrypt_);
  return Status::Ok();
}

}  // namespace smb3::client
