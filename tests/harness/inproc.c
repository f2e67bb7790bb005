/* A learner and actors as threads of one process (see inproc.h). */
#include "inproc.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

/* How often a limited join looks whether the run has ended. */
#define POLL_MS 10u

static void *learner_thread(void *arg) {
  inproc_learner_t *j = arg;
  j->rc = learner_run(&j->cfg, &j->res, &j->err);
  atomic_store(&j->done, 1);
  return NULL;
}

static void *actor_thread(void *arg) {
  inproc_actor_t *j = arg;
  j->rc = actor_run(&j->cfg, &j->res, &j->err);
  return NULL;
}

void inproc_learner_init(inproc_learner_t *j, const char *env_id, unsigned port) {
  memset(j, 0, sizeof *j);
  learner_config_default(&j->cfg);
  if (env_id) j->cfg.env_id = env_id;
  j->cfg.bind_host = "127.0.0.1";
  j->cfg.experience_port = port;
  j->cfg.weights_port = port + 1;
  j->cfg.control_port = port + 2;
  j->cfg.stats_out = &j->stats;
  j->cfg.test_hooks = &j->hooks;
  j->cfg.stop = &j->stop;
}

void inproc_learner_init_small(inproc_learner_t *j, unsigned port, uint64_t steps,
                               const char *out_dir, const char *status_bind) {
  inproc_learner_init(j, "Pendulum-v1", port);
  j->cfg.steps = steps;
  j->cfg.start_steps = 500;
  j->cfg.td3.n_hidden = 2;
  j->cfg.td3.hidden[0] = j->cfg.td3.hidden[1] = 32;
  j->cfg.td3.batch = 32;
  j->cfg.eval_every = 1000000;
  j->cfg.out_dir = out_dir;
  j->cfg.progress = 0;
  j->cfg.status_bind = status_bind;
}

void inproc_learner_init_solvable(inproc_learner_t *j, unsigned port, uint64_t steps,
                                  const char *out_dir, const char *status_bind) {
  inproc_learner_init_small(j, port, steps, out_dir, status_bind);
  j->cfg.start_steps = 1000;
  j->cfg.td3.hidden[0] = j->cfg.td3.hidden[1] = 64;
  j->cfg.td3.batch = 64;
  j->cfg.eval_every = 1000;
  j->cfg.target_return = -300.0;
}

int inproc_learner_start(inproc_learner_t *j) {
  atomic_store(&j->done, 0);
  int rc = pthread_create(&j->thread, NULL, learner_thread, j);
  if (rc != 0) return -rc;
  j->started = 1;
  return 0;
}

int inproc_learner_join(inproc_learner_t *j, unsigned limit_ms) {
  if (!j->started) return 1;
  int by_itself = 1;
  if (limit_ms != INPROC_NO_LIMIT) {
    uint64_t deadline = td3_now_ns() + (uint64_t)limit_ms * 1000000u;
    while (!atomic_load(&j->done) && td3_now_ns() < deadline) td3_sleep_ms(POLL_MS);
    if (!atomic_load(&j->done)) {
      atomic_store(&j->stop, 1);
      by_itself = 0;
    }
  }
  pthread_join(j->thread, NULL);
  j->started = 0;
  return by_itself;
}

void inproc_actor_init(inproc_actor_t *j, const char *env_id, unsigned port, const char *name,
                       int eval) {
  memset(j, 0, sizeof *j);
  actor_config_default(&j->cfg);
  if (env_id) j->cfg.env_id = env_id;
  if (name) {
    snprintf(j->name, sizeof j->name, "%s", name);
    j->cfg.name = j->name;
  }
  j->cfg.learner_host = "127.0.0.1";
  j->cfg.experience_port = port;
  j->cfg.weights_port = port + 1;
  j->cfg.control_port = port + 2;
  j->cfg.eval = eval;
  j->cfg.stop = &j->stop;
}

int inproc_actor_start(inproc_actor_t *j) {
  int rc = pthread_create(&j->thread, NULL, actor_thread, j);
  if (rc != 0) return -rc;
  j->started = 1;
  return 0;
}

void inproc_actor_join(inproc_actor_t *j) {
  if (!j->started) return;
  pthread_join(j->thread, NULL);
  j->started = 0;
}

uint64_t inproc_actor_stop(inproc_actor_t *j) {
  if (!j->started) return 0;
  atomic_store(&j->stop, 1);
  uint64_t t0 = td3_now_ns();
  inproc_actor_join(j);
  return td3_now_ns() - t0;
}
