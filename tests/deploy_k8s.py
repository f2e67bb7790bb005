#!/usr/bin/env python3
"""The Kubernetes manifests (deploy/k8s), checked without a cluster:

 1. every file parses as YAML; each kustomization's resources and patches exist, and every
    patch names a workload and containers of the base;
 2. every workload runs the td3d image with a subcommand td3d has, and every --flag it passes
    is one that subcommand lists;
 3. every TD3D_* variable a container gets (env, the ConfigMap it loads, the CURVE patches) is
    one its program reads (a misspelt name would be ignored silently);
 4. the learner's container ports are td3d's default ports, the status server binds the
    status port, the probes ask /healthz on it, and each Service selects the pods it means
    and targets ports they have; the actors and the evaluator name the learner's Service;
 5. the CURVE and evaluator-token patches point the key and token variables into the volumes
    they mount, from the Secrets their kustomization's instructions create; a token reaches
    the learner and the evaluator together, and no actor (and, where kubectl is installed,
    the eval-token Component renders over the base so).
usage: deploy_k8s.py SOURCE_DIR TD3D_BINARY
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed (tools/deps.sh installs it)")
    sys.exit(77)

src, td3d = sys.argv[1], sys.argv[2]
k8s = os.path.abspath(os.path.join(src, "deploy", "k8s"))
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# --- 1. YAML and the kustomizations ---------------------------------------------------------
docs = {}  # path -> documents
for root, _, files in os.walk(k8s):
    for name in sorted(files):
        if name.endswith((".yaml", ".yml")):
            path = os.path.join(root, name)
            try:
                docs[path] = load(path)
            except yaml.YAMLError as e:
                fail("%s does not parse: %s" % (path, e))
if not docs:
    fail("no manifests in %s" % k8s)

base_k = os.path.join(k8s, "kustomization.yaml")
kust = {p: d[0] for p, d in docs.items() if os.path.basename(p) == "kustomization.yaml"}
if base_k not in kust:
    fail("deploy/k8s has no kustomization.yaml")
objects = []  # the base's objects
for path, k in kust.items():
    here = os.path.dirname(path)
    for r in k.get("resources", []):
        target = os.path.normpath(os.path.join(here, r))
        if not os.path.exists(target):
            fail("%s: resource %s does not exist" % (path, r))
    for p in k.get("patches", []):
        if not os.path.exists(os.path.join(here, p["path"])):
            fail("%s: patch %s does not exist" % (path, p["path"]))
for r in kust.get(base_k, {}).get("resources", []):
    objects += docs.get(os.path.normpath(os.path.join(k8s, r)), [])
config_maps = {}
for g in kust.get(base_k, {}).get("configMapGenerator", []):
    config_maps[g["name"]] = dict(x.split("=", 1) for x in g.get("literals", []))

workloads = {(o["kind"], o["metadata"]["name"]): o for o in objects
             if o.get("kind") in ("Deployment", "StatefulSet")}
services = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Service"}
for want in [("StatefulSet", "td3d-learner"), ("Deployment", "td3d-actor"),
             ("Deployment", "td3d-evaluator")]:
    if want not in workloads:
        fail("the base has no %s %s" % want)


def containers(w):
    return w["spec"]["template"]["spec"]["containers"]


patches = []  # (patch file, patch document)
patch_kust = {}  # patch file -> the kustomization that applies it
for path, k in kust.items():
    for p in k.get("patches", []):
        ppath = os.path.normpath(os.path.join(os.path.dirname(path), p["path"]))
        patch_kust[ppath] = path
        for d in docs.get(ppath, []):
            patches.append((ppath, d))
            key = (d.get("kind"), d.get("metadata", {}).get("name"))
            if key not in workloads:
                fail("%s patches %s %s, which the base does not have" % (ppath, key[0], key[1]))
                continue
            names = {c["name"] for c in containers(workloads[key])}
            for c in d["spec"]["template"]["spec"].get("containers", []):
                if c["name"] not in names:
                    fail("%s patches container %s, which %s lacks" % (ppath, c["name"], key[1]))
print("manifests: %d files parse; %d kustomizations, %d patches match the base" %
      (len(docs), len(kust), len(patches)))

# --- 2 and 3. programs, flags and variables -------------------------------------------------
helps = {}


def help_of(prog):
    if prog not in helps:
        r = subprocess.run([td3d, prog, "--help"], capture_output=True, text=True)
        if r.returncode != 0:
            fail("td3d %s --help failed (%d)" % (prog, r.returncode))
        helps[prog] = r.stdout + r.stderr
    return helps[prog]


# read by td3d itself, outside the flag tables (README, Configuration)
GLOBAL_VARS = {"TD3D_LOG_LEVEL", "TD3D_MUJOCO_ASSETS", "TD3D_MODELS_DIR", "TD3D_GEMM"}
checked = 0


def check_var(where, prog, var):
    global checked
    if not var.startswith("TD3D_"):
        return
    checked += 1
    if var not in GLOBAL_VARS and "[%s]" % var not in help_of(prog):
        fail("%s sets %s, which td3d %s does not read" % (where, var, prog))


prog_of = {}
for key, w in workloads.items():
    for c in containers(w):
        where = "%s/%s" % (key[1], c["name"])
        image = c.get("image", "")
        if image.split(":")[0] != "td3d":
            fail("%s runs image %s, not td3d" % (where, image))
        args = c.get("args") or []
        if not args or args[0] not in ("learner", "actor"):
            fail("%s runs td3d %s, not learner or actor" % (where, args[:1]))
            continue
        prog = prog_of[key] = args[0]
        for a in args[1:]:
            if a.startswith("--") and not re.search(r"^\s+%s[ =]" % re.escape(a.split("=")[0]),
                                                    help_of(prog), re.M):
                fail("%s passes %s, which td3d %s does not have" % (where, a, prog))
        for e in c.get("env", []):
            check_var(where, prog, e["name"])
            ref = e.get("valueFrom", {}).get("configMapKeyRef")
            if ref and ref["key"] not in config_maps.get(ref["name"], {}):
                fail("%s reads %s from ConfigMap %s, which has no such key" %
                     (where, ref["key"], ref["name"]))
        for ef in c.get("envFrom", []):
            name = ef.get("configMapRef", {}).get("name")
            if name not in config_maps:
                fail("%s loads ConfigMap %s, which the kustomization does not make" % (where, name))
            for var in config_maps.get(name, {}):
                check_var("%s (ConfigMap %s)" % (where, name), prog, var)
for ppath, d in patches:
    key = (d.get("kind"), d.get("metadata", {}).get("name"))
    for c in d["spec"]["template"]["spec"].get("containers", []):
        for e in c.get("env", []):
            check_var("%s %s" % (os.path.relpath(ppath, src), c["name"]), prog_of.get(key, "actor"),
                      e["name"])
print("variables: %d TD3D_* settings, each read by its container's program" % checked)

# --- 4. ports, probes, services ---------------------------------------------------------------
learner = workloads.get(("StatefulSet", "td3d-learner"))
if learner:
    lc = containers(learner)[0]
    ports = {p["name"]: p["containerPort"] for p in lc.get("ports", [])}
    lhelp = help_of("learner")
    for name, flag in [("experience", "--experience-port"), ("weights", "--weights-port"),
                       ("control", "--control-port")]:
        m = re.search(r"%s PORT .*default (\d+)" % flag, lhelp)
        if not m:
            fail("td3d learner --help does not give %s's default" % flag)
        elif ports.get(name) != int(m.group(1)):
            fail("learner port %s is %s, td3d's default is %s" % (name, ports.get(name), m.group(1)))
    env = {e["name"]: e.get("value") for e in lc.get("env", [])}
    bind = env.get("TD3D_STATUS_BIND", "")
    if not bind.endswith(":%s" % ports.get("status")):
        fail("TD3D_STATUS_BIND %s is not the status container port %s" % (bind, ports.get("status")))
    for probe in ("readinessProbe", "livenessProbe"):
        g = lc.get(probe, {}).get("httpGet", {})
        if g.get("path") != "/healthz" or g.get("port") not in ("status", ports.get("status")):
            fail("learner %s is %s, not /healthz on the status port" % (probe, g))
    if "--continue" not in (lc.get("args") or []):
        fail("the learner does not run with --continue (a restarted pod would not resume)")
    mounts = {m["mountPath"] for m in lc.get("volumeMounts", [])}
    out = env.get("TD3D_OUT", "")
    if not any(out.startswith(m.rstrip("/") + "/") for m in mounts):
        fail("TD3D_OUT %s is not on a mounted volume (%s)" % (out, sorted(mounts)))
    claims = {t["metadata"]["name"] for t in learner["spec"].get("volumeClaimTemplates", [])}
    if not claims:
        fail("the learner has no PersistentVolumeClaim for its run directory")
for name, s in services.items():
    sel = s["spec"].get("selector", {})
    matched = [w for w in workloads.values()
               if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v
                      for k, v in sel.items())]
    if len(matched) != 1:
        fail("Service %s selects %d workloads" % (name, len(matched)))
        continue
    names = {p["name"] for c in containers(matched[0]) for p in c.get("ports", [])}
    for p in s["spec"]["ports"]:
        if p["targetPort"] not in names:
            fail("Service %s targets port %s, which its pods do not have" % (name, p["targetPort"]))
if "td3d-status" in services and "td3d-learner" in services:
    lp = {p["port"] for p in services["td3d-learner"]["spec"]["ports"]}
    if 9100 in lp:
        fail("the status port is on the learner's Service; it has its own")
for key in [("Deployment", "td3d-actor"), ("Deployment", "td3d-evaluator")]:
    w = workloads.get(key)
    if not w:
        continue
    env = {e["name"]: e.get("value") for e in containers(w)[0].get("env", [])}
    if env.get("TD3D_LEARNER") not in services:
        fail("%s joins learner %s, which is not a Service" % (key[1], env.get("TD3D_LEARNER")))
print("ports and probes: the learner's defaults, /healthz on the status port, services match")

# --- 5. CURVE and evaluator-token patches ----------------------------------------------------
SECRET_FILES = ("TD3D_CURVE_KEY", "TD3D_CURVE_SERVER", "TD3D_CURVE_AUTHORIZED",
                "TD3D_EVAL_TOKEN_FILE")
token_holders = {}  # kustomization -> workloads its patches give an evaluator token
for ppath, d in patches:
    for c in d["spec"]["template"]["spec"].get("containers", []):
        if any(e["name"] == "TD3D_EVAL_TOKEN_FILE" for e in c.get("env", [])):
            token_holders.setdefault(patch_kust[ppath], set()).add(d["metadata"]["name"])
for kpath, holders in token_holders.items():
    if holders != {"td3d-learner", "td3d-evaluator"}:
        fail("%s gives the evaluator token to %s, not to the learner and the evaluator alone" %
             (kpath, sorted(holders)))
for ppath, d in patches:
    spec = d["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec.get("containers", []):
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        for m in c.get("volumeMounts", []):
            if m["name"] not in vols:
                fail("%s mounts volume %s, which it does not define" % (ppath, m["name"]))
        for e in c.get("env", []):
            v = e.get("value", "")
            if e["name"] in SECRET_FILES and not any(
                    v == mp or v.startswith(mp.rstrip("/") + "/") for mp in mounts):
                fail("%s: %s=%s is outside the mounted volumes" % (ppath, e["name"], v))
    for v in vols.values():
        secret = v.get("secret", {}).get("secretName")
        if secret and secret not in open(patch_kust[ppath]).read():
            fail("%s uses Secret %s, which %s does not say how to make" %
                 (ppath, secret, os.path.relpath(patch_kust[ppath], src)))
kubectl = shutil.which("kubectl")
if kubectl:  # as its instructions use it: a kustomization outside deploy/k8s
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(os.path.abspath(os.path.join(src, "deploy")), os.path.join(tmp, "deploy"))
        os.mkdir(os.path.join(tmp, "run"))
        with open(os.path.join(tmp, "run", "kustomization.yaml"), "w") as f:
            f.write("resources: [../deploy/k8s]\ncomponents: [../deploy/k8s/eval-token]\n")
        r = subprocess.run([kubectl, "kustomize", os.path.join(tmp, "run")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("kubectl kustomize with the eval-token Component: %s" % r.stderr.strip())
        else:
            got = sorted(o["metadata"]["name"] for o in yaml.safe_load_all(r.stdout)
                         if o and o.get("kind") in ("Deployment", "StatefulSet") and
                         any(e["name"] == "TD3D_EVAL_TOKEN_FILE"
                             for c in containers(o) for e in c.get("env", [])))
            if got != ["td3d-evaluator", "td3d-learner"]:
                fail("the eval-token Component renders the token into %s" % got)
print("curve and eval-token: key and token variables inside their mounted Secrets; %d "
      "kustomization(s) give the token to the learner and the evaluator" % len(token_holders))

if failures:
    print("%d problem(s)" % len(failures))
    sys.exit(1)
print("deploy/k8s: all checks passed")
