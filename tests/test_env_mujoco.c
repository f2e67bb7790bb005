/* Tests for the MuJoCo tasks (common/env/env_mujoco.c) against Gymnasium's v4 definitions.
 *
 * The Gymnasium tasks need the reference models in TD3_ASSETS_DIR; without them those tests
 * skip and say so. Observations are compared with qpos/qvel read through env_mujoco_data
 * (exactly, as float), rewards with terms recomputed here from the state before and after
 * the step (relative tolerance 1e-5, float rounding of the reward). Model lookup, load errors
 * and td3d's own Runner-td3d-v0 are tests/test_env_mujoco_models.c's. */
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

typedef struct expect {
  const char *id;
  const char *file;
  uint32_t obs_dim, act_dim;
  int frame_skip;
  double dt;
  uint32_t max_steps;
  float low, high;
} expect_t;

static const expect_t tasks[] = {
    {"HalfCheetah-v4", "half_cheetah.xml", 17, 6, 5, 0.05, 1000, -1, 1},
    {"Hopper-v4", "hopper.xml", 11, 3, 4, 0.008, 1000, -1, 1},
    {"Walker2d-v4", "walker2d.xml", 17, 6, 4, 0.008, 1000, -1, 1},
    {"Ant-v4", "ant.xml", 27, 8, 5, 0.05, 1000, -1, 1},
    {"InvertedPendulum-v4", "inverted_pendulum.xml", 4, 1, 2, 0.04, 1000, -3, 3},
    {"Reacher-v4", "reacher.xml", 11, 2, 2, 0.02, 50, -1, 1},
};
#define N_TASKS (sizeof tasks / sizeof tasks[0])

/* Whether the reference model file is in TD3_ASSETS_DIR. */
static int have_model(const char *file) { return env_fixture_have_model(TD3_ASSETS_DIR, file); }

/* Creates a Gymnasium task from TD3_ASSETS_DIR, or skips the test saying why. */
static env_t *make_or_skip(const char *id) {
  const char *file = NULL;
  for (size_t i = 0; i < N_TASKS; i++)
    if (strcmp(tasks[i].id, id) == 0) file = tasks[i].file;
  if (file && !have_model(file)) {
    print_message("skipping: reference model %s/%s is absent\n", TD3_ASSETS_DIR, file);
    skip();
  }
  env_options_t o = {.assets_dir = TD3_ASSETS_DIR};
  td3_err_t err = {0};
  env_t *e = env_create(id, &o, &err);
  if (!e) fail_msg("env_create(%s): %s", id, err.msg);
  return e;
}

/* ---------------------------------------------------------------------------------------- */

static void dims_bounds_and_timing(void **state) {
  (void)state;
  for (size_t i = 0; i < N_TASKS; i++) {
    const expect_t *x = &tasks[i];
    env_t *e = make_or_skip(x->id);
    assert_string_equal(e->info.id, x->id);
    assert_int_equal(e->info.obs_dim, x->obs_dim);
    assert_int_equal(e->info.act_dim, x->act_dim);
    assert_int_equal(e->info.max_episode_steps, x->max_steps);
    assert_int_equal(env_mujoco_frame_skip(e), x->frame_skip);
    assert_float_equal(env_mujoco_dt(e), x->dt, 1e-12);
    const mjModel *m = env_mujoco_model(e);
    assert_float_equal(env_mujoco_dt(e), m->opt.timestep * x->frame_skip, 1e-15);
    for (uint32_t k = 0; k < x->act_dim; k++) {
      assert_true(e->info.action_low[k] == x->low && e->info.action_high[k] == x->high);
      assert_true(e->info.action_low[k] == (float)m->actuator_ctrlrange[2 * k]);
    }
    assert_non_null(strstr(env_mujoco_model_path(e), x->file));
    env_destroy(&e);
  }
}

/* Observation layout of each task, against the simulator state. */
static void check_obs(const env_t *e, mjData *d, const float *obs) {
  const mjModel *m = env_mujoco_model(e);
  const char *id = e->info.id;
  if (!strcmp(id, "HalfCheetah-v4") || !strcmp(id, "Hopper-v4") || !strcmp(id, "Walker2d-v4")) {
    double clip = strcmp(id, "HalfCheetah-v4") ? 10.0 : INFINITY;
    for (int i = 1; i < m->nq; i++) assert_true(obs[i - 1] == (float)d->qpos[i]);
    for (int i = 0; i < m->nv; i++)
      assert_true(obs[m->nq - 1 + i] == (float)fmin(fmax(d->qvel[i], -clip), clip));
  } else if (!strcmp(id, "Ant-v4")) {
    for (int i = 2; i < m->nq; i++) assert_true(obs[i - 2] == (float)d->qpos[i]);
    for (int i = 0; i < m->nv; i++) assert_true(obs[m->nq - 2 + i] == (float)d->qvel[i]);
  } else if (!strcmp(id, "InvertedPendulum-v4")) {
    for (int i = 0; i < m->nq; i++) assert_true(obs[i] == (float)d->qpos[i]);
    for (int i = 0; i < m->nv; i++) assert_true(obs[m->nq + i] == (float)d->qvel[i]);
  } else if (!strcmp(id, "Reacher-v4")) {
    int tip = mj_name2id(m, mjOBJ_BODY, "fingertip"), tgt = mj_name2id(m, mjOBJ_BODY, "target");
    assert_true(obs[0] == (float)cos(d->qpos[0]) && obs[1] == (float)cos(d->qpos[1]));
    assert_true(obs[2] == (float)sin(d->qpos[0]) && obs[3] == (float)sin(d->qpos[1]));
    assert_true(obs[4] == (float)d->qpos[2] && obs[5] == (float)d->qpos[3]);
    assert_true(obs[6] == (float)d->qvel[0] && obs[7] == (float)d->qvel[1]);
    for (int k = 0; k < 3; k++)
      assert_true(obs[8 + k] == (float)(d->xpos[3 * tip + k] - d->xpos[3 * tgt + k]));
  } else {
    fail_msg("no observation check for %s", id);
  }
}

static void observations_match_state(void **state) {
  (void)state;
  rng_t r;
  rng_init(&r, 5, 0);
  for (size_t i = 0; i < N_TASKS; i++) {
    env_t *e = make_or_skip(tasks[i].id);
    mjData *d = env_mujoco_data(e);
    float obs[64], act[16], rew;
    int term;
    assert_int_equal(env_reset(e, 11, obs), 0);
    check_obs(e, d, obs);
    for (int t = 0; t < 20; t++) {
      env_fixture_random_action(&r, e, act, 1.0f);
      assert_int_equal(env_step(e, act, obs, &rew, &term), 0);
      check_obs(e, d, obs);
      if (term) break;
    }
    env_destroy(&e);
  }
}

/* Hopper and Walker2d clip observed velocities at 10 (the state keeps them). */
static void velocities_are_clipped(void **state) {
  (void)state;
  const char *ids[] = {"Hopper-v4", "Walker2d-v4"};
  for (int i = 0; i < 2; i++) {
    env_t *e = make_or_skip(ids[i]);
    mjData *d = env_mujoco_data(e);
    float obs[64], act[16] = {0}, rew;
    int term;
    env_reset(e, 1, obs);
    d->qvel[0] = 30.0; /* x velocity: free slide, stays near 30 over one step */
    assert_int_equal(env_step(e, act, obs, &rew, &term), 0);
    assert_true(d->qvel[0] > 10.0);
    assert_true(obs[env_mujoco_model(e)->nq - 1] == 10.0f);
    env_destroy(&e);
  }
}

/* Reward = forward term + healthy reward - control cost, recomputed from the state. */
static void reward_decomposition(void **state) {
  (void)state;
  rng_t r;
  rng_init(&r, 9, 0);
  for (size_t i = 0; i < N_TASKS; i++) {
    env_t *e = make_or_skip(tasks[i].id);
    const mjModel *m = env_mujoco_model(e);
    mjData *d = env_mujoco_data(e);
    const char *id = e->info.id;
    double dt = env_mujoco_dt(e);
    int torso = mj_name2id(m, mjOBJ_BODY, "torso");
    int tip = mj_name2id(m, mjOBJ_BODY, "fingertip"), tgt = mj_name2id(m, mjOBJ_BODY, "target");
    float obs[64], act[16], rew;
    int term;
    env_reset(e, 21, obs);
    for (int t = 0; t < 30; t++) {
      /* Beyond the ctrlrange at times: the cost uses the raw action. */
      env_fixture_random_action(&r, e, act, 1.5f);
      double x0 = d->qpos[0], ax0 = torso >= 0 ? d->xpos[3 * torso] : 0, dist = 0;
      if (tip >= 0) {
        double dx = d->xpos[3 * tip] - d->xpos[3 * tgt], dy = d->xpos[3 * tip + 1] -
                                                             d->xpos[3 * tgt + 1];
        double dz = d->xpos[3 * tip + 2] - d->xpos[3 * tgt + 2];
        dist = sqrt(dx * dx + dy * dy + dz * dz);
      }
      double cost = env_fixture_sumsq(act, e->info.act_dim);
      assert_int_equal(env_step(e, act, obs, &rew, &term), 0);
      for (int k = 0; k < m->nu; k++) assert_true(d->ctrl[k] == (double)act[k]);
      double want;
      if (!strcmp(id, "HalfCheetah-v4")) want = (d->qpos[0] - x0) / dt - 0.1 * cost;
      else if (!strcmp(id, "Hopper-v4") || !strcmp(id, "Walker2d-v4"))
        want = (d->qpos[0] - x0) / dt + 1.0 - 1e-3 * cost;
      else if (!strcmp(id, "Ant-v4")) want = (d->xpos[3 * torso] - ax0) / dt + 1.0 - 0.5 * cost;
      else if (!strcmp(id, "InvertedPendulum-v4")) want = 1.0;
      else want = -dist - cost; /* Reacher: distance before the step */
      env_fixture_assert_close(rew, want, id);
      if (term) break;
    }
    env_destroy(&e);
  }
}

static void terminal_rules(void **state) {
  (void)state;
  float rew;
  env_t *e = make_or_skip("Hopper-v4");
  assert_int_equal(env_fixture_terminal_after(e, -1, 0, -1, 0, &rew), 0);
  assert_int_equal(env_fixture_terminal_after(e, 1, 0.5, -1, 0, &rew), 1); /* z <= 0.7 */
  assert_true(rew > 0.5f); /* the healthy reward is still paid on the terminal step */
  assert_int_equal(env_fixture_terminal_after(e, 2, 0.3, -1, 0, &rew), 1);   /* angle >= 0.2 */
  assert_int_equal(env_fixture_terminal_after(e, 2, -0.3, -1, 0, &rew), 1);  /* angle <= -0.2 */
  assert_int_equal(env_fixture_terminal_after(e, -1, 0, 0, 150.0, &rew), 1); /* |qvel| >= 100 */
  assert_int_equal(env_fixture_terminal_after(e, -1, 0, 0, 50.0, &rew), 0);
  env_destroy(&e);

  e = make_or_skip("Walker2d-v4");
  assert_int_equal(env_fixture_terminal_after(e, -1, 0, -1, 0, &rew), 0);
  assert_int_equal(env_fixture_terminal_after(e, 1, 0.6, -1, 0, &rew), 1);  /* z <= 0.8 */
  assert_int_equal(env_fixture_terminal_after(e, 1, 2.3, -1, 0, &rew), 1);  /* z >= 2.0 */
  assert_int_equal(env_fixture_terminal_after(e, 2, 1.2, -1, 0, &rew), 1);  /* angle >= 1 */
  assert_int_equal(env_fixture_terminal_after(e, 2, 0.5, -1, 0, &rew), 0);
  env_destroy(&e);

  e = make_or_skip("Ant-v4");
  assert_int_equal(env_fixture_terminal_after(e, -1, 0, -1, 0, &rew), 0);
  assert_int_equal(env_fixture_terminal_after(e, 2, 1.3, -1, 0, &rew), 1);  /* z > 1.0 */
  assert_true(rew > 0.5f);
  /* The floor would push a torso at z = 0.1 back up within the step: switch contacts off
   * (this env's own copy of the model) to see the low bound. */
  ((mjModel *)env_mujoco_model(e))->opt.disableflags |= mjDSBL_CONTACT;
  assert_int_equal(env_fixture_terminal_after(e, 2, 0.26, -1, 0, &rew), 0);  /* z >= 0.2 */
  assert_int_equal(env_fixture_terminal_after(e, 2, 0.1, -1, 0, &rew), 1);   /* z < 0.2 */
  env_destroy(&e);

  e = make_or_skip("InvertedPendulum-v4");
  assert_int_equal(env_fixture_terminal_after(e, -1, 0, -1, 0, &rew), 0);
  assert_int_equal(env_fixture_terminal_after(e, 1, 0.3, -1, 0, &rew), 1);  /* |angle| > 0.2 */
  assert_true(rew == 1.0f);
  env_destroy(&e);

  e = make_or_skip("HalfCheetah-v4");
  /* flipped: never ends */
  assert_int_equal(env_fixture_terminal_after(e, 2, 3.0, -1, 0, &rew), 0);
  env_destroy(&e);
}

/* Extreme actions end Hopper and Walker2d episodes long before the time limit. */
static void extreme_actions_fall(void **state) {
  (void)state;
  const char *ids[] = {"Hopper-v4", "Walker2d-v4"};
  for (int i = 0; i < 2; i++) {
    env_t *e = make_or_skip(ids[i]);
    float obs[64], act[16], rew;
    int term = 0, t;
    env_reset(e, 4, obs);
    for (t = 0; t < 1000 && !term; t++) {
      for (uint32_t k = 0; k < e->info.act_dim; k++) act[k] = (k % 2) ? 1.0f : -1.0f;
      assert_int_equal(env_step(e, act, obs, &rew, &term), 0);
    }
    assert_int_equal(term, 1);
    assert_true(t < 300);
    env_destroy(&e);
  }
}

static void reset_noise_within_bounds(void **state) {
  (void)state;
  struct {
    const char *id;
    double qpos, qvel; /* uniform half-widths; qvel < 0: normal with std -qvel */
  } rules[] = {{"HalfCheetah-v4", 0.1, -0.1}, {"Hopper-v4", 5e-3, 5e-3},
               {"Walker2d-v4", 5e-3, 5e-3},   {"Ant-v4", 0.1, -0.1},
               {"InvertedPendulum-v4", 0.01, 0.01}};
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    env_t *e = make_or_skip(rules[i].id);
    const mjModel *m = env_mujoco_model(e);
    mjData *d = env_mujoco_data(e);
    float obs[64];
    double maxp = 0, maxv = 0, sv = 0, svv = 0;
    long nv = 0;
    /* mj_forward normalizes a free joint's quaternion (Gymnasium's set_state does the same):
     * check it is a unit quaternion near the initial one instead. */
    int quat = -1;
    for (int j = 0; j < m->njnt; j++)
      if (m->jnt_type[j] == mjJNT_FREE) quat = m->jnt_qposadr[j] + 3;
    for (uint64_t s = 0; s < 400; s++) {
      env_reset(e, s, obs);
      for (int k = 0; k < m->nq; k++) {
        if (quat >= 0 && k >= quat && k < quat + 4) continue;
        maxp = fmax(maxp, fabs(d->qpos[k] - m->qpos0[k]));
      }
      if (quat >= 0) {
        double n = 0;
        for (int k = quat; k < quat + 4; k++) n += d->qpos[k] * d->qpos[k];
        assert_float_equal(n, 1.0, 1e-9);
        assert_true(d->qpos[quat] > 0.95);
      }
      for (int k = 0; k < m->nv; k++) {
        maxv = fmax(maxv, fabs(d->qvel[k]));
        sv += d->qvel[k];
        svv += d->qvel[k] * d->qvel[k];
        nv++;
      }
    }
    assert_true(maxp <= rules[i].qpos && maxp > 0.9 * rules[i].qpos);
    if (rules[i].qvel > 0) {
      assert_true(maxv <= rules[i].qvel && maxv > 0.9 * rules[i].qvel);
    } else {
      double mean = sv / nv, sd = sqrt(svv / nv - mean * mean), want = -rules[i].qvel;
      assert_true(fabs(mean) < 0.1 * want && fabs(sd - want) < 0.05 * want);
    }
    env_destroy(&e);
  }

  /* Reacher: arm qpos0 + U(+-0.1); goal uniform in the disc of radius 0.2; arm velocities
   * U(+-0.005), target velocities 0. */
  env_t *e = make_or_skip("Reacher-v4");
  const mjModel *m = env_mujoco_model(e);
  mjData *d = env_mujoco_data(e);
  float obs[64];
  double maxg = 0;
  for (uint64_t s = 0; s < 400; s++) {
    env_reset(e, s, obs);
    for (int k = 0; k < 2; k++) assert_true(fabs(d->qpos[k] - m->qpos0[k]) <= 0.1);
    double g = hypot(d->qpos[2], d->qpos[3]);
    assert_true(g < 0.2);
    maxg = fmax(maxg, g);
    for (int k = 0; k < 2; k++) assert_true(fabs(d->qvel[k]) <= 0.005);
    assert_true(d->qvel[2] == 0.0 && d->qvel[3] == 0.0);
    assert_true(obs[4] == (float)d->qpos[2]);
  }
  assert_true(maxg > 0.18);
  env_destroy(&e);
}

static void deterministic_for_a_seed(void **state) {
  (void)state;
  for (size_t i = 0; i < N_TASKS; i++) {
    env_t *a = make_or_skip(tasks[i].id), *b = make_or_skip(tasks[i].id);
    float oa[64], ob[64], act[16], ra, rb;
    int ta, tb;
    env_reset(a, 77, oa);
    env_reset(b, 5, ob);
    assert_true(memcmp(oa, ob, a->info.obs_dim * sizeof(float)) != 0);
    env_reset(b, 77, ob);
    assert_memory_equal(oa, ob, a->info.obs_dim * sizeof(float));
    rng_t r;
    rng_init(&r, 1, 0);
    for (int t = 0; t < 50; t++) {
      env_fixture_random_action(&r, a, act, 1.0f);
      assert_int_equal(env_step(a, act, oa, &ra, &ta), 0);
      assert_int_equal(env_step(b, act, ob, &rb, &tb), 0);
      assert_memory_equal(oa, ob, a->info.obs_dim * sizeof(float));
      assert_true(ra == rb && ta == tb);
      if (ta) break;
    }
    env_destroy(&a);
    env_destroy(&b);
  }
}

/* Ant's actuators are not in joint order: action i drives the model's actuator i, whose
 * joint is read from the model by name. */
static void ant_actuator_order(void **state) {
  (void)state;
  env_t *e = make_or_skip("Ant-v4");
  const mjModel *m = env_mujoco_model(e);
  mjData *d = env_mujoco_data(e);
  const char *order[8] = {"hip_4", "ankle_4", "hip_1", "ankle_1",
                          "hip_2", "ankle_2", "hip_3", "ankle_3"};
  for (uint32_t i = 0; i < 8; i++) {
    assert_string_equal(env_mujoco_action_joint(e, i), order[i]);
    assert_string_equal(mj_id2name(m, mjOBJ_JOINT, m->actuator_trnid[2 * i]), order[i]);
  }
  assert_null(env_mujoco_action_joint(e, 8));
  /* Action 0 alone moves hip_4 (dof of that joint), not hip_1, the first leg joint. */
  float obs[64], act[8] = {1, 0, 0, 0, 0, 0, 0, 0}, rew;
  int term;
  env_reset(e, 1, obs);
  assert_int_equal(env_step(e, act, obs, &rew, &term), 0);
  int hip4 = m->jnt_dofadr[mj_name2id(m, mjOBJ_JOINT, "hip_4")];
  int hip1 = m->jnt_dofadr[mj_name2id(m, mjOBJ_JOINT, "hip_1")];
  assert_float_equal(d->qfrc_actuator[hip4], 150.0, 1e-9); /* gear 150 x ctrl 1 */
  assert_float_equal(d->qfrc_actuator[hip1], 0.0, 1e-12);
  env_destroy(&e);
}

static void divergence_is_reported(void **state) {
  (void)state;
  env_t *e = make_or_skip("HalfCheetah-v4");
  mjData *d = env_mujoco_data(e);
  float obs[64], act[16] = {0}, rew;
  int term;
  env_reset(e, 1, obs);
  d->qvel[3] = NAN;
  assert_int_equal(env_step(e, act, obs, &rew, &term), TD3_ENONFINITE);
  env_reset(e, 1, obs);
  d->qvel[0] = 1e12; /* MuJoCo's own limit is 1e10: it resets the data and warns */
  assert_int_equal(env_step(e, act, obs, &rew, &term), TD3_ENONFINITE);
  env_reset(e, 1, obs);
  assert_int_equal(env_step(e, act, obs, &rew, &term), 0); /* usable again after a reset */
  act[2] = INFINITY;
  assert_int_equal(env_step(e, act, obs, &rew, &term), TD3_ENONFINITE);
  env_destroy(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dims_bounds_and_timing),
      cmocka_unit_test(observations_match_state),
      cmocka_unit_test(velocities_are_clipped),
      cmocka_unit_test(reward_decomposition),
      cmocka_unit_test(terminal_rules),
      cmocka_unit_test(extreme_actions_fall),
      cmocka_unit_test(reset_noise_within_bounds),
      cmocka_unit_test(deterministic_for_a_seed),
      cmocka_unit_test(ant_actuator_order),
      cmocka_unit_test(divergence_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
