// SPDX-License-Identifier: LGPL-2.1-or-later
// [MS-SMB2] 2.2.3 / 2.2.4 NEGOTIATE request and response, with the SMB 3.1.1 negotiate contexts
// (2.2.3.1, 2.2.4.1) and the client's validation of the response (3.2.5.2).
//
// Decoding is split in two steps: DecodeNegotiateResponse() checks everything the response alone
// can prove (bounds, StructureSize, 8-byte alignment of contexts, "exactly one"/"count must be 1"
// rules of 2.2.4.1.x and 3.2.5.2), and CheckNegotiateResponse() checks the response against the
// request that was sent (dialect, hash, cipher, signing and RDMA transform offered by the client).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/byte_io.h"
#include "smb2/header.h"
#include "smb3/status.h"

namespace smb3::smb2 {

// Dialects ([MS-SMB2] 2.2.3, 2.2.4); 3.0, 3.0.2 and 3.1.1 are in header.h.
inline constexpr uint16_t kDialect202 = 0x0202;
inline constexpr uint16_t kDialect210 = 0x0210;
inline constexpr uint16_t kDialectWildcard = 0x02FF;

// [MS-SMB2] 2.2.3 SecurityMode (also the 1-byte SecurityMode of SESSION_SETUP, 2.2.5).
inline constexpr uint16_t SMB2_NEGOTIATE_SIGNING_ENABLED = 0x0001;
inline constexpr uint16_t SMB2_NEGOTIATE_SIGNING_REQUIRED = 0x0002;

// [MS-SMB2] 2.2.3 / 2.2.4 Capabilities.
inline constexpr uint32_t SMB2_GLOBAL_CAP_DFS = 0x00000001;
inline constexpr uint32_t SMB2_GLOBAL_CAP_LEASING = 0x00000002;
inline constexpr uint32_t SMB2_GLOBAL_CAP_LARGE_MTU = 0x00000004;
inline constexpr uint32_t SMB2_GLOBAL_CAP_MULTI_CHANNEL = 0x00000008;
inline constexpr uint32_t SMB2_GLOBAL_CAP_PERSISTENT_HANDLES = 0x00000010;
inline constexpr uint32_t SMB2_GLOBAL_CAP_DIRECTORY_LEASING = 0x00000020;
inline constexpr uint32_t SMB2_GLOBAL_CAP_ENCRYPTION = 0x00000040;
inline constexpr uint32_t SMB2_GLOBAL_CAP_NOTIFICATIONS = 0x00000080;

// [MS-SMB2] 2.2.3.1 ContextType.
enum NegotiateContextType : uint16_t {
  SMB2_PREAUTH_INTEGRITY_CAPABILITIES = 0x0001,
  SMB2_ENCRYPTION_CAPABILITIES = 0x0002,
  SMB2_COMPRESSION_CAPABILITIES = 0x0003,
  SMB2_NETNAME_NEGOTIATE_CONTEXT_ID = 0x0005,
  SMB2_TRANSPORT_CAPABILITIES = 0x0006,
  SMB2_RDMA_TRANSFORM_CAPABILITIES = 0x0007,
  SMB2_SIGNING_CAPABILITIES = 0x0008,
  SMB2_CONTEXTTYPE_RESERVED = 0x0100,
};

// [MS-SMB2] 2.2.3.1.1 HashAlgorithms.
inline constexpr uint16_t SMB2_PREAUTH_INTEGRITY_SHA512 = 0x0001;
inline constexpr size_t kPreauthSaltSize = 32;

// [MS-SMB2] 2.2.3.1.2 Ciphers.
inline constexpr uint16_t SMB2_ENCRYPTION_AES128_CCM = 0x0001;
inline constexpr uint16_t SMB2_ENCRYPTION_AES128_GCM = 0x0002;
inline constexpr uint16_t SMB2_ENCRYPTION_AES256_CCM = 0x0003;
inline constexpr uint16_t SMB2_ENCRYPTION_AES256_GCM = 0x0004;

// [MS-SMB2] 2.2.3.1.3 CompressionAlgorithms (decoded only; the client never offers compression).
inline constexpr uint16_t SMB2_COMPRESSION_NONE = 0x0000;

// [MS-SMB2] 2.2.3.1.5 Flags.
inline constexpr uint32_t SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY = 0x00000001;

// [MS-SMB2] 2.2.3.1.6 RDMATransformIds.
inline constexpr uint16_t SMB2_RDMA_TRANSFORM_NONE = 0x0000;
inline constexpr uint16_t SMB2_RDMA_TRANSFORM_ENCRYPTION = 0x0001;
inline constexpr uint16_t SMB2_RDMA_TRANSFORM_SIGNING = 0x0002;

// [MS-SMB2] 2.2.3.1.7 SigningAlgorithms.
inline constexpr uint16_t SMB2_SIGNING_HMAC_SHA256 = 0x0000;
inline constexpr uint16_t SMB2_SIGNING_AES_CMAC = 0x0001;
inline constexpr uint16_t SMB2_SIGNING_AES_GMAC = 0x0002;

// Limits on what the encoder accepts and the decoder walks.
inline constexpr size_t kMaxDialects = 16;
inline constexpr size_t kMaxNegotiateContexts = 32;
// Servers commonly require at least this much for MaxTransact/Read/WriteSize ([MS-SMB2] 3.2.5.2).
inline constexpr uint32_t kMinNegotiatedSize = 65536;

// [MS-SMB2] 2.2.3 NEGOTIATE request. Negotiate contexts are emitted only when `dialects`
// contains 0x0311; in that case hash_algorithms must be non-empty, and each other context is sent
// only when its list is non-empty (or, for transport capabilities, set).
struct NegotiateRequest {
  std::vector<uint16_t> dialects;  // 1..kMaxDialects entries, in the caller's order
  uint16_t security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
  uint32_t capabilities = 0;
  std::array<uint8_t, 16> client_guid{};

  // [MS-SMB2] 2.2.3.1.1
  std::vector<uint16_t> hash_algorithms = {SMB2_PREAUTH_INTEGRITY_SHA512};
  std::array<uint8_t, kPreauthSaltSize> salt{};  // fresh random bytes from the caller
  // [MS-SMB2] 2.2.3.1.2, most preferred first; empty: no encryption context.
  std::vector<uint16_t> ciphers;
  // [MS-SMB2] 2.2.3.1.7, most preferred first; empty: no signing context.
  std::vector<uint16_t> signing_algorithms;
  // [MS-SMB2] 2.2.3.1.4 server name (UTF-8, sent as UTF-16LE); empty: no netname context.
  std::string net_name;
  // [MS-SMB2] 2.2.3.1.6; empty: no RDMA transform context.
  std::vector<uint16_t> rdma_transform_ids;
  // [MS-SMB2] 2.2.3.1.5 Flags; nullopt: no transport capabilities context.
  std::optional<uint32_t> transport_capabilities;
};

// [MS-SMB2] 2.2.4 NEGOTIATE response. The negotiate-context members are filled only when
// dialect_revision is 0x0311.
struct NegotiateResponse {
  uint16_t security_mode = 0;
  uint16_t dialect_revision = 0;
  std::array<uint8_t, 16> server_guid{};
  uint32_t capabilities = 0;
  uint32_t max_transact_size = 0;
  uint32_t max_read_size = 0;
  uint32_t max_write_size = 0;
  uint64_t system_time = 0;        // FILETIME
  uint64_t server_start_time = 0;  // FILETIME
  ByteView security_buffer;        // GSS token, view into the message

  // [MS-SMB2] 2.2.4.1.1: always present for 3.1.1 (exactly one algorithm).
  uint16_t preauth_hash_algorithm = 0;
  ByteView preauth_salt;
  // [MS-SMB2] 2.2.4.1.2: the one cipher selected; 0 means the server chose none. nullopt when the
  // server sent no encryption context.
  std::optional<uint16_t> cipher;
  // [MS-SMB2] 2.2.4.1.7: the one signing algorithm selected; nullopt without a signing context
  // (the connection then signs with AES-CMAC, [MS-SMB2] 3.2.5.2 / 3.1.4.1).
  std::optional<uint16_t> signing_algorithm;
  // [MS-SMB2] 2.2.4.1.6: transforms the server accepted; empty without the context.
  bool has_rdma_transform_context = false;
  std::vector<uint16_t> rdma_transform_ids;
  // [MS-SMB2] 2.2.4.1.5 Flags; nullopt without the context.
  std::optional<uint32_t> transport_capabilities;
  // [MS-SMB2] 2.2.4.1.3: validated for shape; empty without the context.
  std::vector<uint16_t> compression_algorithms;
};

// Writes the NEGOTIATE request body after the header already in `w` (see header.h).
// Errors: kInvalidArgument for an empty or oversized dialect list, an empty hash list with 0x0311,
// a context longer than 65535 bytes or a net_name that is not valid UTF-8.
Status EncodeNegotiateRequest(const NegotiateRequest& request, ByteWriter& w);

// Parses a NEGOTIATE response (header included). Errors: kProtocol on any malformed field; for
// 3.1.1 also when the preauth context is missing or repeated, HashAlgorithmCount/CipherCount/
// SigningAlgorithmCount is not 1, any known context repeats, or the context list is out of bounds
// or misaligned. Views point into `message`.
Result<NegotiateResponse> DecodeNegotiateResponse(ByteView message);

// [MS-SMB2] 3.2.5.2: checks a decoded response against the request that was sent: the dialect was
// offered (0x02FF never is), for 3.1.1 the hash algorithm, cipher (unless 0), signing algorithm and
// RDMA transforms were offered and compression is "NONE" or absent, and MaxTransactSize,
// MaxReadSize and MaxWriteSize are at least kMinNegotiatedSize. Errors: kProtocol.
Status CheckNegotiateResponse(const NegotiateRequest& request, const NegotiateResponse& response);

}  // namespace smb3::smb2
