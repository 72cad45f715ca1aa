// SPDX-License-Identifier: LGPL-2.1-or-later
// MemoryClient: a complete smb3::Client over an in-memory share.
//
// Two uses: `fuse-smbd --backend=memory` (the FUSE ceiling of the benchmarks: the same daemon and FUSE
// settings with no network behind it) and fast unit tests of SmbFs. It behaves like an SMB server
// as seen through smb3::Client: the NTSTATUS values an SMB server returns (STATUS_OBJECT_NAME_NOT_FOUND
// for a missing name, STATUS_OBJECT_PATH_NOT_FOUND for a missing parent, STATUS_OBJECT_NAME_COLLISION,
// STATUS_DIRECTORY_NOT_EMPTY, STATUS_FILE_IS_A_DIRECTORY, STATUS_NOT_A_DIRECTORY, STATUS_DELETE_PENDING,
// STATUS_CANNOT_DELETE for a read-only file, STATUS_ACCESS_DENIED for a handle without the access,
// for replacing a directory or an open file, and for renaming a directory with open files below it,
// STATUS_DISK_FULL past the capacity, STATUS_OBJECT_NAME_INVALID for \ : * ? " < > |), delete-on-close
// with delete-pending names that stay visible until the last handle closes, rename with and without
// replace, sparse files (holes read as zeros), FILETIME times and attributes. Names are
// case-sensitive (unlike Samba's default). It is not a substitute for tests against Samba.
//
// File data lives in 1 MiB chunks from a pre-faulted pool (see BufferPool), so writing a fresh file
// does not pay the page-fault cost a real server's page cache already paid.
//
// Thread-safety: all methods may be called from any thread. Async callbacks run on the calling thread
// before ReadAsync/WriteAsync returns, or, with Options::async_thread, on a separate "connection"
// thread as with the real client.
#pragma once

#include <memory>

#include "smb3/client.h"

namespace fuse_smbd {

class MemoryClient final : public smb3::Client {
 public:
  struct Options {
    uint64_t capacity_bytes = 0;  // 0: no limit (statfs reports 1 TiB)
    bool async_thread = false;    // complete async I/O on a separate thread
    bool prefault = false;        // pre-fault capacity_bytes of data memory at construction
    std::string share = "memory";
  };

  MemoryClient();
  explicit MemoryClient(Options options);
  ~MemoryClient() override;

  smb3::ConnectionInfo info() const override;
  smb3::ClientStats stats() const override;

  smb3::Result<smb3::OpenResult> Open(std::string_view path, const smb3::OpenOptions& options) override;
  smb3::Status Close(const smb3::FileHandle& file, smb3::FileInfo* final_info = nullptr) override;

  smb3::Result<size_t> Read(const smb3::FileHandle& file, uint64_t offset,
                            std::span<uint8_t> dst) override;
  smb3::Result<size_t> Write(const smb3::FileHandle& file, uint64_t offset,
                             std::span<const uint8_t> src) override;
  void ReadAsync(const smb3::FileHandle& file, uint64_t offset, std::span<uint8_t> dst,
                 smb3::IoCallback done) override;
  void WriteAsync(const smb3::FileHandle& file, uint64_t offset, std::span<const uint8_t> src,
                  smb3::IoCallback done) override;
  // Copies into a pooled, pre-faulted buffer that the view owns (the one copy any memory file
  // system makes); reads over 1 MiB take the default path.
  void ReadAsyncView(const smb3::FileHandle& file, uint64_t offset, size_t length,
                     smb3::ReadViewCallback done) override;
  smb3::Status Flush(const smb3::FileHandle& file) override;

  smb3::Result<smb3::FileInfo> QueryInfo(const smb3::FileHandle& file) override;
  smb3::Result<smb3::FileInfo> Stat(std::string_view path) override;
  smb3::Result<std::vector<smb3::DirEntry>> ListDirectory(std::string_view path) override;
  smb3::Status SetEndOfFile(const smb3::FileHandle& file, uint64_t size) override;
  smb3::Status SetBasicInfo(const smb3::FileHandle& file, smb3::FileTime creation,
                            smb3::FileTime last_access, smb3::FileTime last_write,
                            smb3::FileTime change, uint32_t attributes) override;
  smb3::Status Rename(const smb3::FileHandle& file, std::string_view new_path, bool replace) override;
  smb3::Status SetDeleteOnClose(const smb3::FileHandle& file, bool on) override;
  smb3::Status SetAllocationSize(const smb3::FileHandle& file, uint64_t size) override;

  smb3::Status Mkdir(std::string_view path) override;
  smb3::Status Rmdir(std::string_view path) override;
  smb3::Status Unlink(std::string_view path) override;
  smb3::Status RenamePath(std::string_view from, std::string_view to, bool replace) override;

  smb3::Result<smb3::FsInfo> StatFs() override;
  smb3::Status Echo() override;
  smb3::Result<std::vector<smb3::NetworkInterface>> QueryNetworkInterfaces() override;
  void Disconnect() override;

  // Test hooks: open handles on the server, and bytes of file data held.
  size_t OpenHandleCount() const;
  uint64_t UsedBytes() const;

  struct State;  // shared with open handles so a handle outliving the client stays safe

 private:
  std::shared_ptr<State> state_;
};

}  // namespace fuse_smbd
