/* MLP layout, matrix products and layer functions (see nn.h). Adam and Polyak averaging
 * live in nn_adam.c, the standalone policy in nn_policy.c.
 *
 * Every matrix product goes through nn_sgemm so that a benchmark can record the exact
 * sequence of products a training iteration makes and time it alone (its ceiling). Shapes
 * with a dimension of 1 (a critic's single output, its gradient) are routed to sgemv or a
 * plain outer-product loop, which OpenBLAS's sgemm handles several times slower. */
#include "nn.h"

#include "error.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Layout                                                                                   */

static bool shape_ok(const uint32_t *sizes, uint32_t n_layers) {
  if (!sizes || n_layers < 2 || n_layers > NN_MAX_LAYERS) return false;
  for (uint32_t i = 0; i < n_layers; i++)
    if (sizes[i] == 0 || sizes[i] > NN_MAX_DIM) return false;
  return true;
}

int nn_layout_init(nn_layout_t *lay, const uint32_t *sizes, uint32_t n_layers) {
  if (!shape_ok(sizes, n_layers)) return TD3_EINVAL;
  memset(lay, 0, sizeof *lay);
  lay->n_layers = n_layers;
  memcpy(lay->sizes, sizes, n_layers * sizeof *sizes);
  /* At most 7 x 4097 x 4096 floats: no overflow in size_t. */
  size_t off = 0;
  for (uint32_t l = 0; l + 1 < n_layers; l++) {
    lay->w_off[l] = off;
    off += (size_t)sizes[l + 1] * sizes[l];
    lay->b_off[l] = off;
    off += sizes[l + 1];
  }
  lay->n_params = off;
  return 0;
}

size_t nn_param_count(const uint32_t *sizes, uint32_t n_layers) {
  nn_layout_t lay;
  return nn_layout_init(&lay, sizes, n_layers) == 0 ? lay.n_params : 0;
}

nn_view_t nn_view(const nn_layout_t *lay, float *params) {
  nn_view_t v;
  memset(&v, 0, sizeof v);
  for (uint32_t l = 0; l + 1 < lay->n_layers; l++) {
    v.w[l] = params + lay->w_off[l];
    v.b[l] = params + lay->b_off[l];
  }
  return v;
}

void nn_init_uniform(const nn_layout_t *lay, float *params, rng_t *rng) {
  for (uint32_t l = 0; l + 1 < lay->n_layers; l++) {
    float bound = (float)(1.0 / sqrt((double)lay->sizes[l]));
    size_t n = (size_t)lay->sizes[l + 1] * (lay->sizes[l] + 1); /* W_l then b_l, adjacent */
    float *p = params + lay->w_off[l];
    for (size_t i = 0; i < n; i++) p[i] = rng_uniformf(rng, -bound, bound);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Matrix products                                                                          */

static _Thread_local nn_gemm_trace_t *tls_trace;

void nn_gemm_trace_begin(nn_gemm_trace_t *tr) { tls_trace = tr; }
void nn_gemm_trace_end(void) { tls_trace = NULL; }

/* y (n, stride inc) = 0; BLAS implementations differ on whether beta = 0 scrubs a NaN. */
static void zero_strided(float *y, size_t n, size_t inc) {
  for (size_t i = 0; i < n; i++) y[i * inc] = 0.0f;
}

static void gemm_exec(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const float *b, size_t ldb, float beta,
                      float *c, size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  if (n == 1) {
    /* C is a column: y (m, stride ldc) = alpha op(A) x + beta y with x = op(B) (k). op(B) is
     * B^T (1, k) stored as a row, or B (k, 1) with row stride ldb. */
    int incx = tb ? 1 : (int)ldb;
    if (beta == 0.0f) zero_strided(c, m, ldc);
    if (!ta)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, alpha, a, (int)lda, b, incx, beta,
                  c, (int)ldc);
    else
      cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)m, alpha, a, (int)lda, b, incx, beta, c,
                  (int)ldc);
    return;
  }
  if (m == 1) {
    /* C is a row: c^T (n) = alpha op(B)^T x + beta c^T with x = op(A)^T (k). */
    int incx = ta ? (int)lda : 1;
    if (beta == 0.0f) zero_strided(c, n, 1);
    if (!tb)
      cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, alpha, b, (int)ldb, a, incx, beta, c,
                  1);
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)k, alpha, b, (int)ldb, a, incx, beta,
                  c, 1);
    return;
  }
  if (k == 1) {
    /* Outer product C = alpha x y^T + beta C, x = op(A) (m), y = op(B) (n). */
    size_t incx = ta ? 1 : lda, incy = tb ? ldb : 1;
    for (size_t i = 0; i < m; i++) {
      float xi = alpha * a[i * incx];
      float *row = c + i * ldc;
      if (beta == 0.0f) {
        if (incy == 1)
          for (size_t j = 0; j < n; j++) row[j] = xi * b[j];
        else
          for (size_t j = 0; j < n; j++) row[j] = xi * b[j * incy];
      } else {
        for (size_t j = 0; j < n; j++) row[j] = beta * row[j] + xi * b[j * incy];
      }
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void nn_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
              size_t ldc) {
  assert(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX);
  assert(lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX);
  nn_gemm_trace_t *tr = tls_trace;
  if (tr) {
    if (tr->n < tr->cap) {
      tr->calls[tr->n++] = (nn_gemm_call_t){
          .trans_a = trans_a, .trans_b = trans_b, .m = (uint32_t)m, .n = (uint32_t)n,
          .k = (uint32_t)k, .lda = (uint32_t)lda, .ldb = (uint32_t)ldb, .ldc = (uint32_t)ldc,
          .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c};
    } else {
      tr->dropped++;
    }
  }
  gemm_exec(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void nn_gemm_replay(const nn_gemm_call_t *calls, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const nn_gemm_call_t *g = &calls[i];
    gemm_exec(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, g->a, g->lda, g->b, g->ldb,
              g->beta, g->c, g->ldc);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Layers                                                                                   */

void nn_linear_forward(float *out, const float *in, const float *w, const float *b, size_t B,
                       size_t in_dim, size_t out_dim) {
  nn_sgemm(false, true, B, out_dim, in_dim, 1.0f, in, in_dim, w, in_dim, 0.0f, out, out_dim);
  if (b) nn_bias_act(out, b, B, out_dim, false);
}

void nn_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, size_t B, size_t in_dim, size_t out_dim) {
  if (din)
    nn_sgemm(false, false, B, in_dim, out_dim, 1.0f, dout, out_dim, w, in_dim, 1.0f, din, in_dim);
  if (dw)
    nn_sgemm(true, false, out_dim, in_dim, B, 1.0f, dout, out_dim, in, in_dim, 1.0f, dw, in_dim);
  if (db) nn_col_sum(db, dout, B, out_dim, out_dim, true);
}

void nn_bias_act(float *x, const float *b, size_t rows, size_t cols, bool relu) {
  for (size_t r = 0; r < rows; r++) {
    float *row = x + r * cols;
    if (b && relu) {
      for (size_t j = 0; j < cols; j++) {
        float v = row[j] + b[j];
        row[j] = v < 0.0f ? 0.0f : v; /* not fmaxf: NaN must stay NaN */
      }
    } else if (b) {
      for (size_t j = 0; j < cols; j++) row[j] += b[j];
    } else if (relu) {
      for (size_t j = 0; j < cols; j++) row[j] = row[j] < 0.0f ? 0.0f : row[j];
    }
  }
}

void nn_relu_backward(float *d, const float *y, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}

void nn_col_sum(float *db, const float *d, size_t rows, size_t cols, size_t ld, bool accumulate) {
  if (!accumulate) memset(db, 0, cols * sizeof *db);
  for (size_t r = 0; r < rows; r++) {
    const float *row = d + r * ld;
    for (size_t j = 0; j < cols; j++) db[j] += row[j];
  }
}

void nn_tanh_scale_forward(float *action, float *th, const float *z, const float *mid,
                           const float *half, size_t B, size_t act_dim) {
  for (size_t r = 0; r < B; r++) {
    for (size_t j = 0; j < act_dim; j++) {
      size_t i = r * act_dim + j;
      float t = tanhf(z[i]);
      if (th) th[i] = t;
      action[i] = mid[j] + half[j] * t;
    }
  }
}

void nn_tanh_scale_backward(float *dz, const float *daction, const float *th, const float *half,
                            size_t B, size_t act_dim) {
  for (size_t r = 0; r < B; r++) {
    for (size_t j = 0; j < act_dim; j++) {
      size_t i = r * act_dim + j;
      dz[i] += (daction[i] * half[j]) * (1.0f - th[i] * th[i]);
    }
  }
}

void nn_mlp_forward(const nn_layout_t *lay, const float *params, const float *in, size_t B,
                    float *const *acts) {
  uint32_t n = lay->n_layers;
  for (uint32_t l = 0; l + 1 < n; l++) {
    size_t in_dim = lay->sizes[l], out_dim = lay->sizes[l + 1];
    const float *x = l == 0 ? in : acts[l];
    nn_sgemm(false, true, B, out_dim, in_dim, 1.0f, x, in_dim, params + lay->w_off[l], in_dim,
             0.0f, acts[l + 1], out_dim);
    nn_bias_act(acts[l + 1], params + lay->b_off[l], B, out_dim, l + 2 < n);
  }
}

void nn_mlp_backward(const nn_layout_t *lay, const float *params, const float *in,
                     const float *const *acts, float *const *dacts, size_t B, float *grads,
                     float *din, bool accumulate) {
  float beta = accumulate ? 1.0f : 0.0f;
  for (uint32_t l = lay->n_layers - 1; l-- > 0;) {
    size_t in_dim = lay->sizes[l], out_dim = lay->sizes[l + 1];
    const float *dout = dacts[l + 1];
    const float *x = l == 0 ? in : acts[l];
    const float *w = params + lay->w_off[l];
    if (grads) {
      nn_sgemm(true, false, out_dim, in_dim, B, 1.0f, dout, out_dim, x, in_dim, beta,
               grads + lay->w_off[l], in_dim);
      nn_col_sum(grads + lay->b_off[l], dout, B, out_dim, out_dim, accumulate);
    }
    if (l > 0) {
      nn_sgemm(false, false, B, in_dim, out_dim, 1.0f, dout, out_dim, w, in_dim, 0.0f, dacts[l],
               in_dim);
      nn_relu_backward(dacts[l], acts[l], B * in_dim);
    } else if (din) {
      nn_sgemm(false, false, B, in_dim, out_dim, 1.0f, dout, out_dim, w, in_dim, beta, din, in_dim);
    }
  }
}
