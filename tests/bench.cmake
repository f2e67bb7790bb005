# The benchmark programs that drive whole runs: bench/bench_run on a short Pendulum run (a few
# hundred updates) prints its JSON line with a ratio. Included from tests/CMakeLists.txt.
add_test(NAME bench_run_smoke
         COMMAND python3 ${PROJECT_SOURCE_DIR}/bench/bench_run --env Pendulum-v1 --updates 300
                 --warmup 0 --bench-iters 100 --port-base 28620 --td3d $<TARGET_FILE:td3d>
                 --bench-update $<TARGET_FILE:bench_update>)
set_tests_properties(bench_run_smoke PROPERTIES TIMEOUT 300
                     PASS_REGULAR_EXPRESSION "\"updates_per_second\": [0-9.]+.*\"trainer\": [0-9.]+.*\"ratio\": [0-9.]+")
