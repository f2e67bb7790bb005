/* The AVX-512 single-precision product kernel (see gemm_avx512.h; gemm_avx512_sgemm, the
 * whole product on this kernel, is in gemm.c).
 *
 * Structure (BLIS-style loops around a register-blocked micro-kernel):
 *   for each NC-column block of C:          B panel (KC x NC) packed, stays in L2
 *     for each KC-deep slice of the sum:
 *       for each MC-row block of C:         A block (MC x KC), in L2
 *         for each NR-column sliver:        B sliver (KC x NR = 32 KiB) stays in L1
 *           for each MR-row sliver:         micro-kernel: an MR x NR tile of C
 * The micro-kernel keeps an 8 x 32 tile of C in 16 zmm accumulators; each step of the sum
 * loads two vectors of B (32 columns) and broadcasts 8 values of A into 16 FMAs. Partial
 * tiles run the same code on zero-padded panels and store under lane masks. The epilogue
 * (alpha, beta, bias, ReLU, gate) is applied to each row of the tile as it is stored after
 * the last slice.
 *
 * Packing. B is always packed into NR-column slivers: from (k, n) storage a copy, from
 * (n, k) storage a transpose of 8 x 8 blocks in registers. A stored (m, k) is not packed: a
 * sliver is MR rows read in place (8 contiguous streams); stored (k, m) it is copied into
 * MR-row slivers. A narrow C is computed as C^T (see gemm_plan_init); its tiles are then
 * transposed in registers on the way out. k == 1 is a rank-1 update without packing.
 *
 * The code is compiled for AVX-512 function by function (target attribute), so the library
 * still runs on CPUs without it; gemm.c checks the CPU before calling in. */
#include "gemm_avx512.h"

#include "xalloc.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
  MR = GEMM_AVX512_MR, /* rows of the register tile */
  NR = GEMM_AVX512_NR, /* columns of the register tile: two zmm */
  KC = 256,            /* depth of a slice: A sliver 8 KiB, B sliver 32 KiB (L1 is 48 KiB) */
  MC = 128,            /* rows of an A block: 128 KiB (L2 is 1 MiB) */
  NC = 512             /* columns of a B panel: 512 KiB */
};

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Splits len into ceil(len / max) nearly equal blocks, each a multiple of unit (but the
 * last), so no block is a small remainder. */
static size_t block_size(size_t len, size_t max, size_t unit) {
  size_t nblk = (len + max - 1) / max;
  size_t bs = (len + nblk - 1) / nblk;
  return (bs + unit - 1) / unit * unit;
}

/* Padded work of a tiling: rows rounded up to MR times columns rounded up to NR. */
static size_t padded(size_t rows, size_t cols) {
  return (rows + MR - 1) / MR * MR * ((cols + NR - 1) / NR * NR);
}

void gemm_plan_init(gemm_plan_t *p, bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                    float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                    float beta, float *c, size_t ldc, const gemm_epilogue_t *ep) {
  /* C^T = op(B)^T op(A)^T: taking it when C is narrow wastes fewer padded lanes. The margin
   * of a quarter covers what it costs more (transposed stores, and a bigger operand to
   * pack, which may need a transpose); it picks the faster side on the training shapes. */
  bool swap = k > 1 && padded(n, m) * 5 < padded(m, n) * 4;
  if (!swap) {
    *p = (gemm_plan_t){.m = m, .n = n, .k = k, .a = a, .lda = lda, .ta = trans_a, .b = b,
                       .ldb = ldb, .tb = trans_b, .alpha = alpha, .beta = beta, .c = c,
                       .rs_c = ldc, .cs_c = 1};
  } else {
    /* opA'(i, p) = op(B)(p, i), opB'(p, j) = op(A)(j, p); their storage flags flip. */
    *p = (gemm_plan_t){.m = n, .n = m, .k = k, .a = b, .lda = ldb, .ta = !trans_b, .b = a,
                       .ldb = lda, .tb = !trans_a, .alpha = alpha, .beta = beta, .c = c,
                       .rs_c = 1, .cs_c = ldc};
  }
  if (ep) {
    p->bias = ep->bias;
    p->bias_rows = swap;
    p->relu = ep->relu;
    p->gate = ep->gate;
    p->rs_g = swap ? 1 : ep->ldg;
    p->cs_g = swap ? ep->ldg : 1;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)

#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

/* ---------------------------------------------------------------------------------------- */
/* Per-thread packing buffers                                                               */

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static _Thread_local float *tls_buf; /* MC * KC floats of A, then KC * NC of B */

static void buf_free(void *p) { free(p); }
static void buf_key_create(void) {
  int rc = pthread_key_create(&buf_key, buf_free);
  assert(rc == 0);
  (void)rc;
}

static float *thread_buffers(void) {
  if (!tls_buf) {
    pthread_once(&buf_once, buf_key_create);
    tls_buf = xaligned(((size_t)MC * KC + (size_t)KC * NC) * sizeof(float));
    pthread_setspecific(buf_key, tls_buf); /* freed by buf_free when the thread exits */
  }
  return tls_buf;
}

/* ---------------------------------------------------------------------------------------- */
/* Packing                                                                                  */

/* Transposes r[0..8) in place: afterwards r[j] holds what was column j. */
TARGET static inline void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* dst[p * width + r] = src[r * ld + p] for r < rows, p < cols, and 0 for rows <= r < width
 * (width a multiple of 8, dst 32-byte aligned): a sliver of rows stored column by column.
 * Whole 8 x 8 blocks go through registers; the ragged edges element by element. */
TARGET static void pack_transposed(const float *src, size_t ld, size_t rows, size_t cols,
                                   float *dst, size_t width) {
  size_t full_rows = rows / 8 * 8, full_cols = cols / 8 * 8;
  for (size_t r0 = 0; r0 < full_rows; r0 += 8) {
    const float *s = src + r0 * ld;
    float *d = dst + r0;
    for (size_t p = 0; p < full_cols; p += 8) {
      __m256 v[8];
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) v[q] = _mm256_loadu_ps(s + (size_t)q * ld + p);
      transpose8(v);
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) _mm256_store_ps(d + (p + (size_t)q) * width, v[q]);
    }
    for (size_t p = full_cols; p < cols; p++)
      for (size_t r = 0; r < 8; r++) d[p * width + r] = s[r * ld + p];
  }
  for (size_t p = 0; p < cols; p++) {
    float *d = dst + p * width;
    for (size_t r = full_rows; r < rows; r++) d[r] = src[r * ld + p];
    for (size_t r = rows; r < width; r++) d[r] = 0.0f;
  }
}

/* Packs opA rows [i0, i0 + mc), sum indices [p0, p0 + kc) into MR-row slivers when A is
 * stored transposed (opA(i, p) = a[p * lda + i]): sliver s at ap + s * MR * kc holds
 * opA(i0 + s MR + r, p0 + p) at [p * MR + r], zero past row mc. Two slivers at a time, so
 * each 64-byte line of A is read once; writing all slivers row by row instead would put
 * 4 KiB-aliased stores into one L1 set. */
TARGET static void pack_a_transposed(const gemm_plan_t *pl, size_t i0, size_t mc, size_t p0,
                                     size_t kc, float *ap) {
  for (size_t s = 0; s < mc; s += 2 * MR, ap += 2 * MR * kc) {
    size_t rows = min_sz(mc - s, 2 * MR);
    const float *src = pl->a + p0 * pl->lda + i0 + s;
    __mmask16 m = (__mmask16)((1u << rows) - 1);
    float *lo = ap, *hi = ap + MR * kc;
    if (rows > MR) {
      for (size_t p = 0; p < kc; p++, src += pl->lda) {
        __m512 v = _mm512_maskz_loadu_ps(m, src);
        _mm256_store_ps(lo + p * MR, _mm512_castps512_ps256(v));
        _mm256_store_ps(hi + p * MR, _mm512_extractf32x8_ps(v, 1));
      }
    } else {
      for (size_t p = 0; p < kc; p++, src += pl->lda)
        _mm256_store_ps(lo + p * MR, _mm256_maskz_loadu_ps((__mmask8)m, src));
    }
  }
}

/* Lane masks for the first n (0..32) of 32 columns, as two 16-lane halves. */
static inline __mmask16 mask_lo(size_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}
static inline __mmask16 mask_hi(size_t n) {
  return n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
}

/* Packs opB sum indices [p0, p0 + kc), columns [j0, j0 + nc) into NR-column slivers: sliver
 * s at bp + s * NR * kc holds opB(p0 + p, j0 + s NR + j) at [p * NR + j], zero past nc. */
TARGET static void pack_b(const gemm_plan_t *pl, size_t p0, size_t kc, size_t j0, size_t nc,
                          float *bp) {
  for (size_t s = 0; s < nc; s += NR, bp += NR * kc) {
    size_t nr = min_sz(nc - s, NR), j = j0 + s;
    if (pl->tb) {
      pack_transposed(pl->b + j * pl->ldb + p0, pl->ldb, nr, kc, bp, NR);
    } else {
      const float *src = pl->b + p0 * pl->ldb + j;
      __mmask16 m0 = mask_lo(nr), m1 = mask_hi(nr);
      for (size_t p = 0; p < kc; p++, src += pl->ldb) {
        _mm512_store_ps(bp + p * NR, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(bp + p * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Micro-kernel                                                                             */

/* Stores row i, columns j.. (lanes m0, m1 of 32) of a plan with contiguous columns: alpha
 * (acc0, acc1) + beta C (C not read when beta == 0), then the epilogue when last. */
TARGET static inline __attribute__((always_inline)) void
store_row(const gemm_plan_t *pl, size_t i, size_t j, __mmask16 m0, __mmask16 m1, __m512 acc0,
          __m512 acc1, float beta, bool last) {
  const __m512 zero = _mm512_setzero_ps(), va = _mm512_set1_ps(pl->alpha);
  float *row = pl->c + i * pl->rs_c + j;
  __m512 v0 = _mm512_mul_ps(acc0, va), v1 = _mm512_mul_ps(acc1, va);
  if (beta != 0.0f) {
    const __m512 vb = _mm512_set1_ps(beta);
    v0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, row), vb, v0);
    v1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, row + 16), vb, v1);
  }
  if (last && pl->bias) {
    if (pl->bias_rows) {
      v0 = _mm512_add_ps(v0, _mm512_set1_ps(pl->bias[i]));
      v1 = _mm512_add_ps(v1, _mm512_set1_ps(pl->bias[i]));
    } else {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, pl->bias + j));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, pl->bias + j + 16));
    }
  }
  if (last && pl->relu) {
    v0 = _mm512_mask_mov_ps(v0, _mm512_cmp_ps_mask(v0, zero, _CMP_LT_OQ), zero);
    v1 = _mm512_mask_mov_ps(v1, _mm512_cmp_ps_mask(v1, zero, _CMP_LT_OQ), zero);
  }
  if (last && pl->gate) {
    const float *g = pl->gate + i * pl->rs_g + j;
    v0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m0, g), zero, _CMP_GT_OQ),
                             v0);
    v1 = _mm512_maskz_mov_ps(
        _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m1, g + 16), zero, _CMP_GT_OQ), v1);
  }
  if ((m0 & m1) == 0xFFFF) { /* a full row: plain stores are cheaper than masked ones */
    _mm512_storeu_ps(row, v0);
    _mm512_storeu_ps(row + 16, v1);
  } else {
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

/* The tile of C at plan rows i.., columns j.. (mr x nr of them) = alpha sum_p A(r, p)
 * bp[p NR + q] + beta C (C not read when beta == 0), then the plan's epilogue when last.
 * A(r, p) = a[r * rs_a + p * cs_a]: a packed sliver (rs_a 1, cs_a MR) or rows of A in place
 * (rs_a lda, cs_a 1); rows past mr are not read. bp: an NR-column sliver, 64-byte aligned. */
TARGET static inline __attribute__((always_inline)) void
kernel_body(size_t kc, const float *a, size_t rs_a, size_t cs_a, const float *restrict bp,
            const gemm_plan_t *pl, size_t i, size_t j, size_t mr, size_t nr, float beta,
            bool last) {
  const float *ar[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) ar[r] = a + ((size_t)r < mr ? (size_t)r : 0) * rs_a;
  __m512 acc[MR][2];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (size_t p = 0; p < kc; p++, bp += NR) {
    __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      __m512 ar_p = _mm512_set1_ps(ar[r][p * cs_a]);
      acc[r][0] = _mm512_fmadd_ps(ar_p, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar_p, b1, acc[r][1]);
    }
  }
  const size_t rs_c = pl->rs_c, cs_c = pl->cs_c;
  float *c = pl->c + i * rs_c + j * cs_c;
  const float *bias = last ? pl->bias : NULL, *gate = last ? pl->gate : NULL;
  const bool relu = last && pl->relu;
  const __m512 va = _mm512_set1_ps(pl->alpha);
  if (cs_c == 1 && (!gate || pl->cs_g == 1)) {
    const __mmask16 m0 = mask_lo(nr), m1 = mask_hi(nr);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      if ((size_t)r >= mr) break;
      store_row(pl, i + (size_t)r, j, m0, m1, acc[r][0], acc[r][1], beta, last);
    }
    return;
  }
  /* A transposed plan: the tile goes through memory, and each of its columns, transposed
   * in registers, is MR consecutive floats of C (one row of the caller's C). */
  float t[MR][NR] __attribute__((aligned(64)));
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    _mm512_store_ps(t[r], _mm512_mul_ps(acc[r][0], va));
    _mm512_store_ps(t[r] + 16, _mm512_mul_ps(acc[r][1], va));
  }
  /* gemm_plan_init makes no other layout: C and gate are column-major here */
  assert(rs_c == 1 && (!gate || pl->rs_g == 1));
  const __mmask8 rm = (__mmask8)((1u << mr) - 1);
  const __m256 vb8 = _mm256_set1_ps(beta), zero8 = _mm256_setzero_ps();
  __m256 bias_r = zero8;
  if (bias && pl->bias_rows) bias_r = _mm256_maskz_loadu_ps(rm, bias + i);
  for (size_t q0 = 0; q0 < nr; q0 += 8) {
    __m256 v[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) v[r] = _mm256_load_ps(t[r] + q0);
    transpose8(v);
    size_t nq = min_sz(nr - q0, 8);
    for (size_t qq = 0; qq < nq; qq++) {
      size_t q = q0 + qq;
      float *dst = c + q * cs_c;
      __m256 x = v[qq];
      if (beta != 0.0f) x = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(rm, dst), vb8, x);
      if (bias) x = _mm256_add_ps(x, pl->bias_rows ? bias_r : _mm256_set1_ps(bias[j + q]));
      if (relu) x = _mm256_mask_mov_ps(x, _mm256_cmp_ps_mask(x, zero8, _CMP_LT_OQ), zero8);
      if (gate) {
        __m256 g = _mm256_maskz_loadu_ps(rm, gate + (j + q) * pl->cs_g + i);
        x = _mm256_maskz_mov_ps(_mm256_cmp_ps_mask(g, zero8, _CMP_GT_OQ), x);
      }
      _mm256_mask_storeu_ps(dst, rm, x);
    }
  }
}

TARGET static void kernel_packed(size_t kc, const float *ap, const float *bp,
                                 const gemm_plan_t *pl, size_t i, size_t j, size_t mr, size_t nr,
                                 float beta, bool last) {
  kernel_body(kc, ap, 1, MR, bp, pl, i, j, mr, nr, beta, last);
}

TARGET static void kernel_rows(size_t kc, const float *a, size_t lda, const float *bp,
                               const gemm_plan_t *pl, size_t i, size_t j, size_t mr, size_t nr,
                               float beta, bool last) {
  kernel_body(kc, a, lda, 1, bp, pl, i, j, mr, nr, beta, last);
}

/* k == 1: C = alpha x y^T + beta C with x = opA(:, 0), y = opB(0, :), row by row with the
 * epilogue fused; nothing to pack but y (when strided). Plans with k == 1 are not
 * transposed, so C's columns are contiguous. */
TARGET static void rank1(const gemm_plan_t *pl, size_t row_begin, size_t row_end,
                         size_t col_begin, size_t col_end, float *buf, size_t buf_len) {
  size_t chunk = pl->tb ? buf_len : col_end - col_begin;
  for (size_t j0 = col_begin; j0 < col_end; j0 += chunk) {
    size_t j1 = min_sz(col_end, j0 + chunk);
    const float *y = pl->b + j0;
    if (pl->tb) { /* opB(0, j) = b[j * ldb] */
      for (size_t j = j0; j < j1; j++) buf[j - j0] = pl->b[j * pl->ldb];
      y = buf;
    }
    for (size_t i = row_begin; i < row_end; i++) {
      __m512 x = _mm512_set1_ps(pl->ta ? pl->a[i] : pl->a[i * pl->lda]);
      for (size_t j = j0; j < j1; j += NR) {
        size_t nr = min_sz(NR, j1 - j);
        __mmask16 m0 = mask_lo(nr), m1 = mask_hi(nr);
        const float *yj = y + (j - j0);
        store_row(pl, i, j, m0, m1, _mm512_mul_ps(x, _mm512_maskz_loadu_ps(m0, yj)),
                  _mm512_mul_ps(x, _mm512_maskz_loadu_ps(m1, yj + 16)), pl->beta, true);
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Driver                                                                                   */

TARGET static void run_block(const gemm_plan_t *pl, size_t row_begin, size_t row_end,
                             size_t col_begin, size_t col_end) {
  float *ap = thread_buffers(), *bp = ap + (size_t)MC * KC;
  if (pl->k == 1) {
    rank1(pl, row_begin, row_end, col_begin, col_end, bp, (size_t)KC * NC);
    return;
  }
  size_t nc_max = block_size(col_end - col_begin, NC, NR), kc_max = block_size(pl->k, KC, 1);
  size_t mc_max = block_size(row_end - row_begin, MC, MR);
  for (size_t jc = col_begin; jc < col_end; jc += nc_max) {
    size_t nc = min_sz(nc_max, col_end - jc);
    for (size_t pc = 0; pc < pl->k; pc += kc_max) {
      size_t kc = min_sz(kc_max, pl->k - pc);
      float beta = pc == 0 ? pl->beta : 1.0f; /* later slices add to the first */
      bool last = pc + kc == pl->k;
      pack_b(pl, pc, kc, jc, nc, bp);
      for (size_t ic = row_begin; ic < row_end; ic += mc_max) {
        size_t mc = min_sz(mc_max, row_end - ic);
        /* A stored (m, k) is read in place: each sliver is MR contiguous rows. Stored
         * (k, m), it is packed so that a sliver is one contiguous block. */
        if (pl->ta) pack_a_transposed(pl, ic, mc, pc, kc, ap);
        for (size_t jr = 0; jr < nc; jr += NR) {
          size_t nr = min_sz(NR, nc - jr);
          for (size_t ir = 0; ir < mc; ir += MR) {
            size_t mr = min_sz(MR, mc - ir);
            if (pl->ta)
              kernel_packed(kc, ap + ir * kc, bp + jr * kc, pl, ic + ir, jc + jr, mr, nr, beta,
                            last);
            else
              kernel_rows(kc, pl->a + (ic + ir) * pl->lda + pc, pl->lda, bp + jr * kc, pl,
                          ic + ir, jc + jr, mr, nr, beta, last);
          }
        }
      }
    }
  }
}

void gemm_plan_run(const gemm_plan_t *p, size_t row_begin, size_t row_end, size_t col_begin,
                   size_t col_end) {
  assert(row_begin % MR == 0 && row_begin <= row_end && row_end <= p->m);
  assert(col_begin % NR == 0 && col_begin <= col_end && col_end <= p->n);
  if (row_begin < row_end && col_begin < col_end)
    run_block(p, row_begin, row_end, col_begin, col_end);
}

bool gemm_avx512_supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("fma");
}

#else /* not x86-64: the kernel does not exist; gemm.c never selects it */

void gemm_plan_run(const gemm_plan_t *p, size_t row_begin, size_t row_end, size_t col_begin,
                   size_t col_end) {
  (void)p;
  (void)row_begin;
  (void)row_end;
  (void)col_begin;
  (void)col_end;
  abort();
}

bool gemm_avx512_supported(void) { return false; }

#endif
