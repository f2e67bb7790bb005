# Environment tests that need more than one binary: the plugins that test_env_plugin and
# test_env_vec load (a C one, a C++ one, and one deliberately broken library per way a plugin
# must be refused), and `td3d envs`.
#
# Plugins are MODULE libraries written to <build>/tests/plugins/<name>.so; the tests get that
# directory as TD3_TEST_PLUGIN_DIR. The C++ plugin is built when a C++ compiler is found
# (TD3_TEST_HAVE_CXX_PLUGIN=1); without one its test skips and says why.

set(TD3_TEST_PLUGIN_DIR ${CMAKE_CURRENT_BINARY_DIR}/plugins)

# td3_test_plugin(<target> <source> [definitions...])
function(td3_test_plugin target source)
  add_library(${target} MODULE ${source})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/common/env)
  target_compile_definitions(${target} PRIVATE ${ARGN})
  set_target_properties(${target} PROPERTIES PREFIX "" SUFFIX ".so"
                        LIBRARY_OUTPUT_DIRECTORY ${TD3_TEST_PLUGIN_DIR})
  target_link_libraries(${target} PRIVATE ${MATH_LIB})
endfunction()

td3_test_plugin(td3d_test_plugin_c ${CMAKE_CURRENT_SOURCE_DIR}/plugins/plugin_c.c)
set(TD3_TEST_PLUGINS td3d_test_plugin_c)

foreach(bad abi obs_zero act_big bounds_order bounds_nan null_fn no_symbol v2_only name
        max_steps)
  string(TOUPPER ${bad} BAD_UPPER)
  td3_test_plugin(td3d_test_bad_${bad} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/bad_plugin.c
                  BAD_CASE=BAD_${BAD_UPPER})
  list(APPEND TD3_TEST_PLUGINS td3d_test_bad_${bad})
endforeach()

include(CheckLanguage)
check_language(CXX)
set(TD3_TEST_HAVE_CXX_PLUGIN 0)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
  td3_test_plugin(td3d_test_plugin_cpp ${CMAKE_CURRENT_SOURCE_DIR}/plugins/plugin_cpp.cpp)
  set_target_properties(td3d_test_plugin_cpp PROPERTIES CXX_STANDARD 11
                        CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  # The project's warning flags include C-only ones that g++ would warn about.
  get_target_property(cxx_opts td3d_test_plugin_cpp COMPILE_OPTIONS)
  if(cxx_opts)
    list(REMOVE_ITEM cxx_opts -Wstrict-prototypes)
    set_target_properties(td3d_test_plugin_cpp PROPERTIES COMPILE_OPTIONS "${cxx_opts}")
  endif()
  list(APPEND TD3_TEST_PLUGINS td3d_test_plugin_cpp)
  set(TD3_TEST_HAVE_CXX_PLUGIN 1)
else()
  message(STATUS "No C++ compiler: the C++ plugin test will be skipped")
endif()

foreach(t test_env_plugin test_env_vec)
  if(TARGET ${t})
    add_dependencies(${t} ${TD3_TEST_PLUGINS})
    target_compile_definitions(${t} PRIVATE TD3_TEST_PLUGIN_DIR="${TD3_TEST_PLUGIN_DIR}"
                               TD3_TEST_HAVE_CXX_PLUGIN=${TD3_TEST_HAVE_CXX_PLUGIN})
  endif()
endforeach()

# `td3d envs` (tools/cmd_envs.c): it lists every built-in environment (Gymnasium MuJoCo tasks
# without their model files get a short line, explained once; one named on the command line
# says where it looked), and describes a plugin named on its command line.
add_test(NAME cli_envs COMMAND td3d envs)
set_tests_properties(cli_envs PROPERTIES PASS_REGULAR_EXPRESSION
                     "MountainCarContinuous-v0 +2 +1 .*Runner-td3d-v0 +13 +4")
add_test(NAME cli_envs_help COMMAND td3d envs --help)
set_tests_properties(cli_envs_help PROPERTIES PASS_REGULAR_EXPRESSION "usage: td3d envs")
add_test(NAME cli_envs_missing_assets
         COMMAND ${CMAKE_COMMAND} -E env TD3D_MUJOCO_ASSETS=/nonexistent
         ${CMAKE_COMMAND} -DCMD=$<TARGET_FILE:td3d>
         "-DARGS=envs;--mujoco-assets;/nonexistent/either;Hopper-v4" -DEXPECT_RC=1
         "-DEXPECT_OUT=Hopper-v4.*hopper.xml.*/nonexistent/either/hopper.xml.*\
/nonexistent/hopper.xml"
         -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)
# Without Gymnasium's models the full listing says so in one line per task and explains once.
add_test(NAME cli_envs_missing_once COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/envs_missing_once.sh
         $<TARGET_FILE:td3d> /nonexistent)
add_test(NAME cli_envs_unset_once COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/envs_missing_once.sh
         $<TARGET_FILE:td3d>)
add_test(NAME cli_envs_plugin COMMAND td3d envs
         plugin:${TD3_TEST_PLUGIN_DIR}/td3d_test_plugin_c.so:end_at=5)
set_tests_properties(cli_envs_plugin PROPERTIES PASS_REGULAR_EXPRESSION "td3d-test-walk +3 +1")
add_test(NAME cli_envs_bad_flag COMMAND ${CMAKE_COMMAND} -DCMD=$<TARGET_FILE:td3d>
         "-DARGS=envs;--frobnicate" -DEXPECT_RC=2 "-DEXPECT_ERR=unknown option '--frobnicate'"
         -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)

# Training on a plugin environment: a few serial steps on the C and on the C++ plugin, then the
# saved policy evaluated on the same plugin.
foreach(kind c cpp)
  if(kind STREQUAL "cpp" AND NOT TD3_TEST_HAVE_CXX_PLUGIN)
    continue()
  endif()
  set(plugin_env "plugin:${TD3_TEST_PLUGIN_DIR}/td3d_test_plugin_${kind}.so")
  set(plugin_out ${CMAKE_CURRENT_BINARY_DIR}/plugin_run_${kind})
  td3_cli_test(plugin_train_${kind} RC 0 OUT "done: 400 env steps, 300 updates"
    ARGS run --serial --env ${plugin_env} --steps 400 --start-steps 100 --eval-every 200
         --eval-episodes 2 --hidden 16,16 --batch 32 --out ${plugin_out} --overwrite)
  td3_cli_test(plugin_eval_${kind} RC 0 OUT "mean return -?[0-9.]+"
    ARGS eval --policy ${plugin_out}/policy.td3p --env ${plugin_env} --episodes 2)
  set_tests_properties(plugin_train_${kind} PROPERTIES FIXTURES_SETUP plugin_run_${kind})
  set_tests_properties(plugin_eval_${kind} PROPERTIES FIXTURES_REQUIRED plugin_run_${kind})
endforeach()
