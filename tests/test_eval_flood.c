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

static void burst_of_reports_is_cheap(void **state) {
  (void)state;
  inproc_learner_t L;
  inproc_learner_init(&L, "Pendulum-v1", PORT);
  L.cfg.steps = 100000000;
  L.cfg.start_steps = 500;
  L.cfg.td3.n_hidden = 2;
  L.cfg.td3.hidden[0] = L.cfg.td3.hidden[1] = 32;
  L.cfg.td3.batch = 32;
  L.cfg.out_dir = tmp;
  L.cfg.progress = 0;
  L.cfg.lease_ms = 600000; /* the reporter sends no heartbeat: its slot must not lapse */
  char status[64];
  snprintf(status, sizeof status, "127.0.0.1:%u", STATUS);
  L.cfg.status_bind = status;
  assert_int_equal(inproc_learner_start(&L), 0);

  /* the evaluator's Hello */
  void *ctx = zmq_ctx_new(), *dealer = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0, hwm = 0;
  zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm); /* the whole burst leaves at once */
  char ep[64];
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", PORT + 2);
  assert_int_equal(zmq_connect(dealer, ep), 0);
  float lo = -2, hi = 2;
  wire_control_t m = {.type = WIRE_MSG_HELLO};
  snprintf(m.u.hello.actor_name, sizeof m.u.hello.actor_name, "flood/eval");
  snprintf(m.u.hello.env_id, sizeof m.u.hello.env_id, "Pendulum-v1");
  m.u.hello.role = WIRE_ROLE_EVALUATOR;
  m.u.hello.obs_dim = 3;
  m.u.hello.act_dim = 1;
  m.u.hello.action_low = &lo;
  m.u.hello.action_high = &hi;
  m.u.hello.envs = 1;
  wire_buf_t buf = {0};
  assert_int_equal(wire_control_encode(&m, &buf), 0);
  zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
  int got = 0;
  for (int attempt = 0; attempt < 30 && !got; attempt++) {
    assert_true(zmq_send(dealer, buf.data, buf.len, 0) >= 0);
    got = zmq_poll(&item, 1, 1000) == 1;
  }
  assert_true(got);
  uint8_t reply[4096];
  int n = zmq_recv(dealer, reply, sizeof reply, 0);
  wire_control_t welcome;
  assert_int_equal(wire_control_decode(reply, (size_t)n, NULL, &welcome), WIRE_OK);
  assert_int_equal(welcome.type, WIRE_MSG_WELCOME);
  uint64_t run_id = welcome.u.welcome.run_id;
  uint32_t slot = welcome.u.welcome.slot;
  wire_control_release(&welcome);

  /* the burst: reports at 0 env steps (which the run has reached) */
  float returns[5] = {-1500, -1400, -1450, -1500, -1600};
  wire_control_t ev = {.type = WIRE_MSG_EVAL_REPORT};
  ev.u.eval_report = (wire_eval_report_t){.run_id = run_id, .slot = slot, .env_steps = 0,
                                          .n_returns = 5, .returns = returns};
  assert_int_equal(wire_control_encode(&ev, &buf), 0);
  uint64_t t0 = td3_now_ns();
  for (int i = 0; i < REPORTS; i++) assert_true(zmq_send(dealer, buf.data, buf.len, 0) >= 0);
  double sent_s = (double)(td3_now_ns() - t0) / 1e9;

  char csv[512], svg[512], policy[512];
  snprintf(csv, sizeof csv, "%s/progress.csv", tmp);
  snprintf(svg, sizeof svg, "%s/curve.svg", tmp);
  snprintf(policy, sizeof policy, "%s/policy.td3p", tmp);
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
