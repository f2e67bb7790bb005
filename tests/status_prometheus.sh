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
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init
start_learner 28580 28590 --eval-every=100000000
start_actor 28580 --name=prom/0

cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: td3d
    static_configs:
      - targets: ['127.0.0.1:28590']
YML
start_bg "$dir/prometheus.log" prometheus --config.file="$dir/prometheus.yml" \
  --storage.tsdb.path="$dir/data" --web.listen-address=127.0.0.1:28591

query() { http_get 28591 "/api/v1/query?query=$1"; }

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
echo "targets: $(http_get 28591 /api/v1/targets 2>&1)"
echo "learner /healthz: $(http_get 28590 /healthz 2>&1)"
tail -n 5 "$dir"/*.log
exit 1
