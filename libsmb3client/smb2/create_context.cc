// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb2/create_context.h"

#include <algorithm>

namespace smb3::smb2 {
namespace {

uint32_t NameAsU32(ByteView name) {
  return (static_cast<uint32_t>(name[0]) << 24) | (static_cast<uint32_t>(name[1]) << 16) |
         (static_cast<uint32_t>(name[2]) << 8) | name[3];
}

// [MS-SMB2] 2.2.13.2: one context with a 4-character name. The name sits right after the
// 16-byte header (offset 16); the data, if any, at the next 8-byte boundary (offset 24).
// Returns the writer position of the context so the caller can patch its Next field.
size_t AppendContext(uint32_t name, ByteView data, ByteWriter& w) {
  size_t start = w.size();
  w.U32(0);                                  // Next, patched by the caller
  w.U16(kCreateContextHeaderSize);           // NameOffset
  w.U16(4);                                  // NameLength
  w.U16(0);                                  // Reserved
  w.U16(data.empty() ? 0 : 24);              // DataOffset (0 when there is no data)
  w.U32(static_cast<uint32_t>(data.size()));  // DataLength
  w.U32BE(name);
  if (!data.empty()) {
    w.Zeros(4);  // pad the name to the 8-byte aligned data
    w.Bytes(data);
  }
  return start;
}

}  // namespace

Status EncodeCreateContexts(const CreateContextsRequest& contexts, size_t base, ByteWriter& w) {
  if (w.size() < base || (w.size() - base) % 8 != 0)
    return Status::Invalid("create context: unaligned chain");
  // [MS-SMB2] 3.3.5.9.10: a server fails a CREATE that carries both DH2Q and DH2C.
  if (contexts.durable_handle_v2 && contexts.durable_reconnect_v2)
    return Status::Invalid("create context: DH2Q and DH2C are exclusive");
  std::vector<size_t> starts;
  auto begin = [&]() {
    // [MS-SMB2] 2.2.13.2: each following context starts 8-byte aligned.
    if (!starts.empty()) {
      size_t rem = (w.size() - base) % 8;
      if (rem) w.Zeros(8 - rem);
    }
  };
  if (contexts.durable_handle_v2) {
    // [MS-SMB2] 2.2.13.2.11: Timeout, Flags, Reserved (8), CreateGuid.
    const DurableHandleRequestV2& d = *contexts.durable_handle_v2;
    std::vector<uint8_t> data;
    ByteWriter dw(data);
    dw.U32(d.timeout);
    dw.U32(d.flags);
    dw.U64(0);
    dw.Bytes(d.create_guid);
    begin();
    starts.push_back(AppendContext(SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, data, w));
  }
  if (contexts.durable_reconnect_v2) {
    // [MS-SMB2] 2.2.13.2.12: FileId, CreateGuid, Flags.
    const DurableHandleReconnectV2& d = *contexts.durable_reconnect_v2;
    std::vector<uint8_t> data;
    ByteWriter dw(data);
    dw.U64(d.file_id.persistent);
    dw.U64(d.file_id.volatile_id);
    dw.Bytes(d.create_guid);
    dw.U32(d.flags);
    begin();
    starts.push_back(AppendContext(SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2, data, w));
  }
  if (contexts.query_maximal_access) {
    // [MS-SMB2] 2.2.13.2.5: the data may be empty (no Timestamp).
    begin();
    starts.push_back(AppendContext(SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST, {}, w));
  }
  if (contexts.query_on_disk_id) {
    // [MS-SMB2] 2.2.13.2.9: the data MUST be empty.
    begin();
    starts.push_back(AppendContext(SMB2_CREATE_QUERY_ON_DISK_ID, {}, w));
  }
  for (size_t i = 0; i + 1 < starts.size(); ++i)
    w.PatchU32(starts[i], static_cast<uint32_t>(starts[i + 1] - starts[i]));
  return Status::Ok();
}

Result<std::vector<CreateContextView>> SplitCreateContexts(ByteView chain) {
  std::vector<CreateContextView> out;
  size_t pos = 0;
  while (pos < chain.size()) {
    if (out.size() >= kMaxCreateContexts) return Status::Protocol("create context: too many");
    if (chain.size() - pos < kCreateContextHeaderSize)
      return Status::Protocol("create context: truncated header");
    ByteReader r(chain.subspan(pos));
    uint32_t next = r.U32();
    uint16_t name_offset = r.U16();
    uint16_t name_length = r.U16();
    r.U16();  // Reserved
    uint16_t data_offset = r.U16();
    uint32_t data_length = r.U32();
    // The extent of this context: up to the next one, or the rest of the chain for the last.
    size_t extent = chain.size() - pos;
    if (next != 0) {
      // A Next at or past the end of the chain promises a context that is not there.
      if (next % 8 != 0 || next < kCreateContextHeaderSize || next >= extent)
        return Status::Protocol("create context: bad Next");
      extent = next;
    }
    ByteView self = chain.subspan(pos, extent);
    if (name_length < 4 || name_offset < kCreateContextHeaderSize)
      return Status::Protocol("create context: bad name");
    auto name = Slice(self, name_offset, name_length);
    if (!name) return Status::Protocol("create context: name out of bounds");
    ByteView data;
    if (data_length != 0) {
      if (data_offset < kCreateContextHeaderSize) return Status::Protocol("create context: bad data");
      auto d = Slice(self, data_offset, data_length);
      if (!d) return Status::Protocol("create context: data out of bounds");
      data = *d;
    }
    out.push_back(CreateContextView{*name, data});
    if (next == 0) break;
    pos += next;
  }
  return out;
}

Result<CreateContextsResponse> DecodeCreateContexts(ByteView chain) {
  SMB3_ASSIGN_OR_RETURN(std::vector<CreateContextView> views, SplitCreateContexts(chain));
  CreateContextsResponse out;
  for (const CreateContextView& c : views) {
    if (c.name.size() != 4) continue;  // GUID-named contexts (app instance, SVHDX) are not ours
    ByteReader r(c.data);
    switch (NameAsU32(c.name)) {
      case SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2: {
        // [MS-SMB2] 2.2.14.2.12: Timeout, Flags.
        if (out.durable_handle_v2) return Status::Protocol("create context: duplicate DH2Q");
        DurableHandleResponseV2 d;
        d.timeout = r.U32();
        d.flags = r.U32();
        if (!r.ok()) return Status::Protocol("create context: short DH2Q");
        out.durable_handle_v2 = d;
        break;
      }
      case SMB2_CREATE_DURABLE_HANDLE_REQUEST:
        // [MS-SMB2] 2.2.14.2.3: 8 reserved bytes.
        if (out.durable_handle_v1) return Status::Protocol("create context: duplicate DHnQ");
        out.durable_handle_v1 = true;
        break;
      case SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST: {
        // [MS-SMB2] 2.2.14.2.5: QueryStatus, MaximalAccess.
        if (out.maximal_access) return Status::Protocol("create context: duplicate MxAc");
        MaximalAccessResponse m;
        m.query_status = r.U32();
        m.maximal_access = r.U32();
        if (!r.ok()) return Status::Protocol("create context: short MxAc");
        out.maximal_access = m;
        break;
      }
      case SMB2_CREATE_QUERY_ON_DISK_ID: {
        // [MS-SMB2] 2.2.14.2.9: DiskFileId, VolumeId, Reserved (16).
        if (out.on_disk_id) return Status::Protocol("create context: duplicate QFid");
        if (c.data.size() < 32) return Status::Protocol("create context: short QFid");
        OnDiskIdResponse q;
        q.disk_file_id = r.U64();
        q.volume_id = r.U64();
        std::copy(c.data.begin(), c.data.begin() + 32, q.raw.begin());
        out.on_disk_id = q;
        break;
      }
      default:
        break;  // leases and others this client does not request
    }
  }
  return out;
}

}  // namespace smb3::smb2
