/* The MuJoCo tests' shared helpers (see env_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env_fixture.h"
#include "env_mujoco.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

int env_fixture_have_model(const char *assets_dir, const char *file) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", assets_dir, file);
  return access(path, R_OK) == 0;
}

void env_fixture_random_action(rng_t *r, const env_t *e, float *a, float scale) {
  for (uint32_t i = 0; i < e->info.act_dim; i++)
    a[i] = scale * rng_uniformf(r, e->info.action_low[i], e->info.action_high[i]);
}

double env_fixture_sumsq(const float *a, uint32_t n) {
  double s = 0;
  for (uint32_t i = 0; i < n; i++) s += (double)a[i] * a[i];
  return s;
}

void env_fixture_assert_close(double got, double want, const char *what) {
  double tol = 1e-5 * fmax(1.0, fabs(want));
  if (!(fabs(got - want) <= tol)) fail_msg("%s: got %.9g, want %.9g", what, got, want);
}

int env_fixture_terminal_after(env_t *e, int qpos_i, double qpos_v, int qvel_i, double qvel_v,
                               float *rew) {
  mjData *d = env_mujoco_data(e);
  float obs[64], act[16] = {0};
  int term = -1;
  env_reset(e, 3, obs);
  if (qpos_i >= 0) d->qpos[qpos_i] = qpos_v;
  if (qvel_i >= 0) d->qvel[qvel_i] = qvel_v;
  mj_forward(env_mujoco_model(e), d);
  assert_int_equal(env_step(e, act, obs, rew, &term), 0);
  return term;
}
