// SPDX-License-Identifier: LGPL-2.1-or-later
// Pipelined whole-file transfers for `smb3 get` / `smb3 put`: a window of buffers stays in flight
// so the wire never idles between requests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "smb3/client.h"

namespace smb3::cli {

struct TransferOptions {
  size_t chunk_bytes = 4u << 20;  // one ReadAsync/WriteAsync (split by the client into max_read/max_write)
  size_t window = 4;              // chunks in flight
  // Called now and then with bytes done so far (and once at the end).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Copies the remote file (already open for reading) to local file descriptor `fd`; returns bytes.
Result<uint64_t> Download(Client& client, const FileHandle& file, uint64_t size, int fd,
                          const TransferOptions& options);
// Copies local `fd` (size bytes, or until EOF when size is unknown = UINT64_MAX) to the remote file.
Result<uint64_t> Upload(Client& client, const FileHandle& file, int fd, uint64_t size,
                        const TransferOptions& options);

}  // namespace smb3::cli
