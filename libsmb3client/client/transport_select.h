// SPDX-License-Identifier: LGPL-2.1-or-later
// Which transport a connection uses, by the rdma= policy (issue 6 item 6): SMB Direct when the
// path to the server has an RDMA device and the server speaks MS-SMBD, else TCP under rdma=auto;
// rdma=yes fails instead of falling back, rdma=no never tries. Used for the first connection and
// for every reconnect, so a reconnect follows the same policy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/buffer.h"
#include "smb3/options.h"
#include "smb3/status.h"
#include "transport/transport.h"

namespace smb3::client {

struct SelectedTransport {
  std::unique_ptr<transport::Transport> transport;
  // One line for people: why this transport ("rdma=no", "no RDMA device: TCP", ...).
  std::string reason;
  // The largest READ/WRITE payload the transport carries inline (in the message itself): on SMB
  // Direct the negotiated MaxFragmentedSize less room for the SMB2 and transform headers, rounded
  // down to whole pages; 0 on TCP (no limit below the dialect's). rsize/wsize must not exceed it
  // whenever the data does not go by RDMA (no RDMA channel, or signing/encryption in force).
  uint32_t inline_io_limit = 0;
  // The largest READ/WRITE payload whose data moves by RDMA: the transport's RdmaChannel's
  // max_io_size(), i.e. min(buffer size, negotiated MaxReadWriteSize); 0 without a channel. With
  // data by RDMA, rsize/wsize follow this limit (and the SMB2 MaxReadSize/MaxWriteSize), not
  // the inline one.
  uint32_t rdma_io_limit = 0;
};

// Connects to options.server:options.port by options.rdma. Errors: under rdma=yes, why SMB Direct
// could not be used, naming the cause and the fix (kNotSupported: no RDMA device or no route
// through one; kUnreachable: the server refused SMB Direct; kNtStatus/kProtocol: the MS-SMBD
// negotiation failed; kTimeout); otherwise ConnectTcp's errors.
Result<SelectedTransport> OpenTransport(const ClientOptions& options,
                                        std::shared_ptr<BufferPool> pool);

// The inline limit of a transport whose largest message is `max_message_size` (see above).
uint32_t InlineIoLimit(size_t max_message_size);

}  // namespace smb3::client
