# shellcheck shell=bash
# What tools/compose_check.sh and tools/swarm_check.sh share, sourced by both (not run on its
# own): their common options, the tools they need, reading the learner's /status, CURVE keys
# made in the image, and the target check over progress.csv. The caller defines
# `fail STEP MESSAGE` (prints what it sees, the JSON line, exits 1) and `status_json` (the
# learner's `td3d status --json` on standard output), and sets check_name before calling.

# Parses the options both checks take into actors, seed, steps, target, timeout, keep and
# curve (the caller sets their defaults first); a boolean option of the caller's own is
# named after "--" and sets the variable of that name to 1 (`check_options monitoring -- "$@"`).
# --help prints the script's opening comment (up to `set -u`) and exits 0; an unknown option
# exits 2.
check_options() {
  local extra=() f
  while [ $# -gt 0 ] && [ "$1" != -- ]; do extra+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --actors) actors=$2; shift 2 ;;
      --seed) seed=$2; shift 2 ;;
      --steps) steps=$2; shift 2 ;;
      --target) target=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --keep) keep=1; shift ;;
      --curve) curve=1; shift ;;
      -h|--help) sed -n '2,/^set -u$/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
      *)
        for f in "${extra[@]}"; do
          [ "$1" = "--$f" ] && { printf -v "$f" 1; shift; continue 2; }
        done
        echo "$check_name: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
  done
}

# Exits 2, saying which, unless every command named is installed.
check_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$check_name: $tool is not installed" >&2; exit 2; }
  done
}

# seconds since the services started (t_up, the caller's)
elapsed() { echo $(($(date +%s) - t_up)); }

# jq-like access to the learner's /status with python3: status_get 'EXPR over d' prints the
# expression; exits non-zero with nothing printed when there is no status to read
status_get() {
  status_json | python3 -c "import json, sys
try: d = json.load(sys.stdin)
except ValueError: sys.exit(1)
print($1)" 2>/dev/null
}

# waits (at most $2 s, asking every check_poll_s s, 1 unless set) until the python expression
# $1 over /status prints True; returns 1 if it did not
wait_status() {
  local deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(status_get "$1")" = True ] && return 0
    sleep "${check_poll_s:-1}"
  done
  return 1
}

# a python expression over /status: all $actors actors and the evaluator are active
all_joined_expr() {
  echo "sum(a['active'] and a['role'] == 'actor' for a in d['actors']) == $actors and \
sum(a['active'] and a['role'] == 'evaluator' for a in d['actors']) == 1"
}

# Makes CURVE keys for learner, actor and intruder in directory $1 with `td3d keygen` in the
# image, run by the docker command that follows (`check_keys DIR d1`), and authorizes the
# actor's key only (DIR/authorized/actor.pub). Fails the check at step keygen.
check_keys() {
  local dir=$1 k
  shift
  mkdir -p "$dir/authorized"
  for k in learner actor intruder; do
    "$@" run --rm -v "$dir:/keys" td3d:latest keygen "$k" --dir /keys >/dev/null ||
      fail keygen "td3d keygen $k in the image failed"
  done
  cp "$dir/actor.pub" "$dir/authorized/"
}

# Sets solved_at (the env steps of the first evaluation >= $target in progress.csv $1) and
# best (the best evaluation), prints them; fails the check at step target when none reached it.
check_target() {
  solved_at=$(awk -F, -v t="$target" 'NR > 1 && $4 >= t { print $1; exit }' "$1")
  best=$(awk -F, 'NR > 1 && (b == "" || $4 > b) { b = $4 } END { print b }' "$1")
  [ -n "$solved_at" ] || fail target "no evaluation reached $target within $steps env steps (best $best)"
  echo "the first evaluation >= $target came at $solved_at env steps (best $best)"
}

# true or false, for the JSON line: whether --curve was given
curve_json() { [ "$curve" = 1 ] && echo true || echo false; }
