#!/bin/bash
# End-to-end check of docker-compose.yml on a Docker engine (run by hand; the test suite
# cannot start containers). It builds the image, starts a learner, N actors and the
# evaluator with a foreground `docker-compose up` (a step budget and no target, so how fast
# the machine learns cannot race the checks), waits until all have joined, kills the
# learner's process as a crash would and checks that the container comes back and continues
# the same run from its checkpoint; then waits for the budget: the learner exits 0, tells its
# actors and the evaluator, they exit 0 and stay down, and `docker-compose up` ends by
# itself. It checks that an evaluation reached the target return, loads the policy with
# `td3d eval` in a container, and removes what it started. With --curve it runs with
# deploy/curve.yml (keys made by `td3d keygen` in the image) and also checks that the learner
# says CURVE is on and that an actor container with a key the learner does not know is
# refused. With --monitoring it adds deploy/monitoring.yml's Prometheus (detached, before
# the foreground `up` of td3d's services: Prometheus stays after the run) and checks that it
# scraped the learner through the crash. Prints what it sees; the last line is one JSON object (build_s:
# the image build; joined_s, back_s, continued_s, ended_s: seconds since `up` started at
# which every process had joined, the killed learner answered again, training had gone on
# past the crash point, and the learner ended; total_s: the whole check). Exit 0 when every
# step passed.
#
# Needs docker and docker-compose (DOCKER_HOST as usual) and python3 (docker-compose's own).
# An apt proxy for the image build is passed on from http_proxy when set. The run directory
# stays in runs/compose-check-* beside docker-compose.yml. The learner is reached through
# `docker-compose exec` only, so the engine may live in a network namespace of its own: on a
# machine without one, `tools/docker_sandbox.sh start` and then
# `tools/docker_sandbox.sh run tools/compose_check.sh [--curve]` (docs/deploy.md).
#
# usage: tools/compose_check.sh [--actors N] [--seed S] [--steps N] [--target R]
#                               [--timeout SECONDS] [--curve] [--monitoring] [--keep]
set -u
# shellcheck source=tools/check_lib.sh
. "$(dirname "$0")/check_lib.sh" || exit 2
check_name=compose_check
actors=3 seed=1 steps=40000 target=-200 timeout=900 keep=0 curve=0 monitoring=0
check_options monitoring -- "$@"
cd "$(dirname "$0")/.." || exit 2
check_tools docker docker-compose python3
docker version >/dev/null 2>&1 || { echo "compose_check: no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset})" >&2; exit 2; }

export COMPOSE_PROJECT_NAME=td3dcheck$$
export TD3D_RUN=compose-check-$(date +%Y%m%d-%H%M%S)
# a budget and no target: the run cannot end before the crash phase, however fast it learns
export TD3D_SEED=$seed TD3D_STEPS=$steps TD3D_EVAL_EVERY=1000
unset TD3D_TARGET_RETURN
export TD3D_CHECKPOINT_EVERY=2
# host ports of our own, so a cluster already running on this engine is not in the way
export TD3D_EXPERIENCE_PORT=28850 TD3D_WEIGHTS_PORT=28851 TD3D_CONTROL_PORT=28852 TD3D_STATUS_PORT=28853
run_dir=runs/$TD3D_RUN
t0=$(date +%s)
t_up=$t0 # reset when `docker-compose up` starts

cleanup() {
  if [ "$keep" = 0 ]; then docker-compose down --timeout 30 >/dev/null 2>&1; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  docker-compose logs --tail=30 2>&1 | tail -60
  echo "{\"check\": \"compose\", \"passed\": false, \"failed_at\": \"$1\"}"
  exit 1
}
status_json() { docker-compose exec -T learner td3d status --json 2>/dev/null; }

echo "== building the image (deploy/Dockerfile)"
build_args=()
[ -n "${http_proxy:-}" ] && build_args=(--build-arg "http_proxy=$http_proxy")
services=(learner)
compose_file=docker-compose.yml
if [ "$monitoring" = 1 ]; then
  export TD3D_PROMETHEUS_PORT=28854
  compose_file=$compose_file:deploy/monitoring.yml
  services+=(prometheus)
fi
export COMPOSE_FILE=$compose_file
docker-compose build "${build_args[@]}" "${services[@]}" >/tmp/compose_check_build.$$ 2>&1 ||
  { tail -30 /tmp/compose_check_build.$$; rm -f /tmp/compose_check_build.$$; fail build "the image did not build"; }
rm -f /tmp/compose_check_build.$$
build_s=$(($(date +%s) - t0))
echo "image built (${build_s} s)"

if [ "$curve" = 1 ]; then
  echo "== CURVE keys (td3d keygen in the image) and deploy/curve.yml"
  export TD3D_KEYS=$PWD/$run_dir-keys
  check_keys "$TD3D_KEYS" docker
  export COMPOSE_FILE=$compose_file:deploy/curve.yml
fi

mkdir -p runs
if [ "$monitoring" = 1 ]; then
  # Prometheus is a server that stays after the run (its figures are checked after it): it
  # runs detached, and the foreground `up` below attaches to td3d's services only, so that
  # `up` can still end with the run
  echo "== docker-compose up -d prometheus"
  docker-compose up -d prometheus >"$run_dir.prometheus.log" 2>&1 ||
    fail up "docker-compose up -d prometheus failed: $(tail -5 "$run_dir.prometheus.log")"
fi
echo "== docker-compose up --scale actor=$actors learner actor evaluator, in the foreground (run directory $run_dir)"
t_up=$(date +%s)
docker-compose up --scale actor="$actors" learner actor evaluator >"$run_dir.up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 60); do [ -n "$(docker-compose ps -q learner 2>/dev/null)" ] && break; sleep 1; done
[ -n "$(docker-compose ps -q learner 2>/dev/null)" ] || fail up "docker-compose up started no learner: $(tail -5 "$run_dir.up.log")"
wait_status "$(all_joined_expr)" 120 ||
  fail join "the $actors actors and the evaluator did not all join within 120 s"
joined=$(elapsed)
run_id=$(status_get "d['run_id']")
echo "$actors actors and the evaluator joined run $run_id (${joined} s since up)"
if [ "$curve" = 1 ]; then
  [ "$(status_get "d['security']['curve']")" = True ] || fail curve "the learner does not say CURVE is on"
  intruder=$(timeout 60 docker-compose run --rm --no-deps -e TD3D_CURVE_KEY=/keys/intruder.key \
    actor 2>&1)
  echo "$intruder" | grep -q "refused this actor's CURVE key" ||
    fail curve "an actor with an unknown key was not refused: $(echo "$intruder" | tail -5)"
  intruder=$(echo "$intruder" | grep "refused this actor's CURVE key" | tail -1)
  refused=$(status_get "d['security']['refused']")
  echo "CURVE on; an actor container with an unknown key: ${intruder#td3d actor: } ($refused refused)"
fi

echo "== a learner crash: its process is killed after a checkpoint past 2000 env steps"
wait_status "d['checkpoint']['env_steps'] >= 2000" 300 || fail checkpoint "no checkpoint past 2000 env steps"
ckpt_steps=$(status_get "d['checkpoint']['env_steps']")
killed_steps=$(status_get "d['counters']['env_steps']")
docker-compose exec -T learner sh -c 'kill -KILL $(cat /proc/1/task/1/children)' ||
  fail kill "could not kill the learner's process"
cid=$(docker-compose ps -q learner)
wait_status "d['run_id'] == '$run_id' and d['checkpoint']['resumed']" 120 ||
  fail restart "the learner did not come back with run $run_id"
back=$(elapsed)
restarts=$(docker inspect -f '{{.RestartCount}}' "$cid")
[ "${restarts:-0}" -ge 1 ] || fail restart "the learner container was not restarted"
resumed_steps=$(docker-compose logs --no-color learner 2>/dev/null |
  sed -nE 's/.*resumed run [0-9a-f]+ from .*: ([0-9]+) env steps.*/\1/p' | tail -1)
[ -n "$resumed_steps" ] || fail restart "the restarted learner did not log what it resumed"
# (the learner goes on between the last status read and the kill: it may checkpoint again)
[ "$resumed_steps" -ge "$ckpt_steps" ] ||
  fail restart "the learner resumed from $resumed_steps env steps, before the checkpoint of $ckpt_steps it had reported"
echo "killed (its status said $killed_steps env steps, latest checkpoint $ckpt_steps); the container restarted ($restarts) and run $run_id continued from $resumed_steps env steps (${back} s since up)"
wait_status "d['counters']['env_steps'] >= $killed_steps + 1000 and \
sum(a['active'] for a in d['actors']) == $actors + 1" 300 ||
  fail continue "training did not go on past $killed_steps + 1000 env steps with every actor back"
continued=$(elapsed)
echo "training went on past $((killed_steps + 1000)) env steps with all $((actors + 1)) actors back (${continued} s since up)"

echo "== waiting for the step budget ($steps env steps, at most $timeout s)"
deadline=$(($(date +%s) + timeout))
while :; do
  state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$cid" 2>/dev/null)
  [ "${state% *}" = exited ] && break
  [ "$(date +%s)" -ge "$deadline" ] && fail budget "the run did not end within $timeout s"
  sleep 2
done
[ "$state" = "exited 0" ] || fail budget "the learner ended with '$state'"
ended=$(elapsed)
echo "the learner spent its budget and exited 0 (${ended} s since up)"
# the actors and the evaluator were told: they exit 0, stay down, and `up` ends by itself
for _ in $(seq 1 60); do kill -0 "$up_pid" 2>/dev/null || break; sleep 1; done
kill -0 "$up_pid" 2>/dev/null && fail end "docker-compose up still runs 60 s after the learner ended"
wait "$up_pid"
others=$(docker-compose ps -q actor evaluator)
[ -n "$others" ] || fail end "no actor or evaluator containers to inspect"
sleep 5
for c in $others; do
  st=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' "$c")
  [ "$st" = "exited 0 0" ] || fail end "container $c is '$st' after the run, not 'exited 0 0'"
done
grep -q "is over (step budget spent)" "$run_dir.up.log" ||
  fail end "no actor logged that the learner said the run is over"
echo "the $actors actors and the evaluator exited 0 and stayed down; docker-compose up ended by itself"
check_target "$run_dir/progress.csv"

if [ "$monitoring" = 1 ]; then
  scraped=""
  for _ in $(seq 1 60); do
    scraped=$(docker-compose exec -T prometheus promtool query instant http://localhost:9090 \
      'max_over_time(td3d_env_steps_total{job="td3d"}[15m])' 2>/dev/null | sed -nE 's/.*=> ([0-9.e+]+) @.*/\1/p')
    [ -n "$scraped" ] && [ "${scraped%%.*}" -gt 0 ] 2>/dev/null && break
    scraped=""
    sleep 2
  done
  [ -n "$scraped" ] || fail monitoring "Prometheus has no td3d_env_steps_total from the learner"
  [ "${scraped%%.*}" -ge "$killed_steps" ] ||
    fail monitoring "Prometheus's largest td3d_env_steps_total ($scraped) is below the $killed_steps before the crash"
  echo "Prometheus scraped the learner through the run and its restart: max td3d_env_steps_total = $scraped"
fi

echo "== the policy, loaded by td3d eval in a container"
evaluation=$(docker-compose run --rm --no-deps learner eval --policy "/runs/$TD3D_RUN/policy.td3p" \
  --episodes 10 2>&1 | tail -1)
echo "$evaluation"
mean=$(echo "$evaluation" | sed -nE 's/.*mean return (-?[0-9.]+).*/\1/p')
[ -n "$mean" ] || fail eval "td3d eval did not load the policy: $evaluation"
echo "PASS"
echo "{\"check\": \"compose\", \"passed\": true, \"actors\": $actors, \
\"killed_at_env_steps\": $killed_steps, \"checkpoint_env_steps\": $ckpt_steps, \"restarts\": $restarts, \
\"resumed_at_env_steps\": $resumed_steps, \"solved_at_env_steps\": $solved_at, \"best\": $best, \"ended_by_itself\": true, \
\"policy_eval_mean\": $mean, \"curve\": $(curve_json), \"prometheus_env_steps\": ${scraped:-null}, \
\"build_s\": $build_s, \"joined_s\": $joined, \"back_s\": $back, \"continued_s\": $continued, \"ended_s\": $ended, \
\"total_s\": $(($(date +%s) - t0)), \"run_dir\": \"$run_dir\"}"
