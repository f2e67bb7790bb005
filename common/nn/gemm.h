/* Single-precision matrix products: one entry point, gemm_sgemm, with cblas_sgemm's
 * row-major semantics, run by the project's own AVX-512 kernel (gemm_avx512.c) when the CPU
 * has it, or by OpenBLAS's cblas_sgemm otherwise (k == 1 by a plain outer-product loop, which
 * is faster there). gemm_sgemm_ex adds an epilogue (bias, ReLU, ReLU backward) that the
 * AVX-512 kernel applies while storing C, saving a pass over it.
 *
 * Kernel choice. The first product (or gemm_kernel_name) reads the TD3D_GEMM environment
 * variable: "auto" (default, also when unset or empty) takes the AVX-512 kernel when the CPU
 * reports avx512f/vl/bw/dq, else OpenBLAS; "avx512" forces it (on a CPU without AVX-512 one
 * warning line is logged and OpenBLAS is used); "openblas" forces OpenBLAS. Any other value
 * logs one error line and behaves as "auto". gemm_select overrides the choice at run time.
 *
 * Threads. gemm_set_threads(n) sets how many threads one product may use (default 1). With
 * n > 1 and the AVX-512 kernel, products of at least 2^18 multiply-adds are split into row
 * or column blocks of C over the calling thread and n - 1 persistent worker threads, started
 * on first use; the workers poll for 0.2 ms after a product, then sleep. Each element of C
 * is computed by one thread in the same order whatever n is, so results do not depend on
 * it. gemm_set_threads also sets OpenBLAS's thread count: n when OpenBLAS computes the
 * products, 1 with the AVX-512 kernel (OpenBLAS then serves only small matrix-vector
 * products, and its idle threads would spin on the cores the workers need: on 2 cores that
 * made a Pendulum run take 15.4 s instead of 9.2 s). Only one caller at a time uses the
 * workers; a product started while another thread holds them runs on its own thread alone.
 *
 * Memory. Each thread that runs the AVX-512 kernel allocates its packing buffers once, on its
 * first product (about 640 KiB), and frees them when it exits. A product allocates nothing. */
#ifndef TD3_GEMM_H
#define TD3_GEMM_H

#include "gemm_epilogue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum gemm_kernel {
  GEMM_KERNEL_AUTO = 0,     /* AVX-512 when the CPU has it, else OpenBLAS */
  GEMM_KERNEL_AVX512 = 1,   /* gemm_avx512.c */
  GEMM_KERNEL_OPENBLAS = 2  /* cblas_sgemm */
} gemm_kernel_t;

#define GEMM_MAX_THREADS 64 /* gemm_set_threads clamps to this */

/* C (m, n; row stride ldc) = alpha op(A) op(B) + beta C, row-major, op(X) = X^T when
 * trans_x: A is (m, k) with row stride lda, or (k, m) when trans_a; B is (k, n) with row
 * stride ldb, or (n, k) when trans_b. beta == 0 ignores C's old content (NaN included);
 * alpha == 0 or k == 0 only scales C. Any thread may call it; a, b are borrowed, c must not
 * overlap them. Dimensions and strides must fit in an int (the OpenBLAS path's limit). */
void gemm_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                size_t ldc);

/* gemm_sgemm, then the epilogue ep (borrowed; NULL: none) on C. */
void gemm_sgemm_ex(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc, const gemm_epilogue_t *ep);

/* The epilogue ep as a separate pass over C (m, n; row stride ldc), in plain loops: for
 * products computed elsewhere (sgemv) and the OpenBLAS path. ep NULL does nothing. */
void gemm_epilogue_apply(const gemm_epilogue_t *ep, float *c, size_t m, size_t n, size_t ldc);

/* C = beta C (beta 0: zeros, whatever C held), then the epilogue: the whole product when k
 * or alpha is 0. */
void gemm_scale_apply(float beta, const gemm_epilogue_t *ep, float *c, size_t m, size_t n,
                      size_t ldc);

/* The AVX-512 kernel alone, on the calling thread only (no workers), same contract as
 * gemm_sgemm_ex. The caller must have checked gemm_avx512_supported(); for tests and
 * benchmarks. */
void gemm_avx512_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                       const float *a, size_t lda, const float *b, size_t ldb, float beta,
                       float *c, size_t ldc, const gemm_epilogue_t *ep);

/* True when this CPU (and the compiler) can run gemm_avx512_sgemm (the kernel file defines
 * it; gemm_avx512.h declares it too). */
bool gemm_avx512_supported(void);

/* Parses a TD3D_GEMM value: "auto", "avx512" or "openblas" (NULL or "" mean "auto").
 * Returns 0 and sets *out, or TD3_EINVAL (*out untouched). */
int gemm_kernel_parse(const char *s, gemm_kernel_t *out);

/* Makes want the active kernel, resolving GEMM_KERNEL_AUTO by CPU features. Returns the
 * kernel now active: GEMM_KERNEL_OPENBLAS when want is GEMM_KERNEL_AVX512 but the CPU lacks
 * it (one warning line is logged). Call it before products run on other threads. */
gemm_kernel_t gemm_select(gemm_kernel_t want);

/* Applies TD3D_GEMM now (see the top of this file). Returns 0, or TD3_EINVAL for an
 * unknown value (after logging it and selecting "auto"). Runs by itself before the first
 * product; call it again only to re-read the variable (tests). */
int gemm_init_from_env(void);

/* "avx512" or "openblas": the kernel products run on now (applies TD3D_GEMM first if no
 * product ran yet). A static string. */
const char *gemm_kernel_name(void);

/* Threads one product may use, 1..GEMM_MAX_THREADS (values outside are clamped), and
 * OpenBLAS's thread count to match (see above). Call it from the thread that sets up the
 * process, after any openblas_set_num_threads, not while another thread runs a product.
 * Lowering the count stops surplus workers. */
void gemm_set_threads(int n);
int gemm_get_threads(void);

/* How a split product is cut (exposed for tests): `tiles` MR-row or NR-column tiles of C for
 * `threads` threads become blocks; block b is tiles bound[b] .. bound[b + 1] - 1 (bound[0] is
 * 0, the last bound is `tiles`). The first `threads` blocks hold three quarters of a
 * thread's fair share each, the rest about an eighth; never more than GEMM_MAX_BLOCKS
 * blocks. Returns the number of blocks. */
#define GEMM_MAX_BLOCKS 64
uint32_t gemm_schedule(size_t tiles, size_t threads, uint32_t bound[GEMM_MAX_BLOCKS + 1]);

#endif
