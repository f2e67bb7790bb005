#!/bin/sh
# `td3d eval` of a MuJoCo policy finds the model its run loaded, with no --mujoco-assets and
# no TD3D_MUJOCO_ASSETS: a short serial InvertedPendulum-v4 run on a copy of the model named by
# a relative --mujoco-assets, then eval from another directory. A flag still wins over the
# run's model, and once the model is gone the error names the options.
# usage: eval_run_model.sh TD3D ASSETS_DIR WORK_DIR   (exit 77: skipped, no model files)
set -u
td3d=$1 assets=$2 work=$3
if [ ! -f "$assets/inverted_pendulum.xml" ]; then
  echo "skipped: no $assets/inverted_pendulum.xml (configure with -DTD3_ASSETS_DIR=DIR, DIR" \
       "holding Gymnasium's MuJoCo model files)"
  exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work/assets" || fail "cannot make $work"
work=$(cd "$work" && pwd -P)
cp "$assets/inverted_pendulum.xml" "$work/assets/" || fail "cannot copy the model"
unset TD3D_MUJOCO_ASSETS TD3D_MODEL

cd "$work" || fail "cd $work"
"$td3d" run --serial --env InvertedPendulum-v4 --steps 300 --start-steps 100 --eval-every 200 \
  --eval-episodes 1 --hidden 16,16 --batch 32 --mujoco-assets assets --out run --overwrite \
  >run.log 2>&1 || { cat run.log; fail "the training run failed"; }
model="$work/assets/inverted_pendulum.xml"
grep -F "\"model\": \"$model\"," run/config.json || { cat run/config.json; fail "config.json does not name $model"; }

cd / || fail "cd /"
out=$("$td3d" eval --policy "$work/run/policy.td3p" --episodes 1 2>&1) ||
  fail "eval without --mujoco-assets failed: $out"
echo "$out"
echo "$out" | grep -q "InvertedPendulum-v4: mean return [0-9.-]* +- [0-9.]* over 1 episodes" ||
  fail "eval printed no mean return"

# a flag names another place: it is used (and reported), not the run's model
out=$("$td3d" eval --policy "$work/run/policy.td3p" --episodes 1 --mujoco-assets /nonexistent 2>&1) &&
  fail "eval with --mujoco-assets /nonexistent succeeded: $out"
echo "$out" | grep -q "/nonexistent/inverted_pendulum.xml" || fail "unexpected error: $out"

# the model is gone: a clear error naming the options (unless td3d finds a pip-installed
# Gymnasium's copy by itself)
rm -rf "$work/assets"
if out=$("$td3d" eval --policy "$work/run/policy.td3p" --episodes 1 2>&1); then
  echo "$out" | grep -q "is not readable" || fail "no note that the run's model is gone: $out"
  echo "the run's model is gone; td3d found another copy (a pip-installed Gymnasium)"
else
  echo "$out"
  echo "$out" | grep -q -- "--mujoco-assets DIR" || fail "the error does not name --mujoco-assets: $out"
  echo "$out" | grep -q -- "--model PATH" || fail "the error does not name --model: $out"
fi
echo ok
