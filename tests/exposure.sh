#!/bin/bash
# Secure by default, with real `td3d learner` processes (ports 23340-23345; 0.0.0.0 is bound
# only on those, and each learner is stopped as soon as it has been checked):
#  1. --bind 0.0.0.0 without --curve-key or --insecure is refused before anything binds (exit
#     1), the message naming both ways out; no run directory is made.
#  2. --bind 0.0.0.0 --insecure starts with the INSECURE warning line, and /metrics says
#     td3d_insecure 1, /status security.insecure true.
#  3. The status server on 0.0.0.0 (--status-bind 0.0.0.0:PORT, the sockets on loopback)
#     starts with a warning that it serves the configuration and the run id to anyone.
# usage: exposure.sh TD3D_BINARY
set -u
td3d=$1
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init
ports=(--experience-port=23340 --weights-port=23341 --control-port=23342)
status=23345
common=(--steps=100000000 --hidden=16,16 --batch=16 --quiet)

# Waits (10 s at most) for the learner's status server to answer /metrics on 127.0.0.1 with
# the learner's first snapshot (before it, the server shows an empty one: no run id).
wait_up() {
  for _ in $(seq 1 100); do
    http_get $status /metrics 2>/dev/null | grep -q 'td3d_run_info{run_id="[0-9a-f]\{16\}"' &&
      return 0
    kill -0 "$1" 2>/dev/null || fail "the learner exited: $(cat "$2")"
    sleep 0.1
  done
  fail "the learner's status server did not answer: $(cat "$2")"
}

# 1. refused
"$td3d" learner --bind=0.0.0.0 "${ports[@]}" --status-bind=127.0.0.1:$status "${common[@]}" \
  --out="$dir/refused" >"$dir/refused.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "--bind 0.0.0.0 without keys: exit $rc, expected 1"
grep -q "would bind 0.0.0.0 without CURVE" "$dir/refused.log" &&
  grep -q -- "--curve-key" "$dir/refused.log" && grep -q -- "--insecure" "$dir/refused.log" ||
  fail "the refusal does not say why and how: $(cat "$dir/refused.log")"
[ ! -e "$dir/refused" ] || fail "a refused learner made its run directory"
echo "refused: $(cat "$dir/refused.log")"

# 2. --insecure: the warning line and the flag in /metrics and /status
start_bg "$dir/insecure.log" "$td3d" learner --bind=0.0.0.0 --insecure "${ports[@]}" \
  --status-bind=127.0.0.1:$status "${common[@]}" --out="$dir/insecure"
learner=${pids[-1]}
wait_up "$learner" "$dir/insecure.log"
insecure=$(metric td3d_insecure $status)
json=$(http_get $status /status | tr -d ' \n')
kill "$learner"
wait_exit "$learner" 30 >/dev/null
grep -q "INSECURE: the learner's sockets bind 0.0.0.0 without CURVE (--insecure)" "$dir/insecure.log" ||
  fail "no INSECURE warning line: $(cat "$dir/insecure.log")"
[ "$insecure" = 1 ] || fail "td3d_insecure is '$insecure', expected 1"
echo "$json" | grep -q '"insecure":true' || fail "/status does not say insecure: $json"
echo "insecure: $(grep INSECURE "$dir/insecure.log")"

# 3. the status server on every interface
start_bg "$dir/status.log" "$td3d" learner --bind=127.0.0.1 "${ports[@]}" \
  --status-bind=0.0.0.0:$status "${common[@]}" --out="$dir/status"
learner=${pids[-1]}
wait_up "$learner" "$dir/status.log"
kill "$learner"
wait_exit "$learner" 30 >/dev/null
grep -q "the status server binds 0.0.0.0: it serves the run's configuration and run id" "$dir/status.log" ||
  fail "no warning for a status server on 0.0.0.0: $(cat "$dir/status.log")"
echo "status: $(grep 'status server binds' "$dir/status.log")"
echo ok
