// SPDX-License-Identifier: LGPL-2.1-or-later
// Little-endian, bounds-checked reading and writing of wire data.
//
// ByteReader latches failure: once a read runs past the end, every further read returns zero and
// ok() is false, so a decoder reads its fixed fields and checks ok() once. Variable parts are taken
// with Slice(offset, length) against the whole message, which checks offset + length without overflow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace smb3 {

using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

// Checked sub-view [offset, offset+length) of `data`; nullopt when it does not fit.
inline std::optional<ByteView> Slice(ByteView data, size_t offset, size_t length) {
  if (offset > data.size() || length > data.size() - offset) return std::nullopt;
  return data.subspan(offset, length);
}

inline uint16_t LoadU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t LoadU64(const uint8_t* p) {
  return static_cast<uint64_t>(LoadU32(p)) | (static_cast<uint64_t>(LoadU32(p + 4)) << 32);
}
inline void StoreU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void StoreU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  ByteView data() const { return data_; }

  uint8_t U8() { return Need(1) ? data_[pos_++] : 0; }
  uint16_t U16() { return Need(2) ? Advance(LoadU16(&data_[pos_]), 2) : 0; }
  uint32_t U32() { return Need(4) ? Advance(LoadU32(&data_[pos_]), 4) : 0; }
  uint64_t U64() { return Need(8) ? Advance(LoadU64(&data_[pos_]), 8) : 0; }
  // Big-endian, for the few network-order fields (Direct TCP length, ASN.1 lengths).
  uint32_t U32BE() {
    if (!Need(4)) return 0;
    const uint8_t* p = &data_[pos_];
    pos_ += 4;
    return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
           (static_cast<uint32_t>(p[2]) << 8) | p[3];
  }
  // Next n bytes as a view (empty on failure).
  ByteView Bytes(size_t n) {
    if (!Need(n)) return {};
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  void Skip(size_t n) { (void)Bytes(n); }
  void CopyTo(void* dst, size_t n) {
    ByteView v = Bytes(n);
    if (!v.empty()) std::memcpy(dst, v.data(), n);
  }
  // Moves to an absolute offset (within or at the end of the data).
  void Seek(size_t pos) {
    if (pos > data_.size()) ok_ = false;
    else pos_ = pos;
  }
  void Fail() { ok_ = false; }

 private:
  bool Need(size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  template <class T>
  T Advance(T v, size_t n) {
    pos_ += n;
    return v;
  }

  ByteView data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends to a caller-owned vector. Patch* rewrite a field written earlier (lengths, offsets).
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& buffer() { return out_; }

  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { StoreU16(Grow(2), v); }
  void U32(uint32_t v) { StoreU32(Grow(4), v); }
  void U64(uint64_t v) { StoreU64(Grow(8), v); }
  void U32BE(uint32_t v) {
    uint8_t* p = Grow(4);
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
  }
  void Bytes(ByteView v) {
    if (!v.empty()) std::memcpy(Grow(v.size()), v.data(), v.size());
  }
  void Zeros(size_t n) {
    if (n) std::memset(Grow(n), 0, n);
  }
  // Pads with zeros to a multiple of `alignment` counted from the start of the buffer.
  void Align(size_t alignment) {
    size_t rem = out_.size() % alignment;
    if (rem) Zeros(alignment - rem);
  }
  void PatchU16(size_t at, uint16_t v) { StoreU16(&out_[at], v); }
  void PatchU32(size_t at, uint32_t v) { StoreU32(&out_[at], v); }
  void PatchU64(size_t at, uint64_t v) { StoreU64(&out_[at], v); }

 private:
  uint8_t* Grow(size_t n) {
    size_t at = out_.size();
    out_.resize(at + n);
    return &out_[at];
  }
  std::vector<uint8_t>& out_;
};

}  // namespace smb3
