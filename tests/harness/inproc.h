/* A learner and actors as threads of one process, for tests and benchmarks.
 *
 * Each job holds a config, the run's results and the thread that runs learner_run or
 * actor_run on them. The jobs talk over real ZeroMQ sockets on loopback: a learner binds
 * 127.0.0.1 on port (experience), port + 1 (weights) and port + 2 (control), and an actor
 * given the same port connects to those three. The pattern is init, adjust cfg fields,
 * start, then join or stop:
 *
 *   inproc_learner_t L;
 *   inproc_learner_init(&L, "Pendulum-v1", 28110);
 *   L.cfg.steps = 10000;
 *   if (inproc_learner_start(&L) != 0) ...;
 *   ...
 *   if (!inproc_learner_join(&L, 300000)) ... the run had to be stopped ...;
 *
 * A job points into itself (cfg.stop, cfg.stats_out, cfg.test_hooks, cfg.name), so it must not move between
 * init and join. Strings put in cfg (env_id, out_dir, status_bind...) are borrowed and must
 * outlive the run. The functions are called from one controlling thread; the job's own
 * thread only writes res, err, rc and done. Nothing here asserts or exits: callers check the
 * return values (this module serves benchmarks as well as cmocka tests). */
#ifndef TD3_INPROC_H
#define TD3_INPROC_H

#include "actor.h"
#include "learner.h"
#include "wire.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* limit_ms for inproc_learner_join: wait for the run however long it takes. */
#define INPROC_NO_LIMIT UINT_MAX

typedef struct inproc_learner {
  learner_config_t cfg;   /* adjust between init and start */
  learner_stats_t stats;  /* filled when the run ends (cfg.stats_out points here) */
  learner_test_hooks_t hooks; /* adjust between init and start (cfg.test_hooks points here) */
  learner_result_t res;   /* valid after join */
  td3_err_t err;          /* the message when rc != 0 */
  int rc;                 /* learner_run's return code, valid after join */
  _Atomic int stop;       /* set to ask the run to end (cfg.stop points here) */
  _Atomic int done;       /* 1 once learner_run has returned */
  pthread_t thread;
  int started;            /* 1 between a successful start and the join */
} inproc_learner_t;

typedef struct inproc_actor {
  actor_config_t cfg;          /* adjust between init and start */
  actor_result_t res;          /* valid after join */
  td3_err_t err;               /* the message when rc != 0 */
  int rc;                      /* actor_run's return code, valid after join */
  _Atomic int stop;            /* set to ask the actor to end (cfg.stop points here) */
  pthread_t thread;
  int started;                 /* 1 between a successful start and the join */
  char name[WIRE_MAX_NAME + 1];  /* the actor's name (cfg.name points here) */
} inproc_actor_t;

/* Clears *j and fills j->cfg with learner_config_default, env_id (NULL keeps the default),
 * bind address 127.0.0.1, experience/weights/control ports port, port + 1, port + 2,
 * stats_out = &j->stats, test_hooks = &j->hooks (all zero: none) and stop = &j->stop. Other
 * fields keep their defaults. */
void inproc_learner_init(inproc_learner_t *j, const char *env_id, unsigned port);

/* inproc_learner_init for a small, fast Pendulum-v1 run: steps env steps, 500 start steps,
 * two hidden layers of 32, batch 32, no evaluation to speak of (every 1e6 steps), no progress
 * line, its run directory out_dir and its status server on status_bind ("HOST:PORT"; both
 * borrowed: they must outlive the run). */
void inproc_learner_init_small(inproc_learner_t *j, unsigned port, uint64_t steps,
                               const char *out_dir, const char *status_bind);

/* inproc_learner_init for a Pendulum-v1 run that a real actor and evaluator solve in a few
 * seconds of training (about 15k env steps here): target return -300 (the learner confirms
 * it by its own evaluation), two hidden layers of 64, batch 64, 1000 start steps, an
 * evaluation every 1000 env steps, and a budget of `steps` that ends the run unsolved if the
 * target is not reached; otherwise as inproc_learner_init_small. For attack tests: the run
 * reaches its target with the attacker active. */
void inproc_learner_init_solvable(inproc_learner_t *j, unsigned port, uint64_t steps,
                                  const char *out_dir, const char *status_bind);

/* Starts learner_run(&j->cfg, ...) in a new thread. Returns 0, or a negative errno code when
 * the thread could not be created (then nothing runs and join does nothing). */
int inproc_learner_start(inproc_learner_t *j);

/* Waits up to limit_ms (INPROC_NO_LIMIT: without a limit; 0: not at all) for the run to end
 * by itself; past that, sets j->stop and waits for the run to wind down. Joins the thread
 * either way. Returns 1 if the run ended by itself (or was never started), 0 if it had to be
 * stopped. j->rc, j->res and j->stats are valid afterwards. */
int inproc_learner_join(inproc_learner_t *j, unsigned limit_ms);

/* Clears *j and fills j->cfg with actor_config_default, env_id (NULL keeps the default),
 * learner host 127.0.0.1 on ports port, port + 1, port + 2, the name (copied, cut to fit;
 * NULL keeps actor_run's default), evaluator mode when eval != 0 and stop = &j->stop. */
void inproc_actor_init(inproc_actor_t *j, const char *env_id, unsigned port, const char *name,
                       int eval);

/* Starts actor_run(&j->cfg, ...) in a new thread. Returns 0 or a negative errno code. */
int inproc_actor_start(inproc_actor_t *j);

/* Waits for the actor to end by itself (cfg.max_env_steps, or a refusal) and joins it. */
void inproc_actor_join(inproc_actor_t *j);

/* Sets j->stop and joins the thread. Returns how long the join took, in nanoseconds (0 if the
 * actor was not running). */
uint64_t inproc_actor_stop(inproc_actor_t *j);

#endif
