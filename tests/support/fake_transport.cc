// SPDX-License-Identifier: LGPL-2.1-or-later
#include "support/fake_transport.h"

#include <algorithm>
#include <utility>

namespace smb3::test {

FakeTransport::~FakeTransport() { Close(); }

Status FakeTransport::Start(transport::TransportHandler* handler) {
  std::lock_guard lock(mu_);
  if (handler_ != nullptr) return Status::Invalid("fake transport: started twice");
  handler_ = handler;
  thread_ = std::thread([this] { Run(); });
  thread_id_ = thread_.get_id();
  return Status::Ok();
}

Status FakeTransport::Send(std::span<const ByteView> parts) {
  std::lock_guard lock(mu_);
  ++send_calls_;
  if (closing_) return Status(Code::kDisconnected, 0, "fake transport: closed");
  if (fail_nth_ != 0 && send_calls_ == fail_nth_) {
    // Like TCP: a failed send shuts the socket, so the receive side ends with OnClosed.
    closing_ = true;
    close_why_ = fail_why_;
    cv_.notify_all();
    return fail_why_;
  }
  std::vector<uint8_t> message;
  for (ByteView p : parts) message.insert(message.end(), p.begin(), p.end());
  sent_.push_back(std::move(message));
  cv_.notify_all();
  return Status::Ok();
}

void FakeTransport::Close() {
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      closing_ = true;
      close_why_ = Status(Code::kDisconnected, 0, "fake transport: closed locally");
    }
    cv_.notify_all();
    if (handler_ == nullptr) stopped_ = true;  // never started: nothing to deliver
    if (std::this_thread::get_id() == thread_id_) return;  // the thread finishes after us
  }
  std::lock_guard join(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void FakeTransport::Enqueue(Event event) {
  std::lock_guard lock(mu_);
  if (closing_) {
    ++dropped_;
    return;
  }
  if (event.kind == Event::Kind::kClose) {
    // Nothing queued after a hang-up is accepted.
    queue_.push_back(std::move(event));
    ++queued_;
    closing_pending_ = true;
  } else if (closing_pending_) {
    ++dropped_;
    return;
  } else {
    queue_.push_back(std::move(event));
    ++queued_;
  }
  cv_.notify_all();
}

void FakeTransport::Deliver(ByteView bytes) {
  Event e{Event::Kind::kMessage, std::vector<uint8_t>(bytes.begin(), bytes.end()), {}, {}};
  Enqueue(std::move(e));
}

void FakeTransport::Tick(std::chrono::steady_clock::time_point now) {
  Enqueue(Event{Event::Kind::kTick, {}, now, {}});
}

void FakeTransport::CloseFromServer(Status why) { Enqueue(Event{Event::Kind::kClose, {}, {}, why}); }

void FakeTransport::FailSend(size_t nth, Status why) {
  std::lock_guard lock(mu_);
  fail_nth_ = nth;
  fail_why_ = why;
}

void FakeTransport::Run() {
  for (;;) {
    Event event;
    Status close_why;
    bool close = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (!closing_ && queue_.front().kind == Event::Kind::kClose) {
        closing_ = true;
        close_why_ = queue_.front().why;
        queue_.pop_front();
        ++finished_;
      }
      if (closing_) {
        // Whatever is still queued never reaches the handler, as bytes after a TCP shutdown.
        dropped_ += queue_.size();
        finished_ += queue_.size();
        queue_.clear();
        close = true;
        close_why = close_why_;
      } else {
        event = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (close) {
      handler_->OnClosed(close_why);
      std::lock_guard lock(mu_);
      ++on_closed_calls_;
      closed_with_ = close_why;
      stopped_ = true;
      cv_.notify_all();
      return;
    }
    if (event.kind == Event::Kind::kMessage) {
      Buffer message(event.bytes.size());
      std::copy(event.bytes.begin(), event.bytes.end(), message.data());
      handler_->OnMessage(std::move(message));
    } else {
      handler_->OnTick(event.now);
    }
    std::lock_guard lock(mu_);
    ++finished_;
    cv_.notify_all();
  }
}

bool FakeTransport::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  return cv_.wait_for(lock, timeout, [&] { return finished_ >= target || stopped_; });
}

bool FakeTransport::WaitForSent(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return sent_.size() >= count; });
}

bool FakeTransport::WaitClosed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return stopped_; });
}

std::vector<std::vector<uint8_t>> FakeTransport::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

std::vector<uint8_t> FakeTransport::sent_at(size_t index) const {
  std::lock_guard lock(mu_);
  return index < sent_.size() ? sent_[index] : std::vector<uint8_t>{};
}

size_t FakeTransport::sent_count() const {
  std::lock_guard lock(mu_);
  return sent_.size();
}

size_t FakeTransport::send_calls() const {
  std::lock_guard lock(mu_);
  return send_calls_;
}

int FakeTransport::on_closed_calls() const {
  std::lock_guard lock(mu_);
  return on_closed_calls_;
}

Status FakeTransport::closed_with() const {
  std::lock_guard lock(mu_);
  return closed_with_;
}

bool FakeTransport::closed() const {
  std::lock_guard lock(mu_);
  return closing_ || closing_pending_;
}

size_t FakeTransport::dropped_events() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace smb3::test
