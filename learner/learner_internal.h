/* The learner's shared state, for the learner's own files only: learner.c (the run's steps),
 * learner_state.c (construction), learner_config.c, learner_control.c (main thread),
 * learner_status.c, learner_ingest.c, learner_trainer.c and learner_checkpoint.c.
 *
 * Sharing rules: counters are C11 atomics; replay has its own lock; td3 belongs to the
 * trainer thread while it runs (main uses it before the threads start and after they are
 * joined); the weights copy and the training stats are guarded by short mutexes held for
 * copies only. wake (with wake_lock) is signalled by ingest after an insert and by the
 * trainer after updates, so each side waits with a timeout instead of spinning. */
#ifndef TD3_LEARNER_INTERNAL_H
#define TD3_LEARNER_INTERNAL_H

#include "curve_security.h"
#include "actors.h"
#include "eval_token.h"
#include "checkpoint.h"
#include "hello_limit.h"
#include "learner.h"
#include "loss_watch.h"
#include "ratelimit.h"
#include "replay.h"
#include "status.h"
#include "wire.h"
#include "zap_guard.h"

#include <pthread.h>
#include <stdatomic.h>

/* Each counter below that the status snapshot, the stats, the result, /metrics or /status
 * show has a row in the table of counters.c: a new one is a field here and a row there. */
typedef struct learner {
  const learner_config_t *cfg;
  uint64_t run_id;
  env_t *env;                      /* the run's env: dims, bounds, final evaluation; NULL for
                                      an external env (config external) */
  const env_info_t *info;          /* env's info, or external_info */
  env_info_t external_info;        /* --env external:NAME: id NAME, dims and bounds from the
                                      configuration (bounds borrowed from it) */
  td3_t *td3;
  replay_t *replay;
  actor_table_t *actors;
  ratelimit_t rl;
  wire_limits_t limits;            /* what experience frames must match */
  void *zctx;
  const curve_sock_t *curve;       /* CURVE server keys for every socket, or NULL */
  zap_guard_t *zap;                /* the ZAP handler: CURVE keys, experience connections */
  size_t n_authorized;             /* actor keys it accepts */
  eval_token_t eval_token;         /* what an evaluator's Hello must carry (len 0: nothing);
                                      read as the run opens, main thread only afterwards */
  char experience_ep[128], weights_ep[128], control_ep[128];
  /* The experience (PULL) and weights (ROUTER) sockets and their monitors, bound by run_start on
   * the main thread right after the control socket and before any thread starts: a peer that
   * connects to one port as soon as it is bound cannot take another, still unbound, as its
   * outgoing connection's local port. The ingest and trainer threads take them at their start
   * and close them; run_close closes what a thread never took. */
  void *experience_sock, *weights_sock, *weights_mon;

  _Atomic uint64_t inserted;       /* transitions in replay */
  _Atomic uint64_t updates;        /* TD3 iterations done */
  _Atomic uint64_t batches;        /* experience frames accepted */
  _Atomic uint64_t rejected[WIRE_REASON_COUNT];  /* experience + control frames by reason */
  _Atomic uint64_t rejected_unregistered;        /* batches from slots without a lease or without
                                           the slot's lease, evaluation reports not from the
                                           slot's evaluator or without its lease, heartbeats
                                           not from the slot's holder, without its lease or
                                           for a slot without a lease (one of another run:
                                           rejected[WIRE_RUN_ID]) */
  _Atomic uint64_t hellos_dropped; /* Hellos over a connection's, address's or key's allowance */
  _Atomic uint64_t hellos_refused; /* Hellos answered with a refusal (any reason) */
  _Atomic uint64_t hellos_unauthorized; /* of those, evaluators without the evaluator token */
  _Atomic uint64_t slots_preempted;/* slots taken from idle holders for newcomers */
  _Atomic uint64_t over_budget;    /* transitions refused because the budget was reached */
  _Atomic uint64_t rejected_bounds; /* batches that carried transitions out of bounds */
  _Atomic uint64_t out_of_bounds;  /* those transitions (refused; the batch's others go on) */
  _Atomic uint64_t rollback_dropped; /* replay rows dropped by rollbacks (inserted after the
                                        checkpoint a rollback restored) */
  /* evaluation reports at or above the target return (learner_record.c): */
  _Atomic uint64_t target_confirmed;   /* that ended the run: the learner's own evaluation
                                          agreed (external env: a second report in a row) */
  _Atomic uint64_t target_unconfirmed; /* that the learner's evaluation did not confirm, or that
                                          it could not check (not recorded; the run goes on) */
  _Atomic uint64_t target_untrained;   /* of the untrained networks (recorded; never the end) */
  _Atomic uint64_t reports_dropped;    /* evaluation reports dropped: the queue behind a check
                                          was full */
  _Atomic uint64_t weights_version;
  _Atomic uint64_t weights_broadcasts;  /* Weights frames published (new versions and re-sends) */
  _Atomic uint64_t weights_subscribers; /* the weights socket's subscriber table's entries */
  _Atomic uint64_t weights_frames_refused; /* frames to the weights socket that were not a
                                              subscribe frame (dropped) */
  _Atomic uint64_t weights_subscribers_refused; /* subscribe frames from a new routing id
                                                   while the subscriber table was full */
  _Atomic uint64_t handshake_failures;  /* connections to any of the three sockets whose
                                           ZeroMQ handshake failed (the monitors) */
  _Atomic uint64_t experience_disconnects; /* experience connections that ended */
  _Atomic uint64_t untrained_version; /* the version published before any update (0: none) */
  _Atomic uint64_t ingest_wait_ns; /* time ingest held a batch back (rate limiter) */
  _Atomic uint64_t lag_sum, lag_count, lag_max;  /* policy lag of accepted batches */
  _Atomic uint64_t first_insert_ns, last_insert_ns, first_update_ns, last_update_ns;
  _Atomic uint64_t trainer_wait_ns;/* time the trainer waited for data */
  _Atomic uint64_t train_episodes; /* training episodes the actors reported finished */
  _Atomic int64_t train_return_milli; /* their returns' sum, in thousandths (each clamped to
                                         +-1e12 so the sum cannot overflow) */
  _Atomic uint64_t lag_hist[STATUS_LAG_BUCKETS + 1];       /* accepted batches by policy lag */
  _Atomic uint64_t update_hist[STATUS_UPDATE_BUCKETS + 1]; /* td3_train calls by duration */
  _Atomic uint64_t update_ns_sum;  /* total time in td3_train */
  rng_t trainer_rng;               /* the trainer's stream (checkpointed by the trainer) */
  char *ckpt_dir;                  /* <out>/checkpoint, NULL: no checkpoints */
  uint64_t start_ns;               /* monotonic start of this process's run */
  double wall_offset;              /* seconds the run had before a resume */
  int resumed;                     /* the run continued from a checkpoint */
  _Atomic uint64_t checkpoints;    /* written */
  _Atomic uint64_t checkpoint_failures;
  _Atomic uint64_t rollbacks;      /* non-finite updates undone from the last checkpoint */
  uint32_t test_rejected;          /* trainer: updates rejected through test_hooks->reject_at */
  _Atomic uint64_t last_checkpoint_steps;  /* env steps in the latest checkpoint */
  _Atomic uint64_t last_checkpoint_ns;     /* monotonic time of it (0: none yet) */
  _Atomic int stop;                /* threads exit */
  _Atomic int ingest_closed;       /* the budget is inserted */
  _Atomic int trainer_drained;     /* ingest closed and every owed update done */
  _Atomic int fatal;               /* a thread failed: fatal_err says why */
  td3_err_t fatal_err;
  pthread_mutex_t wake_lock;
  pthread_cond_t wake;

  pthread_mutex_t weights_lock;    /* guards the fields below */
  float *weights_copy;             /* (n_params) latest published actor parameters */
  uint64_t weights_copy_version;
  size_t n_params;
  uint32_t layers[NN_MAX_LAYERS];
  uint32_t n_layers;
  td3_stats_t last_stats;
  loss_watch_t critic_watch;       /* the critic loss against its recent level */
} learner_t;

/* listen(2) backlog of the three bound sockets. A fleet connects at once when the learner
 * starts or comes back, one connection per actor and socket; beyond ZeroMQ's default of 100
 * the kernel drops the SYNs, and the actors' retries back off for seconds (1000 actors took
 * over 25 s to join). */
static inline int learner_backlog(const learner_config_t *c) { return (int)c->max_actors + 64; }

/* ---- construction (learner_state.c); main thread, before the other threads start ---- */

/* Zeroes *l and sets up its locks, condition and loss watch for configuration c (borrowed:
 * it must outlive l). Pair with learner_state_free. */
void learner_state_init(learner_t *l, const learner_config_t *c);

/* Creates what the run is made of: the checkpoint directory's name (run_dir NULL: no
 * checkpoints), the env, td3, the replay buffer, the actor table, a new run id and the
 * trainer's RNG. 0, or an error code with err filled; what was made is freed by
 * learner_state_free either way. */
int learner_state_open(learner_t *l, const char *run_dir, td3_err_t *err);

/* After open (and a resume, which may change the run id): the rate limiter, the weights copy,
 * the experience frame limits, the socket endpoints and the descriptor limit. Logs the memory
 * experience may hold. Allocates; cannot fail. */
void learner_state_wire(learner_t *l);

/* Releases everything init, open and wire made, the ZAP handler and the ZeroMQ context
 * (every socket must be closed before). */
void learner_state_free(learner_t *l);

/* ---- the sockets and their monitors (learner_monitor.c); each monitor is read by its
 * socket's thread ---- */

/* The monitor events every socket reports: handshakes that failed for a reason other than
 * authentication (which the ZAP handler counts): a client without CURVE against a CURVE
 * learner or the other way round, a peer that closed before its greeting, not ZMTP. */
#define LEARNER_MONITOR_EVENTS \
  (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)

/* A PAIR socket receiving sock's monitor events (a mask of ZMQ_EVENT_*), or NULL with a
 * warning naming the socket (tag): then nothing of it is counted. Call as soon as sock is
 * open: connections made before are not seen. */
void *learner_monitor_open(learner_t *l, void *sock, int events, const char *tag);

/* Reads mon's pending events without waiting: failed handshakes into l->handshake_failures;
 * accepted and ended connections into *connections (NULL: not kept); ended ones also into
 * *disconnects (NULL: not counted). mon NULL: nothing. */
void learner_monitor_drain(learner_t *l, void *mon, int64_t *connections,
                           _Atomic uint64_t *disconnects);

/* Closes *mon (NULL: nothing) and sets it NULL. */
void learner_monitor_close(void **mon);

/* Binds the three sockets one after the other, each with its monitor, on the main thread
 * before any other starts (learner_guard_start first): control (*router, *router_mon: the
 * main loop's), experience (l->experience_sock: the ingest thread takes it; its monitor goes
 * to the ZAP handler) and weights (l->weights_sock/_mon: the trainer thread takes them).
 * Experience holds at most what the peers can send: ZeroMQ drops a connection sending a
 * frame over max_frame before buffering it whole and queues LEARNER_EXPERIENCE_HWM frames a
 * connection, and the ZAP handler caps the connections; weights takes frames up to
 * LEARNER_SUBSCRIPTION_MAX, LEARNER_WEIGHTS_RCVHWM a connection, with connections bounded by
 * the descriptor limit set for max_actors, and its ROUTER keeps no state a peer's frames can
 * grow (the subscribers are the trainer's table, learner_weights_subs_cap entries). 0 or an
 * error with err filled; what was bound
 * stays for learner_sockets_close and the caller. */
int learner_sockets_bind(learner_t *l, void **router, void **router_mon, td3_err_t *err);

/* Closes the experience and weights sockets and monitors no thread took (NULL: nothing). */
void learner_sockets_close(learner_t *l);

/* ---- configuration (learner_config.c) ---- */

/* The checks learner_run makes before it builds anything (counts, directories, exposure).
 * 0 or TD3_EINVAL with err saying what to change. */
int learner_config_check(const learner_config_t *c, td3_err_t *err);

/* config.json's text for the run (its env, networks and replay must be open) into out. */
void learner_config_json(const learner_config_t *c, const learner_t *l, char *out, size_t cap);

/* ---- threads ---- */

void *learner_ingest_thread(void *arg);
void *learner_trainer_thread(void *arg);

/* Records a fatal error once (the first one wins) and asks every thread to stop. */
void learner_fail(learner_t *l, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A run that resumes (cfg->resume_dir): loads the checkpoint into td3 and replay and takes
 * its run id, trainer RNG, time and counters into l, filling *m. A new run: removes an old
 * run's checkpoint from the run directory so it cannot be resumed by mistake. Main thread,
 * before the other threads start. 0, or an error code with err filled. */
int learner_resume(learner_t *l, checkpoint_meta_t *m, td3_err_t *err);

/* Writes a checkpoint of the learner as it is now (the caller owns td3: the trainer thread
 * while it runs, main otherwise). 0, or an error code with err filled (logged by caller). */
int learner_checkpoint(learner_t *l, td3_err_t *err);

/* Turns CURVE security on (cfg->curve_key): reads the learner's key pair into *curve and the
 * authorized actor keys into *authorized (both must outlive the sockets and the handler),
 * starts the ZAP handler on l->zctx and sets l->curve. 0 or an error with err filled. */
int learner_curve_start(learner_t *l, curve_sock_t *curve, curve_authorized_t *authorized,
                        td3_err_t *err);

/* Starts the ZAP handler (l->zap) on l->zctx, after learner_curve_start and before the
 * sockets bind: with CURVE it accepts the authorized keys (authorized), without it plain
 * clients; and it caps the experience socket's connections (ZAP domain
 * LEARNER_EXPERIENCE_DOMAIN) at twice learner_experience_cap_per_address, that many from one
 * peer address, so what the socket can queue (LEARNER_EXPERIENCE_HWM frames of max_frame a
 * connection) has one bound however many connections peers open. 0 or an error. */
#define LEARNER_EXPERIENCE_DOMAIN "td3d-experience"
int learner_guard_start(learner_t *l, const curve_authorized_t *authorized, td3_err_t *err);

/* Experience connections one peer address may hold: every actor slot, a quarter more for
 * restarts whose old connection has not ended yet, and 8. */
uint32_t learner_experience_cap_per_address(const learner_config_t *c);

/* After a rejected (non-finite) update: restores the networks and Adam state of the latest
 * checkpoint into l->td3 (the trainer's; counters and RNG go on) and drops the replay rows
 * inserted since that checkpoint (they may be what made the update non-finite, and would
 * again), at most LEARNER_MAX_ROLLBACKS times a run. 0, or an error saying why training cannot go on (no
 * checkpoint, too many rollbacks, an unreadable checkpoint: then td3 must not be used). */
#define LEARNER_MAX_ROLLBACKS 3
int learner_rollback(learner_t *l, td3_err_t *err);

/* How long an experience connection's handshake may take (ZMQ_HANDSHAKE_IVL): a connection
 * the ZAP handler told to wait (over the cap) ends then, and its peer connects again. */
#define LEARNER_EXPERIENCE_HANDSHAKE_MS 5000

/* Experience frames ZeroMQ queues per connection before it stops reading that peer. */
#define LEARNER_EXPERIENCE_HWM 4

/* The largest frame a peer may send to the weights socket (ROUTER), bytes: above any
 * handshake command (CURVE's INITIATE with its metadata and a 255-byte routing id is under
 * 700) and a subscribe frame (1 byte, WIRE_WEIGHTS_SUBSCRIBE); ZeroMQ closes a connection that
 * sends more. */
#define LEARNER_SUBSCRIPTION_MAX 1024

/* Inbound messages (subscribe frames) the weights socket queues per connection. */
#define LEARNER_WEIGHTS_RCVHWM 8

/* Weights frames the weights socket queues per subscriber: a slow one misses broadcasts
 * (the send finds its queue full and skips it) instead of holding memory. */
#define LEARNER_WEIGHTS_SNDHWM 4

/* Messages the trainer reads from the weights socket per call (maybe_publish): the rest wait
 * in ZeroMQ's queues, LEARNER_WEIGHTS_RCVHWM a connection. */
#define LEARNER_WEIGHTS_READ_MAX 256

/* Entries in the weights subscriber table: twice the experience connections one address may
 * hold (every slot, restarts and evaluators have room twice over); a subscribe frame from a
 * new routing id beyond that is refused and counted until an entry expires. */
uint32_t learner_weights_subs_cap(const learner_config_t *c);

/* Run seconds so far, including those before a resume. */
double learner_wall(const learner_t *l);

/* Wakes threads waiting on l->wake. */
void learner_wake(learner_t *l);

/* Waits on l->wake for at most ms milliseconds. */
void learner_wait(learner_t *l, unsigned ms);

#endif
