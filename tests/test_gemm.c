/* Tests for common/nn/gemm: every path (the AVX-512 kernel alone, gemm_sgemm_ex on each kernel,
 * split over worker threads) against a naive double-precision product on many shapes, all
 * four transpose combinations, padded strides, unaligned operands, alpha != 1 and beta 0
 * (over NaN), 1 and 0.5, with and without each epilogue step; the fused epilogue against
 * the separate pass bit for bit; results independent of the thread count; workers after
 * fork(); then TD3D_GEMM parsing and the thread-count setting.
 *
 * Tolerance: each element must be within 1e-5 (sum |alpha a b| + |beta c|) of the double
 * reference. Float accumulation over k terms is bounded by about k eps times that sum
 * (k <= 1000 here: 1.2e-4 in the worst case), but with random signs the error grows like
 * sqrt(k) eps, well inside 1e-5; a wrong term or index is far outside it. Elements of C's
 * row padding must come back unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "gemm.h"
#include "rng.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static rng_t R;

typedef void (*gemm_fn)(bool, bool, size_t, size_t, size_t, float, const float *, size_t,
                        const float *, size_t, float, float *, size_t, const gemm_epilogue_t *);

enum { EP_BIAS = 1, EP_RELU = 2, EP_GATE = 4 }; /* epilogue steps a check adds */

/* Runs one product (and the epilogue steps in epi) through fn and checks it against doubles.
 * pad adds to the minimum strides; off shifts each operand by that many floats from its
 * allocation (unaligned). Returns the number of bad elements (the first is printed). */
static int check_ep(gemm_fn fn, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                    float beta, size_t pad, size_t off, int epi) {
  size_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
  size_t lda = ac + pad, ldb = bc + (pad ? pad + 1 : 0), ldc = n + (pad ? pad + 2 : 0);
  float *abuf = malloc((ar * lda + off) * sizeof(float));
  float *bbuf = malloc((br * ldb + off) * sizeof(float));
  float *cbuf = malloc((m * ldc + off) * sizeof(float));
  float *c0 = malloc(m * ldc * sizeof(float));
  float *a = abuf + off, *b = bbuf + off, *c = cbuf + off;
  size_t ldg = n + pad;
  float *bias = malloc(n * sizeof(float)), *gate = malloc(m * ldg * sizeof(float));
  rng_normal_fill(&R, a, ar * lda, 0.0f, 1.0f);
  rng_normal_fill(&R, b, br * ldb, 0.0f, 1.0f);
  rng_normal_fill(&R, bias, n, 0.0f, 1.0f);
  rng_normal_fill(&R, gate, m * ldg, 0.0f, 1.0f); /* about half the elements pass */
  for (size_t i = 0; i < m * ldc; i++)
    c[i] = beta == 0.0f ? NAN : rng_uniformf(&R, -2.0f, 2.0f);
  memcpy(c0, c, m * ldc * sizeof(float));
  gemm_epilogue_t ep = {.bias = epi & EP_BIAS ? bias : NULL, .relu = epi & EP_RELU,
                        .gate = epi & EP_GATE ? gate : NULL, .ldg = ldg};
  fn(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epi ? &ep : NULL);
  int bad = 0;
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < ldc; j++) {
      float got = c[i * ldc + j];
      if (j >= n) { /* padding: untouched (NaN compares by bits) */
        if (memcmp(&got, &c0[i * ldc + j], sizeof got) && bad++ == 0)
          print_error("padding C[%zu][%zu] changed\n", i, j);
        continue;
      }
      double s = 0, mag = 0;
      for (size_t p = 0; p < k; p++) {
        double x = ta ? a[p * lda + i] : a[i * lda + p];
        double y = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += x * y;
        mag += fabs(x * y);
      }
      double want = alpha * s, tol = 1e-5 * fabs(alpha) * mag;
      if (beta != 0.0f) {
        want += beta * (double)c0[i * ldc + j];
        tol += 1e-5 * fabs(beta * (double)c0[i * ldc + j]);
      }
      if (epi & EP_BIAS) {
        want += bias[j];
        tol += 1e-6 * fabs(bias[j]);
      }
      if ((epi & EP_RELU) && want < 0) want = 0;
      if ((epi & EP_GATE) && !(gate[i * ldg + j] > 0)) want = 0;
      if (!(fabs(got - want) <= tol + 1e-30) && bad++ == 0)
        print_error("%c%c m %zu n %zu k %zu alpha %g beta %g pad %zu off %zu epi %d: C[%zu][%zu]"
                    " = %.9g, want %.9g (tol %.3g)\n", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k,
                    (double)alpha, (double)beta, pad, off, epi, i, j, (double)got, want, tol);
    }
  }
  free(abuf);
  free(bbuf);
  free(cbuf);
  free(c0);
  free(bias);
  free(gate);
  return bad;
}

static int check_one(gemm_fn fn, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                     float beta, size_t pad, size_t off) {
  return check_ep(fn, ta, tb, m, n, k, alpha, beta, pad, off, 0);
}

static const size_t DIMS[] = {1, 2, 3, 5, 15, 16, 17, 31, 33, 64, 100, 256, 257};
#define N_DIMS (sizeof DIMS / sizeof DIMS[0])
static const float ALPHAS[] = {1.0f, -0.5f, 2.5f};
static const float BETAS[] = {0.0f, 1.0f, 0.5f};

/* Every transpose combination on: all (m, n, k) over a small set, random triples over
 * DIMS, and shapes that cross the kernel's blocking (k > 256, n > 512, m > 128). Each
 * product draws its alpha, beta, stride padding and misalignment at random. */
static void sweep(gemm_fn fn, int n_random) {
  static const size_t small[] = {1, 3, 16, 17, 33};
  static const size_t big[][3] = {{300, 40, 600}, {129, 600, 70}, {40, 1100, 9}, {520, 24, 256},
                                  {256, 6, 256},  {6, 256, 256}, {256, 17, 256}, {9, 9, 1000}};
  int bad = 0, runs = 0;
  for (int combo = 0; combo < 4; combo++) {
    bool ta = combo & 1, tb = combo & 2;
    for (size_t x = 0; x < 5; x++)
      for (size_t y = 0; y < 5; y++)
        for (size_t z = 0; z < 5; z++, runs++)
          bad += check_one(fn, ta, tb, small[x], small[y], small[z], ALPHAS[runs % 3],
                           BETAS[(runs / 3) % 3], rng_below(&R, 4), rng_below(&R, 4)) != 0;
    for (int r = 0; r < n_random; r++, runs++) {
      size_t m = DIMS[rng_below(&R, N_DIMS)], n = DIMS[rng_below(&R, N_DIMS)];
      size_t k = DIMS[rng_below(&R, N_DIMS)];
      bad += check_ep(fn, ta, tb, m, n, k, ALPHAS[rng_below(&R, 3)], BETAS[rng_below(&R, 3)],
                      rng_below(&R, 5), rng_below(&R, 4), (int)rng_below(&R, 8)) != 0;
    }
    for (size_t s = 0; s < sizeof big / sizeof big[0]; s++, runs++)
      bad += check_ep(fn, ta, tb, big[s][0], big[s][1], big[s][2], ALPHAS[s % 3],
                      BETAS[(s + (size_t)combo) % 3], s % 3, s % 2, (int)(s % 8)) != 0;
  }
  if (bad) fail_msg("%d of %d products wrong", bad, runs);
}

static void avx512_kernel_matches_naive(void **state) {
  (void)state;
  if (!gemm_avx512_supported()) skip();
  sweep(gemm_avx512_sgemm, 60);
}

static void sgemm_avx512_matches_naive(void **state) {
  (void)state;
  if (!gemm_avx512_supported()) skip();
  assert_int_equal(gemm_select(GEMM_KERNEL_AVX512), GEMM_KERNEL_AVX512);
  assert_string_equal(gemm_kernel_name(), "avx512");
  sweep(gemm_sgemm_ex, 30);
}

static void sgemm_openblas_matches_naive(void **state) {
  (void)state;
  assert_int_equal(gemm_select(GEMM_KERNEL_OPENBLAS), GEMM_KERNEL_OPENBLAS);
  assert_string_equal(gemm_kernel_name(), "openblas");
  sweep(gemm_sgemm_ex, 30);
  gemm_select(GEMM_KERNEL_AUTO);
}

/* Split over workers: 2 and 3 threads (uneven blocks), then back to 1 (workers stop). */
static void threaded_matches_naive(void **state) {
  (void)state;
  if (!gemm_avx512_supported()) skip();
  gemm_select(GEMM_KERNEL_AVX512);
  for (int t = 2; t <= 3; t++) {
    gemm_set_threads(t);
    assert_int_equal(gemm_get_threads(), t);
    int bad = 0;
    for (int combo = 0; combo < 4; combo++) {
      bool ta = combo & 1, tb = combo & 2;
      bad += check_one(gemm_sgemm_ex, ta, tb, 256, 256, 256, 1.0f, 0.0f, 0, 0);
      bad += check_one(gemm_sgemm_ex, ta, tb, 257, 100, 300, -0.5f, 1.0f, 3, 1);
      bad += check_one(gemm_sgemm_ex, ta, tb, 40, 512, 200, 2.5f, 0.5f, 1, 2);
      bad += check_one(gemm_sgemm_ex, ta, tb, 256, 6, 1024, 1.0f, 0.0f, 0, 3);
    }
    if (bad) fail_msg("%d elements wrong with %d threads", bad, t);
  }
  gemm_set_threads(1);
  assert_int_equal(gemm_get_threads(), 1);
  assert_int_equal(check_one(gemm_sgemm_ex, false, true, 256, 256, 256, 1.0f, 0.0f, 0, 0), 0);
}

/* The split changes who computes an element, not how: 1, 2 and 3 threads give the same
 * bits (row and column splits, a transposed plan, several k slices, an epilogue). */
static void threads_do_not_change_bits(void **state) {
  (void)state;
  if (!gemm_avx512_supported()) skip();
  gemm_select(GEMM_KERNEL_AVX512);
  static const size_t shapes[][3] = {
      {256, 256, 256}, {200, 72, 600}, {256, 6, 256}, {512, 24, 256}};
  for (size_t s = 0; s < 4; s++) {
    size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    for (int combo = 0; combo < 4; combo++) {
      bool ta = combo & 1, tb = combo & 2;
      float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float));
      float *bias = malloc(n * sizeof(float)), *c[3];
      rng_normal_fill(&R, a, m * k, 0.0f, 1.0f);
      rng_normal_fill(&R, b, k * n, 0.0f, 1.0f);
      rng_normal_fill(&R, bias, n, 0.0f, 1.0f);
      gemm_epilogue_t ep = {.bias = bias, .relu = true};
      for (int t = 0; t < 3; t++) {
        c[t] = malloc(m * n * sizeof(float));
        gemm_set_threads(t + 1);
        gemm_sgemm_ex(ta, tb, m, n, k, 0.7f, a, ta ? m : k, b, tb ? k : n, 0.0f, c[t], n, &ep);
      }
      if (memcmp(c[0], c[1], m * n * sizeof(float)) || memcmp(c[0], c[2], m * n * sizeof(float)))
        fail_msg("m %zu n %zu k %zu combo %d: results depend on the thread count", m, n, k, combo);
      for (int t = 0; t < 3; t++) free(c[t]);
      free(a);
      free(b);
      free(bias);
    }
  }
  gemm_set_threads(1);
}

/* A child forked while the workers exist (they do not in the child) still runs split
 * products, with workers of its own; a hang is cut short by alarm(). */
static void products_work_after_fork(void **state) {
  (void)state;
#if defined(__SANITIZE_THREAD__)
  skip(); /* ThreadSanitizer cannot start threads in the child of a multi-threaded fork */
#endif
  if (!gemm_avx512_supported()) skip();
  gemm_select(GEMM_KERNEL_AVX512);
  gemm_set_threads(2);
  assert_int_equal(check_one(gemm_sgemm_ex, false, true, 256, 256, 256, 1.0f, 0.0f, 0, 0), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(20);
    int bad = check_one(gemm_sgemm_ex, true, false, 256, 128, 300, 1.0f, 0.5f, 1, 1);
    bad += check_one(gemm_sgemm_ex, false, false, 130, 256, 64, 2.5f, 0.0f, 0, 2);
    _exit(bad ? 1 : 0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  gemm_set_threads(1);
}

/* The fused epilogue gives the same bits as the product followed by gemm_epilogue_apply,
 * on shapes that take the direct, the packed-A and the transposed (narrow C) kernel paths. */
static void fused_epilogue_equals_separate_pass(void **state) {
  (void)state;
  if (!gemm_avx512_supported()) skip();
  static const size_t shapes[][3] = {{256, 256, 256}, {37, 70, 300}, {256, 6, 256},
                                     {5, 200, 17},    {100, 1, 40},  {1, 100, 40}};
  int bad = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], ldc = n + 3, ldg = n + 1;
    for (int combo = 0; combo < 4; combo++) {
      bool ta = combo & 1, tb = combo & 2;
      float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float));
      float *c1 = malloc(m * ldc * sizeof(float)), *c2 = malloc(m * ldc * sizeof(float));
      float *bias = malloc(n * sizeof(float)), *gate = malloc(m * ldg * sizeof(float));
      rng_normal_fill(&R, a, m * k, 0.0f, 1.0f);
      rng_normal_fill(&R, b, k * n, 0.0f, 1.0f);
      rng_normal_fill(&R, bias, n, 0.0f, 1.0f);
      rng_normal_fill(&R, gate, m * ldg, 0.0f, 1.0f);
      rng_normal_fill(&R, c1, m * ldc, 0.0f, 1.0f);
      memcpy(c2, c1, m * ldc * sizeof(float));
      for (int epi = 1; epi < 8; epi++) {
        float beta = epi & 1 ? 0.0f : 0.5f;
        gemm_epilogue_t ep = {.bias = epi & EP_BIAS ? bias : NULL, .relu = epi & EP_RELU,
                              .gate = epi & EP_GATE ? gate : NULL, .ldg = ldg};
        gemm_avx512_sgemm(ta, tb, m, n, k, 1.5f, a, ta ? m : k, b, tb ? k : n, beta, c1, ldc,
                          &ep);
        gemm_avx512_sgemm(ta, tb, m, n, k, 1.5f, a, ta ? m : k, b, tb ? k : n, beta, c2, ldc,
                          NULL);
        gemm_epilogue_apply(&ep, c2, m, n, ldc);
        if (memcmp(c1, c2, m * ldc * sizeof(float)) && bad++ == 0)
          print_error("m %zu n %zu k %zu combo %d epi %d: fused and separate differ\n", m, n, k,
                      combo, epi);
      }
      free(a);
      free(b);
      free(c1);
      free(c2);
      free(bias);
      free(gate);
    }
  }
  if (bad) fail_msg("%d cases differ", bad);
}

/* alpha == 0 and k == 0 only scale C (beta 0 clears it, NaN included); m or n == 0 is a
 * no-op; on both kernels. */
static void degenerate_shapes(void **state) {
  (void)state;
  for (int kern = 0; kern < 2; kern++) {
    if (kern == 0 && !gemm_avx512_supported()) continue;
    gemm_select(kern == 0 ? GEMM_KERNEL_AVX512 : GEMM_KERNEL_OPENBLAS);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 1, 1, 1, 1, 1};
    float c[4] = {NAN, 2, 4, 8};
    gemm_sgemm(false, false, 2, 2, 3, 0.0f, a, 3, b, 2, 0.5f, c + 0, 2);
    assert_true(isnan(c[0]));
    assert_true(c[1] == 1.0f && c[2] == 2.0f && c[3] == 4.0f);
    gemm_sgemm(false, false, 2, 2, 0, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    for (int i = 0; i < 4; i++) assert_true(c[i] == 0.0f);
    float bias[2] = {1.0f, -1.0f};
    gemm_epilogue_t ep = {.bias = bias, .relu = true};
    gemm_sgemm_ex(false, false, 2, 2, 0, 1.0f, a, 3, b, 2, 0.0f, c, 2, &ep); /* 0 + bias, ReLU */
    assert_true(c[0] == 1.0f && c[1] == 0.0f && c[2] == 1.0f && c[3] == 0.0f);
    c[0] = 7.0f;
    gemm_sgemm(false, false, 0, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    gemm_sgemm(false, false, 2, 0, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    assert_true(c[0] == 7.0f);
  }
  gemm_select(GEMM_KERNEL_AUTO);
}

static void kernel_names_parse(void **state) {
  (void)state;
  gemm_kernel_t k = GEMM_KERNEL_OPENBLAS;
  assert_int_equal(gemm_kernel_parse("auto", &k), 0);
  assert_int_equal(k, GEMM_KERNEL_AUTO);
  assert_int_equal(gemm_kernel_parse("avx512", &k), 0);
  assert_int_equal(k, GEMM_KERNEL_AVX512);
  assert_int_equal(gemm_kernel_parse("openblas", &k), 0);
  assert_int_equal(k, GEMM_KERNEL_OPENBLAS);
  k = GEMM_KERNEL_OPENBLAS;
  assert_int_equal(gemm_kernel_parse(NULL, &k), 0);
  assert_int_equal(k, GEMM_KERNEL_AUTO);
  k = GEMM_KERNEL_OPENBLAS;
  assert_int_equal(gemm_kernel_parse("", &k), 0);
  assert_int_equal(k, GEMM_KERNEL_AUTO);
  const char *bad[] = {"AVX512", "avx2", "openblas ", "blas", "auto,avx512", "0"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    k = GEMM_KERNEL_OPENBLAS;
    assert_int_equal(gemm_kernel_parse(bad[i], &k), TD3_EINVAL);
    assert_int_equal(k, GEMM_KERNEL_OPENBLAS); /* untouched */
  }
}

/* TD3D_GEMM as read by gemm_init_from_env: each value selects its kernel; a bad value
 * returns TD3_EINVAL and behaves as auto. */
static void env_selects_kernel(void **state) {
  (void)state;
  const char *autoname = gemm_avx512_supported() ? "avx512" : "openblas";
  assert_int_equal(setenv("TD3D_GEMM", "openblas", 1), 0);
  assert_int_equal(gemm_init_from_env(), 0);
  assert_string_equal(gemm_kernel_name(), "openblas");
  assert_int_equal(setenv("TD3D_GEMM", "avx512", 1), 0);
  assert_int_equal(gemm_init_from_env(), 0);
  assert_string_equal(gemm_kernel_name(), autoname); /* falls back without AVX-512 */
  assert_int_equal(setenv("TD3D_GEMM", "openblas", 1), 0);
  gemm_init_from_env();
  assert_int_equal(setenv("TD3D_GEMM", "fastest", 1), 0);
  assert_int_equal(gemm_init_from_env(), TD3_EINVAL);
  assert_string_equal(gemm_kernel_name(), autoname);
  assert_int_equal(setenv("TD3D_GEMM", "auto", 1), 0);
  assert_int_equal(gemm_init_from_env(), 0);
  assert_string_equal(gemm_kernel_name(), autoname);
  assert_int_equal(unsetenv("TD3D_GEMM"), 0);
  assert_int_equal(gemm_init_from_env(), 0);
  assert_string_equal(gemm_kernel_name(), autoname);
  /* a product after the choice runs on it */
  assert_int_equal(check_one(gemm_sgemm_ex, true, false, 33, 17, 64, 1.0f, 0.0f, 1, 1), 0);
}

/* The cut covers every tile once, in order; the first block of each thread is the biggest,
 * the tail blocks are small; the block count stays bounded for any size. */
static void schedule_covers_tiles(void **state) {
  (void)state;
  const size_t tile_counts[] = {1, 2, 3, 7, 10, 13, 38, 100, 1000, 100000};
  for (size_t t = 1; t <= 8; t++) {
    for (size_t i = 0; i < sizeof tile_counts / sizeof *tile_counts; i++) {
      size_t tiles = tile_counts[i];
      uint32_t bound[GEMM_MAX_BLOCKS + 1];
      uint32_t blocks = gemm_schedule(tiles, t, bound);
      assert_true(blocks >= 1 && blocks <= GEMM_MAX_BLOCKS);
      assert_int_equal(bound[0], 0);
      assert_int_equal(bound[blocks], tiles);
      for (uint32_t b = 0; b < blocks; b++) assert_true(bound[b] < bound[b + 1]);
      if (tiles >= 2 * t) {
        uint32_t first = bound[1] - bound[0];
        for (uint32_t b = 1; b < t; b++) assert_int_equal(bound[b + 1] - bound[b], first);
        for (uint32_t b = t; b < blocks; b++) assert_true(bound[b + 1] - bound[b] <= first);
        assert_true(first * t * 4 <= tiles * 3); /* three quarters of a share at most */
      }
    }
  }
  /* HalfCheetah's shapes on 2 threads: 13 row tiles in 5 blocks, 10 column tiles in 6 */
  uint32_t bound[GEMM_MAX_BLOCKS + 1];
  assert_int_equal(gemm_schedule(13, 2, bound), 5);
  assert_int_equal(gemm_schedule(10, 2, bound), 6);
}

static void thread_count_clamps(void **state) {
  (void)state;
  gemm_set_threads(0);
  assert_int_equal(gemm_get_threads(), 1);
  gemm_set_threads(-5);
  assert_int_equal(gemm_get_threads(), 1);
  gemm_set_threads(100000);
  assert_int_equal(gemm_get_threads(), GEMM_MAX_THREADS);
  gemm_set_threads(1);
  assert_int_equal(gemm_get_threads(), 1);
}

int main(void) {
  openblas_set_num_threads(1);
  rng_init(&R, 99, 3);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(avx512_kernel_matches_naive),
      cmocka_unit_test(sgemm_avx512_matches_naive),
      cmocka_unit_test(sgemm_openblas_matches_naive),
      cmocka_unit_test(threaded_matches_naive),
      cmocka_unit_test(threads_do_not_change_bits),
      cmocka_unit_test(products_work_after_fork),
      cmocka_unit_test(fused_epilogue_equals_separate_pass),
      cmocka_unit_test(degenerate_shapes),
      cmocka_unit_test(kernel_names_parse),
      cmocka_unit_test(env_selects_kernel),
      cmocka_unit_test(schedule_covers_tiles),
      cmocka_unit_test(thread_count_clamps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
