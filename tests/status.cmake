# The status server: promtool on the exposition test_status scraped (skipped without
# promtool), and `td3d status` against an address where nothing listens. Included from
# tests/CMakeLists.txt.
add_test(NAME status_promtool
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/status_promtool.sh ${CMAKE_CURRENT_BINARY_DIR}/status_metrics.prom)
set_tests_properties(status_promtool PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60
                     FIXTURES_REQUIRED status_scrape)
set_tests_properties(test_status PROPERTIES FIXTURES_SETUP status_scrape)

td3_cli_test(status_dead_address RC 1 ERR "cannot connect to the learner's status server at 127.0.0.1:28499"
  ARGS status 127.0.0.1:28499)
td3_cli_test(status_bad_address RC 2 ERR "is not HOST:PORT" ARGS status nowhere)

# A real Prometheus (Debian's package) scrapes a live learner: up == 1, updates counter > 0.
add_test(NAME status_prometheus_scrape
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/status_prometheus.sh $<TARGET_FILE:td3d>)
set_tests_properties(status_prometheus_scrape PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# The dashboard in headless Chromium as it opens: no failed request, one curve point per
# evaluation, the throughput chart drawn from the learner's history; the screenshot stays in
# the build tree (tests/artifacts/dashboard.png).
add_test(NAME status_dashboard
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/status_dashboard.sh $<TARGET_FILE:td3d>
                 ${CMAKE_CURRENT_BINARY_DIR}/artifacts)
set_tests_properties(status_dashboard PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)

# Checkpoints with real processes: SIGTERM and --resume, a damaged checkpoint refused, and
# `td3d run` restarting a learner killed with SIGKILL from its checkpoint.
add_test(NAME checkpoint_resume
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint_resume.sh $<TARGET_FILE:td3d>)
set_tests_properties(checkpoint_resume PROPERTIES TIMEOUT 240)

add_test(NAME curve_security
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/curve_security.sh $<TARGET_FILE:td3d>)
set_tests_properties(curve_security PROPERTIES TIMEOUT 120)

add_test(NAME multihost COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/multihost.sh $<TARGET_FILE:td3d>)
set_tests_properties(multihost PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
