/* Deterministic evaluation episodes: the same procedure for serial mode, the evaluator actor
 * and `td3d eval`, so their numbers compare.
 *
 * Episode i starts from env_reset with a seed drawn from the stream (seed,
 * rng_stream_id(RNG_PURPOSE_EVAL, 0)) and runs until terminal or the env's step limit; its
 * return is the undiscounted sum of rewards. The caller passes evaluate_seed(run seed) (below),
 * as the authors' separately seeded evaluation environment.
 *
 * A caller that wants more than the returns (`td3d eval --record`) passes a step callback,
 * which sees every step; eval_record_t is such a callback that keeps one episode as CSV. */
#ifndef TD3_EVALUATE_H
#define TD3_EVALUATE_H

#include "binfile.h"
#include "env.h"

#include <stdint.h>

/* The evaluation seed of a run seeded run_seed: seed + 100, the authors' separately seeded
 * evaluation environment. Serial mode, the evaluator and the learner's final evaluation all
 * take it from here. */
static inline uint64_t evaluate_seed(uint64_t run_seed) { return run_seed + 100; }

/* Computes the action for one observation: obs (obs_dim) -> action (act_dim). */
typedef void (*eval_act_fn)(void *ctx, const float *obs, float *action);

/* One step of an evaluation episode. Pointers are borrowed for the call. */
typedef struct eval_step {
  uint32_t episode;      /* 0-based */
  uint32_t t;            /* step within the episode, 0-based */
  const float *obs;      /* (obs_dim) the observation the action was computed for */
  const float *action;   /* (act_dim) the policy's action, as given to env_step */
  float reward;
  int terminal;          /* 1: the task ended (fell, reached the goal) */
  int truncated;         /* 1: the step limit ended the episode here (never with terminal) */
} eval_step_t;

/* Sees each step after env_step returned it (steps whose env_step failed are not seen). */
typedef void (*eval_step_fn)(void *ctx, const eval_step_t *step);

/* Runs n episodes and writes their returns. Returns 0, or the env's error code with err
 * filled (a step error ends the evaluation). Allocates per call (not a hot path). */
int evaluate_episodes(env_t *env, uint64_t seed, uint32_t n, eval_act_fn act, void *ctx,
                      double *returns, td3_err_t *err);

/* The same, calling on_step(step_ctx, ...) for every step when on_step is not NULL. The
 * episodes and returns are the same as evaluate_episodes' for the same arguments. */
int evaluate_episodes_each(env_t *env, uint64_t seed, uint32_t n, eval_act_fn act, void *ctx,
                           eval_step_fn on_step, void *step_ctx, double *returns,
                           td3_err_t *err);

/* Mean, population standard deviation, min and max of n values (n > 0). */
void evaluate_stats(const double *v, uint32_t n, double *mean, double *std, double *min,
                    double *max);

/* One episode's trajectory as CSV text: the header
 *   step,obs_0,...,obs_{n-1},action_0,...,action_{m-1},reward,terminal,truncated
 * then a row per step; numbers printed with %.9g, so each float reads back exactly. */
typedef struct eval_record {
  binw_t text;        /* the CSV so far */
  uint32_t episode;   /* the episode kept (0-based) */
  uint32_t obs_dim, act_dim;
  uint32_t steps;     /* rows written */
} eval_record_t;

/* Starts a record of episode `episode` of an env with info's dimensions (writes the header). */
void eval_record_init(eval_record_t *r, const env_info_t *info, uint32_t episode);
/* An eval_step_fn: ctx is an eval_record_t; appends a row for each step of its episode. */
void eval_record_step(void *ctx, const eval_step_t *step);
/* Writes the CSV to path atomically (binw_commit_text: temp file, fsync, rename) and frees
 * the text. 0 or TD3_EIO with err naming the file. */
int eval_record_commit(eval_record_t *r, const char *path, td3_err_t *err);
/* Frees the text without writing (after a failed evaluation); safe after commit. */
void eval_record_free(eval_record_t *r);

/* 1 if an evaluation made at env_steps, when the run had done `updates` TD3 updates, shows
 * the untrained networks: no update yet, or no more env steps than the random-action start
 * (no update happens before a run has more than start_steps transitions). Such an evaluation
 * is reported, marked untrained, and never counts as the run's best. */
int evaluate_untrained(uint64_t env_steps, uint64_t updates, uint64_t start_steps);

#endif
