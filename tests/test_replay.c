/* Tests for learner/replay: ring overwrite order, sizes, sampling uniformity, row integrity
 * (a sampled row's columns belong to one transition) and dropping the rows inserted since a
 * checkpoint (a rollback); inserting a range of a batch's rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "replay.h"

#include <math.h>
#include <stdlib.h>

enum { OBS = 3, ACT = 2 };

/* Transition i has obs = (i, i, i), action = (-i, -i), reward i, next_obs i + 0.5,
 * terminal i % 2. Fills b with transitions first .. first + n - 1 (n <= b->cap). */
static void make_rows(size_t first, size_t n, transition_batch_t *b) {
  for (size_t k = 0; k < n; k++) {
    float v = (float)(first + k);
    size_t row = k;
    for (int j = 0; j < OBS; j++) {
      b->obs[row * OBS + (size_t)j] = v;
      b->next_obs[row * OBS + (size_t)j] = v + 0.5f;
    }
    for (int j = 0; j < ACT; j++) b->action[row * ACT + (size_t)j] = -v;
    b->reward[row] = v;
    b->terminal[row] = (float)((first + k) % 2);
  }
  b->n = (uint32_t)n;
}

static void insert_range(replay_t *r, size_t first, size_t n) {
  transition_batch_t b;
  transition_batch_alloc(&b, (uint32_t)n, OBS, ACT);
  make_rows(first, n, &b);
  replay_insert(r, &b, 0, (uint32_t)n);
  transition_batch_free(&b);
}

static void check_row(const transition_batch_t *b, size_t i) {
  float v = b->reward[i];
  for (int j = 0; j < OBS; j++) {
    assert_true(b->obs[i * OBS + (size_t)j] == v);
    assert_true(b->next_obs[i * OBS + (size_t)j] == v + 0.5f);
  }
  for (int j = 0; j < ACT; j++) assert_true(b->action[i * ACT + (size_t)j] == -v);
  assert_true(b->terminal[i] == (float)((size_t)v % 2));
}

static void sizes_and_bytes(void **state) {
  (void)state;
  assert_int_equal(replay_bytes(1000000, 17, 6), 1000000ull * (2 * 17 + 6 + 2) * 4);
  assert_int_equal(replay_bytes(SIZE_MAX / 2, 17, 6), 0);
  assert_null(replay_new(0, 3, 1));
  assert_null(replay_new(10, 0, 1));
  assert_null(replay_new(SIZE_MAX / 8, 17, 6));
  replay_t *r = replay_new(100, OBS, ACT);
  assert_non_null(r);
  assert_int_equal(replay_size(r), 0);
  assert_int_equal(replay_capacity(r), 100);
  insert_range(r, 0, 30);
  assert_int_equal(replay_size(r), 30);
  insert_range(r, 30, 100);
  assert_int_equal(replay_size(r), 100);
  assert_int_equal(replay_inserted(r), 130);
  replay_destroy(&r);
  assert_null(r);
  replay_destroy(&r);
}

static void fifo_overwrite_keeps_newest(void **state) {
  (void)state;
  replay_t *r = replay_new(50, OBS, ACT);
  insert_range(r, 0, 37);
  insert_range(r, 37, 40);  /* wraps */
  insert_range(r, 77, 120); /* more than capacity in one call: only the last 50 stay */
  transition_batch_t b;
  transition_batch_alloc(&b, 4000, OBS, ACT);
  rng_t rng;
  rng_init(&rng, 1, 0);
  replay_sample(r, &rng, 4000, &b);
  int seen[50] = {0};
  for (size_t i = 0; i < 4000; i++) {
    check_row(&b, i);
    float v = b.reward[i];
    assert_true(v >= 147.0f && v <= 196.0f); /* rows 147..196 are the newest 50 */
    seen[(int)v - 147] = 1;
  }
  for (int k = 0; k < 50; k++) assert_true(seen[k]);
  transition_batch_free(&b);
  replay_destroy(&r);
}

static void sampling_is_uniform(void **state) {
  (void)state;
  enum { CAP = 20, DRAWS = 200000 };
  replay_t *r = replay_new(CAP, OBS, ACT);
  insert_range(r, 0, CAP);
  transition_batch_t b;
  transition_batch_alloc(&b, DRAWS, OBS, ACT);
  rng_t rng;
  rng_init(&rng, 77, 0);
  replay_sample(r, &rng, DRAWS, &b);
  int counts[CAP] = {0};
  for (size_t i = 0; i < DRAWS; i++) {
    check_row(&b, i);
    counts[(int)b.reward[i]]++;
  }
  /* chi-square, 19 degrees of freedom: 99.99th percentile is about 49.5 */
  double chi = 0, expect = (double)DRAWS / CAP;
  for (int k = 0; k < CAP; k++) chi += (counts[k] - expect) * (counts[k] - expect) / expect;
  assert_true(chi < 49.5);
  /* the same stream gives the same sample */
  transition_batch_t c;
  transition_batch_alloc(&c, 100, OBS, ACT);
  rng_init(&rng, 5, 0);
  replay_sample(r, &rng, 100, &b);
  rng_init(&rng, 5, 0);
  replay_sample(r, &rng, 100, &c);
  assert_memory_equal(b.reward, c.reward, 100 * sizeof(float));
  transition_batch_free(&c);
  transition_batch_free(&b);
  replay_destroy(&r);
}

/* A rollback drops the rows inserted after its checkpoint: sampling never draws them again,
 * the older rows stay (those the new ones overwrote are gone), the inserted count stays. */
static void drop_since_checkpoint(void **state) {
  (void)state;
  replay_t *r = replay_new(50, OBS, ACT);
  insert_range(r, 0, 40);
  uint64_t at_checkpoint = replay_inserted(r); /* 40 */
  insert_range(r, 40, 20);                     /* rows 40..59: wraps over rows 0..9 */
  assert_int_equal(replay_drop_since(r, at_checkpoint), 20);
  assert_int_equal(replay_size(r), 30);        /* rows 10..39 */
  assert_int_equal(replay_inserted(r), 60);
  transition_batch_t b;
  transition_batch_alloc(&b, 3000, OBS, ACT);
  rng_t rng;
  rng_init(&rng, 3, 0);
  replay_sample(r, &rng, 3000, &b);
  for (size_t i = 0; i < 3000; i++) {
    check_row(&b, i);
    assert_true(b.reward[i] >= 10.0f && b.reward[i] <= 39.0f);
  }
  /* inserts go on after the dropped rows' place */
  insert_range(r, 100, 5);
  assert_int_equal(replay_size(r), 35);
  replay_sample(r, &rng, 3000, &b);
  int newest = 0;
  for (size_t i = 0; i < 3000; i++) {
    check_row(&b, i);
    float v = b.reward[i];
    assert_true((v >= 10.0f && v <= 39.0f) || (v >= 100.0f && v <= 104.0f));
    newest += v >= 100.0f;
  }
  assert_true(newest > 0);
  /* more dropped than stored: empty; nothing newer: nothing dropped */
  assert_int_equal(replay_drop_since(r, 0), 35);
  assert_int_equal(replay_size(r), 0);
  assert_int_equal(replay_drop_since(r, replay_inserted(r)), 0);
  insert_range(r, 200, 3);
  assert_int_equal(replay_size(r), 3);
  transition_batch_free(&b);
  replay_destroy(&r);
}

/* An insert takes a range of a batch's rows (the learner inserts the runs of rows that passed
 * its bounds check): exactly those rows, in order, and a sample says how many it holds. */
static void insert_takes_a_row_range(void **state) {
  (void)state;
  replay_t *r = replay_new(10, OBS, ACT);
  transition_batch_t in;
  transition_batch_alloc(&in, 8, OBS, ACT);
  make_rows(500, 8, &in); /* transitions 500..507 */
  replay_insert(r, &in, 2, 3); /* 502, 503, 504 */
  replay_insert(r, &in, 7, 1); /* 507 */
  assert_int_equal(replay_size(r), 4);
  assert_int_equal(replay_inserted(r), 4);
  transition_batch_t b;
  transition_batch_alloc(&b, 400, OBS, ACT);
  rng_t rng;
  rng_init(&rng, 9, 0);
  replay_sample(r, &rng, 400, &b);
  assert_int_equal(b.n, 400);
  int seen[8] = {0};
  for (size_t i = 0; i < 400; i++) {
    check_row(&b, i);
    int v = (int)b.reward[i] - 500;
    assert_true(v == 2 || v == 3 || v == 4 || v == 7);
    seen[v] = 1;
  }
  assert_true(seen[2] && seen[3] && seen[4] && seen[7]);
  replay_sample(r, &rng, 5, &b);
  assert_int_equal(b.n, 5);
  transition_batch_free(&b);
  transition_batch_free(&in);
  replay_destroy(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sizes_and_bytes),
      cmocka_unit_test(fifo_overwrite_keeps_newest),
      cmocka_unit_test(sampling_is_uniform),
      cmocka_unit_test(drop_since_checkpoint),
      cmocka_unit_test(insert_takes_a_row_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
