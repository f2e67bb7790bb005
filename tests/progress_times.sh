#!/bin/bash
# Time figures of a run: progress.csv's wall_seconds start near 0, grow, and agree with the
# elapsed time of the `td3d run` process (within 25% + 3 s: the processes take a while to start
# on a loaded machine or under a sanitizer; a wrong clock is off by far more); after `--resume`
# they go on from the checkpoint's time instead of starting again or jumping. A row's
# env_steps_per_second is the transitions in replay over the row's wall time: at least the
# row's env steps (the evaluated weights' count, which replay holds already) over it, at most
# the budget over it. Each start of `td3d run` (the --resume too) writes a new evaluator token
# to <out>/eval.token (mode 0600) and its evaluator is admitted with it: evaluations below the
# budget are in progress.csv, and nothing was refused.
# usage: progress_times.sh TD3D_BINARY
set -u
td3d=$1
dir=$(mktemp -d /tmp/td3d_progress_times.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ports=(--experience-port 29611 --weights-port 29612 --control-port 29613 --status-bind off)
common=(--env Pendulum-v1 --hidden 32,32 --batch 64 --start-steps 500 --eval-every 1000
        --eval-episodes 2 --quiet "${ports[@]}")

# checks rows from line $2 on of $1 against the elapsed time $3 (seconds, float), the wall
# time $4 the rows start from and the step budget $5
check_rows() {
  awk -F, -v from="$2" -v elapsed="$3" -v base="$4" -v budget="$5" '
    NR < from { next }
    { w = $3 + 0
      if (w < prev - 1e-9) { printf "wall_seconds goes back: %s after %s\n", w, prev; bad = 1 }
      if (n == 0 && w > base + 0.5 * elapsed + 2) { printf "first row at %s s, after a start at %s\n", w, base; bad = 1 }
      if (w > 0 && ($10 < 0.99 * $1 / w - 1 || $10 > 1.01 * budget / w + 1)) { printf "env_steps_per_second %s, outside [steps/wall %s, budget/wall %s]\n", $10, $1 / w, budget / w; bad = 1 }
      prev = w; n++ }
    END {
      if (n == 0) { print "no rows"; exit 1 }
      d = prev - base - elapsed; if (d < 0) d = -d
      if (d > 0.25 * elapsed + 3) { printf "last row at %s s; the process ran %s s from %s\n", prev, elapsed, base; bad = 1 }
      exit bad }' "$1"
}

t0=$(date +%s.%N)
"$td3d" run "${common[@]}" --steps 3000 --out "$dir/run" >"$dir/run1.log" 2>&1
rc=$?
t1=$(date +%s.%N)
[ "$rc" -eq 0 ] || { cat "$dir/run1.log"; fail "td3d run exited $rc"; }
elapsed1=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
check_rows "$dir/run/progress.csv" 2 "$elapsed1" 0 3000 || fail "fresh run (ran ${elapsed1}s): $(cat "$dir/run/progress.csv")"
# the evaluator's token: a file of 64 hex characters for this user only; its reports made rows
check_token() {
  [ "$(stat -c %a "$dir/run/eval.token")" = 600 ] || fail "eval.token has mode $(stat -c %a "$dir/run/eval.token")"
  grep -qx '[0-9a-f]\{64\}' "$dir/run/eval.token" || fail "eval.token is not 64 hex characters"
  ! grep -q "refused an actor" "$1" || fail "the learner refused a child: $(grep "refused" "$1")"
}
check_token "$dir/run1.log"
token1=$(cat "$dir/run/eval.token")
awk -F, 'NR > 1 && $1 + 0 < 3000 { n++ } END { exit !(n >= 1) }' "$dir/run/progress.csv" ||
  fail "no evaluator report below the budget: $(cat "$dir/run/progress.csv")"
rows1=$(wc -l <"$dir/run/progress.csv")
last1=$(tail -n 1 "$dir/run/progress.csv" | cut -d, -f3)
echo "fresh run: ${elapsed1}s, last row at ${last1}s"

t0=$(date +%s.%N)
"$td3d" run --resume "$dir/run" --steps 5000 --quiet "${ports[@]}" >"$dir/run2.log" 2>&1
rc=$?
t1=$(date +%s.%N)
[ "$rc" -eq 0 ] || { cat "$dir/run2.log"; fail "td3d run --resume exited $rc"; }
elapsed2=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
check_rows "$dir/run/progress.csv" $((rows1 + 1)) "$elapsed2" "$last1" 5000 ||
  fail "resumed run (ran ${elapsed2}s from ${last1}s): $(cat "$dir/run/progress.csv")"
echo "resumed run: ${elapsed2}s, last row at $(tail -n 1 "$dir/run/progress.csv" | cut -d, -f3)s"
check_token "$dir/run2.log"
[ "$(cat "$dir/run/eval.token")" != "$token1" ] || fail "the resumed run kept the first start's token"
awk -F, -v from=$((rows1 + 1)) 'NR >= from && $1 + 0 < 5000 { n++ } END { exit !(n >= 1) }' \
  "$dir/run/progress.csv" || fail "no evaluator report in the resumed run: $(cat "$dir/run/progress.csv")"
echo "eval.token: mode 600, a new one for the resumed start; the evaluator's reports recorded"
# the budget's row appears once
n_final=$(grep -c '^5000,' "$dir/run/progress.csv")
[ "$n_final" -eq 1 ] || fail "$n_final rows at the budget (5000 env steps)"
# training episodes were reported: train_return_mean is filled once Pendulum episodes end
grep -q '^[0-9]*,[0-9]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[0-9]*,-[0-9.]*,' "$dir/run/progress.csv" ||
  fail "train_return_mean is never filled: $(cat "$dir/run/progress.csv")"
echo "ok"
