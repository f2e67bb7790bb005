/* Vectorized stepping of K copies of one env (see env_vec.h).
 *
 * The vec keeps, per copy, the observation it acts from (cur), the running return and length
 * of its episode, and its seed stream. A step copies cur and the actions into the output rows,
 * steps each env into the next_obs row, classifies the ending (terminal, time limit, error),
 * and for finished copies records the episode and resets into cur; the others copy next_obs
 * into cur. Non-finite outputs are caught here too, whatever the env reported, so a NaN
 * never leaves the vec in a row marked valid. */
#include "env_vec.h"
#include "log.h"
#include "rng.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RESET_TRIES 3  /* fresh seeds tried before a failing reset is fatal */

struct env_vec {
  uint32_t n;                 /* copies */
  env_info_t info;            /* copy of envs[0]'s info (bounds borrowed from envs[0]) */
  env_t **envs;               /* (n) */
  rng_t *rngs;                /* (n) seed stream per copy */
  float *cur;                 /* (n, obs_dim) observation to act from next */
  float *obs;                 /* (n, obs_dim) output: observation acted from */
  float *action;              /* (n, act_dim) output */
  float *reward;              /* (n) output */
  float *next_obs;            /* (n, obs_dim) output */
  float *terminal;            /* (n) output, 0.0 or 1.0 */
  uint8_t *valid;             /* (n) output */
  uint8_t *done;              /* (n) output */
  uint8_t *truncated;         /* (n) output */
  float *ep_return_out;       /* (n) output, where done */
  uint32_t *ep_length_out;    /* (n) output, where done */
  double *ep_return;          /* (n) running sum of the current episode */
  uint32_t *ep_length;        /* (n) valid steps of the current episode */
  uint64_t errors, steps, episodes;
};

static log_limit_t err_limit = LOG_LIMIT_INIT;

static int all_finite(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

/* Starts a new episode of copy k into its cur row; returns 0 or the last failure's code. */
static int reset_copy(env_vec_t *v, uint32_t k) {
  float *o = v->cur + (size_t)k * v->info.obs_dim;
  int rc = 0;
  for (int attempt = 0; attempt < RESET_TRIES; attempt++) {
    uint64_t seed = rng_next_u64(&v->rngs[k]);
    rc = env_reset(v->envs[k], seed, o);
    if (rc == 0 && !all_finite(o, v->info.obs_dim)) rc = TD3_ENONFINITE;
    if (rc == 0) break;
    v->errors++;
    log_limited(&err_limit, 10000, LOG_WARN, "env %s copy %u: reset failed: %s", v->info.id, k,
                td3_strerror(rc));
  }
  if (rc != 0) memset(o, 0, v->info.obs_dim * sizeof *o);
  v->ep_return[k] = 0;
  v->ep_length[k] = 0;
  return rc;
}

env_vec_t *env_vec_new(const char *id, const env_options_t *opts, uint32_t n_envs,
                       uint64_t seed, uint32_t slot, td3_err_t *err) {
  if (n_envs < 1 || n_envs > ENV_VEC_MAX_COPIES) {
    td3_err_set(err, TD3_ERANGE, "number of env copies %u is outside 1..%u", n_envs,
                ENV_VEC_MAX_COPIES);
    return NULL;
  }
  env_vec_t *v = xcalloc(1, sizeof *v);
  v->n = n_envs;
  v->envs = xcalloc(n_envs, sizeof *v->envs);
  for (uint32_t k = 0; k < n_envs; k++) {
    v->envs[k] = env_create(id, opts, err);
    if (!v->envs[k]) goto fail;
  }
  v->info = v->envs[0]->info;
  size_t n = n_envs, od = v->info.obs_dim, ad = v->info.act_dim;
  v->rngs = xcalloc(n, sizeof *v->rngs);
  v->cur = xcalloc(n * od, sizeof *v->cur);
  v->obs = xcalloc(n * od, sizeof *v->obs);
  v->action = xcalloc(n * ad, sizeof *v->action);
  v->reward = xcalloc(n, sizeof *v->reward);
  v->next_obs = xcalloc(n * od, sizeof *v->next_obs);
  v->terminal = xcalloc(n, sizeof *v->terminal);
  v->valid = xcalloc(n, sizeof *v->valid);
  v->done = xcalloc(n, sizeof *v->done);
  v->truncated = xcalloc(n, sizeof *v->truncated);
  v->ep_return_out = xcalloc(n, sizeof *v->ep_return_out);
  v->ep_length_out = xcalloc(n, sizeof *v->ep_length_out);
  v->ep_return = xcalloc(n, sizeof *v->ep_return);
  v->ep_length = xcalloc(n, sizeof *v->ep_length);
  for (uint32_t k = 0; k < n_envs; k++) {
    rng_init(&v->rngs[k], seed, rng_stream_id(RNG_PURPOSE_ENV, (uint64_t)slot << 16 | k));
    int rc = reset_copy(v, k);
    if (rc != 0) {
      td3_err_set(err, rc, "env %s: the first reset of copy %u failed %d times: %s",
                  v->info.id, k, RESET_TRIES, td3_strerror(rc));
      goto fail;
    }
  }
  return v;

fail:
  env_vec_destroy(&v);
  return NULL;
}

void env_vec_destroy(env_vec_t **pv) {
  if (!pv || !*pv) return;
  env_vec_t *v = *pv;
  if (v->envs)
    for (uint32_t k = 0; k < v->n; k++) env_destroy(&v->envs[k]);
  free(v->envs);
  free(v->rngs);
  free(v->cur);
  free(v->obs);
  free(v->action);
  free(v->reward);
  free(v->next_obs);
  free(v->terminal);
  free(v->valid);
  free(v->done);
  free(v->truncated);
  free(v->ep_return_out);
  free(v->ep_length_out);
  free(v->ep_return);
  free(v->ep_length);
  free(v);
  *pv = NULL;
}

const env_info_t *env_vec_info(const env_vec_t *v) { return &v->info; }
uint32_t env_vec_size(const env_vec_t *v) { return v->n; }
const float *env_vec_obs(const env_vec_t *v) { return v->cur; }
uint64_t env_vec_errors(const env_vec_t *v) { return v->errors; }
uint64_t env_vec_steps(const env_vec_t *v) { return v->steps; }
uint64_t env_vec_episodes(const env_vec_t *v) { return v->episodes; }

env_t *env_vec_env(env_vec_t *v, uint32_t k) { return k < v->n ? v->envs[k] : NULL; }

int env_vec_step(env_vec_t *v, const float *actions, env_vec_out_t *out) {
  const size_t od = v->info.obs_dim, ad = v->info.act_dim;
  int fatal = 0;
  memcpy(v->obs, v->cur, v->n * od * sizeof *v->obs);
  memcpy(v->action, actions, v->n * ad * sizeof *v->action);
  uint32_t n_valid = 0, n_done = 0;
  for (uint32_t k = 0; k < v->n; k++) {
    float *next = v->next_obs + k * od;
    float r = 0;
    int term = 0;
    int rc = env_step(v->envs[k], v->action + k * ad, next, &r, &term);
    v->steps++;
    if (rc == 0 && (!isfinite(r) || !all_finite(next, od))) rc = TD3_ENONFINITE;
    v->truncated[k] = 0;
    if (rc != 0) {
      /* The transition is lost: report nothing usable, end the episode, count it. */
      v->errors++;
      log_limited(&err_limit, 10000, LOG_WARN, "env %s copy %u: step failed: %s; episode cut",
                  v->info.id, k, td3_strerror(rc));
      memset(next, 0, od * sizeof *next);
      v->reward[k] = 0;
      v->terminal[k] = 0;
      v->valid[k] = 0;
      v->done[k] = 1;
    } else {
      v->reward[k] = r;
      v->terminal[k] = term ? 1.0f : 0.0f;
      v->valid[k] = 1;
      v->ep_return[k] += r;
      v->ep_length[k]++;
      /* A step that is both terminal and at the limit counts as terminal. */
      v->truncated[k] = !term && v->ep_length[k] >= v->info.max_episode_steps;
      v->done[k] = term || v->truncated[k];
      n_valid++;
    }
    if (v->done[k]) {
      n_done++;
      v->episodes++;
      v->ep_return_out[k] = (float)v->ep_return[k];
      v->ep_length_out[k] = v->ep_length[k];
      int rrc = reset_copy(v, k);
      if (rrc != 0 && !fatal) fatal = rrc;
    } else {
      v->ep_return_out[k] = 0;
      v->ep_length_out[k] = 0;
      memcpy(v->cur + k * od, next, od * sizeof *next);
    }
  }
  out->obs = v->obs;
  out->action = v->action;
  out->reward = v->reward;
  out->next_obs = v->next_obs;
  out->terminal = v->terminal;
  out->valid = v->valid;
  out->done = v->done;
  out->truncated = v->truncated;
  out->ep_return = v->ep_return_out;
  out->ep_length = v->ep_length_out;
  out->n_valid = n_valid;
  out->n_done = n_done;
  return fatal;
}

int env_vec_reset(env_vec_t *v) {
  int fatal = 0;
  for (uint32_t k = 0; k < v->n; k++) {
    int rc = reset_copy(v, k);
    if (rc != 0 && !fatal) fatal = rc;
  }
  return fatal;
}
