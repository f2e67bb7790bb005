/* The AVX-512 product kernel's interface inside the gemm module: a product is first planned
 * (orientation chosen, operands described), then its rows are run, all at once or split over
 * threads by gemm.c. Only gemm.c includes it; callers use gemm.h. The dependency is one-way:
 * this header and gemm_avx512.c need nothing of gemm.h (the epilogue type they share is in
 * gemm_epilogue.h). */
#ifndef TD3_GEMM_AVX512_H
#define TD3_GEMM_AVX512_H

#include "gemm_epilogue.h"

#include <stdbool.h>
#include <stddef.h>

/* Rows and columns of C one micro-kernel call produces: blocks handed to gemm_plan_run must
 * start at a multiple of these. */
#define GEMM_AVX512_MR 8
#define GEMM_AVX512_NR 32

/* One product as the kernel runs it: C(i, j) at c[i * rs_c + j * cs_c] (i < m, j < n) =
 * alpha sum_p opA(i, p) opB(p, j) + beta C(i, j). For a narrow C the plan computes C^T
 * (m and n swapped, operands exchanged) so that the wide side runs along the vector lanes. */
typedef struct gemm_plan {
  size_t m, n, k;
  const float *a; /* opA(i, p) = a[p * lda + i] when ta, else a[i * lda + p] */
  size_t lda;
  bool ta;
  const float *b; /* opB(p, j) = b[j * ldb + p] when tb, else b[p * ldb + j] */
  size_t ldb;
  bool tb;
  float alpha, beta;
  float *c;
  size_t rs_c, cs_c;  /* floats between rows, columns of C */
  const float *bias;  /* epilogue (see gemm_epilogue_t), or NULL: bias[j] per column, or */
  bool bias_rows;     /* bias[i] per row in a transposed plan */
  bool relu;
  const float *gate;  /* C(i, j) kept where gate[i * rs_g + j * cs_g] > 0, or NULL */
  size_t rs_g, cs_g;
} gemm_plan_t;

/* Fills p for the cblas-style product C (m, n; ldc) = alpha op(A) op(B) + beta C and the
 * epilogue ep (NULL: none; see gemm_sgemm_ex). Requires m, n, k > 0. Pure: no CPU check, no
 * allocation. */
void gemm_plan_init(gemm_plan_t *p, bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                    float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                    float beta, float *c, size_t ldc, const gemm_epilogue_t *ep);

/* Computes the block rows [row_begin, row_end) x columns [col_begin, col_end) of the plan's
 * C (row_begin a multiple of GEMM_AVX512_MR, col_begin of GEMM_AVX512_NR) on the calling
 * thread, using that thread's packing buffers (allocated on its first call, freed at thread
 * exit). Threads may run disjoint blocks of one plan at once. Requires AVX-512
 * (gemm_avx512_supported). */
void gemm_plan_run(const gemm_plan_t *p, size_t row_begin, size_t row_end, size_t col_begin,
                   size_t col_end);

/* True when this CPU (and the compiler) can run the kernel (also declared in gemm.h, for
 * callers). */
bool gemm_avx512_supported(void);

#endif
