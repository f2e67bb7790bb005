# Finds td3d's dependencies. Each failure names the Debian package that provides the piece.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' (or run tools/deps.sh)")
endif()

# td3_require_pc(<target-prefix> <pkg-config module> <debian package>)
function(td3_require_pc prefix module debpkg)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${prefix}_FOUND)
    message(FATAL_ERROR "${module} not found: install the Debian package '${debpkg}' (or run tools/deps.sh)")
  endif()
endfunction()

td3_require_pc(ZMQ libzmq libzmq3-dev)
td3_require_pc(PROTOBUFC libprotobuf-c libprotobuf-c-dev)
td3_require_pc(OPENBLAS openblas libopenblas-dev)
td3_require_pc(LIBUV libuv libuv1-dev)
td3_require_pc(ZLIB zlib zlib1g-dev)
td3_require_pc(JANSSON jansson libjansson-dev)
# The test suite: ON requires cmocka; AUTO (the default) builds it when cmocka is there, so
# that building only the td3d program needs nothing of the test stack.
set(TD3_TESTS_ENABLED OFF)
if(TD3_BUILD_TESTS STREQUAL "AUTO")
  pkg_check_modules(CMOCKA QUIET IMPORTED_TARGET GLOBAL cmocka)
  if(CMOCKA_FOUND)
    set(TD3_TESTS_ENABLED ON)
  else()
    message(STATUS "cmocka not found (Debian package libcmocka-dev; tools/deps.sh installs it): the test suite is not built")
  endif()
elseif(TD3_BUILD_TESTS)
  td3_require_pc(CMOCKA cmocka libcmocka-dev)
  set(TD3_TESTS_ENABLED ON)
endif()

find_program(PROTOC_C NAMES protoc-c protoc-gen-c)
if(NOT PROTOC_C)
  message(FATAL_ERROR "protoc-c not found: install the Debian package 'protobuf-c-compiler' (or run tools/deps.sh)")
endif()

find_package(Threads REQUIRED)
find_library(MATH_LIB m)

# MuJoCo (the locomotion tasks): Debian ships a header and a shared library but no pkg-config
# file, so it is found by path.
# libhttp-parser (the status server's request parser): no pkg-config file either.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h)
find_library(HTTP_PARSER_LIBRARY http_parser)
if(NOT HTTP_PARSER_INCLUDE_DIR OR NOT HTTP_PARSER_LIBRARY)
  message(FATAL_ERROR "http_parser not found (http_parser.h, libhttp_parser): install the Debian package 'libhttp-parser-dev' (or run tools/deps.sh)")
endif()

find_path(MUJOCO_INCLUDE_DIR mujoco/mujoco.h)
find_library(MUJOCO_LIBRARY mujoco)
if(NOT MUJOCO_INCLUDE_DIR OR NOT MUJOCO_LIBRARY)
  message(FATAL_ERROR "MuJoCo not found (mujoco/mujoco.h, libmujoco): install the Debian package 'libmujoco-dev' (or run tools/deps.sh)")
endif()
