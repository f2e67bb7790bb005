"""The Python client (clients/python/td3d) against the real C learner, on loopback.

usage: client_test.py TEST TD3D EXPORT_REF WORK_DIR PORT_BASE
  train    2 Python actors + 1 Python evaluator on the NumPy Pendulum (pendulum_np.py) train
           `td3d learner --env external:pendulum-np` to an evaluation of -400 or better; no
           heartbeat of theirs is refused (each carries the slot's lease)
  mixed    a C `td3d actor` (built-in Pendulum-v1) and a Python actor (the NumPy one, named
           Pendulum-v1) fill one learner's replay: both slots deliver transitions
  refused  a Python actor with the wrong dims, or the wrong env id, and a Python evaluator
           without the learner's evaluator token, exit 1 with the learner's reason; the
           evaluator with --eval-token-file joins; a second actor under a held name is told to
           retry (retry_after_ms)
  parity   the policy from the broadcast weights (td3d.Policy) gives td3d's actions
           (export_ref, as `td3d eval`) for the same weights to 1e-5 on 1000 observations
Ports PORT_BASE .. PORT_BASE+3 (experience, weights, control, status). Every process started
here is stopped here (by its handle). Exit 0 pass, 1 fail."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import zmq

import td3d

TEST, TD3D, EXPORT_REF, WORK, BASE = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], \
    int(sys.argv[5])
PORTS = ["--experience-port", str(BASE), "--weights-port", str(BASE + 1),
         "--control-port", str(BASE + 2)]
STATUS = f"127.0.0.1:{BASE + 3}"
EXTERNAL = ["--env", "external:pendulum-np", "--obs-dim", "3", "--act-dim", "1",
            "--action-low", "-2", "--action-high", "2"]
procs = []


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    stop_all()
    sys.exit(1)


def start(args, log_name):
    f = open(os.path.join(WORK, log_name), "w")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env=os.environ.copy())
    p.log_path = f.name
    procs.append(p)
    return p


def log_of(p):
    with open(p.log_path) as f:
        return f.read()


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def learner(*extra):
    out = os.path.join(WORK, "run")
    return start([TD3D, "learner", "--bind", "127.0.0.1", "--status-bind", STATUS, "--out", out,
                  "--overwrite", "--checkpoint-every", "0", *PORTS, *extra], "learner.log")


def py_actor(name, factory, *extra, log=None):
    return start([sys.executable, "-m", "td3d.actor", "--learner", "127.0.0.1", *PORTS,
                  "--env-factory", f"pendulum_np:{factory}", "--name", name, *extra],
                 log or name.replace("/", "_") + ".log")


def wait(p, seconds, what):
    try:
        return p.wait(seconds)
    except subprocess.TimeoutExpired:
        fail(f"{what} did not finish within {seconds} s; its log:\n{log_of(p)[-3000:]}")


# the learner's status server is on loopback: never through an http_proxy from the environment
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status():
    try:
        with LOCAL.open(f"http://{STATUS}/status", timeout=2) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None


def progress_rows():
    with open(os.path.join(WORK, "run", "progress.csv")) as f:
        lines = f.read().split("\n")
    head = lines[0].split(",")
    return [dict(zip(head, l.split(","))) for l in lines[1:] if l]


def test_train():
    t0 = time.time()
    lp = learner(*EXTERNAL, "--steps", "20000", "--start-steps", "1000", "--target-return",
                 "-400", "--eval-every", "1000", "--eval-episodes", "10", "--hidden", "64,64")
    py_actor("py/0", "make_env")
    py_actor("py/1", "make_env")
    ev = py_actor("py/eval", "make_env", "--eval")
    rc = wait(lp, 420, "the learner")
    if rc != 0:
        fail(f"the learner exited {rc}:\n{log_of(lp)[-3000:]}")
    rows = progress_rows()
    best = max(float(r["eval_return_mean"]) for r in rows)
    steps = [int(r["env_steps"]) for r in rows]
    print(f"train: {len(rows)} evaluations by the Python evaluator, best {best:.1f}, last at "
          f"{steps[-1]} env steps, {time.time() - t0:.0f} s")
    if best < -400:
        fail(f"best evaluation {best:.1f} < -400 within the budget")
    if wait(ev, 30, "the evaluator") != 0 or "evaluations" not in log_of(ev):
        fail(f"the evaluator did not end cleanly:\n{log_of(ev)[-2000:]}")
    for p in procs[1:3]:
        rc = wait(p, 30, "an actor")
        if rc != 0 or "run over" not in log_of(p):
            fail(f"an actor ended with {rc}:\n{log_of(p)[-2000:]}")
    # every heartbeat carried the slot's 128-bit lease: the learner never answered one with
    # UNKNOWN_SLOT (which the client logs as "registering again")
    for p in procs[1:4]:
        if "registering again" in log_of(p):
            fail(f"a heartbeat was refused (lease):\n{log_of(p)[-2000:]}")


def test_mixed():
    lp = learner("--env", "Pendulum-v1", "--steps", "4000", "--start-steps", "1000",
                 "--eval-every", "100000", "--eval-episodes", "5")
    # the Python actor joins first: the C actor, up in milliseconds, would otherwise fill the
    # budget alone on a loaded machine while Python imports NumPy
    py = py_actor("py/0", "make_env_v1")
    deadline = time.time() + 120
    while not any(a["name"] == "py/0" for a in (status() or {}).get("actors", [])):
        if time.time() > deadline or py.poll() is not None:
            fail(f"the Python actor did not join:\n{log_of(py)[-2000:]}")
        time.sleep(0.2)
    start([TD3D, "actor", "--learner", "127.0.0.1", "--env", "Pendulum-v1", "--name", "c/0",
           *PORTS], "c0.log")
    seen, deadline = {}, time.time() + 300
    while lp.poll() is None and time.time() < deadline:
        s = status()
        for a in (s or {}).get("actors", []):
            seen[a["name"]] = max(seen.get(a["name"], 0), a["transitions"])
        time.sleep(0.3)
    rc = wait(lp, 60, "the learner")
    print(f"mixed: transitions per actor {seen} (learner exit {rc})")
    if rc != 0:
        fail(f"the learner exited {rc}:\n{log_of(lp)[-3000:]}")
    if seen.get("c/0", 0) < 200 or seen.get("py/0", 0) < 200:
        fail(f"both actors should have delivered transitions to the one replay: {seen}")
    if "run over" not in log_of(py):
        fail(f"the Python actor did not hear the run end:\n{log_of(py)[-2000:]}")


def test_refused():
    token = os.path.join(WORK, "eval.token")
    if os.path.exists(token):
        os.unlink(token)
    with os.fdopen(os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("a-token-of-32-bytes-for-this-run\n")
    lp = learner(*EXTERNAL, "--steps", "100000", "--start-steps", "1000",
                 "--eval-token-file", token)
    cases = [("wrong-dims", "make_env_wrong", [], "(SHAPE)", "has obs 4, act 1"),
             ("wrong-env", "make_env", ["--env-id", "cartpole-np"], "(ENV)",
              "runs cartpole-np but this run trains pendulum-np"),
             ("no-token", "make_env", ["--eval"], "(UNAUTHORIZED)", "--eval-token-file")]
    for name, factory, extra, reason, detail in cases:
        p = py_actor(name, factory, *extra)
        rc = wait(p, 60, f"the actor with {name}")
        text = log_of(p)
        print(f"refused: {name}: exit {rc}: {text.strip().splitlines()[-1]}")
        if rc != 1 or "the learner refused this actor " + reason not in text or detail not in text:
            fail(f"{name}: expected exit 1 with {reason} and '{detail}', got {rc}:\n{text}")
    ev = py_actor("py/eval", "make_env", "--eval", "--eval-token-file", token)
    deadline = time.time() + 60
    while "joined run" not in log_of(ev) and time.time() < deadline and ev.poll() is None:
        time.sleep(0.2)
    if "joined run" not in log_of(ev):
        fail(f"the evaluator with the token did not join:\n{log_of(ev)[-2000:]}")
    print("refused: the evaluator with --eval-token-file joined")
    holder = py_actor("dup", "make_env", log="dup-holder.log")
    deadline = time.time() + 60
    while "joined run" not in log_of(holder) and time.time() < deadline:
        time.sleep(0.2)
    other = py_actor("dup", "make_env", log="dup-other.log")
    deadline = time.time() + 30
    while "NAME_IN_USE" not in log_of(other) and time.time() < deadline:
        time.sleep(0.2)
    text = log_of(other)
    line = [l for l in text.splitlines() if "NAME_IN_USE" in l]
    print(f"refused: a held name: {line[0] if line else text[-500:]}")
    if not line or "retry_after_ms" not in line[0] or other.poll() is not None:
        fail(f"a second actor named dup should be told to retry after the lease:\n{text}")
    if lp.poll() is not None:
        fail("the learner stopped")


def test_parity():
    lp = learner(*EXTERNAL, "--steps", "1500", "--start-steps", "500", "--eval-every", "100000",
                 "--hidden", "64,48")
    ctx = zmq.Context()
    sub = ctx.socket(zmq.DEALER)  # a weights subscriber as the clients are (protocol 4)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(f"tcp://127.0.0.1:{BASE + 1}")
    py_actor("py/0", "make_env")
    from td3d._proto import pb, WEIGHTS_SUBSCRIBE, WEIGHTS_SUBSCRIBE_S
    received, deadline, ended, subscribed = {}, time.time() + 300, None, 0.0
    while time.time() < deadline:
        if time.time() - subscribed >= WEIGHTS_SUBSCRIBE_S:
            sub.send(WEIGHTS_SUBSCRIBE)
            subscribed = time.time()
        if sub.poll(100):
            w = pb.Weights.FromString(sub.recv())
            received[w.params] = (w.version, list(w.layers))
        if lp.poll() is not None:
            ended = ended or time.time()
            if time.time() - ended > 1.0:
                break
    sub.close()
    ctx.term()
    if wait(lp, 60, "the learner") != 0:
        fail(f"the learner failed:\n{log_of(lp)[-3000:]}")
    policy_file = os.path.join(WORK, "run", "policy.td3p")
    npz = os.path.join(WORK, "policy.npz")
    subprocess.run([TD3D, "export", "--policy", policy_file, "--out", npz], check=True)
    with np.load(npz) as z:
        layers = [int(v) for v in z["layers"]]
        flat = b"".join(np.ascontiguousarray(z[f"{k}{i}"], "<f4").tobytes()
                        for i in range(len(layers) - 1) for k in ("W", "b"))
    if flat not in received:
        fail(f"policy.td3p's weights are none of the {len(received)} broadcasts received")
    version, wl = received[flat]
    obs_path, act_path = os.path.join(WORK, "obs.f32"), os.path.join(WORK, "act.f32")
    subprocess.run([EXPORT_REF, "actions", policy_file, "1000", "7", obs_path, act_path],
                   check=True)
    obs = np.fromfile(obs_path, "<f4").reshape(1000, layers[0])
    want = np.fromfile(act_path, "<f4").reshape(1000, layers[-1])
    pol = td3d.Policy(wl, [-2.0], [2.0], flat)
    one = np.stack([pol.act(o) for o in obs])
    batch = pol.act(obs)
    err = max(float(np.max(np.abs(one - want))), float(np.max(np.abs(batch - want))))
    print(f"parity: weights version {version} (layers {wl}), 1000 observations, max |action "
          f"difference| {err:.2e}, actions span [{want.min():.2f}, {want.max():.2f}]")
    if not err <= 1e-5:
        fail(f"actions differ from td3d's by {err:.3g} (> 1e-5)")


def main():
    os.makedirs(WORK, exist_ok=True)
    tests = {"train": test_train, "mixed": test_mixed, "refused": test_refused,
             "parity": test_parity}
    try:
        tests[TEST]()
    finally:
        stop_all()
    print(f"{TEST}: ok")


if __name__ == "__main__":
    main()
