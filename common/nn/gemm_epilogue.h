/* The epilogue of a matrix product: the one type that the public interface (gemm.h) and the
 * AVX-512 kernel (gemm_avx512.h) share, so that the kernel needs nothing of gemm.h. */
#ifndef TD3_GEMM_EPILOGUE_H
#define TD3_GEMM_EPILOGUE_H

#include <stdbool.h>
#include <stddef.h>

/* Elementwise work gemm_sgemm_ex does on each element of C once its product is complete,
 * while the element is still in a register, in this order (each step optional):
 *   C += bias[j] (bias (n), one value per column);
 *   C = C < 0 ? 0 : C (ReLU; NaN stays NaN);
 *   C = gate[i * ldg + j] > 0 ? C : 0 (ReLU backward: gate (m, n) is the layer's output).
 * The result equals gemm_sgemm followed by these passes as separate loops, bit for bit. */
typedef struct gemm_epilogue {
  const float *bias; /* (n) or NULL */
  bool relu;
  const float *gate; /* (m, n; row stride ldg) or NULL; must not overlap C */
  size_t ldg;
} gemm_epilogue_t;

#endif
