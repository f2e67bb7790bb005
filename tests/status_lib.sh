# Shared by the status tests that run real processes (sourced by bash scripts):
#   status_lib_init            a temporary directory ($dir) and a cleanup that stops, by pid,
#                              every process started through start_bg
#   start_bg LOG CMD...        starts CMD in the background with output to LOG, records its pid
#   start_learner BASE STATUS ARGS...  a learner on ports BASE..BASE+2, status on STATUS
#   start_actor BASE ARGS...   an actor of that learner
#   http_get PORT PATH         the body of GET PATH from 127.0.0.1:PORT (bash's /dev/tcp)
#   fail MESSAGE               prints FAIL and the tail of every log in $dir, exits 1
#   metric NAME PORT           the value of an unlabelled sample of the learner's /metrics
#   wait_metric NAME PORT MIN  waits (60 s at most) until that value is at least MIN, or fails
#   wait_exit PID SECONDS      waits for child PID to exit and returns its status, or fails
# $td3d must name the td3d binary.

status_lib_init() {
  dir=$(mktemp -d)
  pids=()
  trap status_lib_cleanup EXIT
}

status_lib_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}

start_bg() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pids+=($!)
}

start_learner() {
  local base=$1 status=$2
  shift 2
  start_bg "$dir/learner.log" "$td3d" learner --experience-port="$base" \
    --weights-port=$((base + 1)) --control-port=$((base + 2)) --bind=127.0.0.1 \
    --status-bind=127.0.0.1:"$status" --steps=100000000 --start-steps=200 --hidden=32,32 \
    --batch=32 --out="$dir/run" --quiet "$@"
}

start_actor() {
  local base=$1 log
  shift
  log="$dir/actor-${#pids[@]}.log"
  start_bg "$log" "$td3d" actor --experience-port="$base" --weights-port=$((base + 1)) \
    --control-port=$((base + 2)) --log-level=warn "$@"
}

http_get() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  reply=$(cat <&3)
  exec 3<&-
  printf '%s' "${reply#*$'\r\n\r\n'}"
}

fail() {
  echo "FAIL: $*"
  for f in "$dir"/*.log; do echo "== $f"; tail -15 "$f"; done
  exit 1
}

wait_exit() {
  local waited=0
  while kill -0 "$1" 2>/dev/null; do
    [ "$waited" -ge $(($2 * 10)) ] && fail "process $1 still running after $2 s"
    sleep 0.1
    waited=$((waited + 1))
  done
  wait "$1"
}

metric() { http_get "$2" /metrics 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }

wait_metric() {
  local v
  for _ in $(seq 1 120); do
    v=$(metric "$1" "$2")
    [ -n "$v" ] && [ "${v%.*}" -ge "$3" ] && return 0
    sleep 0.5
  done
  fail "$1 did not reach $3 (last: ${v:-none})"
}
