// SPDX-License-Identifier: LGPL-2.1-or-later
// The rdma= policy (issue 6 item 6): SMB Direct first unless rdma=no; under rdma=auto every reason
// SMB Direct cannot be used falls back to TCP and is said in one line; under rdma=yes it is an
// error that names the cause and the fix.
#include "client/transport_select.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "base/log.h"
#include "transport/rdma/verbs_endpoint.h"
#include "transport/smbdirect.h"

namespace smb3::client {
namespace {

// Why SMB Direct was not used, for the reason line and the rdma=yes error.
enum class Cause : uint8_t { kNotBuilt, kNoDevice, kNoRoute, kRefused, kNegotiation, kOther };

Cause Classify(const Status& s) {
  const char* where = s.where();
  if (s.Is(Code::kNotSupported) && std::strstr(where, "built without") != nullptr) {
    return Cause::kNotBuilt;
  }
  if (s.Is(Code::kNotSupported)) {
    return std::strcmp(where, transport::rdma::kNoRdmaDevice) == 0 ? Cause::kNoDevice
                                                                   : Cause::kNoRoute;
  }
  // The verbs layer's ADDR_ERROR: no RDMA device serves the netdev the route leaves by.
  if (s.Is(Code::kUnreachable) && std::strcmp(where, "rdma: address resolution failed") == 0) {
    return Cause::kNoRoute;
  }
  if (s.Is(Code::kUnreachable) && s.detail() == ECONNREFUSED) return Cause::kRefused;
  if (s.Is(Code::kNtStatus) || s.Is(Code::kProtocol)) return Cause::kNegotiation;
  if (std::strncmp(where, "smbd", 4) == 0) return Cause::kNegotiation;
  return Cause::kOther;
}

std::string Where(const ClientOptions& o, uint16_t port) {
  return o.server + ":" + std::to_string(port);
}

// The rdma=auto line: what failed, then "TCP".
std::string FallbackReason(Cause cause, const Status& s, const std::string& where) {
  switch (cause) {
    case Cause::kNotBuilt:
      return "built without rdma-core: TCP";
    case Cause::kNoDevice:
      return "no RDMA device: TCP";
    case Cause::kNoRoute:
      return "no route to " + where + " through an RDMA device: TCP";
    case Cause::kRefused:
      return "server refused SMB Direct (ECONNREFUSED on " + where + "): fell back to TCP";
    case Cause::kNegotiation:
      return "SMB Direct negotiation with " + where + " failed (" + s.ToString() +
             "): fell back to TCP";
    case Cause::kOther:
      break;
  }
  return "SMB Direct to " + where + " failed (" + s.ToString() + "): fell back to TCP";
}

// The rdma=yes error: the original code and detail, a static line with cause and fix.
Status YesError(Cause cause, const Status& s) {
  switch (cause) {
    case Cause::kNotBuilt:
      return Status(Code::kNotSupported, s.detail(),
                    "rdma=yes: this build has no SMB Direct (libibverbs and librdmacm were not "
                    "found at build time): rebuild with rdma-core, or use rdma=auto");
    case Cause::kNoDevice:
      return Status(Code::kNotSupported, s.detail(),
                    "rdma=yes: no RDMA device on this host for SMB Direct (rdma link show lists "
                    "none): install an RDMA NIC or add soft-RoCE (rdma link add rxe0 type rxe "
                    "netdev ETH), or use rdma=auto");
    case Cause::kNoRoute:
      return Status(Code::kNotSupported, s.detail(),
                    "rdma=yes: the route to the server does not leave through an RDMA device: use "
                    "the server's address on the RDMA network, or rdma=auto");
    case Cause::kRefused:
      return Status(
          Code::kUnreachable, s.detail(),
          "rdma=yes: the server refused SMB Direct (nothing listens for RDMA on port 445, "
          "5445 for iWARP): enable SMB Direct on the server, or use rdma=auto");
    case Cause::kNegotiation:
      return Status(s.code(), s.detail(),
                    "rdma=yes: the SMB Direct negotiation failed (the log says why): check the "
                    "server's SMB Direct settings, or use rdma=auto");
    case Cause::kOther:
      break;
  }
  return Status(s.code(), s.detail(),
                "rdma=yes: SMB Direct connection failed (the log says why): check the RDMA "
                "network and the server, or use rdma=auto");
}

}  // namespace

uint32_t InlineIoLimit(size_t max_message_size) {
  // Room for the SMB2 header (64), a READ/WRITE request or response (48/17 + padding) and a
  // transform header (52), then whole pages.
  constexpr size_t kHeadroom = 512;
  if (max_message_size <= kHeadroom + 4096) return 4096;
  return static_cast<uint32_t>((max_message_size - kHeadroom) & ~size_t{4095});
}

Result<SelectedTransport> OpenTransport(const ClientOptions& options,
                                        std::shared_ptr<BufferPool> pool) {
  SelectedTransport out;
  if (options.rdma != RdmaPolicy::kNo) {
    transport::SmbDirectOptions sd;
    sd.connect_timeout = options.connect_timeout;
    const uint16_t port = options.port;
    auto rdma = transport::ConnectSmbDirect(options.server, port, sd, pool);
    if (rdma.ok()) {
      out.transport = std::move(rdma).value();
      out.inline_io_limit = InlineIoLimit(out.transport->max_message_size());
      if (auto channel = out.transport->rdma_channel()) {
        out.rdma_io_limit =
            static_cast<uint32_t>(std::min<size_t>(channel->max_io_size(), UINT32_MAX));
      }
      out.reason = std::string(options.rdma == RdmaPolicy::kYes ? "rdma=yes" : "rdma=auto") +
                   ": SMB Direct to " + out.transport->peer();
      SMB3_LOG_INFO("%s", out.reason.c_str());
      return out;
    }
    const Status& why = rdma.status();
    const Cause cause = Classify(why);
    if (options.rdma == RdmaPolicy::kYes) {
      SMB3_LOG_ERROR("SMB Direct to %s: %s", Where(options, port).c_str(), why.ToString().c_str());
      return YesError(cause, why);
    }
    out.reason = FallbackReason(cause, why, Where(options, port));
    SMB3_LOG_INFO("rdma=auto: %s", out.reason.c_str());
  } else {
    out.reason = "rdma=no";
  }
  transport::TcpOptions tcp;
  tcp.connect_timeout = options.connect_timeout;
  SMB3_ASSIGN_OR_RETURN(out.transport,
                        transport::ConnectTcp(options.server, options.port, tcp, std::move(pool)));
  return out;
}

}  // namespace smb3::client
