// SPDX-License-Identifier: LGPL-2.1-or-later
// The three MS-SMBD messages ([MS-SMBD] 2.2.1, 2.2.2, 2.2.3): encoders and validating decoders.
// The buffer descriptor of 2.2.3.1 lives in smb2/channel.h (the upper layer embeds it).
//
// Pure functions, no state. Decoders check everything that can be checked without connection state
// (sizes, versions, alignment, bounds) and return kProtocol naming the violated rule; the rules
// that need negotiated values (MaxReceiveSize, MaxFragmentedSize, credits) are the engine's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_io.h"
#include "smb3/status.h"

namespace smb3::smbd {

// [MS-SMBD] 1.7: the only protocol version.
inline constexpr uint16_t kSmbDirectVersion1 = 0x0100;

// [MS-SMBD] 2.2.3 Flags.
inline constexpr uint16_t SMB_DIRECT_RESPONSE_REQUESTED = 0x0001;

inline constexpr size_t kNegotiateRequestSize = 20;    // [MS-SMBD] 2.2.1
inline constexpr size_t kNegotiateResponseSize = 32;   // [MS-SMBD] 2.2.2
inline constexpr size_t kDataTransferHeaderSize = 20;  // [MS-SMBD] 2.2.3, up to DataLength
// [MS-SMBD] 3.1.5.4: DataOffset SHOULD be 24 (the header plus 4 bytes of padding).
inline constexpr size_t kDataTransferDataOffset = 24;

// [MS-SMBD] 3.1.5.6, 3.1.5.7: the smallest MaxReceiveSize and MaxFragmentedSize a peer may offer.
inline constexpr uint32_t kMinMaxReceiveSize = 128;
inline constexpr uint32_t kMinMaxFragmentedSize = 131072;

// [MS-ERREF] 2.3 values the negotiate can carry.
inline constexpr uint32_t kStatusSuccess = 0x00000000;
inline constexpr uint32_t kStatusNotSupported = 0xC00000BB;

// [MS-SMBD] 2.2.1 Negotiate Request.
struct NegotiateRequest {
  uint16_t min_version = kSmbDirectVersion1;
  uint16_t max_version = kSmbDirectVersion1;
  uint16_t credits_requested = 0;
  uint32_t preferred_send_size = 0;
  uint32_t max_receive_size = 0;
  uint32_t max_fragmented_size = 0;
  bool operator==(const NegotiateRequest&) const = default;
};

// [MS-SMBD] 2.2.2 Negotiate Response.
struct NegotiateResponse {
  uint16_t min_version = kSmbDirectVersion1;
  uint16_t max_version = kSmbDirectVersion1;
  uint16_t negotiated_version = kSmbDirectVersion1;
  uint16_t credits_requested = 0;
  uint16_t credits_granted = 0;
  uint32_t status = kStatusSuccess;
  uint32_t max_read_write_size = 0;
  uint32_t preferred_send_size = 0;
  uint32_t max_receive_size = 0;
  uint32_t max_fragmented_size = 0;
  bool operator==(const NegotiateResponse&) const = default;
};

// [MS-SMBD] 2.2.3 Data Transfer message, fixed part. `data` views the payload inside the decoded
// message (DataOffset/DataLength), empty when the message carries none.
struct DataTransfer {
  uint16_t credits_requested = 0;
  uint16_t credits_granted = 0;
  uint16_t flags = 0;
  uint32_t remaining_data_length = 0;
  uint32_t data_offset = 0;
  uint32_t data_length = 0;
  ByteView data;
};

// Appends the 20-byte request. Errors: none (always Ok); Reserved is written zero.
Status EncodeNegotiateRequest(const NegotiateRequest& request, ByteWriter& w);
// Appends the 32-byte response. Errors: none (always Ok).
Status EncodeNegotiateResponse(const NegotiateResponse& response, ByteWriter& w);

// Writes a data transfer message into `out` (e.g. a registered send buffer): the 20-byte header,
// then, when `payload` is non-empty, 4 bytes of zero padding and the payload at DataOffset 24
// ([MS-SMBD] 3.1.5.4). DataOffset, DataLength are derived from `payload`; header.data_offset,
// header.data_length and header.data are ignored. Returns the bytes written.
// Errors: kInvalidArgument when `out` is too small or the payload exceeds 4 GiB - 24.
Result<size_t> EncodeDataTransfer(const DataTransfer& header, ByteView payload,
                                  MutableByteView out);
// The same, appended to a vector.
Status EncodeDataTransfer(const DataTransfer& header, ByteView payload, ByteWriter& w);
// Bytes EncodeDataTransfer writes for a payload of `payload_size` bytes.
constexpr size_t DataTransferSize(size_t payload_size) {
  return payload_size == 0 ? kDataTransferHeaderSize : kDataTransferDataOffset + payload_size;
}

// [MS-SMBD] 3.1.5.6 checks that need no local state. Errors (kProtocol): shorter than 20 bytes,
// CreditsRequested 0, MaxReceiveSize < 128, MaxFragmentedSize < 131072; (kNtStatus
// STATUS_NOT_SUPPORTED): [MinVersion, MaxVersion] does not include 0x0100 — the responder answers
// that with a failed negotiate response rather than a bare disconnect.
Result<NegotiateRequest> DecodeNegotiateRequest(ByteView message);

// [MS-SMBD] 3.1.5.7 checks that need no local state. Errors: kNtStatus with the peer's Status when
// it is not STATUS_SUCCESS (checked first: a refusal zeroes the other fields); kProtocol for a
// message shorter than 32 bytes, NegotiatedVersion not 0x0100, CreditsRequested 0, CreditsGranted
// 0, MaxReceiveSize < 128, MaxFragmentedSize < 131072. The check of PreferredSendSize against the
// local MaxReceiveSize is CheckNegotiateResponse's.
Result<NegotiateResponse> DecodeNegotiateResponse(ByteView message);
// Errors (kProtocol): PreferredSendSize greater than the MaxReceiveSize we offered.
Status CheckNegotiateResponse(const NegotiateResponse& response, uint32_t our_max_receive_size);

// [MS-SMBD] 3.1.5.8 checks that need no local state. Errors (kProtocol): shorter than 20 bytes,
// CreditsRequested 0, DataOffset not 8-byte aligned, a payload that starts inside the header or
// ends past the message, RemainingDataLength non-zero on a message without data. The returned
// `data` views `message`.
Result<DataTransfer> DecodeDataTransfer(ByteView message);

}  // namespace smb3::smbd
