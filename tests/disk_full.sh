#!/bin/bash
# A full disk is never reported as success: `td3d run` with --out on a 2 MB tmpfs (most of it
# taken by a filler file) checkpoints while its replay buffer is small, then its checkpoints
# stop fitting. The run must end with exit status 4 and say that its end was not saved and how
# far back --resume goes, not "continue with --resume"; the last good checkpoint must still be
# whole (`td3d checkpoint` checks it, replay included); and once there is room, `--resume`
# says how many env steps it goes back. Skipped (77) where a tmpfs cannot be mounted (not
# root, or no CAP_SYS_ADMIN in a container).
# usage: disk_full.sh TD3D_BINARY
set -u
td3d=$1
# shellcheck source=status_lib.sh
. "$(dirname "$0")/status_lib.sh"
status_lib_init
mnt="$dir/out"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=2m tmpfs "$mnt" 2>"$dir/mount.err"; then
  echo "SKIP: cannot mount a 2 MB tmpfs for a full disk ($(cat "$dir/mount.err")); needs root"
  exit 77
fi
cleanup() {
  status_lib_cleanup_pids
  umount "$mnt" 2>/dev/null
  rm -rf "$dir"
}
status_lib_cleanup_pids() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
# about 250 KB left: the first checkpoints fit, one with a 6000-row replay (216 KB) beside
# its predecessor does not
dd if=/dev/zero of="$mnt/filler" bs=1k count=1790 status=none 2>/dev/null
base=29760
ports=(--experience-port=$base --weights-port=$((base + 1)) --control-port=$((base + 2)))
start_bg "$dir/run.log" "$td3d" run --env=Pendulum-v1 --steps=6000 --start-steps=500 \
  --hidden=32,32 --batch=32 --eval-every=1000 --eval-episodes=2 --actors=1 \
  --checkpoint-every=0.5 --status-bind=off --out="$mnt/run" --quiet "${ports[@]}"
run_pid=${pids[-1]}
wait_exit "$run_pid" 200
rc=$?
df -k "$mnt" | tail -1
tail -5 "$dir/run.log"
[ "$rc" -eq 4 ] || fail "td3d run on a full disk exited $rc, not 4"
grep -q "continue with --resume" "$dir/run.log" && fail "a run whose end was not saved says 'continue with --resume'"
grep -q "final checkpoint could not be written" "$dir/run.log" || fail "no line saying the final checkpoint failed"
line=$(grep -o "holds [0-9]* of the run's [0-9]* env steps: --resume [^ ]* goes back to it" "$dir/run.log")
[ -n "$line" ] || fail "no line saying how far back --resume goes"
read -r kept total < <(echo "$line" | sed -E "s/holds ([0-9]+) of the run's ([0-9]+) env steps.*/\1 \2/")
echo "the end was not saved: the checkpoint holds $kept of $total env steps"
[ "$kept" -lt "$total" ] || fail "the checkpoint holds the whole run ($kept of $total), the disk was not full"

# the last good checkpoint is whole: no checkpoint was deleted before its successor existed
"$td3d" checkpoint "$mnt/run" >"$dir/describe.log" 2>&1 || fail "the last good checkpoint is not whole: $(cat "$dir/describe.log")"
grep -q "^env steps *$kept$" "$dir/describe.log" || fail "td3d checkpoint: $(cat "$dir/describe.log")"

# with room again, --resume says how far back it goes
rm -f "$mnt/filler"
start_bg "$dir/resume.log" "$td3d" learner --bind=127.0.0.1 --resume="$mnt/run" --status-bind=off --quiet \
  --log-level=info "${ports[@]}"
learner_pid=${pids[-1]}
for _ in $(seq 100); do grep -q "resumed run" "$dir/resume.log" && break; sleep 0.1; done
grep -q "it goes back $((total - kept)) env steps" "$dir/resume.log" ||
  grep -q "it goes back [0-9]* env steps" "$dir/resume.log" ||
  fail "--resume does not say how far back it goes"
grep "goes back" "$dir/resume.log"
kill -TERM "$learner_pid"
wait_exit "$learner_pid" 60
rc=$?
[ "$rc" -eq 0 ] || fail "the resumed learner exited $rc after SIGTERM (with room on the disk)"
echo "ok: a full disk ends the run with status 4 and says how far back --resume goes"
