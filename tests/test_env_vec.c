/* Tests for vectorized stepping (common/env/env_vec.c).
 *
 * Each copy of the vec is shadowed by a single env of the same id driven by hand with the same
 * seeds (drawn from the same per-copy stream), so every reported row can be checked against
 * what a plain loop produces: next_obs is the true final observation, terminal only for real
 * ends (MountainCar's goal, the C plugin's end_at), truncation at the limit (Pendulum, 200) is
 * not terminal, returns are the sums of the rewards, and seeds follow the documented streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env.h"
#include "env_vec.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define K 4

/* A copy's reference: a single env plus the seed stream env_vec documents for it. */
typedef struct shadow {
  env_t *e;
  rng_t seeds;
  float obs[8];
  double ret;
  uint32_t len;
} shadow_t;

static void shadow_init(shadow_t *s, const char *id, uint64_t seed, uint32_t slot, uint32_t k) {
  td3_err_t err = {0};
  s->e = env_create(id, NULL, &err);
  if (!s->e) fail_msg("%s", err.msg);
  rng_init(&s->seeds, seed, rng_stream_id(RNG_PURPOSE_ENV, (uint64_t)slot << 16 | k));
  assert_int_equal(env_reset(s->e, rng_next_u64(&s->seeds), s->obs), 0);
  s->ret = 0;
  s->len = 0;
}

/* Steps the vec and all shadows with the same actions and checks every row. Returns the
 * number of episodes that ended in this step. */
static uint32_t step_and_check(env_vec_t *v, shadow_t *sh, const float *acts) {
  const env_info_t *in = env_vec_info(v);
  uint32_t od = in->obs_dim, ad = in->act_dim, ended = 0;
  env_vec_out_t out;
  for (uint32_t k = 0; k < K; k++)
    assert_memory_equal(env_vec_obs(v) + k * od, sh[k].obs, od * sizeof(float));
  assert_int_equal(env_vec_step(v, acts, &out), 0);
  for (uint32_t k = 0; k < K; k++) {
    shadow_t *s = &sh[k];
    float next[8], r;
    int term;
    assert_int_equal(env_step(s->e, acts + k * ad, next, &r, &term), 0);
    s->ret += r;
    s->len++;
    int trunc = !term && s->len >= in->max_episode_steps;
    assert_memory_equal(out.obs + k * od, s->obs, od * sizeof(float));
    assert_memory_equal(out.action + k * ad, acts + k * ad, ad * sizeof(float));
    assert_memory_equal(out.next_obs + k * od, next, od * sizeof(float)); /* the true one */
    assert_true(out.reward[k] == r);
    assert_true(out.terminal[k] == (term ? 1.0f : 0.0f));
    assert_int_equal(out.truncated[k], trunc);
    assert_int_equal(out.done[k], term || trunc);
    assert_int_equal(out.valid[k], 1);
    if (term || trunc) {
      assert_float_equal(out.ep_return[k], (float)s->ret, 1e-6 * fmax(1.0, fabs(s->ret)));
      assert_int_equal(out.ep_length[k], s->len);
      assert_int_equal(env_reset(s->e, rng_next_u64(&s->seeds), s->obs), 0);
      s->ret = 0;
      s->len = 0;
      ended++;
    } else {
      memcpy(s->obs, next, od * sizeof(float));
    }
  }
  assert_int_equal(out.n_valid, K);
  assert_int_equal(out.n_done, ended);
  /* After the auto-reset, each copy acts from its reset observation, not the final one. */
  for (uint32_t k = 0; k < K; k++)
    assert_memory_equal(env_vec_obs(v) + k * od, sh[k].obs, od * sizeof(float));
  return ended;
}

static void pendulum_truncates_at_200(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_vec_t *v = env_vec_new("Pendulum-v1", NULL, K, 123, 7, &err);
  if (!v) fail_msg("%s", err.msg);
  assert_int_equal(env_vec_size(v), K);
  assert_int_equal(env_vec_info(v)->max_episode_steps, 200);
  shadow_t sh[K];
  for (uint32_t k = 0; k < K; k++) shadow_init(&sh[k], "Pendulum-v1", 123, 7, k);
  /* Copies start from different states (their own seed streams). */
  assert_true(memcmp(env_vec_obs(v), env_vec_obs(v) + 3, 3 * sizeof(float)) != 0);
  float acts[K];
  uint32_t ended = 0;
  for (int t = 1; t <= 450; t++) {
    for (int k = 0; k < K; k++) acts[k] = 2.5f * (float)sin(0.05 * t + k);
    uint32_t e = step_and_check(v, sh, acts);
    if (t == 200 || t == 400) assert_int_equal(e, K); /* all truncated together */
    else assert_int_equal(e, 0);
    ended += e;
  }
  assert_int_equal(ended, 2 * K);
  assert_int_equal(env_vec_episodes(v), 2 * K);
  assert_int_equal(env_vec_steps(v), 450 * K);
  assert_int_equal(env_vec_errors(v), 0);
  for (uint32_t k = 0; k < K; k++) env_destroy(&sh[k].e);
  env_vec_destroy(&v);
  assert_null(v);
  env_vec_destroy(&v);
}

/* MountainCar under a swing policy: copies reach the goal (terminal) at different steps. */
static void mountaincar_terminal_and_auto_reset(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_vec_t *v = env_vec_new("MountainCarContinuous-v0", NULL, K, 5, 0, &err);
  if (!v) fail_msg("%s", err.msg);
  shadow_t sh[K];
  for (uint32_t k = 0; k < K; k++) shadow_init(&sh[k], "MountainCarContinuous-v0", 5, 0, k);
  float acts[K];
  uint32_t ended = 0;
  for (int t = 0; t < 600; t++) {
    const float *o = env_vec_obs(v);
    for (int k = 0; k < K; k++) acts[k] = o[2 * k + 1] < 0 ? -1.0f : 1.0f;
    ended += step_and_check(v, sh, acts);
  }
  assert_true(ended >= K); /* every copy reached the goal at least once */
  for (uint32_t k = 0; k < K; k++) env_destroy(&sh[k].e);
  env_vec_destroy(&v);
}

/* The C plugin ends by itself at step 5 (terminal) while its limit is 100. */
static void plugin_forced_terminal(void **state) {
  (void)state;
  char id[1024];
  snprintf(id, sizeof id, "plugin:%s/td3d_test_plugin_c.so:end_at=5", TD3_TEST_PLUGIN_DIR);
  td3_err_t err = {0};
  env_vec_t *v = env_vec_new(id, NULL, K, 9, 2, &err);
  if (!v) fail_msg("%s", err.msg);
  shadow_t sh[K];
  for (uint32_t k = 0; k < K; k++) shadow_init(&sh[k], id, 9, 2, k);
  float acts[K] = {0.1f, -0.2f, 0.3f, -0.4f};
  for (int t = 1; t <= 20; t++) assert_int_equal(step_and_check(v, sh, acts), t % 5 ? 0 : K);
  for (uint32_t k = 0; k < K; k++) env_destroy(&sh[k].e);
  env_vec_destroy(&v);
}

/* A NaN mid-episode: the row is invalid and never carries the NaN, the episode is cut with
 * the return of its valid steps, the copy resets, the others are untouched. */
static void nan_cuts_only_that_copy(void **state) {
  (void)state;
  char id[1024];
  snprintf(id, sizeof id, "plugin:%s/td3d_test_plugin_c.so:nan_at=4", TD3_TEST_PLUGIN_DIR);
  td3_err_t err = {0};
  env_vec_t *v = env_vec_new(id, NULL, 2, 1, 0, &err);
  if (!v) fail_msg("%s", err.msg);
  float acts[2] = {0.5f, 0.5f};
  env_vec_out_t out;
  double ret = 0;
  for (int t = 1; t <= 4; t++) {
    assert_int_equal(env_vec_step(v, acts, &out), 0);
    if (t < 4) {
      assert_int_equal(out.n_valid, 2);
      ret += out.reward[0];
    }
  }
  assert_int_equal(out.n_valid, 0);
  assert_int_equal(out.n_done, 2);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(out.valid[k], 0);
    assert_int_equal(out.done[k], 1);
    assert_int_equal(out.truncated[k], 0);
    assert_true(out.terminal[k] == 0.0f);
    assert_int_equal(out.ep_length[k], 3);
    for (int i = 0; i < 3; i++) assert_true(isfinite(out.next_obs[3 * k + i]));
  }
  assert_float_equal(out.ep_return[0], ret, 1e-5);
  assert_int_equal(env_vec_errors(v), 2);
  /* The copies go on from fresh episodes (t = 0 in the third observation). */
  assert_true(env_vec_obs(v)[2] == 0.0f && env_vec_obs(v)[5] == 0.0f);
  assert_int_equal(env_vec_step(v, acts, &out), 0);
  assert_int_equal(out.n_valid, 2);
  env_vec_destroy(&v);
}

static void seeds_differ_by_slot_and_repeat_by_seed(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_vec_t *a = env_vec_new("Pendulum-v1", NULL, 2, 1, 0, &err);
  env_vec_t *b = env_vec_new("Pendulum-v1", NULL, 2, 1, 1, &err);
  env_vec_t *c = env_vec_new("Pendulum-v1", NULL, 2, 1, 0, &err);
  assert_true(a && b && c);
  assert_true(memcmp(env_vec_obs(a), env_vec_obs(b), 6 * sizeof(float)) != 0);
  assert_memory_equal(env_vec_obs(a), env_vec_obs(c), 6 * sizeof(float));
  assert_int_equal(env_vec_reset(a), 0);
  assert_true(memcmp(env_vec_obs(a), env_vec_obs(c), 6 * sizeof(float)) != 0); /* next seeds */
  env_vec_destroy(&a);
  env_vec_destroy(&b);
  env_vec_destroy(&c);
}

static void bad_arguments(void **state) {
  (void)state;
  td3_err_t err = {0};
  assert_null(env_vec_new("Pendulum-v1", NULL, 0, 1, 0, &err));
  assert_int_equal(err.code, TD3_ERANGE);
  assert_null(env_vec_new("Pendulum-v1", NULL, ENV_VEC_MAX_COPIES + 1, 1, 0, &err));
  assert_int_equal(err.code, TD3_ERANGE);
  assert_null(env_vec_new("NoSuchEnv-v0", NULL, 2, 1, 0, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);
  env_vec_t *v = env_vec_new("Pendulum-v1", NULL, 2, 1, 0, &err);
  assert_non_null(env_vec_env(v, 1));
  assert_null(env_vec_env(v, 2));
  /* A NaN action is an error of that copy only. */
  float acts[2] = {NAN, 0.0f};
  env_vec_out_t out;
  assert_int_equal(env_vec_step(v, acts, &out), 0);
  assert_int_equal(out.valid[0], 0);
  assert_int_equal(out.valid[1], 1);
  assert_int_equal(env_vec_errors(v), 1);
  env_vec_destroy(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pendulum_truncates_at_200),
      cmocka_unit_test(mountaincar_terminal_and_auto_reset),
      cmocka_unit_test(plugin_forced_terminal),
      cmocka_unit_test(nan_cuts_only_that_copy),
      cmocka_unit_test(seeds_differ_by_slot_and_repeat_by_seed),
      cmocka_unit_test(bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
