#!/bin/bash
# The end of a run reaches the actors: when the learner spends its step budget it tells the
# actor and the evaluator holding slots (RunOver), and they exit 0 by themselves (a supervisor
# that restarts failures leaves them down); the learner exits 0. A learner that is killed
# says nothing: its actor keeps waiting for it.
# usage: run_over.sh TD3D_BINARY
set -u
td3d=$1
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init
ports=(--experience-port 29631 --weights-port 29632 --control-port 29633)

"$td3d" learner --bind 127.0.0.1 --env Pendulum-v1 --steps 3000 --start-steps 500 --hidden 32,32 --batch 64 \
  --eval-every 1000 --eval-episodes 2 --status-bind off --out "$dir/run" "${ports[@]}" \
  --log-level info >"$dir/learner.log" 2>&1 &
learner=$!; pids+=("$learner")
"$td3d" actor --env Pendulum-v1 --name a/0 "${ports[@]}" --log-level info >"$dir/actor.log" 2>&1 &
actor=$!; pids+=("$actor")
"$td3d" actor --eval --env Pendulum-v1 --name a/eval "${ports[@]}" --log-level info >"$dir/eval.log" 2>&1 &
evaluator=$!; pids+=("$evaluator")

wait_exit "$learner" 120; rc=$?
[ "$rc" -eq 0 ] || fail "the learner exited $rc"
grep -q "run over (step budget spent): told the 2 processes" "$dir/learner.log" || fail "the learner did not tell its 2 peers"
wait_exit "$actor" 10; rc=$?
[ "$rc" -eq 0 ] || fail "the actor exited $rc after the run was over"
wait_exit "$evaluator" 10; rc=$?
[ "$rc" -eq 0 ] || fail "the evaluator exited $rc after the run was over"
grep -q "is over (step budget spent); stopping" "$dir/actor.log" || fail "the actor did not say why it stopped"
echo "ok: the run ended, and its actor and evaluator exited 0"

# a killed learner: the actor stays up and waits
"$td3d" learner --bind 127.0.0.1 --env Pendulum-v1 --steps 1000000 --hidden 32,32 --batch 64 --status-bind off \
  --out "$dir/run2" "${ports[@]}" >"$dir/learner2.log" 2>&1 &
learner=$!; pids+=("$learner")
"$td3d" actor --env Pendulum-v1 --name b/0 "${ports[@]}" --log-level info >"$dir/actor2.log" 2>&1 &
actor=$!; pids+=("$actor")
for _ in $(seq 100); do grep -q "joined run" "$dir/actor2.log" && break; sleep 0.1; done
grep -q "joined run" "$dir/actor2.log" || fail "the second actor never joined"
kill -9 "$learner"
sleep 3
kill -0 "$actor" 2>/dev/null || fail "the actor exited when its learner was killed"
kill -TERM "$actor"
wait_exit "$actor" 10 || fail "the actor did not stop on SIGTERM"
echo "ok: after a learner crash the actor waits"
