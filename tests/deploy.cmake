# The deployment files (docker-compose.yml, deploy/): checked without a Docker engine.
# tools/compose_check.sh runs them on one, by hand.
add_test(NAME deploy_files
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy_files.sh ${PROJECT_SOURCE_DIR} $<TARGET_FILE:td3d>)
set_tests_properties(deploy_files PROPERTIES TIMEOUT 120)

# The Kubernetes manifests (deploy/k8s): parsed and checked against td3d's own flags,
# variables, ports and probe paths without a cluster (skipped without python3-yaml).
add_test(NAME deploy_k8s
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/deploy_k8s.py ${PROJECT_SOURCE_DIR} $<TARGET_FILE:td3d>)
set_tests_properties(deploy_k8s PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)
