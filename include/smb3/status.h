// SPDX-License-Identifier: LGPL-2.1-or-later
// Status and Result<T>: the error model of libsmb3client.
//
// A Status never allocates: a code, a 32-bit detail (an NTSTATUS for kNtStatus/kAuth, an errno for
// kSystem/kUnreachable) and a static string naming where it arose. No exception crosses the library API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace smb3 {

enum class Code : uint8_t {
  kOk = 0,
  kInvalidArgument,  // the caller passed something unusable (bad path, bad option)
  kNtStatus,         // the server answered with a failing NTSTATUS, in detail()
  kSystem,           // a local system call failed; errno in detail()
  kUnreachable,      // could not reach the server (connect failed); errno in detail()
  kProtocol,         // the peer sent malformed or hostile data; the connection was dropped
  kSecurity,         // bad signature, failed decryption, or an attempted downgrade
  kAuth,             // authentication failed; NTSTATUS in detail()
  kTimeout,          // the server did not answer in time
  kDisconnected,     // the connection is gone (may be retried after reconnect)
  kCancelled,        // the request was cancelled
  kNotSupported,     // the server or device lacks a needed capability
  kCrypto,           // the local crypto library failed
  kResourceExhausted,// a local limit was hit (buffers, credits, queue)
};

class Status {
 public:
  constexpr Status() = default;
  constexpr Status(Code code, uint32_t detail, const char* where)
      : code_(code), detail_(detail), where_(where) {}

  static constexpr Status Ok() { return Status(); }
  static constexpr Status NtStatus(uint32_t nt, const char* where) {
    return Status(Code::kNtStatus, nt, where);
  }
  static constexpr Status Errno(int err, const char* where) {
    return Status(Code::kSystem, static_cast<uint32_t>(err), where);
  }
  static constexpr Status Protocol(const char* where) { return Status(Code::kProtocol, 0, where); }
  static constexpr Status Invalid(const char* where) {
    return Status(Code::kInvalidArgument, 0, where);
  }

  constexpr bool ok() const { return code_ == Code::kOk; }
  constexpr Code code() const { return code_; }
  constexpr uint32_t detail() const { return detail_; }
  constexpr const char* where() const { return where_ ? where_ : ""; }
  // The NTSTATUS when code() is kNtStatus or kAuth, else 0.
  constexpr uint32_t nt_status() const {
    return (code_ == Code::kNtStatus || code_ == Code::kAuth) ? detail_ : 0;
  }
  constexpr bool Is(Code c) const { return code_ == c; }
  constexpr bool IsNt(uint32_t nt) const { return code_ == Code::kNtStatus && detail_ == nt; }

  // "where: description" for a person; allocates.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  uint32_t detail_ = 0;
  const char* where_ = nullptr;
};

// The subset of std::expected<T, Status> the project uses (GCC 12 has no <expected>).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(status) {      // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Status(Code::kInvalidArgument, 0, "Result: ok status without value");
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace smb3

#define SMB3_CONCAT_INNER_(a, b) a##b
#define SMB3_CONCAT_(a, b) SMB3_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function when `expr` (a Status) is not ok.
#define SMB3_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::smb3::Status smb3_status_ = (expr);        \
    if (!smb3_status_.ok()) return smb3_status_; \
  } while (0)

// `SMB3_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its Status.
#define SMB3_ASSIGN_OR_RETURN(lhs, expr) \
  SMB3_ASSIGN_OR_RETURN_IMPL_(SMB3_CONCAT_(smb3_result_, __LINE__), lhs, expr)
#define SMB3_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
