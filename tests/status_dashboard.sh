#!/bin/bash
# The dashboard in headless Chromium (Debian's package) against a live learner with an actor
# and an evaluator. The page is rendered as it is right after it opens (500 ms of virtual
# time: the first poll of /status only): it loads with no failed request, the rendered DOM
# holds one curve point per evaluation the learner had reported (counted from /status before
# and after the page was rendered), and the throughput chart already holds its two series,
# each with several points, from the history the learner keeps (not only what the page itself
# saw). The learning curve has its +-1 std band (around every point), the dashed line of the
# run's --target-return and labelled ticks on both axes. A screenshot after several polls is
# kept as a test artifact.
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
start_learner 28680 28690 --eval-every=400 --eval-episodes=2 --target-return=0
start_actor 28680 --name=dash/0
start_actor 28680 --eval --name=dash/eval

# evaluations in the learner's curve, from /status (each curve point has an "untrained" flag;
# best_eval repeats one point's figures but not that key)
evaluations() { http_get 28690 /status | grep -o '"untrained":' | wc -l; }

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
wait_metric td3d_uptime_seconds 28690 5

flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --user-data-dir="$dir/profile" --enable-logging=stderr --v=0)
"${browser}" "${flags[@]}" --virtual-time-budget=500 --dump-dom http://127.0.0.1:28690/ \
  >"$dir/dom.html" 2>"$dir/chromium.log"
after=$(evaluations)
points=$(grep -Eo 'class="point( untrained)?"' "$dir/dom.html" | wc -l)
rates=$(grep -o 'class="rate ' "$dir/dom.html" | wc -l)
# the points of each throughput series: the segments of its path
series_points() {
  grep -o "<path[^>]*class=\"rate $1\"[^>]*>" "$dir/dom.html" | grep -o '[ML][0-9.-]* [0-9.-]*' | wc -l
}
sps_points=$(series_points sps) ups_points=$(series_points ups)
# the learning curve's own part of the DOM
sed 's/<svg id="tput"/\n&/' "$dir/dom.html" | grep -o '<svg id="curve".*' >"$dir/curve.html"
band_points=$(grep -o '<path[^>]*class="band"[^>]*>' "$dir/curve.html" | grep -o '[ML][0-9.-]* [0-9.-]*' | wc -l)
targets=$(grep -o '<line[^>]*class="target"' "$dir/curve.html" | wc -l)
target_label=$(grep -o '<text[^>]*class="target"[^>]*>[^<]*' "$dir/curve.html" | sed 's/.*>//')
ticks=$(grep -o 'class="tick"[^>]*>[^<]*' "$dir/curve.html" | sed 's/.*>//' | tr '\n' ' ')
mkdir -p "$artifacts"
"${browser}" "${flags[@]}" --virtual-time-budget=7000 --window-size=1100,1100 \
  --screenshot="$artifacts/dashboard.png" http://127.0.0.1:28690/ >/dev/null 2>>"$dir/chromium.log"

echo "evaluations before rendering: $before, after: $after; curve points in the DOM: $points;" \
  "throughput series: $rates ($sps_points and $ups_points points); band: $band_points points;" \
  "target lines: $targets ($target_label); curve ticks: $ticks"
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
# the band goes along the top of every point and back along the bottom
if [ "$band_points" -ne $((2 * points)) ]; then
  echo "the std band has $band_points points for $points evaluations"; exit 1
fi
if [ "$targets" -ne 1 ] || [ "$target_label" != "target 0" ]; then
  echo "the learning curve has $targets target lines labelled '$target_label' (--target-return=0)"; exit 1
fi
# labels on both axes: steps (0 and more) and returns (up to the target, 0)
n_ticks=$(echo "$ticks" | wc -w)
if [ "$n_ticks" -lt 6 ] || ! echo " $ticks" | grep -q ' 0 '; then
  echo "the learning curve's tick labels: '$ticks'"; exit 1
fi
[ -s "$artifacts/dashboard.png" ] && echo "screenshot: $artifacts/dashboard.png"
exit 0
