# Runs CMD with ARGS (a ;-list) and checks its exit code (EXPECT_RC), that its standard
# error contains EXPECT_ERR and that its standard output matches the regex EXPECT_OUT (each
# optional). Used by ctest for command-line behaviour.
execute_process(COMMAND ${CMD} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(DEFINED EXPECT_RC AND NOT rc EQUAL EXPECT_RC)
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT_RC}\nstdout: ${out}\nstderr: ${err}")
endif()
if(DEFINED EXPECT_ERR AND NOT EXPECT_ERR STREQUAL "")
  string(FIND "${err}" "${EXPECT_ERR}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "stderr lacks '${EXPECT_ERR}':\n${err}")
  endif()
endif()
if(DEFINED EXPECT_OUT AND NOT EXPECT_OUT STREQUAL "" AND NOT out MATCHES "${EXPECT_OUT}")
  message(FATAL_ERROR "stdout does not match '${EXPECT_OUT}':\n${out}\nstderr: ${err}")
endif()
message(STATUS "${out}")
