// SPDX-License-Identifier: LGPL-2.1-or-later
// ClientImpl::WithReconnect: the synchronous retry loop around one operation (see client_impl.h).
// Included by the .cc files that run operations through it.
#pragma once

#include "client/client_impl.h"

namespace smb3::client {

// At most this many re-runs of one operation (each after a reconnect): a server that breaks the
// connection on every attempt gets the error to the caller instead of a loop.
inline constexpr int kMaxReconnectRetries = 4;

template <class Body>
auto ClientImpl::WithReconnect(Retry retry, Body&& body) -> decltype(body(0)) {
  for (int attempt = 0;; ++attempt) {
    auto gen = WaitForLink();
    if (!gen.ok()) return gen.status();
    auto result = body(attempt);
    if (result.ok() || retry == Retry::kNever || attempt >= kMaxReconnectRetries) return result;
    // A failure on a connection that is still up is the operation's own answer.
    if (!LinkBrokeSince(*gen)) return result;
  }
}

}  // namespace smb3::client
