// SPDX-License-Identifier: LGPL-2.1-or-later
// Default implementations of Client methods that an implementation may override.
#include <memory>
#include <vector>

#include "smb3/client.h"

namespace smb3 {

void Client::ReadAsyncView(const FileHandle& file, uint64_t offset, size_t length,
                           ReadViewCallback done) {
  auto buf = std::make_shared<std::vector<uint8_t>>(length);
  ReadAsync(file, offset, *buf, [buf, done = std::move(done)](Result<size_t> r) {
    if (!r.ok()) return done(r.status());
    ReadView v;
    v.size = *r;
    if (*r) {
      v.pieces.emplace_back(buf->data(), *r);
      v.owners.push_back(buf);
    }
    done(std::move(v));
  });
}

}  // namespace smb3
