/* Tests for learner/td3: gradients against finite differences of a double-precision reference
 * written here with naive loops, the TD target (terminal mask, clipped double Q, smoothing
 * clips), the delayed actor and target updates, the all-or-nothing rule for non-finite
 * values, configuration validation, and a golden run against PyTorch
 * (tests/fixtures/td3_golden.txt, written by tests/gen_td3_fixture.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nn.h"
#include "rng.h"
#include "td3.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXW 64 /* widest layer in these tests */

static const float LOW[3] = {-2.0f, -1.0f, 0.0f}, HIGH[3] = {2.0f, 3.0f, 0.5f};

/* A small configuration: obs 4, act up to 3 with asymmetric bounds, batch 8. */
static td3_config_t small_config(uint32_t act, uint32_t n_hidden, const uint32_t *hidden) {
  td3_config_t c;
  td3_config_default(&c);
  c.obs_dim = 4;
  c.act_dim = act;
  c.n_hidden = n_hidden;
  for (uint32_t i = 0; i < n_hidden; i++) c.hidden[i] = hidden[i];
  c.action_low = LOW;
  c.action_high = HIGH;
  c.batch = 8;
  c.seed = 11;
  c.actor_lr = 1e-3f;
  c.critic_lr = 2e-3f;
  return c;
}

typedef struct batch_buf {
  float obs[8 * 4], action[8 * 3], reward[8], next_obs[8 * 4], terminal[8], noise[8 * 3];
  transition_batch_t b;
} batch_buf_t;

static void fill_batch(batch_buf_t *bb, const td3_config_t *c, uint64_t seed) {
  rng_t r;
  rng_init(&r, seed, 99);
  size_t B = c->batch, O = c->obs_dim, A = c->act_dim;
  rng_normal_fill(&r, bb->obs, B * O, 0.0f, 1.0f);
  rng_normal_fill(&r, bb->next_obs, B * O, 0.0f, 1.0f);
  rng_normal_fill(&r, bb->reward, B, 0.0f, 1.0f);
  rng_normal_fill(&r, bb->noise, B * A, 0.0f, 1.0f);
  for (size_t i = 0; i < B * A; i++) bb->action[i] = rng_uniformf(&r, LOW[i % A], HIGH[i % A]);
  for (size_t i = 0; i < B; i++) bb->terminal[i] = (i % 3 == 1) ? 1.0f : 0.0f;
  bb->noise[0] = 4.0f; /* beyond the noise clip */
  bb->noise[A + A - 1] = -4.0f;
  bb->b = (transition_batch_t){.n = c->batch, .obs_dim = c->obs_dim, .act_dim = c->act_dim,
                               .obs = bb->obs, .action = bb->action, .reward = bb->reward,
                               .next_obs = bb->next_obs, .terminal = bb->terminal};
}

static td3_t *make(const td3_config_t *c) {
  td3_err_t err = {0};
  td3_t *t = td3_new(c, &err);
  if (!t) fail_msg("td3_new: %s", err.msg);
  return t;
}

/* ---------------------------------------------------------------------------------------- */
/* Double-precision reference (independent of nn.c: its own offset walk and loops)          */

typedef struct refnet {
  uint32_t n, sizes[NN_MAX_LAYERS];
  double p[20000];
} refnet_t;

static void ref_load(refnet_t *r, td3_t *t, td3_net_t which) {
  int actor = which == TD3_ACTOR || which == TD3_ACTOR_TARGET;
  r->n = actor ? td3_actor_layers(t, r->sizes) : td3_critic_layers(t, r->sizes);
  size_t n;
  const float *p = td3_params(t, which, &n);
  assert_true(n <= sizeof r->p / sizeof r->p[0]);
  for (size_t i = 0; i < n; i++) r->p[i] = p[i];
}

/* One row through the MLP: ReLU hidden layers, linear output. */
static void ref_mlp_row(const refnet_t *r, const double *in, double *out) {
  double cur[MAXW], next[MAXW];
  memcpy(cur, in, r->sizes[0] * sizeof(double));
  size_t off = 0;
  for (uint32_t l = 0; l + 1 < r->n; l++) {
    uint32_t ni = r->sizes[l], no = r->sizes[l + 1];
    const double *w = r->p + off, *b = r->p + off + (size_t)no * ni;
    for (uint32_t o = 0; o < no; o++) {
      double s = b[o];
      for (uint32_t i = 0; i < ni; i++) s += w[o * ni + i] * cur[i];
      next[o] = (l + 2 < r->n && s < 0) ? 0 : s;
    }
    off += (size_t)(ni + 1) * no;
    memcpy(cur, next, no * sizeof(double));
  }
  memcpy(out, cur, r->sizes[r->n - 1] * sizeof(double));
}

static void ref_actor(const refnet_t *r, const float *s, size_t A, double *a) {
  double in[MAXW], z[MAXW];
  for (uint32_t i = 0; i < r->sizes[0]; i++) in[i] = s[i];
  ref_mlp_row(r, in, z);
  for (size_t j = 0; j < A; j++) {
    double mid = 0.5 * ((double)HIGH[j] + LOW[j]), half = 0.5 * ((double)HIGH[j] - LOW[j]);
    a[j] = mid + half * tanh(z[j]);
  }
}

static double ref_critic(const refnet_t *r, const float *s, size_t O, const double *a, size_t A) {
  double in[MAXW], q;
  for (size_t i = 0; i < O; i++) in[i] = s[i];
  for (size_t j = 0; j < A; j++) in[O + j] = a[j];
  ref_mlp_row(r, in, &q);
  return q;
}

/* y (B) of step 2 from the target networks loaded in at, c1t, c2t. */
static void ref_target(const td3_config_t *c, const refnet_t *at, const refnet_t *c1t,
                       const refnet_t *c2t, const batch_buf_t *bb, double *y) {
  size_t O = c->obs_dim, A = c->act_dim;
  for (size_t i = 0; i < c->batch; i++) {
    double a[MAXW];
    ref_actor(at, bb->next_obs + i * O, A, a);
    for (size_t j = 0; j < A; j++) {
      double half = 0.5 * ((double)HIGH[j] - LOW[j]);
      double e = (double)c->policy_noise * half * bb->noise[i * A + j];
      double lim = (double)c->noise_clip * half;
      e = fmin(fmax(e, -lim), lim);
      a[j] = fmin(fmax(a[j] + e, LOW[j]), HIGH[j]);
    }
    double q1 = ref_critic(c1t, bb->next_obs + i * O, O, a, A);
    double q2 = ref_critic(c2t, bb->next_obs + i * O, O, a, A);
    y[i] = bb->reward[i] + (double)c->gamma * (1.0 - bb->terminal[i]) * fmin(q1, q2);
  }
}

static double ref_critic_loss(const td3_config_t *c, const refnet_t *c1, const refnet_t *c2,
                              const batch_buf_t *bb, const double *y) {
  size_t O = c->obs_dim, A = c->act_dim;
  double s = 0;
  for (size_t i = 0; i < c->batch; i++) {
    double a[MAXW];
    for (size_t j = 0; j < A; j++) a[j] = bb->action[i * A + j];
    double e1 = ref_critic(c1, bb->obs + i * O, O, a, A) - y[i];
    double e2 = ref_critic(c2, bb->obs + i * O, O, a, A) - y[i];
    s += e1 * e1 + e2 * e2;
  }
  return s / (double)c->batch;
}

static double ref_actor_loss(const td3_config_t *c, const refnet_t *actor, const refnet_t *c1,
                             const float *obs) {
  size_t O = c->obs_dim, A = c->act_dim;
  double s = 0;
  for (size_t i = 0; i < c->batch; i++) {
    double a[MAXW];
    ref_actor(actor, obs + i * O, A, a);
    s += ref_critic(c1, obs + i * O, O, a, A);
  }
  return -s / (double)c->batch;
}

/* What a finite difference perturbs and evaluates. */
typedef struct fd_ctx {
  const td3_config_t *c;
  refnet_t *actor, *c1, *c2;
  const batch_buf_t *bb;
  const double *y;
} fd_ctx_t;

static double critic_loss_of(const fd_ctx_t *x) {
  return ref_critic_loss(x->c, x->c1, x->c2, x->bb, x->y);
}

static double actor_loss_of(const fd_ctx_t *x) {
  return ref_actor_loss(x->c, x->actor, x->c1, x->bb->obs);
}

/* Central difference of f over the parameter *p, in double (h = 1e-6: the truncation error
 * is O(h^2), rounding O(1e-16 / h); a ReLU kink inside +-h is vanishingly unlikely). */
static double fd(double *p, double (*f)(const fd_ctx_t *), const fd_ctx_t *x) {
  const double h = 1e-6, keep = *p;
  *p = keep + h;
  double up = f(x);
  *p = keep - h;
  double down = f(x);
  *p = keep;
  return (up - down) / (2 * h);
}

/* Tolerance for a float gradient against a double finite difference: float sums of a few
 * dozen O(1) terms carry ~1e-6 relative error; 1e-4 absolute plus 1e-3 relative leaves margin
 * while a wrong term (a missing mask, a wrong scale) is off by O(|g|). */
static void check_grad(const char *what, size_t i, float got, double want) {
  if (fabs(got - want) > 1e-4 + 1e-3 * fabs(want))
    fail_msg("%s gradient %zu: got %.8g, finite difference %.8g", what, i, (double)got, want);
}

static const uint32_t SHAPES[3][4] = {{2, 16, 12}, {1, 20}, {3, 10, 9, 8}}; /* n_hidden, h... */

static void critic_grad_matches_finite_differences(void **state) {
  (void)state;
  for (int s = 0; s < 3; s++) {
    td3_config_t c = small_config(s == 1 ? 1 : 2, SHAPES[s][0], SHAPES[s] + 1);
    td3_t *t = make(&c);
    batch_buf_t bb;
    fill_batch(&bb, &c, 5 + s);
    static refnet_t at, c1t, c2t, c1, c2;
    ref_load(&at, t, TD3_ACTOR_TARGET);
    ref_load(&c1t, t, TD3_CRITIC1_TARGET);
    ref_load(&c2t, t, TD3_CRITIC2_TARGET);
    ref_load(&c1, t, TD3_CRITIC1);
    ref_load(&c2, t, TD3_CRITIC2);
    double y[8];
    ref_target(&c, &at, &c1t, &c2t, &bb, y);
    size_t n;
    td3_params(t, TD3_CRITIC1, &n);
    float *g1 = malloc(n * sizeof(float)), *g2 = malloc(n * sizeof(float)), mean_q;
    float loss = td3_critic_grad(t, &bb.b, bb.noise, g1, g2, &mean_q);
    double want = ref_critic_loss(&c, &c1, &c2, &bb, y);
    assert_true(fabs(loss - want) <= 1e-5 * fmax(1.0, fabs(want)));
    double mq = 0;
    for (size_t i = 0; i < c.batch; i++) {
      double a[MAXW];
      for (size_t j = 0; j < c.act_dim; j++) a[j] = bb.action[i * c.act_dim + j];
      mq += ref_critic(&c1, bb.obs + i * c.obs_dim, c.obs_dim, a, c.act_dim) / c.batch;
    }
    assert_true(fabs(mean_q - mq) <= 1e-5 * fmax(1.0, fabs(mq)));
    fd_ctx_t x = {.c = &c, .c1 = &c1, .c2 = &c2, .bb = &bb, .y = y};
    for (size_t i = 0; i < n; i++) {
      check_grad("critic1", i, g1[i], fd(&c1.p[i], critic_loss_of, &x));
      check_grad("critic2", i, g2[i], fd(&c2.p[i], critic_loss_of, &x));
    }
    free(g1);
    free(g2);
    td3_destroy(&t);
  }
}

static void actor_grad_matches_finite_differences(void **state) {
  (void)state;
  for (int s = 0; s < 3; s++) {
    td3_config_t c = small_config(s == 1 ? 1 : 3, SHAPES[s][0], SHAPES[s] + 1);
    td3_t *t = make(&c);
    batch_buf_t bb;
    fill_batch(&bb, &c, 7 + s);
    static refnet_t actor, c1;
    ref_load(&actor, t, TD3_ACTOR);
    ref_load(&c1, t, TD3_CRITIC1);
    size_t n;
    td3_params(t, TD3_ACTOR, &n);
    float *g = malloc(n * sizeof(float));
    float loss = td3_actor_grad(t, bb.obs, g);
    double want = ref_actor_loss(&c, &actor, &c1, bb.obs);
    assert_true(fabs(loss - want) <= 1e-5 * fmax(1.0, fabs(want)));
    fd_ctx_t x = {.c = &c, .actor = &actor, .c1 = &c1, .bb = &bb};
    double gmax = 0;
    for (size_t i = 0; i < n; i++) {
      double gi = fd(&actor.p[i], actor_loss_of, &x);
      check_grad("actor", i, g[i], gi);
      gmax = fmax(gmax, fabs(gi));
    }
    assert_true(gmax > 1e-3); /* the check compared something */
    free(g);
    td3_destroy(&t);
  }
}

static void target_masks_terminal_rows_and_clips(void **state) {
  (void)state;
  const uint32_t h[2] = {16, 16};
  td3_config_t c = small_config(2, 2, h);
  c.policy_noise = 0.6f; /* with the +-4 draws, both clips bind */
  c.noise_clip = 0.7f;
  td3_t *t = make(&c);
  batch_buf_t bb;
  fill_batch(&bb, &c, 3);
  for (size_t i = 0; i < c.batch; i++) bb.reward[i] = 0.5f + (float)i;
  static refnet_t at, c1t, c2t;
  ref_load(&at, t, TD3_ACTOR_TARGET);
  ref_load(&c1t, t, TD3_CRITIC1_TARGET);
  ref_load(&c2t, t, TD3_CRITIC2_TARGET);
  float y[8];
  double want[8];
  td3_target_q(t, &bb.b, bb.noise, y);
  ref_target(&c, &at, &c1t, &c2t, &bb, want);
  int live = 0;
  for (size_t i = 0; i < c.batch; i++) {
    if (bb.terminal[i] == 1.0f) {
      assert_true(y[i] == bb.reward[i]); /* exactly r: no bootstrap */
    } else {
      assert_true(fabs(y[i] - want[i]) <= 1e-5 * fmax(1.0, fabs(want[i])));
      live += fabs(y[i] - bb.reward[i]) > 1e-3;
    }
  }
  assert_true(live > 0); /* non-terminal rows do bootstrap */
  td3_destroy(&t);
}

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
  td3_config_t c = small_config(2, 2, h);
  td3_config_t c3 = c;
  c3.policy_delay = 3;
  td3_t *a = make(&c), *b = make(&c3); /* same seed: same initial networks */
  batch_buf_t bb[2];
  td3_stats_t sa, sb;
  for (int i = 0; i < 2; i++) {
    fill_batch(&bb[i], &c, 20 + i);
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
  td3_config_t c = small_config(2, 2, h);
  c.tau = 0.25f;
  td3_t *t = make(&c);
  batch_buf_t bb;
  fill_batch(&bb, &c, 31);
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
  fill_batch(&bb, &c, 32);
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
  td3_config_t c = small_config(2, 2, h);
  for (int k = 0; k < 12; k++) {
    td3_t *t = make(&c);
    batch_buf_t bb;
    fill_batch(&bb, &c, 41);
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
  td3_config_t c = small_config(2, 2, h);
  td3_t *a = make(&c), *b = make(&c);
  batch_buf_t bb;
  fill_batch(&bb, &c, 51);
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
  td3_config_t c = small_config(3, 2, h);
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
  assert_true(td3_config(t)->action_low[1] == LOW[1]);

  /* td3_act agrees with the standalone policy holding the same parameters */
  uint32_t al[NN_MAX_LAYERS];
  uint32_t nl = td3_actor_layers(t, al);
  nn_policy_t *pol = nn_policy_new(al, nl, LOW, HIGH, 8);
  assert_non_null(pol);
  nn_policy_set_params(pol, ap);
  batch_buf_t bb;
  fill_batch(&bb, &c, 61);
  float a1[8 * 3], a2[8 * 3];
  td3_act(t, bb.obs, 5, a1);
  nn_policy_act(pol, bb.obs, 5, a2);
  for (int i = 0; i < 15; i++) {
    assert_true(fabsf(a1[i] - a2[i]) <= 1e-6f);
    assert_true(a1[i] >= LOW[i % 3] && a1[i] <= HIGH[i % 3]);
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
    td3_config_t c = small_config(2, 2, h);
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
  td3_config_t c = small_config(2, 2, h);
  td3_err_t err = {0};
  c.action_low = bad_low;
  c.action_high = bad_high;
  assert_null(td3_new(&c, &err));
  assert_non_null(strstr(err.msg, "dimension 0"));
  c.action_low = LOW;
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

/* ---------------------------------------------------------------------------------------- */
/* Golden run against PyTorch (format: see tests/gen_td3_fixture.py)                        */

static const char *NET_NAME[TD3_N_NETS] = {"actor",   "actor_target",   "critic1",
                                           "critic2", "critic1_target", "critic2_target"};

typedef struct rec {
  char name[24];
  size_t n;
  float *v; /* (n), NULL for a 'same' record */
} rec_t;

static float *parse_hex(const char *hex, size_t n) {
  if (!hex || strlen(hex) != 8 * n) fail_msg("fixture: %zu values need %zu hex digits", n, 8 * n);
  float *v = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    char digits[9];
    memcpy(digits, hex + 8 * i, 8);
    digits[8] = 0;
    uint32_t u = (uint32_t)strtoul(digits, NULL, 16);
    memcpy(&v[i], &u, sizeof u);
  }
  return v;
}

static const rec_t *find_rec(const rec_t *r, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(r[i].name, name)) return &r[i];
  return NULL;
}

static float *need(const rec_t *r, int n, const char *name, size_t count) {
  const rec_t *x = find_rec(r, n, name);
  if (!x || !x->v || x->n != count) fail_msg("fixture: record %s missing or mis-sized", name);
  return x->v;
}

/* Losses agree to 1e-5 relative. Parameters agree to 1e-5 * max(1, |expected|): Adam moves a
 * weight by at most lr (1e-3 here) per step and Polyak moves a target by ~tau * 0.2 = 1e-3,
 * both 100x the tolerance, while float summation-order differences stay below ~1e-6. */
static void golden_iteration(td3_t *t, const td3_config_t *c, const rec_t *r, int nr, int it,
                             float **expect, double *worst) {
  const size_t B = c->batch, O = c->obs_dim, A = c->act_dim;
  /* the fixture's arrays, borrowed (td3 only reads a batch) */
  transition_batch_t b = {.n = (uint32_t)B, .obs_dim = (uint32_t)O, .act_dim = (uint32_t)A,
                          .obs = need(r, nr, "obs", B * O),
                          .action = need(r, nr, "action", B * A),
                          .reward = need(r, nr, "reward", B),
                          .next_obs = need(r, nr, "next_obs", B * O),
                          .terminal = need(r, nr, "terminal", B)};
  td3_stats_t st;
  assert_int_equal(td3_train_with_noise(t, &b, need(r, nr, "noise", B * A), &st), 0);
  const rec_t *al = find_rec(r, nr, "actor_loss");
  assert_int_equal(st.actor_step, al != NULL);
  float got[3] = {st.critic_loss, st.mean_q, st.actor_loss};
  const char *names[3] = {"critic_loss", "mean_q", "actor_loss"};
  for (int i = 0; i < (al ? 3 : 2); i++) {
    float want = need(r, nr, names[i], 1)[0];
    if (fabsf(got[i] - want) > 1e-5f * fmaxf(1.0f, fabsf(want)))
      fail_msg("iteration %d: %s %.9g, PyTorch %.9g", it, names[i], (double)got[i], (double)want);
  }
  for (int k = 0; k < TD3_N_NETS; k++) {
    const rec_t *x = find_rec(r, nr, NET_NAME[k]);
    if (!x) fail_msg("fixture: iteration %d lacks %s", it, NET_NAME[k]);
    size_t n;
    const float *p = td3_params(t, (td3_net_t)k, &n);
    if (x->v) {
      assert_int_equal(x->n, n);
      memcpy(expect[k], x->v, n * sizeof(float));
    }
    for (size_t i = 0; i < n; i++) {
      double d = fabs((double)p[i] - expect[k][i]) / fmax(1.0, fabs(expect[k][i]));
      if (d > 1e-5)
        fail_msg("iteration %d: %s[%zu] = %.9g, PyTorch %.9g", it, NET_NAME[k], i, (double)p[i],
                 (double)expect[k][i]);
      if (d > *worst) *worst = d;
    }
  }
}

/* Reads the next token of the line being parsed (strtok state in *save). */
static char *tok(char **save) { return strtok_r(NULL, " \n", save); }

static void golden_matches_pytorch(void **state) {
  (void)state;
  const char *path = TD3_SOURCE_DIR "/tests/fixtures/td3_golden.txt";
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  char *line = NULL, *save;
  size_t cap = 0;
  assert_true(getline(&line, &cap, f) > 0 && !strcmp(line, "td3_golden 1\n"));
  td3_config_t c;
  td3_config_default(&c);
  assert_true(getline(&line, &cap, f) > 0 && !strcmp(strtok_r(line, " ", &save), "dims"));
  c.obs_dim = (uint32_t)atoi(tok(&save));
  c.act_dim = (uint32_t)atoi(tok(&save));
  c.n_hidden = (uint32_t)atoi(tok(&save));
  assert_true(c.n_hidden >= 1 && c.n_hidden <= NN_MAX_LAYERS - 2);
  for (uint32_t i = 0; i < c.n_hidden; i++) c.hidden[i] = (uint32_t)atoi(tok(&save));
  c.batch = (uint32_t)atoi(tok(&save));
  int iterations = atoi(tok(&save));
  c.policy_delay = (uint32_t)atoi(tok(&save));
  assert_true(getline(&line, &cap, f) > 0 && !strcmp(strtok_r(line, " ", &save), "hyper"));
  float *hyper[9] = {&c.gamma,      &c.tau,        &c.actor_lr,     &c.critic_lr,  &c.adam_beta1,
                     &c.adam_beta2, &c.adam_eps,   &c.policy_noise, &c.noise_clip};
  for (int i = 0; i < 9; i++) *hyper[i] = strtof(tok(&save), NULL);

  /* All records, tagged with their iteration (0: bounds and initial networks). */
  rec_t r[160];
  int iter_of[160], nr = 0, it = 0;
  while (getline(&line, &cap, f) > 0) {
    char *kw = strtok_r(line, " \n", &save);
    if (!strcmp(kw, "end")) break;
    if (!strcmp(kw, "iter")) {
      assert_int_equal(atoi(tok(&save)), ++it);
      continue;
    }
    assert_true(nr < 160 && (!strcmp(kw, "f") || !strcmp(kw, "same")));
    memset(&r[nr], 0, sizeof r[nr]);
    snprintf(r[nr].name, sizeof r[nr].name, "%s", tok(&save));
    if (!strcmp(kw, "f")) {
      r[nr].n = strtoul(tok(&save), NULL, 10);
      r[nr].v = parse_hex(tok(&save), r[nr].n);
    }
    iter_of[nr++] = it;
  }
  assert_int_equal(it, iterations);
  int n0 = 0;
  while (n0 < nr && iter_of[n0] == 0) n0++;
  float *expect[TD3_N_NETS];
  c.action_low = need(r, n0, "low", c.act_dim);
  c.action_high = need(r, n0, "high", c.act_dim);
  td3_t *t = make(&c);
  for (int k = 0; k < TD3_N_NETS; k++) {
    size_t n;
    float *dst = td3_params(t, (td3_net_t)k, &n);
    memcpy(dst, need(r, n0, NET_NAME[k], n), n * sizeof(float));
    expect[k] = malloc(n * sizeof(float));
    memcpy(expect[k], dst, n * sizeof(float));
  }
  double worst = 0;
  for (int i = n0, k = 1; k <= iterations; k++) {
    int j = i;
    while (j < nr && iter_of[j] == k) j++;
    golden_iteration(t, &c, r + i, j - i, k, expect, &worst);
    i = j;
  }
  assert_int_equal(td3_iterations(t), iterations);
  print_message("golden: %d iterations match PyTorch; worst parameter difference %.2g "
                "(relative to max(1, |value|))\n", it, worst);
  for (int k = 0; k < TD3_N_NETS; k++) free(expect[k]);
  for (int i = 0; i < nr; i++) free(r[i].v);
  free(line);
  fclose(f);
  td3_destroy(&t);
}

int main(void) {
  openblas_set_num_threads(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(critic_grad_matches_finite_differences),
      cmocka_unit_test(actor_grad_matches_finite_differences),
      cmocka_unit_test(target_masks_terminal_rows_and_clips),
      cmocka_unit_test(actor_step_leaves_critics_alone),
      cmocka_unit_test(targets_move_only_on_delay_iterations),
      cmocka_unit_test(nonfinite_changes_nothing),
      cmocka_unit_test(rng_draws_are_the_given_noise),
      cmocka_unit_test(act_matches_policy_and_accessors),
      cmocka_unit_test(bad_configs_are_rejected),
      cmocka_unit_test(golden_matches_pytorch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
