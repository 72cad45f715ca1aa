// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.9 / 2.2.10 TREE_CONNECT and 2.2.11 / 2.2.12 TREE_DISCONNECT.
#pragma once

#include <cstdint>
#include <string>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// [MS-SMB2] 2.2.9 Flags (3.1.1 only; reserved, zero, for earlier dialects).
inline constexpr uint16_t SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT = 0x0001;
inline constexpr uint16_t SMB2_TREE_CONNECT_FLAG_REDIRECT_TO_OWNER = 0x0002;
inline constexpr uint16_t SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT = 0x0004;

// [MS-SMB2] 2.2.10 ShareType.
inline constexpr uint8_t SMB2_SHARE_TYPE_DISK = 0x01;
inline constexpr uint8_t SMB2_SHARE_TYPE_PIPE = 0x02;
inline constexpr uint8_t SMB2_SHARE_TYPE_PRINT = 0x03;

// [MS-SMB2] 2.2.10 ShareFlags.
inline constexpr uint32_t SMB2_SHAREFLAG_MANUAL_CACHING = 0x00000000;
inline constexpr uint32_t SMB2_SHAREFLAG_AUTO_CACHING = 0x00000010;
inline constexpr uint32_t SMB2_SHAREFLAG_VDO_CACHING = 0x00000020;
inline constexpr uint32_t SMB2_SHAREFLAG_NO_CACHING = 0x00000030;
inline constexpr uint32_t SMB2_SHAREFLAG_DFS = 0x00000001;
inline constexpr uint32_t SMB2_SHAREFLAG_DFS_ROOT = 0x00000002;
inline constexpr uint32_t SMB2_SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS = 0x00000100;
inline constexpr uint32_t SMB2_SHAREFLAG_FORCE_SHARED_DELETE = 0x00000200;
inline constexpr uint32_t SMB2_SHAREFLAG_ALLOW_NAMESPACE_CACHING = 0x00000400;
inline constexpr uint32_t SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM = 0x00000800;
inline constexpr uint32_t SMB2_SHAREFLAG_FORCE_LEVELII_OPLOCK = 0x00001000;
inline constexpr uint32_t SMB2_SHAREFLAG_ENABLE_HASH_V1 = 0x00002000;
inline constexpr uint32_t SMB2_SHAREFLAG_ENABLE_HASH_V2 = 0x00004000;
inline constexpr uint32_t SMB2_SHAREFLAG_ENCRYPT_DATA = 0x00008000;
inline constexpr uint32_t SMB2_SHAREFLAG_IDENTITY_REMOTING = 0x00040000;
inline constexpr uint32_t SMB2_SHAREFLAG_COMPRESS_DATA = 0x00100000;
inline constexpr uint32_t SMB2_SHAREFLAG_ISOLATED_TRANSPORT = 0x00200000;

// [MS-SMB2] 2.2.10 Capabilities.
inline constexpr uint32_t SMB2_SHARE_CAP_DFS = 0x00000008;
inline constexpr uint32_t SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY = 0x00000010;
inline constexpr uint32_t SMB2_SHARE_CAP_SCALEOUT = 0x00000020;
inline constexpr uint32_t SMB2_SHARE_CAP_CLUSTER = 0x00000040;
inline constexpr uint32_t SMB2_SHARE_CAP_ASYMMETRIC = 0x00000080;
inline constexpr uint32_t SMB2_SHARE_CAP_REDIRECT_TO_OWNER = 0x00000100;

// [MS-SMB2] 2.2.9 TREE_CONNECT request (without the 2.2.9.1 extension).
struct TreeConnectRequest {
  uint16_t flags = 0;  // must not carry SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT
  std::string path;    // UTF-8 "\\server\share", sent as UTF-16LE
};

// [MS-SMB2] 2.2.10 TREE_CONNECT response.
struct TreeConnectResponse {
  uint8_t share_type = 0;
  uint32_t share_flags = 0;
  uint32_t capabilities = 0;
  uint32_t maximal_access = 0;
};

// Writes the body after the header already in `w`. Errors: kInvalidArgument for a path not of
// the form "\\server\share" (server under 256 characters, share 1..80), not valid UTF-8, or the
// extension flag.
Status EncodeTreeConnectRequest(const TreeConnectRequest& request, ByteWriter& w);

// Errors: kProtocol when StructureSize is not 16, the body is truncated or ShareType is unknown.
Result<TreeConnectResponse> DecodeTreeConnectResponse(ByteView message);

// [MS-SMB2] 2.2.11: writes the 4-byte body. Never fails.
Status EncodeTreeDisconnectRequest(ByteWriter& w);

// [MS-SMB2] 2.2.12. Errors: kProtocol when StructureSize is not 4 or the body is truncated.
Status DecodeTreeDisconnectResponse(ByteView message);

}  // namespace smb3::smb2
