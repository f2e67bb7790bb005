"""Transitions per second one Python actor (clients/python/td3d) delivers on the NumPy
Pendulum (tests/python/pendulum_np.py), and what bounds it: the env's step, the policy's
forward pass (256-256, td3d's default) and the rest of the actor's step, timed alone.

usage (from the source tree, after the build):
  PYTHONPATH=build/python:tests/python /usr/bin/python3 bench/python_actor.py build/tools/td3d [SECONDS]
The learner trains with --replay-ratio 0.001 and --max-lead 1e8, so that pacing never holds
the actor back."""
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

import pendulum_np
import td3d

TD3D = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 20
BASE = 22680


def per_second(f, n):
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    return n / (time.perf_counter() - t0)


env = pendulum_np.make_env()
obs, _ = env.reset(seed=0)
a = np.zeros(1, np.float32)
env_rate = per_second(lambda: env.step(a), 20000)
pol = td3d.Policy([3, 256, 256, 1], [-2.0], [2.0],
                  np.random.default_rng(0).standard_normal(3 * 256 + 256 + 257 * 256 + 257)
                  .astype(np.float32) * 0.05)
fwd_rate = per_second(lambda: pol.act(obs), 20000)

with tempfile.TemporaryDirectory() as out:
    ports = ["--experience-port", str(BASE), "--weights-port", str(BASE + 1),
             "--control-port", str(BASE + 2)]
    lp = subprocess.Popen([TD3D, "learner", "--env", "external:pendulum-np", "--obs-dim", "3",
                           "--act-dim", "1", "--action-low", "-2", "--action-high", "2",
                           "--bind", "127.0.0.1", "--status-bind", "off", "--out", out,
                           "--overwrite", "--replay-ratio", "0.001", "--max-lead", "100000000", "--start-steps", "0",
                           "--steps", "100000000", "--checkpoint-every", "0", *ports],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        actor = td3d.Actor(pendulum_np.make_env, learner="127.0.0.1", name="bench",
                           experience_port=BASE, weights_port=BASE + 1, control_port=BASE + 2)
        threading.Timer(SECONDS, actor.stop).start()
        t0 = time.perf_counter()
        r = actor.run()
        wall = time.perf_counter() - t0  # includes joining (a fraction of a second)
    finally:
        lp.terminate()
        lp.wait()
rate = r.sent / wall
print(f"one Python actor, Pendulum (NumPy), policy 3-256-256-1: {rate:.0f} transitions/s "
      f"delivered ({r.sent} in {wall:.1f} s, weights version {r.policy_version}, "
      f"{r.dropped} dropped, blocked {r.blocked_us / 1e6:.1f} s)")
print(f"  alone: env step {env_rate:.0f}/s ({1e6 / env_rate:.1f} us), forward pass "
      f"{fwd_rate:.0f}/s ({1e6 / fwd_rate:.1f} us), rest of the actor's step "
      f"{1e6 / rate - 1e6 / env_rate - 1e6 / fwd_rate:.1f} us")
