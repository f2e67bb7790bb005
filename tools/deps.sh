#!/bin/sh
# Installs the Debian bookworm packages td3d needs to build and test, and nothing else.
# Idempotent: when every package is present it only checks and returns (no apt-get update).
# Needs root (or sudo) for the install step; prints what it installs.
#   sh tools/deps.sh           everything: build, test suite, sanitizers, fuzzing, dashboard test
#   sh tools/deps.sh --build   only what building td3d needs (the Docker image, deploy/Dockerfile)
set -eu

BUILD="build-essential cmake pkg-config
libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
libopenblas-dev libuv1-dev libmujoco-dev
libhttp-parser-dev libjansson-dev zlib1g-dev"
TEST="libcmocka-dev prometheus clang libclang-rt-14-dev chromium docker-compose iproute2 iptables
python3 librsvg2-bin python3-numpy python3-onnx python3-zmq python3-protobuf protobuf-compiler valgrind"

case "${1:-}" in
  "") PKGS="$BUILD $TEST" ;;
  --build) PKGS="$BUILD" ;;
  -h|--help)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *) echo "deps: unknown option '$1' (use --build, or no option for everything)" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "deps: missing packages:$missing; run this script as root to install them" >&2
    exit 1
  fi
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
echo "deps: done"
