// SPDX-License-Identifier: LGPL-2.1-or-later
// File and directory operations of ClientImpl. Multi-request operations are compounded
// ([MS-SMB2] 3.2.4.1.4) so that a stat, mkdir, unlink or rename costs one round trip.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "client/client_impl.h"
#include "client/rdma_io.h"
#include "client/read_view.h"
#include "client/reconnect.h"
#include "crypto/crypto.h"
#include "smb2/close.h"
#include "smb2/create.h"
#include "smb2/echo.h"
#include "smb2/file_info.h"
#include "smb2/flush.h"
#include "smb2/fsctl.h"
#include "smb2/ioctl.h"
#include "smb2/query_directory.h"
#include "smb2/query_info.h"
#include "smb2/read.h"
#include "smb2/set_info.h"
#include "smb2/write.h"
#include "smb3/ntstatus.h"

namespace smb3::client {

namespace {

// [MS-SMB2] 3.2.4.1.4: related operations name the previous element's handle with all ones.
constexpr FileId kRelatedFileId{0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL};

uint32_t CreateOptionsFor(FileKind kind) {
  switch (kind) {
    case FileKind::kFile: return smb2::FILE_NON_DIRECTORY_FILE;
    case FileKind::kDirectory: return smb2::FILE_DIRECTORY_FILE;
    case FileKind::kAny: break;
  }
  return 0;
}

// A request with its body encoded by `encode` (a codec function of smb2/).
template <class Body>
Result<Request> Encoded(Request r, const Body& body, Status (*encode)(const Body&, ByteWriter&)) {
  ByteWriter w(r.message);
  SMB3_RETURN_IF_ERROR(encode(body, w));
  return r;
}

// The first failing NTSTATUS of a compound, or the transport error.
Status FirstFailure(std::vector<Result<Response>>& rs, const char* where) {
  for (auto& r : rs) {
    if (!r.ok()) return r.status();
    uint32_t st = r->nt_status();
    if (st != STATUS_SUCCESS && st != STATUS_BUFFER_OVERFLOW) return Status::NtStatus(st, where);
  }
  return Status::Ok();
}

// Runs `fn` for a sync caller over an async API.
template <class T>
class Waiter {
 public:
  std::function<void(Result<T>)> Callback() {
    return [this](Result<T> r) {
      std::lock_guard lock(mu_);
      result_ = std::move(r);
      done_ = true;
      cv_.notify_one();
    };
  }
  Result<T> Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return std::move(*result_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::optional<Result<T>> result_;
};

// Collects the chunks of one read or write; completes once, when every chunk answered.
struct IoAggregate {
  std::mutex mu;
  std::vector<size_t> done_bytes;  // per chunk
  std::vector<size_t> want_bytes;
  size_t remaining = 0;
  Status error;
  IoCallback done;

  void Complete(size_t index, Result<size_t> r) {
    bool last;
    {
      std::lock_guard lock(mu);
      if (r.ok()) done_bytes[index] = *r;
      else if (error.ok()) error = r.status();
      last = --remaining == 0;
    }
    if (!last) return;
    if (!error.ok()) return done(error);
    // Bytes transferred contiguously from the start: a short chunk ends the run (end of file).
    size_t total = 0;
    for (size_t i = 0; i < done_bytes.size(); ++i) {
      total += done_bytes[i];
      if (done_bytes[i] < want_bytes[i]) break;
    }
    done(total);
  }
};

// A listing is held in memory whole, so a server that never answers STATUS_NO_MORE_FILES (or
// sends the same entries again and again) must not make it grow without bound. Caps per
// ListDirectory call, documented with Client::ListDirectory:
//   - at most kMaxListingEntries entries, and
//   - at most kMaxListingBytes of entry lists received from the server
//     (tests/sim/list_directory_hostile_test.cc: a listing stopped by either cap peaked at 256 and
//     272 MiB RSS, client and scripted server in one process),
// both Code::kResourceExhausted; an empty STATUS_SUCCESS answer or an answer byte-identical to the
// one before it is the server making no progress: Code::kProtocol.
// [MS-ERREF] 2.3.1: what [MS-SMB2] 3.3.5.9.10 answers a replay from another session.
constexpr uint32_t kStatusDuplicateObjectId = 0xC000022A;

constexpr size_t kMaxListingEntries = size_t{1} << 20;
constexpr uint64_t kMaxListingBytes = uint64_t{256} << 20;

class ListingGuard {
 public:
  // Accounts one QUERY_DIRECTORY output buffer of a listing before its entries are decoded.
  Status Take(ByteView output_buffer) {
    // [MS-SMB2] 3.3.5.18: a server with no (more) entries answers STATUS_NO_MORE_FILES; a success
    // carrying nothing would make the continuation loop spin.
    if (output_buffer.empty())
      return Status::Protocol("list directory: the server answered success with no entries");
    received_ += output_buffer.size();
    if (received_ > kMaxListingBytes)
      return Status(Code::kResourceExhausted, 0,
                    "list directory: more than 256 MiB of entries (the per-listing cap)");
    // The same buffer twice in a row: the server restarts the scan instead of continuing it.
    if (std::ranges::equal(output_buffer, last_))
      return Status::Protocol("list directory: the server repeats the same entries");
    last_.assign(output_buffer.begin(), output_buffer.end());
    return Status::Ok();
  }

 private:
  uint64_t received_ = 0;
  std::vector<uint8_t> last_;  // the previous output buffer (at most one response's worth)
};

}  // namespace

Result<OpenResult> ClientImpl::OpenInternal(std::string_view path, const OpenOptions& options,
                                            uint32_t extra_create_options) {
  smb2::CreateRequest c;
  c.desired_access = options.desired_access;
  c.file_attributes = options.file_attributes;
  c.create_disposition = static_cast<uint32_t>(options.disposition);
  c.create_options = CreateOptionsFor(options.kind) | extra_create_options |
                     (options.delete_on_close ? smb2::FILE_DELETE_ON_CLOSE : 0);
  c.name = path;
  c.contexts.query_on_disk_id = true;  // stable inode numbers from the server's file id
  // [MS-SMB2] 3.2.4.3.5: a durable open asks for SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 with a new
  // CreateGuid and a batch oplock (without one the server grants no durable handle). Not for
  // directories (no batch oplock there) nor delete-on-close opens.
  const bool want_durable = options.durable && options_.durable_handles &&
                            options.kind != FileKind::kDirectory && !options.delete_on_close;
  // One CreateGuid for the request and every replay of it: [MS-SMB2] 3.2.4.3.5 makes it new per
  // create request, and 3.3.5.9.10 lets the server recognise a replay by it.
  ReopenInfo ri;
  if (want_durable) {
    smb2::DurableHandleRequestV2 dh2q;
    SMB3_RETURN_IF_ERROR(crypto::RandomBytes(dh2q.create_guid));
    ri.create_guid = dh2q.create_guid;
    c.contexts.durable_handle_v2 = dh2q;
    c.requested_oplock_level = smb2::SMB2_OPLOCK_LEVEL_BATCH;
  }
  // Sent again after a reconnect when doing so cannot change the outcome: an open of an existing
  // file as is; a durable create as a replay (same CreateGuid, SMB2_FLAGS_REPLAY_OPERATION), which
  // [MS-SMB2] 3.3.5.9.10 answers from the open the first attempt made instead of creating again.
  // Never a non-durable create-if-absent (the first attempt may have created it: the retry would
  // report a collision with itself) nor a delete-on-close open.
  Retry retry = Retry::kIdempotent;
  if (options.delete_on_close) retry = Retry::kNever;
  else if (want_durable) retry = Retry::kReplay;
  else if (options.disposition == Disposition::kCreate) retry = Retry::kNever;
  return WithReconnect(retry, [&](int attempt) -> Result<OpenResult> {
    SMB3_ASSIGN_OR_RETURN(Request r, Encoded(TreeRequest(smb2::SMB2_CREATE), c, smb2::EncodeCreateRequest));
    // [MS-SMB2] 3.2.7.1 / 3.2.5.1.x: an outstanding create carrying
    // SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 is replayed with SMB2_FLAGS_REPLAY_OPERATION (2.2.1.2,
    // SMB 3.x only, the only dialects we speak).
    if (want_durable && attempt > 0) r.extra_flags |= smb2::SMB2_FLAGS_REPLAY_OPERATION;
    SMB3_ASSIGN_OR_RETURN(Response resp, conn()->Call(std::move(r)));
    const uint32_t st = resp.nt_status();
    if (st != STATUS_SUCCESS) {
      // A replayed create-if-absent that meets an existing file: the server did not recognise the
      // replay (3.3.5.9.10 matches it only within the session that made the open, so a server
      // that kept no replay state across the new session, e.g. Samba 4.17, runs it afresh) and the
      // file may well be the one the lost first attempt created. Neither "created" nor EEXIST can
      // be vouched for: the caller is told the outcome is unknown.
      if (attempt > 0 && options.disposition == Disposition::kCreate &&
          (st == STATUS_OBJECT_NAME_COLLISION || st == kStatusDuplicateObjectId))
        return Status(Code::kDisconnected, st,
                      "create: connection lost before the answer and the replay was not "
                      "recognised; the file exists, possibly created by this call");
      return Status::NtStatus(st, "create");
    }
    SMB3_ASSIGN_OR_RETURN(auto cr, smb2::DecodeCreateResponse(resp.message));
    ri.desired_access = c.desired_access;
    ri.file_attributes = c.file_attributes;
    ri.share_access = c.share_access;
    ri.create_disposition = c.create_disposition;
    ri.create_options = c.create_options;
    ri.oplock_level = cr.oplock_level;
    ri.durable = want_durable && cr.contexts.durable_handle_v2.has_value();
    ri.durable_requested = want_durable;
    ri.creation_time = cr.creation_time;
    if (cr.contexts.on_disk_id) {
      ri.has_on_disk_id = true;
      ri.disk_file_id = cr.contexts.on_disk_id->disk_file_id;
      ri.volume_id = cr.contexts.on_disk_id->volume_id;
    }
    OpenResult out;
    out.info = cr.ToFileInfo();
    out.create_action = cr.create_action;
    out.handle = std::make_shared<OpenFile>(conn(), cr.file_id, std::string(path),
                                            out.info.is_directory(), tree_id_, tree_encrypt_, ri);
    RegisterOpen(out.handle);
    return out;
  });
}

Result<OpenResult> ClientImpl::Open(std::string_view path, const OpenOptions& options) {
  return OpenInternal(path, options, 0);
}

Status ClientImpl::Close(const FileHandle& file, FileInfo* final_info) {
  if (!file) return Status::Invalid("close: null handle");
  if (!file->MarkClosed()) return Status::Invalid("close: handle already closed");
  // Sent again after a reconnect (the durable open was re-established under a new FileId). When
  // it could not be, the caller is told: writes acknowledged on the lost handle are on the server,
  // but nothing after the break can be vouched for.
  Status st = WithReconnect(Retry::kIdempotent, [&](int) -> Status {
    SMB3_RETURN_IF_ERROR(file->usable());
    smb2::CloseRequest c;
    c.file_id = file->id();
    c.flags = final_info ? smb2::SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB : 0;
    SMB3_ASSIGN_OR_RETURN(Request r, Encoded(TreeRequest(smb2::SMB2_CLOSE), c, smb2::EncodeCloseRequest));
    SMB3_ASSIGN_OR_RETURN(Response resp, CallOk(std::move(r), "close"));
    if (final_info) {
      SMB3_ASSIGN_OR_RETURN(auto cr, smb2::DecodeCloseResponse(resp.message));
      *final_info = cr.ToFileInfo();
    }
    return Status::Ok();
  });
  file->MarkReleased();
  return st;
}

void ClientImpl::ReadAsync(const FileHandle& file, uint64_t offset, std::span<uint8_t> dst,
                           IoCallback done) {
  // The copying form over the view form: one copy, from the received messages into `dst`.
  ReadAsyncView(file, offset, dst.size(), [dst, done = std::move(done)](Result<ReadView> r) {
    if (!r.ok()) return done(r.status());
    size_t at = 0;
    for (ByteView piece : r->pieces) {
      std::memcpy(dst.data() + at, piece.data(), piece.size());
      at += piece.size();
    }
    done(at);
  });
}

void ClientImpl::ReadAsyncView(const FileHandle& file, uint64_t offset, size_t length,
                               ReadViewCallback done) {
  if (!file || file->closed()) return done(Status::Invalid("read: handle is closed"));
  if (length == 0) return done(ReadView{});
  const size_t chunk = max_read();
  const size_t n = (length + chunk - 1) / chunk;
  struct Pieces {
    std::mutex mu;
    std::vector<std::shared_ptr<const void>> owners;
    std::vector<ByteView> views;
    std::vector<size_t> want;
    size_t remaining;
    Status error;
    ReadViewCallback done;
  };
  auto p = std::make_shared<Pieces>();
  p->owners.resize(n);
  p->views.resize(n);
  p->want.resize(n);
  p->remaining = n;
  p->done = std::move(done);
  auto complete = [p](size_t i, Status st, std::shared_ptr<const void> owner, ByteView data) {
    bool last;
    {
      std::lock_guard lock(p->mu);
      if (!st.ok() && p->error.ok()) p->error = st;
      p->owners[i] = std::move(owner);
      p->views[i] = data;
      last = --p->remaining == 0;
    }
    if (!last) return;
    if (!p->error.ok()) return p->done(p->error);
    ReadView rv;
    for (size_t k = 0; k < p->views.size(); ++k) {
      if (!p->views[k].empty()) {
        rv.owners.push_back(std::move(p->owners[k]));
        rv.pieces.push_back(p->views[k]);
        rv.size += p->views[k].size();
      }
      if (p->views[k].size() < p->want[k]) break;  // end of file: later pieces cannot follow
    }
    p->done(std::move(rv));
  };
  reads_.fetch_add(1, std::memory_order_relaxed);
  // Which pieces keep their registered buffer (zero copy) and which are copied out, so that a view
  // larger than the buffer pool cannot wait on itself (read_view.h).
  auto budget = std::make_shared<ViewBufferBudget>(n);
  for (size_t i = 0; i < n; ++i) {
    size_t len = std::min(chunk, length - i * chunk);
    p->want[i] = len;
    // The registered buffer of the current attempt when the data comes by RDMA (rdma_io.h).
    auto rdma = std::make_shared<std::shared_ptr<RdmaTransfer>>();
    // Encoded again with the open's current FileId when a reconnect makes it send again.
    auto build = [this, file, len, at = offset + i * chunk, rdma,
                  budget](int attempt) -> Result<Request> {
      auto built = [&]() -> Result<Request> {
        SMB3_RETURN_IF_ERROR(file->usable());
        smb2::ReadRequest rr;
        rr.length = static_cast<uint32_t>(len);
        rr.offset = at;
        rr.file_id = file->id();
        Request r = TreeRequest(smb2::SMB2_READ);
        *rdma = RdmaFor(conn().get(), len, /*server_writes=*/true, r);
        SMB3_RETURN_IF_ERROR(EncodeReadFor(r, rr, rdma->get()));
        return r;
      }();
      if (attempt == 0) budget->Built();
      return built;
    };
    SubmitWithReconnect(Retry::kIdempotent, std::move(build), [this, complete, i, len, rdma, budget](Result<Response> resp) {
      // Released when this returns, unless the piece's owner keeps it (a zero-copy view).
      std::shared_ptr<RdmaTransfer> transfer = std::exchange(*rdma, nullptr);
      if (!resp.ok()) return complete(i, resp.status(), nullptr, {});
      uint32_t st = resp->nt_status();
      if (st == STATUS_END_OF_FILE) return complete(i, Status::Ok(), nullptr, {});
      if (st != STATUS_SUCCESS) return complete(i, Status::NtStatus(st, "read"), nullptr, {});
      auto piece = ReadResponseData(*resp, len, transfer, rdma_);
      if (!piece.ok()) {
        transfer.reset();
        return complete(i, piece.status(), nullptr, {});
      }
      RdmaReadPiece settled = budget->Settle(std::move(piece).value(), transfer.get());
      // A piece copied out returns its buffer here, before the caller sees the data.
      transfer.reset();
      bytes_read_.fetch_add(settled.data.size(), std::memory_order_relaxed);
      complete(i, Status::Ok(), std::move(settled.owner), settled.data);
    });
  }
}

void ClientImpl::WriteAsync(const FileHandle& file, uint64_t offset, std::span<const uint8_t> src,
                            IoCallback done) {
  if (!file || file->closed()) return done(Status::Invalid("write: handle is closed"));
  if (src.empty()) return done(size_t{0});
  const size_t chunk = max_write();
  const size_t n = (src.size() + chunk - 1) / chunk;
  auto agg = std::make_shared<IoAggregate>();
  agg->done_bytes.assign(n, 0);
  agg->want_bytes.resize(n);
  agg->remaining = n;
  agg->done = [done = std::move(done), total = src.size()](Result<size_t> r) {
    // A write is all or nothing for the caller: a short count is an error, never hidden.
    if (r.ok() && *r != total)
      return done(Status(Code::kSystem, EIO, "write: the server wrote fewer bytes than sent"));
    done(std::move(r));
  };
  writes_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    size_t off = i * chunk;
    size_t len = std::min(chunk, src.size() - off);
    agg->want_bytes[i] = len;
    // Encoded again with the open's current FileId when a reconnect makes it send again; the data
    // reaches the server only through an open re-established by its durable handle (a lost open
    // fails the write: never silently dropped).
    auto rdma = std::make_shared<std::shared_ptr<RdmaTransfer>>();
    auto build = [this, file, len, at = offset + off, data = src.subspan(off, len), rdma](int attempt) -> Result<Request> {
      SMB3_RETURN_IF_ERROR(file->usable());
      smb2::WriteRequest wr;
      wr.offset = at;
      wr.file_id = file->id();
      Request r = TreeRequest(smb2::SMB2_WRITE);
      // [MS-SMB2] 2.2.1.2: SMB2_FLAGS_REPLAY_OPERATION, valid for the SMB 3.x dialect family (the
      // only ones we speak), marks a request sent again after the channel that carried it failed
      // (3.2.7.1, 3.2.5.1.x STATUS_FILE_NOT_AVAILABLE); here on the open re-established by its
      // durable handle (3.2.4.4).
      if (attempt > 0) r.extra_flags |= smb2::SMB2_FLAGS_REPLAY_OPERATION;
      // Inline (the data as its own iovec: no copy on plain connections), or by RDMA: from where
      // the data is when the caller lent that memory (RegisterIoMemory), else from a registered
      // buffer it is copied into (rdma_io.h).
      *rdma = RdmaFor(conn().get(), len, /*server_writes=*/false, r, data);
      SMB3_RETURN_IF_ERROR(EncodeWriteFor(r, wr, data, rdma->get()));
      return r;
    };
    SubmitWithReconnect(Retry::kReplay, std::move(build), [this, agg, i, len, rdma](Result<Response> resp) {
      // The buffer is released before the caller hears of the outcome.
      std::shared_ptr<RdmaTransfer> transfer = std::exchange(*rdma, nullptr);
      if (!resp.ok()) return agg->Complete(i, resp.status());
      if (resp->nt_status() != STATUS_SUCCESS)
        return agg->Complete(i, Status::NtStatus(resp->nt_status(), "write"));
      auto counted = WriteResponseCount(*resp, len, transfer.get(), rdma_);
      transfer.reset();
      if (!counted.ok()) return agg->Complete(i, counted.status());
      uint32_t count = *counted;
      bytes_written_.fetch_add(count, std::memory_order_relaxed);
      agg->Complete(i, size_t{count});
    });
  }
}

Result<size_t> ClientImpl::Read(const FileHandle& file, uint64_t offset, std::span<uint8_t> dst) {
  Waiter<size_t> w;
  ReadAsync(file, offset, dst, w.Callback());
  return w.Wait();
}

Result<size_t> ClientImpl::Write(const FileHandle& file, uint64_t offset,
                                 std::span<const uint8_t> src) {
  Waiter<size_t> w;
  WriteAsync(file, offset, src, w.Callback());
  return w.Wait();
}

Status ClientImpl::Flush(const FileHandle& file) {
  if (!file || file->closed()) return Status::Invalid("flush: handle is closed");
  return WithReconnect(Retry::kIdempotent, [&](int) -> Status {
    SMB3_RETURN_IF_ERROR(file->usable());
    smb2::FlushRequest f;
    f.file_id = file->id();
    SMB3_ASSIGN_OR_RETURN(Request r, Encoded(TreeRequest(smb2::SMB2_FLUSH), f, smb2::EncodeFlushRequest));
    SMB3_ASSIGN_OR_RETURN(Response resp, CallOk(std::move(r), "flush"));
    return smb2::DecodeFlushResponse(resp.message);
  });
}

Result<std::vector<uint8_t>> ClientImpl::QueryInfoRaw(const FileHandle& file, uint8_t info_type,
                                                      uint8_t info_class, uint32_t output_length,
                                                      const char* where) {
  return WithReconnect(Retry::kIdempotent, [&](int) -> Result<std::vector<uint8_t>> {
    SMB3_RETURN_IF_ERROR(file->usable());
    smb2::QueryInfoRequest q;
    q.info_type = info_type;
    q.file_info_class = info_class;
    q.output_buffer_length = output_length;
    q.file_id = file->id();
    Request r = TreeRequest(smb2::SMB2_QUERY_INFO);
    r.credit_bytes = output_length;
    ByteWriter w(r.message);
    SMB3_RETURN_IF_ERROR(smb2::EncodeQueryInfoRequest(q, w));
    SMB3_ASSIGN_OR_RETURN(Response resp, conn()->Call(std::move(r)));
    if (resp.nt_status() != STATUS_SUCCESS && resp.nt_status() != STATUS_BUFFER_OVERFLOW)
      return Status::NtStatus(resp.nt_status(), where);
    SMB3_ASSIGN_OR_RETURN(auto qr, smb2::DecodeQueryInfoResponse(resp.message));
    return std::vector<uint8_t>(qr.output_buffer.begin(), qr.output_buffer.end());
  });
}

Result<FileInfo> ClientImpl::QueryInfo(const FileHandle& file) {
  if (!file || file->closed()) return Status::Invalid("query info: handle is closed");
  SMB3_ASSIGN_OR_RETURN(auto buf, QueryInfoRaw(file, smb2::SMB2_0_INFO_FILE, smb2::FileAllInformation,
                                               4096, "query info"));
  return smb2::DecodeFileAllInformation(buf);
}

Result<FileInfo> ClientImpl::Stat(std::string_view path) {
  return WithReconnect(Retry::kIdempotent, [&](int) { return StatOnce(path); });
}

Result<FileInfo> ClientImpl::StatOnce(std::string_view path) {
  std::vector<Request> chain;
  smb2::CreateRequest c;
  c.desired_access = kAccessReadAttributes | kAccessSynchronize;
  c.create_disposition = smb2::FILE_OPEN;
  c.name = path;
  SMB3_ASSIGN_OR_RETURN(Request r0, Encoded(TreeRequest(smb2::SMB2_CREATE), c, smb2::EncodeCreateRequest));
  smb2::QueryInfoRequest q;
  q.info_type = smb2::SMB2_0_INFO_FILE;
  q.file_info_class = smb2::FileAllInformation;
  q.output_buffer_length = 4096;
  q.file_id = kRelatedFileId;
  SMB3_ASSIGN_OR_RETURN(Request r1, Encoded(TreeRequest(smb2::SMB2_QUERY_INFO), q, smb2::EncodeQueryInfoRequest));
  smb2::CloseRequest cl;
  cl.file_id = kRelatedFileId;
  SMB3_ASSIGN_OR_RETURN(Request r2, Encoded(TreeRequest(smb2::SMB2_CLOSE), cl, smb2::EncodeCloseRequest));
  chain.push_back(std::move(r0));
  chain.push_back(std::move(r1));
  chain.push_back(std::move(r2));
  auto rs = conn()->CallCompound(std::move(chain), true);
  SMB3_RETURN_IF_ERROR(FirstFailure(rs, "stat"));
  SMB3_ASSIGN_OR_RETURN(auto qr, smb2::DecodeQueryInfoResponse(rs[1]->message));
  return smb2::DecodeFileAllInformation(qr.output_buffer);
}

Result<std::vector<DirEntry>> ClientImpl::ListDirectory(std::string_view path) {
  // A listing broken by a reconnect starts over (the directory handle is not durable).
  return WithReconnect(Retry::kIdempotent, [&](int) { return ListDirectoryOnce(path); });
}

Result<std::vector<DirEntry>> ClientImpl::ListDirectoryOnce(std::string_view path) {
  const uint32_t out_len = std::min<uint32_t>(max_transact_, 1u << 20);
  // CREATE + first QUERY_DIRECTORY in one round trip; then continue on the handle.
  smb2::CreateRequest c;
  c.desired_access = kAccessReadData | kAccessReadAttributes | kAccessSynchronize;
  c.create_disposition = smb2::FILE_OPEN;
  c.create_options = smb2::FILE_DIRECTORY_FILE;
  c.name = path;
  SMB3_ASSIGN_OR_RETURN(Request r0, Encoded(TreeRequest(smb2::SMB2_CREATE), c, smb2::EncodeCreateRequest));
  smb2::QueryDirectoryRequest qd;
  qd.file_id = kRelatedFileId;
  qd.output_buffer_length = out_len;
  Request r1 = TreeRequest(smb2::SMB2_QUERY_DIRECTORY);
  r1.credit_bytes = out_len;
  ByteWriter w1(r1.message);
  SMB3_RETURN_IF_ERROR(smb2::EncodeQueryDirectoryRequest(qd, w1));
  std::vector<Request> chain;
  chain.push_back(std::move(r0));
  chain.push_back(std::move(r1));
  auto rs = conn()->CallCompound(std::move(chain), true);
  if (!rs[0].ok()) return rs[0].status();
  if (rs[0]->nt_status() != STATUS_SUCCESS) return Status::NtStatus(rs[0]->nt_status(), "list directory");
  SMB3_ASSIGN_OR_RETURN(auto cr, smb2::DecodeCreateResponse(rs[0]->message));
  auto handle = std::make_shared<OpenFile>(conn(), cr.file_id, std::string(path), true, tree_id_,
                                           tree_encrypt_);
  std::vector<DirEntry> entries;
  ListingGuard listing;
  Status result;
  Result<Response> cur = std::move(rs[1]);
  for (;;) {
    if (!cur.ok()) {
      result = cur.status();
      break;
    }
    uint32_t st = cur->nt_status();
    if (st == STATUS_NO_MORE_FILES) break;
    if (st != STATUS_SUCCESS) {
      result = Status::NtStatus(st, "list directory");
      break;
    }
    auto qr = smb2::DecodeQueryDirectoryResponse(cur->message);
    if (!qr.ok()) {
      result = qr.status();
      break;
    }
    result = listing.Take(qr->output_buffer);
    if (!result.ok()) break;
    result = smb2::AppendDirectoryEntries(qr->output_buffer, qd.file_information_class, entries);
    if (!result.ok()) break;
    if (entries.size() > kMaxListingEntries) {
      result = Status(Code::kResourceExhausted, 0,
                      "list directory: more than 1,048,576 entries (the per-listing cap)");
      break;
    }
    qd.file_id = cr.file_id;
    Request rn = TreeRequest(smb2::SMB2_QUERY_DIRECTORY);
    rn.credit_bytes = out_len;
    ByteWriter wn(rn.message);
    result = smb2::EncodeQueryDirectoryRequest(qd, wn);
    if (!result.ok()) break;
    cur = conn()->Call(std::move(rn));
  }
  Status cs = Close(handle, nullptr);
  if (!result.ok()) return result;
  if (!cs.ok()) return cs;
  return entries;
}

Status ClientImpl::SetInfo(const FileHandle& file, uint8_t info_type, uint8_t info_class,
                           std::vector<uint8_t> buffer, const char* where, Retry retry) {
  if (!file || file->closed()) return Status::Invalid("set info: handle is closed");
  return WithReconnect(retry, [&](int attempt) -> Status {
    SMB3_RETURN_IF_ERROR(file->usable());
    smb2::SetInfoRequest s;
    s.info_type = info_type;
    s.file_info_class = info_class;
    s.file_id = file->id();
    s.buffer = buffer;
    SMB3_ASSIGN_OR_RETURN(Request r, Encoded(TreeRequest(smb2::SMB2_SET_INFO), s, smb2::EncodeSetInfoRequest));
    // [MS-SMB2] 2.2.1.2: sent again on the re-established open, flagged as a replay.
    if (attempt > 0) r.extra_flags |= smb2::SMB2_FLAGS_REPLAY_OPERATION;
    SMB3_ASSIGN_OR_RETURN(Response resp, CallOk(std::move(r), where));
    return smb2::DecodeSetInfoResponse(resp.message);
  });
}

Status ClientImpl::SetEndOfFile(const FileHandle& file, uint64_t size) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  smb2::EncodeFileEndOfFileInformation(size, w);
  return SetInfo(file, smb2::SMB2_0_INFO_FILE, smb2::FileEndOfFileInformation, std::move(b),
                 "set end of file");
}

Status ClientImpl::SetAllocationSize(const FileHandle& file, uint64_t size) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  smb2::EncodeFileAllocationInformation(size, w);
  return SetInfo(file, smb2::SMB2_0_INFO_FILE, smb2::FileAllocationInformation, std::move(b),
                 "set allocation size");
}

Status ClientImpl::SetBasicInfo(const FileHandle& file, FileTime creation, FileTime last_access,
                                FileTime last_write, FileTime change, uint32_t attributes) {
  smb2::FileBasicInfo bi{creation, last_access, last_write, change, attributes};
  std::vector<uint8_t> b;
  ByteWriter w(b);
  smb2::EncodeFileBasicInformation(bi, w);
  return SetInfo(file, smb2::SMB2_0_INFO_FILE, smb2::FileBasicInformation, std::move(b),
                 "set basic info");
}

Status ClientImpl::Rename(const FileHandle& file, std::string_view new_path, bool replace) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  SMB3_RETURN_IF_ERROR(smb2::EncodeFileRenameInformation(new_path, replace, w));
  // Not sent again after a reconnect: the first attempt may have renamed it already.
  return SetInfo(file, smb2::SMB2_0_INFO_FILE, smb2::FileRenameInformation, std::move(b), "rename",
                 Retry::kNever);
}

Status ClientImpl::SetDeleteOnClose(const FileHandle& file, bool on) {
  std::vector<uint8_t> b;
  ByteWriter w(b);
  smb2::EncodeFileDispositionInformation(on, w);
  return SetInfo(file, smb2::SMB2_0_INFO_FILE, smb2::FileDispositionInformation, std::move(b),
                 "set delete on close");
}

Status ClientImpl::Mkdir(std::string_view path) {
  OpenOptions o;
  o.desired_access = kAccessReadAttributes | kAccessSynchronize;
  o.disposition = Disposition::kCreate;
  o.kind = FileKind::kDirectory;
  SMB3_ASSIGN_OR_RETURN(auto opened, Open(path, o));
  return Close(opened.handle, nullptr);
}

Status ClientImpl::SetInfoByPath(std::string_view path, uint32_t create_options, uint8_t info_class,
                                 std::vector<uint8_t> info, const char* where) {
  // CREATE (DELETE access) + SET_INFO + CLOSE as one related compound: one round trip.
  smb2::CreateRequest c;
  c.desired_access = kAccessDelete | kAccessReadAttributes | kAccessSynchronize;
  c.create_disposition = smb2::FILE_OPEN;
  c.create_options = create_options;
  c.name = path;
  SMB3_ASSIGN_OR_RETURN(Request r0, Encoded(TreeRequest(smb2::SMB2_CREATE), c, smb2::EncodeCreateRequest));
  smb2::SetInfoRequest s;
  s.info_type = smb2::SMB2_0_INFO_FILE;
  s.file_info_class = info_class;
  s.file_id = kRelatedFileId;
  s.buffer = info;
  SMB3_ASSIGN_OR_RETURN(Request r1, Encoded(TreeRequest(smb2::SMB2_SET_INFO), s, smb2::EncodeSetInfoRequest));
  smb2::CloseRequest cl;
  cl.file_id = kRelatedFileId;
  SMB3_ASSIGN_OR_RETURN(Request r2, Encoded(TreeRequest(smb2::SMB2_CLOSE), cl, smb2::EncodeCloseRequest));
  std::vector<Request> chain;
  chain.push_back(std::move(r0));
  chain.push_back(std::move(r1));
  chain.push_back(std::move(r2));
  // Not sent again after a reconnect (delete and rename by path are not idempotent): a broken
  // connection reaches the caller as kDisconnected.
  auto rs = conn()->CallCompound(std::move(chain), true);
  return FirstFailure(rs, where);
}

Status ClientImpl::DeletePath(std::string_view path, bool directory) {
  // The disposition SET_INFO, not the create option FILE_DELETE_ON_CLOSE: Samba accepts the option
  // on a non-empty directory and then silently keeps it, while SET_INFO reports
  // STATUS_DIRECTORY_NOT_EMPTY.
  std::vector<uint8_t> info;
  ByteWriter w(info);
  smb2::EncodeFileDispositionInformation(true, w);
  return SetInfoByPath(path, directory ? smb2::FILE_DIRECTORY_FILE : smb2::FILE_NON_DIRECTORY_FILE,
                       smb2::FileDispositionInformation, std::move(info),
                       directory ? "rmdir" : "unlink");
}

Status ClientImpl::Rmdir(std::string_view path) { return DeletePath(path, true); }
Status ClientImpl::Unlink(std::string_view path) { return DeletePath(path, false); }

Status ClientImpl::RenamePath(std::string_view from, std::string_view to, bool replace) {
  std::vector<uint8_t> info;
  ByteWriter w(info);
  SMB3_RETURN_IF_ERROR(smb2::EncodeFileRenameInformation(to, replace, w));
  return SetInfoByPath(from, 0, smb2::FileRenameInformation, std::move(info), "rename");
}

Result<FsInfo> ClientImpl::StatFs() {
  return WithReconnect(Retry::kIdempotent, [&](int) { return StatFsOnce(); });
}

Result<FsInfo> ClientImpl::StatFsOnce() {
  OpenOptions o;
  o.desired_access = kAccessReadAttributes | kAccessSynchronize;
  SMB3_ASSIGN_OR_RETURN(auto root, Open("", o));
  auto full = QueryInfoRaw(root.handle, smb2::SMB2_0_INFO_FILESYSTEM, smb2::FileFsFullSizeInformation,
                           256, "statfs");
  auto attr = full.ok() ? QueryInfoRaw(root.handle, smb2::SMB2_0_INFO_FILESYSTEM,
                                       smb2::FileFsAttributeInformation, 1024, "statfs")
                        : Result<std::vector<uint8_t>>(full.status());
  Status cs = Close(root.handle, nullptr);
  if (!full.ok()) return full.status();
  if (!attr.ok()) return attr.status();
  SMB3_ASSIGN_OR_RETURN(FsInfo fs, smb2::DecodeFileFsFullSizeInformation(*full));
  SMB3_ASSIGN_OR_RETURN(auto fa, smb2::DecodeFileFsAttributeInformation(*attr));
  fa.MergeInto(fs);
  if (!cs.ok()) return cs;
  return fs;
}

Status ClientImpl::Echo() {
  return WithReconnect(Retry::kIdempotent, [&](int) -> Status {
    Request r = NewRequest(smb2::SMB2_ECHO);
    r.encrypt = encrypt_all_;
    ByteWriter w(r.message);
    SMB3_RETURN_IF_ERROR(smb2::EncodeEchoRequest(w));
    SMB3_ASSIGN_OR_RETURN(Response resp, CallOk(std::move(r), "echo"));
    (void)resp;
    return Status::Ok();
  });
}

Result<std::vector<NetworkInterface>> ClientImpl::QueryNetworkInterfaces() {
  smb2::IoctlRequest io;
  io.ctl_code = smb2::FSCTL_QUERY_NETWORK_INTERFACE_INFO;
  io.file_id = kRelatedFileId;
  io.max_output_response = 65536;
  io.flags = smb2::SMB2_0_IOCTL_IS_FSCTL;
  return WithReconnect(Retry::kIdempotent, [&](int) -> Result<std::vector<NetworkInterface>> {
    Request r = TreeRequest(smb2::SMB2_IOCTL);
    r.credit_bytes = io.max_output_response;
    ByteWriter w(r.message);
    SMB3_RETURN_IF_ERROR(smb2::EncodeIoctlRequest(io, w));
    SMB3_ASSIGN_OR_RETURN(Response resp, CallOk(std::move(r), "query network interfaces"));
    SMB3_ASSIGN_OR_RETURN(auto ior, smb2::DecodeIoctlResponse(resp.message));
    return smb2::DecodeNetworkInterfaceInfo(ior.output);
  });
}

}  // namespace smb3::client
