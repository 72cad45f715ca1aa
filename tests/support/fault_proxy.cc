// SPDX-License-Identifier: LGPL-2.1-or-later
#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <utility>
#include <thread>
#include <vector>

namespace smb3::test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 64 * 1024;
// Bytes held per direction before the proxy stops reading (back-pressure to the sender).
constexpr size_t kMaxQueued = 1 << 20;

void CloseWithReset(int fd) {
  if (fd < 0) return;
  linger l{1, 0};  // RST instead of FIN: the peer sees a broken connection, as with a real cut
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Chunk {
  std::vector<uint8_t> data;
  size_t sent = 0;
  Clock::time_point ready;
};

struct Pair {
  int fd[2] = {-1, -1};  // [0] client side, [1] server side
  // queue[d]: data read in direction d (from fd[d]) waiting to be written to fd[1 - d].
  std::deque<Chunk> queue[2];
  size_t queued[2] = {0, 0};
  bool eof[2] = {false, false};
  bool stalled = false;
  bool dead = false;
};

}  // namespace

struct FaultProxy::Impl {
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  uint16_t port = 0;
  sockaddr_storage target{};
  socklen_t target_len = 0;
  std::thread thread;

  mutable std::mutex mu;  // guards the fields below and the counters
  bool stop = false;
  std::optional<uint64_t> cut_at[2];   // absolute position in a direction
  std::optional<uint64_t> flip_at[2];
  bool cut_all = false;
  bool stall_current = false;
  std::chrono::milliseconds delay{0};
  Clock::time_point refuse_until{};
  Counters counters;

  std::list<Pair> pairs;  // forwarding thread only

  void Wake() {
    uint8_t b = 1;
    (void)!write(wake[1], &b, 1);
  }

  void Accept() {
    int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    {
      std::lock_guard lock(mu);
      if (Clock::now() < refuse_until) {
        ++counters.refused;
        CloseWithReset(c);
        return;
      }
    }
    int s = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&target), target_len) != 0) {
      if (s >= 0) close(s);
      CloseWithReset(c);
      return;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SetNonBlocking(c);
    SetNonBlocking(s);
    Pair p;
    p.fd[0] = c;
    p.fd[1] = s;
    pairs.push_back(std::move(p));
    std::lock_guard lock(mu);
    ++counters.accepted;
    ++counters.active;
  }

  void Kill(Pair& p, bool count_cut) {
    if (p.dead) return;
    p.dead = true;
    {
      // Counted before the sockets close: a peer that sees the reset also sees the count.
      std::lock_guard lock(mu);
      --counters.active;
      if (count_cut) ++counters.cuts;
    }
    CloseWithReset(p.fd[0]);
    CloseWithReset(p.fd[1]);
  }

  // Reads what fd[d] has, applies flips and cuts by position, queues it for the other side.
  void ReadSide(Pair& p, int d) {
    uint8_t buf[kChunk];
    ssize_t n = recv(p.fd[d], buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      p.eof[d] = true;
      return;
    }
    size_t len = static_cast<size_t>(n);
    bool cut = false;
    Chunk chunk;
    {
      std::lock_guard lock(mu);
      uint64_t start = counters.bytes[d];
      if (cut_at[d] && *cut_at[d] < start + len) {
        len = static_cast<size_t>(*cut_at[d] > start ? *cut_at[d] - start : 0);
        cut_at[d].reset();
        cut = true;
      }
      if (flip_at[d] && *flip_at[d] >= start && *flip_at[d] < start + len) {
        buf[*flip_at[d] - start] ^= 0xff;
        flip_at[d].reset();
        ++counters.flips;
      }
      counters.bytes[d] += len;
      chunk.ready = Clock::now() + delay;
    }
    if (len > 0) {
      chunk.data.assign(buf, buf + len);
      p.queued[d] += len;
      p.queue[d].push_back(std::move(chunk));
      Flush(p, d);
    }
    if (cut) Kill(p, true);
  }

  // Writes the queued data of direction d to fd[1 - d] as far as the socket takes it.
  void Flush(Pair& p, int d) {
    if (p.dead) return;
    auto now = Clock::now();
    while (!p.queue[d].empty()) {
      Chunk& c = p.queue[d].front();
      if (c.ready > now) return;
      ssize_t n = send(p.fd[1 - d], c.data.data() + c.sent, c.data.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) Kill(p, false);
        return;
      }
      c.sent += static_cast<size_t>(n);
      p.queued[d] -= static_cast<size_t>(n);
      if (c.sent < c.data.size()) return;
      p.queue[d].pop_front();
    }
  }

  void Run() {
    for (;;) {
      bool do_cut_all = false, do_stall = false;
      {
        std::lock_guard lock(mu);
        if (stop) break;
        do_cut_all = std::exchange(cut_all, false);
        do_stall = std::exchange(stall_current, false);
      }
      for (auto& p : pairs) {
        if (do_cut_all) Kill(p, true);
        if (do_stall) p.stalled = true;
      }
      for (auto it = pairs.begin(); it != pairs.end();) {
        Pair& p = *it;
        // A side that closed: pass the close on once its data is out.
        for (int d = 0; d < 2 && !p.dead; ++d)
          if (p.eof[d] && p.queue[d].empty()) Kill(p, false);
        if (p.dead) {
          it = pairs.erase(it);
        } else {
          ++it;
        }
      }
      std::vector<pollfd> fds;
      std::vector<std::pair<Pair*, int>> who;
      fds.push_back({listen_fd, POLLIN, 0});
      fds.push_back({wake[0], POLLIN, 0});
      who.emplace_back(nullptr, 0);
      who.emplace_back(nullptr, 0);
      auto now = Clock::now();
      int timeout = 1000;
      for (auto& p : pairs) {
        if (p.stalled) continue;
        for (int side = 0; side < 2; ++side) {
          short ev = 0;
          // Read from `side` when its direction's queue has room; write to `side` the data of the
          // other direction when it is due.
          if (!p.eof[side] && p.queued[side] < kMaxQueued) ev |= POLLIN;
          auto& out = p.queue[1 - side];
          if (!out.empty()) {
            if (out.front().ready <= now) {
              ev |= POLLOUT;
            } else {
              auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(out.front().ready - now).count();
              timeout = std::min<int>(timeout, static_cast<int>(ms) + 1);
            }
          }
          fds.push_back({p.fd[side], ev, 0});
          who.emplace_back(&p, side);
        }
      }
      int n = poll(fds.data(), fds.size(), timeout);
      if (n < 0 && errno != EINTR) break;
      if (fds[1].revents & POLLIN) {
        uint8_t b[64];
        while (read(wake[0], b, sizeof b) > 0) {
        }
      }
      if (fds[0].revents & POLLIN) Accept();
      for (size_t i = 2; i < fds.size(); ++i) {
        auto [p, side] = who[i];
        if (p->dead) continue;
        if (fds[i].revents & (POLLERR | POLLNVAL)) {
          Kill(*p, false);
          continue;
        }
        if (fds[i].revents & POLLOUT) Flush(*p, 1 - side);
        if (!p->dead && (fds[i].revents & (POLLIN | POLLHUP))) ReadSide(*p, side);
      }
      // Delayed chunks that became due while nothing else happened.
      for (auto& p : pairs)
        if (!p.stalled)
          for (int d = 0; d < 2; ++d) Flush(p, d);
    }
    for (auto& p : pairs) Kill(p, false);
    pairs.clear();
  }
};

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<FaultProxy> FaultProxy::Start(const std::string& target_host, uint16_t target_port,
                                              std::string* error) {
  auto impl = std::make_unique<Impl>();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(target_port);
  if (getaddrinfo(target_host.c_str(), port_text.c_str(), &hints, &res) != 0 || !res) {
    if (error) *error = "FaultProxy: cannot resolve " + target_host;
    return nullptr;
  }
  std::memcpy(&impl->target, res->ai_addr, res->ai_addrlen);
  impl->target_len = res->ai_addrlen;
  freeaddrinfo(res);

  impl->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t alen = sizeof a;
  if (impl->listen_fd < 0 || bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(impl->listen_fd, 16) != 0 ||
      getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&a), &alen) != 0 ||
      pipe2(impl->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    if (error) *error = std::string("FaultProxy: cannot listen: ") + std::strerror(errno);
    if (impl->listen_fd >= 0) close(impl->listen_fd);
    return nullptr;
  }
  impl->port = ntohs(a.sin_port);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

FaultProxy::~FaultProxy() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->Wake();
  impl_->thread.join();
  close(impl_->listen_fd);
  close(impl_->wake[0]);
  close(impl_->wake[1]);
}

uint16_t FaultProxy::port() const { return impl_->port; }

void FaultProxy::CutAfter(Direction dir, uint64_t bytes) {
  int d = static_cast<int>(dir);
  {
    std::lock_guard lock(impl_->mu);
    impl_->cut_at[d] = impl_->counters.bytes[d] + bytes;
  }
  impl_->Wake();
}

void FaultProxy::CutAll() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->cut_all = true;
  }
  impl_->Wake();
}

void FaultProxy::FlipAfter(Direction dir, uint64_t bytes_from_now) {
  int d = static_cast<int>(dir);
  {
    std::lock_guard lock(impl_->mu);
    impl_->flip_at[d] = impl_->counters.bytes[d] + bytes_from_now;
  }
  impl_->Wake();
}

void FaultProxy::SetDelay(std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->delay = delay;
  }
  impl_->Wake();
}

void FaultProxy::StallCurrent() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stall_current = true;
  }
  impl_->Wake();
}

void FaultProxy::RefuseFor(std::chrono::milliseconds duration) {
  std::lock_guard lock(impl_->mu);
  impl_->refuse_until = Clock::now() + duration;
}

FaultProxy::Counters FaultProxy::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

}  // namespace smb3::test
