# SPDX-License-Identifier: LGPL-2.1-or-later
# Warnings for every project target, through one interface target.
add_library(smb3_warnings INTERFACE)
target_compile_options(smb3_warnings INTERFACE
  -Wall -Wextra -Wpedantic $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local> $<$<CXX_COMPILER_ID:Clang>:-Wshadow> -Wnon-virtual-dtor -Wimplicit-fallthrough
  -Wformat=2 -Wundef -Wno-missing-field-initializers)
if(SMB3_SANITIZE)
  # GCC 12 reports false "may be used uninitialized" under -fsanitize (std::optional in vectors).
  target_compile_options(smb3_warnings INTERFACE $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
endif()
if(SMB3_WERROR)
  target_compile_options(smb3_warnings INTERFACE -Werror)
endif()
