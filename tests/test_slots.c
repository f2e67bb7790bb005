/* Who holds the slots of a live learner on loopback (ports 29770-29789, 23330-23335): strangers
 * that know an actor's name, flood Hellos or heartbeat for slots they do not hold, against a
 * real actor training Pendulum.
 *  1. A Hello with a working actor's name from another connection is refused (NAME_IN_USE,
 *     with the time its lease has left) and the actor keeps its slot; before, the stranger
 *     took the slot and the actor's batches stopped counting.
 *  2. 50 names from another address (127.0.0.2) hold every slot (--max-actors 4) and
 *     heartbeat without sending experience, saying Hello again (each on its own connection)
 *     whenever they lose a slot: a real actor and evaluator that come later still get in
 *     (idle holders give way to a newcomer, the flood's address gets at most its share of
 *     the slots while others wait, and its Hellos are capped per address) and the run
 *     reaches its target return while the flood goes on. Before, the real actor was kept out
 *     for as long as the flood heartbeated; with idle holders giving way but no shares or
 *     address cap, the flood won almost every slot that fell idle (the real actor held one
 *     after 128-142 s and the evaluator barely any: the target was reached only by the
 *     learner's final evaluation at the budget).
 *  3. 100 Hellos over one connection at once: 4 are answered, the rest dropped and counted.
 *  4. Heartbeats for a slot another connection holds (with the slot's lease), for a slot
 *     beyond the table, of another run, for a slot whose lease ran out, and from the
 *     connection that holds the slot but with the lease from before the slot was registered
 *     again or with a wrong high word: each answered with a refusal and counted
 *     (td3d_rejected_messages_total, reasons unregistered and run_id); before, a heartbeat of
 *     another run was not counted, and one with an old or wrong lease from the holder's
 *     connection renewed the slot.
 * The time limits are only there so that a hang fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "inproc.h"
#include "raw_peer.h"
#include "log.h"
#include "wire.h"
#include "tmpdir.h"

#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static char tmp[256];

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_ERROR);
  return tmpdir_create(tmp, sizeof tmp, "test_slots");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(tmp);
}

/* A small, fast Pendulum learner (inproc_learner_init_small) on ports port..port+2, its
 * status server on port + 5, writing to tmp/name; out and status are the caller's buffers
 * for the two strings. */
static void learner_prepare(inproc_learner_t *L, unsigned port, const char *name,
                            uint64_t steps, char *out, size_t out_cap, char *status,
                            size_t status_cap) {
  snprintf(out, out_cap, "%s/%s", tmp, name);
  snprintf(status, status_cap, "127.0.0.1:%u", port + 5);
  inproc_learner_init_small(L, port, steps, out, status);
}

/* ---- a stranger: control connections that speak like actors ---- */

typedef struct peer {
  void *dealer;
  char name[32];
  int held;           /* 1 while it holds a slot */
  uint32_t slot;
  uint64_t run_id;
  wire_lease_t lease; /* its latest Welcome's */
  uint64_t last_ns;   /* its last Hello or heartbeat */
} peer_t;

static void send_msg(void *dealer, const wire_control_t *m) {
  wire_buf_t buf = {0};
  assert_int_equal(wire_control_encode(m, &buf), 0);
  zmq_send(dealer, buf.data, buf.len, ZMQ_DONTWAIT);
  wire_buf_free(&buf);
}

static void send_hello(void *dealer, const char *name) {
  static float bounds[2] = {-2, 2};
  wire_control_t m;
  raw_hello_pendulum(&m, name, WIRE_ROLE_ACTOR, bounds);
  send_msg(dealer, &m);
}

static void send_heartbeat(peer_t *p) {
  wire_control_t m = {.type = WIRE_MSG_HEARTBEAT};
  m.u.heartbeat.run_id = p->run_id;
  m.u.heartbeat.slot = p->slot;
  m.u.heartbeat.lease = p->lease;
  send_msg(p->dealer, &m);
}

/* Reads the peer's answers; returns the type of the last one (0: none). */
static wire_msg_type_t peer_read(peer_t *p, wire_control_t *last) {
  wire_msg_type_t type = 0;
  uint8_t buf[4096];
  int n;
  while ((n = zmq_recv(p->dealer, buf, sizeof buf, ZMQ_DONTWAIT)) > 0) {
    wire_control_t m;
    if (wire_control_decode(buf, (size_t)n, NULL, &m) != WIRE_OK) continue;
    type = m.type;
    if (m.type == WIRE_MSG_WELCOME) {
      p->held = 1;
      p->slot = m.u.welcome.slot;
      p->run_id = m.u.welcome.run_id;
      p->lease = m.u.welcome.lease;
    } else if (m.type == WIRE_MSG_REJECT) {
      p->held = 0;
    }
    if (last) *last = m;
    wire_control_release(&m);
  }
  return type;
}

/* ---- reading the learner's status server ---- */

static json_t *actor_entry(json_t *status, const char *name) {
  json_t *a = json_object_get(status, "actors"), *rows = json_object_get(a, "rows");
  if (!json_is_array(rows)) rows = a;
  size_t i;
  json_t *e;
  json_array_foreach(rows, i, e) {
    if (json_is_string(json_object_get(e, "name")) &&
        strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
      return e;
  }
  return NULL;
}

/* Waits up to limit_s for name to be in the actor table with a lease; returns its
 * registrations (0: not there). */
static int wait_actor(unsigned status_port, const char *name, unsigned limit_s) {
  for (unsigned i = 0; i < limit_s * 10 || i == 0; i++) {
    char *js = http_get_body(status_port, "/status");
    json_t *s = js ? json_loads(js, 0, NULL) : NULL;
    free(js);
    json_t *e = s ? actor_entry(s, name) : NULL;
    int regs = e && json_is_true(json_object_get(e, "active"))
                   ? (int)json_integer_value(json_object_get(e, "registrations"))
                   : 0;
    json_decref(s);
    if (regs || limit_s == 0) return regs;
    td3_sleep_ms(100);
  }
  return 0;
}

static double metric(unsigned port, const char *sample) {
  char *body = http_get_body(port, "/metrics");
  if (!body) return -1;
  double v = -1;
  size_t n = strlen(sample);
  for (char *line = body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (strncmp(line, sample, n) == 0 && line[n] == ' ') {
      v = strtod(line + n + 1, NULL);
      break;
    }
  free(body);
  return v;
}

/* ---- 1. a live name stays with its holder ---- */

static void live_name_not_taken(void **state) {
  (void)state;
  enum { PORT = 29770 };
  char out[512], status[64];
  inproc_learner_t L;
  learner_prepare(&L, PORT, "takeover", 3000, out, sizeof out, status, sizeof status);
  L.cfg.max_actors = 4;
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t act;
  inproc_actor_init(&act, "Pendulum-v1", PORT, "slots-test/0", 0);
  act.cfg.max_env_steps = 0;
  assert_int_equal(inproc_actor_start(&act), 0);
  assert_int_equal(wait_actor(PORT + 5, "slots-test/0", 60), 1);

  void *ctx = zmq_ctx_new();
  peer_t p = {.dealer = raw_dealer_connect(ctx, PORT)};
  assert_non_null(p.dealer);
  wire_control_t last = {0};
  wire_msg_type_t got = 0;
  for (int i = 0; i < 50 && !got; i++) {
    if (i % 10 == 0) send_hello(p.dealer, "slots-test/0");
    td3_sleep_ms(100);
    got = peer_read(&p, &last);
  }
  printf("a stranger's Hello for a working actor's name: %s", got == WIRE_MSG_REJECT ? "refused: " : "accepted\n");
  if (got == WIRE_MSG_REJECT) printf("%s (retry after %u ms)\n", last.u.reject.detail, last.u.reject.retry_after_ms);
  assert_int_equal(got, WIRE_MSG_REJECT);
  assert_int_equal(last.u.reject.reason, WIRE_REJECT_NAME_IN_USE);
  assert_true(last.u.reject.retry_after_ms > 0 && last.u.reject.retry_after_ms <= 5000);

  if (!inproc_learner_join(&L, 300000)) fail_msg("the learner did not finish within 300 s");
  inproc_actor_stop(&act);
  zmq_close(p.dealer);
  zmq_ctx_term(ctx);
  printf("rc %d; inserted %llu; the actor said Hello %llu times\n", L.rc,
         (unsigned long long)L.stats.inserted, (unsigned long long)act.res.registrations);
  assert_int_equal(L.rc, 0);
  assert_int_equal(L.stats.inserted, 3000);
  assert_int_equal(act.res.registrations, 1); /* it never lost its slot */
}

/* ---- 2. a flood of names that only heartbeat ---- */

enum { FLOOD = 50 };

static void hello_flood_gives_way(void **state) {
  (void)state;
  enum { PORT = 29780 };
  char out[512], status[64];
  inproc_learner_t L;
  snprintf(out, sizeof out, "%s/flood", tmp);
  snprintf(status, sizeof status, "127.0.0.1:%u", PORT + 5);
  inproc_learner_init_solvable(&L, PORT, 60000, out, status);
  L.cfg.max_actors = 4;
  L.cfg.max_evaluators = 1;
  L.cfg.idle_lease_ms = 2000;
  assert_int_equal(inproc_learner_start(&L), 0);
  void *ctx = zmq_ctx_new();
  static peer_t flood[FLOOD];
  for (int i = 0; i < FLOOD; i++) {
    flood[i] = (peer_t){.dealer = raw_dealer_connect_from(ctx, "127.0.0.2", PORT)};
    assert_non_null(flood[i].dealer);
    snprintf(flood[i].name, sizeof flood[i].name, "flood/%d", i);
  }
  /* the flood holds every slot before the real actor comes */
  uint64_t t0 = td3_now_ns();
  int holding = 0;
  while (holding < 4 && td3_now_ns() - t0 < 60000000000ULL) {
    holding = 0;
    for (int i = 0; i < FLOOD; i++) {
      peer_read(&flood[i], NULL);
      uint64_t now = td3_now_ns();
      if (!flood[i].held && now - flood[i].last_ns > 500000000ULL) {
        send_hello(flood[i].dealer, flood[i].name);
        flood[i].last_ns = now;
      }
      holding += flood[i].held;
    }
    td3_sleep_ms(20);
  }
  assert_int_equal(holding, 4);
  inproc_actor_t act, ev;
  inproc_actor_init(&act, "Pendulum-v1", PORT, "slots-test/1", 0);
  assert_int_equal(inproc_actor_start(&act), 0);
  inproc_actor_init(&ev, "Pendulum-v1", PORT, "slots-test/eval", 1);
  assert_int_equal(inproc_actor_start(&ev), 0);
  uint64_t t_actor = td3_now_ns(), joined_ns = 0, checks = 1;
  /* the flood goes on: heartbeats for the slots it holds, Hellos for the rest */
  while (!atomic_load(&L.done) && td3_now_ns() - t_actor < 240000000000ULL) {
    for (int i = 0; i < FLOOD; i++) {
      peer_read(&flood[i], NULL);
      uint64_t now = td3_now_ns();
      if (flood[i].held && now - flood[i].last_ns > 200000000ULL) {
        send_heartbeat(&flood[i]);
        flood[i].last_ns = now;
      } else if (!flood[i].held && now - flood[i].last_ns > 500000000ULL) {
        send_hello(flood[i].dealer, flood[i].name);
        flood[i].last_ns = now;
      }
    }
    if (!joined_ns && td3_now_ns() - t_actor > checks * 1000000000ULL) {
      checks++;
      if (wait_actor(PORT + 5, "slots-test/1", 0)) joined_ns = td3_now_ns();
    }
    td3_sleep_ms(20);
  }
  int ended = inproc_learner_join(&L, 1000);
  inproc_actor_stop(&act);
  inproc_actor_stop(&ev);
  double preempted = (double)L.stats.slots_preempted;
  for (int i = 0; i < FLOOD; i++) zmq_close(flood[i].dealer);
  zmq_ctx_term(ctx);
  printf("with %d names flooding 4 slots: the run %s after %.1f s (the real actor holding a "
         "slot after %.1f s); %s at %llu env steps; inserted %llu; slots taken from idle "
         "holders %.0f; Hellos refused %llu\n",
         FLOOD, ended ? "ended" : "did not finish", (double)(td3_now_ns() - t_actor) / 1e9,
         joined_ns ? (double)(joined_ns - t_actor) / 1e9 : -1.0,
         L.res.solved ? "solved" : "NOT solved", (unsigned long long)L.res.solved_at,
         (unsigned long long)L.stats.inserted, preempted,
         (unsigned long long)L.stats.hellos_refused);
  assert_true(ended);
  assert_int_equal(L.rc, 0);
  assert_true(L.res.solved);
  /* by an evaluator's report the learner confirmed, not only by its own final evaluation */
  assert_true(L.res.solved_at < 60000);
  assert_true(preempted >= 1);
}

/* ---- 3. Hellos over one connection ---- */

static void hellos_dropped_per_connection(void **state) {
  (void)state;
  enum { PORT = 29775 };
  char out[512], status[64];
  inproc_learner_t L;
  learner_prepare(&L, PORT, "hellos", 100000000, out, sizeof out, status, sizeof status);
  L.cfg.max_actors = 2;
  assert_int_equal(inproc_learner_start(&L), 0);
  void *ctx = zmq_ctx_new();
  peer_t p = {.dealer = raw_dealer_connect(ctx, PORT)};
  assert_non_null(p.dealer);
  int up = 0; /* the learner is up once it answers a first Hello */
  for (int i = 0; i < 100 && !up; i++) {
    send_hello(p.dealer, "one/0");
    td3_sleep_ms(100);
    up = peer_read(&p, NULL) != 0;
  }
  assert_true(up);
  /* a frame that is no control message is answered with the reason */
  zmq_send(p.dealer, "not a protobuf", 14, 0);
  wire_control_t last = {0};
  wire_msg_type_t got = 0;
  for (int i = 0; i < 50 && !got; i++) {
    td3_sleep_ms(100);
    got = peer_read(&p, &last);
  }
  printf("a malformed control frame: %s\n", got == WIRE_MSG_REJECT ? last.u.reject.detail : "no answer");
  assert_int_equal(got, WIRE_MSG_REJECT);
  assert_int_equal(last.u.reject.reason, WIRE_REJECT_MALFORMED);
  td3_sleep_ms(3000); /* the connection's allowance fills up again */
  for (int i = 0; i < 100; i++) send_hello(p.dealer, "one/0");
  int answers = 0;
  for (int i = 0; i < 30; i++) {
    uint8_t buf[4096];
    while (zmq_recv(p.dealer, buf, sizeof buf, ZMQ_DONTWAIT) > 0) answers++;
    td3_sleep_ms(100);
  }
  double dropped = metric(PORT + 5, "td3d_hellos_dropped_total");
  printf("100 Hellos at once over one connection: %d answered, %.0f dropped\n", answers, dropped);
  inproc_learner_join(&L, 0);
  zmq_close(p.dealer);
  zmq_ctx_term(ctx);
  assert_true(answers >= 4 && answers <= 8); /* the burst, and what refilled meanwhile */
  assert_true(dropped >= 90);
}

/* ---- 4. refused heartbeats ---- */

/* Reads p's answers for up to 2 s until n came; returns how many were refusals
 * (UNKNOWN_SLOT), and sets *answered (may be NULL) to how many were heartbeats. */
static int read_answers(peer_t *p, int n, int *answered) {
  int refused = 0, hb = 0;
  for (int i = 0; i < 20 && refused + hb < n; i++) {
    td3_sleep_ms(100);
    uint8_t buf[4096];
    int len;
    while ((len = zmq_recv(p->dealer, buf, sizeof buf, ZMQ_DONTWAIT)) > 0) {
      wire_control_t m;
      if (wire_control_decode(buf, (size_t)len, NULL, &m) != WIRE_OK) continue;
      refused += m.type == WIRE_MSG_REJECT && m.u.reject.reason == WIRE_REJECT_UNKNOWN_SLOT;
      hb += m.type == WIRE_MSG_HEARTBEAT;
      wire_control_release(&m);
    }
  }
  if (answered) *answered = hb;
  return refused;
}

static void refused_heartbeats_counted(void **state) {
  (void)state;
  enum { PORT = 23330 };
  char out[512], status[64];
  inproc_learner_t L;
  learner_prepare(&L, PORT, "heartbeats", 100000000, out, sizeof out, status, sizeof status);
  L.cfg.lease_ms = 1000;
  assert_int_equal(inproc_learner_start(&L), 0);
  void *ctx = zmq_ctx_new();
  peer_t a = {.dealer = raw_dealer_connect(ctx, PORT)};
  peer_t b = {.dealer = raw_dealer_connect(ctx, PORT)};
  peer_t c = {.dealer = raw_dealer_connect(ctx, PORT)};
  assert_non_null(a.dealer);
  assert_non_null(b.dealer);
  assert_non_null(c.dealer);
  for (int i = 0; i < 100 && !a.held; i++) {
    send_hello(a.dealer, "holder/0");
    td3_sleep_ms(100);
    peer_read(&a, NULL);
  }
  assert_true(a.held);
  const char *unregistered = "td3d_rejected_messages_total{reason=\"unregistered\"}";
  const char *run_id = "td3d_rejected_messages_total{reason=\"run_id\"}";
  double u0 = metric(PORT + 5, unregistered), r0 = metric(PORT + 5, run_id);

  /* b heartbeats for a's slot (even with a's lease), for a slot beyond the table, and as
   * another run */
  peer_t fake = {.dealer = b.dealer, .run_id = a.run_id, .slot = a.slot, .lease = a.lease};
  send_heartbeat(&fake);
  fake.slot = 100; /* the table has 64 slots */
  send_heartbeat(&fake);
  fake.slot = a.slot;
  fake.run_id = a.run_id + 1;
  send_heartbeat(&fake);
  assert_int_equal(read_answers(&b, 3, NULL), 3);
  /* a stays silent past its lease (1 s; leases are expired once a second) */
  td3_sleep_ms(3000);
  send_heartbeat(&a);
  assert_int_equal(read_answers(&a, 1, NULL), 1);

  /* c takes the name over with a new lease; from c's connection, a heartbeat with the lease
   * from before (a's) and one with the new lease's high word changed are refused, while one
   * with the new lease, sent right after them, is answered (so the slot was live) */
  for (int i = 0; i < 100 && !c.held; i++) {
    send_hello(c.dealer, "holder/0");
    td3_sleep_ms(100);
    peer_read(&c, NULL);
  }
  assert_true(c.held);
  assert_int_equal(c.slot, a.slot);
  assert_false(wire_lease_equal(c.lease, a.lease));
  peer_t old = c, wrong = c;
  old.lease = a.lease;
  wrong.lease.hi ^= 0x40;
  send_heartbeat(&old);
  send_heartbeat(&wrong);
  send_heartbeat(&c);
  int answered = 0;
  int refused = read_answers(&c, 3, &answered);
  printf("heartbeats from the holder's connection: old lease and wrong high word %d refused, "
         "its lease %d answered\n", refused, answered);
  assert_int_equal(refused, 2);
  assert_int_equal(answered, 1);

  double u1 = -1, r1 = -1;
  for (int i = 0; i < 20 && (u1 < u0 + 5 || r1 < r0 + 1); i++) {
    td3_sleep_ms(100); /* the status snapshot is refreshed every 250 ms */
    u1 = metric(PORT + 5, unregistered);
    r1 = metric(PORT + 5, run_id);
  }
  printf("refused heartbeats: unregistered %.0f -> %.0f, run_id %.0f -> %.0f\n", u0, u1, r0, r1);
  inproc_learner_join(&L, 0);
  zmq_close(a.dealer);
  zmq_close(b.dealer);
  zmq_close(c.dealer);
  zmq_ctx_term(ctx);
  assert_true(u0 == 0 && r0 == 0);
  /* a's slot from b, slot 100, a's slot after its lease, c's old and wrong leases */
  assert_true(u1 == 5);
  assert_true(r1 == 1); /* another run's */
  assert_int_equal(L.stats.rejected_unregistered, 5);
  assert_int_equal(L.stats.rejected[WIRE_RUN_ID], 1);
}

/* ---- 5. secure by default ---- */

static void exposure_needs_keys_or_insecure(void **state) {
  (void)state;
  const char *loop[] = {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "lo"};
  for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++)
    assert_true(learner_bind_is_loopback(loop[i]));
  const char *open_[] = {"*", "0.0.0.0", "10.0.0.1", "eth0", "127.0.0.1.evil.example", "", NULL};
  for (size_t i = 0; i < sizeof open_ / sizeof open_[0]; i++)
    assert_false(learner_bind_is_loopback(open_[i]));
  learner_config_t c;
  learner_config_default(&c);
  td3_err_t err = {0};
  assert_int_equal(learner_exposure_check(&c, &err), TD3_EINVAL); /* binds * by default */
  assert_non_null(strstr(err.msg, "--insecure"));
  assert_non_null(strstr(err.msg, "--curve-key"));
  c.insecure = 1;
  assert_int_equal(learner_exposure_check(&c, &err), 0);
  c.insecure = 0;
  c.curve_key = "keys/learner.key";
  assert_int_equal(learner_exposure_check(&c, &err), 0);
  c.curve_key = NULL;
  c.bind_host = "127.0.0.1";
  assert_int_equal(learner_exposure_check(&c, &err), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exposure_needs_keys_or_insecure),
      cmocka_unit_test(live_name_not_taken),
      cmocka_unit_test(hello_flood_gives_way),
      cmocka_unit_test(hellos_dropped_per_connection),
      cmocka_unit_test(refused_heartbeats_counted),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
