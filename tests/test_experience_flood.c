/* A flood of connections to a live learner's experience socket (loopback, ports 23340-23349):
 * a stranger at another address (127.0.0.2) opens 200 connections and keeps sending frames
 * over every one it gets through, while a real actor and evaluator train Pendulum.
 * The learner holds the experience connections through the handshake to twice
 * learner_experience_cap_per_address (13 from one address with --max-actors 4, 26 in all),
 * so what the socket can queue (4 frames of the frame limit a connection) has one bound
 * however many connections peers open; the connections over it are told to wait (ZAP status
 * 300) and counted. The stranger holds at most its address's share and the run reaches its
 * target return while the flood goes on. Before, every connection was taken (200 here, up
 * to the descriptor limit), each able to queue its frames.
 * The time limits are only there so that a hang fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "inproc.h"
#include "learner_internal.h"
#include "log.h"
#include "tmpdir.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define FLOOD 200

static char tmp[256];

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_ERROR);
  return tmpdir_create(tmp, sizeof tmp, "test_experience_flood");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(tmp);
}

/* One sample of /metrics (-1: not there or no answer). */
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

/* Sends a junk frame on every flood socket whose connection takes it; returns how many did. */
static int flood_send(void **socks, const char *frame, size_t len) {
  int sent = 0;
  for (int i = 0; i < FLOOD; i++) sent += zmq_send(socks[i], frame, len, ZMQ_DONTWAIT) >= 0;
  return sent;
}

static void connections_capped(void **state) {
  (void)state;
  enum { PORT = 23340 };
  char out[512], status[64];
  snprintf(out, sizeof out, "%s/flood", tmp);
  snprintf(status, sizeof status, "127.0.0.1:%u", PORT + 5);
  inproc_learner_t L;
  inproc_learner_init_solvable(&L, PORT, 60000, out, status);
  L.cfg.max_actors = 4;
  const double per_address = learner_experience_cap_per_address(&L.cfg), most = 2 * per_address;
  assert_int_equal(inproc_learner_start(&L), 0);

  void *ctx = zmq_ctx_new();
  int max_sockets = 4 * FLOOD;
  zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, max_sockets);
  static void *socks[FLOOD];
  char ep[96];
  snprintf(ep, sizeof ep, "tcp://127.0.0.2:0;127.0.0.1:%u", PORT);
  for (int i = 0; i < FLOOD; i++) {
    socks[i] = zmq_socket(ctx, ZMQ_PUSH);
    assert_non_null(socks[i]);
    int zero = 0, one = 1, hwm = 4, ivl = 100;
    zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(socks[i], ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socks[i], ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(socks[i], ZMQ_IMMEDIATE, &one, sizeof one); /* frames only where through */
    assert_int_equal(zmq_connect(socks[i], ep), 0);
  }
  static char junk[1000];
  memset(junk, 0x0a, sizeof junk);
  /* the flood's connections settle before the real actor comes */
  double conns = -1, refused = -1;
  uint64_t t0 = td3_now_ns();
  while (td3_now_ns() - t0 < 20000000000ULL) {
    flood_send(socks, junk, sizeof junk);
    conns = metric(PORT + 5, "td3d_experience_connections");
    refused = metric(PORT + 5, "td3d_experience_connections_refused_total");
    if (conns >= FLOOD / 2 && refused >= FLOOD - per_address) break;
    td3_sleep_ms(100);
  }
  int through = flood_send(socks, junk, sizeof junk);
  printf("%d connections from 127.0.0.2: %.0f open, %d taking frames (at most %.0f from one "
         "address, %.0f in all), %.0f told to wait\n",
         FLOOD, conns, through, per_address, most, refused);
  assert_true(through <= per_address);
  assert_true(refused >= FLOOD - per_address);

  inproc_actor_t act, ev;
  inproc_actor_init(&act, "Pendulum-v1", PORT, "flood-test/1", 0);
  assert_int_equal(inproc_actor_start(&act), 0);
  inproc_actor_init(&ev, "Pendulum-v1", PORT, "flood-test/eval", 1);
  assert_int_equal(inproc_actor_start(&ev), 0);
  /* the flood goes on: frames over every connection it holds, reconnects for the rest */
  int peak = 0;
  uint64_t t_actor = td3_now_ns(), frames = 0;
  while (!atomic_load(&L.done) && td3_now_ns() - t_actor < 240000000000ULL) {
    int n = flood_send(socks, junk, sizeof junk);
    frames += (uint64_t)n;
    if (n > peak) peak = n;
    td3_sleep_ms(50);
  }
  double seconds = (double)(td3_now_ns() - t_actor) / 1e9;
  unsigned long long rejected = 0;
  int ended = inproc_learner_join(&L, 1000);
  inproc_actor_stop(&act);
  inproc_actor_stop(&ev);
  for (int i = 0; i < FLOOD; i++) zmq_close(socks[i]);
  zmq_ctx_term(ctx);
  for (int r = 0; r < WIRE_REASON_COUNT; r++) rejected += L.stats.rejected[r];
  printf("with the flood going on (%llu junk frames queued): the run %s after %.1f s, %s at %llu "
         "env steps; the flood's connections taking frames at most %d (cap %.0f from one "
         "address); frames refused as malformed %llu\n",
         (unsigned long long)frames, ended ? "ended" : "did not finish", seconds,
         L.res.solved ? "solved" : "NOT solved", (unsigned long long)L.res.solved_at, peak,
         per_address, rejected);
  assert_true(ended);
  assert_int_equal(L.rc, 0);
  assert_true(L.res.solved);
  assert_true(L.res.solved_at < 60000);
  assert_true(peak <= per_address);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(connections_capped),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
