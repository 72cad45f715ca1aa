// SPDX-License-Identifier: LGPL-2.1-or-later
// Direct TCP transport ([MS-SMB2] 2.1): each SMB2 message is preceded by a 4-byte header, a zero
// byte and a 24-bit big-endian length. One receive thread per connection reads frames into pooled
// buffers and hands them to the handler; senders write under a mutex with writev (no copy of the
// caller's parts).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "base/log.h"
#include "transport/transport.h"

namespace smb3::transport {
namespace {

constexpr size_t kMaxFrame = 0x00FFFFFF;  // 24-bit length field
constexpr size_t kStagingSize = 256 * 1024;

class TcpTransport final : public Transport {
 public:
  TcpTransport(int fd, std::string peer, std::shared_ptr<BufferPool> pool)
      : fd_(fd), peer_(std::move(peer)), pool_(std::move(pool)) {}

  ~TcpTransport() override {
    Close();
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }

  Status Start(TransportHandler* handler) override {
    handler_ = handler;
    thread_ = std::thread([this] { ReceiveLoop(); });
    receive_thread_id_ = thread_.get_id();
    return Status::Ok();
  }

  Status Send(std::span<const ByteView> parts) override {
    size_t total = 0;
    for (auto p : parts) total += p.size();
    if (total > kMaxFrame) return Status::Invalid("tcp: message larger than 16 MiB");
    uint8_t hdr[4] = {0, static_cast<uint8_t>(total >> 16), static_cast<uint8_t>(total >> 8),
                      static_cast<uint8_t>(total)};
    iovec iov_stack[16];
    std::vector<iovec> iov_heap;
    iovec* iov = iov_stack;
    size_t n = parts.size() + 1;
    if (n > std::size(iov_stack)) {
      iov_heap.resize(n);
      iov = iov_heap.data();
    }
    iov[0] = {hdr, 4};
    for (size_t i = 0; i < parts.size(); ++i)
      iov[i + 1] = {const_cast<uint8_t*>(parts[i].data()), parts[i].size()};

    std::lock_guard lock(send_mu_);
    if (closed_.load()) return Status(Code::kDisconnected, 0, "tcp: connection closed");
    size_t idx = 0;
    while (idx < n) {
      // sendmsg with MSG_NOSIGNAL, not writev: a peer that reset the connection must surface as
      // EPIPE here, not as a SIGPIPE that kills the process (the reconnect depends on it).
      msghdr mh{};
      mh.msg_iov = iov + idx;
      mh.msg_iovlen = std::min<size_t>(n - idx, IOV_MAX);
      ssize_t w = ::sendmsg(fd_, &mh, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ShutdownSocket();
        return Status(Code::kDisconnected, static_cast<uint32_t>(err), "tcp: send failed");
      }
      auto left = static_cast<size_t>(w);
      while (idx < n && left >= iov[idx].iov_len) left -= iov[idx++].iov_len;
      if (idx < n) {
        iov[idx].iov_base = static_cast<uint8_t*>(iov[idx].iov_base) + left;
        iov[idx].iov_len -= left;
      }
    }
    return Status::Ok();
  }

  void Close() override {
    ShutdownSocket();
    // Several threads may close at once (a failed send on a caller's thread, the owner's reconnect
    // thread): one joins, the others wait for it; joining a std::thread twice is undefined. The
    // receive thread itself never joins (nor waits for the lock, which a joiner holds).
    if (std::this_thread::get_id() == receive_thread_id_) return;
    std::lock_guard lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  TransportKind kind() const override { return TransportKind::kTcp; }
  size_t max_message_size() const override { return kMaxFrame; }
  std::string peer() const override { return peer_; }

 private:
  void ShutdownSocket() {
    if (!closed_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
  }

  // Reads exactly `len` bytes into dst, first from the staging buffer, then from the socket.
  // Returns false on EOF/error (with `why` set).
  bool ReadExact(uint8_t* dst, size_t len, Status& why) {
    size_t staged = staging_end_ - staging_pos_;
    size_t take = std::min(staged, len);
    if (take) {
      std::memcpy(dst, staging_.data() + staging_pos_, take);
      staging_pos_ += take;
      dst += take;
      len -= take;
    }
    while (len > 0) {
      // Large remainders go straight into the destination; small ones refill the staging buffer.
      if (len >= kStagingSize / 2) {
        ssize_t r = ::recv(fd_, dst, len, 0);
        if (!CheckRecv(r, why)) return false;
        dst += r;
        len -= static_cast<size_t>(r);
      } else {
        if (!Fill(why)) return false;
        size_t t = std::min(staging_end_ - staging_pos_, len);
        std::memcpy(dst, staging_.data() + staging_pos_, t);
        staging_pos_ += t;
        dst += t;
        len -= t;
      }
    }
    return true;
  }

  bool Fill(Status& why) {
    staging_pos_ = staging_end_ = 0;
    for (;;) {
      if (!WaitReadable(why)) return false;
      ssize_t r = ::recv(fd_, staging_.data(), staging_.size(), 0);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (!CheckRecv(r, why)) return false;
      staging_end_ = static_cast<size_t>(r);
      return true;
    }
  }

  // Waits for data, ticking the handler about once a second while idle.
  bool WaitReadable(Status& why) {
    for (;;) {
      MaybeTick();
      pollfd pfd{fd_, POLLIN, 0};
      int r = ::poll(&pfd, 1, 1000);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) {
        why = Status(Code::kDisconnected, static_cast<uint32_t>(errno), "tcp: poll failed");
        return false;
      }
      if (closed_.load()) {
        why = Status(Code::kDisconnected, 0, "tcp: closed locally");
        return false;
      }
    }
  }

  bool CheckRecv(ssize_t r, Status& why) {
    if (r > 0) return true;
    if (r == 0) why = Status(Code::kDisconnected, 0, closed_.load() ? "tcp: closed locally" : "tcp: server closed the connection");
    else why = Status(Code::kDisconnected, static_cast<uint32_t>(errno), "tcp: receive failed");
    return false;
  }

  void MaybeTick() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_tick_ >= std::chrono::seconds(1)) {
      last_tick_ = now;
      handler_->OnTick(now);
    }
  }

  void ReceiveLoop() {
    staging_.resize(kStagingSize);
    last_tick_ = std::chrono::steady_clock::now();
    Status why;
    for (;;) {
      uint8_t hdr[4];
      if (!ReadExact(hdr, 4, why)) break;
      // [MS-SMB2] 2.1: the first byte is zero; the length is 24 bits, big-endian.
      if (hdr[0] != 0) {
        why = Status::Protocol("tcp: bad Direct TCP header");
        break;
      }
      size_t len = (size_t{hdr[1]} << 16) | (size_t{hdr[2]} << 8) | hdr[3];
      if (len == 0) {
        why = Status::Protocol("tcp: empty frame");
        break;
      }
      Buffer msg = pool_->Get(len);
      if (!ReadExact(msg.data(), len, why)) break;
      handler_->OnMessage(std::move(msg));
      MaybeTick();
    }
    ShutdownSocket();
    SMB3_LOG_DEBUG("tcp %s: receive loop ended: %s", peer_.c_str(), why.ToString().c_str());
    handler_->OnClosed(why);
  }

  int fd_;
  std::string peer_;
  std::shared_ptr<BufferPool> pool_;
  TransportHandler* handler_ = nullptr;
  std::thread thread_;
  std::thread::id receive_thread_id_;  // set once by Start, before any Close
  std::mutex join_mu_;
  std::mutex send_mu_;
  std::atomic<bool> closed_{false};
  std::vector<uint8_t> staging_;
  size_t staging_pos_ = 0;
  size_t staging_end_ = 0;
  std::chrono::steady_clock::time_point last_tick_;
};

// Non-blocking connect with a deadline; returns the connected (blocking) socket.
Result<int> ConnectOne(const addrinfo* ai, std::chrono::milliseconds timeout, int buf_bytes) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) return Status(Code::kUnreachable, static_cast<uint32_t>(errno), "tcp: socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (buf_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf_bytes, sizeof buf_bytes);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf_bytes, sizeof buf_bytes);
  }
  int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (r < 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    return Status(Code::kUnreachable, static_cast<uint32_t>(err), "tcp: connect");
  }
  if (r < 0) {
    pollfd pfd{fd, POLLOUT, 0};
    int pr;
    do pr = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    while (pr < 0 && errno == EINTR);
    int err = 0;
    socklen_t len = sizeof err;
    if (pr == 0) err = ETIMEDOUT;
    else if (pr < 0) err = errno;
    else ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      ::close(fd);
      return Status(Code::kUnreachable, static_cast<uint32_t>(err), "tcp: connect");
    }
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

}  // namespace

Result<std::unique_ptr<Transport>> ConnectTcp(const std::string& host, uint16_t port,
                                              const TcpOptions& options,
                                              std::shared_ptr<BufferPool> pool) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int gai = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (gai != 0) {
    SMB3_LOG_ERROR("cannot resolve server name '%s': %s", host.c_str(), gai_strerror(gai));
    return Status(Code::kUnreachable, EHOSTUNREACH, "tcp: server name does not resolve");
  }
  Status last(Code::kUnreachable, EHOSTUNREACH, "tcp: no address");
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    auto fd = ConnectOne(ai, options.connect_timeout, options.socket_buffer_bytes);
    if (!fd.ok()) {
      last = fd.status();
      continue;
    }
    char addr[INET6_ADDRSTRLEN] = "?";
    if (ai->ai_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, addr, sizeof addr);
    else if (ai->ai_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, addr, sizeof addr);
    ::freeaddrinfo(res);
    std::string peer = std::string(addr) + ":" + service;
    return std::unique_ptr<Transport>(new TcpTransport(*fd, std::move(peer), std::move(pool)));
  }
  ::freeaddrinfo(res);
  return last;
}

}  // namespace smb3::transport
