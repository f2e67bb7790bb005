/* Vectorized stepping: K copies of one environment stepped together.
 *
 * An actor holds K copies so that one batched policy forward over env_vec_obs() (K, obs_dim)
 * yields the K actions for one env_vec_step(). The vec applies the time limit, so episodes
 * end in one of three ways, each reported through `done`: terminal (a real end of the task,
 * reported as terminal = 1), truncated (max_episode_steps reached: NOT terminal, the bootstrap
 * stays on), or error (the env returned a failure such as TD3_ENONFINITE: the broken
 * transition is marked invalid and never reported as usable; the error is counted). A copy
 * whose episode ended is reset at once, so env_vec_obs() always holds the observation each
 * copy acts from next, while the step's output still holds the true final next_obs of the
 * finished episode, never the reset one.
 *
 * Seeds: copy k draws the seed of each of its episodes from its own stream,
 * rng_stream_id(RNG_PURPOSE_ENV, slot << 16 | k) of the caller's base seed, so a run is
 * reproducible from (seed, slot) and no two copies or actor slots share episodes.
 *
 * Ownership: env_vec_new returns an object the caller owns (env_vec_destroy). Arrays handed
 * out (env_vec_obs, the env_vec_out_t views) are borrowed: they stay valid until the next
 * env_vec_step or env_vec_reset, or env_vec_destroy. Nothing is allocated after
 * env_vec_new. Thread safety: one thread per vec. */
#ifndef TD3_ENV_VEC_H
#define TD3_ENV_VEC_H

#include "env.h"

#include <stdint.h>

#define ENV_VEC_MAX_COPIES 1024u   /* copies per vec (WIRE_MAX_ENVS) */

typedef struct env_vec env_vec_t;

/* What one env_vec_step produced, one row per copy. Every pointer borrows vec memory. */
typedef struct env_vec_out {
  const float *obs;          /* (K, obs_dim) observation each copy acted from */
  const float *action;       /* (K, act_dim) the actions as given */
  const float *reward;       /* (K) */
  const float *next_obs;     /* (K, obs_dim) observation after the step (the finished
                                episode's last one when done, never the reset one) */
  const float *terminal;     /* (K) 1.0 for a real end of the task, else 0.0 */
  const uint8_t *valid;      /* (K) 1: the row is a usable transition; 0: the step failed */
  const uint8_t *done;       /* (K) 1: the episode ended here (terminal, truncated or error)
                                and the copy has been reset */
  const uint8_t *truncated;  /* (K) 1: ended by the time limit (terminal is then 0) */
  const float *ep_return;    /* (K) where done: sum of the episode's valid rewards */
  const uint32_t *ep_length; /* (K) where done: valid steps of the episode */
  uint32_t n_valid;          /* rows with valid = 1 */
  uint32_t n_done;           /* rows with done = 1 */
} env_vec_out_t;

/* Creates n_envs (1..ENV_VEC_MAX_COPIES) copies of env id (env_create; opts borrowed for the
 * call) and resets each with the first seed of its stream. Returns NULL with err filled when
 * the id is unknown, a copy cannot be created, or a first reset fails. */
env_vec_t *env_vec_new(const char *id, const env_options_t *opts, uint32_t n_envs,
                       uint64_t seed, uint32_t slot, td3_err_t *err);

/* Destroys *pv (NULL is fine) and its envs, and sets *pv to NULL. */
void env_vec_destroy(env_vec_t **pv);

/* Dims, bounds and step limit of the env (borrowed). */
const env_info_t *env_vec_info(const env_vec_t *v);
uint32_t env_vec_size(const env_vec_t *v);

/* (K, obs_dim) the observation each copy acts from next. */
const float *env_vec_obs(const env_vec_t *v);

/* Steps every copy with its row of actions (K, act_dim), fills *out, and resets the copies
 * whose episode ended. Returns 0, or a negative code when a copy could not be reset even
 * after retries with fresh seeds (the env is broken: stop using the vec). Errors of single
 * steps do not fail the call: they show as valid = 0, done = 1 and count in env_vec_errors. */
int env_vec_step(env_vec_t *v, const float *actions, env_vec_out_t *out);

/* Ends every episode without reporting it and resets all copies with fresh seeds. Returns 0
 * or a negative code as env_vec_step. */
int env_vec_reset(env_vec_t *v);

/* Failed steps and resets since creation. */
uint64_t env_vec_errors(const env_vec_t *v);

/* Steps and finished episodes (any ending) since creation, all copies together. */
uint64_t env_vec_steps(const env_vec_t *v);
uint64_t env_vec_episodes(const env_vec_t *v);

/* The env of copy k (borrowed), e.g. to read a MuJoCo state in a test; NULL if k >= K. */
env_t *env_vec_env(env_vec_t *v, uint32_t k);

#endif
