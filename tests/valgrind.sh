#!/bin/bash
# Uninitialised reads (and other memory errors) fail the suite: valgrind's memcheck over a few
# short unit test binaries and over a short distributed run (a `td3d learner` with its status
# server and checkpoints, an actor and an evaluator, all three under valgrind, on loopback
# ports 23110-23115: below the ephemeral range, like every test port), each with
# --error-exitcode. Skipped (77) where valgrind is missing (tools/deps.sh installs it). The matrix kernels go through OpenBLAS (TD3D_GEMM=openblas):
# valgrind does not decode AVX-512.
# usage: valgrind.sh TD3D_BINARY TESTS_DIR TEST...   (tests/hardening.cmake names the tests)
set -u
td3d=$(realpath "$1")
tests=$(realpath "$2")
shift 2
if ! command -v valgrind >/dev/null 2>&1; then
  echo "SKIP: valgrind is not installed (sh tools/deps.sh installs it)"
  exit 77
fi
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init
export TD3D_GEMM=openblas OPENBLAS_NUM_THREADS=1
vg=(valgrind -q --error-exitcode=99 --num-callers=40)
failed=0

# unit tests without timing assertions (valgrind makes everything 20-50 times slower)
for t in "$@"; do
  start=$(date +%s)
  (cd "$dir" && "${vg[@]}" "$tests/$t") >"$dir/$t.log" 2>&1
  rc=$?
  echo "$t: exit $rc ($(($(date +%s) - start)) s)"
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -A30 "==[0-9]*==" "$dir/$t.log" | head -60
    [ "$rc" -ne 99 ] && tail -20 "$dir/$t.log"
  fi
done

# a short distributed run: Hello/Welcome, experience, training, weights, evaluation reports,
# checkpoints, /status, /metrics and the dashboard, the final evaluation and RunOver
base=23110 status=23115
ports=(--experience-port=$base --weights-port=$((base + 1)) --control-port=$((base + 2)))
start=$(date +%s)
start_bg "$dir/learner.log" "${vg[@]}" "$td3d" learner --bind=127.0.0.1 "${ports[@]}" \
  --status-bind=127.0.0.1:$status --steps=1200 --start-steps=300 --hidden=16,16 --batch=16 \
  --eval-every=600 --eval-episodes=1 --checkpoint-every=3 --threads=1 --out="$dir/run" \
  --log-level=warn
learner=${pids[-1]}
start_bg "$dir/actor.log" "${vg[@]}" "$td3d" actor "${ports[@]}" --name=vg/0 --log-level=warn
actor=${pids[-1]}
start_bg "$dir/eval.log" "${vg[@]}" "$td3d" actor --eval "${ports[@]}" --name=vg/eval \
  --log-level=warn
evaluator=${pids[-1]}
wait_metric td3d_updates_total $status 1
for path in /status /metrics / /healthz; do http_get $status $path >/dev/null; done
for who in learner actor evaluator; do
  wait_exit "${!who}" 400
  rc=$?
  echo "td3d $who under valgrind: exit $rc ($(($(date +%s) - start)) s)"
  if [ "$rc" -ne 0 ]; then
    failed=1
    log="$dir/$who.log"
    [ "$who" = evaluator ] && log="$dir/eval.log"
    grep -A30 "==[0-9]*==" "$log" | head -80
    [ "$rc" -ne 99 ] && tail -20 "$log"
  fi
done
# the commands that read what the run left: the checkpoint, the policy; and serial mode
for cmd in "checkpoint $dir/run" "eval --policy=$dir/run/policy.td3p --episodes=1" \
  "run --serial --steps=400 --start-steps=100 --hidden=16,16 --batch=16 --eval-every=200 --eval-episodes=1 --out=$dir/serial --quiet"; do
  name=${cmd%% *}
  # shellcheck disable=SC2086
  "${vg[@]}" "$td3d" $cmd >"$dir/$name.log" 2>&1
  rc=$?
  echo "td3d $name under valgrind: exit $rc"
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -A30 "==[0-9]*==" "$dir/$name.log" | head -80
    [ "$rc" -ne 99 ] && tail -20 "$dir/$name.log"
  fi
done
[ "$failed" -eq 0 ] || fail "valgrind found memory errors (exit 99) or a program failed under it"
echo "ok: no memory errors"
