// SPDX-License-Identifier: LGPL-2.1-or-later
#include "init_reply.h"

#include <linux/fuse.h>

#include <cstring>

namespace fuse_smbd {

void InitReplyFlags::Want(bool parallel_dirops, bool handle_killpriv) {
  wanted_.store((parallel_dirops ? FUSE_PARALLEL_DIROPS : 0u) |
                (handle_killpriv ? FUSE_HANDLE_KILLPRIV : 0u));
}

std::string InitReplyFlags::added() const {
  const uint32_t a = added_.load();
  std::string s;
  if (a & FUSE_PARALLEL_DIROPS) s += "parallel_dirops";
  if (a & FUSE_HANDLE_KILLPRIV) s += s.empty() ? "handle_killpriv" : ",handle_killpriv";
  return s;
}

void InitReplyFlags::Observe(const void* request, size_t length) {
  if (length < sizeof(fuse_in_header)) return;
  fuse_in_header h;
  std::memcpy(&h, request, sizeof h);
  if (h.opcode != FUSE_INIT) return;
  // fuse_init_in: major, minor, max_readahead, flags (the kernel's offer) — 16 bytes since 7.6.
  constexpr size_t kFlagsEnd = offsetof(fuse_init_in, flags) + sizeof(uint32_t);
  if (length < sizeof(fuse_in_header) + kFlagsEnd) return;
  uint32_t offered;
  std::memcpy(&offered, static_cast<const uint8_t*>(request) + sizeof(fuse_in_header) +
                            offsetof(fuse_init_in, flags),
              sizeof offered);
  offered_.store(offered);
  init_unique_.store(h.unique);
  pending_.store(true);
}

bool InitReplyFlags::Patch(const iovec* iov, int count, std::array<iovec, 8>* copy,
                           std::array<uint8_t, 128>* arg) {
  if (!pending_.load()) return false;
  if (count < 2 || static_cast<size_t>(count) > copy->size()) return false;
  if (iov[0].iov_len < sizeof(fuse_out_header)) return false;
  fuse_out_header h;
  std::memcpy(&h, iov[0].iov_base, sizeof h);
  if (h.unique != init_unique_.load()) return false;
  pending_.store(false);  // the one reply to INIT, whatever it says
  constexpr size_t kFlagsEnd = offsetof(fuse_init_out, flags) + sizeof(uint32_t);
  if (h.error != 0 || iov[1].iov_len < kFlagsEnd || iov[1].iov_len > arg->size()) return false;
  const uint32_t add = wanted_.load() & offered_.load() & (FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV);
  if (add == 0) return false;
  uint32_t flags;
  std::memcpy(&flags, static_cast<const uint8_t*>(iov[1].iov_base) + offsetof(fuse_init_out, flags),
              sizeof flags);
  if ((add & ~flags) == 0) return false;  // a libfuse that sends them already
  std::memcpy(arg->data(), iov[1].iov_base, iov[1].iov_len);
  added_.store(add & ~flags);
  flags |= add;
  std::memcpy(arg->data() + offsetof(fuse_init_out, flags), &flags, sizeof flags);
  for (int i = 0; i < count; ++i) (*copy)[i] = iov[i];
  (*copy)[1].iov_base = arg->data();
  return true;
}

}  // namespace fuse_smbd
