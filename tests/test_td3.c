/* Tests for learner/td3 against references: gradients against finite differences of a
 * double-precision reference written here with naive loops, the TD target (terminal mask,
 * clipped double Q, smoothing clips), and a golden run against PyTorch
 * (tests/fixtures/td3_golden.txt, written by tests/gen_td3_fixture.py). What one update
 * changes and leaves alone is tests/test_td3_update.c's. */
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

#define MAXW 64 /* widest layer in these tests */

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
    double mid = 0.5 * ((double)TD3_FIXTURE_HIGH[j] + TD3_FIXTURE_LOW[j]),
           half = 0.5 * ((double)TD3_FIXTURE_HIGH[j] - TD3_FIXTURE_LOW[j]);
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
                       const refnet_t *c2t, const td3_fixture_batch_t *bb, double *y) {
  size_t O = c->obs_dim, A = c->act_dim;
  for (size_t i = 0; i < c->batch; i++) {
    double a[MAXW];
    ref_actor(at, bb->next_obs + i * O, A, a);
    for (size_t j = 0; j < A; j++) {
      double half = 0.5 * ((double)TD3_FIXTURE_HIGH[j] - TD3_FIXTURE_LOW[j]);
      double e = (double)c->policy_noise * half * bb->noise[i * A + j];
      double lim = (double)c->noise_clip * half;
      e = fmin(fmax(e, -lim), lim);
      a[j] = fmin(fmax(a[j] + e, TD3_FIXTURE_LOW[j]), TD3_FIXTURE_HIGH[j]);
    }
    double q1 = ref_critic(c1t, bb->next_obs + i * O, O, a, A);
    double q2 = ref_critic(c2t, bb->next_obs + i * O, O, a, A);
    y[i] = bb->reward[i] + (double)c->gamma * (1.0 - bb->terminal[i]) * fmin(q1, q2);
  }
}

static double ref_critic_loss(const td3_config_t *c, const refnet_t *c1, const refnet_t *c2,
                              const td3_fixture_batch_t *bb, const double *y) {
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
  const td3_fixture_batch_t *bb;
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
    td3_config_t c = td3_fixture_config(s == 1 ? 1 : 2, SHAPES[s][0], SHAPES[s] + 1);
    td3_t *t = make(&c);
    td3_fixture_batch_t bb;
    td3_fixture_fill(&bb, &c, 5 + s);
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
    td3_config_t c = td3_fixture_config(s == 1 ? 1 : 3, SHAPES[s][0], SHAPES[s] + 1);
    td3_t *t = make(&c);
    td3_fixture_batch_t bb;
    td3_fixture_fill(&bb, &c, 7 + s);
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
  td3_config_t c = td3_fixture_config(2, 2, h);
  c.policy_noise = 0.6f; /* with the +-4 draws, both clips bind */
  c.noise_clip = 0.7f;
  td3_t *t = make(&c);
  td3_fixture_batch_t bb;
  td3_fixture_fill(&bb, &c, 3);
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
      cmocka_unit_test(golden_matches_pytorch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
