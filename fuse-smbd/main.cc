// SPDX-License-Identifier: LGPL-2.1-or-later
// fuse-smbd and mount.smbd-fuse: one program, two command lines (chosen by argv[0]).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "daemon.h"
#include "options.h"

int main(int argc, char** argv) {
  const char* slash = strrchr(argv[0], '/');
  const std::string_view prog = slash != nullptr ? slash + 1 : argv[0];
  const bool helper = prog.starts_with("mount.");
  try {
    if (!helper && argc >= 2 && strcmp(argv[1], "stats") == 0) {
      return fuse_smbd::RunStatsCommand(argc - 1, argv + 1);
    }
    fuse_smbd::MountConfig config;
    bool exit_now = false;
    if (auto err = fuse_smbd::ParseCommandLine(argc, argv, helper, fuse_smbd::ProcessEnv(), &config,
                                               &exit_now)) {
      fprintf(stderr, "%.*s: %s\n", static_cast<int>(prog.size()), prog.data(),
              err->message.c_str());
      return 1;
    }
    fuse_smbd::ScrubPasswords(argc, argv);
    if (exit_now) return 0;
    for (const auto& w : config.warnings) {
      fprintf(stderr, "%.*s: warning: %s\n", static_cast<int>(prog.size()), prog.data(), w.c_str());
    }
    return fuse_smbd::RunDaemon(config, helper);
  } catch (const std::exception& e) {
    fprintf(stderr, "%.*s: internal error: %s\n", static_cast<int>(prog.size()), prog.data(),
            e.what());
    return 1;
  }
}
