// SPDX-License-Identifier: LGPL-2.1-or-later
// InitReplyFlags: the kernel features libfuse 3.14 negotiates but never tells the kernel.
//
// libfuse 3.14.0 (Debian 12) turns init()'s conn->want into its INIT reply flag by flag, and the
// list lacks FUSE_PARALLEL_DIROPS and FUSE_HANDLE_KILLPRIV (libfuse pull requests #861 and #885,
// released in 3.16): whatever the filesystem wants, the kernel then
//   - serializes every lookup and readdir within one directory, and
//   - asks for a file's attributes (a GETATTR round trip to the server) before each chown and
//     truncate, to clear setuid/setgid itself.
// The daemon reads and writes /dev/fuse through libfuse's custom I/O hooks
// (fuse_session_custom_io): Observe() sees the kernel's INIT request as it is read (its unique and
// offered flags), and Patch() adds to libfuse's INIT reply, as it is written, those of the two
// flags the kernel offered and init() wanted. Every other message passes untouched.
//
// Thread-safe: Observe and Patch run on the FUSE loop thread, Want on the same thread from init().
#pragma once

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace fuse_smbd {

class InitReplyFlags {
 public:
  // What init() wants of the two (from conn->want's FUSE_CAP_PARALLEL_DIROPS and
  // FUSE_CAP_HANDLE_KILLPRIV).
  void Want(bool parallel_dirops, bool handle_killpriv);

  // Called with every request read from /dev/fuse; remembers the INIT request.
  void Observe(const void* request, size_t length);

  // When iov[0..count) is the successful reply to the INIT request seen by Observe and lacks a
  // flag to add, returns true and fills `copy` with iov[0..count) where the init_out argument is
  // replaced by `arg`, a copy carrying the added flags; otherwise false (write iov as it is). Only
  // the first reply with the INIT request's unique is considered.
  bool Patch(const iovec* iov, int count, std::array<iovec, 8>* copy,
             std::array<uint8_t, 128>* arg);

  // What Patch added to the reply, for the log: "parallel_dirops,handle_killpriv", or "" until
  // the reply was written or when nothing was missing.
  std::string added() const;

 private:
  std::atomic<uint32_t> wanted_{0};
  std::atomic<uint32_t> offered_{0};
  std::atomic<uint64_t> init_unique_{0};
  std::atomic<bool> pending_{false};
  std::atomic<uint32_t> added_{0};
};

}  // namespace fuse_smbd
