# SPDX-License-Identifier: LGPL-2.1-or-later
# smb3_add_test(NAME name LABEL unit|sim|samba|fuse|vm SOURCES a.cc ... LIBS lib ... [FIXTURES f])
# One GoogleTest binary per call; each test case becomes a CTest test carrying the label.
function(smb3_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS;FIXTURES" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main smb3_warnings)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/libsmb3client
                                               ${PROJECT_SOURCE_DIR}/tests)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set(_props LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  if(T_FIXTURES)
    list(APPEND _props FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
  gtest_discover_tests(${T_NAME} DISCOVERY_MODE PRE_TEST PROPERTIES ${_props})
endfunction()
