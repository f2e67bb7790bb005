/* The learner's control socket and the run's record of evaluations (main thread only).
 *
 * The control socket (ROUTER) answers Hello with Welcome or Reject, heartbeats with the run's
 * counters, and takes evaluation reports into the run's result, progress.csv, curve.svg,
 * policy.td3p and the status snapshot's curve; at the end it tells the slot holders RunOver.
 * learner.c owns the learner_control_t and drives it from its main loop. */
#ifndef TD3_LEARNER_CONTROL_H
#define TD3_LEARNER_CONTROL_H

#include "learner_internal.h"
#include "progress.h"
#include "rundir.h"

#define LEARNER_PEER_ID_MAX 255 /* ZeroMQ's longest routing id */

typedef struct learner_control {
  learner_t *l;                  /* borrowed */
  void *router;                  /* the control socket (owned; NULL until opened) */
  void *monitor;                 /* its monitor (owned; NULL: none) */
  wire_buf_t buf;                /* encode buffer of the replies */
  rundir_t *dir;                 /* the run directory (owned), NULL: none */
  progress_t *pr;                /* borrowed */
  learner_result_t *res;         /* borrowed: evaluations and output failures land here */
  int finish;                    /* 1: the run is over (target reached) */
  status_snapshot_t *snap;       /* what the status server shows (owned); the curve is appended here */
  /* The ROUTER routing id of the connection that holds each slot (from its Hello). A
   * heartbeat for a slot must come from that connection: after a learner restart that kept
   * the run id, slots are handed out anew, and a process still holding an old slot number
   * must not pass for the slot's new holder. */
  uint8_t (*peer)[LEARNER_PEER_ID_MAX];  /* (max_actors) */
  uint8_t *peer_len;                     /* (max_actors) bytes of each, 0: none */
  hello_limit_t hello_limit;     /* Hellos per connection */
  uint64_t train_episodes_seen;  /* learner_t's training-episode counters at the last row */
  int64_t train_return_seen;
  /* curve.svg and policy.td3p are rewritten at most every LEARNER_OUTPUTS_EVERY_NS (each
   * costs a redraw of every point, or an fsync), and once more at the end of the run */
  uint64_t outputs_ns;           /* when they were last written (0: never) */
  int outputs_stale;             /* an evaluation was recorded since */
} learner_control_t;

/* Sets ct up for l (allocates the snapshot and the per-slot peer table; no socket yet). */
void learner_control_init(learner_control_t *ct, learner_t *l, learner_result_t *res,
                          progress_t *pr);

/* Closes the socket and the run directory and frees what init allocated. Safe on a ct that
 * init set up, whatever was opened since. */
void learner_control_free(learner_control_t *ct);

/* Opens the run directory into ct->dir (run_dir NULL: none): a resumed run's (resumed: what
 * its checkpoint held) keeps its progress rows up to the checkpoint, which go back into the
 * result and the curve; a new run's is created (refused if it holds a run, unless overwrite).
 * ct->snap->config_json must be filled. 0, or an error code with err filled. */
int learner_control_dir_open(learner_control_t *ct, const char *run_dir,
                             const checkpoint_meta_t *resumed, td3_err_t *err);

/* Waits up to timeout_ms for the control socket, then handles what arrived (at most 64
 * messages, fewer once the run is over). */
void learner_control_serve(learner_control_t *ct, int timeout_ms);

/* Takes an evaluation into the run's result and the status snapshot: the latest, the count,
 * the curve, and the best unless it shows the untrained networks. Used for progress.csv rows
 * a resumed run keeps. */
void learner_control_note_eval(learner_control_t *ct, status_point_t p);

/* Records an evaluation (from an evaluator or the learner's own final one) of the policy of
 * weights version policy_version (0: unknown): result, snapshot, progress line, progress.csv
 * row; sets ct->finish when it reaches the target return. returns is borrowed. */
void learner_control_record_eval(learner_control_t *ct, uint64_t env_steps,
                                 uint64_t policy_version, const double *returns, uint32_t n);

/* Rewrites curve.svg and policy.td3p if an evaluation was recorded since they were last
 * written and, unless force, they are LEARNER_OUTPUTS_EVERY_NS old. A failed write is
 * counted in the result. */
void learner_control_write_outputs(learner_control_t *ct, int force);

/* Sends RunOver to every process that holds a slot, and answers what arrives in the next
 * half second with RunOver too. */
void learner_control_announce_run_over(learner_control_t *ct, const char *reason);

#endif
