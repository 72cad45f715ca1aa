// SPDX-License-Identifier: LGPL-2.1-or-later
#include "client/client_impl.h"
#include "client/names.h"
#include "client/transport_select.h"

#include "base/log.h"
#include "smb2/close.h"
#include "smb2/logoff.h"
#include "smb2/session_setup.h"
#include "smb2/tree_connect.h"
#include "smb3/ntstatus.h"

namespace smb3 {

OpenFile::~OpenFile() {
  if (closed_.load()) return;
  // Dropped without Client::Close: close it on the server without waiting for the answer.
  std::weak_ptr<client::Connection> weak;
  FileId id;
  uint32_t tree_id;
  bool encrypt;
  {
    std::lock_guard lock(mu_);
    if (!lost_.ok()) return;  // nothing left to close on the server
    weak = conn_;
    id = id_;
    tree_id = tree_id_;
    encrypt = encrypt_;
  }
  auto conn = weak.lock();
  if (!conn || !conn->connected()) return;
  client::Request r = client::NewRequest(smb2::SMB2_CLOSE);
  r.tree_id = tree_id;
  r.encrypt = encrypt;
  ByteWriter w(r.message);
  smb2::CloseRequest c;
  c.file_id = id;
  if (smb2::EncodeCloseRequest(c, w).ok()) conn->Submit(std::move(r), [](Result<client::Response>) {});
}

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  if (options.server.empty()) return Status::Invalid("no server given");
  if (options.share.empty() || options.share.find_first_of("/\\") != std::string::npos)
    return Status::Invalid("share name must be non-empty and contain no slashes");
  auto impl = std::make_unique<client::ClientImpl>(options);
  SMB3_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Client>(std::move(impl));
}

namespace client {

ClientImpl::ClientImpl(ClientOptions options)
    : options_(std::move(options)), pool_(BufferPool::Create(64u << 20)) {}

ClientImpl::~ClientImpl() { Disconnect(); }

Status ClientImpl::OpenConnection() {
  SMB3_ASSIGN_OR_RETURN(SelectedTransport selected, OpenTransport(options_, pool_));
  transport_kind_ = selected.transport->kind();
  transport_reason_ = selected.reason;
  // Inline READ/WRITE data must fit one SMB Direct message (issue 6 item 5); data by RDMA fits
  // one registered buffer: max_read()/max_write() follow whichever path the data takes.
  rdma_.SetLimits(selected.inline_io_limit, selected.rdma_io_limit);
  std::unique_ptr<transport::Transport> transport = std::move(selected.transport);
  Connection::Options co;
  co.request_timeout = options_.request_timeout;
  co.echo_interval = options_.echo_interval;
  co.on_closed = [this](Connection& c, const Status& why) { OnConnectionClosed(c, why); };
  co.on_oplock_break = [this](Connection& c, const FileId& id, uint8_t level) {
    OnOplockBreak(c, id, level);
  };
  conn_ = std::make_shared<Connection>(std::move(transport), co);
  return conn_->Start();
}

Status ClientImpl::Start() {
  SMB3_RETURN_IF_ERROR(OpenConnection());
  SMB3_RETURN_IF_ERROR(Negotiate());
  SMB3_RETURN_IF_ERROR(SessionSetup());
  SMB3_RETURN_IF_ERROR(TreeConnect());
  SMB3_RETURN_IF_ERROR(ValidateNegotiate());
  first_signing_ = signing_on_;
  first_encrypt_all_ = encrypt_all_;
  first_tree_encrypt_ = tree_encrypt_;
  established_ = true;
  PublishView();
  {
    std::lock_guard lock(link_mu_);
    live_ = conn_;
  }
  reconnect_thread_ = std::thread([this] { ReconnectLoop(); });
  return Status::Ok();
}

void ClientImpl::Disconnect() {
  std::call_once(disconnect_once_, [this] {
    std::vector<std::function<void(Status)>> waiters;
    {
      std::lock_guard lock(link_mu_);
      shutting_down_ = true;
      waiters.swap(link_waiters_);
    }
    link_cv_.notify_all();
    if (reconnect_thread_.joinable()) reconnect_thread_.join();
    const Status gone(Code::kDisconnected, 0, "client disconnected");
    for (auto& w : waiters) w(gone);
    if (!conn_) return;
    if (conn_->connected()) {
      // Polite goodbye; failures do not matter, the connection closes either way.
      if (tree_id_) {
        Request r = TreeRequest(smb2::SMB2_TREE_DISCONNECT);
        ByteWriter w(r.message);
        if (smb2::EncodeTreeDisconnectRequest(w).ok()) (void)conn_->Call(std::move(r));
      }
      Request r = NewRequest(smb2::SMB2_LOGOFF);
      r.encrypt = encrypt_all_;
      ByteWriter w(r.message);
      if (smb2::EncodeLogoffRequest(w).ok()) (void)conn_->Call(std::move(r));
    }
    conn_->Close(gone);
  });
}

void ClientImpl::PublishView() {
  View v;
  v.transport = transport_kind_;
  v.transport_reason = transport_reason_;
  v.dialect = dialect_;
  v.cipher = cipher_;
  v.signing_algorithm = signing_algorithm_;
  v.server_capabilities = server_capabilities_;
  v.server_guid = server_guid_;
  v.session_flags = session_flags_;
  std::lock_guard lock(view_mu_);
  view_ = std::move(v);
}

ConnectionInfo ClientImpl::info() const {
  View v;
  {
    std::lock_guard lock(view_mu_);
    v = view_;
  }
  ConnectionInfo i;
  i.server = options_.server;
  i.port = options_.port;
  i.transport = v.transport;
  i.transport_reason = v.transport_reason;
  i.dialect = v.dialect;
  const bool signing = signing_on_;
  const bool sealing = encrypt_all_ || tree_encrypt_;
  i.cipher = sealing ? CipherName(v.cipher) : "none";
  i.signing = signing ? SigningAlgorithmName(v.signing_algorithm) : "none";
  i.signing_required = signing;
  i.encryption_required = sealing;
  i.max_read_size = max_read();
  i.max_write_size = max_write();
  i.max_transact_size = max_transact_;
  auto c = conn();
  i.credits = c ? c->stats().credits : 0;
  i.server_capabilities = v.server_capabilities;
  static const char* kHex = "0123456789abcdef";
  for (size_t k = 0; k < v.server_guid.size(); ++k) {
    if (k == 4 || k == 6 || k == 8 || k == 10) i.server_guid += '-';
    i.server_guid += kHex[v.server_guid[k] >> 4];
    i.server_guid += kHex[v.server_guid[k] & 15];
  }
  i.guest = (v.session_flags & smb2::SMB2_SESSION_FLAG_IS_GUEST) != 0;
  return i;
}

ClientStats ClientImpl::stats() const {
  ClientStats s;
  if (auto c = conn()) {
    ConnectionStats cs = c->stats();
    s.requests = cs.requests;
    s.responses = cs.responses;
    s.credit_stalls = cs.credit_stalls;
    s.pending_interims = cs.interims;
    s.signed_messages = cs.signed_messages;
    s.encrypted_messages = cs.encrypted_messages;
    s.credits_held = cs.credits;
  }
  s.bytes_read = bytes_read_.load();
  s.bytes_written = bytes_written_.load();
  s.reads = reads_.load();
  s.writes = writes_.load();
  s.reconnects = reconnects_.load();
  s.reopened_by_path = reopened_by_path_.load();
  {
    std::shared_ptr<Connection> c = conn();
    rdma_.FillStats(c ? &c->transport() : nullptr, signing_on_, encrypt_all_ || tree_encrypt_, s);
  }
  return s;
}

uint32_t ClientImpl::max_read() const {
  return TransportIoLimit(std::min<uint32_t>(max_read_, options_.max_io_size));
}
uint32_t ClientImpl::max_write() const {
  return TransportIoLimit(std::min<uint32_t>(max_write_, options_.max_io_size));
}
uint32_t ClientImpl::TransportIoLimit(uint32_t size) const {
  const uint32_t limit = rdma_.IoLimit(signing_on_, encrypt_all_ || tree_encrypt_);
  return limit == 0 ? size : std::min(size, limit);
}

Request ClientImpl::TreeRequest(uint16_t command) const {
  Request r = NewRequest(command);
  r.tree_id = tree_id_;
  r.encrypt = tree_encrypt_;
  return r;
}

Result<Response> ClientImpl::CallOk(Request request, const char* where) {
  SMB3_ASSIGN_OR_RETURN(Response resp, conn()->Call(std::move(request)));
  if (resp.nt_status() != STATUS_SUCCESS) return Status::NtStatus(resp.nt_status(), where);
  return resp;
}

}  // namespace client
}  // namespace smb3
