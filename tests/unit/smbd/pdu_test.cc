// SPDX-License-Identifier: LGPL-2.1-or-later
// The MS-SMBD messages against bytes derived by hand from the layouts of [MS-SMBD] 2.2 and the
// values of the examples in [MS-SMBD] 4.1 and 4.2.
#include "smbd/pdu.h"

#include <gtest/gtest.h>

#include <vector>

namespace smb3::smbd {
namespace {

// [MS-SMBD] 4.1: 1.0 only, 10 credits, 1 KiB sends and receives, 128 KiB fragmented.
const std::vector<uint8_t> kNegotiateRequest41 = {
    0x00, 0x01,              // MinVersion 0x0100
    0x00, 0x01,              // MaxVersion 0x0100
    0x00, 0x00,              // Reserved
    0x0A, 0x00,              // CreditsRequested 10
    0x00, 0x04, 0x00, 0x00,  // PreferredSendSize 1024
    0x00, 0x04, 0x00, 0x00,  // MaxReceiveSize 1024
    0x00, 0x00, 0x02, 0x00,  // MaxFragmentedSize 131072
};

const std::vector<uint8_t> kNegotiateResponse41 = {
    0x00, 0x01,              // MinVersion
    0x00, 0x01,              // MaxVersion
    0x00, 0x01,              // NegotiatedVersion
    0x00, 0x00,              // Reserved
    0x0A, 0x00,              // CreditsRequested 10
    0x0A, 0x00,              // CreditsGranted 10
    0x00, 0x00, 0x00, 0x00,  // Status STATUS_SUCCESS
    0x00, 0x00, 0x10, 0x00,  // MaxReadWriteSize 1 MiB
    0x00, 0x04, 0x00, 0x00,  // PreferredSendSize 1024
    0x00, 0x04, 0x00, 0x00,  // MaxReceiveSize 1024
    0x00, 0x00, 0x02, 0x00,  // MaxFragmentedSize 131072
};

NegotiateResponse Response41() {
  NegotiateResponse r;
  r.credits_requested = 10;
  r.credits_granted = 10;
  r.max_read_write_size = 0x100000;
  r.preferred_send_size = 1024;
  r.max_receive_size = 1024;
  r.max_fragmented_size = 0x20000;
  return r;
}

std::vector<uint8_t> Encode(const NegotiateResponse& r) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  EXPECT_TRUE(EncodeNegotiateResponse(r, w).ok());
  return out;
}

std::vector<uint8_t> Encode(const NegotiateRequest& q) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  EXPECT_TRUE(EncodeNegotiateRequest(q, w).ok());
  return out;
}

std::vector<uint8_t> Payload(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + 3);
  return p;
}

TEST(NegotiateRequest, GoldenBytesOfExample41) {
  NegotiateRequest q;
  q.credits_requested = 10;
  q.preferred_send_size = 1024;
  q.max_receive_size = 1024;
  q.max_fragmented_size = 0x20000;
  EXPECT_EQ(Encode(q), kNegotiateRequest41);
  auto back = DecodeNegotiateRequest(kNegotiateRequest41);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, q);
}

TEST(NegotiateRequest, EveryTruncationIsRejected) {
  for (size_t n = 0; n < kNegotiateRequestSize; ++n) {
    auto r = DecodeNegotiateRequest(ByteView(kNegotiateRequest41).first(n));
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << n;
  }
  std::vector<uint8_t> longer = kNegotiateRequest41;
  longer.push_back(0xEE);
  EXPECT_TRUE(DecodeNegotiateRequest(longer).ok());
}

// [MS-SMBD] 3.1.5.6, one row per rule.
TEST(NegotiateRequest, ReceiverRules) {
  auto with = [](auto mutate) {
    NegotiateRequest q;
    q.credits_requested = 10;
    q.preferred_send_size = 1024;
    q.max_receive_size = 1024;
    q.max_fragmented_size = 0x20000;
    mutate(q);
    return DecodeNegotiateRequest(Encode(q));
  };
  EXPECT_TRUE(with([](NegotiateRequest& q) { q.max_version = 0x0200; }).ok());
  EXPECT_TRUE(with([](NegotiateRequest& q) { q.min_version = 0x0001; }).ok());
  EXPECT_TRUE(with([](NegotiateRequest& q) {
                q.min_version = 0x0101;
                q.max_version = 0x0200;
              })
                  .status()
                  .IsNt(kStatusNotSupported));
  EXPECT_TRUE(with([](NegotiateRequest& q) { q.min_version = q.max_version = 0x00FF; })
                  .status()
                  .IsNt(kStatusNotSupported));
  EXPECT_TRUE(
      with([](NegotiateRequest& q) { q.credits_requested = 0; }).status().Is(Code::kProtocol));
  EXPECT_TRUE(
      with([](NegotiateRequest& q) { q.max_receive_size = 127; }).status().Is(Code::kProtocol));
  EXPECT_TRUE(with([](NegotiateRequest& q) { q.max_receive_size = 128; }).ok());
  EXPECT_TRUE(with([](NegotiateRequest& q) { q.max_fragmented_size = 131071; })
                  .status()
                  .Is(Code::kProtocol));
  EXPECT_TRUE(with([](NegotiateRequest& q) { q.max_fragmented_size = 131072; }).ok());
}

TEST(NegotiateResponse, GoldenBytesOfExample41) {
  EXPECT_EQ(Encode(Response41()), kNegotiateResponse41);
  auto back = DecodeNegotiateResponse(kNegotiateResponse41);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, Response41());
  EXPECT_TRUE(CheckNegotiateResponse(*back, 1024).ok());
  EXPECT_TRUE(CheckNegotiateResponse(*back, 1023).Is(Code::kProtocol));
}

TEST(NegotiateResponse, EveryTruncationIsRejected) {
  for (size_t n = 0; n < kNegotiateResponseSize; ++n) {
    auto r = DecodeNegotiateResponse(ByteView(kNegotiateResponse41).first(n));
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << n;
  }
}

TEST(NegotiateResponse, ReservedIsIgnored) {
  std::vector<uint8_t> bytes = kNegotiateResponse41;
  bytes[6] = 0xFF;
  bytes[7] = 0xFF;
  auto r = DecodeNegotiateResponse(bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Response41());
}

// [MS-SMBD] 3.1.5.7, one row per rule.
TEST(NegotiateResponse, ReceiverRules) {
  auto with = [](auto mutate) {
    NegotiateResponse r = Response41();
    mutate(r);
    return DecodeNegotiateResponse(Encode(r)).status();
  };
  EXPECT_TRUE(
      with([](NegotiateResponse& r) { r.negotiated_version = 0x0200; }).Is(Code::kProtocol));
  EXPECT_TRUE(with([](NegotiateResponse& r) { r.max_receive_size = 127; }).Is(Code::kProtocol));
  EXPECT_TRUE(with([](NegotiateResponse& r) { r.max_receive_size = 128; }).ok());
  EXPECT_TRUE(
      with([](NegotiateResponse& r) { r.max_fragmented_size = 131071; }).Is(Code::kProtocol));
  EXPECT_TRUE(with([](NegotiateResponse& r) { r.credits_granted = 0; }).Is(Code::kProtocol));
  EXPECT_TRUE(with([](NegotiateResponse& r) { r.credits_requested = 0; }).Is(Code::kProtocol));
  // 3.1.5.3: a refusal zeroes everything but the versions and Status; the Status is what we report.
  NegotiateResponse refusal;
  refusal.negotiated_version = 0;
  refusal.status = 0xC000009A;  // STATUS_INSUFFICIENT_RESOURCES
  Status s = DecodeNegotiateResponse(Encode(refusal)).status();
  EXPECT_TRUE(s.IsNt(0xC000009A)) << s.ToString();
  // MaxReadWriteSize 0 is legal: it only means no RDMA transfers.
  EXPECT_TRUE(with([](NegotiateResponse& r) { r.max_read_write_size = 0; }).ok());
}

TEST(DataTransfer, GoldenBytesOfExample42) {
  // [MS-SMBD] 4.2: 10 credits requested, 1 granted, 500 bytes of data at offset 24.
  std::vector<uint8_t> payload = Payload(500);
  DataTransfer h;
  h.credits_requested = 10;
  h.credits_granted = 1;
  std::vector<uint8_t> out;
  ByteWriter w(out);
  ASSERT_TRUE(EncodeDataTransfer(h, payload, w).ok());
  std::vector<uint8_t> expected = {
      0x0A, 0x00,              // CreditsRequested 10
      0x01, 0x00,              // CreditsGranted 1
      0x00, 0x00,              // Flags
      0x00, 0x00,              // Reserved
      0x00, 0x00, 0x00, 0x00,  // RemainingDataLength
      0x18, 0x00, 0x00, 0x00,  // DataOffset 24
      0xF4, 0x01, 0x00, 0x00,  // DataLength 500
      0x00, 0x00, 0x00, 0x00,  // Padding
  };
  expected.insert(expected.end(), payload.begin(), payload.end());
  EXPECT_EQ(out, expected);
  EXPECT_EQ(out.size(), DataTransferSize(500));

  auto m = DecodeDataTransfer(out);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->credits_requested, 10);
  EXPECT_EQ(m->credits_granted, 1);
  EXPECT_EQ(m->flags, 0);
  EXPECT_EQ(m->remaining_data_length, 0u);
  EXPECT_EQ(m->data_offset, 24u);
  EXPECT_EQ(m->data_length, 500u);
  EXPECT_EQ(std::vector<uint8_t>(m->data.begin(), m->data.end()), payload);
  EXPECT_EQ(m->data.data(), out.data() + 24);
}

TEST(DataTransfer, EmptyMessageIsTwentyBytesWithZeroOffsetAndLength) {
  // [MS-SMBD] 3.1.5.4: no payload, no padding, DataOffset/DataLength/RemainingDataLength 0.
  DataTransfer h;
  h.credits_requested = 255;
  h.credits_granted = 3;
  h.flags = SMB_DIRECT_RESPONSE_REQUESTED;
  h.remaining_data_length = 77;  // ignored without a payload
  std::vector<uint8_t> out;
  ByteWriter w(out);
  ASSERT_TRUE(EncodeDataTransfer(h, {}, w).ok());
  const std::vector<uint8_t> expected = {0xFF, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0, 0,
                                         0,    0,    0,    0,    0,    0,    0,    0,    0, 0};
  EXPECT_EQ(out, expected);
  auto m = DecodeDataTransfer(out);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->flags, SMB_DIRECT_RESPONSE_REQUESTED);
  EXPECT_TRUE(m->data.empty());
}

TEST(DataTransfer, FragmentCarriesRemainingDataLength) {
  // [MS-SMBD] 4.3: 1000 bytes of a 64 KiB message, 63 KiB remaining.
  std::vector<uint8_t> payload = Payload(1000);
  DataTransfer h;
  h.credits_requested = 10;
  h.credits_granted = 1;
  h.remaining_data_length = 63 * 1024;
  std::vector<uint8_t> buf(1024, 0xCC);
  auto n = EncodeDataTransfer(h, payload, MutableByteView(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1024u);
  EXPECT_EQ(LoadU32(&buf[8]), 63u * 1024);
  EXPECT_EQ(LoadU32(&buf[20]), 0u);  // padding zeroed over the 0xCC
  auto m = DecodeDataTransfer(buf);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->remaining_data_length, 63u * 1024);
}

TEST(DataTransfer, EncodeRefusesASmallBuffer) {
  std::vector<uint8_t> payload = Payload(100);
  std::vector<uint8_t> buf(123);
  EXPECT_TRUE(
      EncodeDataTransfer({}, payload, MutableByteView(buf)).status().Is(Code::kInvalidArgument));
  std::vector<uint8_t> exact(124);
  EXPECT_TRUE(EncodeDataTransfer({}, payload, MutableByteView(exact)).ok());
}

TEST(DataTransfer, EveryTruncationIsRejected) {
  std::vector<uint8_t> payload = Payload(40);
  DataTransfer h;
  h.credits_requested = 1;
  std::vector<uint8_t> out;
  ByteWriter w(out);
  ASSERT_TRUE(EncodeDataTransfer(h, payload, w).ok());
  for (size_t n = 0; n < out.size(); ++n) {
    auto r = DecodeDataTransfer(ByteView(out).first(n));
    EXPECT_TRUE(r.status().Is(Code::kProtocol)) << n;
  }
  EXPECT_TRUE(DecodeDataTransfer(out).ok());
}

// [MS-SMBD] 3.1.5.8, one row per rule.
TEST(DataTransfer, ReceiverRules) {
  auto message = [](uint16_t credits_requested, uint32_t remaining, uint32_t offset,
                    uint32_t length, size_t total) {
    std::vector<uint8_t> m(total, 0);
    if (total >= 20) {
      StoreU16(&m[0], credits_requested);
      StoreU32(&m[8], remaining);
      StoreU32(&m[12], offset);
      StoreU32(&m[16], length);
    }
    return m;
  };
  auto status = [](const std::vector<uint8_t>& m) { return DecodeDataTransfer(m).status(); };
  EXPECT_TRUE(status(message(1, 0, 24, 8, 32)).ok());
  EXPECT_TRUE(status(message(0, 0, 24, 8, 32)).Is(Code::kProtocol));  // CreditsRequested 0
  EXPECT_TRUE(status(message(1, 0, 28, 4, 32)).Is(Code::kProtocol));  // not 8-byte aligned
  EXPECT_TRUE(status(message(1, 0, 24, 9, 32)).Is(Code::kProtocol));  // one byte past the end
  EXPECT_TRUE(status(message(1, 0, 32, 0, 32)).ok());                 // no data: offset unused
  EXPECT_TRUE(status(message(1, 0, 16, 8, 32)).Is(Code::kProtocol));  // payload in the header
  EXPECT_TRUE(status(message(1, 5, 0, 0, 20)).Is(Code::kProtocol));   // remaining, no data
  EXPECT_TRUE(status(message(1, 0, 0xFFFFFFF8u, 16, 32)).Is(Code::kProtocol));  // offset wraps
  EXPECT_TRUE(status(message(1, 0, 24, 0xFFFFFFF0u, 32)).Is(Code::kProtocol));  // length wraps
  EXPECT_TRUE(status(message(1, 0, 32, 0, 32)).ok());
  // 2.2.3 allows more padding than 4 bytes: DataOffset 32 is as good as 24.
  auto m = DecodeDataTransfer(message(1, 0, 32, 8, 40));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->data.size(), 8u);
}

}  // namespace
}  // namespace smb3::smbd
