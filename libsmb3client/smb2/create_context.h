// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.13.2 / 2.2.14.2 SMB2_CREATE_CONTEXT chains: the few contexts this client sends
// (durable handle v2 request and reconnect, maximal access, on-disk id) and the matching responses.
//
// A chain is a list of 8-byte aligned SMB2_CREATE_CONTEXT structures linked by Next (0 = last).
// Encoding writes the whole chain; decoding walks a chain received from the server with every
// offset and length checked, Next strictly increasing (no loops), and the count capped.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/byte_io.h"
#include "smb3/status.h"
#include "smb3/types.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.13.2 create context names: four ASCII characters, stored on the wire in this byte
// order ("DH2Q" is the bytes 'D' 'H' '2' 'Q'); the constants are their big-endian values.
inline constexpr uint32_t SMB2_CREATE_EA_BUFFER = 0x45787441;                     // "ExtA"
inline constexpr uint32_t SMB2_CREATE_SD_BUFFER = 0x53656344;                     // "SecD"
inline constexpr uint32_t SMB2_CREATE_DURABLE_HANDLE_REQUEST = 0x44486e51;        // "DHnQ"
inline constexpr uint32_t SMB2_CREATE_DURABLE_HANDLE_RECONNECT = 0x44486e43;      // "DHnC"
inline constexpr uint32_t SMB2_CREATE_ALLOCATION_SIZE = 0x416c5369;               // "AlSi"
inline constexpr uint32_t SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST = 0x4d784163;  // "MxAc"
inline constexpr uint32_t SMB2_CREATE_TIMEWARP_TOKEN = 0x54577270;                // "TWrp"
inline constexpr uint32_t SMB2_CREATE_QUERY_ON_DISK_ID = 0x51466964;              // "QFid"
inline constexpr uint32_t SMB2_CREATE_REQUEST_LEASE = 0x52714c73;                 // "RqLs"
inline constexpr uint32_t SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 = 0x44483251;     // "DH2Q"
inline constexpr uint32_t SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 = 0x44483243;   // "DH2C"

// [MS-SMB2] 2.2.13.2.11 Flags.
inline constexpr uint32_t SMB2_DHANDLE_FLAG_PERSISTENT = 0x00000002;

// Size of the fixed SMB2_CREATE_CONTEXT header (Next .. DataLength).
inline constexpr size_t kCreateContextHeaderSize = 16;
// A chain from the server with more contexts than this is rejected (a real one has a handful).
inline constexpr size_t kMaxCreateContexts = 64;

using Guid = std::array<uint8_t, 16>;

// [MS-SMB2] 2.2.13.2.11 SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2.
struct DurableHandleRequestV2 {
  uint32_t timeout = 0;  // milliseconds; 0 lets the server choose
  uint32_t flags = 0;    // SMB2_DHANDLE_FLAG_PERSISTENT
  Guid create_guid{};
};

// [MS-SMB2] 2.2.13.2.12 SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2.
struct DurableHandleReconnectV2 {
  FileId file_id;
  Guid create_guid{};
  uint32_t flags = 0;
};

// The contexts a CREATE request carries, in this order on the wire.
struct CreateContextsRequest {
  std::optional<DurableHandleRequestV2> durable_handle_v2;      // "DH2Q"
  std::optional<DurableHandleReconnectV2> durable_reconnect_v2;  // "DH2C"
  bool query_maximal_access = false;                             // "MxAc", no Timestamp
  bool query_on_disk_id = false;                                 // "QFid"

  bool empty() const {
    return !durable_handle_v2 && !durable_reconnect_v2 && !query_maximal_access &&
           !query_on_disk_id;
  }
};

// [MS-SMB2] 2.2.14.2.12 SMB2_CREATE_DURABLE_HANDLE_RESPONSE_V2.
struct DurableHandleResponseV2 {
  uint32_t timeout = 0;
  uint32_t flags = 0;
};

// [MS-SMB2] 2.2.14.2.5 SMB2_CREATE_QUERY_MAXIMAL_ACCESS_RESPONSE. maximal_access is meaningful
// only when query_status is STATUS_SUCCESS.
struct MaximalAccessResponse {
  uint32_t query_status = 0;
  uint32_t maximal_access = 0;
};

// [MS-SMB2] 2.2.14.2.9 SMB2_CREATE_QUERY_ON_DISK_ID response. Samba and Windows put the 64-bit file
// id ([MS-FSCC] 2.1.9) in the first 8 bytes (DiskFileId).
struct OnDiskIdResponse {
  uint64_t disk_file_id = 0;
  uint64_t volume_id = 0;
  std::array<uint8_t, 32> raw{};
};

// The contexts recognised in a CREATE response; others (leases, app instance, ...) are skipped.
struct CreateContextsResponse {
  std::optional<DurableHandleResponseV2> durable_handle_v2;  // "DH2Q"
  bool durable_handle_v1 = false;                            // "DHnQ"
  std::optional<MaximalAccessResponse> maximal_access;       // "MxAc"
  std::optional<OnDiskIdResponse> on_disk_id;                // "QFid"
};

// One context of a chain as views into the chain.
struct CreateContextView {
  ByteView name;
  ByteView data;
};

// Appends the chain for `contexts` at the writer's current position, which must be 8-byte aligned
// relative to `base` (the writer position of the SMB2 header). Writes nothing when empty. The
// chain's length is w.size() after minus before. Errors (kInvalidArgument): an unaligned position,
// or both durable_handle_v2 and durable_reconnect_v2 (mutually exclusive, [MS-SMB2] 3.3.5.9.10).
Status EncodeCreateContexts(const CreateContextsRequest& contexts, size_t base, ByteWriter& w);

// Splits a received chain into its contexts. Errors (kProtocol): a context header or its name/data
// outside the chain or overlapping the header, a Next that is not a multiple of 8 or does not
// advance past the header, a name shorter than 4 bytes, more than kMaxCreateContexts contexts.
Result<std::vector<CreateContextView>> SplitCreateContexts(ByteView chain);

// Decodes the recognised contexts of a received chain (empty chain: all absent). A recognised
// context whose data is too short or which appears twice is an error (kProtocol).
Result<CreateContextsResponse> DecodeCreateContexts(ByteView chain);

}  // namespace smb3::smb2
