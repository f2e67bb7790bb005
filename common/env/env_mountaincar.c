/* MountainCarContinuous-v0, exactly as Gymnasium defines it.
 *
 * A car in a valley must reach the flag on the right hill, but its engine is too weak to
 * climb straight up: it has to swing back and forth. f = clip(a, -1, 1);
 * v += 0.0015 f - 0.0025 cos(3 x); v = clip(v, -0.07, 0.07); x += v; x = clip(x, -1.2, 0.6);
 * at the left wall (x == -1.2) a leftward velocity is zeroed. Terminal when x >= 0.45 and
 * v >= 0; reward = 100 * terminal - 0.1 a^2 with the raw, unclipped action. Observation
 * [x, v]; action 1 in [-1, 1]; reset x ~ U(-0.6, -0.4), v = 0; truncated at 999 steps.
 *
 * The state is kept in double. Gymnasium computes each step in float64 but stores the state
 * as float32 between steps; that rounding (at most 3e-8 relative) is not reproduced, the
 * observation handed out is float32 in both. */
#include "env.h"
#include "rng.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MC_MIN_POSITION (-1.2)
#define MC_MAX_POSITION 0.6
#define MC_MAX_SPEED 0.07
#define MC_GOAL_POSITION 0.45
#define MC_GOAL_VELOCITY 0.0
#define MC_POWER 0.0015

typedef struct mountaincar {
  env_t base;
  double x;   /* position, in [-1.2, 0.6] */
  double v;   /* velocity per step, in [-0.07, 0.07] */
  float low[1], high[1];
} mountaincar_t;

static int mountaincar_reset(env_t *e, uint64_t seed, float *obs) {
  mountaincar_t *c = (mountaincar_t *)e;
  rng_t r;
  rng_init(&r, seed, rng_stream_id(RNG_PURPOSE_ENV, 0));
  c->x = -0.6 + 0.2 * rng_uniform(&r);
  c->v = 0.0;
  obs[0] = (float)c->x;
  obs[1] = (float)c->v;
  return 0;
}

static int mountaincar_step(env_t *e, const float *action, float *next_obs, float *reward,
                            int *terminal) {
  mountaincar_t *c = (mountaincar_t *)e;
  double a = action[0];
  if (!isfinite(a)) return TD3_ENONFINITE;
  double f = fmin(fmax(a, -1.0), 1.0);
  double v = c->v + f * MC_POWER - 0.0025 * cos(3.0 * c->x);
  v = fmin(fmax(v, -MC_MAX_SPEED), MC_MAX_SPEED);
  double x = c->x + v;
  x = fmin(fmax(x, MC_MIN_POSITION), MC_MAX_POSITION);
  if (x == MC_MIN_POSITION && v < 0) v = 0;
  c->x = x;
  c->v = v;
  int done = x >= MC_GOAL_POSITION && v >= MC_GOAL_VELOCITY;
  next_obs[0] = (float)x;
  next_obs[1] = (float)v;
  *reward = (float)((done ? 100.0 : 0.0) - 0.1 * a * a);
  *terminal = done;
  return 0;
}

static void mountaincar_destroy(env_t *e) { free(e); }

static const env_ops_t mountaincar_ops = {mountaincar_reset, mountaincar_step,
                                          mountaincar_destroy};

int env_mountaincar_set_state(env_t *e, double x, double v) {
  if (!e || e->ops != &mountaincar_ops) return TD3_EINVAL;
  if (!isfinite(x) || !isfinite(v)) return TD3_ENONFINITE;
  mountaincar_t *c = (mountaincar_t *)e;
  c->x = x;
  c->v = v;
  return 0;
}

env_t *env_mountaincar_new(const env_options_t *opts, td3_err_t *err) {
  (void)opts;
  (void)err;
  mountaincar_t *c = xcalloc(1, sizeof *c);
  c->base.ops = &mountaincar_ops;
  snprintf(c->base.info.id, sizeof c->base.info.id, "MountainCarContinuous-v0");
  c->base.info.obs_dim = 2;
  c->base.info.act_dim = 1;
  c->low[0] = -1.0f;
  c->high[0] = 1.0f;
  c->base.info.action_low = c->low;
  c->base.info.action_high = c->high;
  c->base.info.max_episode_steps = 999;
  c->x = -0.5;
  return &c->base;
}
