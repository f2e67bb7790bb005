#!/bin/bash
# Sizes from flags that do not fit in memory are refused with a clear error before anything
# is allocated: `td3d learner` with --batch 65536 --hidden 4096,4096 (about 14 GiB of networks
# and activations) under a 2 GiB address-space limit, and a replay buffer of 1e10 transitions.
# Before, the first aborted (exit 134, out of memory) and the second could be killed later.
set -u
td3d=$1
dir=$(mktemp -d /tmp/td3d_memory_limits.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.out; do echo "--- $f"; cat "$f"; done; exit 1; }
ports=(--experience-port 29791 --weights-port 29792 --control-port 29793 --bind 127.0.0.1
       --status-bind off)

(ulimit -v 2000000; exec "$td3d" learner --env Pendulum-v1 --batch 65536 --hidden 4096,4096 \
  --steps 1000 --out "$dir/a" "${ports[@]}" >"$dir/nets.out" 2>&1)
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "huge networks: exit $rc (want a clean error)"
grep -q "need .* GiB" "$dir/nets.out" && grep -q -- "--batch or --hidden" "$dir/nets.out" ||
  fail "huge networks: no clear reason"
echo "huge networks: exit $rc: $(tail -1 "$dir/nets.out")"

"$td3d" learner --env Pendulum-v1 --replay-capacity 10000000000 --steps 1000000000000 --out "$dir/b" \
  "${ports[@]}" >"$dir/replay.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "huge replay: exit $rc (want a clean error)"
grep -q -- "--replay-capacity" "$dir/replay.out" || fail "huge replay: no clear reason"
echo "huge replay: exit $rc: $(tail -1 "$dir/replay.out")"

echo ok
