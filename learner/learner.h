/* The learner process: replay, TD3 training and weight broadcast for a fleet of actors.
 *
 * Threads (each ZeroMQ socket belongs to one of them):
 *   main     control socket (ROUTER): Hello -> Welcome/Reject, heartbeats and their
 *            answers, leases, evaluation reports; run directory, progress, stop decisions.
 *   ingest   experience socket (PULL): decode, validate, admit under the rate limiter, insert
 *            into replay (its only writer).
 *   trainer  TD3 iterations under the rate limiter; weights socket (PUB): publishes the actor
 *            every publish_every updates, and at least every 200 ms (so actors learn the
 *            run's env step count even while nothing trains), both within weights_budget_mb
 *            (a broadcast's bytes times its receivers, per second).
 * Checkpoints (learner/checkpoint.h) go to <out_dir>/checkpoint: when a new run starts
 * (so it can be continued from its first moment), from the trainer thread every
 * checkpoint_every seconds, and from the main thread when the run ends or is stopped (not
 * after a fatal error: the last good checkpoint stays). resume_dir restores one: networks,
 * Adam state, counters, weights version, run id, the trainer's RNG and the replay buffer;
 * actors of the run reconnect by themselves.
 *
 * The run ends when the env step budget is inserted and the updates it owes are done (then the
 * learner evaluates the final policy itself), when an evaluation reaches the target return
 * (an evaluator's report only once the learner's own evaluation agrees: learner_control.h),
 * on a stop request (SIGINT/SIGTERM), or on a fatal error. A non-finite update is not fatal
 * by itself: it is rejected and the learner rolls back to its latest checkpoint and goes on
 * (learner/learner_trainer.c); it ends the run only when there is no checkpoint to roll
 * back to, the checkpoint cannot be read, or after LEARNER_MAX_ROLLBACKS (3, in
 * learner_internal.h) rollbacks. */
#ifndef TD3_LEARNER_H
#define TD3_LEARNER_H

#include "actors.h"
#include "env.h"
#include "td3.h"
#include "wire.h"

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef enum learner_noise {
  LEARNER_NOISE_GAUSSIAN = 1,
  LEARNER_NOISE_OU = 2
} learner_noise_t;

/* What the learner counted over a run (filled at the end when learner_config.stats_out is
 * set): for tests and tools that need more than the result. */
typedef struct learner_stats {
  uint64_t rejected[WIRE_REASON_COUNT];  /* experience and control frames, by reason */
  uint64_t rejected_unregistered;        /* batches from slots without a lease or without
                                           the slot's lease, evaluation reports not from the
                                           slot's evaluator or without its lease, heartbeats
                                           not from the slot's holder or without its lease */
  uint64_t rejected_bounds;              /* batches with transitions out of bounds */
  uint64_t out_of_bounds;                /* transitions refused out of bounds (max_abs_value,
                                            action bounds) */
  uint64_t rollback_dropped;             /* replay rows dropped by rollbacks */
  uint64_t target_confirmed;             /* reports at or above the target that ended the run */
  uint64_t target_unconfirmed;           /* ... that the learner's evaluation did not confirm */
  uint64_t target_untrained;             /* ... of the untrained networks */
  uint64_t reports_dropped;              /* evaluation reports dropped behind a check */
  uint64_t hellos_dropped;               /* Hellos over a connection's allowance */
  uint64_t hellos_refused;               /* Hellos answered with a refusal */
  uint64_t hellos_unauthorized;          /* ... of them, evaluators without the evaluator
                                            token */
  uint64_t slots_preempted;              /* slots taken from idle holders for newcomers */
  uint64_t experience_disconnects;       /* experience connections that ended */
  uint64_t experience_connections_refused; /* told to wait: over the connection cap */
  uint64_t handshake_failures;           /* handshakes failed (no CURVE, not ZeroMQ) */
  uint64_t weights_frames_refused;       /* frames to the weights socket that were not a
                                            subscribe frame */
  uint64_t weights_subscribers_refused;  /* subscribe frames refused: the table was full */
  uint64_t inserted, updates, batches, over_budget, weights_version;
  uint64_t lag_sum, lag_count, lag_max;  /* policy lag (weights versions) of accepted batches */
  uint64_t first_insert_ns, last_insert_ns;  /* monotonic times of the first and last insert */
  uint64_t first_update_ns, last_update_ns;  /* and of the first and last TD3 update */
  double ratio_min, ratio_max;           /* updates / (ratio x (inserted - start)), sampled
                                            every 100 ms once past 10 x max_lead; NaN if never */
  uint32_t n_actors;
  actor_info_t actors[64];               /* the actor table at the end (first 64 slots) */
} learner_stats_t;

/* An env the learner does not build (`--env external:NAME`): its actors are other programs
 * (clients/python/), and the learner knows only what the flags say. */
#define LEARNER_EXTERNAL_PREFIX "external:"

typedef struct learner_external {
  uint32_t obs_dim, act_dim;        /* sizes of an observation and an action */
  const float *action_low;          /* (act_dim) borrowed from the caller (learner_cli_t) */
  const float *action_high;         /* (act_dim) each > action_low */
} learner_external_t;

/* The NAME of an env id "external:NAME", or NULL for any other id. */
const char *learner_external_name(const char *env_id);

/* What only tests set: hooks that reach paths a healthy run does not take (a slow trainer,
 * updates that fail). learner_config_t.test_hooks points here; NULL in every program. */
typedef struct learner_test_hooks {
  uint32_t train_delay_us;    /* sleep after each update: slows the trainer on purpose */
  uint64_t reject_at;         /* treat update number N as non-finite (rejected) ... */
  uint32_t reject_times;      /* ... this many times in a row (the rollback path) */
} learner_test_hooks_t;

typedef struct learner_config {
  const char *env_id;         /* a registry id, plugin:..., or external:NAME (then external) */
  learner_external_t external; /* external:NAME: dims and bounds; unused otherwise */
  const char *preset;         /* the preset that set the defaults (learner/preset.h), for
                                 config.json and /status; NULL: not known (an old checkpoint) */
  env_options_t env_opts;
  uint64_t seed;
  uint64_t steps;             /* env step budget (transitions inserted); 0 = no limit */
  uint64_t start_steps;       /* run-wide random-action steps before training */
  double target_return;       /* stop when an evaluation reaches it; NaN = never */
  td3_config_t td3;           /* dims and bounds come from the env */
  size_t replay_capacity;
  double replay_ratio;        /* updates per inserted transition; 0: no training (benchmarks) */
  uint64_t max_lead;          /* transitions data may run ahead of training */
  uint32_t publish_every;     /* updates between weight publishes */
  double weights_budget_mb;   /* MB/s the weights broadcast may take over all actors (a
                                 broadcast is frame bytes x receivers: the actors holding a
                                 lease or the weights socket's connections, whichever are
                                 more); 0: no limit */
  uint32_t batch_steps;       /* transitions per ExperienceBatch (told to actors) */
  learner_noise_t noise;      /* exploration noise kind for actors */
  float expl_noise;           /* Gaussian std (fraction of the half action range) */
  int noise_spread;           /* spread sigma over slots between noise_min and noise_max */
  float noise_min, noise_max;
  float ou_sigma, ou_theta, ou_dt;
  uint64_t eval_every;        /* run env steps between evaluations (told to evaluators) */
  uint32_t eval_episodes;
  const char *bind_host;      /* address to bind, "*" for all interfaces */
  unsigned experience_port, weights_port, control_port;
  uint32_t max_actors;
  uint32_t lease_ms;
  uint32_t max_evaluators;    /* slots evaluators may hold */
  uint32_t idle_lease_ms;     /* an actor without experience this long (the data not held back)
                                 gives its slot to a newcomer when the table is full */
  const char *out_dir;
  int overwrite;
  int progress;               /* 0 quiet, 1 lines, 2 lines + live line on a TTY */
  size_t max_frame;           /* largest experience frame accepted, bytes (0: from the env's
                                 dims and batch_steps, learner_frame_limit) */
  double max_abs_value;       /* a transition whose observation, next observation or reward
                                 is this large in magnitude (or whose action lies outside the
                                 env's bounds) is refused */
  const char *status_bind;    /* status server HOST:PORT (learner/status.h); NULL or "off":
                                 none. A port that cannot be bound is a warning, not an error */
  const char *resume_dir;     /* continue the run in this run directory from its checkpoint/;
                                 out_dir must be NULL or the same directory */
  double checkpoint_every;    /* seconds between checkpoints into out_dir/checkpoint while
                                 training; 0: only when the learner stops. No out_dir: none */
  int checkpoint_replay;      /* checkpoints include the replay buffer */
  const char *flags_text;     /* the run's flags, "--name=value" lines, kept in checkpoints so
                                 `--resume` can start the same run again; may be NULL */
  int insecure;               /* 1: bind a non-loopback address without CURVE on purpose */
  const char *curve_key;      /* CURVE security (curve_security.h): the learner's .key file; NULL:
                                 security off */
  const char *curve_authorized; /* directory of the actors' authorized .pub files (needed with
                                   curve_key) */
  const char *eval_token_file; /* the evaluator token's file (common/net/eval_token.h): a Hello
                                  as an evaluator must carry its token, else it is refused
                                  (REJECT_UNAUTHORIZED); NULL: evaluators need none */
  const learner_test_hooks_t *test_hooks; /* tests only (borrowed; outlives the run); NULL:
                                             none */
  learner_stats_t *stats_out; /* optional: filled when the run ends */
  _Atomic int *stop;
} learner_config_t;

typedef struct learner_result {
  uint64_t run_id;
  uint64_t inserted;          /* transitions in replay over the run */
  uint64_t updates;
  uint64_t weights_version;
  uint64_t rejected_frames;   /* experience or control frames refused, all reasons */
  uint64_t over_budget;       /* transitions that arrived after the budget was reached */
  double wall_seconds;
  double last_eval;           /* mean return of the latest evaluation (NaN: none) */
  double best_eval;           /* the highest of a trained policy (NaN: none; see
                                 evaluate_untrained) */
  int solved;
  uint64_t solved_at;
  double solved_seconds;
  uint32_t evaluations;
  uint64_t checkpoints;       /* checkpoints written */
  uint64_t checkpoint_steps;  /* env steps held by the latest good checkpoint (0: none) */
  int checkpoint_failed;      /* the checkpoint of the run's end could not be written: the
                                 latest good one holds checkpoint_steps, fewer than inserted */
  uint32_t output_failures;   /* progress.csv, curve.svg or policy.td3p writes that failed */
  char save_error[512];       /* the latest of those failures (or the checkpoint's), or "" */
  uint64_t rollbacks;         /* non-finite updates undone by restoring the last checkpoint */
  int resumed;                /* the run continued from a checkpoint */
} learner_result_t;

/* The defaults: the rows of the learner's flag table and the default preset (learner_flags.c),
 * with no status server. */
void learner_config_default(learner_config_t *c);

/* The most transitions an ExperienceBatch may carry: batch_steps plus one step of an actor's
 * env copies (it sends once it holds batch_steps rows). */
uint32_t learner_batch_rows(const learner_config_t *c);

/* The experience frame limit when max_frame is 0: learner_batch_rows of this env's rows and
 * room for the rest of the message. */
size_t learner_frame_limit(const learner_config_t *c, uint32_t obs_dim, uint32_t act_dim);

/* 1 if host (a --bind value) is a loopback address: 127.x.y.z, ::1, localhost or lo. */
int learner_bind_is_loopback(const char *host);

/* Secure by default: a learner whose sockets bind anything but loopback needs CURVE
 * (curve_key) or insecure. Returns 0, or TD3_EINVAL with err saying what to do. */
int learner_exposure_check(const learner_config_t *c, td3_err_t *err);

/* Runs a learner until the run ends (see above). Returns 0, or a negative code with err
 * filled (bad configuration, a port in use, an output error, a training error that no
 * rollback could undo). A run that ended but could not save its end (the final checkpoint,
 * or a run directory write: a full disk) returns 0 with res->checkpoint_failed or
 * res->output_failures set, and res->checkpoint_steps saying what the latest good checkpoint
 * holds. */
int learner_run(const learner_config_t *c, learner_result_t *res, td3_err_t *err);

/* Sigma of the Gaussian exploration noise for a slot under the configuration. */
float learner_slot_sigma(const learner_config_t *c, uint32_t slot);

#endif
