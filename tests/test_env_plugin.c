/* Tests for environment plugins (common/env/env_plugin.c, ABI in common/env/td3d_env_plugin.h).
 *
 * tests/env.cmake builds the plugins into TD3_TEST_PLUGIN_DIR: a C plugin (td3d-test-walk), a
 * C++ plugin (td3d-test-cart-cpp, when a C++ compiler was found) and one broken library per
 * way a plugin must be refused. Each good plugin runs whole episodes through env_create and
 * through env_vec; each bad one must be refused with an error that says what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env.h"
#include "env_vec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *plugin_path(const char *name, const char *arg, char *buf, size_t cap) {
  snprintf(buf, cap, "plugin:%s/%s.so%s%s", TD3_TEST_PLUGIN_DIR, name, arg ? ":" : "",
           arg ? arg : "");
  return buf;
}

static env_t *load(const char *name, const char *arg) {
  char id[1024];
  td3_err_t err = {0};
  env_t *e = env_create(plugin_path(name, arg, id, sizeof id), NULL, &err);
  if (!e) fail_msg("loading %s: %s", id, err.msg);
  return e;
}

/* Runs episodes to their end (terminal or the limit); returns the number of steps. */
static int run_episodes(env_t *e, int episodes) {
  float obs[8], next[8], act[4], r;
  int steps = 0;
  for (int ep = 0; ep < episodes; ep++) {
    assert_int_equal(env_reset(e, (uint64_t)ep, obs), 0);
    int term = 0;
    for (uint32_t t = 0; t < e->info.max_episode_steps && !term; t++) {
      for (uint32_t k = 0; k < e->info.act_dim; k++)
        act[k] = e->info.action_high[k] * (float)sin(0.1 * t + k);
      assert_int_equal(env_step(e, act, next, &r, &term), 0);
      assert_true(isfinite(r));
      steps++;
    }
  }
  return steps;
}

static void c_plugin_runs(void **state) {
  (void)state;
  env_t *e = load("td3d_test_plugin_c", NULL);
  assert_string_equal(e->info.id, "td3d-test-walk");
  assert_int_equal(e->info.obs_dim, 3);
  assert_int_equal(e->info.act_dim, 1);
  assert_true(e->info.action_low[0] == -1.0f && e->info.action_high[0] == 1.0f);
  assert_int_equal(e->info.max_episode_steps, 100);
  assert_true(run_episodes(e, 3) > 0);

  /* The dynamics pass through unchanged: x0 from the seed, v += 0.1 clip(a), x += 0.1 v,
   * reward -x^2 - 0.01 a^2 with the raw action. */
  float obs[3], next[3], r, a = 2.0f;
  int term;
  env_reset(e, 42, obs);
  double x = obs[0];
  assert_int_equal(env_step(e, &a, next, &r, &term), 0);
  assert_float_equal(next[1], 0.1, 1e-7);
  assert_float_equal(next[0], x + 0.01, 1e-6);
  assert_float_equal(r, -(x + 0.01) * (x + 0.01) - 0.04, 1e-5);
  /* Same seed, same start; another seed, another. */
  float again[3];
  env_reset(e, 42, again);
  assert_memory_equal(obs, again, sizeof obs);
  env_reset(e, 43, again);
  assert_true(again[0] != obs[0]);
  /* A non-finite action never reaches the plugin. */
  a = NAN;
  assert_int_equal(env_step(e, &a, next, &r, &term), TD3_ENONFINITE);
  env_destroy(&e);
  assert_null(e);
}

static void c_plugin_arg_and_terminal(void **state) {
  (void)state;
  env_t *e = load("td3d_test_plugin_c", "end_at=5");
  float obs[3], next[3], r, a = 0;
  int term = 0, t = 0;
  env_reset(e, 1, obs);
  while (!term) {
    assert_int_equal(env_step(e, &a, next, &r, &term), 0);
    t++;
  }
  assert_int_equal(t, 5);
  env_destroy(&e);
}

static void cpp_plugin_runs(void **state) {
  (void)state;
  if (!TD3_TEST_HAVE_CXX_PLUGIN) {
    print_message("skipping: no C++ compiler was found, the C++ plugin was not built\n");
    skip();
  }
  env_t *e = load("td3d_test_plugin_cpp", "scale=0.5");
  assert_string_equal(e->info.id, "td3d-test-cart-cpp");
  assert_int_equal(e->info.obs_dim, 4);
  assert_int_equal(e->info.act_dim, 2);
  assert_true(e->info.action_low[1] == -0.5f && e->info.action_high[1] == 0.5f);
  assert_int_equal(e->info.max_episode_steps, 300);
  assert_int_equal(run_episodes(e, 2), 600); /* never terminal: both run to the limit */
  float obs[4], again[4];
  env_reset(e, 9, obs);
  assert_true(fabsf(obs[0]) <= 0.5f && fabsf(obs[1]) <= 0.5f);
  env_reset(e, 9, again);
  assert_memory_equal(obs, again, sizeof obs);
  env_destroy(&e);

  /* create() failures inside C++ (an exception caught there) come back as an error. */
  char id[1024];
  td3_err_t err = {0};
  assert_null(env_create(plugin_path("td3d_test_plugin_cpp", "scale=abc", id, sizeof id), NULL,
                         &err));
  assert_non_null(strstr(err.msg, "bad argument 'scale=abc'"));
}

/* Both plugins through env_vec: episodes end at the limit or by themselves. */
static void plugins_through_env_vec(void **state) {
  (void)state;
  const char *names[2] = {"td3d_test_plugin_c", "td3d_test_plugin_cpp"};
  for (int p = 0; p < (TD3_TEST_HAVE_CXX_PLUGIN ? 2 : 1); p++) {
    char id[1024];
    td3_err_t err = {0};
    env_vec_t *v = env_vec_new(plugin_path(names[p], NULL, id, sizeof id), NULL, 3, 1, 0, &err);
    if (!v) fail_msg("%s", err.msg);
    const env_info_t *in = env_vec_info(v);
    float act[3 * 2] = {0};
    env_vec_out_t out;
    uint32_t finished = 0;
    for (uint32_t t = 0; t < in->max_episode_steps + 5; t++) {
      for (int k = 0; k < 3 * (int)in->act_dim; k++) act[k] = 0.3f * (float)sin(0.2 * t + k);
      assert_int_equal(env_vec_step(v, act, &out), 0);
      assert_int_equal(out.n_valid, 3);
      finished += out.n_done;
    }
    assert_true(finished >= 3);
    assert_int_equal(env_vec_errors(v), 0);
    env_vec_destroy(&v);
  }
}

static void nan_from_step_is_cut_and_counted(void **state) {
  (void)state;
  env_t *e = load("td3d_test_plugin_c", "nan_at=3");
  float obs[3], next[3], r, a = 0.5f;
  int term;
  env_reset(e, 1, obs);
  assert_int_equal(env_step(e, &a, next, &r, &term), 0);
  assert_int_equal(env_step(e, &a, next, &r, &term), 0);
  assert_int_equal(env_step(e, &a, next, &r, &term), TD3_ENONFINITE);
  env_reset(e, 2, obs); /* the caller resets and goes on */
  assert_int_equal(env_step(e, &a, next, &r, &term), 0);
  env_destroy(&e);

  e = load("td3d_test_plugin_c", "fail_at=2");
  env_reset(e, 1, obs);
  assert_int_equal(env_step(e, &a, next, &r, &term), 0);
  assert_int_equal(env_step(e, &a, next, &r, &term), TD3_EIO);
  env_destroy(&e);

  /* Through env_vec: the broken transition is invalid, the episode ends, the error counts,
   * and the copy continues from a fresh episode. */
  char id[1024];
  td3_err_t err = {0};
  env_vec_t *v = env_vec_new(plugin_path("td3d_test_plugin_c", "nan_at=3", id, sizeof id), NULL,
                             2, 5, 1, &err);
  if (!v) fail_msg("%s", err.msg);
  float acts[2] = {0.5f, -0.5f};
  env_vec_out_t out;
  for (int t = 1; t <= 7; t++) {
    assert_int_equal(env_vec_step(v, acts, &out), 0);
    int broken = t == 3 || t == 6;
    for (int k = 0; k < 2; k++) {
      assert_int_equal(out.valid[k], !broken);
      assert_int_equal(out.done[k], broken);
      assert_true(out.terminal[k] == 0.0f);
      assert_true(isfinite(out.next_obs[3 * k]) && isfinite(out.reward[k]));
      if (broken) assert_int_equal(out.ep_length[k], 2);
    }
    assert_true(isfinite(env_vec_obs(v)[0]));
  }
  assert_int_equal(env_vec_errors(v), 4);
  env_vec_destroy(&v);
}

/* Every bad plugin is refused with its own message. */
static void bad_plugins_are_refused(void **state) {
  (void)state;
  struct {
    const char *name;
    int code;
    const char *says;
  } cases[] = {
      {"td3d_test_bad_abi", TD3_EVERSION, "ABI version 99"},
      {"td3d_test_bad_obs_zero", TD3_ESHAPE, "obs_dim 0 is outside 1..4096"},
      {"td3d_test_bad_act_big", TD3_ESHAPE, "act_dim 4097 is outside 1..4096"},
      {"td3d_test_bad_bounds_order", TD3_ERANGE, "low 1 >= high -1"},
      {"td3d_test_bad_bounds_nan", TD3_ENONFINITE, "is not finite"},
      {"td3d_test_bad_null_fn", TD3_EINVAL, "must all be set"},
      {"td3d_test_bad_no_symbol", TD3_ENOTFOUND, "does not export the symbol td3d_env_plugin_v1"},
      {"td3d_test_bad_v2_only", TD3_EVERSION, "exports td3d_env_plugin_v2"},
      {"td3d_test_bad_name", TD3_EINVAL, "printable ASCII without spaces"},
      {"td3d_test_bad_max_steps", TD3_ERANGE, "max_episode_steps is 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char id[1024];
    td3_err_t err = {0};
    env_t *e = env_create(plugin_path(cases[i].name, NULL, id, sizeof id), NULL, &err);
    if (e) fail_msg("%s was accepted", cases[i].name);
    if (err.code != cases[i].code || !strstr(err.msg, cases[i].says))
      fail_msg("%s: got %d '%s', want %d with '%s'", cases[i].name, err.code, err.msg,
               cases[i].code, cases[i].says);
    assert_non_null(strstr(err.msg, cases[i].name)); /* names the library */
  }
}

static void bad_paths_and_ids(void **state) {
  (void)state;
  td3_err_t err = {0};
  char id[1024];
  /* File missing. */
  snprintf(id, sizeof id, "plugin:%s/no_such_plugin.so", TD3_TEST_PLUGIN_DIR);
  assert_null(env_create(id, NULL, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "no_such_plugin.so"));
  assert_non_null(strstr(err.msg, "No such file"));
  /* Not a shared library. */
  snprintf(id, sizeof id, "plugin:%s/tests/test_env_plugin.c", TD3_SOURCE_DIR);
  assert_null(env_create(id, NULL, &err));
  assert_int_equal(err.code, TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "cannot load plugin"));
  /* No path. */
  assert_null(env_create("plugin:", NULL, &err));
  assert_int_equal(err.code, TD3_EINVAL);
  assert_null(env_create("plugin::arg", NULL, &err));
  assert_int_equal(err.code, TD3_EINVAL);
  /* create() refuses, with the plugin's reason. */
  assert_null(env_create(plugin_path("td3d_test_plugin_c", "fail_create", id, sizeof id), NULL,
                         &err));
  assert_non_null(strstr(err.msg, "asked to fail by 'fail_create'"));
  /* The same library loaded twice: two independent instances, unloaded after both. */
  env_t *a = load("td3d_test_plugin_c", NULL), *b = load("td3d_test_plugin_c", "end_at=1");
  float oa[3], ob[3], r, act = 0;
  int ta, tb;
  env_reset(a, 1, oa);
  env_reset(b, 1, ob);
  env_step(a, &act, oa, &r, &ta);
  env_step(b, &act, ob, &r, &tb);
  assert_true(ta == 0 && tb == 1);
  env_destroy(&a);
  env_reset(b, 1, ob);
  env_destroy(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(c_plugin_runs),
      cmocka_unit_test(c_plugin_arg_and_terminal),
      cmocka_unit_test(cpp_plugin_runs),
      cmocka_unit_test(plugins_through_env_vec),
      cmocka_unit_test(nan_from_step_is_cut_and_counted),
      cmocka_unit_test(bad_plugins_are_refused),
      cmocka_unit_test(bad_paths_and_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
