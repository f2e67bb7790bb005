#!/bin/bash
# Checkpoints with real processes.
#  1. `td3d learner` stopped with SIGTERM writes a checkpoint and exits 0; started again with
#     --resume it has the same run id, at least the checkpoint's env steps, updates and
#     weights version (read from its /metrics), and its actor (left running) rejoins and
#     training goes on. A damaged checkpoint is refused with a message and exit status 2.
#  2. `td3d run`: the learner is killed with SIGKILL after its first checkpoint; the launcher
#     restarts it from the checkpoint and the run finishes its step budget (exit 0), with a
#     progress.csv whose env steps never go back, a loadable policy, and a final checkpoint
#     that `td3d checkpoint` describes (a damaged one it refuses).
#  3. `td3d learner --continue` (the restart loop of a container or a service): in a new run
#     directory it starts a new run; started again with the same command it continues that
#     run from its checkpoint (same run id, counters go on); a directory that holds a run but
#     no checkpoint is refused, not overwritten.
#  4. A learner killed long after its last checkpoint comes back behind its actors and its
#     evaluator, which stay up: they must take the run's counters from the restarted learner
#     (not wait for the steps they saw before), so training goes on past the old step count
#     and the evaluator evaluates on the restarted run's schedule.
# usage: checkpoint_resume.sh TD3D_BINARY
set -u
td3d=$1
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init

run_id() { http_get "$1" /metrics 2>/dev/null | grep -o 'run_id="[0-9a-f]*"'; }

# --- 1. SIGTERM, then --resume ------------------------------------------------------------
base=28720 status=28723
start_learner $base $status --checkpoint-every=1 --log-level=info
learner_pid=${pids[-1]}
start_actor $base --name=ckpt/0
wait_metric td3d_updates_total $status 300
wait_metric td3d_checkpoints_total $status 1
id_before=$(run_id $status)
kill -TERM "$learner_pid"
wait_exit "$learner_pid" 60
rc=$?
[ "$rc" -eq 0 ] || fail "the learner exited with $rc after SIGTERM"
[ -f "$dir/run/checkpoint/state.td3c" ] || fail "no checkpoint after SIGTERM"
line=$(grep 'checkpoint: ' "$dir/learner.log" | tail -1)
read -r steps updates version < <(echo "$line" |
  sed -E 's/.*checkpoint: ([0-9]+) env steps, ([0-9]+) updates, weights version ([0-9]+).*/\1 \2 \3/')
[ -n "$version" ] || fail "no checkpoint line in the learner's log"
echo "checkpoint at exit: $steps env steps, $updates updates, weights version $version"

mv "$dir/learner.log" "$dir/learner-1.log"
start_learner $base $status --checkpoint-every=1 --log-level=info --resume="$dir/run"
wait_metric td3d_env_steps_total $status "$steps"
[ "$(run_id $status)" = "$id_before" ] || fail "run id changed: $id_before -> $(run_id $status)"
got_updates=$(metric td3d_updates_total $status)
got_steps=$(metric td3d_env_steps_total $status)
got_version=$(metric td3d_weights_version $status)
[ "$got_updates" -ge "$updates" ] || fail "updates went back: $updates -> $got_updates"
[ "$got_version" -gt "$version" ] || fail "weights version did not go on: $version -> $got_version"
grep -q "resumed run" "$dir/learner.log" || fail "no 'resumed run' line"
# the actor that stayed up rejoins and training continues past the checkpoint
wait_metric td3d_updates_total $status $((got_updates + 300))
wait_metric td3d_env_steps_total $status $((got_steps + 300))
echo "resumed: updates $got_updates -> $(metric td3d_updates_total $status)"
learner_pid=${pids[-1]}
kill -TERM "$learner_pid"
wait_exit "$learner_pid" 60 || fail "the resumed learner did not exit 0"
# the run keeps its preset: config.json names it, and another one is refused on --resume
grep -q '"preset": "td3-repo"' "$dir/run/config.json" || fail "config.json does not name the preset"
"$td3d" learner --bind=127.0.0.1 --resume="$dir/run" --preset=td3-paper --status-bind=off >"$dir/preset.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "--resume with another --preset exited $rc, not 2"
grep -q "was started with --preset td3-repo" "$dir/preset.out" ||
  fail "no preset message: $(cat "$dir/preset.out")"

# a damaged checkpoint is refused, naming the file
printf 'XXXX' | dd of="$dir/run/checkpoint/state.td3c" bs=1 seek=100 conv=notrunc status=none
"$td3d" learner --bind=127.0.0.1 --resume="$dir/run" --status-bind=off --quiet >"$dir/damaged.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "damaged checkpoint: exit $rc, expected 2"
grep -q "damaged" "$dir/damaged.out" || fail "damaged checkpoint: $(cat "$dir/damaged.out")"
"$td3d" checkpoint "$dir/run" >"$dir/describe.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "damaged" "$dir/describe.out" ||
  fail "td3d checkpoint on a damaged checkpoint: exit $rc, $(cat "$dir/describe.out")"

# --- 2. the launcher brings a killed learner back from its checkpoint ----------------------
base=28730 status=28733
start_bg "$dir/run2.log" "$td3d" run --env=Pendulum-v1 --steps=4000 --start-steps=500 \
  --hidden=32,32 --batch=32 --eval-every=1000 --eval-episodes=2 --actors=1 \
  --checkpoint-every=1 --experience-port=$base --weights-port=$((base + 1)) \
  --control-port=$((base + 2)) --bind=127.0.0.1 --status-bind=127.0.0.1:$status \
  --out="$dir/run2" --quiet
run_pid=${pids[-1]}
wait_metric td3d_checkpoint_env_steps $status 1000
learner=$(ps --ppid "$run_pid" -o pid=,args= | awk '$3 == "learner" { print $1 }')
[ -n "$learner" ] || fail "no learner child of td3d run ($run_pid)"
kill -KILL "$learner"
wait_exit "$run_pid" 150
rc=$?
[ "$rc" -eq 0 ] || fail "td3d run exited with $rc after its learner was killed"
grep -q "restarting it in [0-9]* ms from its checkpoint" "$dir/run2.log" ||
  fail "the launcher did not restart the learner from its checkpoint"
awk -F, 'NR > 1 { if ($1 + 0 < last) bad = 1; last = $1 + 0 } END { exit bad }' \
  "$dir/run2/progress.csv" || fail "progress.csv goes back: $(cat "$dir/run2/progress.csv")"
final=$(tail -1 "$dir/run2/progress.csv" | cut -d, -f1)
[ "$final" -ge 4000 ] || fail "the run ended at $final env steps, budget 4000"
"$td3d" eval --policy="$dir/run2/policy.td3p" --env=Pendulum-v1 --episodes=1 >/dev/null ||
  fail "the final policy does not load"
"$td3d" checkpoint "$dir/run2" >"$dir/describe2.out" 2>&1 || fail "td3d checkpoint: $(cat "$dir/describe2.out")"
grep -q "^env steps *4000$" "$dir/describe2.out" && grep -q "^environment *Pendulum-v1" "$dir/describe2.out" &&
  grep -q "^actor *3-32-32-1$" "$dir/describe2.out" ||
  fail "td3d checkpoint does not describe the finished run: $(cat "$dir/describe2.out")"
echo "td3d run: learner killed, restarted from its checkpoint, finished at $final env steps"

# --- 3. --continue: the same command starts a run, then continues it ----------------------
base=28740 status=28743
mv "$dir/learner.log" "$dir/learner-2.log"
start_learner $base $status --checkpoint-every=1 --log-level=info --continue --out="$dir/run3"
learner_pid=${pids[-1]}
start_actor $base --name=cont/0
wait_metric td3d_updates_total $status 300
wait_metric td3d_checkpoints_total $status 1
id_before=$(run_id $status)
grep -q "continuing" "$dir/learner.log" && fail "--continue in a new directory claimed to continue a run"
kill -TERM "$learner_pid"
wait_exit "$learner_pid" 60 || fail "the --continue learner did not exit 0 after SIGTERM"
updates=$(grep 'checkpoint: ' "$dir/learner.log" | tail -1 | sed -E 's/.* ([0-9]+) updates.*/\1/')
mv "$dir/learner.log" "$dir/learner-3.log"
start_learner $base $status --checkpoint-every=1 --log-level=info --continue --out="$dir/run3"
learner_pid=${pids[-1]}
wait_metric td3d_updates_total $status $((updates + 300))
[ "$(run_id $status)" = "$id_before" ] || fail "--continue: run id changed: $id_before -> $(run_id $status)"
grep -q "has a checkpoint; continuing that run" "$dir/learner.log" || fail "--continue did not continue"
kill -TERM "$learner_pid"
wait_exit "$learner_pid" 60 || fail "the continued learner did not exit 0"
rm -r "$dir/run3/checkpoint"
"$td3d" learner --bind=127.0.0.1 --continue --out="$dir/run3" --experience-port=$base --weights-port=$((base + 1)) \
  --control-port=$((base + 2)) --status-bind=off --quiet >"$dir/nockpt.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "already holds a run" "$dir/nockpt.out" ||
  fail "--continue over a run without a checkpoint: exit $rc, $(cat "$dir/nockpt.out")"
[ -s "$dir/run3/progress.csv" ] || fail "--continue over a run without a checkpoint lost its progress.csv"
echo "--continue: started a run, continued it after $updates updates, refused a run without checkpoint"

# --- 4. a restart that rolls the run back (checkpoint at the start only) -------------------
base=28744 status=28747
mv "$dir/learner.log" "$dir/learner-4.log"
roll=(--checkpoint-every=0 --continue --out="$dir/run4" --max-lead=100 --eval-every=400
  --eval-episodes=1)
start_learner $base $status "${roll[@]}"
learner_pid=${pids[-1]}
start_actor $base --name=roll/0
start_actor $base --name=roll/eval --eval
wait_metric td3d_env_steps_total $status 3000
wait_metric td3d_evaluations_total $status 3
killed_at=$(metric td3d_env_steps_total $status)
kill -KILL "$learner_pid"
wait "$learner_pid" 2>/dev/null
mv "$dir/learner.log" "$dir/learner-5.log"
start_learner $base $status "${roll[@]}"
learner_pid=${pids[-1]}
wait_metric td3d_env_steps_total $status $((killed_at + 1000))
# the checkpoint was taken at 0 env steps: every row now is the restarted run's
new_eval=$(awk -F, -v k="$killed_at" 'NR > 1 && $1 > 0 && $1 < k { print $1; exit }' \
  "$dir/run4/progress.csv")
[ -n "$new_eval" ] || fail "no evaluation below $killed_at env steps after the restart: $(cat "$dir/run4/progress.csv")"
kill -TERM "$learner_pid"
wait_exit "$learner_pid" 60 || fail "the restarted learner did not exit 0"
echo "rollback: killed at $killed_at env steps, restarted at 0, trained past $((killed_at + 1000)), evaluated at $new_eval"
echo "PASS"
