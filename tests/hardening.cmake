# Hardening against a full disk and uninitialised reads (issue #14). Included from
# tests/CMakeLists.txt.

# `td3d run` on a 2 MB tmpfs: the end that could not be saved is an exit status of 4 with the
# reason and how far back --resume goes; skipped (77) where a tmpfs cannot be mounted.
add_test(NAME disk_full COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/disk_full.sh $<TARGET_FILE:td3d>)
set_tests_properties(disk_full PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# valgrind's memcheck (uninitialised reads and other memory errors fail, with
# --error-exitcode) over these short unit test binaries (none asserts on timing: valgrind
# runs 20-50 times slower) and a short learner + actor + evaluator run;
# skipped (77) without valgrind (tools/deps.sh installs it). About 3 minutes on 2 busy cores.
set(TD3_VALGRIND_TESTS test_replay test_wire test_loss_watch test_ratelimit test_actors test_td3
    test_td3_update
    test_checkpoint test_status_snapshot test_svg_plot test_rundir test_env_pendulum)
add_test(NAME valgrind_memcheck
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/valgrind.sh $<TARGET_FILE:td3d>
                 ${CMAKE_CURRENT_BINARY_DIR} ${TD3_VALGRIND_TESTS})
set_tests_properties(valgrind_memcheck PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)

# Sizes from flags that do not fit in memory (--batch/--hidden, --replay-capacity): a clean
# error before any allocation, not an abort.
add_test(NAME memory_limits COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/memory_limits.sh $<TARGET_FILE:td3d>)
set_tests_properties(memory_limits PROPERTIES TIMEOUT 120)

# 70 MB experience frames over two connections, then 100 MB frames and 512 KB subscriptions
# to the weights socket: the learner's memory stays bounded.
add_test(NAME memory_amplify COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/memory_amplify.sh $<TARGET_FILE:td3d>)
set_tests_properties(memory_amplify PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)

# Secure by default with real learner processes: --bind 0.0.0.0 without keys is refused, with
# --insecure it starts with the warning line and td3d_insecure 1; a status server on 0.0.0.0
# logs its warning (ports 23340-23345; each learner stopped at once).
add_test(NAME exposure COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/exposure.sh $<TARGET_FILE:td3d>)
set_tests_properties(exposure PROPERTIES TIMEOUT 120)
