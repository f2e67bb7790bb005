/* Deterministic evaluation episodes and the trajectory record (see evaluate.h). */
#include "evaluate.h"

#include "rng.h"
#include "xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int evaluate_episodes(env_t *env, uint64_t seed, uint32_t n, eval_act_fn act, void *ctx,
                      double *returns, td3_err_t *err) {
  return evaluate_episodes_each(env, seed, n, act, ctx, NULL, NULL, returns, err);
}

int evaluate_episodes_each(env_t *env, uint64_t seed, uint32_t n, eval_act_fn act, void *ctx,
                           eval_step_fn on_step, void *step_ctx, double *returns,
                           td3_err_t *err) {
  const env_info_t *info = &env->info;
  float *obs = xmalloc(info->obs_dim * sizeof(float));
  float *next = xmalloc(info->obs_dim * sizeof(float));
  float *action = xmalloc(info->act_dim * sizeof(float));
  rng_t r;
  rng_init(&r, seed, rng_stream_id(RNG_PURPOSE_EVAL, 0));
  int rc = 0;
  for (uint32_t ep = 0; ep < n && rc == 0; ep++) {
    rc = env_reset(env, rng_next_u64(&r), obs);
    double ret = 0.0;
    for (uint32_t t = 0; rc == 0 && t < info->max_episode_steps; t++) {
      act(ctx, obs, action);
      float reward;
      int terminal = 0;
      rc = env_step(env, action, next, &reward, &terminal);
      if (rc) break;
      ret += reward;
      if (on_step) {
        eval_step_t s = {.episode = ep, .t = t, .obs = obs, .action = action,
                         .reward = reward, .terminal = terminal != 0,
                         .truncated = !terminal && t + 1 == info->max_episode_steps};
        on_step(step_ctx, &s);
      }
      float *tmp = obs;
      obs = next;
      next = tmp;
      if (terminal) break;
    }
    if (rc)
      td3_err_set(err, rc, "evaluation episode %u of %s failed: %s", ep + 1, info->id,
                  td3_strerror(rc));
    returns[ep] = ret;
  }
  free(obs);
  free(next);
  free(action);
  return rc;
}

void evaluate_stats(const double *v, uint32_t n, double *mean, double *std, double *min,
                    double *max) {
  double s = 0, lo = INFINITY, hi = -INFINITY;
  for (uint32_t i = 0; i < n; i++) {
    s += v[i];
    lo = fmin(lo, v[i]);
    hi = fmax(hi, v[i]);
  }
  double m = s / n, ss = 0;
  for (uint32_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
  *mean = m;
  *std = sqrt(ss / n);
  *min = lo;
  *max = hi;
}

void eval_record_init(eval_record_t *r, const env_info_t *info, uint32_t episode) {
  memset(r, 0, sizeof *r);
  r->episode = episode;
  r->obs_dim = info->obs_dim;
  r->act_dim = info->act_dim;
  binw_printf(&r->text, "step");
  for (uint32_t i = 0; i < r->obs_dim; i++) binw_printf(&r->text, ",obs_%u", i);
  for (uint32_t i = 0; i < r->act_dim; i++) binw_printf(&r->text, ",action_%u", i);
  binw_printf(&r->text, ",reward,terminal,truncated\n");
}

void eval_record_step(void *ctx, const eval_step_t *s) {
  eval_record_t *r = ctx;
  if (s->episode != r->episode) return;
  binw_printf(&r->text, "%u", s->t);
  for (uint32_t i = 0; i < r->obs_dim; i++) binw_printf(&r->text, ",%.9g", (double)s->obs[i]);
  for (uint32_t i = 0; i < r->act_dim; i++) binw_printf(&r->text, ",%.9g", (double)s->action[i]);
  binw_printf(&r->text, ",%.9g,%d,%d\n", (double)s->reward, s->terminal, s->truncated);
  r->steps++;
}

int eval_record_commit(eval_record_t *r, const char *path, td3_err_t *err) {
  return binw_commit_text(&r->text, path, err);
}

void eval_record_free(eval_record_t *r) { binw_free(&r->text); }

int evaluate_untrained(uint64_t env_steps, uint64_t updates, uint64_t start_steps) {
  return updates == 0 || env_steps <= start_steps;
}
