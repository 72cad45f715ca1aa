// SPDX-License-Identifier: LGPL-2.1-or-later
// Plain value types of the public API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smb3 {

// [MS-FSCC] 2.6 file attributes (subset used by callers).
inline constexpr uint32_t kFileAttributeReadonly = 0x00000001;
inline constexpr uint32_t kFileAttributeHidden = 0x00000002;
inline constexpr uint32_t kFileAttributeSystem = 0x00000004;
inline constexpr uint32_t kFileAttributeDirectory = 0x00000010;
inline constexpr uint32_t kFileAttributeArchive = 0x00000020;
inline constexpr uint32_t kFileAttributeNormal = 0x00000080;
inline constexpr uint32_t kFileAttributeSparse = 0x00000200;
inline constexpr uint32_t kFileAttributeReparsePoint = 0x00000400;

// FILETIME: 100 ns units since 1601-01-01 UTC. 0 in a setter means "leave unchanged".
using FileTime = uint64_t;
inline constexpr uint64_t kFileTimeUnixEpoch = 116444736000000000ULL;

// The server's handle for an open file or directory ([MS-SMB2] 2.2.14.1 SMB2_FILEID).
struct FileId {
  uint64_t persistent = 0;
  uint64_t volatile_id = 0;
  bool operator==(const FileId&) const = default;
};

// Metadata of a file or directory, filled from FILE_ALL_INFORMATION, FILE_NETWORK_OPEN_INFORMATION,
// a CREATE response or a directory entry.
struct FileInfo {
  FileTime creation_time = 0;
  FileTime last_access_time = 0;
  FileTime last_write_time = 0;
  FileTime change_time = 0;
  uint64_t allocation_size = 0;
  uint64_t end_of_file = 0;
  uint32_t attributes = 0;
  uint64_t file_id = 0;     // the server's 64-bit file index (FileIndex/FileId); 0 when unknown
  uint32_t nlink = 1;
  bool delete_pending = false;

  bool is_directory() const { return (attributes & kFileAttributeDirectory) != 0; }
};

struct DirEntry {
  std::string name;  // UTF-8, never "." or ".."
  FileInfo info;
};

// [MS-FSCC] 2.5.4 FileFsFullSizeInformation + 2.5.1 FileFsAttributeInformation.
struct FsInfo {
  uint64_t total_allocation_units = 0;
  uint64_t caller_available_units = 0;
  uint64_t actual_available_units = 0;
  uint32_t sectors_per_unit = 0;
  uint32_t bytes_per_sector = 0;
  uint32_t fs_attributes = 0;
  uint32_t max_name_length = 255;
  std::string fs_name;
};

// [MS-SMB2] 2.2.32.5 NETWORK_INTERFACE_INFO, parsed.
struct NetworkInterface {
  uint32_t if_index = 0;
  bool rss_capable = false;
  bool rdma_capable = false;
  uint64_t link_speed = 0;  // bits per second
  std::string address;      // numeric IPv4 or IPv6
};

enum class TransportKind : uint8_t { kTcp, kSmbDirect };

// What was negotiated, for `smb3 probe` and stats.
struct ConnectionInfo {
  std::string server;
  uint16_t port = 0;
  TransportKind transport = TransportKind::kTcp;
  std::string transport_reason;  // why this transport (e.g. "rdma=no", "no RDMA device")
  uint16_t dialect = 0;          // 0x0300, 0x0302, 0x0311
  std::string cipher;            // "none", "AES-128-GCM", ...
  std::string signing;           // "none", "AES-128-GMAC", "AES-128-CMAC", "HMAC-SHA256"
  bool signing_required = false; // every message of the session is signed
  bool encryption_required = false;
  uint32_t max_read_size = 0;
  uint32_t max_write_size = 0;
  uint32_t max_transact_size = 0;
  uint32_t credits = 0;          // credits the client holds now
  uint32_t server_capabilities = 0;
  std::string server_guid;
  bool guest = false;
};

// Counters since the client connected; all monotonically increasing except credits_*.
struct ClientStats {
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t credit_stalls = 0;     // times a request waited for credits
  uint64_t pending_interims = 0;  // STATUS_PENDING interim responses seen
  uint64_t reconnects = 0;
  // Opens re-established after a reconnect by opening their path again (the server had lost them,
  // e.g. restarted) and found to be the same file.
  uint64_t reopened_by_path = 0;
  uint64_t signed_messages = 0;
  uint64_t encrypted_messages = 0;
  uint32_t credits_held = 0;
  uint64_t bytes_rdma_read = 0;   // server RDMA-read from us (our writes)
  uint64_t bytes_rdma_write = 0;  // server RDMA-wrote to us (our reads)
  uint64_t bytes_inline = 0;      // file data carried inside SMB2 messages
  // The SMB Direct data path ([MS-SMB2] 3.2.4.6, 3.2.4.7): READ/WRITE above 4 KiB move their data
  // by server-issued RDMA unless signing or encryption is in force.
  // "rdma", "inline: signing required", "inline: encryption required", or "tcp" (no RDMA channel).
  std::string rdma_data_path = "tcp";
  std::string rdma_mechanism;     // "memory window" or "register per I/O"; empty without RDMA
  uint64_t rdma_reads = 0;        // READ requests whose data the server RDMA-wrote to us
  uint64_t rdma_writes = 0;       // WRITE requests whose data the server RDMA-read from us
  uint64_t rdma_acquire_exhausted = 0;  // I/O that found no RDMA buffer free within its wait
  // Of the current connection's channel: I/O that waited for a buffer (all in flight), and how
  // long they waited in total, microseconds.
  uint64_t rdma_acquire_waits = 0;
  uint64_t rdma_acquire_wait_us = 0;
  // File data our code copied into or out of registered buffers for I/O whose data moved by RDMA
  // (WRITE data not already in a registered buffer; READ data copied out where the server could
  // not invalidate the key). Per byte moved: bytes_copied_rdma / (bytes_rdma_read +
  // bytes_rdma_write); 0 is the zero-copy goal.
  uint64_t bytes_copied_rdma = 0;
  // Of the current connection's channel: windows (or per-I/O registrations) bound, invalidated by
  // the server with its response, revoked by us before reuse, and binds that failed.
  uint64_t rdma_windows_bound = 0;
  uint64_t rdma_windows_invalidated_remote = 0;
  uint64_t rdma_windows_invalidated_local = 0;
  uint64_t rdma_bind_failures = 0;
};

}  // namespace smb3
