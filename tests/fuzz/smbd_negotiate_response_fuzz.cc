// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as an MS-SMBD negotiate response ([MS-SMBD] 2.2.2, 3.1.5.7) and hands
// them to an engine waiting for one: it must either connect with values inside what it offered or
// disconnect with a reason, never anything else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smbd/connection.h"
#include "smbd/pdu.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView input(data, size);
  auto decoded = smb3::smbd::DecodeNegotiateResponse(input);
  if (decoded.ok()) (void)smb3::smbd::CheckNegotiateResponse(*decoded, 8192);

  auto created = smb3::smbd::Connection::Create();
  if (!created.ok()) abort();
  smb3::smbd::Connection c = std::move(created).value();
  const smb3::smbd::Timestamp now{};
  c.OnReceivesPosted(1);
  if (!c.Start(now).ok() || !c.NextSend(now)) abort();
  smb3::Status s = c.OnReceive(input, now);
  if (s.ok() != (c.state() == smb3::smbd::State::kConnected)) abort();
  if (s.ok()) {
    const auto& n = c.negotiated();
    if (n.max_receive_size < 128 || n.max_receive_size > 8192) abort();
    if (n.max_send_size < 128 || n.max_send_size > 1364) abort();
    if (c.send_credits() == 0 || c.ReceivesWanted() == 0) abort();
  } else if (c.state() != smb3::smbd::State::kDisconnected || c.error().ok()) {
    abort();
  }
  return 0;
}
