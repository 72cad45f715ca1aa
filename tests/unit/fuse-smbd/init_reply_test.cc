// SPDX-License-Identifier: LGPL-2.1-or-later
#include "init_reply.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstring>
#include <vector>

namespace fuse_smbd {
namespace {

// The INIT request the kernel writes: header, then fuse_init_in offering `flags`.
std::vector<uint8_t> InitRequest(uint64_t unique, uint32_t flags, uint32_t opcode = FUSE_INIT) {
  const fuse_init_in in{.major = 7, .minor = 45, .max_readahead = 0, .flags = flags};
  const fuse_in_header h{
      .len = sizeof(fuse_in_header) + sizeof in, .opcode = opcode, .unique = unique};
  std::vector<uint8_t> b(sizeof h + sizeof in);
  std::memcpy(b.data(), &h, sizeof h);
  std::memcpy(b.data() + sizeof h, &in, sizeof in);
  return b;
}

// A reply as libfuse writes it: iov[0] the header, iov[1] the argument.
struct ReplyIov {
  fuse_out_header header{};
  fuse_init_out out{};
  iovec iov[2];
  ReplyIov(uint64_t unique, uint32_t flags, int32_t error = 0)
      : header{.len = sizeof(fuse_out_header) + sizeof(fuse_init_out), .error = error, .unique = unique} {
    out.major = 7;
    out.minor = 38;
    out.flags = flags;
    out.max_write = 1 << 20;
    iov[0] = {&header, sizeof header};
    iov[1] = {&out, sizeof out};
  }
};

fuse_init_out ArgOf(const std::array<iovec, 8>& copy) {
  fuse_init_out out;
  std::memcpy(&out, copy[1].iov_base, sizeof out);
  return out;
}

constexpr uint32_t kLibfuse314Reply = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS;

// The daemon's side: the kernel's INIT (unique 2) offering `offered`, init() wanting both flags or
// neither, and the buffers Patch fills.
struct Session {
  InitReplyFlags flags;
  std::array<iovec, 8> copy;
  std::array<uint8_t, 128> arg;
  Session(uint32_t offered, bool want) {
    auto req = InitRequest(2, offered);
    flags.Observe(req.data(), req.size());
    flags.Want(want, want);
  }
  bool Patch(ReplyIov& r, int count = 2) { return flags.Patch(r.iov, count, &copy, &arg); }
};

TEST(InitReplyFlags, AddsWhatTheKernelOffersAndInitWants) {
  Session s(FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_ASYNC_READ, true);
  ReplyIov r(2, kLibfuse314Reply);
  ASSERT_TRUE(s.Patch(r));
  const fuse_init_out out = ArgOf(s.copy);
  EXPECT_EQ(out.flags, kLibfuse314Reply | FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV);
  EXPECT_EQ(out.max_write, 1u << 20);  // the rest of the reply as libfuse made it
  EXPECT_EQ(s.copy[0].iov_base, r.iov[0].iov_base);
  EXPECT_EQ(s.copy[1].iov_len, sizeof(fuse_init_out));
  EXPECT_EQ(r.out.flags, kLibfuse314Reply);  // libfuse's own buffer is not written
  EXPECT_EQ(s.flags.added(), "parallel_dirops,handle_killpriv");
  // Only once: a later message with the same unique passes as it is.
  EXPECT_FALSE(s.Patch(r));
}

TEST(InitReplyFlags, NeverAddsWhatTheKernelDidNotOffer) {
  Session s(FUSE_HANDLE_KILLPRIV, true);
  ReplyIov r(2, kLibfuse314Reply);
  ASSERT_TRUE(s.Patch(r));
  EXPECT_EQ(ArgOf(s.copy).flags, kLibfuse314Reply | FUSE_HANDLE_KILLPRIV);
  EXPECT_EQ(s.flags.added(), "handle_killpriv");
}

TEST(InitReplyFlags, NeverAddsWhatInitDidNotWant) {
  Session s(FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV, false);
  ReplyIov r(2, kLibfuse314Reply);
  EXPECT_FALSE(s.Patch(r));
  EXPECT_EQ(s.flags.added(), "");
}

TEST(InitReplyFlags, LeavesAReplyThatHasThemAlone) {
  // A libfuse that sends the flags itself (3.16 and later).
  Session s(FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV, true);
  ReplyIov r(2, kLibfuse314Reply | FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV);
  EXPECT_FALSE(s.Patch(r));
}

TEST(InitReplyFlags, OtherMessagesPassUntouched) {
  InitReplyFlags f;
  f.Want(true, true);
  std::array<iovec, 8> copy;
  std::array<uint8_t, 128> arg;
  // Before any INIT was read.
  ReplyIov early(2, kLibfuse314Reply);
  EXPECT_FALSE(f.Patch(early.iov, 2, &copy, &arg));
  // Another request (a LOOKUP) is not taken for INIT.
  auto lookup = InitRequest(4, FUSE_PARALLEL_DIROPS, FUSE_LOOKUP);
  f.Observe(lookup.data(), lookup.size());
  ReplyIov other(4, kLibfuse314Reply);
  EXPECT_FALSE(f.Patch(other.iov, 2, &copy, &arg));
  // A truncated INIT request is ignored.
  auto cut = InitRequest(6, FUSE_PARALLEL_DIROPS);
  f.Observe(cut.data(), sizeof(fuse_in_header) + 8);
  ReplyIov cut_reply(6, kLibfuse314Reply);
  EXPECT_FALSE(f.Patch(cut_reply.iov, 2, &copy, &arg));
  // The INIT seen; a reply to another unique, an error reply, a header alone, a short argument.
  auto init = InitRequest(8, FUSE_PARALLEL_DIROPS);
  f.Observe(init.data(), init.size());
  ReplyIov wrong(10, kLibfuse314Reply);
  EXPECT_FALSE(f.Patch(wrong.iov, 2, &copy, &arg));
  ReplyIov header_only(8, kLibfuse314Reply);
  EXPECT_FALSE(f.Patch(header_only.iov, 1, &copy, &arg));
  ReplyIov short_arg(8, kLibfuse314Reply);
  short_arg.iov[1].iov_len = 8;  // FUSE_COMPAT_INIT_OUT_SIZE: no flags field
  EXPECT_FALSE(f.Patch(short_arg.iov, 2, &copy, &arg));  // the INIT reply: consumed, not patched
  ReplyIov after(8, kLibfuse314Reply);
  EXPECT_FALSE(f.Patch(after.iov, 2, &copy, &arg));
  EXPECT_EQ(f.added(), "");

  InitReplyFlags g;
  g.Want(true, true);
  g.Observe(init.data(), init.size());
  ReplyIov refused(8, 0, -EPROTO);
  EXPECT_FALSE(g.Patch(refused.iov, 2, &copy, &arg));
}

}  // namespace
}  // namespace fuse_smbd
