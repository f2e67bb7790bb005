#!/usr/bin/env python3
"""The transitions a distributed run stores are the environment's own, in order: a
`td3d run` (learner, 2 actors, evaluator) on Pendulum, then its replay file read back. Every
row's next_obs must be the obs of a later row (the same actor's next step) unless the episode
ended there: Pendulum never terminates, so the rows whose next_obs starts nothing are exactly
the time limits (one per 200-step episode) and the last row of each actor. A transition stored
with another step's observation, reward or action (a shifted column, a reset observation
given as next_obs, rows of two actors mixed) breaks the chains and fails this test.

usage: replay_chains.py TD3D_BINARY   (skips, 77, without python3-numpy)
"""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("replay_chains: python3-numpy is not installed; skipped")
    sys.exit(77)

STEPS, ACTORS, EPISODE = 6000, 2, 200


def read_replay(path):
    """The rows of a replay file, oldest first (learner/replay.c replay_save's layout)."""
    data = open(path, "rb").read()
    if data[:8] != b"td3drply":
        sys.exit(f"replay_chains: {path} is not a replay file")
    _, od, ad = struct.unpack_from("<III", data, 8)
    _, size, _, _ = struct.unpack_from("<QQQQ", data, 20)
    off, left, cols = 52, size, {k: [] for k in ("obs", "act", "rew", "next", "term")}
    while left:
        n = min(left, 4096)
        for key, width in (("obs", od), ("act", ad), ("rew", 1), ("next", od), ("term", 1)):
            cols[key].append(np.frombuffer(data, "<f4", n * width, off).reshape(n, width))
            off += n * width * 4
        left -= n
    return {k: np.concatenate(v) for k, v in cols.items()}


def main():
    td3d = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="replay_chains.")
    try:
        out = os.path.join(tmp, "run")
        cmd = [td3d, "run", "--env", "Pendulum-v1", "--steps", str(STEPS), "--start-steps", "1000",
               "--hidden", "32,32", "--batch", "64", "--eval-every", "100000",
               "--actors", str(ACTORS), "--experience-port", "23150", "--weights-port", "23151",
               "--control-port", "23152", "--status-bind", "off", "--out", out, "--quiet"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        if p.returncode != 0:
            sys.exit(f"replay_chains: td3d run exited {p.returncode}:\n{p.stdout[-2000:]}")
        files = glob.glob(os.path.join(out, "checkpoint", "replay-*.td3r"))
        if len(files) != 1:
            sys.exit(f"replay_chains: expected one replay file in {out}/checkpoint, found {files}")
        r = read_replay(files[0])
        rows = len(r["obs"])
        starts = {r["obs"][i].tobytes(): i for i in range(rows)}
        ends, backwards = 0, 0
        for i in range(rows):
            j = starts.get(r["next"][i].tobytes())
            if j is None:
                ends += 1
            elif j <= i:
                backwards += 1
        terminal = int(r["term"].sum())
        episodes = STEPS // EPISODE
        print(f"rows {rows}, chain ends {ends} (time limits about {episodes}, plus one per actor), "
              f"successors stored before their step {backwards}, terminal rows {terminal}")
        if rows != STEPS:
            sys.exit(f"replay_chains: {rows} rows stored, the budget was {STEPS}")
        if terminal != 0:
            sys.exit(f"replay_chains: {terminal} rows marked terminal; Pendulum never terminates")
        if backwards:
            sys.exit(f"replay_chains: {backwards} rows whose next step was stored before them")
        # every actor's episodes end at 200 steps; an actor's last episode may be cut by the
        # budget (its last row then ends a chain too)
        if not episodes - ACTORS <= ends <= episodes + ACTORS:
            sys.exit(f"replay_chains: {ends} chains end, expected {episodes} ± {ACTORS}: "
                     "stored transitions do not follow each other")
        lo, hi = r["act"].min(), r["act"].max()
        if lo < -2.0 or hi > 2.0:
            sys.exit(f"replay_chains: actions {lo}..{hi} outside Pendulum's bounds")
        print("replay_chains: every stored transition continues its actor's episode")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
