#!/bin/sh
# End-to-end: wall-clock seconds and env steps from start until the evaluation first reports
# a mean return >= -200 on Pendulum-v1, for `td3d run` (local cluster, defaults: 2 actors +
# evaluator, 256-256 networks, batch 256, one update per transition, 1000 start steps) and for
# serial mode, seeds 0-2 (evaluation every 1000 steps so the crossing is seen when it happens).
# Prints a line per run and, last, one JSON object.
# usage: bench/e2e_pendulum.sh [TD3D_BINARY] [SEEDS...]   (default build/tools/td3d, 0 1 2)
set -eu
bin=${1:-build/tools/td3d}
[ $# -gt 0 ] && shift
seeds=${*:-0 1 2}
[ -x "$bin" ] || { echo "e2e_pendulum: $bin is not built (cmake --build build)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
json=""
for mode in distributed serial; do
  for s in $seeds; do
    dir="$out/$mode-$s"
    flag=""
    [ "$mode" = serial ] && flag="--serial"
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$bin" run $flag --env Pendulum-v1 --seed "$s" --steps 20000 --eval-every 1000 \
      --target-return -200 --out "$dir" --quiet >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
    end=$(date +%s.%N)
    total=$(awk "BEGIN {printf \"%.1f\", $end - $start}")
    row=$(awk -F, 'NR > 1 && $4 >= -200 {print $1 " " $3; exit}' "$dir/progress.csv")
    if [ -n "$row" ]; then
      steps=${row% *}; secs=${row#* }
      echo "$mode seed $s: -200 reached at $steps env steps, ${secs}s (process ${total}s)"
    else
      steps=null; secs=null
      echo "$mode seed $s: -200 not reached within 20000 env steps (${total}s)"
    fi
    json="$json${json:+, }{\"mode\": \"$mode\", \"seed\": $s, \"env_steps\": $steps, \"seconds\": $secs}"
  done
done
echo "{\"bench\": \"e2e_pendulum\", \"target_seconds\": 20, \"runs\": [$json]}"
