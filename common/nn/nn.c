/* MLP layout, matrix products and layer functions (see nn.h). Adam and Polyak averaging
 * live in nn_adam.c, the standalone policy in nn_policy.c.
 *
 * Every matrix product goes through nn_sgemm so that a benchmark can record the exact
 * sequence of products a training iteration makes and time it alone (its ceiling). Shapes
 * with m or n of 1 (a critic's single output, its gradient) are routed to OpenBLAS sgemv,
 * which is faster for them than a blocked kernel; everything else goes to gemm.h. */
#include "nn.h"

#include "error.h"
#include "gemm.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_PATH 1
#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
#endif

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

/* The product through the fastest path for its shape, then the epilogue ep (fused into
 * gemm_sgemm_ex's kernel; a separate pass after sgemv). */
static void gemm_exec(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const float *b, size_t ldb, float beta,
                      float *c, size_t ldc, const gemm_epilogue_t *ep) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f || (n > 1 && m > 1)) {
    gemm_sgemm_ex(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
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
    gemm_epilogue_apply(ep, c, m, 1, ldc);
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
    gemm_epilogue_apply(ep, c, 1, n, ldc);
    return;
  }
}

void nn_sgemm_ex(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc, const gemm_epilogue_t *ep) {
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
  gemm_exec(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
}

void nn_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
              size_t ldc) {
  nn_sgemm_ex(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL);
}

void nn_gemm_replay(const nn_gemm_call_t *calls, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const nn_gemm_call_t *g = &calls[i];
    gemm_exec(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, g->a, g->lda, g->b, g->ldb,
              g->beta, g->c, g->ldc, NULL);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Layers                                                                                   */

void nn_linear_forward(float *out, const float *in, const float *w, const float *b, size_t B,
                       size_t in_dim, size_t out_dim) {
  gemm_epilogue_t ep = {.bias = b};
  nn_sgemm_ex(false, true, B, out_dim, in_dim, 1.0f, in, in_dim, w, in_dim, 0.0f, out, out_dim,
              &ep);
}

void nn_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, size_t B, size_t in_dim, size_t out_dim) {
  if (din)
    nn_sgemm(false, false, B, in_dim, out_dim, 1.0f, dout, out_dim, w, in_dim, 1.0f, din, in_dim);
  if (dw)
    nn_sgemm(true, false, out_dim, in_dim, B, 1.0f, dout, out_dim, in, in_dim, 1.0f, dw, in_dim);
  if (db) nn_col_sum(db, dout, B, out_dim, out_dim, true);
}

#ifdef HAVE_AVX512_PATH
static bool use_avx512(void) {
  static _Atomic int have = -1; /* unknown, then 0 or 1 */
  int h = atomic_load_explicit(&have, memory_order_relaxed);
  if (h < 0) {
    h = gemm_avx512_supported();
    atomic_store_explicit(&have, h, memory_order_relaxed);
  }
  return h;
}

static inline __mmask16 lanes(size_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* nn_col_sum sixteen columns a lane, in blocks of up to 128 columns (eight accumulators);
 * rows are added in order as in the plain loop, so the sums are bitwise equal. */
AVX512 static void col_sum_avx512(float *db, const float *d, size_t rows, size_t cols, size_t ld,
                                  bool accumulate) {
  for (size_t j0 = 0; j0 < cols; j0 += 128) {
    __m512 acc[8];
    __mmask16 m[8];
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) {
      size_t j = j0 + 16 * (size_t)q;
      m[q] = j < cols ? lanes(cols - j) : 0;
      acc[q] = accumulate ? _mm512_maskz_loadu_ps(m[q], db + j) : _mm512_setzero_ps();
    }
    for (size_t r = 0; r < rows; r++) {
      const float *row = d + r * ld + j0;
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++)
        acc[q] = _mm512_add_ps(acc[q], _mm512_maskz_loadu_ps(m[q], row + 16 * q));
    }
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) _mm512_mask_storeu_ps(db + j0 + 16 * q, m[q], acc[q]);
  }
}
#endif

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
#ifdef HAVE_AVX512_PATH
  if (use_avx512()) {
    col_sum_avx512(db, d, rows, cols, ld, accumulate);
    return;
  }
#endif
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
    gemm_epilogue_t ep = {.bias = params + lay->b_off[l], .relu = l + 2 < n};
    nn_sgemm_ex(false, true, B, out_dim, in_dim, 1.0f, x, in_dim, params + lay->w_off[l], in_dim,
                0.0f, acts[l + 1], out_dim, &ep);
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
      gemm_epilogue_t ep = {.gate = acts[l], .ldg = in_dim}; /* ReLU backward */
      nn_sgemm_ex(false, false, B, in_dim, out_dim, 1.0f, dout, out_dim, w, in_dim, 0.0f,
                  dacts[l], in_dim, &ep);
    } else if (din) {
      nn_sgemm(false, false, B, in_dim, out_dim, 1.0f, dout, out_dim, w, in_dim, beta, din, in_dim);
    }
  }
}
