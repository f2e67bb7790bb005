"""`td3d export --format onnx`: each test policy's model passes onnx.checker (full check, shape
inference included), declares IR 7, opset 13, producer td3d and the env id, has input "obs"
[N, obs_dim] and output "action" [N, act_dim] with N dynamic, uses only Gemm, Relu, Tanh, Mul
and Add; evaluated node by node in NumPy (no runtime: the ops are implemented below), it gives
td3d's actions (export_ref) to 1e-5 on 1000 random observations, as one batch and one by one.

usage: export_onnx.py TD3D WORK_DIR   (inputs from export_setup.sh)"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

TOL = 1e-5
POLICIES = {"trained": ("Pendulum-v1", [3, 256, 256, 1]),
            "synthetic": ("td3d-export-test", [5, 32, 24, 16, 3])}


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def run_graph(graph, feeds):
    """Evaluates graph's nodes in order; returns its outputs. Only the ops td3d writes."""
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    values.update(feeds)
    for node in graph.node:
        attr = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        x = [values[name] for name in node.input]
        op = node.op_type
        if op == "Gemm":
            a = x[0].T if attr.get("transA", 0) else x[0]
            b = x[1].T if attr.get("transB", 0) else x[1]
            y = np.float32(attr.get("alpha", 1.0)) * (a @ b)
            if len(x) > 2:
                y = y + np.float32(attr.get("beta", 1.0)) * x[2]
        elif op == "Relu":
            y = np.maximum(x[0], np.float32(0))
        elif op == "Tanh":
            y = np.tanh(x[0])
        elif op == "Mul":
            y = x[0] * x[1]
        elif op == "Add":
            y = x[0] + x[1]
        else:
            fail(f"unexpected op {op}")
        if y.dtype != np.float32:
            fail(f"{op} produced {y.dtype}")
        values[node.output[0]] = y
    return [values[o.name] for o in graph.output]


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check(td3d, work, name):
    env_id, layers = POLICIES[name]
    path = f"{work}/onnx/{name}.onnx"
    subprocess.run([td3d, "export", "--policy", f"{work}/{name}.td3p", "--format", "onnx",
                    "--out", path], check=True)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    if model.ir_version != 7 or [(o.domain, o.version) for o in model.opset_import] != [("", 13)]:
        fail(f"{name}: ir_version {model.ir_version}, opsets {model.opset_import}")
    if model.producer_name != "td3d":
        fail(f"{name}: producer {model.producer_name!r}")
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("env_id") != env_id or meta.get("layers") != ",".join(map(str, layers)):
        fail(f"{name}: metadata {meta}")
    g = model.graph
    if [i.name for i in g.input] != ["obs"] or [o.name for o in g.output] != ["action"]:
        fail(f"{name}: inputs {[i.name for i in g.input]}, outputs {[o.name for o in g.output]}")
    if dims(g.input[0]) != ["N", layers[0]] or dims(g.output[0]) != ["N", layers[-1]]:
        fail(f"{name}: shapes {dims(g.input[0])} -> {dims(g.output[0])}")
    ops = sorted({n.op_type for n in g.node})
    if ops != ["Add", "Gemm", "Mul", "Relu", "Tanh"]:
        fail(f"{name}: op types {ops}")
    obs = np.fromfile(f"{work}/{name}.obs", dtype="<f4").reshape(-1, layers[0])
    ref = np.fromfile(f"{work}/{name}.act", dtype="<f4").reshape(-1, layers[-1])
    (batch,) = run_graph(g, {"obs": obs})
    single = np.concatenate([run_graph(g, {"obs": obs[i:i + 1]})[0] for i in range(len(obs))])
    worst = max(float(np.max(np.abs(batch - ref))), float(np.max(np.abs(single - ref))))
    print(f"ONNX {name}: max abs difference {worst:.3g} over {len(obs)} observations "
          f"(tolerance {TOL:g})")
    if not worst <= TOL:
        fail(f"{name}: the ONNX graph's actions differ from td3d's by {worst}")


def main():
    td3d, work = sys.argv[1], sys.argv[2]
    os.makedirs(f"{work}/onnx", exist_ok=True)
    for name in POLICIES:
        check(td3d, work, name)
    print("ok")


if __name__ == "__main__":
    main()
