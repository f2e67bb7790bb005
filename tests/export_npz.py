"""`td3d export --format npz`: numpy.load opens each test policy's file (no pickle), with the
arrays docs/export.md lists in their dtypes and shapes, the env id and layer sizes, and the
bounds and weights of the policy; the NumPy loader and forward pass printed in docs/export.md
(run from the document itself, so the document stays right) gives td3d's actions (export_ref)
to 1e-5 on 1000 random observations.

usage: export_npz.py TD3D SOURCE_DIR WORK_DIR   (inputs from export_setup.sh)"""
import os
import re
import subprocess
import sys

import numpy as np

TOL = 1e-5
POLICIES = {"trained": ("Pendulum-v1", [3, 256, 256, 1]),
            "synthetic": ("td3d-export-test", [5, 32, 24, 16, 3])}


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def doc_loader(source_dir):
    """The namespace of docs/export.md's NumPy loader block."""
    text = open(os.path.join(source_dir, "docs", "export.md"), encoding="utf-8").read()
    m = re.search(r"<!-- numpy-loader:[^>]*-->\s*```python\n(.*?)```", text, re.S)
    if not m:
        fail("docs/export.md has no numpy-loader block")
    lines = m.group(1).count("\n")
    if lines > 25:
        fail(f"the documented loader is {lines} lines; keep it short")
    ns = {}
    exec(compile(m.group(1), "docs/export.md", "exec"), ns)
    return ns


def check(td3d, work, name, loader):
    env_id, layers = POLICIES[name]
    path = f"{work}/npz/{name}.npz"
    subprocess.run([td3d, "export", "--policy", f"{work}/{name}.td3p", "--format", "npz",
                    "--out", path], check=True)
    n = len(layers) - 1
    expect = {"layers": ("uint32", (len(layers),)), "env_id": (f"<U{len(env_id)}", ()),
              "action_low": ("float32", (layers[-1],)), "action_high": ("float32", (layers[-1],))}
    for l in range(n):
        expect[f"W{l}"] = ("float32", (layers[l + 1], layers[l]))
        expect[f"b{l}"] = ("float32", (layers[l + 1],))
    with np.load(path, allow_pickle=False) as z:
        got = {k: (z[k].dtype.str if z[k].dtype.kind == "U" else str(z[k].dtype), z[k].shape)
               for k in z.files}
        if got != expect:
            fail(f"{name}: arrays {got}, expected {expect}")
        if str(z["env_id"]) != env_id or list(z["layers"]) != layers:
            fail(f"{name}: env_id {z['env_id']!r}, layers {list(z['layers'])}")
        if not np.all(z["action_low"] < z["action_high"]):
            fail(f"{name}: bounds {z['action_low']} {z['action_high']}")
    policy = loader["load_policy"](path)
    if policy["env_id"] != env_id:
        fail(f"{name}: the loader read env id {policy['env_id']!r}")
    obs = np.fromfile(f"{work}/{name}.obs", dtype="<f4").reshape(-1, layers[0])
    ref = np.fromfile(f"{work}/{name}.act", dtype="<f4").reshape(-1, layers[-1])
    batch = loader["act"](policy, obs)
    single = np.stack([loader["act"](policy, o) for o in obs])
    if batch.dtype != np.float32 or batch.shape != ref.shape or single.shape != ref.shape:
        fail(f"{name}: actions {batch.dtype} {batch.shape}, one by one {single.shape}")
    worst = max(float(np.max(np.abs(batch - ref))), float(np.max(np.abs(single - ref))))
    print(f"npz {name}: max abs difference {worst:.3g} over {len(obs)} observations "
          f"(tolerance {TOL:g})")
    if not worst <= TOL:
        fail(f"{name}: the documented NumPy forward pass differs from td3d by {worst}")


def main():
    td3d, source_dir, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(f"{work}/npz", exist_ok=True)
    loader = doc_loader(source_dir)
    for name in POLICIES:
        check(td3d, work, name, loader)
    print("ok")


if __name__ == "__main__":
    main()
