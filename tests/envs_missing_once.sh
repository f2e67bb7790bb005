#!/bin/sh
# `td3d envs` without Gymnasium's model files: each Gymnasium MuJoCo task gets one short line,
# what to do about it is said once at the end, and the listing stays short.
# usage: envs_missing_once.sh TD3D [ASSETS_DIR]
#   with ASSETS_DIR (a directory without the files): TD3D_MUJOCO_ASSETS points there, and all
#   six tasks must be listed as missing; without it: TD3D_MUJOCO_ASSETS is unset, and the
#   explanation must appear once if any task is missing (none when td3d finds the files
#   elsewhere).
set -u
td3d=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ $# -ge 2 ]; then
  TD3D_MUJOCO_ASSETS=$2 "$td3d" envs >"$out" || { echo "td3d envs failed" >&2; exit 1; }
else
  env -u TD3D_MUJOCO_ASSETS "$td3d" envs >"$out" || { echo "td3d envs failed" >&2; exit 1; }
fi
cat "$out"
missing=$(grep -c '^[A-Za-z0-9-]* .*(needs Gymnasium.s model files)$' "$out")
explained=$(grep -c 'TD3D_MUJOCO_ASSETS=DIR' "$out")
bytes=$(wc -c <"$out")
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ $# -ge 2 ] && [ "$missing" -ne 6 ]; then fail "$missing tasks listed as missing, expected 6"; fi
if [ "$missing" -gt 0 ] && [ "$explained" -ne 1 ]; then
  fail "the explanation appears $explained times, expected once"
fi
if [ "$missing" -eq 0 ] && [ "$explained" -ne 0 ]; then fail "an explanation with nothing missing"; fi
if [ "$bytes" -ge 2000 ]; then fail "$bytes bytes of output, expected under 2000"; fi
echo "ok: $missing tasks missing, explained $explained time(s), $bytes bytes"
