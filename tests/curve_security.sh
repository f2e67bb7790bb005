#!/bin/bash
# CURVE security with real processes: keys from `td3d keygen`; a learner with --curve-key and
# --curve-authorized trains with its authorized actor, while an actor with an unknown key and
# one without CURVE each exit 1 with the reason and deliver nothing (the learner's actor
# table holds the authorized actor alone; /metrics counts the refusals); `td3d status` and
# /status say security is on. Bad key flags are refused before anything starts.
# usage: curve_security.sh TD3D_BINARY
set -u
td3d=$1
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init

keys=$dir/keys
mkdir -p "$keys/authorized"
for k in learner good intruder; do
  "$td3d" keygen "$k" --dir "$keys" >/dev/null || fail "td3d keygen $k"
done
cp "$keys/good.pub" "$keys/authorized/"
[ "$(stat -c %a "$keys/good.key")" = 600 ] || fail "good.key is not mode 600"

base=28970 status=28973
curve_learner=(--curve-key="$keys/learner.key" --curve-authorized="$keys/authorized")
start_learner $base $status "${curve_learner[@]}" --log-level=info
start_actor $base --name=good/0 --curve-key="$keys/good.key" --curve-server="$keys/learner.pub"
wait_metric td3d_updates_total $status 300

# an unknown key and no CURVE at all: refused with the reason, exit 1 (an actor let in would
# run on: the timeout ends it, and the check fails)
timeout 20 "$td3d" actor --experience-port=$base --weights-port=$((base + 1)) --control-port=$((base + 2)) \
  --name=intruder/0 --curve-key="$keys/intruder.key" --curve-server="$keys/learner.pub" \
  >"$dir/intruder.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "refused this actor's CURVE key" "$dir/intruder.out" ||
  fail "unauthorized actor: exit $rc, $(cat "$dir/intruder.out")"
timeout 20 "$td3d" actor --experience-port=$base --weights-port=$((base + 1)) --control-port=$((base + 2)) \
  --name=plain/0 >"$dir/plain.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "the learner uses CURVE security" "$dir/plain.out" ||
  fail "actor without CURVE: exit $rc, $(cat "$dir/plain.out")"

wait_metric td3d_auth_refused_total $status 2
# the actor without CURVE never got past the handshake: counted as such
wait_metric td3d_handshake_failures_total $status 1
[ "$(metric td3d_curve_security $status)" = 1 ] || fail "td3d_curve_security is not 1"
[ "$(metric td3d_actors_connected $status)" = 1 ] ||
  fail "actors connected: $(metric td3d_actors_connected $status), expected the authorized one alone"
http_get $status /status | grep -q '"security": *{[^}]*"curve": *true' ||
  http_get $status /status | tr -d ' \n' | grep -q '"security":{"curve":true' ||
  fail "/status does not say CURVE security is on"
table=$("$td3d" status 127.0.0.1:$status 2>&1)
echo "$table" | grep -q "good/0" || fail "td3d status: no good/0 in $table"
echo "$table" | grep -q "intruder\|plain/0" && fail "a refused actor is in the actor table: $table"
echo "$table" | grep -q "security *CURVE" || fail "td3d status does not show CURVE security: $table"
before=$(metric td3d_updates_total $status)
wait_metric td3d_updates_total $status $((before + 200)) # the authorized actor trains on
echo "CURVE: authorized actor trains ($(metric td3d_updates_total $status) updates); unknown key and plain actor refused ($(metric td3d_auth_refused_total $status) refusals, $(metric td3d_handshake_failures_total $status) failed handshakes)"

# bad key flags are refused before anything starts
"$td3d" learner --curve-key="$keys/learner.key" --status-bind=off --out="$dir/x" >"$dir/e1" 2>&1
[ $? -ne 0 ] && grep -q "needs --curve-authorized" "$dir/e1" || fail "learner without --curve-authorized: $(cat "$dir/e1")"
"$td3d" learner --curve-key="$keys/learner.pub" --curve-authorized="$keys/authorized" \
  --status-bind=off --out="$dir/x" >"$dir/e2" 2>&1
[ $? -ne 0 ] && grep -q "no secret-key line" "$dir/e2" || fail "learner with a .pub as its key: $(cat "$dir/e2")"
"$td3d" actor --curve-key="$keys/good.key" >"$dir/e3" 2>&1
[ $? -ne 0 ] && grep -q "needs both --curve-key" "$dir/e3" || fail "actor without --curve-server: $(cat "$dir/e3")"
echo "PASS"
