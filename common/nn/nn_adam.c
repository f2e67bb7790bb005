/* Adam, Polyak averaging and the finiteness check (see nn.h).
 *
 * Adam follows torch.optim.Adam's single-tensor arithmetic operation by operation (the bias
 * corrections in double, everything per element in float, eps added after the square root),
 * so a PyTorch-generated fixture matches to rounding. On x86-64 the element loop runs as
 * AVX-512 or AVX intrinsics, chosen at run time (the library is built for baseline x86-64);
 * they do the scalar loop's operations in its order, without fused multiply-adds (the build
 * is ISO C, so the compiler contracts nothing), so every path gives the same bits. */
#include "nn.h"

#include "error.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX_PATH 1
#endif

/* The element loop's constants, prepared once per step. */
typedef struct adam_k {
  float beta1, beta2, c1, c2; /* c = 1 - beta, formed in double as Python does */
  float neg_step;             /* -lr / (1 - beta1^t) */
  float bc2_sqrt;             /* sqrt(1 - beta2^t) */
  float eps;
} adam_k_t;

/* Elements [from, n) in plain C; returns 1 if a written value is not finite. */
static int adam_scalar(const adam_k_t *k, size_t from, size_t n, const float *g, const float *p,
                       const float *m, const float *v, float *p_out, float *m_out, float *v_out) {
  int bad = 0;
  for (size_t i = from; i < n; i++) {
    float gi = g[i];
    float mi = k->beta1 * m[i] + k->c1 * gi;
    float vi = k->beta2 * v[i] + k->c2 * gi * gi;
    float den = sqrtf(vi) / k->bc2_sqrt + k->eps;
    float pi = p[i] + k->neg_step * mi / den;
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = pi;
    bad |= !isfinite(pi) || !isfinite(mi) || !isfinite(vi);
  }
  return bad;
}

#ifdef HAVE_AVX_PATH
/* The same arithmetic eight lanes at a time (AVX, no FMA: the roundings stay those of the
 * scalar loop). Handles [0, n - n % 8); returns 1 if a written value is not finite. */
__attribute__((target("avx"))) static int adam_avx(const adam_k_t *k, size_t n, const float *g,
                                                    const float *p, const float *m,
                                                    const float *v, float *p_out, float *m_out,
                                                    float *v_out) {
  const __m256 b1 = _mm256_set1_ps(k->beta1), b2 = _mm256_set1_ps(k->beta2),
               c1 = _mm256_set1_ps(k->c1), c2 = _mm256_set1_ps(k->c2),
               step = _mm256_set1_ps(k->neg_step), bc2 = _mm256_set1_ps(k->bc2_sqrt),
               eps = _mm256_set1_ps(k->eps), zero = _mm256_setzero_ps();
  __m256 nan_seen = zero;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    __m256 gv = _mm256_loadu_ps(g + i);
    __m256 mv = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(c1, gv));
    __m256 vv = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)),
                              _mm256_mul_ps(_mm256_mul_ps(c2, gv), gv));
    __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2), eps);
    __m256 pv = _mm256_add_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(step, mv), den));
    _mm256_storeu_ps(m_out + i, mv);
    _mm256_storeu_ps(v_out + i, vv);
    _mm256_storeu_ps(p_out + i, pv);
    /* x * 0 is NaN exactly when x is NaN or infinite */
    __m256 probe = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(pv, zero), _mm256_mul_ps(mv, zero)),
                                 _mm256_mul_ps(vv, zero));
    nan_seen = _mm256_or_ps(nan_seen, _mm256_cmp_ps(probe, probe, _CMP_UNORD_Q));
  }
  return _mm256_movemask_ps(nan_seen) != 0;
}
#endif

#ifdef HAVE_AVX_PATH
/* Sixteen lanes; handles [0, n - n % 16). Zen 4/5 and recent Intel cores run sqrt and
 * division on 512-bit vectors at close to twice the 256-bit rate. */
__attribute__((target("avx512f"))) static int adam_avx512(const adam_k_t *k, size_t n,
                                                          const float *g, const float *p,
                                                          const float *m, const float *v,
                                                          float *p_out, float *m_out,
                                                          float *v_out) {
  const __m512 b1 = _mm512_set1_ps(k->beta1), b2 = _mm512_set1_ps(k->beta2),
               c1 = _mm512_set1_ps(k->c1), c2 = _mm512_set1_ps(k->c2),
               step = _mm512_set1_ps(k->neg_step), bc2 = _mm512_set1_ps(k->bc2_sqrt),
               eps = _mm512_set1_ps(k->eps), zero = _mm512_setzero_ps();
  __mmask16 nan_seen = 0;
  for (size_t i = 0; i + 16 <= n; i += 16) {
    __m512 gv = _mm512_loadu_ps(g + i);
    __m512 mv = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(c1, gv));
    __m512 vv = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)),
                              _mm512_mul_ps(_mm512_mul_ps(c2, gv), gv));
    __m512 den = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bc2), eps);
    __m512 pv = _mm512_add_ps(_mm512_loadu_ps(p + i), _mm512_div_ps(_mm512_mul_ps(step, mv), den));
    _mm512_storeu_ps(m_out + i, mv);
    _mm512_storeu_ps(v_out + i, vv);
    _mm512_storeu_ps(p_out + i, pv);
    __m512 probe = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(pv, zero), _mm512_mul_ps(mv, zero)),
                                 _mm512_mul_ps(vv, zero));
    nan_seen |= _mm512_cmp_ps_mask(probe, probe, _CMP_UNORD_Q);
  }
  return nan_seen != 0;
}
#endif

int nn_adam_step(const nn_adam_cfg_t *cfg, uint64_t t, size_t n, const float *g, const float *p,
                 const float *m, const float *v, float *p_out, float *m_out, float *v_out) {
  double b1 = cfg->beta1, b2 = cfg->beta2;
  adam_k_t k = {.beta1 = cfg->beta1, .beta2 = cfg->beta2, .eps = cfg->eps,
                .c1 = (float)(1.0 - b1), .c2 = (float)(1.0 - b2),
                .neg_step = (float)(-(double)cfg->lr / (1.0 - pow(b1, (double)t))),
                .bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)t))};
  size_t done = 0;
  int bad = 0;
#ifdef HAVE_AVX_PATH
  /* sqrt and two divisions per element make this compute-bound: 8 lanes run ~3x faster
   * than the scalar loop (which cannot vectorise sqrtf without -fno-math-errno) */
  if (__builtin_cpu_supports("avx512f")) {
    bad = adam_avx512(&k, n, g, p, m, v, p_out, m_out, v_out);
    done = n - n % 16;
  } else if (__builtin_cpu_supports("avx")) {
    bad = adam_avx(&k, n, g, p, m, v, p_out, m_out, v_out);
    done = n - n % 8;
  }
#endif
  bad |= adam_scalar(&k, done, n, g, p, m, v, p_out, m_out, v_out);
  return bad ? TD3_ENONFINITE : 0;
}

void nn_polyak(float *target, const float *src, size_t n, float tau) {
  /* PyTorch reference code writes tau * p + (1 - tau) * t with 1 - tau formed in double */
  const float keep = (float)(1.0 - (double)tau);
  for (size_t i = 0; i < n; i++) target[i] = tau * src[i] + keep * target[i];
}

int nn_any_nonfinite(const float *x, size_t n) {
  uint32_t acc = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &x[i], sizeof u);
    acc |= (u & 0x7f800000u) == 0x7f800000u; /* exponent all ones: Inf or NaN */
  }
  return acc != 0;
}
