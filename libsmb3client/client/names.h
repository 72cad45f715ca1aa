// SPDX-License-Identifier: LGPL-2.1-or-later
// Names a person reads in probe output, stats and logs.
#pragma once

#include <cstdint>

#include "crypto/keys.h"

namespace smb3::client {

inline const char* CipherName(crypto::CipherId c) {
  switch (c) {
    case crypto::CipherId::SMB2_ENCRYPTION_AES128_CCM: return "AES-128-CCM";
    case crypto::CipherId::SMB2_ENCRYPTION_AES128_GCM: return "AES-128-GCM";
    case crypto::CipherId::SMB2_ENCRYPTION_AES256_CCM: return "AES-256-CCM";
    case crypto::CipherId::SMB2_ENCRYPTION_AES256_GCM: return "AES-256-GCM";
    default: return "none";
  }
}

inline const char* SigningAlgorithmName(crypto::SigningAlgorithm a) {
  switch (a) {
    case crypto::SigningAlgorithm::kHmacSha256: return "HMAC-SHA256";
    case crypto::SigningAlgorithm::kAesCmac: return "AES-128-CMAC";
    case crypto::SigningAlgorithm::kAesGmac: return "AES-128-GMAC";
  }
  return "?";
}

inline const char* DialectName(uint16_t d) {
  switch (d) {
    case 0x0300: return "3.0";
    case 0x0302: return "3.0.2";
    case 0x0311: return "3.1.1";
    default: return "?";
  }
}

}  // namespace smb3::client
