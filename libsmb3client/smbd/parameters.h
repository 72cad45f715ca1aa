// SPDX-License-Identifier: LGPL-2.1-or-later
// MS-SMBD connection parameters: what we offer (Parameters, defaults as Windows sets them) and what
// the negotiation settles (NegotiatedParameters, [MS-SMBD] 3.1.4.7).
#pragma once

#include <chrono>
#include <cstdint>

namespace smb3::smbd {

// The engine's clock: the transport passes steady_clock::now(); tests pass explicit points.
using Clock = std::chrono::steady_clock;
using Timestamp = Clock::time_point;
using Duration = Clock::duration;

// [MS-SMBD] 3.1.1.1 values we choose, with the defaults of [MS-SMBD] 7 <3> (Windows Server 2012
// and later, Windows 10 and later).
struct Parameters {
  // Connection.ReceiveCreditMax: most receives we keep posted for (and credits we grant) the peer.
  uint16_t receive_credit_max = 255;
  // Connection.SendCreditTarget: the send credits we ask the peer for (CreditsRequested).
  uint16_t send_credit_target = 255;
  // Connection.MaxSendSize: our largest message; offered as PreferredSendSize.
  uint32_t max_send_size = 1364;
  // Connection.MaxReceiveSize: our receive buffer size; offered as MaxReceiveSize.
  uint32_t max_receive_size = 8192;
  // Connection.MaxFragmentedRecvSize: the largest upper-layer message we reassemble.
  uint32_t max_fragmented_recv_size = 1048576;
  // The implementation-specific cap on MaxReadWriteSize ([MS-SMBD] 3.1.5.7, 7 <7>: 8 MiB).
  uint32_t max_read_write_size = 8388608;
  // Connection.KeepaliveInterval, the Idle Connection Timer ([MS-SMBD] 3.1.2.2, 7 <2>, <3>).
  Duration keepalive_interval = std::chrono::seconds(120);
  // How long a keepalive (SMB_DIRECT_RESPONSE_REQUESTED) may go unanswered ([MS-SMBD] 3.1.5.1,
  // 7 <4>: 5 seconds).
  Duration keepalive_response_timeout = std::chrono::seconds(5);
  // The Negotiation Timer of the initiator ([MS-SMBD] 3.1.4.1: 120 seconds).
  Duration negotiate_timeout = std::chrono::seconds(120);
  // Receives are reposted, and new credits announced on their own, in batches of this many; 0
  // picks an eighth of the receive credit target (at least 1).
  uint16_t receive_refill_batch = 0;
};

// The values in force once the negotiation succeeded ([MS-SMBD] 3.1.5.7, 3.1.4.7).
struct NegotiatedParameters {
  uint16_t protocol = 0;                  // Connection.Protocol (0x0100)
  uint32_t max_send_size = 0;             // our largest message, header included
  uint32_t max_receive_size = 0;          // the peer's largest message to us
  uint32_t max_fragmented_send_size = 0;  // the largest upper-layer message we may send
  uint32_t max_fragmented_recv_size = 0;  // the largest upper-layer message we reassemble
  uint32_t max_read_write_size = 0;       // the largest RDMA transfer for one READ/WRITE
  Duration keepalive_interval{};
};

}  // namespace smb3::smbd
