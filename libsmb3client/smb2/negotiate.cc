// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/negotiate.h"

#include <algorithm>

#include "base/utf16.h"
#include "smb2/body.h"

namespace smb3::smb2 {
namespace {

constexpr uint16_t kRequestStructureSize = 36;
constexpr uint16_t kResponseStructureSize = 65;
constexpr size_t kResponseFixedSize = 64;
constexpr size_t kContextHeaderSize = 8;  // ContextType, DataLength, Reserved

bool Contains(const std::vector<uint16_t>& list, uint16_t v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// [MS-SMB2] 2.2.3.1: one negotiate context. The writer is 8-byte aligned by the caller.
class ContextWriter {
 public:
  ContextWriter(ByteWriter& w, uint16_t type) : w_(w) {
    w_.U16(type);
    length_at_ = w_.size();
    w_.U16(0);  // DataLength, patched by Finish()
    w_.U32(0);  // Reserved
    data_at_ = w_.size();
  }
  Status Finish() {
    size_t length = w_.size() - data_at_;
    if (length > UINT16_MAX) return Status::Invalid("negotiate request: context too long");
    w_.PatchU16(length_at_, static_cast<uint16_t>(length));
    return Status::Ok();
  }

 private:
  ByteWriter& w_;
  size_t length_at_ = 0;
  size_t data_at_ = 0;
};

constexpr size_t kMaxIds = 64;  // far above any defined algorithm list

uint16_t IdCount(const std::vector<uint16_t>& ids) {
  return static_cast<uint16_t>(std::min(ids.size(), kMaxIds));
}

Status WriteIdList(ByteWriter& w, const std::vector<uint16_t>& ids) {
  if (ids.size() > kMaxIds) return Status::Invalid("negotiate request: id list too long");
  for (uint16_t id : ids) w.U16(id);
  return Status::Ok();
}

// Writes the 3.1.1 contexts, 8-byte aligned, and returns how many were written.
Result<uint16_t> WriteContexts(const NegotiateRequest& request, ByteWriter& w) {
  uint16_t count = 0;
  auto begin = [&](uint16_t type) {
    if (count > 0) w.Align(8);  // [MS-SMB2] 2.2.3: each context 8-byte aligned
    ++count;
    return ContextWriter(w, type);
  };

  // [MS-SMB2] 2.2.3.1.1 SMB2_PREAUTH_INTEGRITY_CAPABILITIES
  if (request.hash_algorithms.empty()) {
    return Status::Invalid("negotiate request: 3.1.1 needs a preauth hash algorithm");
  }
  {
    ContextWriter c = begin(SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
    w.U16(IdCount(request.hash_algorithms));
    w.U16(static_cast<uint16_t>(request.salt.size()));
    SMB3_RETURN_IF_ERROR(WriteIdList(w, request.hash_algorithms));
    w.Bytes(request.salt);
    SMB3_RETURN_IF_ERROR(c.Finish());
  }
  // [MS-SMB2] 2.2.3.1.2 SMB2_ENCRYPTION_CAPABILITIES
  if (!request.ciphers.empty()) {
    ContextWriter c = begin(SMB2_ENCRYPTION_CAPABILITIES);
    w.U16(IdCount(request.ciphers));
    SMB3_RETURN_IF_ERROR(WriteIdList(w, request.ciphers));
    SMB3_RETURN_IF_ERROR(c.Finish());
  }
  // [MS-SMB2] 2.2.3.1.4 SMB2_NETNAME_NEGOTIATE_CONTEXT_ID
  if (!request.net_name.empty()) {
    ContextWriter c = begin(SMB2_NETNAME_NEGOTIATE_CONTEXT_ID);
    if (!AppendUtf16le(request.net_name, w.buffer()).ok()) {
      return Status::Invalid("negotiate request: net_name is not valid UTF-8");
    }
    SMB3_RETURN_IF_ERROR(c.Finish());
  }
  // [MS-SMB2] 2.2.3.1.5 SMB2_TRANSPORT_CAPABILITIES
  if (request.transport_capabilities) {
    ContextWriter c = begin(SMB2_TRANSPORT_CAPABILITIES);
    w.U32(*request.transport_capabilities);
    SMB3_RETURN_IF_ERROR(c.Finish());
  }
  // [MS-SMB2] 2.2.3.1.6 SMB2_RDMA_TRANSFORM_CAPABILITIES
  if (!request.rdma_transform_ids.empty()) {
    ContextWriter c = begin(SMB2_RDMA_TRANSFORM_CAPABILITIES);
    w.U16(IdCount(request.rdma_transform_ids));
    w.U16(0);  // Reserved1
    w.U32(0);  // Reserved2
    SMB3_RETURN_IF_ERROR(WriteIdList(w, request.rdma_transform_ids));
    SMB3_RETURN_IF_ERROR(c.Finish());
  }
  // [MS-SMB2] 2.2.3.1.7 SMB2_SIGNING_CAPABILITIES
  if (!request.signing_algorithms.empty()) {
    ContextWriter c = begin(SMB2_SIGNING_CAPABILITIES);
    w.U16(IdCount(request.signing_algorithms));
    SMB3_RETURN_IF_ERROR(WriteIdList(w, request.signing_algorithms));
    SMB3_RETURN_IF_ERROR(c.Finish());
  }
  return count;
}

// Which known contexts were seen, to enforce "at most one of each" ([MS-SMB2] 3.2.5.2).
struct SeenContexts {
  bool preauth = false;
  bool encryption = false;
  bool compression = false;
  bool rdma = false;
  bool signing = false;
  bool transport = false;
};

// [MS-SMB2] 2.2.4.1.1 SMB2_PREAUTH_INTEGRITY_CAPABILITIES (HashAlgorithmCount MUST be 1).
Status ParsePreauth(ByteView data, NegotiateResponse& out) {
  ByteReader r(data);
  uint16_t hash_count = r.U16();
  uint16_t salt_length = r.U16();
  if (!r.ok()) return Status::Protocol("negotiate response: preauth context too short");
  if (hash_count != 1) return Status::Protocol("negotiate response: HashAlgorithmCount is not 1");
  out.preauth_hash_algorithm = r.U16();
  out.preauth_salt = r.Bytes(salt_length);
  if (!r.ok()) return Status::Protocol("negotiate response: preauth context overruns DataLength");
  return Status::Ok();
}

// [MS-SMB2] 2.2.4.1.2 SMB2_ENCRYPTION_CAPABILITIES (CipherCount MUST be 1).
Status ParseEncryption(ByteView data, NegotiateResponse& out) {
  ByteReader r(data);
  uint16_t cipher_count = r.U16();
  uint16_t cipher = r.U16();
  if (!r.ok()) return Status::Protocol("negotiate response: encryption context too short");
  if (cipher_count != 1) return Status::Protocol("negotiate response: CipherCount is not 1");
  out.cipher = cipher;
  return Status::Ok();
}

// [MS-SMB2] 2.2.4.1.3 SMB2_COMPRESSION_CAPABILITIES, checked as 3.2.5.2 requires.
Status ParseCompression(ByteView data, NegotiateResponse& out) {
  ByteReader r(data);
  uint16_t count = r.U16();
  r.U16();  // Padding
  r.U32();  // Flags
  if (!r.ok()) return Status::Protocol("negotiate response: compression context too short");
  if (count == 0) return Status::Protocol("negotiate response: CompressionAlgorithmCount is 0");
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t id = r.U16();
    if (!r.ok()) return Status::Protocol("negotiate response: compression context overruns");
    if (id >= 32) return Status::Protocol("negotiate response: compression algorithm >= 32");
    if (Contains(out.compression_algorithms, id)) {
      return Status::Protocol("negotiate response: duplicate compression algorithm");
    }
    out.compression_algorithms.push_back(id);
  }
  return Status::Ok();
}

// [MS-SMB2] 2.2.4.1.5 SMB2_TRANSPORT_CAPABILITIES
Status ParseTransport(ByteView data, NegotiateResponse& out) {
  ByteReader r(data);
  uint32_t flags = r.U32();
  if (!r.ok()) return Status::Protocol("negotiate response: transport context too short");
  out.transport_capabilities = flags;
  return Status::Ok();
}

// [MS-SMB2] 2.2.4.1.6 SMB2_RDMA_TRANSFORM_CAPABILITIES
Status ParseRdmaTransform(ByteView data, NegotiateResponse& out) {
  ByteReader r(data);
  uint16_t count = r.U16();
  r.U16();  // Reserved1
  r.U32();  // Reserved2
  if (!r.ok()) return Status::Protocol("negotiate response: RDMA transform context too short");
  if (count == 0) return Status::Protocol("negotiate response: TransformCount is 0");
  ByteView ids = r.Bytes(size_t{count} * 2);
  if (!r.ok()) return Status::Protocol("negotiate response: RDMA transform context overruns");
  out.has_rdma_transform_context = true;
  out.rdma_transform_ids.reserve(count);
  for (size_t i = 0; i < ids.size(); i += 2) out.rdma_transform_ids.push_back(LoadU16(&ids[i]));
  return Status::Ok();
}

// [MS-SMB2] 2.2.4.1.7 SMB2_SIGNING_CAPABILITIES (SigningAlgorithmCount MUST be 1).
Status ParseSigning(ByteView data, NegotiateResponse& out) {
  ByteReader r(data);
  uint16_t count = r.U16();
  uint16_t algorithm = r.U16();
  if (!r.ok()) return Status::Protocol("negotiate response: signing context too short");
  if (count != 1) return Status::Protocol("negotiate response: SigningAlgorithmCount is not 1");
  out.signing_algorithm = algorithm;
  return Status::Ok();
}

Status ParseContext(uint16_t type, ByteView data, SeenContexts& seen, NegotiateResponse& out) {
  auto once = [](bool& flag) {
    if (flag) return false;
    flag = true;
    return true;
  };
  // [MS-SMB2] 3.2.5.2: more than one of a known context is an error; unknown ones are ignored.
  switch (type) {
    case SMB2_PREAUTH_INTEGRITY_CAPABILITIES:
      if (!once(seen.preauth))
        return Status::Protocol("negotiate response: repeated preauth context");
      return ParsePreauth(data, out);
    case SMB2_ENCRYPTION_CAPABILITIES:
      if (!once(seen.encryption)) {
        return Status::Protocol("negotiate response: repeated encryption context");
      }
      return ParseEncryption(data, out);
    case SMB2_COMPRESSION_CAPABILITIES:
      if (!once(seen.compression)) {
        return Status::Protocol("negotiate response: repeated compression context");
      }
      return ParseCompression(data, out);
    case SMB2_TRANSPORT_CAPABILITIES:
      if (!once(seen.transport)) {
        return Status::Protocol("negotiate response: repeated transport context");
      }
      return ParseTransport(data, out);
    case SMB2_RDMA_TRANSFORM_CAPABILITIES:
      if (!once(seen.rdma)) return Status::Protocol("negotiate response: repeated RDMA context");
      return ParseRdmaTransform(data, out);
    case SMB2_SIGNING_CAPABILITIES:
      if (!once(seen.signing))
        return Status::Protocol("negotiate response: repeated signing context");
      return ParseSigning(data, out);
    default:
      return Status::Ok();
  }
}

// Walks NegotiateContextList ([MS-SMB2] 2.2.4): the first context at `offset`, each next one at
// the first 8-byte aligned offset after the previous; the last one need not be padded.
Status ParseContextList(ByteView message, uint32_t offset, uint16_t count, NegotiateResponse& out) {
  if (count == 0) return Status::Protocol("negotiate response: no negotiate contexts for 3.1.1");
  if (count > kMaxNegotiateContexts) {
    return Status::Protocol("negotiate response: too many negotiate contexts");
  }
  if (offset % 8 != 0 || offset < kHeaderSize + kResponseFixedSize) {
    return Status::Protocol("negotiate response: bad NegotiateContextOffset");
  }
  SeenContexts seen;
  size_t pos = offset;
  for (uint16_t i = 0; i < count; ++i) {
    if (i > 0) pos = (pos + 7) & ~size_t{7};
    auto head = Slice(message, pos, kContextHeaderSize);
    if (!head) return Status::Protocol("negotiate response: negotiate context out of bounds");
    uint16_t type = LoadU16(&(*head)[0]);
    uint16_t length = LoadU16(&(*head)[2]);
    auto data = Slice(message, pos + kContextHeaderSize, length);
    if (!data) return Status::Protocol("negotiate response: negotiate context data out of bounds");
    SMB3_RETURN_IF_ERROR(ParseContext(type, *data, seen, out));
    pos += kContextHeaderSize + length;
  }
  // [MS-SMB2] 3.2.5.2: exactly one SMB2_PREAUTH_INTEGRITY_CAPABILITIES.
  if (!seen.preauth) return Status::Protocol("negotiate response: no preauth integrity context");
  return Status::Ok();
}

}  // namespace

// [MS-SMB2] 2.2.3
Status EncodeNegotiateRequest(const NegotiateRequest& request, ByteWriter& w) {
  if (request.dialects.empty() || request.dialects.size() > kMaxDialects) {
    return Status::Invalid("negotiate request: dialect count out of range");
  }
  const bool smb311 = Contains(request.dialects, kDialect311);
  w.U16(kRequestStructureSize);
  w.U16(static_cast<uint16_t>(request.dialects.size()));
  w.U16(request.security_mode);
  w.U16(0);  // Reserved
  w.U32(request.capabilities);
  w.Bytes(request.client_guid);
  const size_t context_offset_at = w.size();
  w.U32(0);  // NegotiateContextOffset / ClientStartTime (low half)
  w.U16(0);  // NegotiateContextCount
  w.U16(0);  // Reserved2
  for (uint16_t d : request.dialects) w.U16(d);
  if (!smb311) return Status::Ok();

  w.Align(8);  // Padding before the first context
  const size_t first_context = w.size();
  SMB3_ASSIGN_OR_RETURN(uint16_t count, WriteContexts(request, w));
  w.PatchU32(context_offset_at, static_cast<uint32_t>(first_context));
  w.PatchU16(context_offset_at + 4, count);
  return Status::Ok();
}

// [MS-SMB2] 2.2.4
Result<NegotiateResponse> DecodeNegotiateResponse(ByteView message) {
  SMB3_ASSIGN_OR_RETURN(ByteReader r, OpenBody(message, kResponseStructureSize, kResponseFixedSize,
                                               "negotiate response: bad size"));
  NegotiateResponse out;
  r.U16();  // StructureSize
  out.security_mode = r.U16();
  out.dialect_revision = r.U16();
  uint16_t context_count = r.U16();
  r.CopyTo(out.server_guid.data(), out.server_guid.size());
  out.capabilities = r.U32();
  out.max_transact_size = r.U32();
  out.max_read_size = r.U32();
  out.max_write_size = r.U32();
  out.system_time = r.U64();
  out.server_start_time = r.U64();
  uint16_t security_offset = r.U16();
  uint16_t security_length = r.U16();
  uint32_t context_offset = r.U32();
  if (!r.ok()) return Status::Protocol("negotiate response: truncated");

  SMB3_ASSIGN_OR_RETURN(out.security_buffer,
                        VariablePart(message, security_offset, security_length,
                                     "negotiate response: security buffer out of bounds"));
  // NegotiateContextCount/Offset are reserved for every dialect but 3.1.1 ([MS-SMB2] 2.2.4).
  if (out.dialect_revision == kDialect311) {
    SMB3_RETURN_IF_ERROR(ParseContextList(message, context_offset, context_count, out));
  }
  return out;
}

// [MS-SMB2] 3.2.5.2
Status CheckNegotiateResponse(const NegotiateRequest& request, const NegotiateResponse& response) {
  if (!Contains(request.dialects, response.dialect_revision)) {
    return Status::Protocol(
        "negotiate response: server selected a dialect the client did not offer");
  }
  if (response.max_transact_size < kMinNegotiatedSize ||
      response.max_read_size < kMinNegotiatedSize || response.max_write_size < kMinNegotiatedSize) {
    return Status::Protocol("negotiate response: MaxTransact/Read/WriteSize below 65536");
  }
  if (response.dialect_revision != kDialect311) return Status::Ok();

  if (!Contains(request.hash_algorithms, response.preauth_hash_algorithm)) {
    return Status::Protocol("negotiate response: hash algorithm not offered");
  }
  if (response.cipher && *response.cipher != 0 && !Contains(request.ciphers, *response.cipher)) {
    return Status::Protocol("negotiate response: cipher not offered");
  }
  if (response.signing_algorithm &&
      !Contains(request.signing_algorithms, *response.signing_algorithm)) {
    return Status::Protocol("negotiate response: signing algorithm not offered");
  }
  if (response.has_rdma_transform_context) {
    if (response.rdma_transform_ids.size() > request.rdma_transform_ids.size()) {
      return Status::Protocol("negotiate response: more RDMA transforms than offered");
    }
    for (uint16_t id : response.rdma_transform_ids) {
      if (!Contains(request.rdma_transform_ids, id)) {
        return Status::Protocol("negotiate response: RDMA transform not offered");
      }
    }
  }
  // The client offers no compression, so only a lone "NONE" is acceptable.
  if (!response.compression_algorithms.empty() &&
      !(response.compression_algorithms.size() == 1 &&
        response.compression_algorithms[0] == SMB2_COMPRESSION_NONE)) {
    return Status::Protocol("negotiate response: compression algorithm not offered");
  }
  return Status::Ok();
}

}  // namespace smb3::smb2
