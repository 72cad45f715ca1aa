// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb3/json.h"

#include <cinttypes>
#include <cstdio>
#include <iterator>

namespace smb3 {
namespace {

struct Counter {
  const char* name;
  uint64_t ClientStats::*member;
};

// Every integer counter, in the order a person reads them: traffic, credits and waits, then the
// SMB Direct data path. A new ClientStats counter is one line here.
constexpr Counter kCounters[] = {
    {"requests", &ClientStats::requests},
    {"responses", &ClientStats::responses},
    {"bytes_read", &ClientStats::bytes_read},
    {"bytes_written", &ClientStats::bytes_written},
    {"reads", &ClientStats::reads},
    {"writes", &ClientStats::writes},
    {"credit_stalls", &ClientStats::credit_stalls},
    {"pending_interims", &ClientStats::pending_interims},
    {"reconnects", &ClientStats::reconnects},
    {"reopened_by_path", &ClientStats::reopened_by_path},
    {"signed_messages", &ClientStats::signed_messages},
    {"encrypted_messages", &ClientStats::encrypted_messages},
    {"bytes_rdma_read", &ClientStats::bytes_rdma_read},
    {"bytes_rdma_write", &ClientStats::bytes_rdma_write},
    {"bytes_inline", &ClientStats::bytes_inline},
    {"rdma_reads", &ClientStats::rdma_reads},
    {"rdma_writes", &ClientStats::rdma_writes},
    {"rdma_acquire_exhausted", &ClientStats::rdma_acquire_exhausted},
    {"rdma_acquire_waits", &ClientStats::rdma_acquire_waits},
    {"rdma_acquire_wait_us", &ClientStats::rdma_acquire_wait_us},
    {"bytes_copied_rdma", &ClientStats::bytes_copied_rdma},
    {"rdma_windows_bound", &ClientStats::rdma_windows_bound},
    {"rdma_windows_invalidated_remote", &ClientStats::rdma_windows_invalidated_remote},
    {"rdma_windows_invalidated_local", &ClientStats::rdma_windows_invalidated_local},
    {"rdma_bind_failures", &ClientStats::rdma_bind_failures},
};
// Fails the build when ClientStats gains a member that kCounters (or the strings below) misses.
static_assert(sizeof(ClientStats) ==
                  std::size(kCounters) * sizeof(uint64_t) + sizeof(uint64_t) /* credits_held */ +
                      2 * sizeof(std::string),
              "a ClientStats member is missing from ClientStatsJson");

}  // namespace

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += b;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string ClientStatsJson(const ClientStats& s) {
  std::string out = "{\"credits_held\":" + std::to_string(s.credits_held);
  for (const auto& c : kCounters) {
    out += ",\"";
    out += c.name;
    out += "\":";
    out += std::to_string(s.*c.member);
  }
  out += ",\"rdma_data_path\":\"" + JsonEscape(s.rdma_data_path) + "\"";
  out += ",\"rdma_mechanism\":\"" + JsonEscape(s.rdma_mechanism) + "\"}";
  return out;
}

}  // namespace smb3
