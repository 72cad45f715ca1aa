# SPDX-License-Identifier: LGPL-2.1-or-later
# SMB3_SANITIZE=address;undefined or thread: applied to every target.
if(SMB3_SANITIZE)
  list(JOIN SMB3_SANITIZE "," _smb3_san)
  add_compile_options(-fsanitize=${_smb3_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_smb3_san})
endif()
