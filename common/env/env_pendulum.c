/* Pendulum-v1, exactly as Gymnasium defines it.
 *
 * g = 10, m = 1, l = 1, dt = 0.05, max speed 8, max torque 2. The cost is computed on the
 * state before the step: angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2 with u the clipped
 * torque; reward = -cost. thdot' = clip(thdot + (3g/(2l) sin th + 3/(m l^2) u) dt, -8, 8) and
 * th' = th + thdot' dt (th itself is not wrapped). Observation [cos th, sin th, thdot].
 * Reset draws th ~ U(-pi, pi), thdot ~ U(-1, 1). Never terminal; truncated at 200 steps.
 * The state is kept in double, as Gymnasium's numpy float64 arithmetic does. */
#include "env_pendulum.h"
#include "rng.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PENDULUM_PI 3.14159265358979323846

typedef struct pendulum {
  env_t base;
  double th;     /* angle, radians, unwrapped */
  double thdot;  /* angular velocity, rad/s */
  float low[1], high[1];
} pendulum_t;

static void observe(const pendulum_t *p, float *obs) {
  obs[0] = (float)cos(p->th);
  obs[1] = (float)sin(p->th);
  obs[2] = (float)p->thdot;
}

static int pendulum_reset(env_t *e, uint64_t seed, float *obs) {
  pendulum_t *p = (pendulum_t *)e;
  rng_t r;
  rng_init(&r, seed, rng_stream_id(RNG_PURPOSE_ENV, 0));
  p->th = -PENDULUM_PI + 2.0 * PENDULUM_PI * rng_uniform(&r);
  p->thdot = -1.0 + 2.0 * rng_uniform(&r);
  observe(p, obs);
  return 0;
}

static double angle_normalize(double x) {
  /* ((x + pi) mod 2pi) - pi with a floored modulo, as numpy's % */
  double two_pi = 2.0 * PENDULUM_PI;
  double y = fmod(x + PENDULUM_PI, two_pi);
  if (y < 0) y += two_pi;
  return y - PENDULUM_PI;
}

static int pendulum_step(env_t *e, const float *action, float *next_obs, float *reward,
                         int *terminal) {
  pendulum_t *p = (pendulum_t *)e;
  const double g = 10.0, m = 1.0, l = 1.0, dt = 0.05, max_speed = 8.0, max_torque = 2.0;
  double u = action[0];
  if (!isfinite(u)) return TD3_ENONFINITE;
  u = fmin(fmax(u, -max_torque), max_torque);
  double thn = angle_normalize(p->th);
  double cost = thn * thn + 0.1 * p->thdot * p->thdot + 0.001 * u * u;
  double newthdot = p->thdot + (3.0 * g / (2.0 * l) * sin(p->th) + 3.0 / (m * l * l) * u) * dt;
  newthdot = fmin(fmax(newthdot, -max_speed), max_speed);
  p->th = p->th + newthdot * dt;
  p->thdot = newthdot;
  observe(p, next_obs);
  *reward = (float)-cost;
  *terminal = 0;
  return 0;
}

static void pendulum_destroy(env_t *e) { free(e); }

static const env_ops_t pendulum_ops = {pendulum_reset, pendulum_step, pendulum_destroy};

env_t *env_pendulum_new(const env_options_t *opts, td3_err_t *err) {
  (void)opts;
  (void)err;
  pendulum_t *p = xcalloc(1, sizeof *p);
  p->base.ops = &pendulum_ops;
  snprintf(p->base.info.id, sizeof p->base.info.id, "Pendulum-v1");
  p->base.info.obs_dim = 3;
  p->base.info.act_dim = 1;
  p->low[0] = -2.0f;
  p->high[0] = 2.0f;
  p->base.info.action_low = p->low;
  p->base.info.action_high = p->high;
  p->base.info.max_episode_steps = 200;
  return &p->base;
}

void env_pendulum_set_state(env_t *e, double th, double thdot) {
  pendulum_t *p = (pendulum_t *)e;
  p->th = th;
  p->thdot = thdot;
}
