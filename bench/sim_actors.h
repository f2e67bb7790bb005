/* Simulated actors for bench_actors: N actors in this process, each speaking the protocol as
 * actor/actor.c does over sockets of its own (control DEALER, experience PUSH, weights DEALER,
 * with the actor's options): Hello under a unique name with the actor's back-off (0.25 s
 * doubling to 4 s), heartbeats every 200 ms carrying the Welcome's lease, Pendulum
 * ExperienceBatches (obs 3, act 1; rows of real Pendulum transitions under random actions) at
 * a set rate carrying it too, the actor's pacing, Hello again after a Reject(UNKNOWN_SLOT)
 * or 5 s without an answer (a lost lease, counted), and the Weights it receives decoded. A
 * few worker threads serve all of them, each waiting in epoll on its sockets' ZMQ_FDs
 * (libzmq 4.3's zmq_poll is O(sockets) per call and its poller API is a draft), with timers
 * every TICK_NS.
 *
 * The weights sockets live in a ZeroMQ context of their own (as in separate actor processes,
 * a weights backlog does not hold up the control path); both contexts raise ZMQ_MAX_SOCKETS
 * for their sockets (the default allows 1023).
 *
 * Lifetime: sim_open (the caller owns the sim_t, zeroed by sim_open), sim_start, then
 * sim_stop and sim_close (both safe on a sim that did not start or open completely). The
 * caller reads the structs below between sim_start and sim_close: counters are atomics; the
 * per-actor fields (joined_ns, hello_out_ns) are plain and read after the join or the stop. */
#ifndef TD3_SIM_ACTORS_H
#define TD3_SIM_ACTORS_H

#include "error.h"
#include "wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HEARTBEAT_NS 200000000ULL        /* actor.c's heartbeat_ms */
#define LEARNER_TIMEOUT_NS 5000000000ULL /* actor.c's learner_timeout_ms */
#define TICK_NS 10000000ULL              /* the simulated actors' timer resolution */
#define HB_RING 16                       /* heartbeats in flight per actor */
#define POOL_ROWS 4000                   /* real Pendulum transitions the batches are cut from */
#define EP_LEN 200                       /* Pendulum's time limit */

typedef struct sim_config {
  uint32_t actors;      /* how many */
  uint32_t threads;     /* worker threads serving them */
  uint32_t io_threads;  /* ZeroMQ I/O threads of each of the two contexts */
  uint32_t batch_steps; /* the largest batch (the learner's --batch-steps) */
  double rate;          /* transitions/s each actor offers; 0: heartbeats only */
  unsigned port;        /* the learner's experience port (+1 weights, +2 control), 127.0.0.1 */
  int no_weights;       /* open no weights socket */
  int no_decode;        /* count the Weights received without decoding them */
} sim_config_t;

typedef struct sim_actor {
  uint32_t index;
  void *dealer, *weights, *push; /* weights: a DEALER, as the real actor's */
  uint64_t subscribed_ns;        /* the latest subscribe frame to the weights socket (0: never) */
  int registered, dead;
  wire_welcome_t welcome;
  uint64_t joined_ns;            /* first Welcome (0: never) */
  uint64_t hello_out_ns;         /* the first Hello ZeroMQ took (the control connection was up) */
  uint64_t hello_ns, backoff_ms, last_hb_ns, last_ack_ns, next_send_ns, blocked_since_ns;
  uint64_t hb_sent[HB_RING];     /* send times of unanswered heartbeats, a FIFO */
  uint32_t hb_head, hb_n;
  uint64_t seq, session_sent, session_accepted, accepted_changed_ns;
  uint64_t run_env_steps, run_updates, version;
  uint32_t pool_at;              /* next pool row to send */
} sim_actor_t;

typedef struct sim_counters {
  _Atomic uint64_t hellos, welcomes, reject_full, reject_fatal, unknown_slot, timeouts;
  _Atomic uint64_t hb_sent, hb_answered, batches, transitions, send_eagain, paced;
  _Atomic uint64_t weights, weights_bad, control_bad, blocked_ns;
  _Atomic uint64_t weights_bytes;  /* the largest Weights frame */
} sim_counters_t;

typedef struct sim sim_t;

typedef struct sim_worker {
  sim_t *sim;
  pthread_t thread;
  uint32_t first;                /* actors first, first + step, ... */
  int epfd;
  wire_buf_t buf, cbuf;
  float *obs, *act, *rew, *next, *term;  /* one batch being built */
  wire_episode_t *eps;
  sim_counters_t c;
  uint64_t hb_gap_max_ns;        /* longest between two heartbeats of one actor while measuring
                                    (this process late: a starved machine, not the learner) */
  uint64_t hb_gap_all_ns;        /* the same over the whole run (from each Welcome on) */
  uint32_t *rtt_us;              /* heartbeat round trips while measuring */
  size_t n_rtt, cap_rtt;
} sim_worker_t;

struct sim {
  sim_config_t cfg;
  void *zctx;                    /* control and experience sockets */
  void *wctx;                    /* weights sockets: I/O threads of their own, as in separate
                                    actor processes (a weights backlog does not hold up the
                                    control path) */
  sim_actor_t *a;
  sim_worker_t *w;
  uint32_t step;                 /* actors per worker stride (= cfg.threads) */
  uint32_t batch_steps;          /* the batch buffers' rows (cfg.batch_steps) */
  /* the pool: consecutive Pendulum steps under uniform random actions, episodes of 200 */
  float *p_obs, *p_act, *p_rew, *p_next;
  float p_ep_return[POOL_ROWS / EP_LEN];
  _Atomic int stop, measuring;   /* set by the caller: end; record round trips */
  int started;                   /* worker threads running */
  _Atomic uint32_t joined;
  uint64_t start_ns;
};

typedef struct sim_totals {
  uint64_t hellos, welcomes, reject_full, reject_fatal, unknown_slot, timeouts;
  uint64_t hb_sent, hb_answered, batches, transitions, send_eagain, paced, weights, weights_bad,
      control_bad, blocked_ns, weights_bytes;
} sim_totals_t;

/* Opens every actor's sockets and registers them with their worker's epoll set; timing starts
 * here (start_ns). 0, or -1 with err filled (sim_close cleans up). */
int sim_open(sim_t *s, const sim_config_t *c, td3_err_t *err);

/* Starts the worker threads: the actors say Hello and go on from there. */
void sim_start(sim_t *s);

/* Stops and joins the worker threads (nothing when they did not start). */
void sim_stop(sim_t *s);

/* Closes every socket and both contexts and frees what sim_open allocated; may be called
 * twice. */
void sim_close(sim_t *s);

/* Sums the workers' counters (any thread, while they run). */
void sim_totals(const sim_t *s, sim_totals_t *t);

/* The heartbeat round trips recorded while s->measuring was set, sorted, in microseconds
 * (the caller frees the array; *n_out of them); in *gap_max_s the longest an actor went
 * between two heartbeats then, in *gap_all_s over the whole run. Call after sim_stop. */
uint32_t *sim_rtt(const sim_t *s, size_t *n_out, double *gap_max_s, double *gap_all_s);

#endif
