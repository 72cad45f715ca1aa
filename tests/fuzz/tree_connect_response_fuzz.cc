// SPDX-License-Identifier: LGPL-2.1-or-later
// Decodes arbitrary bytes as SMB2 TREE_CONNECT / TREE_DISCONNECT / LOGOFF / ECHO / SET_INFO
// responses ([MS-SMB2] 2.2.10, 2.2.12, 2.2.8, 2.2.29, 2.2.40): the small fixed-size ones.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "smb2/echo.h"
#include "smb2/logoff.h"
#include "smb2/set_info.h"
#include "smb2/tree_connect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smb3::ByteView input(data, size);
  auto r = smb3::smb2::DecodeTreeConnectResponse(input);
  if (r.ok() && (r->share_type < smb3::smb2::SMB2_SHARE_TYPE_DISK ||
                 r->share_type > smb3::smb2::SMB2_SHARE_TYPE_PRINT)) {
    abort();
  }
  (void)smb3::smb2::DecodeTreeDisconnectResponse(input);
  (void)smb3::smb2::DecodeLogoffResponse(input);
  (void)smb3::smb2::DecodeEchoResponse(input);
  (void)smb3::smb2::DecodeSetInfoResponse(input);
  return 0;
}
