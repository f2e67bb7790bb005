#!/bin/bash
# End-to-end check of the Swarm stack (docker-compose.yml + deploy/swarm.yml) on two Docker
# engines (run by hand, as root; the test suite cannot start containers). With
# tools/docker_sandbox.sh it starts two private engines, each in a network namespace of its
# own (node 1 builds td3d:latest through its apt proxy; node 2 runs only loaded images),
# joins the namespaces by a veth link, copies the image to node 2 (docker save | docker load),
# makes a Swarm (init on node 1 over the link, join from node 2), labels node 1
# td3d.runs=yes (the learner's volume) and td3d.actors=no, and deploys the stack
# (TD3D_INSECURE=1, which deploy/swarm.yml needs said; with --curve, 0): the learner must run
# on node 1 and the actors and the evaluator on node 2 only. Then:
#  1. all join; training goes on (a step budget and no target, as tools/compose_check.sh);
#  2. node 2's engine is stopped (its actors die with it; the manager sees the node down)
#     and started again: Swarm starts the actors again there, they rejoin, training goes on;
#  3. the learner's container is killed (docker kill): Swarm starts a new one on node 1,
#     which continues the same run from its checkpoint on the volume (--continue) and the
#     actors rejoin it; training goes on;
#  4. the learner spends its budget and exits 0, the actors and the evaluator exit 0 and stay
#     down (tasks Complete); an evaluation in progress.csv reached the target return.
# With --curve it adds deploy/swarm-curve.yml (keys from `td3d keygen` in the image, handed to
# the services as Docker secrets) and checks that the learner says CURVE is on and that an
# actor with a key it does not know, started on node 2 on the stack's network, is refused.
# Prints what it sees; the last line is one JSON object (seconds: build_s the image build,
# copy_s the image copy, swarm_s the Swarm made; joined_s, back_s (node 2's actors rejoined
# after its engine restart), resumed_s (the killed learner answered again), continued_s,
# ended_s since the deploy; node2_down_s how long node 2's engine was away; total_s).
# Exit 0 when every step passed. At exit it removes the stack, leaves the Swarm and stops the
# engines, namespaces and links it started (tools/docker_sandbox.sh stop: by pid file; the
# engines' images stay in /var/lib/NAME for the next run); --keep leaves all of it up.
#
# Settings: TD3DSWARM_NAMES (td3sw1 td3sw2) and TD3DSWARM_NETS (10.201.1 10.201.2) name the
# engines and their host veth networks; TD3DOCK_LINK_NET (10.202.0) is the link between them.
# usage: tools/swarm_check.sh [--actors N] [--seed S] [--steps N] [--target R]
#                             [--timeout SECONDS] [--curve] [--keep]
set -u
# shellcheck source=tools/check_lib.sh
. "$(dirname "$0")/check_lib.sh" || exit 2
check_name=swarm_check check_poll_s=2
actors=2 seed=1 steps=20000 target=-200 timeout=900 keep=0 curve=0
check_options -- "$@"
cd "$(dirname "$0")/.." || exit 2
[ "$(id -u)" = 0 ] || { echo "swarm_check: needs root (network namespaces, dockerd)" >&2; exit 2; }
check_tools docker dockerd python3 ip nsenter
read -r name1 name2 <<<"${TD3DSWARM_NAMES:-td3sw1 td3sw2}"
read -r net1 net2 <<<"${TD3DSWARM_NETS:-10.201.1 10.201.2}"
link=${TD3DOCK_LINK_NET:-10.202.0}
addr1=$link.1 addr2=$link.2
sock1=unix:///run/$name1.sock sock2=unix:///run/$name2.sock
stack=td3dcheck
t0=$(date +%s)
t_up=$t0
run_dir=""
work=$(mktemp -d /tmp/swarm_check.XXXXXX)

sandbox1() { TD3DOCK_NAME=$name1 TD3DOCK_NET=$net1 TD3DOCK_LINK_NET=$link tools/docker_sandbox.sh "$@"; }
sandbox2() { TD3DOCK_NAME=$name2 TD3DOCK_NET=$net2 TD3DOCK_BUILDS=0 tools/docker_sandbox.sh "$@"; }
d1() { DOCKER_HOST=$sock1 docker "$@"; }
d2() { DOCKER_HOST=$sock2 docker "$@"; }

cleanup() {
  if [ "$keep" = 0 ]; then
    d1 stack rm "$stack" >/dev/null 2>&1
    sleep 5
    d2 swarm leave --force >/dev/null 2>&1
    d1 swarm leave --force >/dev/null 2>&1
    d1 volume rm "${stack}_runs" >/dev/null 2>&1
    sandbox2 stop | sed 's/^/  /'
    sandbox1 stop | sed 's/^/  /'
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "-- tasks:"; d1 stack ps "$stack" --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' 2>&1 | head -20
  echo "-- learner log:"; d1 service logs --tail 20 "${stack}_learner" 2>&1 | tail -20
  echo "{\"check\": \"swarm\", \"passed\": false, \"failed_at\": \"$1\", \"curve\": $(curve_json)}"
  exit 1
}
learner_cid() { d1 ps -q -f "name=${stack}_learner." -f status=running | head -1; }
status_json() {
  local c
  c=$(learner_cid)
  [ -n "$c" ] || return 1
  d1 exec "$c" td3d status --json 2>/dev/null
}
# node ID of each running task of service $1 (one a line)
task_nodes() {
  local t
  for t in $(d1 service ps -q -f desired-state=running "${stack}_$1"); do
    d1 inspect -f '{{if eq .Status.State "running"}}{{.NodeID}}{{end}}' "$t"
  done | sed '/^$/d'
}
# waits (at most $2 s) until service $1 has $3 running tasks
wait_running() {
  local deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(task_nodes "$1" | grep -c .)" = "$3" ] && return 0
    sleep 2
  done
  return 1
}
all_joined=$(all_joined_expr)

echo "== two engines: $name1 ($net1.0/24, builds) and $name2 ($net2.0/24), linked $addr1 <-> $addr2"
sandbox1 start | sed 's/^/  /'
d1 version >/dev/null 2>&1 || fail engines "node 1's engine ($name1) did not start"
sandbox2 start | sed 's/^/  /'
d2 version >/dev/null 2>&1 || fail engines "node 2's engine ($name2) did not start"
sandbox1 link "$name2" | sed 's/^/  /'
# a closed port on node 2 answers with a refusal when the link works (a timeout when not)
nsenter --net="/run/netns/$name1" timeout 5 bash -c "exec 3<>/dev/tcp/$addr2/1" 2>&1 | grep -q "refused" ||
  fail engines "node 1 does not reach node 2 at $addr2 over the link"

echo "== the image on node 1 (deploy/Dockerfile), copied to node 2"
d1 image inspect debian:bookworm-slim >/dev/null 2>&1 || fail build "node 1 has no base image"
DOCKER_BUILDKIT=0 d1 build -f deploy/Dockerfile -t td3d:latest \
  --build-arg "http_proxy=http://$net1.1:3142" . >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log"; fail build "the image did not build"; }
build_s=$(($(date +%s) - t0))
t=$(date +%s)
id1=$(d1 image inspect -f '{{.Id}}' td3d:latest)
if [ "$(d2 image inspect -f '{{.Id}}' td3d:latest 2>/dev/null)" != "$id1" ]; then
  d1 save td3d:latest | d2 load >/dev/null || fail copy "docker save | docker load to node 2 failed"
fi
[ "$(d2 image inspect -f '{{.Id}}' td3d:latest 2>/dev/null)" = "$id1" ] || fail copy "node 2 has another td3d:latest"
copy_s=$(($(date +%s) - t))
echo "image $id1 built (${build_s} s) and on node 2 (${copy_s} s)"

echo "== the Swarm: init on node 1 ($addr1), join from node 2 ($addr2)"
t=$(date +%s)
d2 swarm leave --force >/dev/null 2>&1
d1 swarm leave --force >/dev/null 2>&1
# overlay subnets from a pool of their own, apart from the namespaces' addresses
d1 swarm init --advertise-addr "$addr1" --listen-addr "$addr1:2377" \
  --default-addr-pool 10.210.0.0/16 >/dev/null || fail swarm "docker swarm init failed"
token=$(d1 swarm join-token -q worker)
d2 swarm join --token "$token" --advertise-addr "$addr2" --listen-addr "$addr2:2377" "$addr1:2377" \
  >/dev/null || fail swarm "node 2 could not join"
node1=$(d1 info -f '{{.Swarm.NodeID}}') node2=$(d2 info -f '{{.Swarm.NodeID}}')
d1 node update --label-add td3d.runs=yes --label-add td3d.actors=no "$node1" >/dev/null ||
  fail swarm "cannot label node 1"
swarm_s=$(($(date +%s) - t))
echo "node 1 $node1 (manager; labels td3d.runs=yes td3d.actors=no), node 2 $node2 (worker) (${swarm_s} s)"

files=(-c docker-compose.yml -c deploy/swarm.yml)
if [ "$curve" = 1 ]; then
  echo "== CURVE keys (td3d keygen in the image) as Docker secrets (deploy/swarm-curve.yml)"
  export TD3D_KEYS=$work/keys
  check_keys "$TD3D_KEYS" d1
  files+=(-c deploy/swarm-curve.yml)
fi

for v in $(env | sed -n 's/^\(TD3D_[A-Z_]*\)=.*/\1/p'); do [ "$v" = TD3D_KEYS ] || unset "$v"; done
export TD3D_RUN=swarm-check TD3D_SEED=$seed TD3D_STEPS=$steps TD3D_EVAL_EVERY=1000 \
  TD3D_CHECKPOINT_EVERY=2 TD3D_ACTORS=$actors
# deploy/swarm.yml needs the choice said: the plain stack runs open on purpose (its nodes are
# private namespaces here), the CURVE one with keys
if [ "$curve" = 1 ]; then export TD3D_INSECURE=0; else export TD3D_INSECURE=1; fi
echo "== docker stack deploy ${files[*]} $stack (actors $actors, $steps env steps, no target)"
t_up=$(date +%s)
d1 stack deploy --resolve-image never "${files[@]}" "$stack" >"$work/deploy.log" 2>&1 ||
  fail deploy "docker stack deploy failed: $(tail -5 "$work/deploy.log")"
wait_running learner 120 1 || fail deploy "the learner did not start within 120 s"
wait_status "$all_joined" 180 || fail join "the $actors actors and the evaluator did not all join within 180 s"
joined=$(elapsed)
run_id=$(status_get "d['run_id']")
[ "$(task_nodes learner)" = "$node1" ] || fail placement "the learner runs on $(task_nodes learner), not node 1"
for s in actor evaluator; do
  task_nodes "$s" | grep -qv "^$node2\$" && fail placement "a $s task runs outside node 2"
done
[ "$(task_nodes actor | grep -c "^$node2\$")" = "$actors" ] || fail placement "not all $actors actors on node 2"
echo "run $run_id: learner on node 1, $actors actors and the evaluator on node 2, all joined (${joined} s since deploy)"
if [ "$curve" = 1 ]; then
  [ "$(status_get "d['security']['curve']")" = True ] || fail curve "the learner does not say CURVE is on"
  intruder=$(DOCKER_HOST=$sock2 timeout 60 docker run --rm --network "${stack}_default" -v "$TD3D_KEYS:/keys:ro" td3d:latest \
    actor --learner learner --curve-key /keys/intruder.key --curve-server /keys/learner.pub 2>&1)
  echo "$intruder" | grep -q "refused this actor's CURVE key" ||
    fail curve "an actor with an unknown key was not refused: $(echo "$intruder" | tail -3)"
  echo "CURVE on; an actor with an unknown key on node 2: $(echo "$intruder" | grep "refused this actor's CURVE key" | tail -1 | sed 's/.*td3d actor: //')"
fi
wait_status "d['counters']['env_steps'] >= 2000" 300 || fail train "training did not pass 2000 env steps"
echo "training: $(status_get "d['counters']['env_steps']") env steps ($(elapsed) s since deploy)"

echo "== node 2's engine stopped and started again"
before=$(status_get "d['counters']['env_steps']")
t=$(date +%s)
sandbox2 engine-stop | sed 's/^/  /'
deadline=$(($(date +%s) + 120))
until [ "$(d1 node inspect -f '{{.Status.State}}' "$node2")" = down ]; do
  [ "$(date +%s)" -ge "$deadline" ] && fail node2 "the manager did not see node 2 down within 120 s"
  sleep 2
done
echo "the manager sees node 2 down ($(($(date +%s) - t)) s after the stop); the learner has $(status_get "sum(a['active'] for a in d['actors'])") active processes"
sandbox2 start | sed 's/^/  /'
d2 version >/dev/null 2>&1 || fail node2 "node 2's engine did not start again"
node2_down=$(($(date +%s) - t))
wait_status "$all_joined and d['counters']['env_steps'] >= $before + 1000" 300 ||
  fail node2 "the actors did not come back and train within 300 s of node 2's restart"
back=$(elapsed)
[ "$(task_nodes actor | grep -c "^$node2\$")" = "$actors" ] || fail node2 "not all $actors actors on node 2 after its restart"
echo "node 2 back after ${node2_down} s away; its $actors actors and the evaluator rejoined and training went on past $((before + 1000)) env steps (${back} s since deploy)"

echo "== the learner's container killed"
wait_status "d['checkpoint']['env_steps'] >= $before" 120 || fail checkpoint "no checkpoint past $before env steps"
ckpt_steps=$(status_get "d['checkpoint']['env_steps']")
killed_steps=$(status_get "d['counters']['env_steps']")
old=$(learner_cid)
d1 kill "$old" >/dev/null || fail kill "docker kill of the learner's container failed"
deadline=$(($(date +%s) + 120))
while :; do
  c=$(learner_cid)
  [ -n "$c" ] && [ "$c" != "$old" ] && break
  [ "$(date +%s)" -ge "$deadline" ] && fail restart "Swarm started no new learner container within 120 s"
  sleep 1
done
wait_status "d['run_id'] == '$run_id' and d['checkpoint']['resumed']" 120 ||
  fail restart "the new learner did not continue run $run_id"
resumed=$(elapsed)
[ "$(task_nodes learner)" = "$node1" ] || fail restart "the new learner is not on node 1"
resumed_steps=$(d1 logs "$(learner_cid)" 2>&1 |
  sed -nE 's/.*resumed run [0-9a-f]+ from .*: ([0-9]+) env steps.*/\1/p' | tail -1)
[ -n "$resumed_steps" ] || fail restart "the new learner did not log what it resumed"
[ "$resumed_steps" -ge "$ckpt_steps" ] ||
  fail restart "resumed from $resumed_steps env steps, before the checkpoint of $ckpt_steps it had reported"
tasks=$(d1 service ps -q "${stack}_learner" | grep -c .)
echo "killed at $killed_steps env steps (checkpoint $ckpt_steps); Swarm started a new learner task on node 1 ($tasks tasks), which continued run $run_id from $resumed_steps env steps (${resumed} s since deploy)"
wait_status "$all_joined and d['counters']['env_steps'] >= $killed_steps + 1000" 300 ||
  fail continue "training did not go on past $killed_steps + 1000 env steps with every actor back"
continued=$(elapsed)
echo "all rejoined and training went on past $((killed_steps + 1000)) env steps (${continued} s since deploy)"

echo "== waiting for the step budget ($steps env steps, at most $timeout s)"
deadline=$(($(date +%s) + timeout))
state=""
until [ "$state" = complete ]; do
  state=$(for t in $(d1 service ps -q -f desired-state=shutdown "${stack}_learner") $(d1 service ps -q "${stack}_learner"); do
    d1 inspect -f '{{.Status.State}} {{.Status.ContainerStatus.ExitCode}}' "$t"; done | grep -m1 '^complete' | cut -d' ' -f1)
  [ "$(date +%s)" -ge "$deadline" ] && fail budget "the run did not end within $timeout s"
  sleep 3
done
ended=$(elapsed)
echo "the learner spent its budget and exited 0: task complete (${ended} s since deploy)"
sleep 10
for s in actor evaluator; do
  states=$(for t in $(d1 service ps -q "${stack}_$s"); do
    d1 inspect -f '{{.Status.State}} {{.Status.ContainerStatus.ExitCode}}' "$t"; done)
  echo "$states" | grep -q '^running' && fail end "a $s task still runs after the run"
  n=$(echo "$states" | grep -c '^complete 0')
  [ "$n" -ge 1 ] || fail end "no $s task completed with exit 0 ($(echo $states))"
done
echo "the actors and the evaluator exited 0 and stayed down"
d1 run --rm -v "${stack}_runs:/runs:ro" --entrypoint cat td3d:latest "/runs/$TD3D_RUN/progress.csv" \
  >"$work/progress.csv" || fail target "cannot read progress.csv from the learner's volume"
check_target "$work/progress.csv"
echo "PASS"
echo "{\"check\": \"swarm\", \"passed\": true, \"curve\": $(curve_json), \
\"nodes\": 2, \"actors\": $actors, \"killed_at_env_steps\": $killed_steps, \"checkpoint_env_steps\": $ckpt_steps, \
\"resumed_at_env_steps\": $resumed_steps, \"learner_tasks\": $tasks, \"solved_at_env_steps\": $solved_at, \"best\": $best, \
\"build_s\": $build_s, \"copy_s\": $copy_s, \"swarm_s\": $swarm_s, \"joined_s\": $joined, \"node2_down_s\": $node2_down, \
\"back_s\": $back, \"resumed_s\": $resumed, \"continued_s\": $continued, \"ended_s\": $ended, \
\"total_s\": $(($(date +%s) - t0))}"
