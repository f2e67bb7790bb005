/* Tests for finding and loading the MuJoCo tasks' models (common/env/env_mujoco.c): where a
 * missing model was looked for, a pip-installed Gymnasium's models, --mujoco-assets and
 * TD3D_MUJOCO_ASSETS, a wrong or broken model file, the accessors on other envs, and
 * td3d's own Runner-td3d-v0, which always runs (its model is in the source tree). The tests
 * that need Gymnasium's reference models in TD3_ASSETS_DIR skip without them and say so. The
 * tasks' dynamics against Gymnasium are tests/test_env_mujoco.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "binfile.h"
#include "env_fixture.h"
#include "env_mujoco.h"
#include "rng.h"
#include "tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether the reference model file is in TD3_ASSETS_DIR. */
static int have_model(const char *file) { return env_fixture_have_model(TD3_ASSETS_DIR, file); }

/* ---------------------------------------------------------------------------------------- */
/* Model lookup and load errors */

static void missing_model_lists_places(void **state) {
  (void)state;
  char saved[1024] = "";
  const char *old = getenv("TD3D_MUJOCO_ASSETS");
  if (old) snprintf(saved, sizeof saved, "%s", old);
  setenv("TD3D_MUJOCO_ASSETS", "/nonexistent/from-env", 1);
  env_options_t o = {.assets_dir = "/nonexistent/from-flag"};
  td3_err_t err = {0};
  assert_null(env_create("Walker2d-v4", &o, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "walker2d.xml"));
  assert_non_null(strstr(err.msg, "/nonexistent/from-flag/walker2d.xml"));
  assert_non_null(strstr(err.msg, "/nonexistent/from-env/walker2d.xml"));
  assert_non_null(strstr(err.msg, "--model"));

  unsetenv("TD3D_MUJOCO_ASSETS");
  assert_null(env_create("Ant-v4", NULL, &err));
  assert_non_null(strstr(err.msg, "ant.xml"));
  assert_non_null(strstr(err.msg, "--mujoco-assets not given"));
  assert_non_null(strstr(err.msg, "TD3D_MUJOCO_ASSETS not set"));

  env_options_t m = {.model_path = "/nonexistent/my_hopper.xml", .assets_dir = TD3_ASSETS_DIR};
  assert_null(env_create("Hopper-v4", &m, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "/nonexistent/my_hopper.xml"));
  if (*saved) setenv("TD3D_MUJOCO_ASSETS", saved, 1);
}

/* With no place named, a pip-installed Gymnasium's model is found (here in a fake virtualenv);
 * a place named by the flag or the variable is not passed over for it. */
static void pip_gymnasium_is_found(void **state) {
  (void)state;
  if (!have_model("reacher.xml")) {
    print_message("skipping: reference models absent from %s\n", TD3_ASSETS_DIR);
    skip();
  }
  char root[256];
  assert_int_equal(tmpdir_create(root, sizeof root, "test_venv"), 0);
  char dir[512], model[600], target[1024];
  snprintf(dir, sizeof dir, "%s/lib/python3.99/site-packages/gymnasium/envs/mujoco/assets", root);
  assert_int_equal(td3_mkdirs(dir, NULL), 0);
  snprintf(model, sizeof model, "%s/reacher.xml", dir);
  snprintf(target, sizeof target, "%s/reacher.xml", TD3_ASSETS_DIR);
  assert_int_equal(symlink(target, model), 0);
  char saved_assets[1024] = "", saved_venv[1024] = "";
  const char *v = getenv("TD3D_MUJOCO_ASSETS");
  if (v) snprintf(saved_assets, sizeof saved_assets, "%s", v);
  if ((v = getenv("VIRTUAL_ENV"))) snprintf(saved_venv, sizeof saved_venv, "%s", v);
  unsetenv("TD3D_MUJOCO_ASSETS");
  setenv("VIRTUAL_ENV", root, 1);

  td3_err_t err = {0};
  env_t *e = env_create("Reacher-v4", NULL, &err);
  if (!e) fail_msg("%s", err.msg);
  assert_string_equal(env_mujoco_model_path(e), model);
  env_destroy(&e);
  env_options_t o = {.assets_dir = "/nonexistent"};
  assert_null(env_create("Reacher-v4", &o, &err));
  assert_non_null(strstr(err.msg, "/nonexistent/reacher.xml"));
  setenv("TD3D_MUJOCO_ASSETS", "/nonexistent", 1);
  assert_null(env_create("Reacher-v4", NULL, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);

  if (*saved_assets) setenv("TD3D_MUJOCO_ASSETS", saved_assets, 1);
  else unsetenv("TD3D_MUJOCO_ASSETS");
  if (*saved_venv) setenv("VIRTUAL_ENV", saved_venv, 1);
  else unsetenv("VIRTUAL_ENV");
  assert_int_equal(tmpdir_remove(root), 0);
}

static void env_var_is_used(void **state) {
  (void)state;
  if (!have_model("reacher.xml")) {
    print_message("skipping: reference models absent from %s\n", TD3_ASSETS_DIR);
    skip();
  }
  setenv("TD3D_MUJOCO_ASSETS", TD3_ASSETS_DIR, 1);
  td3_err_t err = {0};
  env_t *e = env_create("Reacher-v4", NULL, &err);
  if (!e) fail_msg("%s", err.msg);
  env_destroy(&e);
  unsetenv("TD3D_MUJOCO_ASSETS");
}

static void wrong_or_broken_model(void **state) {
  (void)state;
  if (!have_model("hopper.xml")) {
    print_message("skipping: reference models absent from %s\n", TD3_ASSETS_DIR);
    skip();
  }
  char hopper[1024];
  snprintf(hopper, sizeof hopper, "%s/hopper.xml", TD3_ASSETS_DIR);
  env_options_t o = {.model_path = hopper};
  td3_err_t err = {0};
  assert_null(env_create("Ant-v4", &o, &err)); /* hopper.xml has no free joint "root" */
  assert_int_equal(err.code, TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "'root'"));
  assert_null(env_create("Reacher-v4", &o, &err));
  assert_non_null(strstr(err.msg, "'joint0'"));
  /* ...but a Hopper-shaped model serves Walker2d-v4's rules (the names match). */
  env_t *e = env_create("Walker2d-v4", &o, &err);
  assert_non_null(e);
  assert_int_equal(e->info.obs_dim, 11);
  env_destroy(&e);

  char bad[] = "/tmp/td3d_test_bad_model_XXXXXX";
  int fd = mkstemp(bad);
  assert_true(fd >= 0);
  const char junk[] = "<mujoco><worldbody><body><geom type='sphere' size='0.1'/></mujoco>";
  assert_int_equal(write(fd, junk, sizeof junk - 1), (ssize_t)(sizeof junk - 1));
  close(fd);
  o.model_path = bad;
  assert_null(env_create("Hopper-v4", &o, &err));
  assert_int_equal(err.code, TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "MuJoCo cannot load"));
  unlink(bad);
}

static void accessors_refuse_other_envs(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_t *e = env_create("Pendulum-v1", NULL, &err);
  assert_null(env_mujoco_model(e));
  assert_null(env_mujoco_data(e));
  assert_int_equal(env_mujoco_frame_skip(e), 0);
  assert_true(env_mujoco_dt(e) == 0.0);
  assert_null(env_mujoco_model_path(e));
  assert_null(env_mujoco_action_joint(e, 0));
  env_destroy(&e);
}

/* Gymnasium's tasks name their model file; td3d's own task and the others name none. */
static void gymnasium_files(void **state) {
  (void)state;
  assert_string_equal(env_mujoco_gymnasium_file("Hopper-v4"), "hopper.xml");
  assert_string_equal(env_mujoco_gymnasium_file("HalfCheetah-v4"), "half_cheetah.xml");
  assert_null(env_mujoco_gymnasium_file("Runner-td3d-v0"));
  assert_null(env_mujoco_gymnasium_file("Pendulum-v1"));
  assert_null(env_mujoco_gymnasium_file(NULL));
}

/* ---------------------------------------------------------------------------------------- */
/* td3d's own runner: needs nothing from outside */

static void runner_loads_and_runs(void **state) {
  (void)state;
  unsetenv("TD3D_MODELS_DIR");
  td3_err_t err = {0};
  env_t *e = env_create("Runner-td3d-v0", NULL, &err);
  if (!e) fail_msg("%s", err.msg);
  assert_int_equal(e->info.obs_dim, 13);
  assert_int_equal(e->info.act_dim, 4);
  assert_int_equal(e->info.max_episode_steps, 1000);
  assert_non_null(strstr(env_mujoco_model_path(e), "td3d_runner.xml"));
  const char *joints[4] = {"back_hip", "back_knee", "front_hip", "front_knee"};
  for (uint32_t i = 0; i < 4; i++) assert_string_equal(env_mujoco_action_joint(e, i), joints[i]);
  const mjModel *m = env_mujoco_model(e);
  mjData *d = env_mujoco_data(e);
  double dt = env_mujoco_dt(e);

  rng_t r;
  rng_init(&r, 3, 0);
  float obs[64], act[4], rew;
  int term = 0, episodes = 0;
  double lo = INFINITY, hi = -INFINITY;
  env_reset(e, 1, obs);
  assert_float_equal(d->qpos[1], 0.55, 0.05); /* standing: rootz is the torso height */
  for (int t = 0; t < 600; t++) {
    env_fixture_random_action(&r, e, act, 1.0f);
    double x0 = d->qpos[0];
    assert_int_equal(env_step(e, act, obs, &rew, &term), 0);
    assert_true(isfinite(rew));
    env_fixture_assert_close(rew, (d->qpos[0] - x0) / dt + 0.5 - 0.05 * env_fixture_sumsq(act, 4),
                             "runner reward");
    for (int i = 1; i < m->nq; i++) assert_true(obs[i - 1] == (float)d->qpos[i]);
    lo = fmin(lo, rew);
    hi = fmax(hi, rew);
    if (term) {
      assert_true(d->qpos[1] <= 0.2 || fabs(d->qpos[2]) >= 1.0);
      episodes++;
      env_reset(e, (uint64_t)t, obs);
    }
  }
  assert_true(hi - lo > 0.5); /* rewards vary */
  /* Idle motors: the springs hold it up for a whole episode. */
  float zero[4] = {0};
  env_reset(e, 2, obs);
  for (int t = 0; t < 1000; t++) {
    assert_int_equal(env_step(e, zero, obs, &rew, &term), 0);
    assert_int_equal(term, 0);
  }
  assert_true(d->qpos[1] > 0.4);
  /* Its terminal rule (pitch past 1 rad) and divergence, with no reference model needed. */
  assert_int_equal(env_fixture_terminal_after(e, 2, 1.2, -1, 0, &rew), 1);
  assert_int_equal(env_fixture_terminal_after(e, 2, 0.5, -1, 0, &rew), 0);
  env_reset(e, 3, obs);
  d->qpos[1] = NAN;
  assert_int_equal(env_step(e, zero, obs, &rew, &term), TD3_ENONFINITE);
  env_reset(e, 3, obs);
  assert_int_equal(env_step(e, zero, obs, &rew, &term), 0);
  assert_true(episodes > 0); /* random actions tip it over now and then */
  env_destroy(&e);
}

static void runner_model_lookup(void **state) {
  (void)state;
  td3_err_t err = {0};
  /* A bad TD3D_MODELS_DIR is noted, and the source tree still serves. */
  setenv("TD3D_MODELS_DIR", "/nonexistent/models", 1);
  env_t *e = env_create("Runner-td3d-v0", NULL, &err);
  if (!e) fail_msg("%s", err.msg);
  assert_non_null(strstr(env_mujoco_model_path(e), TD3_SOURCE_DIR));
  env_destroy(&e);
  /* TD3D_MODELS_DIR wins when it holds the file. */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/common/env/models", TD3_SOURCE_DIR);
  setenv("TD3D_MODELS_DIR", dir, 1);
  e = env_create("Runner-td3d-v0", NULL, &err);
  assert_non_null(e);
  env_destroy(&e);
  unsetenv("TD3D_MODELS_DIR");
  /* An explicit --model that is missing is an error naming it, with no fallback. */
  env_options_t o = {.model_path = "/nonexistent/runner.xml"};
  assert_null(env_create("Runner-td3d-v0", &o, &err));
  assert_int_equal(err.code, TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "/nonexistent/runner.xml"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(missing_model_lists_places),
      cmocka_unit_test(pip_gymnasium_is_found),
      cmocka_unit_test(env_var_is_used),
      cmocka_unit_test(wrong_or_broken_model),
      cmocka_unit_test(accessors_refuse_other_envs),
      cmocka_unit_test(gymnasium_files),
      cmocka_unit_test(runner_loads_and_runs),
      cmocka_unit_test(runner_model_lookup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
