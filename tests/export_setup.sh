#!/bin/sh
# The export tests' inputs (tests/export.cmake), in WORK_DIR:
#   trained.td3p     a Pendulum-v1 policy from a short real `td3d run --serial` (3-256-256-1)
#   synthetic.td3p   export_ref's policy: 5-32-24-16-3, asymmetric bounds, awkward values
#   P.obs, P.act     1000 random observations and td3d's actions for them (export_ref)
#   damaged.td3p     trained.td3p with 4 bytes of its weights overwritten
#   truncated.td3p   its first 1000 bytes
#   foreign.json     the run's config.json;  fake.td3c  a file with a checkpoint's magic
# usage: export_setup.sh TD3D EXPORT_REF WORK_DIR
set -u
td3d=$1 ref=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"
"$td3d" run --serial --env Pendulum-v1 --steps 2000 --start-steps 1000 --eval-every 1000 \
  --eval-episodes 2 --seed 3 --out "$work/run" >"$work/run.log" 2>&1 ||
  { cat "$work/run.log"; fail "the training run failed"; }
cp "$work/run/policy.td3p" "$work/trained.td3p" || fail "the run wrote no policy"
"$ref" policy "$work/synthetic.td3p" || fail "export_ref policy failed"
for p in trained synthetic; do
  "$ref" actions "$work/$p.td3p" 1000 7 "$work/$p.obs" "$work/$p.act" ||
    fail "export_ref actions $p failed"
done
cp "$work/trained.td3p" "$work/damaged.td3p" &&
  printf '\001\002\003\004' | dd of="$work/damaged.td3p" bs=1 seek=5000 conv=notrunc 2>/dev/null ||
  fail "cannot damage a copy"
head -c 1000 "$work/trained.td3p" >"$work/truncated.td3p" || fail "cannot cut a copy"
cp "$work/run/config.json" "$work/foreign.json" || fail "the run wrote no config.json"
{ printf 'TD3DCKPT'; head -c 100 /dev/zero; } >"$work/fake.td3c" || fail "cannot write fake.td3c"
echo ok
