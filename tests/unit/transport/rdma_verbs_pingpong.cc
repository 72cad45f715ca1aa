// SPDX-License-Identifier: LGPL-2.1-or-later
// rdma_verbs_pingpong [--no-mw] ADDRESS [PORT]: two of our own rdma-core endpoints, a listener and
// an initiator on two threads of one process, over a real device (soft-RoCE in the lab guest:
// `scripts/smbdirect-lab run --no-services -- build/.../rdma_verbs_pingpong 10.99.0.1`).
//
// Checks, in order: connect with private data; 100 SEND/RECV round trips; the initiator exposes
// 64 KiB of a Registrar buffer (type-2 memory window where the device has them, per-I/O
// registration otherwise or with --no-mw), the listener RDMA-WRITEs a pattern into it and
// RDMA-READs it back; the window is then invalidated (remotely by SEND_WITH_INVALIDATE with memory
// windows, locally otherwise) and a second RDMA WRITE with the stale key must fail with a remote
// access error; both sides tear down. Prints one PASS/FAIL line per check; exits 0 only when all
// pass.
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "base/byte_io.h"
#include "transport/rdma/registrar.h"
#include "transport/rdma/verbs_endpoint.h"

namespace rdma = smb3::transport::rdma;
using rdma::Access;
using rdma::Event;
using rdma::Sge;

namespace {

constexpr size_t kRegion = 256 * 1024;
constexpr size_t kSlot = 4096;  // receive slots 0..7, send slot 8
constexpr size_t kWindowOffset = 64 * 1024;
constexpr uint32_t kWindowLength = 64 * 1024;
constexpr auto kTimeout = std::chrono::seconds(20);

std::atomic<int> failures{0};
bool use_memory_windows = true;

void Report(const char* side, const char* check, bool ok, const std::string& detail = "") {
  std::printf("%s rdma-pingpong/%s/%s%s%s\n", ok ? "PASS" : "FAIL", side, check,
              detail.empty() ? "" : ": ", detail.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

// One endpoint with its registered memory and a poll()-driven event loop.
struct Peer {
  const char* name;
  std::unique_ptr<rdma::Endpoint> ep;
  std::vector<uint8_t> memory = std::vector<uint8_t>(kRegion);
  std::unique_ptr<rdma::MemoryRegion> mr;
  std::deque<Event> events;

  bool Setup() {
    auto r = ep->Register(
        memory, Access::kLocalWrite | Access::kRemoteWrite | Access::kRemoteRead | Access::kMwBind);
    if (!r.ok()) {
      Report(name, "register", false, r.status().ToString());
      return false;
    }
    mr = std::move(r).value();
    for (uint64_t slot = 0; slot < 8; ++slot) {
      if (!Repost(slot)) return false;
    }
    return true;
  }
  bool Repost(uint64_t slot) {
    Sge sge = mr->Slice(slot * kSlot, kSlot);
    smb3::Status s = ep->PostReceive(slot, {&sge, 1});
    if (!s.ok()) Report(name, "post-receive", false, s.ToString());
    return s.ok();
  }
  bool Send(const std::string& text, std::optional<uint32_t> invalidate = std::nullopt) {
    std::memcpy(memory.data() + 8 * kSlot, text.data(), text.size());
    Sge sge = mr->Slice(8 * kSlot, static_cast<uint32_t>(text.size()));
    smb3::Status s = ep->PostSend(1000, {&sge, 1}, false, invalidate);
    if (!s.ok()) Report(name, "post-send", false, s.ToString());
    return s.ok();
  }
  // The next event matching `want`, driving the endpoint from its descriptors.
  std::optional<Event> WaitFor(const std::function<bool(const Event&)>& want) {
    auto deadline = std::chrono::steady_clock::now() + kTimeout;
    for (;;) {
      for (auto it = events.begin(); it != events.end(); ++it) {
        if (want(*it)) {
          Event e = std::move(*it);
          events.erase(it);
          return e;
        }
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      pollfd fds[2] = {{ep->cm_fd(), POLLIN, 0}, {ep->cq_fd(), POLLIN, 0}};
      poll(fds, 2, 100);
      if (!ep->Process().ok()) return std::nullopt;
      while (auto e = ep->NextEvent()) events.push_back(std::move(*e));
    }
  }
  std::optional<Event> WaitKind(Event::Kind kind) {
    return WaitFor([kind](const Event& e) { return e.kind == kind || !e.ok(); });
  }
  // A received message as text; the slot is reposted.
  std::optional<std::string> Receive() {
    auto e = WaitKind(Event::Kind::kRecv);
    if (!e || !e->ok() || e->kind != Event::Kind::kRecv) return std::nullopt;
    std::string text(memory.data() + e->wr_id * kSlot,
                     memory.data() + e->wr_id * kSlot + e->byte_len);
    last_invalidated = e->invalidated_rkey;
    if (!Repost(e->wr_id)) return std::nullopt;
    return text;
  }
  std::optional<uint32_t> last_invalidated;
};

void Server(const std::string& address, uint16_t port) {
  Peer p{"listener"};
  auto listener = rdma::Listen(address, port);
  if (!listener.ok()) return Report(p.name, "listen", false, listener.status().ToString());
  auto ep = (*listener)->WaitRequest(kTimeout);
  if (!ep.ok()) return Report(p.name, "connect-request", false, ep.status().ToString());
  p.ep = std::move(ep).value();
  if (!p.Setup()) return;
  smb3::Status s = p.ep->Connect({});
  Report(p.name, "accept", s.ok(), s.ToString());
  if (!s.ok()) return;
  auto connected = p.WaitKind(Event::Kind::kConnected);
  // The CM may pad private data (InfiniBand/RoCE: to 56 bytes): ours is a prefix.
  bool private_data = connected && connected->private_data.size() >= 3 &&
                      std::memcmp(connected->private_data.data(), "smb", 3) == 0;
  Report(p.name, "private-data", private_data,
         connected ? std::to_string(connected->private_data.size()) + " bytes" : "no event");

  bool pongs = true;
  for (int i = 0; i < 100 && pongs; ++i) {
    auto ping = p.Receive();
    pongs = ping && *ping == "ping " + std::to_string(i) && p.Send("pong " + std::to_string(i)) &&
            p.WaitKind(Event::Kind::kSend).has_value();
  }
  Report(p.name, "100-round-trips", pongs);

  auto window_msg = p.Receive();
  if (!window_msg || window_msg->size() != 17) return Report(p.name, "window-descriptor", false);
  const auto* w = reinterpret_cast<const uint8_t*>(window_msg->data());
  rdma::RemoteWindow remote{smb3::LoadU64(w), smb3::LoadU32(w + 8), smb3::LoadU32(w + 12)};
  bool memory_window = w[16] != 0;
  for (uint32_t i = 0; i < kWindowLength; ++i)
    p.memory[kRegion / 2 + i] = static_cast<uint8_t>(i * 7 + 1);
  Sge src = p.mr->Slice(kRegion / 2, kWindowLength);
  s = p.ep->PostWrite(1, {&src, 1}, remote);
  auto wrote = s.ok() ? p.WaitKind(Event::Kind::kRdmaWrite) : std::nullopt;
  Report(p.name, "rdma-write-into-window", wrote && wrote->ok(),
         wrote ? wrote->status.ToString() : s.ToString());
  Sge back = p.mr->Slice(kRegion / 2 + kWindowLength, kWindowLength);
  s = p.ep->PostRead(2, {&back, 1}, remote);
  auto read = s.ok() ? p.WaitKind(Event::Kind::kRdmaRead) : std::nullopt;
  bool same = read && read->ok() &&
              std::memcmp(p.memory.data() + kRegion / 2,
                          p.memory.data() + kRegion / 2 + kWindowLength, kWindowLength) == 0;
  Report(p.name, "rdma-read-from-window", same);

  // With memory windows the peer's key dies with our SEND_WITH_INVALIDATE ([MS-SMBD] 3.1.4.4).
  if (!p.Send("done", memory_window ? std::optional<uint32_t>(remote.rkey) : std::nullopt)) return;
  p.WaitKind(Event::Kind::kSend);
  auto again = p.Receive();
  Report(p.name, "peer-revoked-window", again && *again == "again");
  s = p.ep->PostWrite(3, {&src, 1}, remote);
  auto stale = s.ok() ? p.WaitKind(Event::Kind::kRdmaWrite) : std::nullopt;
  Report(p.name, "stale-key-refused", stale && stale->wc_status == rdma::WcStatus::kRemoteAccess,
         stale ? rdma::WcStatusName(stale->wc_status) : s.ToString());
  p.ep->Disconnect();
  auto down = p.WaitFor([](const Event& e) { return e.kind == Event::Kind::kDisconnected; });
  Report(p.name, "teardown", down.has_value());
}

void Client(const std::string& address, uint16_t port) {
  Peer p{"initiator"};
  rdma::ResolveOptions options;
  options.use_memory_windows = use_memory_windows;
  std::optional<smb3::Result<std::unique_ptr<rdma::Endpoint>>> ep;
  // The listener thread may not listen yet: retry a refused connection for a while.
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto resolved = rdma::Resolve(address, port, options);
    if (!resolved.ok()) return Report(p.name, "resolve", false, resolved.status().ToString());
    p.ep = std::move(resolved).value();
    if (attempt == 0) {
      Report(p.name, "caps", true,
             p.ep->caps().name + ", window mechanism " +
                 rdma::WindowMechanismName(p.ep->window_mechanism()) + ", max_qp_rd_atom " +
                 std::to_string(p.ep->caps().max_qp_rd_atom));
    }
    if (!p.Setup()) return;
    rdma::ConnectParams params;
    params.private_data = {'s', 'm', 'b'};
    smb3::Status s = p.ep->Connect(params);
    if (s.ok()) break;
    if (attempt == 49 || !s.Is(smb3::Code::kUnreachable)) {
      return Report(p.name, "connect", false, s.ToString());
    }
    p.mr.reset();
    p.ep.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Report(p.name, "connect", true);

  bool pongs = true;
  for (int i = 0; i < 100 && pongs; ++i) {
    auto pong = p.Send("ping " + std::to_string(i)) ? p.Receive() : std::nullopt;
    pongs = pong && *pong == "pong " + std::to_string(i);
    p.WaitKind(Event::Kind::kSend);
  }
  Report(p.name, "100-round-trips", pongs);

  auto made = rdma::Registrar::Create(*p.ep, kWindowLength, 2);
  if (!made.ok()) return Report(p.name, "registrar", false, made.status().ToString());
  std::unique_ptr<rdma::Registrar> registrar = std::move(made).value();
  size_t buffer = *registrar->Acquire();
  auto exposed =
      registrar->Expose(buffer, kWindowLength, Access::kRemoteWrite | Access::kRemoteRead);
  if (!exposed.ok()) return Report(p.name, "expose", false, exposed.status().ToString());
  rdma::RemoteWindow remote = *exposed;
  auto bound = p.WaitFor([](const Event& e) { return rdma::Registrar::Owns(e.wr_id) || !e.ok(); });
  if (bound) registrar->OnEvent(*bound);
  Report(p.name, "bind-window", bound && bound->ok() && registrar->counters().windows_bound == 1,
         bound ? bound->status.ToString() : "no bind completion");
  bool memory_window = registrar->mechanism() == rdma::WindowMechanism::kMemoryWindow;
  uint8_t desc[17];
  smb3::StoreU64(desc, remote.addr);
  smb3::StoreU32(desc + 8, remote.rkey);
  smb3::StoreU32(desc + 12, remote.length);
  desc[16] = memory_window ? 1 : 0;
  if (!p.Send(std::string(desc, desc + sizeof desc))) return;
  p.WaitKind(Event::Kind::kSend);
  auto done = p.Receive();
  if (p.last_invalidated) registrar->OnRemoteInvalidation(*p.last_invalidated);
  std::span<uint8_t> data = registrar->Memory(buffer);
  bool pattern = true;
  for (uint32_t i = 0; i < kWindowLength; ++i)
    pattern &= data[i] == static_cast<uint8_t>(i * 7 + 1);
  Report(p.name, "data-arrived-by-rdma-write", done && *done == "done" && pattern);
  smb3::Status s = registrar->Release(buffer);
  if (memory_window) {
    Report(p.name, "remote-invalidation",
           s.ok() && p.last_invalidated == remote.rkey &&
               registrar->counters().windows_invalidated_remote == 1 &&
               registrar->free_buffers() == 2,
           p.last_invalidated ? "invalidated key " + std::to_string(*p.last_invalidated) +
                                    ", bound key " + std::to_string(remote.rkey)
                              : "no invalidated key reported");
  } else {
    auto inv =
        s.ok() ? p.WaitFor([](const Event& e) { return rdma::Registrar::Owns(e.wr_id) || !e.ok(); })
               : std::nullopt;
    if (inv) registrar->OnEvent(*inv);
    Report(p.name, "local-invalidation",
           inv && inv->ok() && registrar->counters().windows_invalidated_local == 1 &&
               registrar->free_buffers() == 2,
           s.ToString());
  }
  std::vector<uint8_t> before(data.begin(), data.end());
  if (!p.Send("again")) return;
  auto down = p.WaitFor([](const Event& e) { return e.kind == Event::Kind::kDisconnected; });
  Report(p.name, "teardown", down.has_value());
  Report(p.name, "memory-untouched-after-revocation",
         std::equal(before.begin(), before.end(), data.begin()));
  registrar.reset();
}

}  // namespace

int main(int argc, char** argv) {
  int arg = 1;
  if (arg < argc && std::strcmp(argv[arg], "--no-mw") == 0) {
    use_memory_windows = false;
    ++arg;
  }
  if (arg >= argc) {
    std::fprintf(stderr, "usage: %s [--no-mw] ADDRESS [PORT]\n", argv[0]);
    return 2;
  }
  std::string address = argv[arg];
  uint16_t port = arg + 1 < argc ? static_cast<uint16_t>(std::stoi(argv[arg + 1])) : 7471;
  std::thread server(Server, address, port);
  std::thread client(Client, address, port);
  server.join();
  client.join();
  std::printf("rdma-pingpong: %s\n", failures == 0 ? "all passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
