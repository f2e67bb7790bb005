/* Tests for learner/td3's update step: the actor step leaves the critics alone, the target
 * networks move only on delay iterations, a non-finite value changes nothing (all or
 * nothing), the noise drawn is the noise given, acting matches the standalone policy and the
 * accessors, and bad configurations are refused. The numbers themselves are checked against
 * references in tests/test_td3.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nn.h"
#include "rng.h"
#include "td3.h"
#include "td3_fixture.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static td3_t *make(const td3_config_t *c) {
  td3_err_t err = {0};
  td3_t *t = td3_new(c, &err);
  if (!t) fail_msg("td3_new: %s", err.msg);
  return t;
}

/* ---------------------------------------------------------------------------------------- */
/* What an iteration changes                                                                */

/* Snapshot of everything an iteration may change. */
typedef struct snap {
  float *p[TD3_N_NETS], *m[3], *v[3];
  size_t n[TD3_N_NETS];
  uint64_t step[3], it;
} snap_t;

static const td3_net_t TRAINED[3] = {TD3_ACTOR, TD3_CRITIC1, TD3_CRITIC2};

static void snap_take(snap_t *s, td3_t *t) {
  for (int k = 0; k < TD3_N_NETS; k++) {
    const float *p = td3_params(t, (td3_net_t)k, &s->n[k]);
    s->p[k] = malloc(s->n[k] * sizeof(float));
    memcpy(s->p[k], p, s->n[k] * sizeof(float));
  }
  for (int k = 0; k < 3; k++) {
    float *m, *v;
    size_t n;
    assert_int_equal(td3_adam_state(t, TRAINED[k], &m, &v, &n, &s->step[k]), 0);
    s->m[k] = malloc(n * sizeof(float));
    s->v[k] = malloc(n * sizeof(float));
    memcpy(s->m[k], m, n * sizeof(float));
    memcpy(s->v[k], v, n * sizeof(float));
  }
  s->it = td3_iterations(t);
}

static void snap_assert_same(const snap_t *s, td3_t *t) {
  for (int k = 0; k < TD3_N_NETS; k++)
    assert_memory_equal(td3_params(t, (td3_net_t)k, NULL), s->p[k], s->n[k] * sizeof(float));
  for (int k = 0; k < 3; k++) {
    float *m, *v;
    size_t n;
    uint64_t step;
    td3_adam_state(t, TRAINED[k], &m, &v, &n, &step);
    assert_memory_equal(m, s->m[k], n * sizeof(float));
    assert_memory_equal(v, s->v[k], n * sizeof(float));
    assert_int_equal(step, s->step[k]);
  }
  assert_int_equal(td3_iterations(t), s->it);
}

static void snap_free(snap_t *s) {
  for (int k = 0; k < TD3_N_NETS; k++) free(s->p[k]);
  for (int k = 0; k < 3; k++) {
    free(s->m[k]);
    free(s->v[k]);
  }
}

static void actor_step_leaves_critics_alone(void **state) {
  (void)state;
  const uint32_t h[2] = {16, 16};
  td3_config_t c = td3_fixture_config(2, 2, h);
  td3_config_t c3 = c;
  c3.policy_delay = 3;
  td3_t *a = make(&c), *b = make(&c3); /* same seed: same initial networks */
  td3_fixture_batch_t bb[2];
  td3_stats_t sa, sb;
  for (int i = 0; i < 2; i++) {
    td3_fixture_fill(&bb[i], &c, 20 + i);
    assert_int_equal(td3_train_with_noise(a, &bb[i].b, bb[i].noise, &sa), 0);
    assert_int_equal(td3_train_with_noise(b, &bb[i].b, bb[i].noise, &sb), 0);
    assert_int_equal(sa.actor_step, i == 1);
    assert_int_equal(sb.actor_step, 0);
    if (i == 0) assert_true(isnan(sa.actor_loss)); /* no actor step yet */
    assert_true(sa.critic_loss == sb.critic_loss);
  }
  /* a stepped its actor at iteration 2, b did not: critics must still be bitwise equal */
  size_t n;
  for (int k = TD3_CRITIC1; k <= TD3_CRITIC2; k++) {
    const float *pa = td3_params(a, (td3_net_t)k, &n);
    assert_memory_equal(pa, td3_params(b, (td3_net_t)k, NULL), n * sizeof(float));
  }
  const float *pa = td3_params(a, TD3_ACTOR, &n), *pb = td3_params(b, TD3_ACTOR, NULL);
  assert_memory_not_equal(pa, pb, n * sizeof(float));
  assert_true(sa.actor_loss != 0.0f && isfinite(sa.actor_loss));
  /* a critic-only iteration reports the latest actor step's loss, not 0 */
  td3_stats_t s3;
  assert_int_equal(td3_train_with_noise(a, &bb[0].b, bb[0].noise, &s3), 0);
  assert_int_equal(s3.actor_step, 0);
  assert_true(s3.actor_loss == sa.actor_loss);
  td3_destroy(&a);
  td3_destroy(&b);
}

static void targets_move_only_on_delay_iterations(void **state) {
  (void)state;
  const uint32_t h[2] = {16, 16};
  td3_config_t c = td3_fixture_config(2, 2, h);
  c.tau = 0.25f;
  td3_t *t = make(&c);
  td3_fixture_batch_t bb;
  td3_fixture_fill(&bb, &c, 31);
  snap_t before;
  snap_take(&before, t);
  td3_stats_t st;
  assert_int_equal(td3_train_with_noise(t, &bb.b, bb.noise, &st), 0);
  assert_int_equal(st.actor_step, 0);
  assert_int_equal(st.iterations, 1);
  static const td3_net_t targets[3] = {TD3_ACTOR_TARGET, TD3_CRITIC1_TARGET, TD3_CRITIC2_TARGET};
  for (int k = 0; k < 3; k++)
    assert_memory_equal(td3_params(t, targets[k], NULL), before.p[targets[k]],
                        before.n[targets[k]] * sizeof(float));
  assert_memory_equal(td3_params(t, TD3_ACTOR, NULL), before.p[TD3_ACTOR],
                      before.n[TD3_ACTOR] * sizeof(float));
  assert_memory_not_equal(td3_params(t, TD3_CRITIC1, NULL), before.p[TD3_CRITIC1],
                          before.n[TD3_CRITIC1] * sizeof(float));

  snap_t mid;
  snap_take(&mid, t);
  td3_fixture_fill(&bb, &c, 32);
  assert_int_equal(td3_train_with_noise(t, &bb.b, bb.noise, &st), 0);
  assert_int_equal(st.actor_step, 1);
  assert_int_equal(st.iterations, 2);
  for (int k = 0; k < 3; k++) {
    size_t n;
    const float *tp = td3_params(t, targets[k], &n);
    const float *online = td3_params(t, TRAINED[k], NULL);
    const float *old = mid.p[targets[k]];
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
      float want = 0.25f * online[i] + 0.75f * old[i];
      assert_true(fabsf(tp[i] - want) <= 1e-7f * fmaxf(1.0f, fabsf(want)));
      moved += tp[i] != old[i];
    }
    assert_true(moved > n / 2);
  }
  snap_free(&before);
  snap_free(&mid);
  td3_destroy(&t);
}

/* Every way to a non-finite loss, weight or moment: the call fails and changes nothing.
 * Cases 0-7 poison one batch field (NaN, then Inf); 8 makes the loss overflow while every
 * gradient stays finite; 9 breaks one target critic only (a NaN-dropping min would hide it);
 * 10 puts a NaN in critic 2's Adam moment (critic 1's good step must not be kept); 11 makes
 * the actor overflow after a finite critic step (both critic steps must be undone). */
static void nonfinite_changes_nothing(void **state) {
  (void)state;
  const uint32_t h[2] = {16, 16};
  td3_config_t c = td3_fixture_config(2, 2, h);
  for (int k = 0; k < 12; k++) {
    td3_t *t = make(&c);
    td3_fixture_batch_t bb;
    td3_fixture_fill(&bb, &c, 41);
    for (size_t i = 0; i < c.batch * c.obs_dim; i++) bb.obs[i] = 2.0f + (float)(i % 3);
    td3_stats_t st;
    assert_int_equal(td3_train_with_noise(t, &bb.b, bb.noise, &st), 0);
    float *field[4] = {bb.obs, bb.action, bb.reward, bb.next_obs}, *m, *v;
    size_t n;
    if (k < 8) field[k / 2][3] = k % 2 ? INFINITY : NAN;
    if (k == 8)
      for (size_t i = 0; i < c.batch; i++) bb.reward[i] = 2e19f;
    if (k == 9) {
      float *p = td3_params(t, TD3_CRITIC2_TARGET, &n);
      p[n - 1] = NAN;
    }
    if (k == 10) {
      td3_adam_state(t, TD3_CRITIC2, &m, &v, &n, NULL);
      v[5] = NAN;
    }
    if (k == 11) {
      float *p = td3_params(t, TD3_ACTOR, &n);
      for (size_t i = 0; i < c.hidden[0] * c.obs_dim; i++) p[i] = FLT_MAX;
    }
    snap_t s;
    snap_take(&s, t);
    if (td3_train_with_noise(t, &bb.b, bb.noise, &st) != TD3_ENONFINITE)
      fail_msg("case %d: a non-finite update was accepted", k);
    assert_int_equal(st.actor_step, 0);
    assert_true(k >= 10 || !isfinite(st.critic_loss));
    snap_assert_same(&s, t);
    snap_free(&s);
    td3_destroy(&t);
  }
}

static void rng_draws_are_the_given_noise(void **state) {
  (void)state;
  const uint32_t h[2] = {16, 16};
  td3_config_t c = td3_fixture_config(2, 2, h);
  td3_t *a = make(&c), *b = make(&c);
  td3_fixture_batch_t bb;
  td3_fixture_fill(&bb, &c, 51);
  rng_t r1, r2;
  rng_init(&r1, 3, rng_stream_id(RNG_PURPOSE_TRAINER, 0));
  r2 = r1;
  for (int i = 0; i < 3; i++) {
    float noise[8 * 2];
    rng_normal_fill(&r2, noise, 16, 0.0f, 1.0f);
    assert_int_equal(td3_train(a, &bb.b, &r1, NULL), 0);
    assert_int_equal(td3_train_with_noise(b, &bb.b, noise, NULL), 0);
  }
  for (int k = 0; k < TD3_N_NETS; k++) {
    size_t n;
    const float *pa = td3_params(a, (td3_net_t)k, &n);
    assert_memory_equal(pa, td3_params(b, (td3_net_t)k, NULL), n * sizeof(float));
  }
  assert_true(rng_next_u64(&r1) == rng_next_u64(&r2)); /* same number of draws */
  td3_destroy(&a);
  td3_destroy(&b);
}

static void act_matches_policy_and_accessors(void **state) {
  (void)state;
  const uint32_t h[2] = {16, 12};
  td3_config_t c = td3_fixture_config(3, 2, h);
  td3_t *t = make(&c), *same = make(&c);
  c.seed = 12;
  td3_t *other = make(&c);
  uint32_t layers[NN_MAX_LAYERS];
  assert_int_equal(td3_actor_layers(t, layers), 4);
  assert_int_equal(layers[0], 4);
  assert_int_equal(layers[1], 16);
  assert_int_equal(layers[2], 12);
  assert_int_equal(layers[3], 3);
  size_t n, nc;
  const float *ap = td3_actor_params(t, &n);
  assert_int_equal(n, nn_param_count(layers, 4));
  assert_int_equal(td3_critic_layers(t, layers), 4);
  assert_int_equal(layers[0], 7);
  assert_int_equal(layers[3], 1);
  td3_params(t, TD3_CRITIC2_TARGET, &nc);
  assert_int_equal(nc, nn_param_count(layers, 4));
  assert_null(td3_params(t, TD3_N_NETS, NULL));
  /* initialisation: reproducible from the seed, targets start as copies */
  for (int k = 0; k < TD3_N_NETS; k++) {
    size_t m;
    const float *p = td3_params(t, (td3_net_t)k, &m);
    assert_memory_equal(p, td3_params(same, (td3_net_t)k, NULL), m * sizeof(float));
    assert_memory_not_equal(p, td3_params(other, (td3_net_t)k, NULL), m * sizeof(float));
  }
  assert_memory_equal(td3_params(t, TD3_ACTOR, NULL), td3_params(t, TD3_ACTOR_TARGET, NULL),
                      n * sizeof(float));
  assert_memory_equal(td3_params(t, TD3_CRITIC2, NULL),
                      td3_params(t, TD3_CRITIC2_TARGET, NULL), nc * sizeof(float));
  assert_memory_not_equal(td3_params(t, TD3_CRITIC1, NULL), td3_params(t, TD3_CRITIC2, NULL),
                          nc * sizeof(float));
  float *m, *v;
  uint64_t step;
  assert_int_equal(td3_adam_state(t, TD3_ACTOR_TARGET, &m, &v, &n, &step), TD3_EINVAL);
  assert_int_equal(td3_set_adam_step(t, TD3_CRITIC1_TARGET, 3), TD3_EINVAL);
  assert_int_equal(td3_set_adam_step(t, TD3_CRITIC1, 7), 0);
  assert_int_equal(td3_adam_state(t, TD3_CRITIC1, &m, &v, &n, &step), 0);
  assert_int_equal(step, 7);
  td3_set_iterations(t, 41);
  assert_int_equal(td3_iterations(t), 41);
  assert_true(td3_config(t)->action_low[1] == TD3_FIXTURE_LOW[1]);

  /* td3_act agrees with the standalone policy holding the same parameters */
  uint32_t al[NN_MAX_LAYERS];
  uint32_t nl = td3_actor_layers(t, al);
  nn_policy_t *pol = nn_policy_new(al, nl, TD3_FIXTURE_LOW, TD3_FIXTURE_HIGH, 8);
  assert_non_null(pol);
  nn_policy_set_params(pol, ap);
  td3_fixture_batch_t bb;
  td3_fixture_fill(&bb, &c, 61);
  float a1[8 * 3], a2[8 * 3];
  td3_act(t, bb.obs, 5, a1);
  nn_policy_act(pol, bb.obs, 5, a2);
  for (int i = 0; i < 15; i++) {
    assert_true(fabsf(a1[i] - a2[i]) <= 1e-6f);
    assert_true(a1[i] >= TD3_FIXTURE_LOW[i % 3] && a1[i] <= TD3_FIXTURE_HIGH[i % 3]);
  }
  nn_policy_destroy(&pol);
  td3_destroy(&t);
  td3_destroy(&same);
  td3_destroy(&other);
  td3_destroy(&t); /* NULL-safe */
}

static void bad_configs_are_rejected(void **state) {
  (void)state;
  const float bad_low[2] = {1.0f, -1.0f}, bad_high[2] = {1.0f, 1.0f}; /* dim 0: low == high */
  const float nan_high[2] = {NAN, 1.0f};
  static const char *field[] = {
      "obs_dim", "act_dim", "act_dim", "obs_dim + act_dim", "n_hidden", "n_hidden",
      "hidden layer 2", "action_low and action_high", "batch", "batch", "gamma", "tau",
      "actor_lr", "critic_lr", "adam_beta1", "adam_beta2", "adam_eps", "policy_noise",
      "noise_clip", "policy_delay"};
  for (size_t i = 0; i < sizeof field / sizeof field[0]; i++) {
    const uint32_t h[2] = {8, 8};
    td3_config_t c = td3_fixture_config(2, 2, h);
    switch (i) { /* one bad field per case, in the order of field[] */
    case 0: c.obs_dim = 0; break;
    case 1: c.act_dim = 0; break;
    case 2: c.act_dim = NN_MAX_DIM + 1; break;
    case 3: c.obs_dim = NN_MAX_DIM; break;
    case 4: c.n_hidden = 0; break;
    case 5: c.n_hidden = NN_MAX_LAYERS - 1; break;
    case 6: c.hidden[1] = 0; break;
    case 7: c.action_low = NULL; break;
    case 8: c.batch = 0; break;
    case 9: c.batch = TD3_MAX_BATCH + 1; break;
    case 10: c.gamma = 1.5f; break;
    case 11: c.tau = 0.0f; break;
    case 12: c.actor_lr = -1.0f; break;
    case 13: c.critic_lr = NAN; break;
    case 14: c.adam_beta1 = 1.0f; break;
    case 15: c.adam_beta2 = -0.1f; break;
    case 16: c.adam_eps = 0.0f; break;
    case 17: c.policy_noise = -0.2f; break;
    case 18: c.noise_clip = INFINITY; break;
    default: c.policy_delay = 0; break;
    }
    td3_err_t err = {0};
    assert_null(td3_new(&c, &err));
    assert_int_equal(err.code, TD3_EINVAL);
    if (!strstr(err.msg, field[i]))
      fail_msg("case %zu: message '%s' does not name '%s'", i, err.msg, field[i]);
  }
  const uint32_t h[2] = {8, 8};
  td3_config_t c = td3_fixture_config(2, 2, h);
  td3_err_t err = {0};
  c.action_low = bad_low;
  c.action_high = bad_high;
  assert_null(td3_new(&c, &err));
  assert_non_null(strstr(err.msg, "dimension 0"));
  c.action_low = TD3_FIXTURE_LOW;
  c.action_high = nan_high;
  assert_null(td3_new(&c, &err));
  assert_non_null(strstr(err.msg, "finite"));
  assert_null(td3_new(NULL, &err));
  td3_config_default(&c);
  assert_int_equal(c.n_hidden, 2);
  assert_int_equal(c.hidden[0], 256);
  assert_int_equal(c.hidden[1], 256);
  assert_int_equal(c.batch, 256);
  assert_int_equal(c.policy_delay, 2);
  assert_true(c.gamma == 0.99f && c.tau == 0.005f && c.actor_lr == 3e-4f &&
              c.critic_lr == 3e-4f && c.adam_beta1 == 0.9f && c.adam_beta2 == 0.999f &&
              c.adam_eps == 1e-8f && c.policy_noise == 0.2f && c.noise_clip == 0.5f);
}

int main(void) {
  openblas_set_num_threads(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(actor_step_leaves_critics_alone),
      cmocka_unit_test(targets_move_only_on_delay_iterations),
      cmocka_unit_test(nonfinite_changes_nothing),
      cmocka_unit_test(rng_draws_are_the_given_noise),
      cmocka_unit_test(act_matches_policy_and_accessors),
      cmocka_unit_test(bad_configs_are_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
