#!/bin/bash
# The results harness: runs the learning runs of bench/results.matrix with `td3d run`, one at a
# time, and collects each finished run into docs/results/<env>/<preset>-<mode>-seed<S>/
# (progress.csv, config.json and run.json: budget, wall time, machine, threads, commit), then
# writes docs/results.md and the per-task SVGs from those files (build/bench/results_report).
#
# A run already finished (its progress.csv reaches the budget) is skipped; a distributed run
# that was interrupted, or finished with a smaller budget, is continued with `td3d run
# --resume`; an interrupted serial run starts again (serial runs have no checkpoint). Run
# directories (checkpoints, replay files, logs) stay under --runs, outside the checkout.
# Ctrl-C or SIGTERM stops the current run cleanly (it checkpoints) and ends the harness.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/results.sh [options]
  --td3d PATH      the td3d program (default build/tools/td3d)
  --report-tool P  the page generator (default build/bench/results_report)
  --matrix FILE    the runs to make (default bench/results.matrix)
  --runs DIR       where run directories live (default $TD3D_RESULTS_RUNS or ~/td3d-runs)
  --results DIR    where finished runs are collected (default docs/results)
  --only REGEX     only matrix entries whose "ENV PRESET MODE" matches
  --max-runs N     stop after starting N runs (default: no limit)
  --list           print each run with its state (collected, done, partial, restart, todo)
                   and exit
  --report         only write docs/results.md and the SVGs from the collected runs
  -h, --help       this text
MuJoCo tasks need the Gymnasium model files: TD3D_MUJOCO_ASSETS=DIR (or ../shared/assets/
gymnasium-mujoco when it exists beside the checkout).
EOF
}

cd "$(dirname "$0")/.."
td3d=build/tools/td3d
report_tool=build/bench/results_report
matrix=bench/results.matrix
runs=${TD3D_RESULTS_RUNS:-$HOME/td3d-runs}
results=docs/results
only=""
max_runs=""
list=0
report_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --td3d) td3d=$2; shift 2 ;;
    --report-tool) report_tool=$2; shift 2 ;;
    --matrix) matrix=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --max-runs) max_runs=$2; shift 2 ;;
    --list) list=1; shift ;;
    --report) report_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "results: unknown option '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
[ -f "$matrix" ] || { echo "results: no matrix file $matrix" >&2; exit 2; }
if [ -n "$max_runs" ] && ! [[ "$max_runs" =~ ^[0-9]+$ ]]; then
  echo "results: --max-runs wants a whole number, not '$max_runs'" >&2; exit 2
fi

write_report() {
  if [ ! -x "$report_tool" ]; then
    echo "results: $report_tool is not built (cmake --build build); docs/results.md not written" >&2
    return 1
  fi
  "$report_tool" --results "$results" --out docs/results.md
}

if [ "$report_only" = 1 ]; then
  write_report
  exit $?
fi

[ -x "$td3d" ] || { echo "results: $td3d is not built (cmake --build build)" >&2; exit 2; }
if [ -z "${TD3D_MUJOCO_ASSETS:-}" ] && [ -d ../shared/assets/gymnasium-mujoco ]; then
  TD3D_MUJOCO_ASSETS=$(cd ../shared/assets/gymnasium-mujoco && pwd)
  export TD3D_MUJOCO_ASSETS
fi

# The env steps of a run directory's last progress.csv row (0 when there is none).
last_steps() {
  local csv="$1/progress.csv"
  [ -f "$csv" ] || { echo 0; return; }
  awk -F, 'NR > 1 && $1 ~ /^[0-9]+$/ {s = $1} END {print s + 0}' "$csv"
}

# The step budget of the run collected in results directory $1 (0 when there is none).
collected_steps() {
  [ -f "$1/run.json" ] || { echo 0; return; }
  sed -n 's/^ *"steps": *\([0-9][0-9]*\),*$/\1/p' "$1/run.json" | head -n 1 | awk '{print $1 + 0}'
}

# The state of run directory $1 for a budget of $2 env steps: done, partial, restart or todo.
run_state() {
  local dir=$1 steps=$2 mode=$3
  [ -d "$dir" ] || { echo todo; return; }
  if [ -f "$dir/.finished" ] && [ "$(last_steps "$dir")" -ge "$steps" ]; then echo done; return; fi
  if [ "$mode" = distributed ] && [ -f "$dir/checkpoint/state.td3c" ]; then echo partial; return; fi
  echo restart
}

# The training threads of a run with these extra flags: --threads, else td3d's default (one
# per CPU, at most 8).
threads_of() {
  local t
  t=$(echo "$1" | sed -n 's/.*--threads[= ]\([0-9][0-9]*\).*/\1/p')
  if [ -z "$t" ] || [ "$t" = 0 ]; then t=$(nproc); [ "$t" -gt 8 ] && t=8; fi
  echo "$t"
}

# Copies a finished run's files into the results tree, with run.json about the run.
collect() {
  local dir=$1 dest=$2 env=$3 preset=$4 mode=$5 seed=$6 steps=$7 threads=$8
  mkdir -p "$dest"
  cp "$dir/progress.csv" "$dir/config.json" "$dest/"
  local cpu wall commit
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo | sed 's/"/\\"/g')
  wall=$(awk -F, 'NR > 1 && $3 != "" {w = $3} END {print w + 0}' "$dir/progress.csv")
  # a program copied as td3d-<commit> (so that rebuilding the checkout leaves a long run alone)
  # names its commit; otherwise the checkout's
  commit=$(basename "$td3d" | sed -n 's/^td3d-\([0-9a-f]\{7,40\}\)$/\1/p')
  [ -n "$commit" ] || commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  cat >"$dest/run.json" <<EOF
{
  "env": "$env",
  "preset": "$preset",
  "mode": "$mode",
  "seed": $seed,
  "steps": $steps,
  "wall_seconds": $wall,
  "threads": $threads,
  "cpus": $(nproc),
  "cpu": "$cpu",
  "td3d_commit": "$commit",
  "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF
}

child=""
stop=0
on_signal() {
  stop=1
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
}
trap on_signal INT TERM

started=0
mkdir -p "$runs"
while read -r env preset mode seeds steps flags; do
  case "$env" in ''|\#*) continue ;; esac
  if [ -n "$only" ] && ! [[ "$env $preset $mode" =~ $only ]]; then continue; fi
  # a mode may carry a label for a variant of the runs (distributed-lead64): the label names
  # its own run directories and its own group on the page
  base=${mode%%-*}
  case "$base" in distributed|serial) ;; *)
    echo "results: $matrix: mode '$mode' is not distributed or serial (with an optional -LABEL)" >&2
    exit 2 ;; esac
  for seed in ${seeds//,/ }; do
    name="$preset-$mode-seed$seed"
    dir="$runs/$env/$name"
    dest="$results/$env/$name"
    state=$(run_state "$dir" "$steps" "$base")
    # collected already with this budget or more (its run directory may be on another machine)
    if [ "$state" != done ] && [ "$(collected_steps "$dest")" -ge "$steps" ]; then state=collected; fi
    if [ "$list" = 1 ]; then
      printf '%-26s %-32s %8s steps  %-8s (%s steps so far)\n' "$env" "$name" "$steps" "$state" \
        "$(last_steps "$dir")"
      continue
    fi
    [ "$state" = collected ] && continue
    if [ "$state" = done ]; then
      # collected already? (a run finished by an earlier harness that stopped before collecting)
      if [ "$(collected_steps "$dest")" -lt "$steps" ]; then
        collect "$dir" "$dest" "$env" "$preset" "$mode" "$seed" "$steps" "$(threads_of "$flags")"
      fi
      continue
    fi
    if [ -n "$max_runs" ] && [ "$started" -ge "$max_runs" ]; then
      echo "results: --max-runs $max_runs reached"; write_report || true; exit 0
    fi
    started=$((started + 1))
    mkdir -p "$(dirname "$dir")"
    # shellcheck disable=SC2206
    extra=($flags)
    case "$state" in
      partial) args=(run --resume "$dir" --steps "$steps" "${extra[@]}") ;;
      *) args=(run --env "$env" --preset "$preset" --seed "$seed" --steps "$steps"
               --out "$dir" --overwrite "${extra[@]}")
         [ "$base" = serial ] && args+=(--serial) ;;
    esac
    rm -f "$dir/.finished"
    echo "results: $(date -u +%H:%M:%S) $env $name to $steps steps ($state): $td3d ${args[*]}"
    t0=$(date +%s)
    mkdir -p "$dir"
    "$td3d" "${args[@]}" </dev/null >>"$dir.log" 2>&1 &
    child=$!
    rc=0
    wait "$child" || rc=$?
    # a signal interrupts wait; wait again for the run to finish checkpointing
    while kill -0 "$child" 2>/dev/null; do wait "$child" || rc=$?; done
    child=""
    if [ "$stop" = 1 ]; then
      echo "results: stopped; $env $name continues with the next bench/results.sh"
      exit 130
    fi
    if [ "$rc" != 0 ]; then
      echo "results: $env $name failed (exit $rc); last lines of $dir.log:" >&2
      tail -n 5 "$dir.log" >&2
      exit 1
    fi
    reached=$(last_steps "$dir")
    if [ "$reached" -lt "$steps" ]; then
      echo "results: $env $name ended at $reached of $steps steps; see $dir.log" >&2
      exit 1
    fi
    touch "$dir/.finished"
    collect "$dir" "$dest" "$env" "$preset" "$mode" "$seed" "$steps" "$(threads_of "$flags")"
    echo "results: $(date -u +%H:%M:%S) $env $name done in $(( $(date +%s) - t0 )) s: last eval $(
      tail -n 1 "$dir/progress.csv" | cut -d, -f4)"
    write_report || true
  done
done <"$matrix"
[ "$list" = 1 ] || write_report || true
