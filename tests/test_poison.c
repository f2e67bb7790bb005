/* Poisoned experience against a live learner on loopback (ports 29710-29739): an attacker that
 * holds a valid slot lease (it said Hello like an actor) sends transitions with huge rewards,
 * observations or actions while a real actor trains Pendulum.
 *  1. With the default bounds (1e6) every such row is refused and counted (/metrics, /status,
 *     the run's stats), and the run reaches its target return (a real actor and evaluator,
 *     the learner confirming) while the attacker goes on sending 1e30 rewards; before, reward
 *     1e30 made three rollbacks in a row and ended the run.
 *  2. With the bounds turned off, a 1e30 reward makes an update non-finite: the rollback drops
 *     the rows inserted since the checkpoint it restores, so it happens once and the run goes
 *     on (before, the same rows failed it again until the learner gave up).
 *  3. Rewards within the bounds but far above the env's (5e5): the critic loss explodes and
 *     /healthz says so (503), as /metrics and /status do.
 * Budgets are env steps; the time limits are only there so that a hang fails the test. */
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

#include "td3d.pb-c.h"
#include "tmpdir.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static char tmp[256];

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_WARN);
  return tmpdir_create(tmp, sizeof tmp, "test_poison");
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

/* ---- the attacker: a ZeroMQ client that registers like an actor ---- */

typedef struct attacker {
  void *ctx, *dealer, *push;
  uint64_t run_id;
  wire_lease_t lease;
  uint32_t slot;
  uint64_t seq;
} attacker_t;

static void attacker_join(attacker_t *a, unsigned port) {
  memset(a, 0, sizeof *a);
  a->ctx = zmq_ctx_new();
  a->dealer = zmq_socket(a->ctx, ZMQ_DEALER);
  a->push = zmq_socket(a->ctx, ZMQ_PUSH);
  int zero = 0;
  zmq_setsockopt(a->dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(a->push, ZMQ_LINGER, &zero, sizeof zero);
  int send_ms = 2000; /* a learner holding its ingest back (or gone) does not hang the test */
  zmq_setsockopt(a->push, ZMQ_SNDTIMEO, &send_ms, sizeof send_ms);
  char ep[64];
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port + 2);
  assert_int_equal(zmq_connect(a->dealer, ep), 0);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port);
  assert_int_equal(zmq_connect(a->push, ep), 0);
  float bounds[2] = {-2, 2};
  wire_control_t hello, welcome;
  raw_hello_pendulum(&hello, "poison/0", WIRE_ROLE_ACTOR, bounds);
  /* the learner may still start */
  assert_int_equal(raw_hello_send(a->dealer, &hello, 30, 1000, &welcome), 0);
  assert_int_equal(welcome.type, WIRE_MSG_WELCOME);
  a->run_id = welcome.u.welcome.run_id;
  a->slot = welcome.u.welcome.slot;
  a->lease = welcome.u.welcome.lease;
  wire_control_release(&welcome);
}

static void attacker_leave(attacker_t *a) {
  zmq_close(a->dealer);
  zmq_close(a->push);
  zmq_ctx_term(a->ctx);
}

/* One transition of a batch: Pendulum-like values unless the test changes them. */
typedef struct row {
  float obs[3], action, reward, next[3];
} row_t;

static row_t sane_row(void) { return (row_t){{1, 0, 0}, 0.5f, -1.0f, {1, 0, 0}}; }

/* Sends n rows as one ExperienceBatch with the slot's lease; 1 if it left within the send
 * timeout (attacker_join sets it), else 0. */
static int send_rows_try(attacker_t *a, const row_t *rows, uint32_t n) {
  float obs[64 * 3], act[64], rew[64], next[64 * 3], term[64] = {0};
  assert_true(n <= 64);
  for (uint32_t i = 0; i < n; i++) {
    memcpy(obs + 3 * i, rows[i].obs, sizeof rows[i].obs);
    memcpy(next + 3 * i, rows[i].next, sizeof rows[i].next);
    act[i] = rows[i].action;
    rew[i] = rows[i].reward;
  }
  Td3d__ExperienceBatch m = TD3D__EXPERIENCE_BATCH__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.run_id = a->run_id;
  m.slot = a->slot;
  m.lease = a->lease.lo;
  m.lease_hi = a->lease.hi;
  m.seq = ++a->seq;
  m.n = n;
  m.obs_dim = 3;
  m.act_dim = 1;
  m.obs = (ProtobufCBinaryData){n * 3 * sizeof(float), (uint8_t *)obs};
  m.action = (ProtobufCBinaryData){n * sizeof(float), (uint8_t *)act};
  m.reward = (ProtobufCBinaryData){n * sizeof(float), (uint8_t *)rew};
  m.next_obs = (ProtobufCBinaryData){n * 3 * sizeof(float), (uint8_t *)next};
  m.terminal = (ProtobufCBinaryData){n * sizeof(float), (uint8_t *)term};
  m.end_mark = WIRE_END_MARK;
  uint8_t frame[4096];
  size_t len = td3d__experience_batch__pack(&m, frame);
  return zmq_send(a->push, frame, len, 0) == (int)len;
}

/* send_rows_try, which must succeed. */
static void send_rows(attacker_t *a, const row_t *rows, uint32_t n) {
  assert_true(send_rows_try(a, rows, n));
}

/* n rows with this reward; 1 if they left (send_rows_try). */
static int send_rewards_try(attacker_t *a, float reward, uint32_t n) {
  row_t rows[64];
  for (uint32_t i = 0; i < n; i++) {
    rows[i] = sane_row();
    rows[i].reward = reward;
  }
  return send_rows_try(a, rows, n);
}

/* send_rewards_try, which must succeed. */
static void send_rewards(attacker_t *a, float reward, uint32_t n) {
  assert_true(send_rewards_try(a, reward, n));
}

/* ---- reading the learner's status server ---- */

/* The value of the /metrics sample that starts with `sample` (name and labels), or -1. */
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

/* Waits (limit_s at most) until the sample is at least min; returns its last value. */
static double wait_metric(unsigned port, const char *sample, double min, unsigned limit_s) {
  double v = -1;
  for (unsigned i = 0; i < limit_s * 10; i++) {
    if ((v = metric(port, sample)) >= min) break;
    td3_sleep_ms(100);
  }
  return v;
}

static void actor_start(inproc_actor_t *j, unsigned port, const char *name) {
  inproc_actor_init(j, "Pendulum-v1", port, name, 0);
  assert_int_equal(inproc_actor_start(j), 0);
}

/* ---- 1. out of bounds: refused and counted, the run goes on ---- */

static void poisoned_rows_refused(void **state) {
  (void)state;
  enum { PORT = 29710 };
  char out[512], status[64];
  inproc_learner_t L;
  snprintf(out, sizeof out, "%s/refused", tmp);
  snprintf(status, sizeof status, "127.0.0.1:%u", PORT + 5);
  inproc_learner_init_solvable(&L, PORT, 60000, out, status);
  assert_int_equal(inproc_learner_start(&L), 0);
  attacker_t a;
  attacker_join(&a, PORT);
  uint64_t t0 = td3_now_ns();
  send_rewards(&a, 1e30f, 4);   /* the attack: 4 refused */
  send_rewards(&a, 1e6f, 4);    /* at the bound: 4 refused */
  send_rewards(&a, -3e6f, 4);   /* 4 refused */
  row_t mixed[4] = {sane_row(), sane_row(), sane_row(), sane_row()};
  mixed[1].obs[2] = 1e7f;       /* an observation */
  mixed[3].action = 50.0f;      /* an action outside Pendulum's [-2, 2] */
  send_rows(&a, mixed, 4);      /* 2 refused, 2 inserted */
  row_t next[2] = {sane_row(), sane_row()};
  next[0].next[0] = -2e6f;      /* a next observation */
  send_rows(&a, next, 2);       /* 1 refused, 1 inserted */
  double seen = wait_metric(PORT + 5, "td3d_transitions_dropped_total{reason=\"out_of_bounds\"}",
                            15, 30);
  printf("refused %g transitions within %.2f s\n", seen, (double)(td3_now_ns() - t0) / 1e9);
  assert_true(seen == 15);
  assert_true(metric(PORT + 5, "td3d_rejected_messages_total{reason=\"out_of_bounds\"}") == 5);
  char *js = http_get_body(PORT + 5, "/status");
  assert_non_null(js);
  json_t *s = json_loads(js, 0, NULL);
  assert_non_null(s);
  json_t *c = json_object_get(s, "counters");
  assert_int_equal(json_integer_value(json_object_get(c, "out_of_bounds")), 15);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(c, "rejected"), "out_of_bounds")), 5);
  json_decref(s);
  free(js);

  /* a real actor and evaluator train the run to its target while the attacker goes on: a
   * batch of four 1e30 rewards every 10 ms */
  inproc_actor_t act, ev;
  actor_start(&act, PORT, "poison-test/0");
  inproc_actor_init(&ev, "Pendulum-v1", PORT, "poison-test/eval", 1);
  assert_int_equal(inproc_actor_start(&ev), 0);
  uint64_t sent = 0, t1 = td3_now_ns();
  while (!atomic_load(&L.done) && td3_now_ns() - t1 < 300000000000ULL) {
    sent += (uint64_t)send_rewards_try(&a, 1e30f, 4);
    td3_sleep_ms(10);
  }
  if (!inproc_learner_join(&L, 1000)) fail_msg("the learner did not finish within 300 s");
  inproc_actor_stop(&act);
  inproc_actor_stop(&ev);
  attacker_leave(&a);
  printf("rc %d (%s); %s at %llu env steps after %.1f s with %llu poisoned batches sent "
         "meanwhile; inserted %llu, rollbacks %u, out of bounds %llu in %llu batches\n",
         L.rc, L.rc ? L.err.msg : "ok", L.res.solved ? "solved" : "NOT solved",
         (unsigned long long)L.res.solved_at, (double)(td3_now_ns() - t1) / 1e9,
         (unsigned long long)sent, (unsigned long long)L.stats.inserted,
         (unsigned)L.res.rollbacks, (unsigned long long)L.stats.out_of_bounds,
         (unsigned long long)L.stats.rejected_bounds);
  assert_int_equal(L.rc, 0);
  assert_true(L.res.solved);
  /* by an evaluator's report the learner confirmed, not only by its own final evaluation */
  assert_true(L.res.solved_at < 60000);
  assert_int_equal(L.res.rollbacks, 0);
  /* the attack went on through the run: at least 100 batches refused during training, none
   * of their rows inserted; each refused for its rows (all counted) while the attacker's
   * lease lasted, as unregistered once it lapsed (the attacker sends no heartbeats, and a
   * slow machine can hold ingest back past the lease time) */
  assert_true(sent >= 100);
  assert_true(L.stats.rejected_bounds >= 5 + 1 && L.stats.rejected_bounds <= 5 + sent);
  assert_true(L.stats.rejected_bounds - 5 + L.stats.rejected_unregistered >= 100);
  assert_int_equal(L.stats.out_of_bounds, 15 + 4 * (L.stats.rejected_bounds - 5));
}

/* ---- 2. bounds off: the rollback drops the poisoned rows and happens once ---- */

static void rollback_drops_poisoned_rows(void **state) {
  (void)state;
  enum { PORT = 29720 };
  char out[512], status[64];
  inproc_learner_t L;
  learner_prepare(&L, PORT, "rollback", 3000, out, sizeof out, status, sizeof status);
  L.cfg.max_abs_value = 3.5e38; /* every finite value passes ingest */
  L.cfg.checkpoint_every = 0;   /* the rollback goes to the run's first checkpoint */
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t act;
  actor_start(&act, PORT, "poison-test/1");
  assert_true(wait_metric(PORT + 5, "td3d_updates_total", 100, 120) >= 100);
  attacker_t a;
  attacker_join(&a, PORT);
  send_rewards(&a, 1e30f, 8);
  if (!inproc_learner_join(&L, 300000)) fail_msg("the learner did not finish within 300 s");
  inproc_actor_stop(&act);
  attacker_leave(&a);
  printf("rc %d (%s); rollbacks %u, replay rows dropped %llu, inserted %llu, updates %llu\n",
         L.rc, L.rc ? L.err.msg : "ok", (unsigned)L.res.rollbacks,
         (unsigned long long)L.stats.rollback_dropped, (unsigned long long)L.stats.inserted,
         (unsigned long long)L.stats.updates);
  assert_int_equal(L.rc, 0);
  assert_true(L.res.rollbacks >= 1 && L.res.rollbacks < 3);
  assert_true(L.stats.rollback_dropped >= 8);
  assert_int_equal(L.stats.inserted, 3000);
  assert_int_equal(L.stats.updates, 2500);
}

/* ---- 3. within the bounds: the critic loss explodes and /healthz says so ---- */

static void exploded_loss_unhealthy(void **state) {
  (void)state;
  enum { PORT = 29730 };
  char out[512], status[64];
  inproc_learner_t L;
  learner_prepare(&L, PORT, "explode", 100000000, out, sizeof out, status, sizeof status);
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t act;
  actor_start(&act, PORT, "poison-test/2");
  assert_true(wait_metric(PORT + 5, "td3d_updates_total", 300, 120) >= 300);
  char *h = http_get_body(PORT + 5, "/healthz");
  assert_non_null(h);
  assert_string_equal(h, "ok\n");
  free(h);
  attacker_t a;
  attacker_join(&a, PORT);
  for (int i = 0; i < 10; i++) send_rewards(&a, 5e5f, 32);
  uint64_t t0 = td3_now_ns();
  int unhealthy = 0;
  char *why = NULL;
  for (int i = 0; i < 600 && !unhealthy; i++) {
    free(why);
    why = http_get_body(PORT + 5, "/healthz");
    unhealthy = why && strstr(why, "critic loss exploded") != NULL;
    if (!unhealthy) td3_sleep_ms(100);
  }
  printf("after %.1f s: /healthz %s", (double)(td3_now_ns() - t0) / 1e9, why ? why : "-\n");
  assert_true(unhealthy);
  free(why);
  int fd = http_connect(PORT + 5);
  assert_true(fd >= 0);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
  char *resp = http_read_all(fd, NULL);
  close(fd);
  assert_non_null(strstr(resp, "HTTP/1.1 503"));
  free(resp);
  assert_true(metric(PORT + 5, "td3d_loss_exploded") == 1);
  inproc_learner_join(&L, 0);
  inproc_actor_stop(&act);
  attacker_leave(&a);
  assert_int_equal(L.rc, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(poisoned_rows_refused),
      cmocka_unit_test(rollback_drops_poisoned_rows),
      cmocka_unit_test(exploded_loss_unhealthy),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
