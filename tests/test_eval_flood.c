/* A burst of evaluation reports from the evaluator's own connection (a legitimate slot, so
 * nothing refuses them) against a live learner on loopback (ports 29740-29745): 5000 reports
 * are all recorded in progress.csv within seconds, /healthz keeps answering meanwhile,
 * curve.svg and policy.td3p catch up within a few seconds of the burst, and the run's end
 * writes the final curve with every point. Before, each report redrew the whole curve and
 * fsynced the policy: 2619 of 5000 handled after 124 s, the learner's main loop (and its
 * stop, its status snapshots) stuck meanwhile. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

enum { PORT = 29740, STATUS = 29745, REPORTS = 5000 };

static char tmp[256];

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_WARN);
  return tmpdir_create(tmp, sizeof tmp, "test_eval_flood");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(tmp);
}

/* Lines in a file, 0 if it cannot be read. */
static size_t count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = 0;
  int c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

/* Occurrences of needle in a file. */
static size_t count_in_file(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)len + 1);
  size_t got = fread(buf, 1, (size_t)len, f);
  buf[got] = 0;
  fclose(f);
  size_t n = 0;
  for (char *p = buf; (p = strstr(p, needle)) != NULL; p++) n++;
  free(buf);
  return n;
}

/* Starts a learner on PORT whose budget is out of reach, writing to tmp, its status server on
 * STATUS (status: the caller's buffer for the address, kept for the run). */
static void learner_start(inproc_learner_t *L, char *status, size_t cap) {
  inproc_learner_init(L, "Pendulum-v1", PORT);
  L->cfg.steps = 100000000;
  L->cfg.start_steps = 500;
  L->cfg.td3.n_hidden = 2;
  L->cfg.td3.hidden[0] = L->cfg.td3.hidden[1] = 32;
  L->cfg.td3.batch = 32;
  L->cfg.out_dir = tmp;
  L->cfg.progress = 0;
  L->cfg.lease_ms = 600000; /* the reporter sends no heartbeat: its slot must not lapse */
  snprintf(status, cap, "127.0.0.1:%u", STATUS);
  L->cfg.status_bind = status;
  assert_int_equal(inproc_learner_start(L), 0);
}

/* Registers an evaluator ("flood/eval") on a new DEALER of ctx, which it returns, with no
 * send high-water mark (the whole burst leaves at once); *run_id, *slot and *lease are its
 * Welcome's. */
static void *evaluator_join(void *ctx, uint64_t *run_id, uint32_t *slot, wire_lease_t *lease) {
  void *dealer = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0, hwm = 0;
  zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
  char ep[64];
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", PORT + 2);
  assert_int_equal(zmq_connect(dealer, ep), 0);
  float bounds[2] = {-2, 2};
  wire_control_t hello, welcome;
  raw_hello_pendulum(&hello, "flood/eval", WIRE_ROLE_EVALUATOR, bounds);
  assert_int_equal(raw_hello_send(dealer, &hello, 30, 1000, &welcome), 0);
  assert_int_equal(welcome.type, WIRE_MSG_WELCOME);
  *run_id = welcome.u.welcome.run_id;
  *slot = welcome.u.welcome.slot;
  *lease = welcome.u.welcome.lease;
  wire_control_release(&welcome);
  return dealer;
}

/* Waits (at most 120 s from t0) until progress.csv holds all REPORTS rows, asking /healthz
 * meanwhile; checks that took under 30 s and /healthz always answered. */
static void reports_recorded_check(const char *csv, uint64_t t0, double sent_s) {
  size_t rows = 0;
  int healthz_failed = 0;
  while (td3_now_ns() - t0 < 120000000000ULL && (rows = count_lines(csv)) < REPORTS + 1) {
    char *h = http_get_body(STATUS, "/healthz"); /* the main loop is not stuck meanwhile */
    healthz_failed += !h;
    free(h);
    td3_sleep_ms(100);
  }
  double handled_s = (double)(td3_now_ns() - t0) / 1e9;
  printf("%d reports sent in %.2f s, %zu recorded after %.2f s; /healthz failed %d times\n",
         REPORTS, sent_s, rows ? rows - 1 : 0, handled_s, healthz_failed);
  assert_int_equal(rows, REPORTS + 1);
  assert_true(handled_s < 30.0);
  assert_int_equal(healthz_failed, 0);
}

static void burst_of_reports_is_cheap(void **state) {
  (void)state;
  inproc_learner_t L;
  char status[64];
  learner_start(&L, status, sizeof status);
  void *ctx = zmq_ctx_new();
  uint64_t run_id;
  uint32_t slot;
  wire_lease_t lease;
  void *dealer = evaluator_join(ctx, &run_id, &slot, &lease);

  /* the burst: reports at 0 env steps (which the run has reached) */
  float returns[5] = {-1500, -1400, -1450, -1500, -1600};
  wire_control_t ev = {.type = WIRE_MSG_EVAL_REPORT};
  ev.u.eval_report = (wire_eval_report_t){.run_id = run_id, .slot = slot, .env_steps = 0,
                                          .n_returns = 5, .returns = returns, .lease = lease};
  wire_buf_t buf = {0};
  assert_int_equal(wire_control_encode(&ev, &buf), 0);
  uint64_t t0 = td3_now_ns();
  for (int i = 0; i < REPORTS; i++) assert_true(zmq_send(dealer, buf.data, buf.len, 0) >= 0);
  double sent_s = (double)(td3_now_ns() - t0) / 1e9;

  char csv[512], svg[512], policy[512];
  snprintf(csv, sizeof csv, "%s/progress.csv", tmp);
  snprintf(svg, sizeof svg, "%s/curve.svg", tmp);
  snprintf(policy, sizeof policy, "%s/policy.td3p", tmp);
  reports_recorded_check(csv, t0, sent_s);

  /* the throttled outputs catch up with the burst within a few seconds */
  size_t points = 0;
  for (int i = 0; i < 100 && points < REPORTS; i++) {
    points = count_in_file(svg, "class=\"point\"");
    if (points < REPORTS) td3_sleep_ms(100);
  }
  printf("curve.svg shows %zu points %.2f s after the burst began\n", points,
         (double)(td3_now_ns() - t0) / 1e9);
  assert_int_equal(points, REPORTS);
  struct stat st;
  assert_int_equal(stat(policy, &st), 0);

  /* one report more, then the end of the run: the final state is written at once */
  assert_true(zmq_send(dealer, buf.data, buf.len, 0) >= 0);
  for (int i = 0; i < 100 && count_lines(csv) < REPORTS + 2; i++) td3_sleep_ms(50);
  inproc_learner_join(&L, 0);
  assert_int_equal(L.rc, 0);
  assert_int_equal(count_in_file(svg, "class=\"point\""), REPORTS + 1);
  wire_buf_free(&buf);
  zmq_close(dealer);
  zmq_ctx_term(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(burst_of_reports_is_cheap, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
