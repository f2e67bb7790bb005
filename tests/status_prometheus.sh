#!/bin/bash
# A real Prometheus scrapes a live learner: a learner and an actor (processes of the td3d
# binary) on loopback ports of their own, Prometheus (Debian's package) started with a scrape
# config pointing at the learner's status socket, then its query API must report up == 1 and a
# non-zero td3d_updates_total. Every process started here is stopped by its pid.
# usage: status_prometheus.sh TD3D_BINARY   (exit 77: skipped, prometheus not installed)
set -u
td3d=$1
if ! command -v prometheus >/dev/null 2>&1; then
  echo "prometheus not found (Debian package 'prometheus'): skipping the scrape test"
  exit 77
fi
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

ports="--experience-port=38580 --weights-port=38581 --control-port=38582"
# shellcheck disable=SC2086
"$td3d" learner $ports --bind=127.0.0.1 --status-bind=127.0.0.1:38590 --steps=100000000 \
  --start-steps=200 --hidden=32,32 --batch=32 --eval-every=100000000 --out="$dir/run" --quiet \
  >"$dir/learner.log" 2>&1 &
pids+=($!)
# shellcheck disable=SC2086
"$td3d" actor $ports --name=prom/0 --log-level=warn >"$dir/actor.log" 2>&1 &
pids+=($!)

cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: td3d
    static_configs:
      - targets: ['127.0.0.1:38590']
YML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address=127.0.0.1:38591 >"$dir/prometheus.log" 2>&1 &
pids+=($!)

# GET path from Prometheus's HTTP API with bash's /dev/tcp (no HTTP client needed)
query() {
  local reply
  exec 3<>/dev/tcp/127.0.0.1/38591 || return 1
  printf 'GET /api/v1/query?query=%s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  reply=$(cat <&3)
  exec 3<&-
  printf '%s' "${reply#*$'\r\n\r\n'}"
}

up="" updates=""
for _ in $(seq 1 60); do
  sleep 1
  up=$(query 'up%7Bjob%3D%22td3d%22%7D' 2>/dev/null)
  updates=$(query 'td3d_updates_total' 2>/dev/null)
  if printf '%s' "$up" | grep -q '"value":\[[0-9.]*,"1"\]' &&
     printf '%s' "$updates" | grep -q '"value":\[[0-9.]*,"[1-9][0-9]*"\]'; then
    echo "prometheus: up == 1; td3d_updates_total: $updates"
    exit 0
  fi
done
echo "prometheus never saw the learner up with updates"
echo "up: $up"
echo "updates: $updates"
tail -5 "$dir/prometheus.log" "$dir/learner.log" "$dir/actor.log"
exit 1
