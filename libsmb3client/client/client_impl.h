// SPDX-License-Identifier: LGPL-2.1-or-later
// ClientImpl: smb3::Client over one Connection with one session and one tree connect.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "client/connection.h"
#include "client/rdma_io.h"
#include "crypto/crypto.h"
#include "smb2/create.h"
#include "smb3/client.h"

namespace smb3 {

// The state behind a FileHandle. Dropping the last reference closes it on the server in the
// background (a handle closed with Client::Close is not closed twice).
class OpenFile {
 public:
  OpenFile(std::weak_ptr<client::Connection> conn, FileId id, std::string path, bool directory,
           uint32_t tree_id, bool encrypt)
      : conn_(std::move(conn)), id_(id), path_(std::move(path)), directory_(directory),
        tree_id_(tree_id), encrypt_(encrypt) {}
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  FileId id() const { return id_; }
  const std::string& path() const { return path_; }
  bool directory() const { return directory_; }
  // Marks the handle closed; returns false when it already was.
  bool MarkClosed() { return !closed_.exchange(true); }
  bool closed() const { return closed_.load(); }

 private:
  std::weak_ptr<client::Connection> conn_;
  FileId id_;
  std::string path_;
  bool directory_;
  uint32_t tree_id_;
  bool encrypt_;
  std::atomic<bool> closed_{false};
};

namespace client {

class ClientImpl final : public Client, public std::enable_shared_from_this<ClientImpl> {
 public:
  explicit ClientImpl(ClientOptions options);
  ~ClientImpl() override;

  // Connect, negotiate, authenticate, connect the tree.
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
                 std::vector<uint8_t> buffer, const char* where);
  Result<std::vector<uint8_t>> QueryInfoRaw(const FileHandle& file, uint8_t info_type,
                                            uint8_t info_class, uint32_t output_length,
                                            const char* where);
  Result<OpenResult> OpenInternal(std::string_view path, const OpenOptions& options,
                                  uint32_t extra_create_options);
  Status DeletePath(std::string_view path, bool directory);
  // Opens `path` for DELETE, applies one SET_INFO and closes, in one compound.
  Status SetInfoByPath(std::string_view path, uint32_t create_options, uint8_t info_class,
                       std::vector<uint8_t> info, const char* where);
  uint32_t max_read() const;
  uint32_t max_write() const;
  // The registered buffer for a READ (`server_writes`) or WRITE of `length` bytes sent as `r` on
  // `c`, or nullptr when its data goes inline (rdma_io.h).
  std::shared_ptr<RdmaTransfer> RdmaFor(Connection* c, size_t length, bool server_writes,
                                        const Request& r);

  ClientOptions options_;
  std::shared_ptr<BufferPool> pool_;
  std::shared_ptr<Connection> conn_;
  TransportKind transport_kind_ = TransportKind::kTcp;  // of the latest OpenTransport
  std::string transport_reason_;                       // its one-line reason

  // Negotiated state (written during Start, read-only afterwards).
  std::array<uint8_t, 16> client_guid_{};
  uint16_t dialect_ = 0;
  uint16_t server_security_mode_ = 0;
  uint32_t server_capabilities_ = 0;
  std::array<uint8_t, 16> server_guid_{};
  uint32_t max_transact_ = 65536, max_read_ = 65536, max_write_ = 65536;
  crypto::CipherId cipher_ = crypto::CipherId::kNone;
  crypto::SigningAlgorithm signing_algorithm_ = crypto::SigningAlgorithm::kAesCmac;
  std::vector<uint8_t> gss_hint_;
  crypto::PreauthHash preauth_;
  uint16_t negotiate_security_mode_ = 0;  // what we sent
  uint32_t negotiate_capabilities_ = 0;   // what we sent
  std::vector<uint16_t> offered_dialects_;
  uint16_t session_flags_ = 0;
  bool signing_on_ = false;
  bool session_has_keys_ = false;  // signing/sealing keys exist (not a guest or anonymous session)
  bool encrypt_all_ = false;
  uint32_t tree_id_ = 0;
  bool tree_encrypt_ = false;
  uint32_t share_flags_ = 0;
  uint32_t share_capabilities_ = 0;

  std::atomic<uint64_t> bytes_read_{0}, bytes_written_{0}, reads_{0}, writes_{0};
  RdmaDataPath rdma_;  // the SMB Direct data path of READ/WRITE: decisions and counters
  std::once_flag disconnect_once_;
};

}  // namespace client
}  // namespace smb3
