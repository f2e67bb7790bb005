/* Tests for common/nn/nn: layout, initialisation, matrix products, layers (against naive double
 * loops and central finite differences in double), Adam and Polyak against hand-computed
 * steps, and the standalone policy against a naive forward pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "nn.h"
#include "rng.h"
#include "wire.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static rng_t R;

static void randn(float *x, size_t n) { rng_normal_fill(&R, x, n, 0.0f, 1.0f); }

/* |got - want| <= tol * max(1, |want|), with the position in the message. */
static void near(const char *what, size_t i, double got, double want, double tol) {
  if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
    fail_msg("%s[%zu]: got %.9g, want %.9g", what, i, got, want);
}

/* ---------------------------------------------------------------------------------------- */

static void layout_matches_wire(void **state) {
  (void)state;
  const uint32_t shapes[][5] = {{3, 2, 0}, {17, 256, 256, 6, 0}, {23, 400, 300, 1, 0}, {1, 1, 0}};
  for (size_t s = 0; s < 4; s++) {
    uint32_t n = 0;
    while (shapes[s][n]) n++;
    nn_layout_t lay;
    assert_int_equal(nn_layout_init(&lay, shapes[s], n), 0);
    assert_int_equal(lay.n_params, wire_param_count(shapes[s], n));
    assert_int_equal(nn_param_count(shapes[s], n), lay.n_params);
    size_t off = 0;
    float *base = malloc(lay.n_params * sizeof(float));
    nn_view_t v = nn_view(&lay, base);
    for (uint32_t l = 0; l + 1 < n; l++) { /* W_l (out, in) then b_l (out), in order */
      assert_int_equal(lay.w_off[l], off);
      assert_ptr_equal(v.w[l], base + off);
      off += (size_t)shapes[s][l + 1] * shapes[s][l];
      assert_int_equal(lay.b_off[l], off);
      assert_ptr_equal(v.b[l], base + off);
      off += shapes[s][l + 1];
    }
    assert_int_equal(off, lay.n_params);
    assert_null(v.w[n - 1]);
    free(base);
  }
  const uint32_t bad[NN_MAX_LAYERS + 1] = {3, 4, 5, 6, 7, 8, 9, 10, 11};
  const uint32_t zero[3] = {3, 0, 2}, huge[2] = {NN_MAX_DIM + 1, 2};
  nn_layout_t lay;
  assert_int_equal(nn_param_count(bad, NN_MAX_LAYERS + 1), 0);
  assert_int_equal(nn_param_count(bad, 1), 0);
  assert_int_equal(nn_param_count(zero, 3), 0);
  assert_int_equal(nn_param_count(huge, 2), 0);
  assert_int_equal(nn_layout_init(&lay, zero, 3), TD3_EINVAL);
  assert_int_not_equal(nn_param_count(bad, NN_MAX_LAYERS), 0);
}

static void init_within_fan_in_bounds(void **state) {
  (void)state;
  const uint32_t sizes[4] = {4, 100, 9, 30};
  nn_layout_t lay;
  assert_int_equal(nn_layout_init(&lay, sizes, 4), 0);
  float *p = malloc(lay.n_params * sizeof(float)), *q = malloc(lay.n_params * sizeof(float));
  memset(p, 0xff, lay.n_params * sizeof(float)); /* NaN: a value left out shows */
  rng_t a, b;
  rng_init(&a, 5, 1);
  rng_init(&b, 5, 1);
  nn_init_uniform(&lay, p, &a);
  nn_init_uniform(&lay, q, &b);
  assert_memory_equal(p, q, lay.n_params * sizeof(float)); /* reproducible */
  for (uint32_t l = 0; l < 3; l++) {
    double bound = 1.0 / sqrt((double)sizes[l]), maxabs = 0, sum = 0, bias_max = 0;
    size_t n = (size_t)sizes[l + 1] * (sizes[l] + 1); /* W_l and b_l share the bound */
    const float *x = p + lay.w_off[l];
    for (size_t i = 0; i < n; i++) {
      assert_true(fabs(x[i]) <= bound);
      maxabs = fmax(maxabs, fabs(x[i]));
      sum += x[i];
    }
    for (size_t i = 0; i < sizes[l + 1]; i++) bias_max = fmax(bias_max, fabs(p[lay.b_off[l] + i]));
    assert_true(bias_max > 0.5 * bound); /* biases are drawn too (P(fail) < 0.5^9) */
    /* U(-b, b): the largest of n >= 270 draws is within 2% of b; the mean is ~0 */
    assert_true(maxabs > 0.98 * bound);
    assert_true(fabs(sum / n) < 0.15 * bound);
  }
  free(p);
  free(q);
}

/* ---------------------------------------------------------------------------------------- */
/* Matrix products                                                                          */

/* C = alpha op(A) op(B) + beta C in double; beta == 0 ignores C. */
static void naive_gemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                       const float *a, size_t lda, const float *b, size_t ldb, double beta,
                       const float *c, size_t ldc, double *out) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t l = 0; l < k; l++)
        s += (double)(ta ? a[l * lda + i] : a[i * lda + l]) *
             (tb ? b[j * ldb + l] : b[l * ldb + j]);
      out[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
    }
}

static void sgemm_matches_naive(void **state) {
  (void)state;
  /* the shapes the network code uses, the 1-wide special paths, and strides past the width */
  const size_t shapes[][3] = {{7, 5, 9}, {16, 1, 12}, {1, 11, 6}, {9, 13, 1}, {1, 1, 5},
                              {1, 7, 1}, {6, 1, 1},   {33, 40, 17}};
  const float alphas[2] = {1.0f, -0.5f}, betas[3] = {0.0f, 1.0f, 0.5f};
  float *a = malloc(64 * 64 * sizeof(float)), *b = malloc(64 * 64 * sizeof(float));
  float *c = malloc(64 * 64 * sizeof(float)), *c0 = malloc(64 * 64 * sizeof(float));
  double *want = malloc(64 * 64 * sizeof(double));
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int t = 0; t < 4; t++)
      for (int ab = 0; ab < 6; ab++) {
        bool ta = t & 1, tb = t & 2;
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
        float alpha = alphas[ab % 2], beta = betas[ab / 2];
        randn(a, 64 * 64);
        randn(b, 64 * 64);
        randn(c0, 64 * 64);
        if (beta == 0.0f) c0[0] = NAN; /* beta 0 must not read C */
        memcpy(c, c0, 64 * 64 * sizeof(float));
        naive_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc, want);
        nn_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        for (size_t i = 0; i < m; i++) {
          for (size_t j = 0; j < n; j++)
            near("sgemm", i * n + j, c[i * ldc + j], want[i * n + j], 1e-5);
          for (size_t j = n; j < ldc && i + 1 < m; j++) /* padding between rows untouched */
            assert_memory_equal(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float));
        }
      }
  free(a);
  free(b);
  free(c);
  free(c0);
  free(want);
}

static void trace_records_and_replays(void **state) {
  (void)state;
  float a[6 * 4], b[5 * 4], c[6 * 5], again[6 * 5];
  randn(a, 24);
  randn(b, 20);
  nn_gemm_call_t calls[1];
  nn_gemm_trace_t tr = {calls, 1, 0, 0};
  nn_gemm_trace_begin(&tr);
  nn_sgemm(false, true, 6, 5, 4, 1.0f, a, 4, b, 4, 0.0f, c, 5);
  nn_sgemm(false, true, 6, 5, 4, 1.0f, a, 4, b, 4, 0.0f, c, 5);
  nn_gemm_trace_end();
  nn_sgemm(false, true, 6, 5, 4, 1.0f, a, 4, b, 4, 0.0f, c, 5); /* not recorded */
  assert_int_equal(tr.n, 1);
  assert_int_equal(tr.dropped, 1);
  assert_true(!calls[0].trans_a && calls[0].trans_b);
  assert_true(calls[0].m == 6 && calls[0].n == 5 && calls[0].k == 4 && calls[0].ldc == 5);
  assert_ptr_equal(calls[0].c, c);
  memcpy(again, c, sizeof c);
  memset(c, 0, sizeof c);
  nn_gemm_replay(calls, 1);
  assert_memory_equal(c, again, sizeof c);
}

/* ---------------------------------------------------------------------------------------- */
/* Layers: analytic backward against central differences of naive double forward passes     */

#define FD_H 1e-6

/* L = sum R .* (X W^T + b), all in double. */
static double linear_loss(const double *x, const double *w, const double *b, const float *r,
                          size_t B, size_t in, size_t out) {
  double L = 0;
  for (size_t i = 0; i < B; i++)
    for (size_t o = 0; o < out; o++) {
      double s = b[o];
      for (size_t j = 0; j < in; j++) s += w[o * in + j] * x[i * in + j];
      L += r[i * out + o] * s;
    }
  return L;
}

static double central(double *p, double (*f)(void *), void *ctx) {
  double keep = *p;
  *p = keep + FD_H;
  double up = f(ctx);
  *p = keep - FD_H;
  double down = f(ctx);
  *p = keep;
  return (up - down) / (2 * FD_H);
}

typedef struct lin_ctx {
  double x[3 * 5], w[4 * 5], b[4];
  const float *r;
} lin_ctx_t;

static double lin_f(void *p) {
  lin_ctx_t *c = p;
  return linear_loss(c->x, c->w, c->b, c->r, 3, 5, 4);
}

static void linear_gradients_match_fd(void **state) {
  (void)state;
  enum { B = 3, IN = 5, OUT = 4 };
  float x[B * IN], w[OUT * IN], b[OUT], r[B * OUT], out[B * OUT];
  float din[B * IN], dw[OUT * IN], db[OUT];
  randn(x, B * IN);
  randn(w, OUT * IN);
  randn(b, OUT);
  randn(r, B * OUT);
  lin_ctx_t c = {.r = r};
  for (int i = 0; i < B * IN; i++) c.x[i] = x[i];
  for (int i = 0; i < OUT * IN; i++) c.w[i] = w[i];
  for (int i = 0; i < OUT; i++) c.b[i] = b[i];
  nn_linear_forward(out, x, w, b, B, IN, OUT);
  for (int i = 0; i < B; i++)
    for (int o = 0; o < OUT; o++) {
      double s = c.b[o];
      for (int j = 0; j < IN; j++) s += c.w[o * IN + j] * c.x[i * IN + j];
      near("forward", (size_t)(i * OUT + o), out[i * OUT + o], s, 1e-6);
    }
  /* backward accumulates: start from 1 and subtract it again */
  for (int i = 0; i < B * IN; i++) din[i] = 1.0f;
  for (int i = 0; i < OUT * IN; i++) dw[i] = 1.0f;
  for (int i = 0; i < OUT; i++) db[i] = 1.0f;
  nn_linear_backward(din, dw, db, r, x, w, B, IN, OUT);
  for (int i = 0; i < B * IN; i++)
    near("dX", (size_t)i, din[i] - 1.0, central(&c.x[i], lin_f, &c), 1e-5);
  for (int i = 0; i < OUT * IN; i++)
    near("dW", (size_t)i, dw[i] - 1.0, central(&c.w[i], lin_f, &c), 1e-5);
  for (int i = 0; i < OUT; i++)
    near("db", (size_t)i, db[i] - 1.0, central(&c.b[i], lin_f, &c), 1e-5);
  /* NULL skips a gradient; the others still accumulate */
  nn_linear_backward(NULL, dw, NULL, r, x, w, B, IN, OUT);
  for (int i = 0; i < OUT * IN; i++)
    near("dW twice", (size_t)i, dw[i] - 1.0, 2 * central(&c.w[i], lin_f, &c), 1e-5);
}

typedef struct act_ctx {
  double z[12];
  const float *r, *mid, *half;
  int relu; /* 1: L = sum r relu(z), 0: L = sum r (mid + half tanh z) */
} act_ctx_t;

static double act_f(void *p) {
  act_ctx_t *c = p;
  double L = 0;
  for (int i = 0; i < 12; i++)
    L += c->r[i] * (c->relu ? fmax(c->z[i], 0.0) : c->mid[i % 3] + c->half[i % 3] * tanh(c->z[i]));
  return L;
}

static void relu_and_tanh_scale_match_fd(void **state) {
  (void)state;
  const float mid[3] = {0.0f, 1.0f, 0.25f}, half[3] = {2.0f, 2.0f, 0.25f};
  const float bias[3] = {0.5f, -0.5f, 0.0f};
  float z[12], r[12], y[12], th[12], d[12];
  randn(r, 12);
  for (int i = 0; i < 12; i++)
    z[i] = (i % 2 ? 1.0f : -1.0f) * (0.1f + 0.2f * (float)i) - bias[i % 3];
  act_ctx_t c = {.r = r, .mid = mid, .half = half};
  /* ReLU (after the bias add of nn_bias_act; the kink is kept 0.1 away from every point) */
  memcpy(y, z, sizeof y);
  nn_bias_act(y, bias, 4, 3, true);
  c.relu = 1;
  for (int i = 0; i < 12; i++) {
    c.z[i] = (double)z[i] + bias[i % 3];
    assert_true(y[i] == fmaxf(z[i] + bias[i % 3], 0.0f));
  }
  memcpy(d, r, sizeof d);
  nn_relu_backward(d, y, 12);
  for (int i = 0; i < 12; i++) near("relu", (size_t)i, d[i], central(&c.z[i], act_f, &c), 1e-6);
  float nan_row[3] = {NAN, -1.0f, 2.0f};
  nn_bias_act(nan_row, NULL, 1, 3, true);
  assert_true(isnan(nan_row[0]) && nan_row[1] == 0.0f && nan_row[2] == 2.0f);
  nn_bias_act(nan_row + 1, bias, 1, 2, false);
  assert_true(nan_row[1] == 0.5f && nan_row[2] == 1.5f);

  /* tanh-scaled output: forward values and accumulated dz */
  float act[12];
  nn_tanh_scale_forward(act, th, z, mid, half, 4, 3);
  c.relu = 0;
  for (int i = 0; i < 12; i++) {
    c.z[i] = z[i];
    near("tanh", (size_t)i, th[i], tanh((double)z[i]), 1e-6);
    near("action", (size_t)i, act[i], mid[i % 3] + half[i % 3] * tanh((double)z[i]), 1e-6);
  }
  for (int i = 0; i < 12; i++) d[i] = 0.5f;
  nn_tanh_scale_backward(d, r, th, half, 4, 3);
  for (int i = 0; i < 12; i++)
    near("dz", (size_t)i, d[i] - 0.5, central(&c.z[i], act_f, &c), 1e-5);
  float db[3];
  nn_col_sum(db, r, 4, 3, 3, false);
  for (int j = 0; j < 3; j++)
    near("colsum", (size_t)j, db[j], r[j] + r[3 + j] + r[6 + j] + r[9 + j], 1e-6);
}

typedef struct mlp_ctx {
  const nn_layout_t *lay;
  double p[200], x[3 * 4];
  const float *r;
} mlp_ctx_t;

static double mlp_f(void *v) {
  mlp_ctx_t *c = v;
  double L = 0;
  for (int i = 0; i < 3; i++) {
    double cur[8], next[8];
    memcpy(cur, c->x + i * 4, 4 * sizeof(double));
    for (uint32_t l = 0; l + 1 < c->lay->n_layers; l++) {
      uint32_t ni = c->lay->sizes[l], no = c->lay->sizes[l + 1];
      for (uint32_t o = 0; o < no; o++) {
        double s = c->p[c->lay->b_off[l] + o];
        for (uint32_t j = 0; j < ni; j++) s += c->p[c->lay->w_off[l] + o * ni + j] * cur[j];
        next[o] = l + 2 < c->lay->n_layers ? fmax(s, 0.0) : s;
      }
      memcpy(cur, next, no * sizeof(double));
    }
    for (uint32_t o = 0; o < 2; o++) L += c->r[i * 2 + o] * cur[o];
  }
  return L;
}

static void mlp_backward_matches_fd(void **state) {
  (void)state;
  const uint32_t sizes[4] = {4, 7, 6, 2};
  nn_layout_t lay;
  assert_int_equal(nn_layout_init(&lay, sizes, 4), 0);
  float p[200], x[12], r[6], h1[21], h2[18], out[6], d1[21], d2[18], g[200], din[12];
  randn(p, lay.n_params);
  randn(x, 12);
  randn(r, 6);
  for (uint32_t l = 0; l < 2; l++) /* positive hidden biases: most units active, some not */
    for (uint32_t o = 0; o < sizes[l + 1]; o++) p[lay.b_off[l] + o] = fabsf(p[lay.b_off[l] + o]);
  float *acts[4] = {NULL, h1, h2, out}, *dacts[4] = {NULL, d1, d2, out};
  nn_mlp_forward(&lay, p, x, 3, acts);
  mlp_ctx_t c = {.lay = &lay, .r = r};
  for (size_t i = 0; i < lay.n_params; i++) c.p[i] = p[i];
  for (int i = 0; i < 12; i++) c.x[i] = x[i];
  double L = 0;
  for (int i = 0; i < 6; i++) L += r[i] * out[i];
  near("forward", 0, L, mlp_f(&c), 1e-5);
  memcpy(out, r, sizeof r); /* dL/d(output) */
  memset(din, 0, sizeof din);
  for (size_t i = 0; i < lay.n_params; i++) g[i] = 7.0f; /* overwritten: accumulate false */
  nn_mlp_backward(&lay, p, x, (const float *const *)acts, dacts, 3, g, din, false);
  for (size_t i = 0; i < lay.n_params; i++)
    near("dparams", i, g[i], central(&c.p[i], mlp_f, &c), 1e-4);
  float dmax = 0;
  for (int i = 0; i < 12; i++) {
    near("dinput", (size_t)i, din[i], central(&c.x[i], mlp_f, &c), 1e-4);
    dmax = fmaxf(dmax, fabsf(din[i]));
  }
  size_t dead = 0;
  for (int i = 0; i < 21; i++) dead += h1[i] == 0.0f;
  assert_true(dmax > 0.1f && dead > 0 && dead < 15); /* the check is not vacuous */
  memcpy(out, r, sizeof r);
  nn_mlp_backward(&lay, p, x, (const float *const *)acts, dacts, 3, g, din, true);
  for (size_t i = 0; i < lay.n_params; i++)
    near("dparams twice", i, g[i], 2 * central(&c.p[i], mlp_f, &c), 1e-4);
  for (int i = 0; i < 12; i++)
    near("dinput twice", (size_t)i, din[i], 2 * central(&c.x[i], mlp_f, &c), 1e-4);
}

/* ---------------------------------------------------------------------------------------- */
/* Optimisation                                                                             */

static void adam_matches_hand_computed_steps(void **state) {
  (void)state;
  enum { N = 13 }; /* not a multiple of the vector width: both loops run */
  const nn_adam_cfg_t cfg = {1e-3f, 0.9f, 0.999f, 1e-8f};
  float p[N], g[N], m[N] = {0}, v[N] = {0}, p2[N], m2[N], v2[N];
  double P[N], M[N] = {0}, V[N] = {0};
  for (int i = 0; i < N; i++) {
    p[i] = 0.1f * (float)(i - 6);
    P[i] = p[i];
  }
  for (int t = 1; t <= 3; t++) {
    for (int i = 0; i < N; i++) /* includes |g| = 1e-6 where eps placement matters */
      g[i] = (i % 4 == 0 ? 1e-6f : 0.3f) * (i % 2 ? -1.0f : 1.0f) * (float)t;
    memcpy(p2, p, sizeof p);
    memcpy(m2, m, sizeof m);
    memcpy(v2, v, sizeof v);
    assert_int_equal(nn_adam_step(&cfg, (uint64_t)t, N, g, p, m, v, p, m, v), 0); /* in place */
    assert_int_equal(nn_adam_step(&cfg, (uint64_t)t, N, g, p2, m2, v2, p2, m2, v2), 0);
    assert_memory_equal(p, p2, sizeof p);
    for (int i = 0; i < N; i++) {
      double b1 = 0.9f, b2 = 0.999f, lr = 1e-3f, eps = 1e-8f;
      M[i] = b1 * M[i] + (1 - b1) * g[i];
      V[i] = b2 * V[i] + (1 - b2) * (double)g[i] * g[i];
      double mhat = M[i] / (1 - pow(b1, t)), vhat = V[i] / (1 - pow(b2, t));
      P[i] -= lr * mhat / (sqrt(vhat) + eps);
      near("m", (size_t)i, m[i], M[i], 1e-6);
      near("v", (size_t)i, v[i], V[i], 1e-6);
      near("p", (size_t)i, p[i], P[i], 1e-6);
    }
  }
  /* step 1 moves each weight by lr * g / (|g| + eps): 0.99 lr for |g| = 1e-6 */
  float q[2] = {0, 0}, gq[2] = {1e-6f, -5.0f}, mq[2] = {0, 0}, vq[2] = {0, 0};
  nn_adam_step(&cfg, 1, 2, gq, q, mq, vq, q, mq, vq);
  near("tiny", 0, q[0], -1e-3 * 1e-6 / (1e-6 + 1e-8), 1e-6);
  near("big", 1, q[1], 1e-3, 1e-6);
  /* non-finite results are reported (and still written) */
  float bad_g[N];
  memcpy(bad_g, g, sizeof g);
  bad_g[11] = NAN;
  assert_int_equal(nn_adam_step(&cfg, 4, N, bad_g, p, m, v, p2, m2, v2), TD3_ENONFINITE);
  assert_true(isnan(p2[11]));
  bad_g[11] = g[11];
  for (int at = 2; at <= 12; at += 10) { /* g^2 overflows v, p stays finite; both loops */
    bad_g[at] = 1e30f;
    assert_int_equal(nn_adam_step(&cfg, 4, N, bad_g, p, m, v, p2, m2, v2), TD3_ENONFINITE);
    assert_true(isfinite(p2[at]) && isinf(v2[at]));
    bad_g[at] = g[at];
  }
  assert_int_equal(nn_adam_step(&cfg, 4, N, g, p, m, v, p2, m2, v2), 0);
}

/* The vector loops (AVX-512 or AVX, 16 or 8 elements at a time) give the scalar loop's bits:
 * a call on one element at a time runs the scalar loop only. */
static void adam_vector_paths_match_scalar(void **state) {
  (void)state;
  enum { N = 1000 };
  const nn_adam_cfg_t cfg = {3e-4f, 0.9f, 0.999f, 1e-8f};
  static float g[N], p[N], m[N], v[N], pa[N], ma[N], va[N], pb[N], mb[N], vb[N];
  rng_t r;
  rng_init(&r, 5, 5);
  for (int i = 0; i < N; i++) {
    g[i] = rng_uniformf(&r, -1, 1) * (i % 7 == 0 ? 1e-5f : 1.0f);
    p[i] = rng_uniformf(&r, -0.1f, 0.1f);
    m[i] = rng_uniformf(&r, -0.01f, 0.01f);
    v[i] = rng_uniformf(&r, 0, 1e-4f);
  }
  assert_int_equal(nn_adam_step(&cfg, 37, N, g, p, m, v, pa, ma, va), 0);
  for (int i = 0; i < N; i++)
    assert_int_equal(nn_adam_step(&cfg, 37, 1, g + i, p + i, m + i, v + i, pb + i, mb + i, vb + i), 0);
  assert_memory_equal(pa, pb, sizeof pa);
  assert_memory_equal(ma, mb, sizeof ma);
  assert_memory_equal(va, vb, sizeof va);
}

static void polyak_and_finiteness(void **state) {
  (void)state;
  float t[9], s[9];
  for (int i = 0; i < 9; i++) {
    t[i] = (float)i;
    s[i] = 10.0f - (float)i;
  }
  nn_polyak(t, s, 9, 0.25f);
  for (int i = 0; i < 9; i++) near("polyak", (size_t)i, t[i], 0.25 * (10 - i) + 0.75 * i, 1e-7);
  nn_polyak(t, s, 9, 1.0f);
  assert_memory_equal(t, s, sizeof s);
  assert_int_equal(nn_any_nonfinite(s, 9), 0);
  s[8] = -INFINITY;
  assert_int_equal(nn_any_nonfinite(s, 9), 1);
  assert_int_equal(nn_any_nonfinite(s, 8), 0);
  s[0] = NAN;
  assert_int_equal(nn_any_nonfinite(s, 1), 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Policy                                                                                   */

static void policy_matches_naive_forward(void **state) {
  (void)state;
  const uint32_t layers[4] = {5, 12, 9, 2};
  const float low[2] = {-2.0f, -1.0f}, high[2] = {2.0f, 3.0f}, bad_high[2] = {-2.0f, 3.0f};
  assert_null(nn_policy_new(layers, 1, low, high, 4));
  assert_null(nn_policy_new(layers, 4, low, bad_high, 4)); /* low == high */
  assert_null(nn_policy_new(layers, 4, low, high, 0));
  assert_null(nn_policy_new(layers, 4, NULL, high, 4));
  nn_policy_t *pol = nn_policy_new(layers, 4, low, high, 6);
  assert_non_null(pol);
  size_t n = nn_policy_param_count(pol);
  assert_int_equal(n, wire_param_count(layers, 4));
  assert_int_equal(nn_policy_layout(pol)->n_layers, 4);
  float *p = malloc(n * sizeof(float)), obs[6 * 5], act[6 * 2], one[2];
  randn(p, n);
  randn(obs, 30);
  nn_policy_set_params(pol, p);
  assert_memory_equal(nn_policy_params(pol), p, n * sizeof(float));
  nn_policy_act(pol, obs, 6, act);
  for (int i = 0; i < 6; i++) {
    double cur[16], next[16];
    for (int j = 0; j < 5; j++) cur[j] = obs[i * 5 + j];
    size_t off = 0;
    for (int l = 0; l < 3; l++) {
      uint32_t ni = layers[l], no = layers[l + 1];
      for (uint32_t o = 0; o < no; o++) {
        double s = p[off + (size_t)no * ni + o];
        for (uint32_t j = 0; j < ni; j++) s += (double)p[off + o * ni + j] * cur[j];
        next[o] = l < 2 ? fmax(s, 0.0) : s;
      }
      off += (size_t)(ni + 1) * no;
      memcpy(cur, next, sizeof cur);
    }
    for (int j = 0; j < 2; j++) {
      double want = 0.5 * (high[j] + low[j]) + 0.5 * (high[j] - low[j]) * tanh(cur[j]);
      near("action", (size_t)(i * 2 + j), act[i * 2 + j], want, 1e-5);
    }
  }
  nn_policy_act(pol, obs + 5, 1, one); /* one row takes the sgemv path */
  near("one row", 0, one[0], act[2], 1e-6);
  near("one row", 1, one[1], act[3], 1e-6);
  nn_policy_destroy(&pol);
  assert_null(pol);
  nn_policy_destroy(&pol);
  free(p);
}

int main(void) {
  openblas_set_num_threads(1);
  rng_init(&R, 2024, 7);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(layout_matches_wire),
      cmocka_unit_test(init_within_fan_in_bounds),
      cmocka_unit_test(sgemm_matches_naive),
      cmocka_unit_test(trace_records_and_replays),
      cmocka_unit_test(linear_gradients_match_fd),
      cmocka_unit_test(relu_and_tanh_scale_match_fd),
      cmocka_unit_test(mlp_backward_matches_fd),
      cmocka_unit_test(adam_matches_hand_computed_steps),
      cmocka_unit_test(adam_vector_paths_match_scalar),
      cmocka_unit_test(polyak_and_finiteness),
      cmocka_unit_test(policy_matches_naive_forward),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
