# `td3d export` (docs/export.md): every format against td3d's own actions, and the refusals.
# Included from tests/CMakeLists.txt.

# td3d's reference actions for given observations (and a synthetic policy): tests/export_ref.c.
add_executable(export_ref ${CMAKE_CURRENT_SOURCE_DIR}/export_ref.c)
target_link_libraries(export_ref PRIVATE td3_common)
# The writers' unit test links the export library too.
target_link_libraries(test_export PRIVATE td3_export)

set(export_dir ${CMAKE_CURRENT_BINARY_DIR}/export)
add_test(NAME export_setup COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/export_setup.sh
         $<TARGET_FILE:td3d> $<TARGET_FILE:export_ref> ${export_dir})
set_tests_properties(export_setup PROPERTIES FIXTURES_SETUP export_policies TIMEOUT 600)

add_test(NAME export_c COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/export_c.sh
         $<TARGET_FILE:td3d> ${PROJECT_SOURCE_DIR} ${export_dir})
# The Python parts skip (77) without python3-onnx / python3-numpy.
add_test(NAME export_onnx COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/export_python.sh "onnx numpy"
         ${CMAKE_CURRENT_SOURCE_DIR}/export_onnx.py $<TARGET_FILE:td3d> ${export_dir})
add_test(NAME export_npz COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/export_python.sh numpy
         ${CMAKE_CURRENT_SOURCE_DIR}/export_npz.py $<TARGET_FILE:td3d> ${PROJECT_SOURCE_DIR}
         ${export_dir})
set_tests_properties(export_onnx export_npz PROPERTIES SKIP_RETURN_CODE 77)
set(export_users export_c export_onnx export_npz)

# td3_export_cli(<name> RC <code> ERR <text> ARGS <args...>): `td3d export ARGS` exits with
# RC and says ERR on standard error (cmake/run_expect.cmake).
function(td3_export_cli name)
  cmake_parse_arguments(T "" "RC;ERR;OUT" "ARGS" ${ARGN})
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DCMD=$<TARGET_FILE:td3d> "-DARGS=export;${T_ARGS}"
           -DEXPECT_RC=${T_RC} "-DEXPECT_ERR=${T_ERR}" "-DEXPECT_OUT=${T_OUT}"
           -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
endfunction()

td3_export_cli(export_help RC 0 OUT "--format FMT.*--prefix NAME" ARGS --help)
td3_export_cli(export_no_policy RC 2 ERR "--policy FILE is required" ARGS --out x.onnx)
td3_export_cli(export_no_out RC 2 ERR "--out FILE is required" ARGS --policy x.td3p)
td3_export_cli(export_unknown_format RC 2 ERR "unknown format 'tflite' (use onnx, c or npz)"
  ARGS --policy ${export_dir}/trained.td3p --format tflite --out ${export_dir}/x.tflite)
td3_export_cli(export_format_unsaid RC 2 ERR "the name does not say the format"
  ARGS --policy ${export_dir}/trained.td3p --out ${export_dir}/x.bin)
td3_export_cli(export_prefix_not_c RC 2 ERR "--prefix applies to --format c only"
  ARGS --policy ${export_dir}/trained.td3p --out ${export_dir}/x.onnx --prefix p)
td3_export_cli(export_prefix_bad RC 2 ERR "'9lives' is not a usable C prefix"
  ARGS --policy ${export_dir}/trained.td3p --out ${export_dir}/x.h --prefix 9lives)
td3_export_cli(export_missing_policy RC 1 ERR "cannot open /nonexistent/p.td3p"
  ARGS --policy /nonexistent/p.td3p --out ${export_dir}/x.onnx)
td3_export_cli(export_refuse_damaged RC 1 ERR "damaged.td3p is damaged (checksum mismatch)"
  ARGS --policy ${export_dir}/damaged.td3p --format onnx --out ${export_dir}/damaged.onnx)
td3_export_cli(export_refuse_truncated RC 1 ERR "truncated.td3p is damaged (checksum mismatch)"
  ARGS --policy ${export_dir}/truncated.td3p --format c --out ${export_dir}/truncated.h)
td3_export_cli(export_refuse_foreign RC 1 ERR "foreign.json is not a td3d policy file"
  ARGS --policy ${export_dir}/foreign.json --format npz --out ${export_dir}/foreign.npz)
td3_export_cli(export_refuse_checkpoint RC 1 ERR "fake.td3c is a td3d checkpoint state file, not a policy"
  ARGS --policy ${export_dir}/fake.td3c --out ${export_dir}/fake.onnx)
td3_export_cli(export_refuse_unwritable RC 1
  ERR "--out /nonexistent/dir/p.onnx: cannot create /nonexistent/dir/p.onnx.tmp."
  ARGS --policy ${export_dir}/trained.td3p --out /nonexistent/dir/p.onnx)
td3_export_cli(export_refuse_directory RC 1 ERR "is a directory"
  ARGS --policy ${export_dir}/trained.td3p --format onnx --out ${export_dir})
td3_export_cli(export_refuse_self RC 2 ERR "is the policy file itself"
  ARGS --policy ${export_dir}/trained.td3p --format onnx --out ${export_dir}/trained.td3p)
list(APPEND export_users export_unknown_format export_format_unsaid export_prefix_not_c
     export_prefix_bad export_refuse_damaged export_refuse_truncated export_refuse_foreign
     export_refuse_checkpoint export_refuse_unwritable export_refuse_directory export_refuse_self)
set_tests_properties(${export_users} PROPERTIES FIXTURES_REQUIRED export_policies)
