#!/bin/sh
# `td3d eval --record FILE` on a Pendulum-v1 policy: FILE holds the header and one row per
# step of the first episode (200), 8 columns (step, obs_0..2, action_0, reward, terminal,
# truncated), steps 0..199, truncated on the last row only, and the rewards add up to the
# return eval printed for episode 1 (relative 1e-3). No temporary file is left beside it.
# usage: eval_record.sh TD3D POLICY WORK_DIR
set -u
td3d=$1 policy=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"
csv="$work/trajectory.csv"
out=$("$td3d" eval --policy "$policy" --episodes 2 --record "$csv" 2>&1) || fail "eval failed: $out"
echo "$out"
ret=$(echo "$out" | sed -n 's/^episode 1: return \(-\{0,1\}[0-9.]*\)$/\1/p')
[ -n "$ret" ] || fail "no return printed for episode 1"
echo "$out" | grep -q "trajectory (200 steps): $csv" || fail "eval does not say where the trajectory is"

header=$(head -n 1 "$csv")
[ "$header" = "step,obs_0,obs_1,obs_2,action_0,reward,terminal,truncated" ] ||
  fail "header is '$header'"
lines=$(wc -l <"$csv")
[ "$lines" -eq 201 ] || fail "$lines lines, expected 201"
awk -F, -v ret="$ret" '
  NR == 1 { next }
  NF != 8 { printf "line %d has %d columns\n", NR, NF; bad = 1 }
  $1 != NR - 2 { printf "line %d: step %s\n", NR, $1; bad = 1 }
  $7 != 0 { printf "line %d: terminal %s on Pendulum\n", NR, $7; bad = 1 }
  $8 != (NR == 201 ? 1 : 0) { printf "line %d: truncated %s\n", NR, $8; bad = 1 }
  { sum += $6 }
  END {
    d = sum - ret; if (d < 0) d = -d
    r = ret < 0 ? -ret : ret
    if (d > 1e-3 * r + 1e-3) { printf "rewards sum to %.6f, eval printed %s\n", sum, ret; bad = 1 }
    else printf "rewards sum to %.6f, eval printed %s\n", sum, ret
    exit bad
  }' "$csv" || fail "the trajectory does not match"
leftover=$(find "$work" -name '*.tmp.*')
[ -z "$leftover" ] || fail "temporary file left: $leftover"
echo ok
