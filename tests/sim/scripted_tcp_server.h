// SPDX-License-Identifier: LGPL-2.1-or-later
// ScriptedTcpServer: a scripted SMB 3.0.2 server on a loopback TCP socket for sim tests of the real
// smb3::Client (Client::Connect, reconnect and all). It accepts connections one after another,
// logs every client anonymously (NTLMSSP without credentials, no signing) into one tree, and
// answers CREATE and QUERY_DIRECTORY as the test scripts them; CLOSE, TREE_DISCONNECT, LOGOFF and
// ECHO with success. Responses are built with tests/support/scripted_server.
// WRITE is answered with success for all its bytes and recorded (writes()).
//
// Thread-safety: the server runs on its own thread; the scripts run there; counters are atomic.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/spnego.h"
#include "base/byte_io.h"
#include "base/utf16.h"
#include "smb2/header.h"
#include "smb2/negotiate.h"
#include "smb3/client.h"
#include "smb3/ntstatus.h"
#include "support/scripted_server.h"
#include "unit/auth/ntlm_test_peer.h"

namespace smb3::test {

inline constexpr uint64_t kSessionId = 0x0000'1234'0000'0001ULL;
inline constexpr uint32_t kTreeId = 7;
inline constexpr uint16_t kCredits = 64;

// [MS-FSCC] 2.4.17 FileIdBothDirectoryInformation entries, one per name, chained by
// NextEntryOffset (8-aligned), the last with 0.
inline std::vector<uint8_t> DirEntries(const std::vector<std::string>& names) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < names.size(); ++i) {
    std::vector<uint8_t> name = Utf8ToUtf16le(names[i]).value();
    const size_t at = out.size();
    const size_t len = 104 + name.size();
    const size_t padded = (len + 7) & ~size_t{7};
    out.resize(at + (i + 1 < names.size() ? padded : len), 0);
    uint8_t* e = out.data() + at;
    StoreU32(e + 0, i + 1 < names.size() ? static_cast<uint32_t>(padded) : 0);
    StoreU64(e + 40, 1000);                                // EndOfFile
    StoreU32(e + 56, 0x80);                                // FILE_ATTRIBUTE_NORMAL
    StoreU32(e + 60, static_cast<uint32_t>(name.size()));  // FileNameLength
    StoreU64(e + 96, 0x100 + at);                          // FileId
    std::copy(name.begin(), name.end(), e + 104);
  }
  return out;
}

inline std::vector<uint8_t> Body(const smb2::Header& h, const std::vector<uint8_t>& body,
                                 ResponseOptions o = {}) {
  o.credits = kCredits;
  if (!o.session_id) o.session_id = kSessionId;
  std::vector<uint8_t> m = ResponseHeader(h, o);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

// What the scripted server answers to the Nth QUERY_DIRECTORY (0-based) of a listing: the
// NTSTATUS and the entry list.
struct DirAnswer {
  uint32_t status = STATUS_SUCCESS;
  std::vector<uint8_t> entries;
};
using DirScript = std::function<DirAnswer(uint64_t n)>;

// What the scripted server does with the Nth CREATE (0-based, counted over all connections).
struct CreateAnswer {
  bool drop_connection = false;  // close the connection instead of answering
  uint32_t status = STATUS_SUCCESS;
  uint32_t create_action = 1;  // FILE_OPENED
  bool directory = false;
  bool durable = false;  // answer with an SMB2_CREATE_DURABLE_HANDLE_RESPONSE_V2 context
  uint64_t persistent_id = 0x55;
};
using CreateScript = std::function<CreateAnswer(uint64_t n, const ClientRequest& request)>;

// The CreateGuid of the SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 context in a CREATE request
// ([MS-SMB2] 2.2.13.2.11: Timeout, Flags, Reserved, CreateGuid), or nullopt without one.
inline std::optional<std::array<uint8_t, 16>> Dh2qCreateGuid(const ClientRequest& request) {
  const std::vector<uint8_t>& m = request.bytes;
  static constexpr uint8_t kName[] = {'D', 'H', '2', 'Q'};
  auto it = std::search(m.begin() + 64, m.end(), std::begin(kName), std::end(kName));
  if (it == m.end() || it - m.begin() < 16) return std::nullopt;
  // [MS-SMB2] 2.2.13.2: the context starts 16 bytes before its name; DataOffset at 10.
  const size_t ctx = static_cast<size_t>(it - m.begin()) - 16;
  const size_t data = ctx + LoadU16(m.data() + ctx + 10);
  if (data + 32 > m.size()) return std::nullopt;
  std::array<uint8_t, 16> guid;
  std::copy_n(m.begin() + static_cast<std::ptrdiff_t>(data + 16), 16, guid.begin());
  return guid;
}

// The FileId.Persistent named by the SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 context of a CREATE
// request ([MS-SMB2] 2.2.13.2.12: FileId, CreateGuid, Flags), or nullopt without one.
inline std::optional<uint64_t> Dh2cPersistentId(const ClientRequest& request) {
  const std::vector<uint8_t>& m = request.bytes;
  static constexpr uint8_t kName[] = {'D', 'H', '2', 'C'};
  auto it = std::search(m.begin() + 64, m.end(), std::begin(kName), std::end(kName));
  if (it == m.end() || it - m.begin() < 16) return std::nullopt;
  const size_t ctx = static_cast<size_t>(it - m.begin()) - 16;
  const size_t data = ctx + LoadU16(m.data() + ctx + 10);
  if (data + 36 > m.size()) return std::nullopt;
  return LoadU64(m.data() + data);
}

// A WRITE as the scripted server received it ([MS-SMB2] 2.2.21).
struct SeenWrite {
  uint64_t persistent_id = 0;
  uint64_t volatile_id = 0;
  uint64_t offset = 0;
  bool replay = false;  // SMB2_FLAGS_REPLAY_OPERATION
  std::vector<uint8_t> data;
};

// One client connection at a time, answered on its own thread.
class ScriptedTcpServer {
 public:
  explicit ScriptedTcpServer(DirScript dir_script, CreateScript create_script = nullptr)
      : script_(std::move(dir_script)), create_script_(std::move(create_script)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 4) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &alen) != 0) {
      ADD_FAILURE() << "listen: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedTcpServer() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    if (int fd = conn_fd_.load(); fd >= 0) shutdown(fd, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  uint64_t query_directories() const { return queries_.load(); }
  uint64_t creates() const { return creates_.load(); }
  uint64_t connections() const { return connections_.load(); }
  uint64_t closes() const { return closes_.load(); }
  uint64_t bytes_sent() const { return bytes_sent_.load(); }
  // Every WRITE received so far, in order; each is answered with success for all its bytes.
  std::vector<SeenWrite> writes() const {
    std::lock_guard lock(writes_mu_);
    return writes_;
  }
  // Closes the current client connection without a word, as a cut cable would (the client sees
  // the stream end); the server accepts the next one. False when no client is connected.
  bool DropConnection() {
    int fd = conn_fd_.load();
    return fd >= 0 && shutdown(fd, SHUT_RDWR) == 0;
  }

 private:
  void Run() {
    while (!stop_) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      conn_fd_ = fd;
      ++connections_;
      Serve(fd);
      conn_fd_ = -1;
      close(fd);
    }
  }

  bool ReadAll(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = read(fd, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  bool Send(int fd, const std::vector<uint8_t>& msg) {
    // [MS-SMB2] 2.1: Direct TCP transport, a 4-byte header with the 24-bit length.
    std::vector<uint8_t> frame(4);
    frame[1] = static_cast<uint8_t>(msg.size() >> 16);
    frame[2] = static_cast<uint8_t>(msg.size() >> 8);
    frame[3] = static_cast<uint8_t>(msg.size());
    frame.insert(frame.end(), msg.begin(), msg.end());
    size_t at = 0;
    while (at < frame.size()) {
      ssize_t w = write(fd, frame.data() + at, frame.size() - at);
      if (w <= 0) return false;
      at += static_cast<size_t>(w);
    }
    bytes_sent_ += frame.size();
    return true;
  }

  void Serve(int fd) {
    auth::authtest::NtlmTestPeer ntlm(auth::authtest::PeerConfig{});
    uint64_t n_query = 0;
    for (;;) {
      uint8_t hdr[4];
      if (!ReadAll(fd, hdr, 4)) return;
      size_t len = (size_t{hdr[1]} << 16) | (size_t{hdr[2]} << 8) | hdr[3];
      std::vector<uint8_t> msg(len);
      if (!ReadAll(fd, msg.data(), len)) return;
      auto cm = DecodeClientMessage(msg);
      if (!cm.ok()) return;
      std::vector<std::vector<uint8_t>> out;
      for (const ClientRequest& rq : cm->requests) {
        const smb2::Header& h = rq.header;
        std::vector<uint8_t> b;
        ByteWriter w(b);
        switch (h.command) {
          case smb2::SMB2_NEGOTIATE: {
            // [MS-SMB2] 2.2.4, dialect 3.0.2: signing enabled, not required; no LARGE_MTU.
            w.U16(65);
            w.U16(smb2::SMB2_NEGOTIATE_SIGNING_ENABLED);
            w.U16(0x0302);
            w.U16(0);
            for (int i = 0; i < 16; ++i) w.U8(static_cast<uint8_t>(0xa0 + i));  // ServerGuid
            w.U32(0);                                                           // Capabilities
            w.U32(65536);
            w.U32(65536);
            w.U32(65536);
            w.U64(0);
            w.U64(0);
            w.U16(0);  // no security buffer: the client starts NTLMSSP on its own
            w.U16(0);
            w.U32(0);
            out.push_back(Body(h, b, {.session_id = 0}));
            break;
          }
          case smb2::SMB2_SESSION_SETUP: {
            // [MS-SMB2] 2.2.5: SecurityBufferOffset at 12, length at 14 of the body.
            ByteView body = ByteView(rq.bytes).subspan(64);
            uint16_t off = LoadU16(body.data() + 12), blen = LoadU16(body.data() + 14);
            ByteView token = ByteView(rq.bytes).subspan(off, blen);
            auth::NegTokenResp r;
            uint32_t st = STATUS_SUCCESS;
            if (auto init = auth::DecodeNegTokenInit(token); init.ok() && init->mech_token) {
              r.neg_state = auth::NegState::kAcceptIncomplete;
              r.supported_mech = auth::NtlmsspOid();
              r.response_token = ntlm.Challenge(*init->mech_token);
              st = STATUS_MORE_PROCESSING_REQUIRED;
            } else {
              r.neg_state = auth::NegState::kAcceptCompleted;
            }
            std::vector<uint8_t> t = auth::EncodeNegTokenResp(r);
            w.U16(9);
            w.U16(0);  // SessionFlags
            w.U16(72);
            w.U16(static_cast<uint16_t>(t.size()));
            w.Bytes(t);
            out.push_back(Body(h, b, {.status = st}));
            break;
          }
          case smb2::SMB2_TREE_CONNECT: {
            // [MS-SMB2] 2.2.10: a disk share, no flags.
            w.U16(16);
            w.U8(0x01);
            w.U8(0);
            w.U32(0);
            w.U32(0);
            w.U32(0x001f01ff);
            auto m = Body(h, b);
            StoreU32(m.data() + 36, kTreeId);
            out.push_back(std::move(m));
            break;
          }
          case smb2::SMB2_CREATE: {
            CreateAnswer a;
            a.directory = true;
            if (create_script_) a = create_script_(creates_.load(), rq);
            ++creates_;
            if (a.drop_connection) return;
            if (a.status != STATUS_SUCCESS) {
              out.push_back(ErrorResponse(h, a.status, {.credits = kCredits}));
              break;
            }
            // [MS-SMB2] 2.2.14.
            w.U16(89);
            w.U8(a.durable ? 0x09 : 0);  // SMB2_OPLOCK_LEVEL_BATCH with the durable handle
            w.U8(0);
            w.U32(a.create_action);
            for (int i = 0; i < 6; ++i) w.U64(0);
            w.U32(a.directory ? 0x10 : 0x80);  // FILE_ATTRIBUTE_DIRECTORY / _NORMAL
            w.U32(0);
            w.U64(a.persistent_id);          // FileId.Persistent
            w.U64(0x66);                     // FileId.Volatile
            w.U32(a.durable ? 64 + 88 : 0);  // CreateContextsOffset
            w.U32(a.durable ? 32 : 0);       // CreateContextsLength
            if (a.durable) {
              // [MS-SMB2] 2.2.14.2.12 SMB2_CREATE_DURABLE_HANDLE_RESPONSE_V2: Timeout, Flags.
              w.U32(0);   // Next
              w.U16(16);  // NameOffset
              w.U16(4);   // NameLength
              w.U16(0);
              w.U16(24);  // DataOffset
              w.U32(8);   // DataLength
              w.Bytes(ByteView(reinterpret_cast<const uint8_t*>("DH2Q"), 4));
              w.U32(0);
              w.U32(60000);  // Timeout
              w.U32(0);      // Flags
            }
            out.push_back(Body(h, b));
            break;
          }
          case smb2::SMB2_WRITE: {
            // [MS-SMB2] 2.2.21, body: DataOffset at 2, Length at 4, Offset at 8, FileId at 16.
            const std::vector<uint8_t>& m = rq.bytes;
            if (m.size() < 64 + 48) return;
            const uint8_t* body = m.data() + 64;
            SeenWrite sw;
            const size_t data_at = LoadU16(body + 2), data_len = LoadU32(body + 4);
            if (data_at + data_len > m.size()) return;
            sw.offset = LoadU64(body + 8);
            sw.persistent_id = LoadU64(body + 16);
            sw.volatile_id = LoadU64(body + 24);
            sw.replay = (h.flags & smb2::SMB2_FLAGS_REPLAY_OPERATION) != 0;
            sw.data.assign(m.begin() + static_cast<std::ptrdiff_t>(data_at),
                           m.begin() + static_cast<std::ptrdiff_t>(data_at + data_len));
            {
              std::lock_guard lock(writes_mu_);
              writes_.push_back(std::move(sw));
            }
            // [MS-SMB2] 2.2.22: StructureSize 17, Reserved, Count, Remaining, WriteChannelInfo*.
            w.U16(17);
            w.U16(0);
            w.U32(static_cast<uint32_t>(data_len));
            w.U32(0);
            w.U16(0);
            w.U16(0);
            out.push_back(Body(h, b));
            break;
          }
          case smb2::SMB2_QUERY_DIRECTORY: {
            ++queries_;
            DirAnswer a = script_(n_query++);
            if (a.status != STATUS_SUCCESS) {
              out.push_back(ErrorResponse(h, a.status, {.credits = kCredits}));
              break;
            }
            // [MS-SMB2] 2.2.34.
            w.U16(9);
            w.U16(72);
            w.U32(static_cast<uint32_t>(a.entries.size()));
            w.Bytes(a.entries);
            out.push_back(Body(h, b));
            break;
          }
          case smb2::SMB2_CLOSE:
            ++closes_;
            n_query = 0;  // the next listing starts over
            out.push_back(CloseResponse(h, {.credits = kCredits}));
            break;
          default:
            // TREE_DISCONNECT, LOGOFF, ECHO: the 4-byte body {StructureSize 4, Reserved}.
            w.U16(4);
            w.U16(0);
            out.push_back(Body(h, b));
            break;
        }
      }
      if (!Send(fd, Compound(out))) return;
    }
  }

  DirScript script_;
  CreateScript create_script_;
  int listen_fd_ = -1;
  std::atomic<int> conn_fd_{-1};
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<uint64_t> queries_{0}, closes_{0}, bytes_sent_{0}, creates_{0}, connections_{0};
  mutable std::mutex writes_mu_;
  std::vector<SeenWrite> writes_;
};

// A client of `s`: anonymous, SMB 3.0.2, TCP, no keepalive, reconnecting for up to
// `reconnect_timeout` (0: never).
inline std::unique_ptr<Client> ConnectAnonymous(
    const ScriptedTcpServer& s,
    std::chrono::milliseconds reconnect_timeout = std::chrono::milliseconds(0)) {
  ClientOptions o;
  o.server = "127.0.0.1";
  o.port = s.port();
  o.share = "share";
  o.security = SecurityMode::kAnonymous;
  o.dialects = {0x0302};
  o.rdma = RdmaPolicy::kNo;
  o.echo_interval = std::chrono::seconds(0);
  o.reconnect_timeout = reconnect_timeout;
  auto c = Client::Connect(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

}  // namespace smb3::test
