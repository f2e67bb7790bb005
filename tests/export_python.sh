#!/bin/sh
# Runs a Python export test with the first python3 that has the modules it needs: the one on
# PATH, then Debian's /usr/bin/python3 (where python3-onnx and python3-numpy install). Without
# one, exits 77 (ctest's skip) saying what is missing.
# usage: export_python.sh "MODULE..." SCRIPT ARGS...
set -u
mods=$1 script=$2
shift 2
imports=$(echo "$mods" | tr ' ' ',')
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c "import $imports" 2>/dev/null; then
    exec "$py" "$script" "$@"
  fi
done
echo "SKIP: no python3 with the modules $mods (Debian: python3-onnx python3-numpy; sh tools/deps.sh installs them)"
exit 77
