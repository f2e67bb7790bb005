/* Tests for learner/loss_watch: a critic loss that jumps by orders of magnitude (poisoned
 * rewards) raises the alarm within a few dozen updates and clears when the loss comes back; a
 * noisy steady loss, single outliers, a slow legitimate rise, and a loss that starts near 0
 * and grows a thousandfold (MountainCar's first goal) never do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loss_watch.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>

/* A loss around level, multiplied by a log-normal factor of about +-40%. */
static double noisy(rng_t *r, double level) { return level * exp(0.35 * rng_normal(r)); }

static void explosion_raised_and_cleared(void **state) {
  (void)state;
  loss_watch_t w;
  loss_watch_init(&w);
  assert_true(isnan(loss_watch_recent(&w)));
  rng_t r;
  rng_init(&r, 1, 0);
  for (int i = 0; i < 2000; i++) assert_int_equal(loss_watch_add(&w, noisy(&r, 5.0)), 0);
  assert_false(w.exploded);
  assert_true(loss_watch_recent(&w) > 4.0 && loss_watch_recent(&w) < 6.0);
  /* poisoned rewards: 5 -> 2e11 (the attack) */
  int at = -1;
  for (int i = 0; i < 200 && at < 0; i++)
    if (loss_watch_add(&w, noisy(&r, 2e11))) at = i;
  printf("raised after %d updates; latest %.3g, recent %.3g\n", at + 1, loss_watch_latest(&w),
         loss_watch_recent(&w));
  assert_true(at >= 0 && at < 10);
  assert_true(w.exploded);
  assert_int_equal(w.explosions, 1);
  /* the recent level stays what it was before the explosion, however long it lasts */
  for (int i = 0; i < 5000; i++) loss_watch_add(&w, noisy(&r, 2e11));
  assert_true(w.exploded);
  assert_true(loss_watch_recent(&w) < 10.0);
  /* back to normal (a rollback, the poisoned rows gone): cleared */
  int cleared = -1;
  for (int i = 0; i < 500 && cleared < 0; i++)
    if (loss_watch_add(&w, noisy(&r, 5.0))) cleared = i;
  assert_true(cleared >= 0);
  assert_false(w.exploded);
  /* non-finite and negative losses are ignored */
  uint64_t n = w.n;
  assert_int_equal(loss_watch_add(&w, NAN), 0);
  assert_int_equal(loss_watch_add(&w, INFINITY), 0);
  assert_int_equal(loss_watch_add(&w, -1.0), 0);
  assert_int_equal(w.n, n);
}

static void legitimate_changes_raise_nothing(void **state) {
  (void)state;
  rng_t r;
  rng_init(&r, 2, 0);
  loss_watch_t w;
  /* single outliers 1e6 times the level, one in 50 updates */
  loss_watch_init(&w);
  for (int i = 0; i < 5000; i++) loss_watch_add(&w, i % 50 == 49 ? 5e6 : noisy(&r, 5.0));
  assert_int_equal(w.explosions, 0);
  /* a steady rise: x1000 over 20000 updates (Q values growing as the policy improves) */
  loss_watch_init(&w);
  for (int i = 0; i < 20000; i++) loss_watch_add(&w, noisy(&r, 0.1 * pow(1000.0, i / 20000.0)));
  assert_int_equal(w.explosions, 0);
  /* a loss near 0 for a long time, then the first goal's reward: 1e-4 -> 50 at once */
  loss_watch_init(&w);
  for (int i = 0; i < 3000; i++) loss_watch_add(&w, noisy(&r, 1e-4));
  for (int i = 0; i < 3000; i++) loss_watch_add(&w, noisy(&r, 50.0));
  assert_int_equal(w.explosions, 0);
  /* an explosion in the first updates is not judged before the warm-up */
  loss_watch_init(&w);
  for (int i = 0; i < LOSS_WATCH_WARMUP - 10; i++) loss_watch_add(&w, i < 5 ? 5.0 : 5e9);
  assert_int_equal(w.explosions, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(explosion_raised_and_cleared),
      cmocka_unit_test(legitimate_changes_raise_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
