// SPDX-License-Identifier: LGPL-2.1-or-later
#include "support/scripted_server.h"

#include "base/byte_io.h"
#include "crypto/signing.h"
#include "smb2/compound.h"

namespace smb3::test {

Result<ClientMessage> DecodeClientMessage(ByteView sent, const ServerKeys* keys) {
  ClientMessage out;
  std::vector<uint8_t> plain(sent.begin(), sent.end());
  if (plain.size() >= 4 && LoadU32(plain.data()) == smb2::kTransformProtocolId) {
    if (keys == nullptr || keys->cipher == crypto::CipherId::kNone) {
      return Status::Invalid("scripted server: sealed message but no keys");
    }
    SMB3_ASSIGN_OR_RETURN(out.transform, crypto::DecodeTransformHeader(plain));
    SMB3_ASSIGN_OR_RETURN(MutableByteView inner,
                          crypto::DecryptMessageInPlace(keys->cipher, keys->client_to_server, plain));
    plain.assign(inner.begin(), inner.end());
    out.encrypted = true;
  }
  SMB3_ASSIGN_OR_RETURN(std::vector<ByteView> elements, smb2::SplitCompound(plain));
  for (ByteView e : elements) {
    SMB3_ASSIGN_OR_RETURN(smb2::Header h, smb2::DecodeHeader(e));
    out.requests.push_back(ClientRequest{h, std::vector<uint8_t>(e.begin(), e.end())});
  }
  return out;
}

std::vector<uint8_t> ResponseHeader(const smb2::Header& request, const ResponseOptions& options) {
  smb2::Header h;
  h.credit_charge = request.credit_charge;
  h.status = options.status;
  h.command = options.command.value_or(request.command);
  h.credits = options.credits;
  h.flags = smb2::SMB2_FLAGS_SERVER_TO_REDIR | options.extra_flags;
  if (options.async_id) {
    h.flags |= smb2::SMB2_FLAGS_ASYNC_COMMAND;
    h.async_id = *options.async_id;
  } else {
    h.tree_id = request.tree_id;
  }
  h.message_id = options.message_id.value_or(request.message_id);
  h.session_id = options.session_id.value_or(request.session_id);
  std::vector<uint8_t> out;
  ByteWriter w(out);
  smb2::EncodeHeader(h, w);
  return out;
}

std::vector<uint8_t> EchoResponse(const smb2::Header& request, const ResponseOptions& options) {
  std::vector<uint8_t> m = ResponseHeader(request, options);
  ByteWriter w(m);
  w.U16(4);  // StructureSize
  w.U16(0);  // Reserved
  return m;
}

std::vector<uint8_t> ReadResponse(const smb2::Header& request, ByteView data,
                                  const ResponseOptions& options) {
  std::vector<uint8_t> m = ResponseHeader(request, options);
  ByteWriter w(m);
  w.U16(17);    // StructureSize
  w.U8(0x50);   // DataOffset: right after the 16-byte fixed body
  w.U8(0);      // Reserved
  w.U32(static_cast<uint32_t>(data.size()));  // DataLength
  w.U32(0);     // DataRemaining
  w.U32(0);     // Flags / Reserved2
  w.Bytes(data);
  if (data.empty()) w.U8(0);  // the Buffer is never empty
  return m;
}

std::vector<uint8_t> WriteResponse(const smb2::Header& request, uint32_t count,
                                   const ResponseOptions& options) {
  std::vector<uint8_t> m = ResponseHeader(request, options);
  ByteWriter w(m);
  w.U16(17);  // StructureSize
  w.U16(0);   // Reserved
  w.U32(count);
  w.U32(0);   // Remaining
  w.U16(0);   // WriteChannelInfoOffset
  w.U16(0);   // WriteChannelInfoLength
  return m;
}

std::vector<uint8_t> CloseResponse(const smb2::Header& request, const ResponseOptions& options) {
  std::vector<uint8_t> m = ResponseHeader(request, options);
  ByteWriter w(m);
  w.U16(60);     // StructureSize
  w.U16(0);      // Flags
  w.Zeros(56);   // Reserved, times, sizes, attributes
  return m;
}

std::vector<uint8_t> ErrorResponse(const smb2::Header& request, uint32_t nt_status,
                                   ResponseOptions options) {
  options.status = nt_status;
  std::vector<uint8_t> m = ResponseHeader(request, options);
  ByteWriter w(m);
  w.U16(9);   // StructureSize
  w.U8(0);    // ErrorContextCount
  w.U8(0);    // Reserved
  w.U32(0);   // ByteCount
  w.U8(0);    // ErrorData: one byte when ByteCount is 0
  return m;
}

std::vector<uint8_t> InterimResponse(const smb2::Header& request, uint64_t async_id,
                                     uint16_t credits) {
  ResponseOptions o;
  o.credits = credits;
  o.async_id = async_id;
  return ErrorResponse(request, STATUS_PENDING, o);
}

std::vector<uint8_t> Compound(const std::vector<std::vector<uint8_t>>& messages) {
  std::vector<uint8_t> chain;
  for (size_t i = 0; i < messages.size(); ++i) {
    const size_t start = chain.size();
    chain.insert(chain.end(), messages[i].begin(), messages[i].end());
    if (i + 1 < messages.size()) {
      while ((chain.size() - start) % 8) chain.push_back(0);
      if (chain.size() - start >= smb2::kHeaderSize) {
        StoreU32(&chain[start + smb2::kOffsetNextCommand], static_cast<uint32_t>(chain.size() - start));
      }
    }
  }
  return chain;
}

Status SignChain(std::vector<uint8_t>& chain, crypto::SigningAlgorithm algorithm, ByteView key) {
  size_t offset = 0;
  for (;;) {
    if (chain.size() - offset < smb2::kHeaderSize) return Status::Invalid("sign: short element");
    const uint32_t next = LoadU32(&chain[offset + smb2::kOffsetNextCommand]);
    const size_t len = next == 0 ? chain.size() - offset : next;
    if (len > chain.size() - offset) return Status::Invalid("sign: NextCommand past the end");
    SMB3_RETURN_IF_ERROR(
        crypto::SignMessage(algorithm, key, MutableByteView(chain).subspan(offset, len)));
    if (next == 0) return Status::Ok();
    offset += next;
  }
}

Result<std::vector<uint8_t>> Seal(ByteView plain, crypto::CipherId cipher, ByteView key,
                                  uint64_t session_id, uint64_t counter) {
  crypto::TransformNonce nonce{};
  StoreU64(nonce.data(), counter);
  nonce[8] = 0x5E;  // a fixed "salt" so that the server's nonces differ from the client's
  std::vector<uint8_t> out;
  SMB3_RETURN_IF_ERROR(crypto::EncryptMessage(cipher, key, nonce, session_id, plain, out));
  return out;
}

Result<ClientMessage> ScriptedServer::Next(std::chrono::milliseconds timeout) {
  if (!wire_.WaitForSent(cursor_ + 1, timeout)) {
    return Status(Code::kTimeout, 0, "scripted server: the client sent nothing");
  }
  std::vector<uint8_t> bytes = wire_.sent_at(cursor_++);
  return DecodeClientMessage(bytes, &keys_);
}

Status ScriptedServer::Reply(const std::vector<std::vector<uint8_t>>& responses, bool sign,
                             bool seal) {
  std::vector<uint8_t> chain = Compound(responses);
  if (sign) SMB3_RETURN_IF_ERROR(SignChain(chain, keys_.signing_algorithm, keys_.signing_key));
  if (seal) {
    SMB3_ASSIGN_OR_RETURN(chain, Seal(chain, keys_.cipher, keys_.server_to_client,
                                      keys_.session_id, nonce_counter_++));
  }
  wire_.Deliver(chain);
  return Status::Ok();
}

}  // namespace smb3::test
