/* The learner's control socket and the run's record of evaluations (main thread only).
 *
 * The control socket (ROUTER) answers Hello with Welcome or Reject, heartbeats from a slot's
 * holder (its connection, its lease) with the run's counters, and takes evaluation reports
 * from the connection holding an evaluator's slot with that slot's lease; at the end it
 * tells the slot holders RunOver (learner_control.c). The reports, and the learner's own
 * final evaluation, go into the run's result, progress.csv, curve.svg, policy.td3p and the
 * status snapshot's curve (learner_record.c).
 *
 * A report at or above the target return ends the run only when the learner agrees: a
 * report of the untrained networks never does; for an env the learner builds, its own
 * evaluation of its latest weights (the report's weights when they are still the latest) on
 * a thread of its own (learner_eval.h) must reach the target too, or the report is refused
 * and not recorded; for an external env, which the learner cannot step, a second report in a
 * row must reach it. Reports that arrive during such a check wait in order behind it.
 * learner.c owns the learner_control_t and drives it from its main loop. */
#ifndef TD3_LEARNER_CONTROL_H
#define TD3_LEARNER_CONTROL_H

#include "learner_eval.h"
#include "learner_internal.h"
#include "progress.h"
#include "rundir.h"

#define LEARNER_PEER_ID_MAX 255 /* ZeroMQ's longest routing id */

/* Reports that may wait behind a check of a report that claims the target; more are dropped
 * and counted (an evaluator sends one per evaluation interval). */
#define LEARNER_REPORT_QUEUE 16

/* An evaluation report as the learner took it in. */
typedef struct learner_report {
  uint64_t env_steps;       /* the run's env steps the evaluation was made at */
  uint64_t policy_version;  /* the weights version it evaluated (0: unknown) */
  uint64_t updates;         /* the learner's updates when it arrived */
  double wall;              /* run seconds when it arrived */
  uint32_t slot;            /* the evaluator's */
  int untrained;            /* it shows the untrained networks */
  uint32_t n;               /* returns */
  double *returns;          /* (WIRE_MAX_EVAL_EPISODES) points into learner_control_t.report_block */
} learner_report_t;

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
   * heartbeat or evaluation report for a slot must come from that connection (and carry the
   * slot's lease, actors.h): after a learner restart that kept the run id, slots are handed
   * out anew, and a process still holding an old slot number must not pass for the slot's
   * new holder. */
  uint8_t (*peer)[LEARNER_PEER_ID_MAX];  /* (max_actors) */
  uint8_t *peer_len;                     /* (max_actors) bytes of each, 0: none */
  hello_limit_t hello_limit;     /* Hellos per connection */
  hello_limit_t hello_by_peer;   /* Hellos per peer address (all its connections) */
  hello_limit_t hello_by_key;    /* Hellos per CURVE client key (all its connections) */
  uint64_t train_episodes_seen;  /* learner_t's training-episode counters at the last row */
  int64_t train_return_seen;
  /* curve.svg and policy.td3p are rewritten at most every LEARNER_OUTPUTS_EVERY_NS (each
   * costs a redraw of every point, or an fsync), and once more at the end of the run */
  uint64_t outputs_ns;           /* when they were last written (0: never) */
  int outputs_stale;             /* an evaluation was recorded since */
  /* reports that claim the target return (learner_record.c) */
  learner_eval_t *eval;          /* the learner's own evaluations (owned; NULL until the first) */
  double *report_block;          /* (LEARNER_REPORT_QUEUE + 2, WIRE_MAX_EVAL_EPISODES) returns */
  learner_report_t incoming;     /* the report being taken in */
  learner_report_t checking;     /* the report whose claim the running evaluation checks */
  int check_running;             /* an evaluation of ct->eval checks ct->checking */
  learner_report_t queue[LEARNER_REPORT_QUEUE]; /* reports that came during the check, a ring */
  uint32_t queue_head, queue_len;
  uint64_t check_inserted;       /* env steps inserted when the latest check started */
  int have_checked;              /* a check was started */
  int ending;                    /* the run is ending: no new check starts */
  uint32_t claims_in_row;        /* external env: trained reports at or above the target in a row */
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

/* ---- the record of evaluations (learner_record.c) ---- */

/* Allocates the report buffers; called by learner_control_init. */
void learner_record_init(learner_control_t *ct);

/* Waits for a running check and frees what learner_record_init and the checks allocated. */
void learner_record_free(learner_control_t *ct);

/* Takes an evaluation into the run's result and the status snapshot: the latest, the count,
 * the curve, and the best unless it shows the untrained networks. Used for progress.csv rows
 * a resumed run keeps. */
void learner_control_note_eval(learner_control_t *ct, status_point_t p);

/* Takes in an evaluation report from the evaluator holding slot e->slot (the caller checked
 * the connection, the run id and the env steps): recorded now, or behind a running check, or,
 * when it claims the target return, checked first (see the top of this file). e is borrowed. */
void learner_record_report(learner_control_t *ct, const wire_eval_report_t *e);

/* Finishes a check that is done (and starts the next waiting report's), without waiting.
 * Main loop, every turn. */
void learner_record_poll(learner_control_t *ct);

/* The run is ending: waits for a running check, then records the reports waiting behind it
 * (one that claims the target is refused: no new check starts). */
void learner_record_settle(learner_control_t *ct);

/* The learner's own evaluation of the actor parameters params (weights version version) at
 * the run's current env steps: recorded, and the run solved if it reaches the target (and is
 * not of the untrained networks). 0, or an error code with err filled (an env of its own
 * could not be made or stepped, or the policy made). Waits for the evaluation. */
int learner_record_final(learner_control_t *ct, const float *params, uint64_t version,
                         td3_err_t *err);

/* Rewrites curve.svg and policy.td3p if an evaluation was recorded since they were last
 * written and, unless force, they are LEARNER_OUTPUTS_EVERY_NS old. A failed write is
 * counted in the result. */
void learner_control_write_outputs(learner_control_t *ct, int force);

/* Sends RunOver to every process that holds a slot, and answers what arrives in the next
 * half second with RunOver too. */
void learner_control_announce_run_over(learner_control_t *ct, const char *reason);

#endif
