// SPDX-License-Identifier: LGPL-2.1-or-later
// What every test against a private Samba starts with: the server, client options for its share,
// and a connected client. Header-only (GoogleTest assertions; links with smb3client).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "smb3/client.h"
#include "support/samba_server.h"

namespace smb3::test {

// Starts a Samba server; on failure the test fails with Samba's error and gets nullptr.
inline std::unique_ptr<SambaServer> StartSamba(const SambaOptions& options = {}) {
  std::string error;
  auto s = SambaServer::Start(options, &error);
  EXPECT_TRUE(s) << error;
  return s;
}

// Options for the server's share as its test user, echo keepalive off. `port`: where to connect
// instead of the server's own port (e.g. a proxy in front of it); 0 for the server's.
inline ClientOptions SambaClientOptions(const SambaServer& s, uint16_t port = 0) {
  ClientOptions o;
  o.server = s.host();
  o.port = port != 0 ? port : s.port();
  o.share = s.share();
  o.credentials.username = s.user();
  o.credentials.password = s.password();
  o.credentials.domain = s.domain();
  o.echo_interval = std::chrono::seconds(0);
  return o;
}

// Connects; on failure the test fails with DescribeError's line and gets nullptr.
inline std::unique_ptr<Client> ConnectClient(const ClientOptions& options) {
  auto c = Client::Connect(options);
  EXPECT_TRUE(c.ok()) << DescribeError(c.status());
  return c.ok() ? std::move(c).value() : nullptr;
}

}  // namespace smb3::test
