#!/bin/bash
# Two hosts on a virtual network (network namespaces joined by a veth pair, 10.234.0.1 and
# .2): a learner with CURVE security on host L and two actors and the evaluator on host A,
# which reach it by its address only. Checked: the actors join from the other host and
# training goes on with evaluations while A's link drops 5% of packets each way (iptables
# statistic); the link is then cut for longer than the lease, the learner expires the
# actors, and after the link is back they rejoin by themselves and training goes on.
# Needs root, ip netns and iptables; otherwise it says why and skips (exit 77).
# usage: multihost.sh TD3D_BINARY
set -u
td3d=$1
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null && command -v nsenter >/dev/null && command -v iptables >/dev/null ||
  skip "needs ip (iproute2), nsenter and iptables"
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init

L=td3dL$$ A=td3dA$$ VL=td3dl$$ VA=td3da$$
cleanup_net() {
  ip netns del "$L" 2>/dev/null
  ip netns del "$A" 2>/dev/null
}
trap 'status_lib_cleanup; cleanup_net' EXIT
ip netns add "$L" 2>/dev/null && ip netns add "$A" 2>/dev/null || skip "cannot create network namespaces here"
ip -n "$L" link set lo up && ip -n "$A" link set lo up &&
  ip link add "$VL" netns "$L" type veth peer name "$VA" netns "$A" &&
  ip -n "$L" addr add 10.234.0.1/30 dev "$VL" && ip -n "$A" addr add 10.234.0.2/30 dev "$VA" &&
  ip -n "$L" link set "$VL" up && ip -n "$A" link set "$VA" up || fail "cannot set up the veth link"
onL() { nsenter --net=/run/netns/"$L" "$@"; }
onA() { nsenter --net=/run/netns/"$A" "$@"; }

keys=$dir/keys
mkdir -p "$keys/authorized"
for k in learner hostA; do "$td3d" keygen "$k" --dir "$keys" >/dev/null || fail "keygen $k"; done
cp "$keys/hostA.pub" "$keys/authorized/"

status=28990
start_bg "$dir/learner.log" nsenter --net=/run/netns/"$L" "$td3d" learner --bind=10.234.0.1 \
  --status-bind=127.0.0.1:$status --steps=100000000 --start-steps=500 --hidden=64,64 --batch=64 \
  --eval-every=1000 --eval-episodes=2 --lease-ms=2000 --out="$dir/run" --quiet --log-level=info \
  --curve-key="$keys/learner.key" --curve-authorized="$keys/authorized"
actor_flags=(--learner=10.234.0.1 --curve-key="$keys/hostA.key" --curve-server="$keys/learner.pub"
  --learner-timeout-ms=2000 --log-level=info)
start_bg "$dir/actor-0.log" nsenter --net=/run/netns/"$A" "$td3d" actor "${actor_flags[@]}" --name=hostA/0
start_bg "$dir/actor-1.log" nsenter --net=/run/netns/"$A" "$td3d" actor "${actor_flags[@]}" --name=hostA/1
start_bg "$dir/eval.log" nsenter --net=/run/netns/"$A" "$td3d" actor "${actor_flags[@]}" --eval --name=hostA/eval

# the status server is on host L's loopback: ask from there
lmetric() {
  onL bash -c '. "$1"; metric "$2" "$3"' _ "$(dirname "$0")/status_lib.sh" "$1" "$2"
}
lwait() { # NAME MIN SECONDS
  local v
  for _ in $(seq 1 $(($3 * 2))); do
    v=$(lmetric "$1" $status)
    [ -n "$v" ] && [ "${v%.*}" -ge "$2" ] && return 0
    sleep 0.5
  done
  fail "$1 did not reach $2 within $3 s (last: ${v:-none})"
}
lwait td3d_actors_connected 3 60
lwait td3d_updates_total 500 60
echo "host A's 2 actors and evaluator joined the learner on host L (CURVE), training started"

# 5% loss each way on A's link
onA iptables -A OUTPUT -o "$VA" -m statistic --mode random --probability 0.05 -j DROP &&
  onA iptables -A INPUT -i "$VA" -m statistic --mode random --probability 0.05 -j DROP ||
  skip "iptables statistic match unavailable"
u0=$(lmetric td3d_updates_total $status) e0=$(lmetric td3d_evaluations_total $status)
lwait td3d_updates_total $((u0 + 2000)) 90
lwait td3d_evaluations_total $((e0 + 2)) 90
dropped=$(onA iptables -L OUTPUT -v -x -n | awk '/statistic/ { print $1 }')
echo "with 5% packet loss: +$(($(lmetric td3d_updates_total $status) - u0)) updates, evaluations go on ($dropped packets dropped by A)"
onA iptables -F

# the link cut for longer than the lease: actors expire, then rejoin by themselves
onA ip link set "$VA" down
for _ in $(seq 1 40); do
  [ "$(lmetric td3d_actors_connected $status)" = 0 ] && break
  sleep 0.25
done
[ "$(lmetric td3d_actors_connected $status)" = 0 ] || fail "the learner still counts actors after the link was cut"
sleep 3
onA ip link set "$VA" up
lwait td3d_actors_connected 3 60
u1=$(lmetric td3d_updates_total $status)
lwait td3d_updates_total $((u1 + 500)) 60
grep -q "registering again\|no longer knows this actor" "$dir/actor-0.log" ||
  fail "actor 0 did not re-register after the cut"
echo "link cut: leases expired, all 3 rejoined after it came back, training goes on ($(lmetric td3d_updates_total $status) updates)"
[ "$(lmetric td3d_auth_refused_total $status)" = 0 ] || fail "the authorized actors had refusals"
echo "PASS"
