#!/bin/bash
# The README's first command, timed, for several seeds: what a newcomer sees on a fresh machine.
# The command is read from the README itself (the first line of its first ```sh block), so
# this measures exactly what the README says. For the first seed the whole line runs (apt
# install of what building needs, configure, build, the Pendulum run); for the others only
# its `td3d run` part, with `--seed S` and `--out runs/pendulum-seedS`. Prints a line per seed
# and, last, one JSON object: seconds in all, training seconds (td3d's own "in X s"), env
# steps when the evaluation first reached the target, best evaluation, exit status.
# usage: bench/headline.sh [SEEDS...]   (default 0 1 2 3 4; run from the repository root)
set -u
cd "$(dirname "$0")/.." || exit 2
seeds=${*:-0 1 2 3 4}
line=$(awk '/^```sh/ {getline; print; exit}' README.md)
case $line in
  *"td3d run "*) ;;
  *) echo "headline: the README's first command has no 'td3d run': $line" >&2; exit 2 ;;
esac
run_part=${line##*&& } # the td3d run ... part (the last && step)
target=$(echo "$run_part" | sed -n 's/.*--target-return \([-0-9.]*\).*/\1/p')
json=""
first=1
fail=0
for s in $seeds; do
  out="runs/pendulum-seed$s"
  log=$(mktemp)
  start=$(date +%s.%N)
  if [ $first = 1 ]; then
    # the whole line, with this seed's run directory and seed
    cmd="${line%"$run_part"}$run_part --seed $s"
    cmd=${cmd//--out runs\/pendulum /--out $out }
  else
    cmd="$run_part --seed $s"
    cmd=${cmd//--out runs\/pendulum /--out $out }
  fi
  bash -c "$cmd" >"$log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  total=$(awk "BEGIN {printf \"%.1f\", $end - $start}")
  # td3d run's summary line: "... in X s" (training, from the learner's start)
  train=$(grep -o 'in [0-9.]*s' "$log" | tail -1 | tr -dc '0-9.')
  [ -n "$train" ] || train=null
  steps=null best=null
  if [ -f "$out/progress.csv" ]; then
    steps=$(awk -F, -v t="$target" 'NR > 1 && $4 != "" && $4 + 0 >= t + 0 {print $1; exit}' "$out/progress.csv")
    best=$(awk -F, 'NR > 1 && $4 != "" && $1 > 0 && (b == "" || $4 + 0 > b + 0) {b = $4} END {print b}' \
      "$out/progress.csv")
  fi
  [ -n "$steps" ] || steps=null
  [ -n "$best" ] || best=null
  what="reached $target at $steps env steps"
  [ "$steps" = null ] && what="did not reach $target"
  echo "seed $s: exit $rc, $what, best $best, training ${train}s, ${total}s in all$([ $first = 1 ] && echo ' (install and build included)')"
  [ $rc = 0 ] || { fail=1; tail -5 "$log" | sed 's/^/  | /'; }
  json="$json${json:+, }{\"seed\": $s, \"exit\": $rc, \"seconds\": $total, \"training_seconds\": $train, \"env_steps_at_target\": $steps, \"best\": $best, \"install_and_build\": $([ $first = 1 ] && echo true || echo false)}"
  rm -f "$log"
  first=0
done
echo "{\"bench\": \"headline\", \"command\": \"$(echo "$line" | sed 's/"/\\"/g')\", \"runs\": [$json]}"
exit $fail
