/* Tests for learner/actors: slots by name (a restarted actor gets its slot back), leases,
 * sequence gaps, takeover of the longest-inactive slot when full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "actors.h"

#define SEC 1000000000ULL

static void slots_by_name(void **state) {
  (void)state;
  actor_table_t *t = actors_new(3, 5 * SEC);
  assert_int_equal(actors_register(t, "host-a/0", WIRE_ROLE_ACTOR, 1, 1 * SEC), 0);
  assert_int_equal(actors_register(t, "host-a/1", WIRE_ROLE_ACTOR, 2, 1 * SEC), 1);
  assert_int_equal(actors_register(t, "eval", WIRE_ROLE_EVALUATOR, 1, 1 * SEC), 2);
  assert_int_equal(actors_register(t, "host-a/0", WIRE_ROLE_ACTOR, 1, 2 * SEC), 0);
  assert_int_equal(actors_register(t, "host-b/0", WIRE_ROLE_ACTOR, 1, 2 * SEC), -1); /* full */
  assert_int_equal(actors_count_active(t, WIRE_ROLE_ACTOR), 2);
  assert_int_equal(actors_count_active(t, 0), 3);
  actor_info_t info[3];
  assert_int_equal(actors_snapshot(t, info, 3), 3);
  assert_string_equal(info[1].name, "host-a/1");
  assert_int_equal(info[1].envs, 2);
  assert_int_equal(info[0].registrations, 2);
  actors_destroy(&t);
  assert_null(t);
  actors_destroy(&t);
  assert_null(actors_new(0, SEC));
}

static void leases_expire_and_renew(void **state) {
  (void)state;
  actor_table_t *t = actors_new(2, 5 * SEC);
  actors_register(t, "a", WIRE_ROLE_ACTOR, 1, 0);
  actors_register(t, "b", WIRE_ROLE_ACTOR, 1, 0);
  wire_heartbeat_t hb = {.slot = 1, .env_steps = 500, .policy_version = 3, .blocked_us = 7,
                         .dropped = 2};
  assert_int_equal(actors_heartbeat(t, &hb, 4 * SEC, NULL), 0);
  assert_int_equal(actors_expire(t, 6 * SEC), 1); /* a: silent 6 s; b: 2 s */
  assert_false(actors_active(t, 0));
  assert_true(actors_active(t, 1));
  assert_int_equal(actors_batch(t, 0, 0, 1, 10, 6 * SEC), -1); /* expired slot refused */
  hb.slot = 0;
  assert_int_equal(actors_heartbeat(t, &hb, 6 * SEC, NULL), -1);
  hb.slot = 99;
  assert_int_equal(actors_heartbeat(t, &hb, 6 * SEC, NULL), -1);
  assert_false(actors_active(t, 99));
  /* full, but slot 0 is inactive: a new name takes it over */
  assert_int_equal(actors_register(t, "c", WIRE_ROLE_ACTOR, 1, 7 * SEC), 0);
  actor_info_t info[2];
  actors_snapshot(t, info, 2);
  assert_string_equal(info[0].name, "c");
  assert_int_equal(info[1].env_steps, 500);
  assert_int_equal(info[1].blocked_us, 7);
  actors_destroy(&t);
}

static void batches_and_gaps(void **state) {
  (void)state;
  actor_table_t *t = actors_new(1, 5 * SEC);
  actors_register(t, "a", WIRE_ROLE_ACTOR, 1, 0);
  assert_int_equal(actors_batch(t, 0, 0, 0, 64, SEC), 0);
  assert_int_equal(actors_batch(t, 0, 1, 0, 64, SEC), 0);
  assert_int_equal(actors_batch(t, 0, 4, 2, 64, SEC), 0); /* 2 and 3 lost */
  actor_info_t info;
  actors_snapshot(t, &info, 1);
  assert_int_equal(info.transitions, 192);
  assert_int_equal(info.session_transitions, 192);
  uint64_t accepted = 0;
  wire_heartbeat_t hb = {.slot = 0};
  assert_int_equal(actors_heartbeat(t, &hb, SEC, &accepted), 0);
  assert_int_equal(accepted, 192);
  assert_int_equal(info.batches, 3);
  assert_int_equal(info.seq_gaps, 2);
  assert_int_equal(info.policy_version, 2);
  /* a restarted actor counts from zero again without a gap */
  actors_register(t, "a", WIRE_ROLE_ACTOR, 1, 2 * SEC);
  assert_int_equal(actors_batch(t, 0, 0, 2, 64, 2 * SEC), 0);
  actors_snapshot(t, &info, 1);
  assert_int_equal(info.seq_gaps, 2);
  assert_int_equal(info.session_transitions, 64); /* counted from the new Hello */
  assert_int_equal(info.transitions, 256);
  actors_destroy(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(slots_by_name),
      cmocka_unit_test(leases_expire_and_renew),
      cmocka_unit_test(batches_and_gaps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
