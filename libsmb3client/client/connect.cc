// SPDX-License-Identifier: LGPL-2.1-or-later
#include "smb3/client.h"

namespace smb3 {

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions&) {
  return Status(Code::kNotSupported, 0, "Client::Connect: connection layer not built yet");
}

}  // namespace smb3
