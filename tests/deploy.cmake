# The deployment files (docker-compose.yml, deploy/): checked without a Docker engine.
# tools/compose_check.sh runs them on one, by hand.
add_test(NAME deploy_files
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy_files.sh ${PROJECT_SOURCE_DIR} $<TARGET_FILE:td3d>)
set_tests_properties(deploy_files PROPERTIES TIMEOUT 120)
