// SPDX-License-Identifier: LGPL-2.1-or-later
// smb3::Client: one authenticated SMB 3.x session with one tree connect (a share).
//
// Thread-safety: every method may be called from any number of threads at once; requests from all
// threads are pipelined on the one connection within the credits the server grants. Async
// callbacks run on the connection's own thread and must not block or call the synchronous methods.
//
// Paths are UTF-8, relative to the share root, with '/' or '\' separators ("" is the root). Errors:
// Code::kNtStatus carries the server's NTSTATUS (see smb3/ntstatus.h); Code::kDisconnected after the
// connection is lost and could not be re-established.
//
// Reconnect. When the connection breaks (reset, server restart, a request or keepalive ECHO left
// unanswered, a response failing its signature check) the client re-establishes it in the
// background: backoff from 0.1 s doubling to 5 s, for at most ClientOptions::reconnect_timeout
// (0: never). It offers the dialect negotiated first, the same ClientGuid and the previous session
// id, and accepts no less signing or sealing than the first session had (else kSecurity, and the
// client stays down). Calls made meanwhile wait for the outcome. Open files come back through
// durable handles v2: every file open asks for one (with a batch oplock, which the client
// acknowledges when the server breaks it) when ClientOptions::durable_handles and
// OpenOptions::durable are set; whether the server granted it decides whether the handle survives.
// Calls in flight at the break: reads, queries, Stat, ListDirectory, Flush, Close, Echo and opens
// that do not create-if-absent are sent again; writes and attribute changes are sent again on the
// re-established handle with SMB2_FLAGS_REPLAY_OPERATION; a durable open (create-if-absent too) is
// sent again as a replay with its first CreateGuid, which a server keeping replay state answers
// with the open its first attempt made; if the server instead finds the file existing, the call
// fails with kDisconnected (outcome unknown: the file may be this call's), never as "exists".
// Non-durable creates that must not exist yet, renames and deletes are not sent again, and fail
// with kDisconnected. An open without a durable handle dies with its connection ([MS-SMB2]
// 3.2.7.1). A durable open whose server no longer knows it (the durable reconnect answered
// STATUS_OBJECT_NAME_NOT_FOUND, e.g. after a restart that lost the server's state) is re-opened by its path with its first access, sharing and options and
// FILE_OPEN (never creating or truncating), asking again for a durable handle with a new
// CreateGuid, and kept only if the file found has the CreationTime (and on-disk id, where the
// server returns one) of the first open: a file replaced under the name is never taken for it.
// ClientStats::reopened_by_path counts these. Directories and delete-on-close opens are not
// re-opened by path. A handle that could not be re-established either way (any other refusal, the
// file gone or replaced) fails every later call with kDisconnected whose where() starts with
// "handle lost" (EIO in fuse-smbd): data written through it and not acknowledged is reported as
// an error, never dropped silently.
// Once the client gives up, calls fail with kDisconnected ("reconnect failed: gave up") or
// kSecurity. ClientStats::reconnects counts successful reconnects; each is logged with its cause,
// duration and the open files recovered by durable reconnect, re-opened by path and lost.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smb3/options.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3 {

// [MS-SMB2] 2.2.13 CreateDisposition.
enum class Disposition : uint32_t {
  kSupersede = 0,    // replace if exists, else create
  kOpen = 1,         // open existing, fail if absent
  kCreate = 2,       // create, fail if exists
  kOpenIf = 3,       // open or create
  kOverwrite = 4,    // open existing and truncate, fail if absent
  kOverwriteIf = 5,  // open or create, truncate
};

// [MS-SMB2] 2.2.13.1 access mask bits (subset).
inline constexpr uint32_t kAccessReadData = 0x00000001;
inline constexpr uint32_t kAccessWriteData = 0x00000002;
inline constexpr uint32_t kAccessAppendData = 0x00000004;
inline constexpr uint32_t kAccessReadEa = 0x00000008;
inline constexpr uint32_t kAccessWriteEa = 0x00000010;
inline constexpr uint32_t kAccessReadAttributes = 0x00000080;
inline constexpr uint32_t kAccessWriteAttributes = 0x00000100;
inline constexpr uint32_t kAccessDelete = 0x00010000;
inline constexpr uint32_t kAccessReadControl = 0x00020000;
inline constexpr uint32_t kAccessSynchronize = 0x00100000;
inline constexpr uint32_t kAccessGenericRead = 0x80000000;
inline constexpr uint32_t kAccessGenericWrite = 0x40000000;
inline constexpr uint32_t kAccessMaximumAllowed = 0x02000000;

enum class FileKind : uint8_t { kAny, kFile, kDirectory };

struct OpenOptions {
  uint32_t desired_access = kAccessReadData | kAccessReadAttributes | kAccessSynchronize;
  Disposition disposition = Disposition::kOpen;
  FileKind kind = FileKind::kAny;     // kFile/kDirectory constrain the create (NON_DIRECTORY/DIRECTORY)
  uint32_t file_attributes = 0;       // for a newly created file
  bool delete_on_close = false;
  bool durable = true;                // request a durable handle (if the client options allow)
};

// An open file or directory. Opaque; reference-counted so that asynchronous I/O may hold it.
// Close it with Client::Close; a handle dropped without Close is closed in the background.
class OpenFile;
using FileHandle = std::shared_ptr<OpenFile>;

// [MS-SMB2] 2.2.14 CreateAction values.
inline constexpr uint32_t kFileSuperseded = 0;
inline constexpr uint32_t kFileOpened = 1;
inline constexpr uint32_t kFileCreated = 2;
inline constexpr uint32_t kFileOverwritten = 3;

struct OpenResult {
  FileHandle handle;
  FileInfo info;
  uint32_t create_action = 0;  // kFileSuperseded, kFileOpened, kFileCreated or kFileOverwritten
};

using IoCallback = std::function<void(Result<size_t>)>;

// File data returned without a copy: views into the received messages, kept alive by `owners`.
// The pieces are in file order; their total is `size` (short only at end of file).
struct ReadView {
  std::vector<std::shared_ptr<const void>> owners;
  std::vector<std::span<const uint8_t>> pieces;
  size_t size = 0;
};
using ReadViewCallback = std::function<void(Result<ReadView>)>;

class Client {
 public:
  virtual ~Client() = default;

  // Connects, negotiates, authenticates and connects the tree. Errors name the cause:
  // kUnreachable (errno), kAuth (STATUS_LOGON_FAILURE...), kNtStatus STATUS_BAD_NETWORK_NAME (share),
  // kNotSupported (dialect refused), kSecurity (server cannot meet the signing/encryption demand).
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  virtual ConnectionInfo info() const = 0;
  virtual ClientStats stats() const = 0;

  // --- handles ---
  virtual Result<OpenResult> Open(std::string_view path, const OpenOptions& options) = 0;
  // Closes on the server; returns the final attributes when `final_info` is non-null.
  virtual Status Close(const FileHandle& file, FileInfo* final_info = nullptr) = 0;

  // --- data (split into READ/WRITE of at most max_read/max_write, pipelined) ---
  // Reads up to dst.size() bytes at `offset`; returns the count (short only at end of file).
  virtual Result<size_t> Read(const FileHandle& file, uint64_t offset, std::span<uint8_t> dst) = 0;
  // Writes all of src at `offset`; returns src.size() or an error (no partial success is hidden).
  virtual Result<size_t> Write(const FileHandle& file, uint64_t offset,
                               std::span<const uint8_t> src) = 0;
  // Asynchronous forms: `dst`/`src` must stay valid until `done` runs (exactly once).
  virtual void ReadAsync(const FileHandle& file, uint64_t offset, std::span<uint8_t> dst,
                         IoCallback done) = 0;
  virtual void WriteAsync(const FileHandle& file, uint64_t offset, std::span<const uint8_t> src,
                          IoCallback done) = 0;
  // Reads up to `length` bytes at `offset` and hands out views of the received data instead of
  // copying it (e.g. for fuse_reply_iov). The default implementation reads into a new buffer.
  // Over SMB Direct a view may hold registered RDMA buffers until its owners are dropped: at most
  // 16, and only once every READ of the view has its buffer, so a view of any length completes;
  // the data of its other READs is copied into ordinary memory as it arrives. Drop views promptly:
  // held buffers are unavailable to other reads and writes on the connection.
  virtual void ReadAsyncView(const FileHandle& file, uint64_t offset, size_t length,
                             ReadViewCallback done);
  // Lends `memory` to the library as a source of WRITE data. Over SMB Direct with memory windows
  // (and neither signing nor encryption), a WRITE whose source lies wholly inside lent memory is
  // read by the server by RDMA straight from it — no copy into a buffer of the library's pool —
  // through a window over exactly that span, bound for the one WRITE and invalidated by the
  // server with its response ([MS-SMB2] 3.2.4.7, SMB2_CHANNEL_RDMA_V1_INVALIDATE), so that the
  // memory is reachable only while that WRITE is in flight. The memory is registered with the
  // device on each SMB Direct connection when first used (again after a reconnect), and stays
  // pinned until unregistered. Elsewhere (TCP, signing, no windows, a failed registration) lent
  // memory is used as any other. Preconditions: `memory` stays mapped until UnregisterIoMemory;
  // lent regions do not overlap. Errors: kInvalidArgument (empty, or overlapping lent memory).
  // Thread-safe. The default implementation lends nothing and returns Ok.
  virtual Status RegisterIoMemory(std::span<uint8_t> memory) {
    (void)memory;
    return Status::Ok();
  }
  // Takes back memory lent by RegisterIoMemory (same span). Precondition: no I/O from it is in
  // flight. Unknown spans are ignored. Thread-safe.
  virtual void UnregisterIoMemory(std::span<uint8_t> memory) { (void)memory; }

  // Returns after the server acknowledged the FLUSH.
  virtual Status Flush(const FileHandle& file) = 0;

  // --- metadata ---
  virtual Result<FileInfo> QueryInfo(const FileHandle& file) = 0;
  // Stat by path in one round trip (compound CREATE + QUERY_INFO + CLOSE).
  virtual Result<FileInfo> Stat(std::string_view path) = 0;
  // All entries of a directory (continuation handled; "." and ".." left out). Bounded against a
  // server that never ends the listing: more than 1,048,576 entries or 256 MiB of entry lists in
  // one call is kResourceExhausted; an empty success answer, or the same entries sent twice in a
  // row, is kProtocol. The directory handle is closed either way.
  virtual Result<std::vector<DirEntry>> ListDirectory(std::string_view path) = 0;
  virtual Status SetEndOfFile(const FileHandle& file, uint64_t size) = 0;
  // Sets times (0 = unchanged) and attributes (0 = unchanged) via FILE_BASIC_INFORMATION.
  virtual Status SetBasicInfo(const FileHandle& file, FileTime creation, FileTime last_access,
                              FileTime last_write, FileTime change, uint32_t attributes) = 0;
  // Renames an open file/directory to `new_path` (share-relative).
  virtual Status Rename(const FileHandle& file, std::string_view new_path, bool replace) = 0;
  virtual Status SetDeleteOnClose(const FileHandle& file, bool on) = 0;
  // Preallocation where the server can ([MS-FSCC] FileAllocationInformation).
  virtual Status SetAllocationSize(const FileHandle& file, uint64_t size) = 0;

  // --- path conveniences (each one or two round trips) ---
  virtual Status Mkdir(std::string_view path) = 0;
  virtual Status Rmdir(std::string_view path) = 0;
  virtual Status Unlink(std::string_view path) = 0;
  virtual Status RenamePath(std::string_view from, std::string_view to, bool replace) = 0;

  // --- share / server ---
  virtual Result<FsInfo> StatFs() = 0;
  virtual Status Echo() = 0;
  virtual Result<std::vector<NetworkInterface>> QueryNetworkInterfaces() = 0;

  // Logs off and disconnects; further calls fail with kDisconnected. Idempotent.
  virtual void Disconnect() = 0;
};

// One line for a person: cause and fix (e.g. "wrong user name or password (STATUS_LOGON_FAILURE):
// check username/password or the credentials file").
std::string DescribeError(const Status& status);

}  // namespace smb3
