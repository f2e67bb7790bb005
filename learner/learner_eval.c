/* The learner's own evaluations on a thread of their own (see learner_eval.h). */
#include "learner_eval.h"

#include "evaluate.h"
#include "log.h"
#include "nn.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct learner_eval {
  const learner_config_t *cfg;   /* borrowed */
  nn_policy_t *policy;           /* owned; the thread's while it runs */
  uint64_t version;              /* of the loaded parameters */
  double *returns;               /* (cfg->eval_episodes) */
  pthread_t thread;
  int running;                   /* main thread: a thread was started and not yet joined */
  _Atomic int done;              /* the thread has filled the fields below */
  int rc;
  char msg[512];
  double seconds;
};

learner_eval_t *learner_eval_new(const learner_config_t *c, const uint32_t *layers,
                                 uint32_t n_layers, const float *low, const float *high) {
  nn_policy_t *p = nn_policy_new(layers, n_layers, low, high, 1);
  if (!p) return NULL;
  learner_eval_t *e = xcalloc(1, sizeof *e);
  e->cfg = c;
  e->policy = p;
  e->returns = xcalloc(c->eval_episodes, sizeof *e->returns);
  return e;
}

static void join(learner_eval_t *e) {
  if (!e->running) return;
  pthread_join(e->thread, NULL);
  e->running = 0;
}

void learner_eval_destroy(learner_eval_t **pe) {
  learner_eval_t *e = *pe;
  if (!e) return;
  join(e);
  nn_policy_destroy(&e->policy);
  free(e->returns);
  free(e);
  *pe = NULL;
}

int learner_eval_load(learner_eval_t *e, const float *params, uint64_t version) {
  if (e->running) return TD3_EINVAL;
  nn_policy_set_params(e->policy, params);
  e->version = version;
  return 0;
}

static void act(void *ctx, const float *obs, float *action) {
  nn_policy_act((nn_policy_t *)ctx, obs, 1, action);
}

/* The evaluation thread: a new instance of the env, the episodes, the env freed. */
static void *run(void *arg) {
  learner_eval_t *e = arg;
  const learner_config_t *c = e->cfg;
  uint64_t t0 = td3_now_ns();
  td3_err_t err = {0};
  env_t *env = env_create(c->env_id, &c->env_opts, &err);
  e->rc = env ? evaluate_episodes(env, evaluate_seed(c->seed), c->eval_episodes, act,
                                  e->policy, e->returns, &err)
              : (err.code ? err.code : TD3_EINVAL);
  env_destroy(&env);
  snprintf(e->msg, sizeof e->msg, "%s", e->rc ? err.msg : "");
  e->seconds = (double)(td3_now_ns() - t0) / 1e9;
  atomic_store(&e->done, 1);
  return NULL;
}

int learner_eval_start(learner_eval_t *e) {
  if (e->running) return TD3_EINVAL;
  atomic_store(&e->done, 0);
  if (pthread_create(&e->thread, NULL, run, e) != 0) return TD3_ESYS;
  e->running = 1;
  return 0;
}

int learner_eval_busy(const learner_eval_t *e) { return e->running; }

int learner_eval_poll(learner_eval_t *e, int wait, learner_eval_result_t *out) {
  if (!e->running || (!wait && !atomic_load(&e->done))) return 0;
  join(e);
  memset(out, 0, sizeof *out);
  out->rc = e->rc;
  snprintf(out->msg, sizeof out->msg, "%s", e->msg);
  out->version = e->version;
  out->n = e->cfg->eval_episodes;
  out->returns = e->returns;
  out->seconds = e->seconds;
  double sd, lo, hi;
  if (e->rc == 0) evaluate_stats(e->returns, out->n, &out->mean, &sd, &lo, &hi);
  return 1;
}
