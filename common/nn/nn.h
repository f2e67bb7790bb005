/* Multilayer perceptrons: parameter layout, layer functions, Adam, Polyak averaging, and the
 * deterministic policy that actors, the evaluator and `td3d eval` run.
 *
 * Layout. A network with layer sizes L[0..n-1] (L[0] the input, L[n-1] the output) keeps all
 * its parameters in one contiguous float array: for each linear layer l = 0..n-2 in order, the
 * weights W_l as (L[l+1], L[l]) row-major (like PyTorch nn.Linear.weight), then the bias b_l
 * (L[l+1]). The count is sum over l of (L[l] + 1) L[l+1], equal to wire_param_count.
 * Gradients, Adam moments and target copies use the same layout, so Adam, Polyak averaging
 * and serialisation are single loops over n_params floats. Hidden layers use ReLU; an actor's
 * output is mid + half * tanh(z) with mid = (high + low) / 2, half = (high - low) / 2.
 *
 * Batches are row-major (B, dim). Matrix products go through nn_sgemm / nn_sgemm_ex: gemm.h's
 * kernel (AVX-512 or OpenBLAS, see there), or OpenBLAS sgemv when m or n is 1. Layers fuse
 * their bias, ReLU and ReLU-backward passes into the product's epilogue. Nothing here
 * allocates except nn_policy_new (gemm.h allocates per-thread packing buffers once).
 * Functions are reentrant: threads may call them on distinct buffers (thread counts are the
 * caller's business: gemm_set_threads and openblas_set_num_threads). */
#ifndef TD3_NN_H
#define TD3_NN_H

#include "gemm.h"
#include "rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_MAX_LAYERS 8   /* layer sizes in a network, including input and output */
#define NN_MAX_DIM 4096u  /* largest layer size (equals WIRE_MAX_DIM) */

/* ---------------------------------------------------------------------------------------- */
/* Layout                                                                                   */

/* Where each layer's weights and bias sit in a network's parameter array. Plain data. */
typedef struct nn_layout {
  uint32_t n_layers;                /* layer sizes, 2..NN_MAX_LAYERS */
  uint32_t sizes[NN_MAX_LAYERS];    /* sizes[0] input ... sizes[n_layers-1] output */
  size_t w_off[NN_MAX_LAYERS - 1];  /* floats before W_l, (sizes[l+1], sizes[l]) row-major */
  size_t b_off[NN_MAX_LAYERS - 1];  /* floats before b_l, (sizes[l+1]) */
  size_t n_params;                  /* floats in the whole array */
} nn_layout_t;

/* Fills lay for layer sizes[0..n_layers). Returns 0, or TD3_EINVAL (lay untouched) when
 * n_layers is outside 2..NN_MAX_LAYERS or a size is outside 1..NN_MAX_DIM. */
int nn_layout_init(nn_layout_t *lay, const uint32_t *sizes, uint32_t n_layers);

/* Parameter count of that shape, or 0 for a bad shape (same rules as nn_layout_init). */
size_t nn_param_count(const uint32_t *sizes, uint32_t n_layers);

/* Named views into one parameter (or gradient, moment, target) array. */
typedef struct nn_view {
  float *w[NN_MAX_LAYERS - 1];  /* W_l (sizes[l+1], sizes[l]) */
  float *b[NN_MAX_LAYERS - 1];  /* b_l (sizes[l+1]) */
} nn_view_t;

/* Views of params (borrowed; valid while params is). Entries past the last layer are NULL. */
nn_view_t nn_view(const nn_layout_t *lay, float *params);

/* PyTorch's nn.Linear default initialisation: layer by layer, W_l (row-major) then b_l, each
 * value drawn U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from rng with fan_in = sizes[l]. */
void nn_init_uniform(const nn_layout_t *lay, float *params, rng_t *rng);

/* ---------------------------------------------------------------------------------------- */
/* Matrix products                                                                          */

/* C (m, n; row stride ldc) = alpha op(A) op(B) + beta C, row-major, like cblas_sgemm with
 * op(X) = X^T when trans_x. beta == 0 ignores C's old content (NaN included). Dimensions
 * must fit in an int. If the calling thread has a trace (nn_gemm_trace_begin), the call is
 * also recorded there. */
void nn_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
              size_t ldc);

/* nn_sgemm, then the epilogue ep (bias, ReLU, ReLU-backward gate; see gemm_epilogue_t; NULL:
 * none) on C, fused into the product where the kernel allows. A trace records the product
 * alone: a replay runs the bare product. */
void nn_sgemm_ex(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc, const gemm_epilogue_t *ep);

/* One recorded nn_sgemm call (operands by pointer: they are borrowed, not copied; no
 * epilogue). */
typedef struct nn_gemm_call {
  bool trans_a, trans_b;
  uint32_t m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
} nn_gemm_call_t;

/* A caller-owned list that nn_sgemm appends to while it is the thread's trace. */
typedef struct nn_gemm_trace {
  nn_gemm_call_t *calls;  /* (cap) */
  size_t cap;             /* entries calls can hold */
  size_t n;               /* calls recorded (at most cap) */
  size_t dropped;         /* calls that did not fit */
} nn_gemm_trace_t;

/* Makes tr the calling thread's trace (NULL stops tracing); tr is borrowed until then. For
 * benchmarks (bench_update replays one training iteration's products as its ceiling). */
void nn_gemm_trace_begin(nn_gemm_trace_t *tr);
void nn_gemm_trace_end(void);
/* Runs recorded calls again, in order, on their recorded operands (which must be alive). */
void nn_gemm_replay(const nn_gemm_call_t *calls, size_t n);

/* ---------------------------------------------------------------------------------------- */
/* Layers. Shapes are row-major and contiguous unless a stride is named.                    */

/* out = in W^T + b. out (B, out_dim); in (B, in_dim); w (out_dim, in_dim); b (out_dim) or
 * NULL. Overwrites out. */
void nn_linear_forward(float *out, const float *in, const float *w, const float *b, size_t B,
                       size_t in_dim, size_t out_dim);

/* Backward of nn_linear_forward given dout = dL/dout (B, out_dim). Accumulates:
 * din (B, in_dim) += dout W; dw (out_dim, in_dim) += dout^T in; db (out_dim) += column sums of
 * dout. Any of din, dw, db may be NULL to skip it. */
void nn_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, size_t B, size_t in_dim, size_t out_dim);

/* x (rows, cols) += b (cols) per row (b may be NULL), then ReLU in place when relu. ReLU
 * keeps NaN as NaN (so a NaN input cannot vanish into a zero). */
void nn_bias_act(float *x, const float *b, size_t rows, size_t cols, bool relu);

/* ReLU backward in place: d[i] = 0 where y[i] <= 0 (y the ReLU output); d and y (n). */
void nn_relu_backward(float *d, const float *y, size_t n);

/* db (cols) = column sums of d (rows, cols; row stride ld), or += when accumulate. */
void nn_col_sum(float *db, const float *d, size_t rows, size_t cols, size_t ld, bool accumulate);

/* action = mid + half * tanh(z), per action dimension. z, action (B, act_dim); mid, half
 * (act_dim); th (B, act_dim) receives tanh(z) for the backward pass, or NULL. action may
 * alias z. */
void nn_tanh_scale_forward(float *action, float *th, const float *z, const float *mid,
                           const float *half, size_t B, size_t act_dim);

/* dz (B, act_dim) += daction * half * (1 - th^2); th from nn_tanh_scale_forward. */
void nn_tanh_scale_backward(float *dz, const float *daction, const float *th, const float *half,
                            size_t B, size_t act_dim);

/* Whole-network forward pass: ReLU after every layer but the last, which stays linear.
 * in (B, sizes[0]); acts[l] (B, sizes[l]) for l = 1..n_layers-1 receive the layer outputs
 * (acts[0] is not used; consecutive entries must not alias). */
void nn_mlp_forward(const nn_layout_t *lay, const float *params, const float *in, size_t B,
                    float *const *acts);

/* Backward of nn_mlp_forward. On entry dacts[n_layers-1] (B, sizes[n-1]) holds dL/d(output);
 * dacts[l] (B, sizes[l]) for l = 1..n-2 are overwritten with dL/d(acts[l]). grads (n_params)
 * and din (B, sizes[0]) receive the parameter and input gradients, added when accumulate,
 * written otherwise; either may be NULL to skip it. */
void nn_mlp_backward(const nn_layout_t *lay, const float *params, const float *in,
                     const float *const *acts, float *const *dacts, size_t B, float *grads,
                     float *din, bool accumulate);

/* ---------------------------------------------------------------------------------------- */
/* Optimisation                                                                             */

/* Adam hyperparameters (torch.optim.Adam, no weight decay, no AMSGrad). */
typedef struct nn_adam_cfg {
  float lr, beta1, beta2, eps;
} nn_adam_cfg_t;

/* One Adam step on n parameters, PyTorch's arithmetic: m' = b1 m + (1-b1) g,
 * v' = b2 v + (1-b2) g^2, p' = p - lr/(1-b1^t) m' / (sqrt(v')/sqrt(1-b2^t) + eps), where t
 * (>= 1) counts steps including this one. Reads g, p, m, v; writes p_out, m_out, v_out (each
 * may equal its input, or be a separate array of n). Returns 0, or TD3_ENONFINITE if any
 * written value is NaN or infinite (all outputs are written either way). */
int nn_adam_step(const nn_adam_cfg_t *cfg, uint64_t t, size_t n, const float *g, const float *p,
                 const float *m, const float *v, float *p_out, float *m_out, float *v_out);

/* Polyak averaging: target = tau * src + (1 - tau) * target, elementwise over n. */
void nn_polyak(float *target, const float *src, size_t n, float tau);

/* 1 if any of x[0..n) is NaN or infinite, else 0. */
int nn_any_nonfinite(const float *x, size_t n);

/* ---------------------------------------------------------------------------------------- */
/* Deterministic policy                                                                     */

typedef struct nn_policy nn_policy_t;

/* A policy network with its own parameters (zero until set) and scratch for max_batch rows.
 * layers: obs_dim, hidden..., act_dim (copied); low, high: (act_dim) action bounds (copied).
 * Returns NULL on a bad shape (see nn_layout_init), max_batch 0 or too large, NULL, non-finite
 * or unordered (low >= high) bounds. The caller owns the result (nn_policy_destroy). */
nn_policy_t *nn_policy_new(const uint32_t *layers, uint32_t n_layers, const float *low,
                           const float *high, size_t max_batch);
/* NULL-safe; sets *p = NULL. */
void nn_policy_destroy(nn_policy_t **p);
size_t nn_policy_param_count(const nn_policy_t *p);
/* The layout (layer sizes) the policy was made with. */
const nn_layout_t *nn_policy_layout(const nn_policy_t *p);
/* Copies nn_policy_param_count(p) floats in the layout above. */
void nn_policy_set_params(nn_policy_t *p, const float *params);
/* The policy's parameters (borrowed; valid until nn_policy_destroy). */
const float *nn_policy_params(const nn_policy_t *p);
/* obs (n, obs_dim) -> action (n, act_dim) for n <= max_batch; allocates nothing. Uses the
 * policy's scratch: one thread at a time per policy. */
void nn_policy_act(nn_policy_t *p, const float *obs, size_t n, float *action);

#endif
