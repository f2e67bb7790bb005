#!/bin/sh
# The 5-seed learning check of serial mode: Pendulum-v1 with 1000 start steps must reach a
# mean evaluation return >= -200 within 10,000 env steps for each seed (evaluation every
# 1000 steps, 10 episodes). Prints a line per seed and, last, one JSON object.
# usage: bench/serial_pendulum_seeds.sh [TD3D_BINARY] [SEEDS...]   (default build/tools/td3d, seeds 0-4)
set -eu
bin=${1:-build/tools/td3d}
[ $# -gt 0 ] && shift
seeds=${*:-0 1 2 3 4}
[ -x "$bin" ] || { echo "serial_pendulum_seeds: $bin is not built (cmake --build build)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
json="" solved_all=1
for s in $seeds; do
  log="$out/seed$s.log"
  start=$(date +%s.%N)
  "$bin" run --serial --env Pendulum-v1 --seed "$s" --steps 10000 --start-steps 1000 \
    --eval-every 1000 --eval-episodes 10 --target-return -200 --out "$out/run$s" --quiet >"$log" 2>&1 || {
    echo "seed $s: td3d failed:"; cat "$log"; exit 1; }
  end=$(date +%s.%N)
  # the progress.csv row that first reached -200
  at=$(awk -F, 'NR > 1 && $4 >= -200 {print $1; exit}' "$out/run$s/progress.csv")
  best=$(awk -F, 'NR > 1 {if (b == "" || $4 > b) b = $4} END {print b}' "$out/run$s/progress.csv")
  secs=$(awk "BEGIN {printf \"%.1f\", $end - $start}")
  if [ -n "$at" ]; then
    echo "seed $s: reached -200 at $at steps (best $best) in ${secs}s"
  else
    echo "seed $s: NOT reached within 10000 steps (best $best) in ${secs}s"; solved_all=0; at=null
  fi
  json="$json${json:+, }{\"seed\": $s, \"solved_at\": $at, \"best\": $best, \"seconds\": $secs}"
done
echo "{\"bench\": \"serial_pendulum_seeds\", \"all_solved\": $([ $solved_all = 1 ] && echo true || echo false), \"runs\": [$json]}"
[ $solved_all = 1 ]
