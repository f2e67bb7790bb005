#!/bin/bash
# The dashboard in headless Chromium (Debian's package) against a live learner with an actor
# and an evaluator. The page is rendered as it is right after it opens (500 ms of virtual
# time: the first poll of /status only): it loads with no failed request, the rendered DOM
# holds one curve point per evaluation the learner had reported (counted from /status before
# and after the page was rendered), and the throughput chart already holds its two series,
# each with several points, from the history the learner keeps (not only what the page itself
# saw). A screenshot after several polls is kept as a test artifact.
# usage: status_dashboard.sh TD3D_BINARY ARTIFACT_DIR   (exit 77: skipped, chromium not installed)
set -u
td3d=$1 artifacts=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium not found (Debian package 'chromium'): skipping the dashboard test"
  exit 77
fi
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init
start_learner 38680 38690 --eval-every=400 --eval-episodes=2
start_actor 38680 --name=dash/0
start_actor 38680 --eval --name=dash/eval

# evaluations in the learner's curve, from /status (each curve point has an "untrained" flag;
# best_eval repeats one point's figures but not that key)
evaluations() { http_get 38690 /status | grep -o '"untrained":' | wc -l; }

before=0
for _ in $(seq 1 60); do
  sleep 1
  before=$(evaluations)
  [ "$before" -ge 2 ] && break
done
if [ "$before" -lt 2 ]; then
  echo "the learner reported fewer than 2 evaluations in 60 s"; tail -n 5 "$dir"/*.log; exit 1
fi

# at least three throughput samples (2 s apart) for two rates per series
wait_metric td3d_uptime_seconds 38690 5

flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --user-data-dir="$dir/profile" --enable-logging=stderr --v=0)
"${browser}" "${flags[@]}" --virtual-time-budget=500 --dump-dom http://127.0.0.1:38690/ \
  >"$dir/dom.html" 2>"$dir/chromium.log"
after=$(evaluations)
points=$(grep -Eo 'class="point( untrained)?"' "$dir/dom.html" | wc -l)
rates=$(grep -o 'class="rate ' "$dir/dom.html" | wc -l)
# the points of each throughput series: the segments of its path
series_points() {
  grep -o "<path[^>]*class=\"rate $1\"[^>]*>" "$dir/dom.html" | grep -o '[ML][0-9.-]* [0-9.-]*' | wc -l
}
sps_points=$(series_points sps) ups_points=$(series_points ups)
mkdir -p "$artifacts"
"${browser}" "${flags[@]}" --virtual-time-budget=7000 --window-size=1100,1100 \
  --screenshot="$artifacts/dashboard.png" http://127.0.0.1:38690/ >/dev/null 2>>"$dir/chromium.log"

echo "evaluations before rendering: $before, after: $after; curve points in the DOM: $points;" \
  "throughput series: $rates ($sps_points and $ups_points points)"
failed=$(grep -E 'Failed to load resource|net::ERR_' "$dir/chromium.log" || true)
if [ -n "$failed" ]; then
  echo "failed requests:"; echo "$failed"; exit 1
fi
if [ "$points" -lt "$before" ] || [ "$points" -gt "$after" ]; then
  echo "the dashboard shows $points points, the learner had $before..$after evaluations"; exit 1
fi
if [ "$rates" -ne 2 ]; then
  echo "the throughput chart shows $rates series instead of 2 (env steps/s, updates/s) as the page opens"
  exit 1
fi
# the learner ran for several seconds (two evaluations): samples 2 s apart, one rate each
if [ "$sps_points" -lt 2 ] || [ "$ups_points" -lt 2 ]; then
  echo "the throughput series have $sps_points and $ups_points points as the page opens"; exit 1
fi
[ -s "$artifacts/dashboard.png" ] && echo "screenshot: $artifacts/dashboard.png"
exit 0
