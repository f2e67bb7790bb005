/* Tests for learner/actors: slots by name (a restarted actor gets its slot back), leases
 * (their expiry, and the 128-bit secret a heartbeat or batch must carry), sequence gaps,
 * takeover of the longest-inactive slot when full, who may take a live name (its connection
 * or its lease), idle holders giving way to newcomers, shares of a full table between peer
 * groups, the evaluator cap; and learner/hello_limit (Hellos per connection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "actors.h"
#include "hello_limit.h"

#include <stdio.h>
#include <string.h>

#define SEC 1000000000ULL

/* A Hello from a new connection (no lease, not the holder's connection). */
static int hello(actor_table_t *t, const char *name, wire_role_t role, uint32_t envs,
                 uint64_t now) {
  actors_verdict_t v;
  actors_hello_t h = {.name = name, .role = role, .envs = envs};
  return actors_register(t, &h, now, &v);
}

/* The same, from the connection that holds name's slot. */
static int hello_again(actor_table_t *t, const char *name, uint64_t now) {
  actors_verdict_t v;
  actors_hello_t h = {.name = name, .role = WIRE_ROLE_ACTOR, .envs = 1, .same_connection = 1};
  return actors_register(t, &h, now, &v);
}

static void slots_by_name(void **state) {
  (void)state;
  actor_table_t *t = actors_new(3, 5 * SEC);
  assert_int_equal(hello(t, "host-a/0", WIRE_ROLE_ACTOR, 1, 1 * SEC), 0);
  assert_int_equal(hello(t, "host-a/1", WIRE_ROLE_ACTOR, 2, 1 * SEC), 1);
  assert_int_equal(hello(t, "eval", WIRE_ROLE_EVALUATOR, 1, 1 * SEC), 2);
  assert_int_equal(hello_again(t, "host-a/0", 2 * SEC), 0);
  assert_int_equal(hello(t, "host-b/0", WIRE_ROLE_ACTOR, 1, 2 * SEC), -1); /* full */
  assert_int_equal(actors_find(t, "host-a/1"), 1);
  assert_int_equal(actors_find(t, "host-b/0"), -1);
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
  hello(t, "a", WIRE_ROLE_ACTOR, 1, 0);
  hello(t, "b", WIRE_ROLE_ACTOR, 1, 0);
  wire_lease_t lease_a = actors_renew_lease(t, 0);
  wire_heartbeat_t hb = {.slot = 1, .env_steps = 500, .policy_version = 3, .blocked_us = 7,
                         .dropped = 2, .lease = actors_renew_lease(t, 1)};
  assert_int_equal(actors_heartbeat(t, &hb, 4 * SEC, NULL), 0);
  assert_int_equal(actors_expire(t, 6 * SEC), 1); /* a: silent 6 s; b: 2 s */
  assert_false(actors_active(t, 0));
  assert_true(actors_active(t, 1));
  assert_int_equal(actors_batch(t, 0, 0, 1, 10, 6 * SEC), -1); /* expired slot refused */
  assert_false(actors_lease_ok(t, 0, lease_a));                 /* its lease with it */
  assert_true(wire_lease_is_none(actors_lease(t, 0)));
  hb.slot = 0;
  hb.lease = lease_a;
  assert_int_equal(actors_heartbeat(t, &hb, 6 * SEC, NULL), -1);
  hb.slot = 99;
  assert_int_equal(actors_heartbeat(t, &hb, 6 * SEC, NULL), -1);
  assert_false(actors_active(t, 99));
  /* full, but slot 0 is inactive: a new name takes it over */
  assert_int_equal(hello(t, "c", WIRE_ROLE_ACTOR, 1, 7 * SEC), 0);
  actor_info_t info[2];
  actors_snapshot(t, info, 2);
  assert_string_equal(info[0].name, "c");
  assert_int_equal(info[1].env_steps, 500);
  assert_int_equal(info[1].blocked_us, 7);
  actors_destroy(&t);
}

/* A lease is 128 random bits: each renewal draws both words anew, never all zero; the
 * previous lease stops working; a batch (actors_lease_ok) or heartbeat must carry both words
 * of the current one. */
static void leases_are_128_bit_secrets(void **state) {
  (void)state;
  actor_table_t *t = actors_new(2, 5 * SEC);
  assert_true(wire_lease_is_none(actors_lease(t, 0))); /* never registered */
  assert_int_equal(hello(t, "a", WIRE_ROLE_ACTOR, 1, 0), 0);
  assert_int_equal(hello(t, "b", WIRE_ROLE_ACTOR, 1, 0), 1);
  assert_false(actors_lease_ok(t, 0, (wire_lease_t){0, 0})); /* none is nobody's lease */
  wire_lease_t l[8];
  for (int i = 0; i < 8; i++) {
    l[i] = actors_renew_lease(t, 0);
    /* each word is zero with probability 2^-64: a zero high word means it was not drawn */
    assert_true(l[i].lo != 0 && l[i].hi != 0);
    for (int j = 0; j < i; j++) assert_true(l[i].lo != l[j].lo && l[i].hi != l[j].hi);
  }
  wire_lease_t cur = l[7];
  assert_true(wire_lease_equal(actors_lease(t, 0), cur));
  assert_true(actors_lease_ok(t, 0, cur));
  assert_false(actors_lease_ok(t, 0, l[6])); /* the previous lease stops working */
  assert_false(actors_lease_ok(t, 0, (wire_lease_t){cur.lo, 0}));          /* low word alone */
  assert_false(actors_lease_ok(t, 0, (wire_lease_t){cur.lo, cur.hi ^ 1})); /* wrong high word */
  assert_false(actors_lease_ok(t, 0, (wire_lease_t){cur.lo ^ 1, cur.hi})); /* wrong low word */
  wire_lease_t other = actors_renew_lease(t, 1);
  assert_false(wire_lease_equal(other, cur));
  assert_false(actors_lease_ok(t, 1, cur)); /* another slot's lease */
  assert_true(actors_lease_ok(t, 1, other));
  /* a heartbeat renews the slot only with both words of its lease */
  wire_heartbeat_t hb = {.slot = 0, .lease = {cur.lo, cur.hi ^ 0x8000000000000000ULL}};
  assert_int_equal(actors_heartbeat(t, &hb, SEC, NULL), -1);
  hb.lease = l[0];
  assert_int_equal(actors_heartbeat(t, &hb, SEC, NULL), -1);
  hb.lease = (wire_lease_t){0, 0};
  assert_int_equal(actors_heartbeat(t, &hb, SEC, NULL), -1);
  hb.lease = cur;
  assert_int_equal(actors_heartbeat(t, &hb, SEC, NULL), 0);
  assert_true(wire_lease_is_none(actors_renew_lease(t, 2))); /* beyond the table */
  actors_destroy(&t);
}

static void batches_and_gaps(void **state) {
  (void)state;
  actor_table_t *t = actors_new(1, 5 * SEC);
  hello(t, "a", WIRE_ROLE_ACTOR, 1, 0);
  assert_int_equal(actors_batch(t, 0, 0, 0, 64, SEC), 0);
  assert_int_equal(actors_batch(t, 0, 1, 0, 64, SEC), 0);
  assert_int_equal(actors_batch(t, 0, 4, 2, 64, SEC), 0); /* 2 and 3 lost */
  actor_info_t info;
  actors_snapshot(t, &info, 1);
  assert_int_equal(info.transitions, 192);
  assert_int_equal(info.session_transitions, 192);
  uint64_t accepted = 0;
  wire_heartbeat_t hb = {.slot = 0, .lease = actors_renew_lease(t, 0)};
  assert_int_equal(actors_heartbeat(t, &hb, SEC, &accepted), 0);
  assert_int_equal(accepted, 192);
  assert_int_equal(info.batches, 3);
  assert_int_equal(info.seq_gaps, 2);
  assert_int_equal(info.policy_version, 2);
  /* a restarted actor counts from zero again without a gap */
  hello_again(t, "a", 2 * SEC);
  assert_int_equal(actors_batch(t, 0, 0, 2, 64, 2 * SEC), 0);
  actors_snapshot(t, &info, 1);
  assert_int_equal(info.seq_gaps, 2);
  assert_int_equal(info.session_transitions, 64); /* counted from the new Hello */
  assert_int_equal(info.transitions, 256);
  actors_destroy(&t);
}

/* A live name is its holder's: another connection is refused with the time its lease has
 * left, unless it presents the lease (the holder reconnected); once the lease ends, anyone. */
static void live_names_are_kept(void **state) {
  (void)state;
  actor_table_t *t = actors_new(4, 5 * SEC);
  assert_int_equal(hello(t, "real/0", WIRE_ROLE_ACTOR, 1, 0), 0);
  wire_lease_t lease = actors_renew_lease(t, 0);
  actors_verdict_t v;
  actors_hello_t h = {.name = "real/0", .role = WIRE_ROLE_ACTOR, .envs = 1};
  assert_int_equal(actors_register(t, &h, 2 * SEC, &v), -1);
  assert_int_equal(v.refusal, ACTORS_NAME_IN_USE);
  assert_int_equal(v.retry_after_ns, 3 * SEC);
  h.lease = (wire_lease_t){lease.lo + 1, lease.hi}; /* a guess */
  assert_int_equal(actors_register(t, &h, 2 * SEC, &v), -1);
  h.lease = (wire_lease_t){lease.lo, lease.hi ^ 1}; /* the low word alone */
  assert_int_equal(actors_register(t, &h, 2 * SEC, &v), -1);
  h.lease = lease;
  assert_int_equal(actors_register(t, &h, 2 * SEC, &v), 0);
  assert_int_equal(v.refusal, ACTORS_OK);
  /* with CURVE the lease counts only from the key that holds the slot */
  actor_table_t *k = actors_new(2, 5 * SEC);
  actors_hello_t a = {.name = "n", .role = WIRE_ROLE_ACTOR, .envs = 1, .owner = "host-a"};
  assert_int_equal(actors_register(k, &a, 0, &v), 0);
  actors_hello_t b = a;
  b.owner = "host-b";
  b.lease = actors_renew_lease(k, 0);
  assert_int_equal(actors_register(k, &b, SEC, &v), -1);
  actor_info_t info;
  actors_snapshot(k, &info, 1);
  assert_string_equal(info.owner, "host-a");
  actors_expire(k, 7 * SEC);
  assert_int_equal(actors_register(k, &b, 7 * SEC, &v), 0); /* lease over: anyone */
  actors_snapshot(k, &info, 1);
  assert_string_equal(info.owner, "host-b");
  actors_destroy(&k);
  actors_destroy(&t);
}

/* Slots held by names that only heartbeat give way to a newcomer once idle; an actor that
 * delivers keeps its slot, and time the rate limiter holds the data back does not count. */
static void idle_holders_give_way(void **state) {
  (void)state;
  actor_table_t *t = actors_new(2, 5 * SEC);
  actors_configure(t, &(actors_policy_t){.idle_ns = 10 * SEC});
  hello(t, "squat/0", WIRE_ROLE_ACTOR, 1, 0);
  hello(t, "squat/1", WIRE_ROLE_ACTOR, 1, 0);
  wire_lease_t squat[2] = {actors_renew_lease(t, 0), actors_renew_lease(t, 1)};
  wire_heartbeat_t hb = {0};
  actors_verdict_t v;
  actors_hello_t h = {.name = "real/0", .role = WIRE_ROLE_ACTOR, .envs = 1};
  for (uint64_t s = 0; s <= 20; s++) {
    actors_tick(t, s * SEC, 0, s < 15); /* paced (data held back) for the first 15 s */
    for (hb.slot = 0; hb.slot < 2; hb.slot++) {
      hb.lease = squat[hb.slot];
      assert_int_equal(actors_heartbeat(t, &hb, s * SEC, NULL), 0);
    }
    if (s == 12) { /* 12 s of heartbeats, none of them unpaced: nobody is idle */
      assert_int_equal(actors_register(t, &h, s * SEC, &v), -1);
      assert_int_equal(v.refusal, ACTORS_FULL);
      assert_true(v.retry_after_ns > 0 && v.retry_after_ns <= 5 * SEC);
    }
  }
  assert_int_equal(actors_register(t, &h, 26 * SEC, &v), -1); /* 5 s unpaced of 10 */
  for (uint64_t s = 21; s <= 26; s++) {
    actors_tick(t, s * SEC, 0, 0);
    for (hb.slot = 0; hb.slot < 2; hb.slot++) {
      hb.lease = squat[hb.slot];
      assert_int_equal(actors_heartbeat(t, &hb, s * SEC, NULL), 0);
    }
  }
  int slot = actors_register(t, &h, 26 * SEC, &v);
  assert_true(slot == 0 || slot == 1);
  assert_int_equal(v.preempted, 1);
  assert_true(v.preempted_name[0] == 's');
  /* the newcomer delivers; the next squatter takes the other squatter's slot, not its */
  assert_int_equal(actors_batch(t, (uint32_t)slot, 0, 0, 32, 27 * SEC), 0);
  actors_tick(t, 27 * SEC, 0, 0);
  actors_hello_t s2 = {.name = "squat/2", .role = WIRE_ROLE_ACTOR, .envs = 1};
  assert_int_equal(actors_register(t, &s2, 27 * SEC, &v), 1 - slot);
  assert_int_equal(actors_find(t, "real/0"), slot);
  assert_true(actors_active(t, (uint32_t)slot));
  actors_destroy(&t);
}

/* A Hello from a new connection of share group g (a peer address or a CURVE key). */
static int hello_from(actor_table_t *t, const char *name, const char *g, uint64_t now,
                      actors_verdict_t *v) {
  actors_hello_t h = {.name = name, .role = WIRE_ROLE_ACTOR, .envs = 1, .group = g};
  return actors_register(t, &h, now, v);
}

/* A full table shared between groups: a group that floods names gets its share of the slots
 * that fall idle, not all of them. */
static void groups_share_a_full_table(void **state) {
  (void)state;
  actor_table_t *t = actors_new(4, 5 * SEC);
  actors_configure(t, &(actors_policy_t){.idle_ns = 10 * SEC});
  actors_verdict_t v;
  char name[32];
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "flood/%d", i);
    assert_int_equal(hello_from(t, name, "10.0.0.2", 0, &v), i);
  }
  /* nobody idle: the newcomer of another group is refused, and waits */
  assert_int_equal(hello_from(t, "real/0", "10.0.0.1", SEC, &v), -1);
  assert_int_equal(v.refusal, ACTORS_FULL);
  assert_int_equal(v.over_share, 0);
  wire_heartbeat_t hb = {0};
  for (uint64_t s = 1; s <= 11; s++) {
    actors_tick(t, s * SEC, 0, 0);
    for (hb.slot = 0; hb.slot < 4; hb.slot++) actors_heartbeat(t, &hb, s * SEC, NULL);
  }
  /* every flood holder is idle now; the flood's group holds 4 of a share of 2 (2 groups):
   * its newcomers are refused, the waiting group's take idle slots up to its share */
  assert_int_equal(hello_from(t, "flood/9", "10.0.0.2", 11 * SEC, &v), -1);
  assert_int_equal(v.refusal, ACTORS_FULL);
  assert_int_equal(v.over_share, 1);
  assert_int_equal(v.share, 2);
  int a = hello_from(t, "real/0", "10.0.0.1", 11 * SEC, &v);
  assert_true(a >= 0 && v.preempted);
  int b = hello_from(t, "real/1", "10.0.0.1", 11 * SEC, &v);
  assert_true(b >= 0 && b != a && v.preempted);
  assert_int_equal(hello_from(t, "real/2", "10.0.0.1", 11 * SEC, &v), -1);
  assert_int_equal(v.over_share, 1);
  assert_int_equal(hello_from(t, "flood/10", "10.0.0.2", 11 * SEC, &v), -1);
  assert_int_equal(v.over_share, 1);
  /* a third group: shares of ceil(4 / 3) = 2; the flood holds 2, the third group none */
  int c = hello_from(t, "other/0", "10.0.0.3", 11 * SEC, &v);
  assert_true(c >= 0 && c != a && c != b && v.preempted);
  assert_true(strncmp(v.preempted_name, "flood/", 6) == 0);
  /* the waiting groups age out of the shares: past the window the flood's group is the only
   * one besides the holders', and takes idle slots again */
  actors_destroy(&t);
  t = actors_new(2, 5 * SEC);
  actors_configure(t, &(actors_policy_t){.idle_ns = 10 * SEC});
  assert_int_equal(hello_from(t, "flood/0", "10.0.0.2", 0, &v), 0);
  assert_int_equal(hello_from(t, "flood/1", "10.0.0.2", 0, &v), 1);
  assert_int_equal(hello_from(t, "real/0", "10.0.0.1", SEC, &v), -1);
  uint64_t later = SEC + ACTORS_REQUEST_WINDOW_NS + SEC;
  for (uint64_t s = 1; s * SEC <= later; s++) {
    actors_tick(t, s * SEC, 0, 0);
    for (hb.slot = 0; hb.slot < 2; hb.slot++) actors_heartbeat(t, &hb, s * SEC, NULL);
  }
  assert_true(hello_from(t, "flood/2", "10.0.0.2", later, &v) >= 0);
  actors_destroy(&t);
}

/* At most max_evaluators evaluators; one without reports while the run advanced gives way. */
static void evaluators_are_capped(void **state) {
  (void)state;
  actor_table_t *t = actors_new(8, 5 * SEC);
  actors_configure(t, &(actors_policy_t){.max_evaluators = 1, .eval_idle_steps = 1000});
  assert_int_equal(hello(t, "eval-a", WIRE_ROLE_EVALUATOR, 1, 0), 0);
  actors_verdict_t v;
  actors_hello_t h = {.name = "eval-b", .role = WIRE_ROLE_EVALUATOR, .envs = 1};
  assert_int_equal(actors_register(t, &h, SEC, &v), -1);
  assert_int_equal(v.refusal, ACTORS_EVALUATORS_FULL);
  actors_tick(t, 2 * SEC, 900, 0);
  actors_evaluated(t, 0, 900);
  actors_tick(t, 3 * SEC, 1800, 0); /* 900 steps since its report */
  assert_int_equal(actors_register(t, &h, 3 * SEC, &v), -1);
  actors_tick(t, 4 * SEC, 2000, 0); /* 1100 */
  assert_int_equal(actors_register(t, &h, 4 * SEC, &v), 0);
  assert_int_equal(v.preempted, 1);
  assert_string_equal(v.preempted_name, "eval-a");
  assert_int_equal(actors_count_active(t, WIRE_ROLE_EVALUATOR), 1);
  actors_destroy(&t);
}

static void hellos_per_connection(void **state) {
  (void)state;
  static hello_limit_t hl;
  hello_limit_init(&hl, 2.0, 4.0);
  const char a[] = "\0\x80\0\0\x01", b[] = "\0\x80\0\0\x02";
  int allowed = 0;
  for (int i = 0; i < 100; i++) allowed += hello_limit_allow(&hl, a, 5, SEC); /* a flood */
  assert_int_equal(allowed, 4);
  assert_true(hello_limit_allow(&hl, b, 5, SEC)); /* another connection is not held back */
  assert_false(hello_limit_allow(&hl, a, 5, SEC + SEC / 4));
  assert_true(hello_limit_allow(&hl, a, 5, SEC + SEC / 2)); /* 2 a second */
  /* a real actor's back-off (0.25, 0.5, 1, 2, 4 s) never meets the cap */
  uint64_t at = 10 * SEC, gap = SEC / 4;
  for (int i = 0; i < 12; i++, at += gap, gap = gap * 2 > 4 * SEC ? 4 * SEC : gap * 2)
    assert_true(hello_limit_allow(&hl, b, 5, at));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(slots_by_name),
      cmocka_unit_test(leases_expire_and_renew),
      cmocka_unit_test(leases_are_128_bit_secrets),
      cmocka_unit_test(batches_and_gaps),
      cmocka_unit_test(live_names_are_kept),
      cmocka_unit_test(idle_holders_give_way),
      cmocka_unit_test(groups_share_a_full_table),
      cmocka_unit_test(evaluators_are_capped),
      cmocka_unit_test(hellos_per_connection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
