/* Tests for common/base/rng: reproducibility, stream independence, distribution moments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rng.h"

#include <math.h>
#include <string.h>

#define N_DRAWS 1000000

static void same_seed_same_stream(void **state) {
  (void)state;
  rng_t a, b;
  rng_init(&a, 42, rng_stream_id(RNG_PURPOSE_ACTOR, 3));
  rng_init(&b, 42, rng_stream_id(RNG_PURPOSE_ACTOR, 3));
  for (int i = 0; i < 10000; i++) assert_int_equal(rng_next_u64(&a), rng_next_u64(&b));
  for (int i = 0; i < 1000; i++) assert_true(rng_normal(&a) == rng_normal(&b));
}

static void copied_state_resumes(void **state) {
  (void)state;
  rng_t a, saved;
  rng_init(&a, 7, 0);
  for (int i = 0; i < 101; i++) rng_normal(&a); /* odd count: a spare normal is cached */
  memcpy(&saved, &a, sizeof a);
  double x[50], y[50];
  for (int i = 0; i < 50; i++) x[i] = rng_normal(&a);
  for (int i = 0; i < 50; i++) y[i] = rng_normal(&saved);
  assert_memory_equal(x, y, sizeof x);
}

/* Pearson correlation of paired uniform draws from two generators. */
static double correlation(rng_t *a, rng_t *b, int n) {
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (int i = 0; i < n; i++) {
    double x = rng_uniform(a), y = rng_uniform(b);
    sa += x;
    sb += y;
    saa += x * x;
    sbb += y * y;
    sab += x * y;
  }
  double ma = sa / n, mb = sb / n;
  double cov = sab / n - ma * mb;
  return cov / sqrt((saa / n - ma * ma) * (sbb / n - mb * mb));
}

static void streams_are_independent(void **state) {
  (void)state;
  /* Under independence the sample correlation has standard error 1/sqrt(N). */
  double bound = 4.0 / sqrt((double)N_DRAWS);
  const uint64_t pairs[][4] = {
      /* seed a, stream a, seed b, stream b */
      {1, rng_stream_id(RNG_PURPOSE_ACTOR, 0), 1, rng_stream_id(RNG_PURPOSE_ACTOR, 1)},
      {1, rng_stream_id(RNG_PURPOSE_ACTOR, 1), 1, rng_stream_id(RNG_PURPOSE_ACTOR, 2)},
      {1, rng_stream_id(RNG_PURPOSE_ACTOR, 0), 2, rng_stream_id(RNG_PURPOSE_ACTOR, 0)},
      {0, 0, 0, 1},
      {1, rng_stream_id(RNG_PURPOSE_ENV, 5), 1, rng_stream_id(RNG_PURPOSE_ACTOR, 5)},
  };
  for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
    rng_t a, b;
    rng_init(&a, pairs[k][0], pairs[k][1]);
    rng_init(&b, pairs[k][2], pairs[k][3]);
    double r = correlation(&a, &b, N_DRAWS);
    assert_true(fabs(r) < bound);
    /* and the streams are not the same sequence shifted by nothing */
    rng_init(&a, pairs[k][0], pairs[k][1]);
    rng_init(&b, pairs[k][2], pairs[k][3]);
    int equal = 0;
    for (int i = 0; i < 1000; i++) equal += rng_next_u64(&a) == rng_next_u64(&b);
    assert_int_equal(equal, 0);
  }
}

static void uniform_moments(void **state) {
  (void)state;
  rng_t r;
  rng_init(&r, 9, 0);
  double s = 0, ss = 0;
  for (int i = 0; i < N_DRAWS; i++) {
    double u = rng_uniform(&r);
    assert_true(u >= 0.0 && u < 1.0);
    s += u;
    ss += u * u;
  }
  double mean = s / N_DRAWS, var = ss / N_DRAWS - mean * mean;
  assert_true(fabs(mean - 0.5) < 4.0 * sqrt(1.0 / 12.0 / N_DRAWS));
  assert_true(fabs(var - 1.0 / 12.0) < 0.001);
  for (int i = 0; i < 10000; i++) {
    float f = rng_uniformf(&r, -2.0f, 2.0f);
    assert_true(f >= -2.0f && f < 2.0f);
  }
}

static void gaussian_moments(void **state) {
  (void)state;
  rng_t r;
  rng_init(&r, 2024, rng_stream_id(RNG_PURPOSE_TRAINER, 0));
  double s = 0, ss = 0, s4 = 0;
  for (int i = 0; i < N_DRAWS; i++) {
    double z = rng_normal(&r);
    s += z;
    ss += z * z;
    s4 += z * z * z * z;
  }
  double mean = s / N_DRAWS;
  double var = ss / N_DRAWS - mean * mean;
  /* Standard errors: mean 1/sqrt(N); variance sqrt(2/N) for a normal. */
  assert_true(fabs(mean) < 4.0 / sqrt((double)N_DRAWS));
  assert_true(fabs(var - 1.0) < 4.0 * sqrt(2.0 / N_DRAWS));
  /* Kurtosis 3 distinguishes a normal from e.g. a scaled uniform (1.8). */
  assert_true(fabs(s4 / N_DRAWS - 3.0) < 0.05);

  float buf[100000];
  rng_normal_fill(&r, buf, 100000, 1.5f, 0.2f);
  double m = 0;
  for (int i = 0; i < 100000; i++) m += buf[i];
  m /= 100000;
  assert_true(fabs(m - 1.5) < 4.0 * 0.2 / sqrt(100000.0));
}

static void below_is_bounded_and_uniform(void **state) {
  (void)state;
  rng_t r;
  rng_init(&r, 5, 5);
  enum { K = 10 };
  int counts[K] = {0};
  for (int i = 0; i < 100000; i++) {
    uint64_t v = rng_below(&r, K);
    assert_true(v < K);
    counts[v]++;
  }
  /* chi-square with 9 degrees of freedom: 99.99th percentile is about 33.7 */
  double chi = 0;
  for (int k = 0; k < K; k++) chi += (counts[k] - 10000.0) * (counts[k] - 10000.0) / 10000.0;
  assert_true(chi < 33.7);
  assert_int_equal(rng_below(&r, 1), 0);
  /* n close to 2^64 exercises the rejection branch */
  for (int i = 0; i < 1000; i++) assert_true(rng_below(&r, UINT64_MAX - 5) < UINT64_MAX - 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_seed_same_stream),
      cmocka_unit_test(copied_state_resumes),
      cmocka_unit_test(streams_are_independent),
      cmocka_unit_test(uniform_moments),
      cmocka_unit_test(gaussian_moments),
      cmocka_unit_test(below_is_bounded_and_uniform),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
