# The Python client (clients/python/td3d) against the real learner: training an env written
# in Python, a run shared with a C actor, refusals, and the policy's parity with td3d's
# (tests/python/client_test.py). Skipped (77) without the client (protoc) or without
# python3-numpy, python3-zmq, python3-protobuf. Loopback ports 22610-22629, used by no other test.
# Included from tests/CMakeLists.txt.
set(py_work ${CMAKE_CURRENT_BINARY_DIR}/python_client)
set(py_cases train:22610 mixed:22615 refused:22620 parity:22625)
foreach(case ${py_cases})
  string(REPLACE ":" ";" parts ${case})
  list(GET parts 0 name)
  list(GET parts 1 port)
  add_test(NAME python_${name}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/python/run.sh ${TD3_PYTHON_DIR}
                   ${CMAKE_CURRENT_SOURCE_DIR}/python/client_test.py ${name} $<TARGET_FILE:td3d>
                   $<TARGET_FILE:export_ref> ${py_work}/${name} ${port})
  set_tests_properties(python_${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
set_tests_properties(python_train PROPERTIES TIMEOUT 900)

# The learner's flags for an external env: each mistake refused with what to give.
function(td3_external_cli name)
  cmake_parse_arguments(T "" "RC;ERR" "ARGS" ${ARGN})
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DCMD=$<TARGET_FILE:td3d> "-DARGS=${T_ARGS}"
           -DEXPECT_RC=${T_RC} "-DEXPECT_ERR=${T_ERR}" -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 60)
endfunction()
td3_external_cli(external_needs_dims RC 2 ERR "--env external:x needs --obs-dim N --act-dim M --action-low X --action-high X"
  ARGS learner --env external:x --bind 127.0.0.1 --status-bind off)
td3_external_cli(external_bounds_count RC 2 ERR "--action-low '-1,0,1': more than --act-dim 2 values"
  ARGS learner --env external:x --obs-dim 3 --act-dim 2 --action-low -1,0,1 --action-high 1 --bind 127.0.0.1)
td3_external_cli(external_bounds_order RC 2 ERR "--action-low must be below --action-high in every dimension (dimension 0: 1, 1)"
  ARGS learner --env external:x --obs-dim 3 --act-dim 2 --action-low 1,-2 --action-high 1,2 --bind 127.0.0.1)
td3_external_cli(external_bounds_number RC 2 ERR "--action-high 'nan': 'nan' is not a finite number"
  ARGS learner --env external:x --obs-dim 3 --act-dim 1 --action-low -1 --action-high nan --bind 127.0.0.1)
td3_external_cli(external_flags_builtin RC 2 ERR "describe an external env (--env external:NAME); Pendulum-v1 says its own"
  ARGS learner --env Pendulum-v1 --obs-dim 3 --bind 127.0.0.1)
td3_external_cli(external_run_refused RC 2 ERR "td3d run starts td3d's own actors, which cannot step it"
  ARGS run --env external:x --obs-dim 3 --act-dim 1 --action-low -2 --action-high 2)
