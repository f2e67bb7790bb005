/* Tests for Pendulum-v1: steps against values computed by hand from the Gymnasium formulas
 * (REFERENCE.md), including the angle normalisation in the cost, the speed clip and the torque
 * clip; reset ranges and determinism; the registry's error for an unknown id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env_pendulum.h"

#include <math.h>
#include <string.h>

typedef struct pcase {
  double th, thdot;  /* state before the step */
  float u;           /* action as given (clipped inside) */
  double reward;     /* -cost on the state before the step */
  double th_next, thdot_next;
} pcase_t;

/* Expected values worked out from: cost = norm(th)^2 + 0.1 thdot^2 + 0.001 u^2 with
 * norm(x) = ((x + pi) mod 2pi) - pi; thdot' = clip(thdot + (15 sin th + 3 u) 0.05, -8, 8);
 * th' = th + 0.05 thdot'. */
static const pcase_t cases[] = {
    /* plain step: 0.25 + 0.004 + 0.001 */
    {0.5, 0.2, 1.0f, -0.255, 0.5354784576976577, 0.7095691539531523},
    /* th > pi: the cost uses 4 - 2pi, the state keeps 4 */
    {4.0, -3.0, -0.5f, -6.113185146920742, 3.817869906425953, -3.642601871480946},
    /* speed clipped at +8 */
    {1.5, 7.9, 2.0f, -8.495, 1.9, 8.0},
    /* torque 5 clipped to 2 (cost 0.001 * 4); th = -7 normalises to -0.7168 */
    {-7.0, 0.0, 5.0f, -0.5178233038432242, -7.009636997451954, -0.19273994903909186},
    /* speed clipped at -8 */
    {-2.0, -7.95, -2.0f, -10.32425, -2.4, -8.0},
};

static void steps_match_formulas(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_t *e = env_create("Pendulum-v1", NULL, &err);
  assert_non_null(e);
  assert_int_equal(e->info.obs_dim, 3);
  assert_int_equal(e->info.act_dim, 1);
  assert_true(e->info.action_low[0] == -2.0f && e->info.action_high[0] == 2.0f);
  assert_int_equal(e->info.max_episode_steps, 200);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const pcase_t *c = &cases[i];
    env_pendulum_set_state(e, c->th, c->thdot);
    float obs[3], r;
    int term = -1;
    assert_int_equal(env_step(e, &c->u, obs, &r, &term), 0);
    assert_int_equal(term, 0);
    assert_float_equal(r, c->reward, 1e-5);
    assert_float_equal(obs[0], cos(c->th_next), 1e-6);
    assert_float_equal(obs[1], sin(c->th_next), 1e-6);
    assert_float_equal(obs[2], c->thdot_next, 1e-6);
  }
  /* a NaN action is refused, not propagated */
  float nan_action = NAN, obs[3], r;
  int term;
  assert_int_equal(env_step(e, &nan_action, obs, &r, &term), TD3_ENONFINITE);
  env_destroy(&e);
  assert_null(e);
  env_destroy(&e); /* NULL is fine */
}

static void reset_ranges_and_determinism(void **state) {
  (void)state;
  env_t *e = env_create("Pendulum-v1", NULL, NULL);
  float a[3], b[3];
  double min_th = 10, max_th = -10, min_v = 10, max_v = -10;
  for (uint64_t seed = 0; seed < 2000; seed++) {
    assert_int_equal(env_reset(e, seed, a), 0);
    assert_float_equal(a[0] * a[0] + a[1] * a[1], 1.0, 1e-5);
    double th = atan2(a[1], a[0]);
    min_th = fmin(min_th, th);
    max_th = fmax(max_th, th);
    min_v = fmin(min_v, a[2]);
    max_v = fmax(max_v, a[2]);
    assert_true(a[2] >= -1.0f && a[2] <= 1.0f);
    env_reset(e, seed, b);
    assert_memory_equal(a, b, sizeof a);
  }
  /* the draws cover their ranges: th ~ U(-pi, pi), thdot ~ U(-1, 1) */
  assert_true(min_th < -3.0 && max_th > 3.0);
  assert_true(min_v < -0.99 && max_v > 0.99);
  env_reset(e, 1, a);
  env_reset(e, 2, b);
  assert_memory_not_equal(a, b, sizeof a);
  env_destroy(&e);
}

static void unknown_id_lists_known(void **state) {
  (void)state;
  td3_err_t err = {0};
  assert_null(env_create("Pendulum-v0", NULL, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "unknown environment 'Pendulum-v0'"));
  assert_non_null(strstr(err.msg, "Pendulum-v1"));
  assert_null(env_create("", NULL, &err));
  assert_int_equal(err.code, TD3_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(steps_match_formulas),
      cmocka_unit_test(reset_ranges_and_determinism),
      cmocka_unit_test(unknown_id_lists_known),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
