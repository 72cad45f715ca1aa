// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as SMB2 OPLOCK_BREAK notifications and responses ([MS-SMB2] 2.2.23,
// 2.2.25) and as a SERVER_TO_CLIENT notification (2.2.44).
#include <cstddef>
#include <cstdint>

#include "smb2/oplock_break.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView input(data, size);
  (void)smb3::smb2::IsBreakNotification(input);
  (void)smb3::smb2::DecodeBreakNotification(input);
  (void)smb3::smb2::DecodeOplockBreakResponse(input);
  (void)smb3::smb2::DecodeLeaseBreakResponse(input);
  (void)smb3::smb2::IsUnsolicitedMessage(input);
  (void)smb3::smb2::DecodeServerToClientNotification(input);
  return 0;
}
