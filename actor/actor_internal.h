/* The actor's state and the functions its two files share: actor.c (the loop, acting,
 * evaluating) and actor_messages.c (everything said to and heard from the learner: Hello,
 * heartbeats, experience frames, Welcome, Reject, RunOver, Weights).
 *
 * Thread: an actor_t belongs to the thread that runs actor_run; nothing here is shared. */
#ifndef TD3_ACTOR_INTERNAL_H
#define TD3_ACTOR_INTERNAL_H

#include "actor.h"

#include "curve_security.h"
#include "eval_token.h"
#include "env_vec.h"
#include "nn.h"
#include "rng.h"
#include "transition.h"
#include "wire.h"

#include <stdint.h>

typedef struct actor {
  const actor_config_t *cfg;
  actor_result_t *res;
  char name[WIRE_MAX_NAME + 1];
  void *zctx, *dealer, *push;
  void *weights;                /* DEALER to the learner's weights ROUTER */
  uint64_t subscribed_ns;       /* when the latest subscribe frame went (0: never) */
  void *monitor;                /* handshake events of the control socket */
  curve_sock_t curve;           /* client keys when CURVE is on */
  eval_token_t eval_token;      /* evaluator mode: what its Hellos carry (len 0: none) */
  wire_buf_t buf;               /* experience frames */
  wire_buf_t cbuf;              /* control frames (separate: a heartbeat may go out while a
                                   batch waits in buf) */
  env_t *probe;                 /* an env instance for dims/bounds (and evaluation) */
  const env_info_t *info;

  /* from the Welcome */
  int registered;
  int run_over;               /* the learner said the run is over: stop, exit 0 */
  wire_welcome_t welcome;       /* its lease (128 bits) goes with every batch, heartbeat and
                                   evaluation report, and with the Hello after a reconnect */
  uint64_t run_id;
  /* weights */
  nn_policy_t *policy;
  uint64_t version;             /* 0: none yet */
  uint64_t run_env_steps;       /* run-wide transitions, from the latest Weights */
  uint64_t run_updates;         /* the learner's TD3 updates, from the latest Weights */
  uint64_t backlog_wait_ns;     /* when the backlog rule began to hold this actor with
                                   run_updates at backlog_updates; 0: not held */
  uint64_t backlog_updates;
  uint32_t backlog_free;        /* steps the stall rule still lets go (should_pace) */
  uint64_t session_sent;        /* transitions sent since the latest Welcome */
  uint64_t session_accepted;    /* of those, accepted by the learner (heartbeat answers) */
  uint64_t accepted_changed_ns; /* when session_accepted last moved */
  uint64_t finish_wait_ns;      /* finishing: when the wait for confirmations began, 0 before */
  /* acting */
  env_vec_t *vec;
  rng_t noise_rng;
  float *actions;               /* (K, act) */
  float *ou;                    /* (K, act) Ornstein-Uhlenbeck state */
  /* the batch being filled: room for batch_steps + K rows (a step of K copies may overshoot
   * by K - 1), allocated at a Welcome, grown only for a larger batch_steps */
  transition_batch_t batch;
  wire_episode_t *eps;          /* (batch.cap) episodes that ended in the batch */
  uint32_t n_eps;
  uint64_t seq;
  /* the encoded frame (in buf) waiting for room on the PUSH socket; while it waits the
   * actor does not step, and the main loop (actor_turn) serves it with everything else */
  struct {
    int active;
    uint32_t n;                 /* transitions in it */
    uint64_t since_ns;          /* its first refused send */
    uint64_t deadline_ns;       /* dropped if still refused then */
    uint32_t timeout_ms;        /* deadline - first attempt, for the log */
  } pending;
  int finishing;                /* max_env_steps reached: send what is left, then stop */
  /* evaluator: returns of one evaluation, allocated at the Welcome */
  double *returns;              /* (returns_cap) */
  float *returns32;             /* (returns_cap), as the EvalReport carries them */
  uint32_t returns_cap;
  /* timers */
  uint64_t last_hello_ns, hello_backoff_ms, last_heartbeat_ns, last_ack_ns, last_wait_log_ns;
  uint64_t started_wait_ns;     /* when the actor last began waiting for a Welcome */
  uint64_t next_eval_at;        /* evaluator: run env steps of the next evaluation */
  int resync_eval;              /* evaluator: check next_eval_at against the run once the
                                   learner's counters are known again */
} actor_t;

/* Weights frames the weights socket queues before it drops new ones (the learner queues as
 * many per subscriber); actor_poll_weights reads them all and keeps the newest. */
#define ACTOR_WEIGHTS_HWM 4
/* Training that has not moved for this long while the backlog rule holds an actor lets a
 * batch go (actor.c, should_pace). */
#define ACTOR_BACKLOG_STALL_NS 1000000000ULL

/* Why a pending experience frame was given up (each has its log line). */
typedef enum actor_drop {
  ACTOR_DROP_SHUTDOWN, /* stopping, and the socket had no room */
  ACTOR_DROP_CONTACT,  /* no lease any more (no answer, or the learner forgot the slot) */
  ACTOR_DROP_TIMEOUT,  /* no room within the frame's deadline */
  ACTOR_DROP_NEW_SLOT  /* a Welcome for another run or slot: the frame's header is stale */
} actor_drop_t;

/* Messages to the learner, on the control socket; never block (a full queue drops them). */
/* Send without waiting; 0 when the message went out, -1 when it could not (no connection to
 * the learner yet: the control socket queues nothing while it has none). */
int actor_send_control(actor_t *a, const wire_control_t *m);
int actor_send_hello(actor_t *a);
void actor_send_heartbeat(actor_t *a);

/* Reads every control message waiting (Welcome, heartbeat answers, Reject, RunOver). Returns 0,
 * or a negative code with err filled for a refusal that retrying cannot fix (another env or
 * shape, another protocol version). Call from the main loop's turn only. */
int actor_poll_control(actor_t *a, td3_err_t *err);
/* Subscribes to the weights (WIRE_WEIGHTS_SUBSCRIBE) when the latest subscribe frame is
 * WIRE_WEIGHTS_SUBSCRIBE_MS old, then takes the newest Weights frame, if any (of those the
 * weights socket queued). */
void actor_poll_weights(actor_t *a);

/* Experience frames. actor_batch_seal encodes the filled batch (emptying it) and sends it if
 * the PUSH socket has room, else makes it the pending frame with a deadline timeout_ms away;
 * call it only when no frame is pending. actor_pending_serve is the loop's turn while one is:
 * send it if there is room, drop it at its deadline, else wait at most 50 ms for room, a
 * control message or weights. actor_pending_try sends it if there is room (returns 1 when it
 * left); actor_pending_drop gives it up (no-op without one). Sent transitions count in
 * res->sent, given-up ones in res->dropped, the wait in res->blocked_us. */
void actor_batch_seal(actor_t *a, uint32_t timeout_ms);
void actor_pending_serve(actor_t *a, uint64_t now);
int actor_pending_try(actor_t *a);
void actor_pending_drop(actor_t *a, actor_drop_t why);

#endif
