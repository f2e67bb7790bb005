#!/bin/bash
# The deployment files, checked without a Docker engine (tools/compose_check.sh runs them for
# real on one):
#  1. docker-compose.yml is valid for docker-compose, alone and with deploy/mujoco-assets.yml
#     (which needs TD3D_ASSETS, and then gives every service the assets and the variable) and
#     deploy/curve.yml (which needs TD3D_KEYS, and then gives every service its key files);
#  2. every TD3D_* variable the compose file gives a service is one that service's td3d
#     program reads (a misspelt name would be ignored silently);
#  3. deploy/Dockerfile installs the Debian package of every shared library td3d links to
#     directly (a new dependency must reach the image too);
#  4. deploy/prometheus.yml passes promtool and scrapes the learner's status port;
#  5. every Dockerfile a service builds exists, and deploy/Dockerfile has no stage the td3d
#     image does not use (the classic builder of docker-compose 1.x builds them all).
# usage: deploy_files.sh SOURCE_DIR TD3D_BINARY
set -u
src=$1 td3d=$2
fail() { echo "FAIL: $*"; exit 1; }
command -v docker-compose >/dev/null || fail "docker-compose is not installed (tools/deps.sh installs it)"
cd "$src" || fail "no source directory $src"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the check must not depend on the caller's TD3D_* settings
for v in $(env | sed -n 's/^\(TD3D_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# --- 1. the compose files ------------------------------------------------------------------
docker-compose -f docker-compose.yml config >"$tmp/config.yml" 2>"$tmp/err" ||
  fail "docker-compose.yml: $(cat "$tmp/err")"
for s in learner actor evaluator; do
  grep -q "^  $s:$" "$tmp/config.yml" || fail "docker-compose.yml has no service $s"
done
if docker-compose -f docker-compose.yml -f deploy/mujoco-assets.yml config >/dev/null 2>"$tmp/err"; then
  fail "deploy/mujoco-assets.yml was accepted without TD3D_ASSETS"
fi
grep -q "TD3D_ASSETS" "$tmp/err" || fail "deploy/mujoco-assets.yml without TD3D_ASSETS: $(cat "$tmp/err")"
TD3D_ASSETS=$tmp docker-compose -f docker-compose.yml -f deploy/mujoco-assets.yml config \
  >"$tmp/assets.yml" 2>"$tmp/err" || fail "with deploy/mujoco-assets.yml: $(cat "$tmp/err")"
n=$(grep -c "TD3D_MUJOCO_ASSETS: /opt/gymnasium-assets" "$tmp/assets.yml")
[ "$n" = 3 ] || fail "deploy/mujoco-assets.yml gives TD3D_MUJOCO_ASSETS to $n services, not 3"
n=$(grep -c -- "- $tmp:/opt/gymnasium-assets:ro" "$tmp/assets.yml")
[ "$n" = 3 ] || fail "deploy/mujoco-assets.yml mounts the assets into $n services, not 3"
if docker-compose -f docker-compose.yml -f deploy/curve.yml config >/dev/null 2>"$tmp/err"; then
  fail "deploy/curve.yml was accepted without TD3D_KEYS"
fi
grep -q "TD3D_KEYS" "$tmp/err" || fail "deploy/curve.yml without TD3D_KEYS: $(cat "$tmp/err")"
TD3D_KEYS=$tmp TD3D_ASSETS=$tmp docker-compose -f docker-compose.yml -f deploy/mujoco-assets.yml \
  -f deploy/curve.yml config >"$tmp/all.yml" 2>"$tmp/err" || fail "with deploy/curve.yml: $(cat "$tmp/err")"
n=$(grep -c "TD3D_CURVE_KEY: /keys/" "$tmp/all.yml")
[ "$n" = 3 ] || fail "deploy/curve.yml gives a key to $n services, not 3"
n=$(grep -c -- "- $tmp:/keys:ro" "$tmp/all.yml")
[ "$n" = 3 ] || fail "deploy/curve.yml mounts the keys into $n services, not 3"
echo "compose files: valid; mujoco-assets.yml (TD3D_ASSETS) and curve.yml (TD3D_KEYS) reach all 3 services"

# --- 2. each service's variables are its program's --------------------------------------------
python3 - "$tmp/all.yml" >"$tmp/vars" <<'PY' || fail "cannot read the rendered compose file"
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
for name, svc in cfg["services"].items():
    cmd = svc.get("command") or []
    prog = cmd[0] if cmd else "?"
    for var in (svc.get("environment") or {}):
        if var.startswith("TD3D_"):
            print(name, prog, var)
PY
checked=0
while read -r service prog var; do
  "$td3d" "$prog" --help >"$tmp/help" 2>&1 || fail "service $service: td3d $prog --help failed"
  # variables outside the flag tables, read by td3d itself (README, Configuration)
  case "$var" in TD3D_LOG_LEVEL | TD3D_MUJOCO_ASSETS | TD3D_MODELS_DIR | TD3D_GEMM) ;;
  *) grep -q "\[$var\]" "$tmp/help" || fail "service $service sets $var, which td3d $prog does not read" ;;
  esac
  checked=$((checked + 1))
done <"$tmp/vars"
[ "$checked" -ge 10 ] || fail "only $checked TD3D_* variables found in the compose file"
echo "compose variables: $checked, each read by its service's program"

# --- 3. the image has td3d's libraries ------------------------------------------------------
installs=$(sed -n '/^FROM \${BASE}$/,$p' deploy/Dockerfile | sed -n '/apt-get.*install/,/rm -rf/p')
[ -n "$installs" ] || fail "deploy/Dockerfile: no apt-get install in the runtime stage"
libs=0
for needed in $(readelf -d "$td3d" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  case "$needed" in ld-linux*) continue ;; esac # the dynamic loader: libc6
  path=$(ldd "$td3d" | awk -v l="$needed" '$1 == l { print $3 }')
  [ -n "$path" ] || fail "ldd does not resolve $needed"
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$pkg" ] || fail "no Debian package owns $path ($needed)"
  case "$pkg" in
    libc6 | libgcc-s1) continue ;;                    # in every Debian image
    libasan* | libubsan* | libtsan* | liblsan*) continue ;; # a sanitizer build's runtime
  esac
  # libopenblas0-pthread and its alternatives provide libblas.so.3/libopenblas.so.0
  echo "$installs" | grep -qw -- "$pkg" || fail "deploy/Dockerfile does not install $pkg ($needed)"
  libs=$((libs + 1))
done
[ "$libs" -ge 5 ] || fail "only $libs libraries checked"
echo "image libraries: the Dockerfile installs the packages of all $libs libraries td3d needs"

# --- 4. Prometheus ---------------------------------------------------------------------------
command -v promtool >/dev/null || fail "promtool is not installed (tools/deps.sh installs prometheus)"
promtool check config deploy/prometheus.yml >"$tmp/prom" 2>&1 || fail "deploy/prometheus.yml: $(cat "$tmp/prom")"
grep -q '"learner:9100"' deploy/prometheus.yml || fail "deploy/prometheus.yml does not scrape learner:9100"
grep -q "TD3D_STATUS_BIND: 0.0.0.0:9100" "$tmp/config.yml" || fail "the learner's status is not on port 9100"
echo "prometheus.yml: valid, scrapes the learner's status port"

# --- 5. the Dockerfiles ------------------------------------------------------------------------
python3 - "$tmp/config.yml" >"$tmp/dockerfiles" <<'PY' || fail "cannot read the rendered compose file"
import sys, yaml
for name, svc in yaml.safe_load(open(sys.argv[1]))["services"].items():
    b = svc.get("build") or {}
    print(name, b.get("context", "."), b.get("dockerfile", "Dockerfile"), b.get("target", "-"))
PY
while read -r service context dockerfile target; do
  [ -f "$context/$dockerfile" ] || fail "service $service builds $dockerfile, which does not exist"
  [ "$target" = - ] || grep -q "^FROM .* AS $target\$" "$context/$dockerfile" ||
    fail "service $service builds stage $target, which $dockerfile does not have"
done <"$tmp/dockerfiles"
[ "$(grep -c . "$tmp/dockerfiles")" -ge 4 ] || fail "fewer than 4 services build an image"
# every stage of deploy/Dockerfile before the last is one the image copies from
for stage in $(sed -nE 's/^FROM .* AS ([A-Za-z0-9_.-]+)$/\1/p' deploy/Dockerfile); do
  grep -q -- "--from=$stage " deploy/Dockerfile ||
    fail "deploy/Dockerfile: the image uses nothing of stage $stage, which the classic builder builds all the same"
done
echo "Dockerfiles: each service's exists; deploy/Dockerfile has no stage the image does not use"
echo "PASS"
