/* Tests for learner/weights_subs: one entry per routing id, refreshed by each subscribe frame,
 * expired after the TTL, removed on demand; a full table refuses new ids and keeps serving
 * the ones it holds; ids outside 1..255 bytes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "weights_subs.h"

#include <stdio.h>
#include <string.h>

static int holds(const weights_subs_t *t, const void *id, size_t len) {
  for (uint32_t i = 0; i < weights_subs_count(t); i++) {
    size_t n;
    const uint8_t *p = weights_subs_id(t, i, &n);
    if (n == len && memcmp(p, id, len) == 0) return 1;
  }
  return 0;
}

static void one_entry_per_id(void **state) {
  (void)state;
  weights_subs_t *t = weights_subs_new(4, 0);
  assert_non_null(t);
  assert_int_equal(weights_subs_cap(t), 4);
  assert_int_equal(weights_subs_touch(t, "\0abcd", 5, "127.0.0.1", 100), 0);
  assert_int_equal(weights_subs_touch(t, "\0abcd", 5, "127.0.0.1", 200), 0);
  assert_int_equal(weights_subs_touch(t, "\0abce", 5, "127.0.0.1", 200), 0);
  assert_int_equal(weights_subs_touch(t, "\0abc", 4, "127.0.0.1", 200), 0); /* a prefix is another id */
  assert_int_equal(weights_subs_count(t), 3);
  assert_true(holds(t, "\0abcd", 5) && holds(t, "\0abce", 5) && holds(t, "\0abc", 4));
  weights_subs_destroy(&t);
  assert_null(t);
  weights_subs_destroy(&t); /* twice is fine */
  assert_null(weights_subs_new(0, 0));
}

static void full_table_refuses_new_ids(void **state) {
  (void)state;
  weights_subs_t *t = weights_subs_new(3, 0);
  char id[8];
  for (int i = 0; i < 3; i++) {
    snprintf(id, sizeof id, "id%d", i);
    assert_int_equal(weights_subs_touch(t, id, strlen(id), "127.0.0.1", 10), 0);
  }
  for (int i = 3; i < 1000; i++) {
    snprintf(id, sizeof id, "id%d", i);
    assert_int_equal(weights_subs_touch(t, id, strlen(id), "127.0.0.1", 10), -1);
  }
  assert_int_equal(weights_subs_count(t), 3);
  assert_int_equal(weights_subs_touch(t, "id1", 3, "127.0.0.1", 20), 0); /* a known id is still refreshed */
  assert_int_equal(weights_subs_count(t), 3);
  assert_false(holds(t, "id3", 3));
  weights_subs_destroy(&t);
}

static void bad_ids_refused(void **state) {
  (void)state;
  weights_subs_t *t = weights_subs_new(2, 0);
  uint8_t big[WEIGHTS_SUBS_ID_MAX + 1];
  memset(big, 7, sizeof big);
  assert_int_equal(weights_subs_touch(t, big, 0, "127.0.0.1", 1), -1);
  assert_int_equal(weights_subs_touch(t, big, sizeof big, "127.0.0.1", 1), -1);
  assert_int_equal(weights_subs_count(t), 0);
  assert_int_equal(weights_subs_touch(t, big, WEIGHTS_SUBS_ID_MAX, "127.0.0.1", 1), 0);
  assert_true(holds(t, big, WEIGHTS_SUBS_ID_MAX));
  weights_subs_destroy(&t);
}

static void expiry_and_removal(void **state) {
  (void)state;
  weights_subs_t *t = weights_subs_new(8, 0);
  const uint64_t s = 1000000000ull;
  weights_subs_touch(t, "a", 1, "127.0.0.1", 1 * s);
  weights_subs_touch(t, "b", 1, "127.0.0.1", 2 * s);
  weights_subs_touch(t, "c", 1, "127.0.0.1", 3 * s);
  weights_subs_touch(t, "a", 1, "127.0.0.1", 4 * s); /* refreshed: outlives b */
  assert_int_equal(weights_subs_expire(t, 6 * s, 5 * s), 0);
  assert_int_equal(weights_subs_expire(t, 7 * s + 1, 5 * s), 1); /* b: 5 s and 1 ns */
  assert_int_equal(weights_subs_count(t), 2);
  assert_false(holds(t, "b", 1));
  assert_true(holds(t, "a", 1) && holds(t, "c", 1));
  /* a clock reading before an entry's time (not monotonic across threads) keeps it */
  assert_int_equal(weights_subs_expire(t, 0, 5 * s), 0);
  for (uint32_t i = 0; i < weights_subs_count(t);) {
    size_t n;
    const uint8_t *p = weights_subs_id(t, i, &n);
    if (p[0] == 'a')
      weights_subs_remove(t, i); /* the last entry moves into i: look at i again */
    else
      i++;
  }
  assert_int_equal(weights_subs_count(t), 1);
  assert_true(holds(t, "c", 1));
  weights_subs_remove(t, 5); /* out of range: nothing */
  assert_int_equal(weights_subs_count(t), 1);
  /* the freed entries take new ids */
  for (int i = 0; i < 7; i++) {
    char id[4] = {'n', (char)('0' + i), 0, 0};
    assert_int_equal(weights_subs_touch(t, id, 2, "127.0.0.1", 8 * s), 0);
  }
  assert_int_equal(weights_subs_touch(t, "z", 1, "127.0.0.1", 8 * s), -1);
  assert_int_equal(weights_subs_expire(t, 20 * s, 5 * s), 8);
  assert_int_equal(weights_subs_count(t), 0);
  weights_subs_destroy(&t);
}

/* Peers at one address hold at most per_address entries: others still find room. */
static void one_address_holds_its_share(void **state) {
  (void)state;
  weights_subs_t *t = weights_subs_new(6, 3);
  for (int i = 0; i < 5; i++) {
    char id[3] = {'f', (char)('0' + i), 0};
    assert_int_equal(weights_subs_touch(t, id, 2, "127.0.0.2", 1), i < 3 ? 0 : -1);
  }
  assert_int_equal(weights_subs_touch(t, "f0", 2, "127.0.0.2", 2), 0); /* refreshed */
  assert_int_equal(weights_subs_touch(t, "a0", 2, "127.0.0.1", 2), 0);
  assert_int_equal(weights_subs_touch(t, "a1", 2, "127.0.0.1", 2), 0);
  assert_int_equal(weights_subs_touch(t, "a2", 2, "127.0.0.1", 2), 0);
  assert_int_equal(weights_subs_touch(t, "a3", 2, "127.0.0.1", 2), -1);
  assert_int_equal(weights_subs_touch(t, "n0", 2, NULL, 2), -1); /* full */
  assert_int_equal(weights_subs_count(t), 6);
  weights_subs_destroy(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_entry_per_id),
      cmocka_unit_test(full_table_refuses_new_ids),
      cmocka_unit_test(bad_ids_refused),
      cmocka_unit_test(expiry_and_removal),
      cmocka_unit_test(one_address_holds_its_share),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
