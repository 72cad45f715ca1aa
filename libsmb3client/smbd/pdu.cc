// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smbd/pdu.h"

#include <cstring>
#include <limits>

namespace smb3::smbd {

// [MS-SMBD] 2.2.1
Status EncodeNegotiateRequest(const NegotiateRequest& request, ByteWriter& w) {
  w.U16(request.min_version);
  w.U16(request.max_version);
  w.U16(0);  // Reserved
  w.U16(request.credits_requested);
  w.U32(request.preferred_send_size);
  w.U32(request.max_receive_size);
  w.U32(request.max_fragmented_size);
  return Status::Ok();
}

// [MS-SMBD] 2.2.2
Status EncodeNegotiateResponse(const NegotiateResponse& response, ByteWriter& w) {
  w.U16(response.min_version);
  w.U16(response.max_version);
  w.U16(response.negotiated_version);
  w.U16(0);  // Reserved
  w.U16(response.credits_requested);
  w.U16(response.credits_granted);
  w.U32(response.status);
  w.U32(response.max_read_write_size);
  w.U32(response.preferred_send_size);
  w.U32(response.max_receive_size);
  w.U32(response.max_fragmented_size);
  return Status::Ok();
}

// [MS-SMBD] 2.2.3, laid out as 3.1.5.4 says: DataOffset 24, padding zero, no padding and
// DataOffset/DataLength 0 without a payload.
Result<size_t> EncodeDataTransfer(const DataTransfer& header, ByteView payload,
                                  MutableByteView out) {
  if (payload.size() > std::numeric_limits<uint32_t>::max() - kDataTransferDataOffset) {
    return Status::Invalid("smbd data transfer: payload too large");
  }
  const size_t size = DataTransferSize(payload.size());
  if (out.size() < size) return Status::Invalid("smbd data transfer: output buffer too small");
  uint8_t* p = out.data();
  StoreU16(p + 0, header.credits_requested);
  StoreU16(p + 2, header.credits_granted);
  StoreU16(p + 4, header.flags);
  StoreU16(p + 6, 0);  // Reserved
  StoreU32(p + 8, payload.empty() ? 0 : header.remaining_data_length);
  StoreU32(p + 12, payload.empty() ? 0 : static_cast<uint32_t>(kDataTransferDataOffset));
  StoreU32(p + 16, static_cast<uint32_t>(payload.size()));
  if (!payload.empty()) {
    StoreU32(p + 20, 0);  // Padding
    std::memcpy(p + kDataTransferDataOffset, payload.data(), payload.size());
  }
  return size;
}

Status EncodeDataTransfer(const DataTransfer& header, ByteView payload, ByteWriter& w) {
  if (payload.size() > std::numeric_limits<uint32_t>::max() - kDataTransferDataOffset) {
    return Status::Invalid("smbd data transfer: payload too large");
  }
  std::vector<uint8_t>& buf = w.buffer();
  const size_t at = buf.size();
  buf.resize(at + DataTransferSize(payload.size()));
  auto written = EncodeDataTransfer(header, payload, MutableByteView(buf).subspan(at));
  return written.ok() ? Status::Ok() : written.status();
}

// [MS-SMBD] 3.1.5.6
Result<NegotiateRequest> DecodeNegotiateRequest(ByteView message) {
  ByteReader r(message);
  NegotiateRequest q;
  q.min_version = r.U16();
  q.max_version = r.U16();
  r.Skip(2);  // Reserved
  q.credits_requested = r.U16();
  q.preferred_send_size = r.U32();
  q.max_receive_size = r.U32();
  q.max_fragmented_size = r.U32();
  if (!r.ok()) return Status::Protocol("smbd negotiate request: shorter than 20 bytes");
  if (q.min_version > kSmbDirectVersion1 || q.max_version < kSmbDirectVersion1) {
    return Status::NtStatus(kStatusNotSupported, "smbd negotiate request: version 1.0 not offered");
  }
  if (q.credits_requested == 0) {
    return Status::Protocol("smbd negotiate request: CreditsRequested is 0");
  }
  if (q.max_receive_size < kMinMaxReceiveSize) {
    return Status::Protocol("smbd negotiate request: MaxReceiveSize below 128");
  }
  if (q.max_fragmented_size < kMinMaxFragmentedSize) {
    return Status::Protocol("smbd negotiate request: MaxFragmentedSize below 131072");
  }
  return q;
}

// [MS-SMBD] 3.1.5.7
Result<NegotiateResponse> DecodeNegotiateResponse(ByteView message) {
  ByteReader r(message);
  NegotiateResponse s;
  s.min_version = r.U16();
  s.max_version = r.U16();
  s.negotiated_version = r.U16();
  r.Skip(2);  // Reserved
  s.credits_requested = r.U16();
  s.credits_granted = r.U16();
  s.status = r.U32();
  s.max_read_write_size = r.U32();
  s.preferred_send_size = r.U32();
  s.max_receive_size = r.U32();
  s.max_fragmented_size = r.U32();
  if (!r.ok()) return Status::Protocol("smbd negotiate response: shorter than 32 bytes");
  // [MS-SMBD] 3.1.5.3: a refusal carries only the versions and Status; report the Status itself.
  if (s.status != kStatusSuccess) {
    return Status::NtStatus(s.status, "smbd negotiate response: peer refused the negotiation");
  }
  if (s.negotiated_version != kSmbDirectVersion1) {
    return Status::Protocol("smbd negotiate response: NegotiatedVersion is not 0x0100");
  }
  if (s.max_receive_size < kMinMaxReceiveSize) {
    return Status::Protocol("smbd negotiate response: MaxReceiveSize below 128");
  }
  if (s.max_fragmented_size < kMinMaxFragmentedSize) {
    return Status::Protocol("smbd negotiate response: MaxFragmentedSize below 131072");
  }
  if (s.credits_granted == 0) {
    return Status::Protocol("smbd negotiate response: CreditsGranted is 0");
  }
  if (s.credits_requested == 0) {
    return Status::Protocol("smbd negotiate response: CreditsRequested is 0");
  }
  return s;
}

// [MS-SMBD] 3.1.5.7: the peer promised (2.2.2) to send no more than we can receive.
Status CheckNegotiateResponse(const NegotiateResponse& response, uint32_t our_max_receive_size) {
  if (response.preferred_send_size > our_max_receive_size) {
    return Status::Protocol(
        "smbd negotiate response: PreferredSendSize exceeds our MaxReceiveSize");
  }
  return Status::Ok();
}

// [MS-SMBD] 3.1.5.8
Result<DataTransfer> DecodeDataTransfer(ByteView message) {
  ByteReader r(message);
  DataTransfer m;
  m.credits_requested = r.U16();
  m.credits_granted = r.U16();
  m.flags = r.U16();
  r.Skip(2);  // Reserved
  m.remaining_data_length = r.U32();
  m.data_offset = r.U32();
  m.data_length = r.U32();
  if (!r.ok()) return Status::Protocol("smbd data transfer: shorter than 20 bytes");
  if (m.credits_requested == 0) {
    return Status::Protocol("smbd data transfer: CreditsRequested is 0");
  }
  if (m.data_offset % 8 != 0) {
    return Status::Protocol("smbd data transfer: DataOffset not 8-byte aligned");
  }
  if (m.data_length == 0) {
    // 2.2.3: a message without data is the last (and only) one of its sequence. DataOffset should
    // be 0 then; it is only checked for alignment, as 3.1.5.8 lists.
    if (m.remaining_data_length != 0) {
      return Status::Protocol("smbd data transfer: RemainingDataLength without data");
    }
    return m;
  }
  if (m.data_offset < kDataTransferHeaderSize) {
    return Status::Protocol("smbd data transfer: DataOffset inside the header");
  }
  auto data = Slice(message, m.data_offset, m.data_length);
  if (!data)
    return Status::Protocol("smbd data transfer: DataOffset + DataLength past the message");
  m.data = *data;
  return m;
}

}  // namespace smb3::smbd
