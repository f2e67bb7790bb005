# The Python client (clients/python/td3d) against the real learner: training an env written
# in Python, a run shared with a C actor, refusals, and the policy's parity with td3d's
# (tests/python/client_test.py). Skipped (77) without the client (protoc) or without
# python3-numpy, python3-zmq, python3-protobuf. Loopback ports 42610-42629, used by no other test.
# Included from tests/CMakeLists.txt.
set(py_work ${CMAKE_CURRENT_BINARY_DIR}/python_client)
set(py_cases train:42610 mixed:42615 refused:42620 parity:42625)
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
