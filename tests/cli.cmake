# The td3d command line: help, version, unknown commands and options, and a short serial
# run whose policy `td3d eval` then loads. Included from tests/CMakeLists.txt.

# td3_cli_test(<name> RC <code> [ERR <text>] [ERR_LINES <n>] [OUT <regex>] ARGS <args...>)
function(td3_cli_test name)
  cmake_parse_arguments(T "" "RC;ERR;ERR_LINES;OUT" "ARGS" ${ARGN})
  # The quoted "-DARGS=..." keeps the ;-list as one argument; run_expect.cmake expands it.
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DCMD=$<TARGET_FILE:td3d> "-DARGS=${T_ARGS}"
           -DEXPECT_RC=${T_RC} "-DEXPECT_ERR=${T_ERR}" "-DEXPECT_ERR_LINES=${T_ERR_LINES}"
           "-DEXPECT_OUT=${T_OUT}" -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 300)
endfunction()

td3_cli_test(cli_help RC 0 OUT "usage: td3d <command>" ARGS --help)
td3_cli_test(cli_version RC 0 OUT "td3d [0-9]+\\.[0-9]+\\.[0-9]+" ARGS --version)
td3_cli_test(cli_unknown RC 2 ERR "unknown command 'frobnicate'; valid commands: run, learner, actor, eval, envs" ARGS frobnicate)
td3_cli_test(cli_run_help RC 0 OUT "--target-return R" ARGS run --help)
td3_cli_test(cli_eval_help RC 0 OUT "--policy FILE" ARGS eval --help)
td3_cli_test(cli_run_bad_flag RC 2 ERR "unknown option '--stepz'" ARGS run --serial --stepz 5)
td3_cli_test(cli_run_bad_value RC 2 ERR "--steps: 'ten' is not a whole number" ARGS run --serial --steps ten)
td3_cli_test(cli_run_bad_env RC 1 ERR "unknown environment 'Nope-v0'" ARGS run --serial --env Nope-v0 --out ${CMAKE_CURRENT_BINARY_DIR}/cli_bad_env)
td3_cli_test(cli_eval_no_policy RC 2 ERR "--policy FILE is required" ARGS eval)
td3_cli_test(cli_eval_missing_file RC 1 ERR "cannot open /nonexistent/p.td3p" ARGS eval --policy /nonexistent/p.td3p)

set(cli_run_dir ${CMAKE_CURRENT_BINARY_DIR}/cli_run)
td3_cli_test(cli_run_serial_short RC 0 OUT "eval  steps +400.*policy: "
  ARGS run --serial --steps 400 --start-steps 100 --eval-every 200 --eval-episodes 2
       --hidden 16,16 --batch 32 --out ${cli_run_dir} --overwrite)
td3_cli_test(cli_run_refuses_existing RC 1 ERR "already holds a run"
  ARGS run --serial --steps 10 --out ${cli_run_dir})
td3_cli_test(cli_eval_policy RC 0 OUT "mean return -?[0-9.]+ \\+- [0-9.]+ over 3 episodes"
  ARGS eval --policy ${cli_run_dir}/policy.td3p --episodes 3)
td3_cli_test(cli_eval_wrong_env RC 1 ERR "unknown environment" ARGS eval --policy ${cli_run_dir}/policy.td3p --env Nope-v1)
# --record: the first episode's trajectory as CSV (checked by eval_record.sh); a place that
# cannot be written is refused before any episode runs.
add_test(NAME cli_eval_record COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/eval_record.sh
         $<TARGET_FILE:td3d> ${cli_run_dir}/policy.td3p ${CMAKE_CURRENT_BINARY_DIR}/cli_eval_record)
td3_cli_test(cli_eval_record_unwritable RC 1
  ERR "--record /nonexistent/dir/t.csv: cannot create /nonexistent/dir/t.csv.tmp."
  ARGS eval --policy ${cli_run_dir}/policy.td3p --record /nonexistent/dir/t.csv)
td3_cli_test(cli_eval_record_directory RC 1 ERR "is a directory; name a file"
  ARGS eval --policy ${cli_run_dir}/policy.td3p --record ${CMAKE_CURRENT_BINARY_DIR})
td3_cli_test(cli_eval_help_record RC 0 OUT "--record FILE" ARGS eval --help)
# A distributed run checks the environment and the run directory once, before any child
# (learner, actors, evaluator) or the learner's status server starts: one error line, nothing
# on standard output (not even the run's header). Each child would have said something of its
# own (its error, "status server on ...", the launcher's line about the learner's exit).
# Ports 29641-29644.
set(cli_ports --experience-port 29641 --weights-port 29642 --control-port 29643)
td3_cli_test(cli_run_dist_bad_env RC 1 ERR "td3d run: unknown environment 'Nope-v0'" ERR_LINES 1
  OUT "^$" ARGS run --env Nope-v0 --log-level info --status-bind 127.0.0.1:29644 ${cli_ports}
                --out ${CMAKE_CURRENT_BINARY_DIR}/cli_dist_bad_env)
td3_cli_test(cli_run_dist_refuses_existing RC 1 ERR "already holds a run (progress.csv exists)"
  ERR_LINES 1 OUT "^$"
  ARGS run --steps 10 --log-level info --status-bind 127.0.0.1:29644 ${cli_ports} --out ${cli_run_dir})
set(cli_run_users cli_run_dist_refuses_existing cli_run_refuses_existing cli_eval_policy
    cli_eval_wrong_env cli_eval_record cli_eval_record_unwritable cli_eval_record_directory)
set_tests_properties(${cli_run_users} PROPERTIES DEPENDS cli_run_serial_short)
set_tests_properties(cli_run_serial_short PROPERTIES FIXTURES_SETUP cli_run_dir)
set_tests_properties(${cli_run_users} PROPERTIES FIXTURES_REQUIRED cli_run_dir)

# Checkpoint flags: a directory without a checkpoint, a bad interval, --resume with --serial
# (the serial run above leaves a run directory without checkpoint/), --out against --resume.
td3_cli_test(cli_resume_missing RC 2 ERR "--resume /nonexistent/run: no checkpoint there"
  ARGS learner --resume /nonexistent/run)
td3_cli_test(cli_run_resume_missing RC 2 ERR "no checkpoint there" ARGS run --resume ${cli_run_dir})
td3_cli_test(cli_checkpoint_every_bad RC 2 ERR "--checkpoint-every" ARGS learner --checkpoint-every -1)
set_tests_properties(cli_run_resume_missing PROPERTIES DEPENDS cli_run_serial_short
                     FIXTURES_REQUIRED cli_run_dir)
td3_cli_test(cli_checkpoint_help RC 0 OUT "usage: td3d checkpoint RUN_DIR" ARGS checkpoint --help)
td3_cli_test(cli_checkpoint_missing RC 1 ERR "holds no checkpoint" ARGS checkpoint /nonexistent/run)
td3_cli_test(cli_checkpoint_no_dir RC 2 ERR "RUN_DIR is required" ARGS checkpoint)

# A run that spends its budget below --target-return says so in its last line and exits 3,
# distributed and serial (ports 29641-29643, as above: ctest runs these one after the other).
set(cli_unsolved_last "target NOT reached: [^\n]*the target 1000\\.00 \\(exit status 3\\)\n$")
set(cli_unsolved_dir ${CMAKE_CURRENT_BINARY_DIR}/cli_unsolved)
td3_cli_test(cli_run_unsolved RC 3 OUT "${cli_unsolved_last}"
  ARGS run --env Pendulum-v1 --steps 2000 --start-steps 500 --eval-every 1000 --eval-episodes 2
       --hidden 32,32 --batch 64 --actors 1 --target-return 1000 --status-bind off ${cli_ports}
       --out ${cli_unsolved_dir} --overwrite)
td3_cli_test(cli_run_serial_unsolved RC 3 OUT "${cli_unsolved_last}"
  ARGS run --serial --env Pendulum-v1 --steps 1500 --start-steps 500 --eval-every 500
       --eval-episodes 2 --hidden 32,32 --batch 64 --target-return 1000
       --out ${CMAKE_CURRENT_BINARY_DIR}/cli_serial_unsolved --overwrite)
set_tests_properties(cli_run_dist_bad_env cli_run_dist_refuses_existing cli_run_unsolved
                     PROPERTIES RESOURCE_LOCK cli_ports)
# The stored flags of that run print the shortest text that reads back as the same number
# (flags_format): --gamma=0.99, not --gamma=0.99000001.
td3_cli_test(cli_checkpoint_flags_exact RC 0
  OUT "\nflags +[^\n]* --expl-noise=0\\.1 [^\n]* --actor-lr=0\\.0003 --critic-lr=0\\.0003 \
--gamma=0\\.99 --tau=0\\.005 --policy-noise=0\\.2 --noise-clip=0\\.5 "
  ARGS checkpoint ${cli_unsolved_dir})
set_tests_properties(cli_run_unsolved PROPERTIES FIXTURES_SETUP cli_unsolved_dir)
set_tests_properties(cli_checkpoint_flags_exact PROPERTIES DEPENDS cli_run_unsolved
                     FIXTURES_REQUIRED cli_unsolved_dir)

# Presets: `td3d presets` lists them; an unknown name is refused before anything starts.
td3_cli_test(cli_presets RC 0 OUT "td3-paper.*400-300" ARGS presets)
td3_cli_test(cli_run_bad_preset RC 2 ERR "'fast' is not a preset (td3-repo, td3-paper"
  ARGS run --preset fast --steps 10)

# progress.csv's time figures, fresh and resumed; one row at the budget; training returns.
add_test(NAME progress_times COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/progress_times.sh $<TARGET_FILE:td3d>)
set_tests_properties(progress_times PROPERTIES TIMEOUT 300)

# The live line and log lines on a terminal (a pty): never on the same line.
find_program(TD3_PYTHON3 python3)
if(TD3_PYTHON3)
  add_test(NAME live_line COMMAND ${TD3_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/live_line.py $<TARGET_FILE:td3d>)
  set_tests_properties(live_line PROPERTIES TIMEOUT 120)
  # ... and the log lines of td3d run's other processes (the launcher's restart and stop lines,
  # the actors' warnings) neither: actors and the evaluator are killed to make the launcher
  # speak. Ports 29651-29653.
  add_test(NAME live_line_children COMMAND ${TD3_PYTHON3}
           ${CMAKE_CURRENT_SOURCE_DIR}/live_line_children.py $<TARGET_FILE:td3d>)
  set_tests_properties(live_line_children PROPERTIES TIMEOUT 120)
endif()

# curve.svg of the short serial run above, and a results chart, are valid SVG documents.
add_test(NAME svg_valid COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/svg_valid.sh ${cli_run_dir}/curve.svg
         ${PROJECT_SOURCE_DIR}/docs/results/HalfCheetah-v4/curves.svg)
set_tests_properties(svg_valid PROPERTIES DEPENDS cli_run_serial_short FIXTURES_REQUIRED cli_run_dir)

# The end of a run: actors and the evaluator are told and exit 0; a killed learner is waited for.
add_test(NAME run_over COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/run_over.sh $<TARGET_FILE:td3d>)
set_tests_properties(run_over PROPERTIES TIMEOUT 200)

# `td3d version`
td3_cli_test(cli_version_help RC 0 OUT "usage: td3d version" ARGS version --help)
td3_cli_test(cli_version_bad RC 2 ERR "td3d version: unknown argument '--frob'" ARGS version --frob)

# `td3d keygen --dir` makes a directory that is not there yet, with its parents (removed first,
# so each run starts without it).
set(cli_keygen_dir ${CMAKE_CURRENT_BINARY_DIR}/cli_keygen)
add_test(NAME cli_keygen_clean COMMAND ${CMAKE_COMMAND} -E rm -rf ${cli_keygen_dir})
set_tests_properties(cli_keygen_clean PROPERTIES FIXTURES_SETUP cli_keygen_clean)
td3_cli_test(cli_keygen_new_dir RC 0 OUT "cli_keygen/a/keys/learner.pub  public key [^\n]+\n"
  ARGS keygen learner --dir ${cli_keygen_dir}/a/keys)
set_tests_properties(cli_keygen_new_dir PROPERTIES FIXTURES_REQUIRED cli_keygen_clean)

# `td3d eval` of a MuJoCo policy uses the model its run recorded in config.json (skips without
# the model files in TD3_ASSETS_DIR).
add_test(NAME cli_eval_run_model COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/eval_run_model.sh
         $<TARGET_FILE:td3d> ${TD3_ASSETS_DIR} ${CMAKE_CURRENT_BINARY_DIR}/cli_eval_run_model)
set_tests_properties(cli_eval_run_model PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# The transitions a distributed run stores follow each other as the actors stepped them (every
# next_obs starts the actor's next row, except at time limits): tests/replay_chains.py.
add_test(NAME replay_chains COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/export_python.sh numpy
         ${CMAKE_CURRENT_SOURCE_DIR}/replay_chains.py $<TARGET_FILE:td3d>)
set_tests_properties(replay_chains PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
