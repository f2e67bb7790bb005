/* Tests for the closed-form environments: MountainCarContinuous-v0 (common/env/env_mountaincar.c)
 * and Pendulum-v1 (common/env/env_pendulum.c).
 *
 * Expected values are computed here from Gymnasium's formulas, some by hand (the literals,
 * with the arithmetic in the comment) and some by a reference loop in double; observations
 * are float32 roundings of double state, so a correct env matches the reference exactly and
 * the tolerances only allow for the float rounding of the literals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env.h"

#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846

static env_t *make(const char *id) {
  td3_err_t err = {0};
  env_t *e = env_create(id, NULL, &err);
  if (!e) fail_msg("env_create(%s): %s", id, err.msg);
  return e;
}

/* One step of MountainCar from (x, v) with action a; returns the env's outputs. */
static void mc_step_from(env_t *e, double x, double v, float a, float *obs, float *r, int *t) {
  assert_int_equal(env_mountaincar_set_state(e, x, v), 0);
  assert_int_equal(env_step(e, &a, obs, r, t), 0);
}

static void mc_info(void **state) {
  (void)state;
  env_t *e = make("MountainCarContinuous-v0");
  assert_string_equal(e->info.id, "MountainCarContinuous-v0");
  assert_int_equal(e->info.obs_dim, 2);
  assert_int_equal(e->info.act_dim, 1);
  assert_true(e->info.action_low[0] == -1.0f && e->info.action_high[0] == 1.0f);
  assert_int_equal(e->info.max_episode_steps, 999);
  env_destroy(&e);
  assert_null(e);
  env_destroy(&e); /* twice is fine */
}

static void mc_reset_range_and_seed(void **state) {
  (void)state;
  env_t *e = make("MountainCarContinuous-v0");
  float a[2], b[2];
  double lo = 1, hi = -1;
  for (uint64_t s = 0; s < 2000; s++) {
    assert_int_equal(env_reset(e, s, a), 0);
    assert_true(a[0] >= -0.6f && a[0] <= -0.4f);
    assert_true(a[1] == 0.0f);
    lo = fmin(lo, a[0]);
    hi = fmax(hi, a[0]);
  }
  assert_true(lo < -0.59 && hi > -0.41); /* the whole interval is used */
  env_reset(e, 12345, a);
  env_reset(e, 999, b);
  env_reset(e, 12345, b);
  assert_memory_equal(a, b, sizeof a);
  env_reset(e, 12346, b);
  assert_true(a[0] != b[0]);
  env_destroy(&e);
}

static void mc_hand_computed_steps(void **state) {
  (void)state;
  env_t *e = make("MountainCarContinuous-v0");
  float o[2], r;
  int t;
  /* x = -0.5, v = 0, a = 0.5: cos(3 * -0.5) = cos(1.5) = 0.0707372016677029;
   * v = 0.5 * 0.0015 - 0.0025 * 0.0707372016677029 = 0.00075 - 0.000176843004169257
   *   = 0.000573156995830743; x = -0.5 + v = -0.499426843004169; reward = -0.1 * 0.25. */
  mc_step_from(e, -0.5, 0.0, 0.5f, o, &r, &t);
  assert_float_equal(o[0], -0.499426843004169, 1e-7);
  assert_float_equal(o[1], 0.000573156995830743, 1e-10);
  assert_float_equal(r, -0.025, 1e-7);
  assert_int_equal(t, 0);

  /* The force is clipped to 1 but the cost uses the raw action: a = 3 ->
   * v = 0.0015 - 0.000176843004169257 = 0.00132315699583074, reward = -0.1 * 9 = -0.9. */
  mc_step_from(e, -0.5, 0.0, 3.0f, o, &r, &t);
  assert_float_equal(o[1], 0.00132315699583074, 1e-10);
  assert_float_equal(o[0], -0.5 + 0.00132315699583074, 1e-7);
  assert_float_equal(r, -0.9, 1e-6);
  /* Same for a negative action beyond the bound: a = -2 -> force -1, reward -0.4. */
  mc_step_from(e, -0.5, 0.0, -2.0f, o, &r, &t);
  assert_float_equal(o[1], -0.0015 - 0.000176843004169257, 1e-10);
  assert_float_equal(r, -0.4, 1e-6);

  /* Speed limit: at x = -pi/3, cos(3x) = -1, so v = 0.07 + 0.0015 + 0.0025 = 0.074 -> 0.07. */
  mc_step_from(e, -PI / 3, 0.07, 1.0f, o, &r, &t);
  assert_float_equal(o[1], 0.07, 1e-9);
  assert_float_equal(o[0], -PI / 3 + 0.07, 1e-7);
  mc_step_from(e, 0.0, -0.07, -1.0f, o, &r, &t); /* cos 0 = 1: v = -0.074 -> -0.07 */
  assert_float_equal(o[1], -0.07, 1e-9);
  env_destroy(&e);
}

static void mc_left_wall(void **state) {
  (void)state;
  env_t *e = make("MountainCarContinuous-v0");
  float o[2], r;
  int t;
  /* x = -1.19, v = -0.05, a = -1: v = -0.05 - 0.0015 - 0.0025 cos(-3.57) = -0.0492232...;
   * x = -1.2392... is clipped to -1.2 and, moving left at the wall, v is zeroed. */
  mc_step_from(e, -1.19, -0.05, -1.0f, o, &r, &t);
  assert_true(o[0] == (float)-1.2);
  assert_true(o[1] == 0.0f);
  assert_int_equal(t, 0);
  /* Moving right at the wall keeps its speed: x = -1.2, v = 0, a = 1:
   * v = 0.0015 - 0.0025 cos(-3.6) = 0.0015 + 0.0025 * 0.896758416334147 = 0.00374189604. */
  mc_step_from(e, -1.2, 0.0, 1.0f, o, &r, &t);
  assert_float_equal(o[1], 0.00374189604083537, 1e-10);
  assert_true(o[0] > -1.2f);
  /* At rest at the wall with no push, the slope rolls it right: x = -1.2, v = 0, a = 0:
   * v = 0.0025 * 0.896758416334147 > 0, and nothing is zeroed. */
  mc_step_from(e, -1.2, 0.0, 0.0f, o, &r, &t);
  assert_float_equal(o[1], 0.00224189604083537, 1e-10);
  env_destroy(&e);
}

static void mc_goal(void **state) {
  (void)state;
  env_t *e = make("MountainCarContinuous-v0");
  float o[2], r;
  int t;
  /* x = 0.44, v = 0.02, a = 0.5: v = 0.02 + 0.00075 - 0.0025 cos(1.32) = 0.0201295...,
   * x = 0.46013 >= 0.45 and v >= 0: terminal, reward = 100 - 0.1 * 0.25 = 99.975. */
  mc_step_from(e, 0.44, 0.02, 0.5f, o, &r, &t);
  assert_int_equal(t, 1);
  assert_float_equal(r, 99.975, 1e-4);
  assert_float_equal(o[1], 0.02 + 0.00075 - 0.0025 * cos(1.32), 1e-10);
  /* The raw action again: a = -4 still reaches the goal here, reward = 100 - 1.6. */
  mc_step_from(e, 0.44, 0.05, -4.0f, o, &r, &t);
  assert_int_equal(t, 1);
  assert_float_equal(r, 98.4, 1e-4);
  /* Past the goal line but moving back: not terminal. x = 0.5, v = -0.01, a = 0. */
  mc_step_from(e, 0.5, -0.01, 0.0f, o, &r, &t);
  assert_true(o[0] >= 0.45f && o[1] < 0.0f);
  assert_int_equal(t, 0);
  assert_float_equal(r, 0.0, 1e-9);
  /* Right edge: x is clipped to 0.6 (velocity kept). */
  mc_step_from(e, 0.59, 0.05, 1.0f, o, &r, &t);
  assert_true(o[0] == (float)0.6);
  assert_int_equal(t, 1);
  env_destroy(&e);
}

/* A whole episode under a swing-up policy against a reference written from the formulas. */
static void mc_episode_matches_reference(void **state) {
  (void)state;
  env_t *e = make("MountainCarContinuous-v0");
  float o[2], r;
  int t = 0, steps = 0;
  env_reset(e, 7, o);
  double x = o[0], v = 0;
  assert_int_equal(env_mountaincar_set_state(e, x, v), 0); /* reference starts from float x */
  double ret = 0, ref_ret = 0;
  while (!t && steps < 999) {
    float a = v < 0 ? -1.5f : 0.8f; /* push along the motion, sometimes beyond the bound */
    double f = fmin(fmax((double)a, -1.0), 1.0);
    v += 0.0015 * f - 0.0025 * cos(3 * x);
    v = fmin(fmax(v, -0.07), 0.07);
    x = fmin(fmax(x + v, -1.2), 0.6);
    if (x == -1.2 && v < 0) v = 0;
    int ref_t = x >= 0.45 && v >= 0;
    float ref_r = (float)((ref_t ? 100.0 : 0.0) - 0.1 * (double)a * (double)a);
    assert_int_equal(env_step(e, &a, o, &r, &t), 0);
    assert_true(o[0] == (float)x && o[1] == (float)v);
    assert_true(r == ref_r);
    assert_int_equal(t, ref_t);
    ret += r;
    ref_ret += ref_r;
    steps++;
  }
  assert_int_equal(t, 1); /* this policy reaches the goal well within the limit */
  assert_true(ret > 100.0 - 0.1 * 2.25 * steps && ret < 100.0 - 0.1 * 0.64 * steps + 1e-3);
  assert_float_equal(ret, ref_ret, 1e-9);
  env_destroy(&e);
}

static void mc_bad_input(void **state) {
  (void)state;
  env_t *e = make("MountainCarContinuous-v0");
  float o[2], r, a = NAN;
  int t;
  env_reset(e, 1, o);
  assert_int_equal(env_step(e, &a, o, &r, &t), TD3_ENONFINITE);
  assert_int_equal(env_mountaincar_set_state(e, NAN, 0), TD3_ENONFINITE);
  env_t *p = make("Pendulum-v1");
  assert_int_equal(env_mountaincar_set_state(p, 0, 0), TD3_EINVAL);
  assert_int_equal(env_mountaincar_set_state(NULL, 0, 0), TD3_EINVAL);
  env_destroy(&p);
  env_destroy(&e);
}

/* Pendulum: one step against the formulas (state read back from the observation), reward
 * bounds, never terminal. */
static void pendulum_steps(void **state) {
  (void)state;
  env_t *e = make("Pendulum-v1");
  assert_int_equal(e->info.obs_dim, 3);
  assert_int_equal(e->info.max_episode_steps, 200);
  float o[3], n[3], r;
  int t;
  env_reset(e, 3, o);
  for (int i = 0; i < 200; i++) {
    float a = (float)(3.0 * sin(0.37 * i)); /* exceeds the torque bound at times */
    double th = atan2(o[1], o[0]), thdot = o[2];
    double u = fmin(fmax((double)a, -2.0), 2.0);
    double cost = th * th + 0.1 * thdot * thdot + 0.001 * u * u; /* atan2 is normalized */
    double nthdot = fmin(fmax(thdot + (15.0 * sin(th) + 3.0 * u) * 0.05, -8.0), 8.0);
    double nth = th + nthdot * 0.05;
    assert_int_equal(env_step(e, &a, n, &r, &t), 0);
    assert_int_equal(t, 0);
    assert_float_equal(r, -cost, 1e-4);
    assert_true(r <= 0.0f && r >= -16.2736045f);
    assert_float_equal(n[2], nthdot, 1e-4);
    assert_float_equal(n[0], cos(nth), 1e-4);
    assert_float_equal(n[1], sin(nth), 1e-4);
    memcpy(o, n, sizeof o);
  }
  env_destroy(&e);
}

static void registry_lists_new_envs(void **state) {
  (void)state;
  size_t n;
  const env_entry_t *reg = env_registry(&n);
  const char *want[] = {"Pendulum-v1", "MountainCarContinuous-v0", "HalfCheetah-v4",
                        "Hopper-v4", "Walker2d-v4", "Ant-v4", "InvertedPendulum-v4",
                        "Reacher-v4", "Runner-td3d-v0"};
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    int found = 0;
    for (size_t i = 0; i < n; i++) found |= strcmp(reg[i].id, want[w]) == 0;
    if (!found) fail_msg("%s is not in the registry", want[w]);
  }
  td3_err_t err = {0};
  assert_null(env_create("NoSuchEnv-v9", NULL, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "MountainCarContinuous-v0"));
  assert_non_null(strstr(err.msg, "plugin:"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mc_info),
      cmocka_unit_test(mc_reset_range_and_seed),
      cmocka_unit_test(mc_hand_computed_steps),
      cmocka_unit_test(mc_left_wall),
      cmocka_unit_test(mc_goal),
      cmocka_unit_test(mc_episode_matches_reference),
      cmocka_unit_test(mc_bad_input),
      cmocka_unit_test(pendulum_steps),
      cmocka_unit_test(registry_lists_new_envs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
