/* The actor process: steps K copies of the run's environment with the latest policy plus
 * exploration noise and streams the transitions to the learner; or, in evaluator mode, runs
 * deterministic evaluation episodes and reports their returns.
 *
 * Life cycle: it says Hello on the control socket (DEALER) and retries with back-off until
 * a Welcome gives it a slot, its noise settings and the run's seed. It then acts: uniformly
 * random actions until the run has start_steps transitions in total (the count arrives with
 * every Weights message), afterwards the policy plus Gaussian (or Ornstein-Uhlenbeck) noise.
 * Transitions go out in ExperienceBatch frames on a PUSH socket; when the learner applies
 * back-pressure the frame waits (pending, with a deadline send_timeout_ms away) and the actor
 * stops stepping: its one loop keeps serving heartbeats, weights and control messages and
 * sends the frame when there is room, or drops it at the deadline (counting the wait as
 * blocked time, the transitions as dropped). Heartbeats go out every heartbeat_ms; when the
 * learner has not answered one for learner_timeout_ms (it died, or restarted), the actor logs
 * it and says Hello again (a frame still pending is dropped), so it rejoins a restarted
 * learner by itself. SIGTERM/SIGINT: it sends what it holds if ZeroMQ has room for it at once,
 * and exits 0.
 *
 * Evaluator mode: every eval_every run env steps (and at 0) it evaluates the latest weights
 * on eval_episodes deterministic episodes (common/env/evaluate.h, seed + 100) and sends an
 * EvalReport; its transitions never go to replay. */
#ifndef TD3_ACTOR_H
#define TD3_ACTOR_H

#include "env.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct actor_config {
  const char *env_id;
  env_options_t env_opts;
  const char *learner_host;          /* host name or address of the learner */
  unsigned experience_port, weights_port, control_port;
  const char *name;                  /* stable across restarts; default host/0 */
  uint32_t envs;                     /* env copies stepped together (K) */
  int eval;                          /* evaluator mode */
  uint32_t heartbeat_ms;
  uint32_t learner_timeout_ms;
  uint32_t send_timeout_ms;
  uint64_t max_env_steps;            /* stop after this many env steps (0: never); for tests */
  const char *curve_key;             /* CURVE security: this actor's .key file, and the */
  const char *curve_server;          /* learner's .pub (both or neither; curve_security.h) */
  const char *eval_token_file;       /* evaluator mode: the file of the learner's evaluator
                                        token (common/net/eval_token.h), sent in its Hellos;
                                        NULL: none. Not read for an actor */
  _Atomic int *stop;
} actor_config_t;

typedef struct actor_result {
  uint64_t env_steps;      /* valid transitions produced */
  uint64_t sent;           /* transitions handed to ZeroMQ */
  uint64_t dropped;        /* transitions dropped under back-pressure or without a learner */
  uint64_t blocked_us;     /* time blocked on back-pressure */
  uint64_t episodes;
  uint64_t env_errors;     /* steps that failed (episode cut) */
  uint64_t registrations;  /* Welcomes received */
  uint64_t evaluations;    /* evaluator mode: reports sent */
  uint64_t policy_version; /* last weights version used */
  int run_over;            /* stopped because the learner said the run is over */
} actor_result_t;

/* The defaults: the rows of the actor's flag table (actor_flags.c, common/net/cluster_flags.c). */
void actor_config_default(actor_config_t *c);

/* Runs until *stop, max_env_steps, the learner's word that the run is over (RunOver: returns
 * 0 with res->run_over set), or a fatal refusal (the learner trains another env or
 * shape: an error naming both). Returns 0 or a negative code with err filled. */
int actor_run(const actor_config_t *c, actor_result_t *res, td3_err_t *err);

#endif
