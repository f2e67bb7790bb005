/* Tests for learner/ratelimit: the trainer's allowance and ingest's admission hold the
 * update/transition ratio, and a simulated learner-and-actors system never deadlocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"
#include "rng.h"

#include <string.h>

static void allowance(void **state) {
  (void)state;
  ratelimit_t rl = {1.0, 1000, 500};
  assert_int_equal(ratelimit_updates_allowed(&rl, 999, 0), 0);
  assert_int_equal(ratelimit_updates_allowed(&rl, 1000, 0), 0);
  assert_int_equal(ratelimit_updates_allowed(&rl, 1010, 0), 10);
  assert_int_equal(ratelimit_updates_allowed(&rl, 1010, 10), 0);
  assert_int_equal(ratelimit_updates_allowed(&rl, 1010, 12), 0);
  ratelimit_t half = {0.5, 0, 100};
  assert_int_equal(ratelimit_updates_allowed(&half, 101, 0), 50);
  assert_int_equal(ratelimit_state(&rl, 10, 0, 0), RL_COLLECTING);
  assert_int_equal(ratelimit_state(&rl, 1010, 10, 0), RL_WAIT_DATA);
  assert_int_equal(ratelimit_state(&rl, 1010, 5, 0), RL_BALANCED);
  assert_int_equal(ratelimit_state(&rl, 1600, 0, 64), RL_WAIT_TRAINER);
  assert_string_equal(ratelimit_state_name(RL_WAIT_TRAINER), "waiting_for_trainer");
}

static void admission(void **state) {
  (void)state;
  ratelimit_t rl = {1.0, 1000, 500};
  assert_true(ratelimit_accept(&rl, 0, 0, 100000)); /* before start, and caught up */
  assert_true(ratelimit_accept(&rl, 900, 0, 600));  /* crosses start: backlog 500 */
  assert_false(ratelimit_accept(&rl, 1400, 0, 200)); /* backlog 400 -> 600 */
  assert_true(ratelimit_accept(&rl, 1400, 100, 200)); /* backlog 300 -> 500 */
  /* a batch bigger than max_lead gets in when training has caught up */
  assert_true(ratelimit_accept(&rl, 2000, 1000, 5000));
  assert_false(ratelimit_accept(&rl, 2000, 999, 5000));
  /* one update per 1000 transitions with the data at most 1000 ahead: 992 ahead and no
   * update owed yet, so the next batch must get in (the trainer waits for it) */
  ratelimit_t low = {0.001, 200, 1000};
  assert_int_equal(ratelimit_updates_allowed(&low, 200 + 992, 0), 0);
  assert_true(ratelimit_accept(&low, 200 + 992, 0, 32));
  assert_int_equal(ratelimit_updates_allowed(&low, 200 + 1024, 0), 1);
  assert_false(ratelimit_accept(&low, 200 + 1024, 0, 32)); /* now the trainer owes one */
  assert_true(ratelimit_accept(&low, 200 + 1024, 1, 32));
  ratelimit_t off = {0.0, 0, 10};
  assert_true(ratelimit_accept(&off, 1000000, 0, 1000));
  assert_int_equal(ratelimit_updates_allowed(&off, 1000000, 0), 0);
}

/* Simulates actors producing batches as fast as admission allows and a trainer with a
 * random speed; checks the final ratio and that no step gets stuck. */
static void simulated_run_holds_ratio(void **state) {
  (void)state;
  const double ratios[] = {1.0, 0.25, 4.0};
  for (size_t k = 0; k < 3; k++) {
    ratelimit_t rl = {ratios[k], 1000, 256};
    rng_t r;
    rng_init(&r, k, 0);
    uint64_t inserted = 0, updates = 0;
    const uint64_t budget = 50000;
    while (inserted < budget) {
      /* no deadlock: either the actors may insert or the trainer may update */
      assert_true(ratelimit_accept(&rl, inserted, updates, 64) ||
                  ratelimit_updates_allowed(&rl, inserted, updates) > 0);
      /* 4 actors, batches of 64 */
      for (int a = 0; a < 4; a++)
        if (inserted < budget && ratelimit_accept(&rl, inserted, updates, 64)) inserted += 64;
      /* the trainer does 0..3 updates per tick, within its allowance */
      uint64_t want = rng_below(&r, 4), can = ratelimit_updates_allowed(&rl, inserted, updates);
      uint64_t did = want < can ? want : can;
      updates += did;
      /* the backlog never exceeds max_lead plus one batch */
      assert_true((double)(inserted - (inserted > rl.start ? rl.start : inserted)) -
                      (double)updates / rl.ratio <= (double)rl.max_lead + 64.0);
    }
    /* drain: the learner finishes what it owes before stopping */
    updates += ratelimit_updates_allowed(&rl, inserted, updates);
    double ratio = (double)updates / (double)(inserted - rl.start);
    assert_true(ratio > ratios[k] * 0.99 && ratio < ratios[k] * 1.01);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(allowance),
      cmocka_unit_test(admission),
      cmocka_unit_test(simulated_run_holds_ratio),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
