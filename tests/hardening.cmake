# Hardening against a full disk and uninitialised reads (issue #14). Included from
# tests/CMakeLists.txt.

# `td3d run` on a 2 MB tmpfs: the end that could not be saved is an exit status of 4 with the
# reason and how far back --resume goes; skipped (77) where a tmpfs cannot be mounted.
add_test(NAME disk_full COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/disk_full.sh $<TARGET_FILE:td3d>)
set_tests_properties(disk_full PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
