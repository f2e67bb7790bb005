/* The learner's own evaluations of a policy, on a thread of their own: the final evaluation
 * of a run that spent its budget, and the check of an evaluation report that claims the
 * target return (learner_control.c).
 *
 * An evaluation is the evaluator's procedure (common/env/evaluate.h): eval_episodes
 * deterministic episodes from evaluate_seed(run seed) on a new instance of the run's env, the
 * policy run by nn_policy_act. The same weights give the evaluator's returns exactly. It runs
 * on a thread so that the main loop goes on answering heartbeats and Hellos meanwhile (on
 * MuJoCo an evaluation takes a second or more).
 *
 * Use: learner_eval_load (copies the weights; cheap, may be called under the weights lock),
 * learner_eval_start, then learner_eval_poll until it returns 1. One evaluation at a time.
 * Every function is called from one thread (the learner's main thread). */
#ifndef TD3_LEARNER_EVAL_H
#define TD3_LEARNER_EVAL_H

#include "learner.h"

#include <stdint.h>

typedef struct learner_eval learner_eval_t;

typedef struct learner_eval_result {
  int rc;                 /* 0, or the env's error code (msg says what failed) */
  char msg[512];
  uint64_t version;       /* the weights version evaluated (as learner_eval_load was told) */
  uint32_t n;             /* episodes */
  const double *returns;  /* (n) borrowed from the evaluator: valid until the next start */
  double mean;            /* of returns */
  double seconds;         /* wall time the evaluation took */
} learner_eval_result_t;

/* An evaluator for the run of configuration c (borrowed: it must outlive the evaluator) with
 * an actor of layers (obs_dim, hidden..., act_dim; n_layers of them) and action bounds low,
 * high (act_dim; copied). NULL when the policy cannot be made (a bad shape). Allocates. */
learner_eval_t *learner_eval_new(const learner_config_t *c, const uint32_t *layers,
                                 uint32_t n_layers, const float *low, const float *high);

/* Waits for a running evaluation, then frees e; NULL-safe, sets *e = NULL. */
void learner_eval_destroy(learner_eval_t **e);

/* Copies the actor parameters the next evaluation runs (params: the layout of layers) and
 * their weights version. Copies only: a caller may hold a lock around it. Not while an
 * evaluation runs (TD3_EINVAL). */
int learner_eval_load(learner_eval_t *e, const float *params, uint64_t version);

/* Starts an evaluation of the loaded parameters on a new thread. 0, TD3_EINVAL while one
 * runs, TD3_ESYS when the thread cannot be made. */
int learner_eval_start(learner_eval_t *e);

/* 1 while an evaluation runs (started and not yet taken by learner_eval_poll). */
int learner_eval_busy(const learner_eval_t *e);

/* When the running evaluation has finished (wait: waits for it), joins its thread, fills
 * *out and returns 1; otherwise 0 (also when none was started). */
int learner_eval_poll(learner_eval_t *e, int wait, learner_eval_result_t *out);

#endif
