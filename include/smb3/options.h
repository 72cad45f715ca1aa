// SPDX-License-Identifier: LGPL-2.1-or-later
// How to connect: server, share, credentials, security and transport policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "smb3/status.h"

namespace smb3 {

enum class SecurityMode : uint8_t {
  kNtlmssp,    // NTLMv2 via NTLMSSP in SPNEGO (default)
  kGuest,      // guest account (NTLMSSP with user "guest"/empty password semantics)
  kAnonymous,  // anonymous NTLMSSP (null session)
};

enum class RdmaPolicy : uint8_t { kAuto, kYes, kNo };

// Which requirement to put on the session. kAuto: whatever the server requires (never weaker).
enum class Want : uint8_t { kAuto, kRequired };

struct Credentials {
  std::string username;
  std::string domain;
  std::string password;  // never logged
};

// Loads `username=`, `password=`, `domain=` lines (mount.cifs format). Refuses a file that is
// group- or world-readable unless `allow_insecure` (the error says so, as ssh does).
Result<Credentials> LoadCredentialsFile(const std::string& path, bool allow_insecure = false);

struct ClientOptions {
  std::string server;          // host name or numeric address
  uint16_t port = 445;
  std::string share;           // share name (no slashes)
  Credentials credentials;
  SecurityMode security = SecurityMode::kNtlmssp;
  Want signing = Want::kAuto;     // kRequired: sign every message even if the server does not ask
  Want encryption = Want::kAuto;  // kRequired: seal every message ("seal")
  // Dialects to offer, e.g. {0x0311, 0x0302, 0x0300}; empty = all three.
  std::vector<uint16_t> dialects;
  // kAuto: SMB Direct when the path to the server has an RDMA device and the server accepts it,
  // else TCP (ConnectionInfo::transport_reason says why); kYes: SMB Direct or an error; kNo: TCP.
  RdmaPolicy rdma = RdmaPolicy::kAuto;
  std::string workstation = "FUSE-SMBD";
  uint32_t max_io_size = 8u << 20;            // cap on READ/WRITE size (rsize/wsize)
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{60000};
  std::chrono::seconds echo_interval{60};     // 0 = no keepalive echo
  bool durable_handles = true;                // ask for durable handles v2 where granted
  // How long to keep trying to re-establish a broken connection (backoff 0.1 s doubling to 5 s)
  // before giving up; 0 = never reconnect (the first loss is final). See smb3/client.h.
  std::chrono::milliseconds reconnect_timeout{60000};
};

}  // namespace smb3
