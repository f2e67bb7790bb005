#!/bin/bash
# Memory amplification on the learner's sockets, against a live `td3d learner` training with
# one actor.
#  1. Experience: a peer sends 70 MB frames over two connections (40 of them, 2.8 GB). Before,
#     ZeroMQ accepted frames up to twice a 64 MiB limit and queued 16 a connection (measured
#     here: the learner's peak RSS grew by 118 MB while training; 2.4 GB when its ingest was
#     waiting). Now the frame limit follows the env's rows (a few hundred KiB for Pendulum)
#     and ZeroMQ drops a connection whose frame is over it before holding it: the peak RSS
#     stays within 1 MB of its resting size, and training goes on.
#  2. Weights: XSUB peers send 100 MB frames to the weights socket, whose only inbound
#     messages are subscribe frames of a few bytes. Before, it had no receive limit: the peak
#     RSS grew by hundreds of MB (300 MB frames: 22 MB -> 666 MB). Now ZeroMQ drops a connection
#     whose frame is over LEARNER_SUBSCRIPTION_MAX and queues few messages a connection: the
#     peak stays within 50 MB, training goes on and the actor still gets weights. (Against
#     the ROUTER of protocol 4 an XSUB's handshake fails: this part now checks that too.)
#  3. Weights: 30,000 distinct 1000-byte frames over 4 XSUB connections (subscriptions to a
#     PUB) and 30,000 over 4 DEALER connections (what a ROUTER reads). The PUB of protocol 3
#     kept every distinct subscription until its connection ended: 14 MB -> 959 MB, training
#     slowed to a crawl. The ROUTER keeps one small entry per subscriber and drops every
#     frame that is not a subscribe frame: the peak stays within 50 MB, training goes on, the
#     actor keeps its weights, and the DEALERs' frames are counted in
#     td3d_weights_frames_refused_total.
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

# 3. the weights socket: 30,000 distinct 1000-byte frames over 4 XSUB connections, then
# 30,000 over 4 DEALER connections; the attacker waits (up to 30 s) for the learner to count
# the DEALERs' frames as refused while their connections are still open
v3=$(metric td3d_weights_version $status)
out=$("$py" - "$((base + 1))" "$status" <<'PY'
import os, sys, time, urllib.request, zmq
port, status = int(sys.argv[1]), int(sys.argv[2])
N, CONNS = 30000, 4
ctx = zmq.Context()

def refused():
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % status, timeout=5).read()
    for line in text.decode().splitlines():
        if line.startswith("td3d_weights_frames_refused_total "):
            return int(float(line.split()[1]))
    return -1

def attack(kind):
    socks = []
    for _ in range(CONNS):
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SNDHWM, 1000)
        if kind == zmq.DEALER:
            s.setsockopt(zmq.IMMEDIATE, 1)  # nothing queued without a completed handshake
        s.connect("tcp://127.0.0.1:%d" % port)
        socks.append(s)
    time.sleep(0.5)
    sent, t0, last = 0, time.time(), time.time()
    pad = os.urandom(1000 - 5)
    while sent < N and time.time() - last < 3 and time.time() - t0 < 60:
        s = socks[sent % CONNS]
        try:  # byte 0x01 then a distinct 999-byte rest: to a PUB a subscription to a new topic
            s.send(b"\x01" + sent.to_bytes(4, "little") + pad, zmq.NOBLOCK)
            sent += 1
            last = time.time()
        except zmq.Again:
            s.poll(50, zmq.POLLOUT)
    return socks, sent, time.time() - t0

xsubs, xsent, xt = attack(zmq.XSUB)
time.sleep(2)
dealers, dsent, dt = attack(zmq.DEALER)
deadline = time.time() + 30
while time.time() < deadline and 0 <= refused() < dsent:
    time.sleep(0.2)
print("attacker: %d XSUB frames in %.1f s, %d DEALER frames in %.1f s; %d refused"
      % (xsent, xt, dsent, dt, refused()), file=sys.stderr)
print(dsent)
sys.stdout.flush()
os._exit(0)  # the XSUB sockets' own subscription tries are deep: no teardown
PY
) || fail "the attacker failed"
peak3=$(awk '/VmHWM/ {print $2}' /proc/$learner/status)
kill -0 "$learner" 2>/dev/null || fail "the learner died"
u5=$(metric td3d_updates_total $status)
sleep 2
u6=$(metric td3d_updates_total $status)
v4=$(metric td3d_weights_version $status)
refused=$(metric td3d_weights_frames_refused_total $status)
subs=$(metric td3d_weights_subscribers $status)
echo "subscriptions: learner RSS before ${rss_before} kB, peak ${peak3} kB; updates ${u5} -> ${u6}; weights version ${v3} -> ${v4}; frames refused ${refused:-none} of ${out} DEALER frames; subscribers ${subs:-none}"
[ "$peak3" -lt $((rss_before + 50000)) ] || fail "the learner's peak RSS grew by more than 50 MB (subscriptions)"
[ "${u6%.*}" -gt "${u5%.*}" ] || fail "training stopped"
[ "${v4%.*}" -gt "${v3%.*}" ] || fail "no new weights were published"
[ -n "$refused" ] && [ "${refused%.*}" -ge "$out" ] && [ "$out" -ge 29000 ] ||
  fail "the DEALERs' frames were not all refused and counted (${refused:-no metric} of $out)"
[ "${subs%.*}" -ge 1 ] || fail "the actor is not among the weights subscribers"
echo ok
