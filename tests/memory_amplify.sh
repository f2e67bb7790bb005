#!/bin/bash
# Memory amplification on the learner's sockets, against a live `td3d learner` training with
# one actor.
#  1. Experience: a peer sends 70 MB frames over two connections (40 of them, 2.8 GB). Before,
#     ZeroMQ accepted frames up to twice a 64 MiB limit and queued 16 a connection (measured
#     here: the learner's peak RSS grew by 118 MB while training; 2.4 GB when its ingest was
#     waiting). Now the frame limit follows the env's rows (a few hundred KiB for Pendulum)
#     and ZeroMQ drops a connection whose frame is over it before holding it: the peak RSS
#     stays within 1 MB of its resting size, and training goes on.
#  2. Weights: XSUB peers send 100 MB frames to the weights socket (PUB), whose only inbound
#     messages are subscriptions of a few bytes. Before, it had no receive limit: the peak RSS
#     grew by hundreds of MB (300 MB frames: 22 MB -> 666 MB). Now ZeroMQ drops a connection
#     whose frame is over LEARNER_SUBSCRIPTION_MAX and queues few messages a connection: the
#     peak stays within 50 MB, training goes on and the actor still gets weights.
# Needs python3-zmq (tools/deps.sh installs it); skipped (77) without.
set -u
td3d=$1
py=""
for p in python3 /usr/bin/python3; do "$p" -c 'import zmq' 2>/dev/null && { py=$p; break; }; done
[ -n "$py" ] || { echo "SKIP: no python3 with zmq (Debian: python3-zmq; sh tools/deps.sh installs it)"; exit 77; }
source "$(dirname "$0")/status_lib.sh"
status_lib_init
base=29794 status=29797
start_learner $base $status --replay-ratio 1
learner=${pids[-1]}
start_actor $base --name amplify/0
wait_metric td3d_updates_total $status 50
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$learner/status)
"$py" - "$base" <<'PY' || fail "the attacker failed"
import sys, time, zmq
port = int(sys.argv[1])
ctx = zmq.Context()
socks = []
for _ in range(2):
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDTIMEO, 2000)
    s.connect("tcp://127.0.0.1:%d" % port)
    socks.append(s)
frame = b"\x0a" * (70 << 20)
sent = 0
t0 = time.time()
for i in range(40):
    try:
        socks[i % 2].send(frame, copy=False)
        sent += 1
    except zmq.Again:
        pass
time.sleep(3)
print("attacker: %d of 40 frames of 70 MB queued in %.1f s" % (sent, time.time() - t0))
for s in socks:
    s.close()
ctx.term()
PY
peak=$(awk '/VmHWM/ {print $2}' /proc/$learner/status)
kill -0 "$learner" 2>/dev/null || fail "the learner died"
u1=$(metric td3d_updates_total $status)
sleep 2
u2=$(metric td3d_updates_total $status)
echo "experience: learner RSS before ${rss_before} kB, peak ${peak} kB; updates ${u1} -> ${u2}"
[ "$peak" -lt $((rss_before + 50000)) ] || fail "the learner's peak RSS grew by more than 50 MB (experience)"
[ "${u2%.*}" -gt "${u1%.*}" ] || fail "training stopped"

# 2. the weights socket: big frames, then big subscriptions (each a topic the PUB socket would
# keep in its subscription trie, about 12 bytes of memory a byte)
v1=$(metric td3d_weights_version $status)
"$py" - "$((base + 1))" <<'PY' || fail "the attacker failed"
import os, sys, time, zmq
port = int(sys.argv[1])
ctx = zmq.Context()
socks = []
for _ in range(2):
    s = ctx.socket(zmq.XSUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDTIMEO, 2000)
    s.connect("tcp://127.0.0.1:%d" % port)
    socks.append(s)
time.sleep(0.5)
frame = b"\x0a" * (100 << 20)
sent = 0
t0 = time.time()
for i in range(6):
    try:
        socks[i % 2].send(frame)
        sent += 1
    except zmq.Again:
        pass
subs = 0
for i in range(8):
    try:
        socks[i % 2].send(b"\x01" + os.urandom(512 << 10))
        subs += 1
    except zmq.Again:
        pass
time.sleep(3)
print("attacker: %d of 6 frames of 100 MB and %d of 8 subscriptions of 512 KB sent to the "
      "weights socket in %.1f s" % (sent, subs, time.time() - t0))
sys.stdout.flush()
os._exit(0)  # the XSUB sockets' own subscription tries are deep: no teardown
PY
peak2=$(awk '/VmHWM/ {print $2}' /proc/$learner/status)
kill -0 "$learner" 2>/dev/null || fail "the learner died"
u3=$(metric td3d_updates_total $status)
sleep 2
u4=$(metric td3d_updates_total $status)
v2=$(metric td3d_weights_version $status)
echo "weights: learner RSS before ${rss_before} kB, peak ${peak2} kB; updates ${u3} -> ${u4}; weights version ${v1} -> ${v2}"
[ "$peak2" -lt $((rss_before + 50000)) ] || fail "the learner's peak RSS grew by more than 50 MB (weights)"
[ "${u4%.*}" -gt "${u3%.*}" ] || fail "training stopped"
[ "${v2%.*}" -gt "${v1%.*}" ] || fail "no new weights were published"
echo ok
