// SPDX-License-Identifier: LGPL-2.1-or-later
// mount.cifs-format credentials files: `username=`, `password=`, `domain=` lines.
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "base/log.h"
#include "smb3/options.h"

namespace smb3 {

Result<Credentials> LoadCredentialsFile(const std::string& path, bool allow_insecure) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Errno(errno, "credentials file");
  if (!S_ISREG(st.st_mode)) return Status::Invalid("credentials file: not a regular file");
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    // As ssh does with private keys: a secret readable by others is refused.
    if (!allow_insecure)
      return Status(Code::kSecurity, 0,
                    "credentials file is readable by group or others: run chmod 600 on it");
    SMB3_LOG_WARN("credentials file %s is readable by group or others (chmod 600 it)", path.c_str());
  }
  std::ifstream in(path);
  if (!in) return Status::Errno(errno ? errno : EACCES, "credentials file");
  Credentials c;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t eq = line.find('=', start);
    if (eq == std::string::npos) return Status::Invalid("credentials file: a line without '='");
    std::string key = line.substr(start, eq - start);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string value = line.substr(eq + 1);  // the value is taken as is: passwords may have spaces
    if (key == "username" || key == "user") {
      // mount.cifs accepts user%password and domain/user here too.
      size_t pct = value.find('%');
      if (pct != std::string::npos) {
        c.password = value.substr(pct + 1);
        value.resize(pct);
      }
      size_t slash = value.find_first_of("/\\");
      if (slash != std::string::npos) {
        c.domain = value.substr(0, slash);
        value = value.substr(slash + 1);
      }
      c.username = value;
    } else if (key == "password" || key == "pass") {
      c.password = value;
    } else if (key == "domain" || key == "dom" || key == "workgroup") {
      c.domain = value;
    } else {
      SMB3_LOG_WARN("credentials file %s line %d: unknown key '%s' ignored", path.c_str(), lineno,
                    key.c_str());
    }
  }
  return c;
}

}  // namespace smb3
