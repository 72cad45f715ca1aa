// SPDX-License-Identifier: LGPL-2.1-or-later
// ClientImpl: smb3::Client over one Connection with one session and one tree connect.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "client/rdma_io.h"
#include "crypto/crypto.h"
#include "smb2/create.h"
#include "smb3/client.h"

namespace smb3 {

// How an open is re-established after a reconnect ([MS-SMB2] 3.2.4.4): the CREATE parameters of
// the original open and its durable handle v2 identity.
struct ReopenInfo {
  uint32_t desired_access = 0;
  uint32_t file_attributes = 0;
  uint32_t share_access = 0;
  uint32_t create_disposition = 0;
  uint32_t create_options = 0;
  uint8_t oplock_level = 0;            // Open.OplockLevel, kept current by oplock breaks
  bool durable = false;                // the server granted a durable handle v2 (DH2Q answered)
  bool durable_requested = false;      // the open asked for one (DH2Q with a batch oplock)
  std::array<uint8_t, 16> create_guid{};  // Open.CreateGuid
  // Identity of the file the first open found, checked when the open has to be re-opened by path
  // (the server lost it): CreationTime of the CREATE response and, when the server answered QFid,
  // its DiskFileId and VolumeId.
  FileTime creation_time = 0;
  bool has_on_disk_id = false;
  uint64_t disk_file_id = 0;
  uint64_t volume_id = 0;
};

// The state behind a FileHandle. Dropping the last reference closes it on the server in the
// background (a handle closed with Client::Close is not closed twice).
//
// Thread-safety: the FileId, connection and tree change when a reconnect re-establishes the open
// through its durable handle; they are read and replaced under mu_, so a request encoded for a
// retry always names the open's current FileId.
class OpenFile {
 public:
  OpenFile(std::weak_ptr<client::Connection> conn, FileId id, std::string path, bool directory,
           uint32_t tree_id, bool encrypt, ReopenInfo reopen = {})
      : conn_(std::move(conn)), id_(id), path_(std::move(path)), directory_(directory),
        tree_id_(tree_id), encrypt_(encrypt), reopen_(reopen) {}
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  FileId id() const {
    std::lock_guard lock(mu_);
    return id_;
  }
  const std::string& path() const { return path_; }
  bool directory() const { return directory_; }
  // Marks the handle closed; returns false when it already was.
  bool MarkClosed() { return !closed_.exchange(true); }
  bool closed() const { return closed_.load(); }
  // The server acknowledged the CLOSE: a reconnect no longer re-establishes this open.
  void MarkReleased() { released_.store(true); }
  bool released() const { return released_.load(); }

  // Ok while the open is usable; after a reconnect that could not re-establish it, the reason
  // (Code::kDisconnected, where "handle lost ..."), returned by every later operation on it.
  Status usable() const {
    std::lock_guard lock(mu_);
    return lost_;
  }
  ReopenInfo reopen() const {
    std::lock_guard lock(mu_);
    return reopen_;
  }
  void SetOplockLevel(uint8_t level) {
    std::lock_guard lock(mu_);
    reopen_.oplock_level = level;
  }
  // After a re-open by path: its durable handle (if granted) has a new CreateGuid.
  void SetReopen(const ReopenInfo& reopen) {
    std::lock_guard lock(mu_);
    reopen_ = reopen;
  }
  // After a successful durable reconnect: the open lives on `conn` as `id` now.
  void Rebind(std::weak_ptr<client::Connection> conn, FileId id, uint32_t tree_id, bool encrypt) {
    std::lock_guard lock(mu_);
    conn_ = std::move(conn);
    id_ = id;
    tree_id_ = tree_id;
    encrypt_ = encrypt;
  }
  void MarkLost(Status why) {
    std::lock_guard lock(mu_);
    lost_ = why;
  }

 private:
  mutable std::mutex mu_;
  std::weak_ptr<client::Connection> conn_;
  FileId id_;
  const std::string path_;
  const bool directory_;
  uint32_t tree_id_;
  bool encrypt_;
  ReopenInfo reopen_;
  Status lost_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> released_{false};
};

namespace client {

class ClientImpl final : public Client, public std::enable_shared_from_this<ClientImpl> {
 public:
  explicit ClientImpl(ClientOptions options);
  ~ClientImpl() override;

  // Connect, negotiate, authenticate, connect the tree; then watch the connection and re-establish
  // it when it breaks (reconnect.cc).
  Status Start();

  ConnectionInfo info() const override;
  ClientStats stats() const override;

  Result<OpenResult> Open(std::string_view path, const OpenOptions& options) override;
  Status Close(const FileHandle& file, FileInfo* final_info) override;
  Result<size_t> Read(const FileHandle& file, uint64_t offset, std::span<uint8_t> dst) override;
  Result<size_t> Write(const FileHandle& file, uint64_t offset, std::span<const uint8_t> src) override;
  void ReadAsync(const FileHandle& file, uint64_t offset, std::span<uint8_t> dst, IoCallback done) override;
  void WriteAsync(const FileHandle& file, uint64_t offset, std::span<const uint8_t> src,
                  IoCallback done) override;
  Status RegisterIoMemory(std::span<uint8_t> memory) override;    // rdma_io.cc
  void UnregisterIoMemory(std::span<uint8_t> memory) override;    // rdma_io.cc
  void ReadAsyncView(const FileHandle& file, uint64_t offset, size_t length,
                     ReadViewCallback done) override;
  Status Flush(const FileHandle& file) override;
  Result<FileInfo> QueryInfo(const FileHandle& file) override;
  Result<FileInfo> Stat(std::string_view path) override;
  Result<std::vector<DirEntry>> ListDirectory(std::string_view path) override;
  Status SetEndOfFile(const FileHandle& file, uint64_t size) override;
  Status SetBasicInfo(const FileHandle& file, FileTime creation, FileTime last_access,
                      FileTime last_write, FileTime change, uint32_t attributes) override;
  Status Rename(const FileHandle& file, std::string_view new_path, bool replace) override;
  Status SetDeleteOnClose(const FileHandle& file, bool on) override;
  Status SetAllocationSize(const FileHandle& file, uint64_t size) override;
  Status Mkdir(std::string_view path) override;
  Status Rmdir(std::string_view path) override;
  Status Unlink(std::string_view path) override;
  Status RenamePath(std::string_view from, std::string_view to, bool replace) override;
  Result<FsInfo> StatFs() override;
  Status Echo() override;
  Result<std::vector<NetworkInterface>> QueryNetworkInterfaces() override;
  void Disconnect() override;

 private:
  // How a request may be sent again on a re-established connection after the connection it was
  // sent on broke before the answer arrived (reconnect.cc).
  enum class Retry : uint8_t {
    kIdempotent,  // READ, QUERY_*, FLUSH, ECHO, open of an existing file: send again as is
    kReplay,      // WRITE, SET_INFO: send again with SMB2_FLAGS_REPLAY_OPERATION
    kNever,       // create-new, rename, delete by path: the caller gets the error
  };
  enum class LinkState : uint8_t { kUp, kReconnecting, kDown };

  // reconnect.cc
  // The connection requests go to (the last one up; a closed one while reconnecting).
  std::shared_ptr<Connection> conn() const;
  // A fresh transport and Connection in conn_ (not yet published), wired to this client.
  Status OpenConnection();
  // Blocks while a reconnect is under way; then the current generation, or the reason the client
  // is down (gave up reconnecting, or disconnected).
  Result<uint64_t> WaitForLink();
  // True when the connection of generation `gen` broke since (and starts the reconnect if nobody
  // noticed yet).
  bool LinkBrokeSince(uint64_t gen);
  void OnConnectionClosed(Connection& conn, const Status& why);
  void OnOplockBreak(Connection& conn, const FileId& file_id, uint8_t level);
  void ReconnectLoop();
  Status ReconnectOnce();
  // Re-establishes every usable open on conn_ through its durable handle ([MS-SMB2] 3.2.4.4), or
  // by its path when it is not durable or the server no longer knows it (ReopenByPath); marks
  // lost the others (any other refusal, a path re-open that failed or found another file),
  // adding to *recovered / *reopened / *lost. Returns the error, and stops, when
  // a request gets no answer at all (the connection broke or timed out): the opens not yet
  // re-established stay usable, and those re-established on conn_ are re-established again on
  // the next connection.
  Status ReopenFiles(size_t* recovered, size_t* reopened, size_t* lost);
  // Re-opens `f` by its path (FILE_OPEN, the first open's access, sharing and options) when the
  // server no longer knows the open; Ok only if the file found is the one first opened. Errors:
  // kDisconnected with where() "reopen: no answer" when the CREATE got none (the open stays
  // usable for the next attempt), else why the open is lost.
  Status ReopenByPath(OpenFile& f, const ReopenInfo& ri);
  void RegisterOpen(const std::shared_ptr<OpenFile>& file);
  // Runs `body(attempt)` and runs it again after a reconnect when the connection broke under it
  // and `retry` allows. `body` returns Status or Result<T>.
  template <class Body>
  auto WithReconnect(Retry retry, Body&& body) -> decltype(body(0));
  // Asynchronous form for one request: `build(attempt)` encodes it (again) with the open's
  // current FileId; `done` runs once with the final outcome.
  void SubmitWithReconnect(Retry retry, std::function<Result<Request>(int attempt)> build,
                           Connection::Callback done);
  struct AsyncAttempt;
  void Attempt(std::shared_ptr<AsyncAttempt> op);

  // handshake.cc
  Status Negotiate();
  Status SessionSetup();
  Status TreeConnect();
  Status ValidateNegotiate();

  // A request addressed to the tree, sealed when the share demands it.
  Request TreeRequest(uint16_t command) const;
  // Sends and checks the NTSTATUS: any failing status becomes Status::NtStatus(status, where).
  Result<Response> CallOk(Request request, const char* where);
  Status SetInfo(const FileHandle& file, uint8_t info_type, uint8_t info_class,
                 std::vector<uint8_t> buffer, const char* where, Retry retry = Retry::kReplay);
  Result<std::vector<uint8_t>> QueryInfoRaw(const FileHandle& file, uint8_t info_type,
                                            uint8_t info_class, uint32_t output_length,
                                            const char* where);
  Result<OpenResult> OpenInternal(std::string_view path, const OpenOptions& options,
                                  uint32_t extra_create_options);
  Status DeletePath(std::string_view path, bool directory);
  // One attempt of Stat, ListDirectory, StatFs (the public forms retry after a reconnect).
  Result<FileInfo> StatOnce(std::string_view path);
  Result<std::vector<DirEntry>> ListDirectoryOnce(std::string_view path);
  Result<FsInfo> StatFsOnce();
  // Opens `path` for DELETE, applies one SET_INFO and closes, in one compound.
  Status SetInfoByPath(std::string_view path, uint32_t create_options, uint8_t info_class,
                       std::vector<uint8_t> info, const char* where);
  uint32_t max_read() const;
  uint32_t max_write() const;
  // Copies the negotiated state other threads read (info()) into view_, under view_mu_. Called by
  // the thread that set the connection up (Start, the reconnect thread) once it is complete and
  // before it is published as live_.
  void PublishView();
  // `size` capped by the transport's limit for the path the data takes (rdma_io.h).
  uint32_t TransportIoLimit(uint32_t size) const;
  // The registered buffer for a READ (`server_writes`) or WRITE of `length` bytes sent as `r` on
  // `c`, or nullptr when its data goes inline (rdma_io.h); a WRITE's `source` is exposed where it
  // is when it lies in memory lent by RegisterIoMemory.
  std::shared_ptr<RdmaTransfer> RdmaFor(Connection* c, size_t length, bool server_writes,
                                        const Request& r, ByteView source = {});

  ClientOptions options_;
  std::shared_ptr<BufferPool> pool_;
  // The connection being set up (Start, reconnect thread); published as live_ once ready.
  std::shared_ptr<Connection> conn_;
  TransportKind transport_kind_ = TransportKind::kTcp;  // of the latest OpenTransport
  std::string transport_reason_;                       // its one-line reason
  // Thread-safety of the negotiated state below: Negotiate, SessionSetup and TreeConnect write it
  // on the thread that sets a connection up (the caller of Start, then only the reconnect thread),
  // which alone reads the plain fields. What other threads read is either atomic (signing_on_,
  // encrypt_all_, tree_id_, tree_encrypt_, max_*) or the copy in view_, taken by PublishView under
  // view_mu_ when a connection is complete, so info() never sees a half-rewritten mix of two
  // connections' values.
  struct View {
    TransportKind transport = TransportKind::kTcp;
    std::string transport_reason;
    uint16_t dialect = 0;
    crypto::CipherId cipher = crypto::CipherId::kNone;
    crypto::SigningAlgorithm signing_algorithm = crypto::SigningAlgorithm::kAesCmac;
    uint32_t server_capabilities = 0;
    std::array<uint8_t, 16> server_guid{};
    uint16_t session_flags = 0;
  };
  mutable std::mutex view_mu_;
  View view_;

  // Reconnect state, guarded by link_mu_.
  mutable std::mutex link_mu_;
  std::condition_variable link_cv_;
  std::shared_ptr<Connection> live_;
  LinkState link_state_ = LinkState::kUp;
  uint64_t generation_ = 1;
  bool shutting_down_ = false;
  Status break_reason_;
  Status down_reason_;
  std::vector<std::function<void(Status)>> link_waiters_;
  std::thread reconnect_thread_;
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> reopened_by_path_{0};

  // Opens a reconnect re-establishes, guarded by opens_mu_.
  std::mutex opens_mu_;
  std::vector<std::weak_ptr<OpenFile>> opens_;

  // What the first session established; a reconnect never settles for less.
  bool first_signing_ = false;
  bool first_encrypt_all_ = false;
  bool first_tree_encrypt_ = false;
  bool established_ = false;

  // Negotiated state (written during Start, read-only afterwards).
  std::array<uint8_t, 16> client_guid_{};
  uint16_t dialect_ = 0;
  uint16_t server_security_mode_ = 0;
  uint32_t server_capabilities_ = 0;
  std::array<uint8_t, 16> server_guid_{};
  std::atomic<uint32_t> max_transact_{65536}, max_read_{65536}, max_write_{65536};
  crypto::CipherId cipher_ = crypto::CipherId::kNone;
  crypto::SigningAlgorithm signing_algorithm_ = crypto::SigningAlgorithm::kAesCmac;
  std::vector<uint8_t> gss_hint_;
  crypto::PreauthHash preauth_;
  uint16_t negotiate_security_mode_ = 0;  // what we sent
  uint32_t negotiate_capabilities_ = 0;   // what we sent
  std::vector<uint16_t> offered_dialects_;
  uint16_t session_flags_ = 0;
  uint64_t session_id_ = 0;  // of the last established session (PreviousSessionId on reconnect)
  std::atomic<bool> signing_on_{false};  // read by I/O threads (rdma_io, TransportIoLimit)
  bool session_has_keys_ = false;  // signing/sealing keys exist (not a guest or anonymous session)
  std::atomic<bool> encrypt_all_{false};
  std::atomic<uint32_t> tree_id_{0};
  std::atomic<bool> tree_encrypt_{false};
  uint32_t share_flags_ = 0;
  uint32_t share_capabilities_ = 0;

  std::atomic<uint64_t> bytes_read_{0}, bytes_written_{0}, reads_{0}, writes_{0};
  RdmaDataPath rdma_;  // the SMB Direct data path of READ/WRITE: decisions and counters
  std::once_flag disconnect_once_;
};

}  // namespace client
}  // namespace smb3
