/* Deterministic evaluation episodes: the same procedure for serial mode, the evaluator actor
 * and `td3d eval`, so their numbers compare.
 *
 * Episode i starts from env_reset with a seed drawn from the stream (seed,
 * rng_stream_id(RNG_PURPOSE_EVAL, 0)) and runs until terminal or the env's step limit; its
 * return is the undiscounted sum of rewards. The caller passes seed + 100 for the run seed,
 * as the authors' separately seeded evaluation environment. */
#ifndef TD3_EVALUATE_H
#define TD3_EVALUATE_H

#include "env.h"

#include <stdint.h>

/* Computes the action for one observation: obs (obs_dim) -> action (act_dim). */
typedef void (*eval_act_fn)(void *ctx, const float *obs, float *action);

/* Runs n episodes and writes their returns. Returns 0, or the env's error code with err
 * filled (a step error ends the evaluation). Allocates per call (not a hot path). */
int evaluate_episodes(env_t *env, uint64_t seed, uint32_t n, eval_act_fn act, void *ctx,
                      double *returns, td3_err_t *err);

/* Mean, population standard deviation, min and max of n values (n > 0). */
void evaluate_stats(const double *v, uint32_t n, double *mean, double *std, double *min,
                    double *max);

/* 1 if an evaluation made at env_steps, when the run had done `updates` TD3 updates, shows
 * the untrained networks: no update yet, or no more env steps than the random-action start
 * (no update happens before a run has more than start_steps transitions). Such an evaluation
 * is reported, marked untrained, and never counts as the run's best. */
int evaluate_untrained(uint64_t env_steps, uint64_t updates, uint64_t start_steps);

#endif
