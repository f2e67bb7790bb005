/* Evaluation reports that claim the target return, against a live learner on loopback (ports
 * 23300-23325) training Pendulum with a real actor.
 *  1. A stranger that registered as the evaluator (the only evaluator slot: a second
 *     evaluator is refused) reports a return of 0 at 0 env steps, then 1000 twice once the
 *     run trains, against --target-return 0 (which Pendulum cannot reach): the first shows the
 *     untrained networks and never ends the run; the learner's own evaluation refuses the
 *     others, which are counted (/metrics) and not recorded, and the run spends its budget.
 *     Before, the first report ended the run "solved" at once.
 *  2. A real evaluator whose report reaches the target: the learner's own evaluation agrees
 *     and the run ends solved.
 *  3. An external env (the learner cannot step it): a report at or above the target ends the
 *     run only when the next one reaches it too. Reports from the evaluator's connection
 *     without its lease, or with only its low word, are not recorded (each would have been
 *     the second in a row) and are counted as unregistered.
 *  4. With --max-evaluators 2, a stranger registered as a second evaluator claims 1000 every
 *     300 ms while a real actor and evaluator train the run (ports 23350-23355): each check
 *     that its claim fails is counted and not recorded, and the run reaches its target
 *     return (-300, by a report the learner's own evaluation confirms) before its budget,
 *     with the stranger claiming all along.
 * The time limits are only there so that a hang fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "inproc.h"
#include "log.h"
#include "raw_peer.h"
#include "tmpdir.h"
#include "wire.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static char tmp[256];

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_WARN);
  return tmpdir_create(tmp, sizeof tmp, "test_eval_claims");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(tmp);
}

/* A small, fast Pendulum learner (inproc_learner_init_small) on ports port..port+2 with an
 * evaluation every 1000 env steps of 5 episodes, its status server on port + 5, writing to
 * tmp/name; out and status are the caller's buffers for the two strings. */
static void learner_prepare(inproc_learner_t *L, unsigned port, const char *name, uint64_t steps,
                            double target, char *out, size_t out_cap, char *status,
                            size_t status_cap) {
  snprintf(out, out_cap, "%s/%s", tmp, name);
  snprintf(status, status_cap, "127.0.0.1:%u", port + 5);
  inproc_learner_init_small(L, port, steps, out, status);
  L->cfg.eval_every = 1000;
  L->cfg.eval_episodes = 5;
  L->cfg.target_return = target;
}

/* The value of an unlabelled or labelled sample of /metrics, -1 when absent. */
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

/* ---- a stranger on the control socket ---- */

typedef struct stranger {
  void *dealer;
  uint64_t run_id;
  uint32_t slot;
  wire_lease_t lease;       /* its Welcome's: heartbeats and reports carry it */
  uint64_t env_steps;       /* the run's, from the latest heartbeat answer */
  uint64_t version;         /* the learner's weights version, from the same */
} stranger_t;

/* Says Hello as the evaluator called name; the answer's type, and *s filled on a Welcome. */
static wire_msg_type_t evaluator_hello(stranger_t *s, const char *name) {
  float bounds[2] = {-2, 2};
  wire_control_t hello, reply;
  raw_hello_pendulum(&hello, name, WIRE_ROLE_EVALUATOR, bounds);
  assert_int_equal(raw_hello_send(s->dealer, &hello, 30, 1000, &reply), 0);
  wire_msg_type_t type = reply.type;
  if (type == WIRE_MSG_WELCOME) {
    s->run_id = reply.u.welcome.run_id;
    s->slot = reply.u.welcome.slot;
    s->lease = reply.u.welcome.lease;
  }
  wire_control_release(&reply);
  return type;
}

/* Sends a heartbeat for the stranger's slot and reads the answer (1 s at most) into
 * env_steps and version. */
static void stranger_heartbeat(stranger_t *s) {
  wire_control_t m = {.type = WIRE_MSG_HEARTBEAT};
  m.u.heartbeat.run_id = s->run_id;
  m.u.heartbeat.slot = s->slot;
  m.u.heartbeat.lease = s->lease;
  wire_buf_t buf = {0};
  assert_int_equal(wire_control_encode(&m, &buf), 0);
  zmq_send(s->dealer, buf.data, buf.len, 0);
  wire_buf_free(&buf);
  zmq_pollitem_t item = {s->dealer, 0, ZMQ_POLLIN, 0};
  uint8_t answer[4096];
  while (zmq_poll(&item, 1, 1000) == 1) {
    int n = zmq_recv(s->dealer, answer, sizeof answer, 0);
    wire_control_t a;
    if (n <= 0 || wire_control_decode(answer, (size_t)n, NULL, &a) != WIRE_OK) continue;
    int done = a.type == WIRE_MSG_HEARTBEAT;
    if (done) {
      s->env_steps = a.u.heartbeat.env_steps;
      s->version = a.u.heartbeat.policy_version;
    }
    wire_control_release(&a);
    if (done) break;
  }
}

/* Heartbeats until the run has more than min_steps env steps and a weights version (60 s at
 * most). */
static void stranger_wait_steps(stranger_t *s, uint64_t min_steps) {
  uint64_t t0 = td3_now_ns();
  do {
    td3_sleep_ms(200);
    stranger_heartbeat(s);
  } while ((s->env_steps <= min_steps || !s->version) && td3_now_ns() - t0 < 60000000000ULL);
  assert_true(s->env_steps > min_steps);
}

/* Reports n returns all equal to value at env_steps, naming weights version version, with
 * s->lease. */
static void stranger_report(stranger_t *s, uint64_t env_steps, uint64_t version, float value,
                            uint32_t n) {
  float returns[8];
  for (uint32_t i = 0; i < n; i++) returns[i] = value;
  wire_control_t ev = {.type = WIRE_MSG_EVAL_REPORT};
  ev.u.eval_report = (wire_eval_report_t){.run_id = s->run_id, .slot = s->slot,
                                          .policy_version = version, .env_steps = env_steps,
                                          .n_returns = n, .returns = returns,
                                          .lease = s->lease};
  wire_buf_t buf = {0};
  assert_int_equal(wire_control_encode(&ev, &buf), 0);
  assert_true(zmq_send(s->dealer, buf.data, buf.len, 0) >= 0);
  wire_buf_free(&buf);
}

static void actor_start(inproc_actor_t *a, unsigned port, const char *name, int eval) {
  inproc_actor_init(a, "Pendulum-v1", port, name, eval);
  assert_int_equal(inproc_actor_start(a), 0);
}

/* ---- 1. a stranger's claims ---- */

static void stranger_cannot_end_run(void **state) {
  (void)state;
  enum { PORT = 23300 };
  char out[512], status[64];
  inproc_learner_t L;
  learner_prepare(&L, PORT, "stranger", 4000, 0.0, out, sizeof out, status, sizeof status);
  assert_int_equal(inproc_learner_start(&L), 0);
  void *ctx = zmq_ctx_new();
  stranger_t s = {.dealer = raw_dealer_connect(ctx, PORT)};
  assert_non_null(s.dealer);
  assert_int_equal(evaluator_hello(&s, "stranger/eval"), WIRE_MSG_WELCOME);
  /* the default --max-evaluators is 1: a second evaluator waits */
  stranger_t second = {.dealer = raw_dealer_connect(ctx, PORT)};
  assert_non_null(second.dealer);
  assert_int_equal(evaluator_hello(&second, "second/eval"), WIRE_MSG_REJECT);

  /* a return of 0 at 0 env steps: the untrained networks, which never end a run */
  uint64_t t0 = td3_now_ns();
  stranger_report(&s, 0, 0, 0.0f, 1);
  inproc_actor_t a;
  actor_start(&a, PORT, "claims/0", 0);
  td3_sleep_ms(1000);
  assert_false(atomic_load(&L.done));

  /* 1000 at env steps the run has reached, naming its latest weights, twice: the learner's
   * own evaluation refuses the first, and the second comes too soon after that check */
  stranger_wait_steps(&s, 1500);
  stranger_report(&s, s.env_steps, s.version, 1000.0f, 5);
  stranger_report(&s, s.env_steps, s.version, 1000.0f, 5);
  double unconfirmed = -1;
  for (int i = 0; i < 300 && unconfirmed < 2; i++) {
    td3_sleep_ms(100);
    stranger_heartbeat(&s);
    unconfirmed = metric(PORT + 5, "td3d_target_reports_total{result=\"unconfirmed\"}");
  }
  printf("the claims were refused within %.1f s of the first report; /metrics: unconfirmed %.0f, "
         "untrained %.0f\n",
         (double)(td3_now_ns() - t0) / 1e9, unconfirmed,
         metric(PORT + 5, "td3d_target_reports_total{result=\"untrained\"}"));
  assert_true(unconfirmed == 2);
  assert_false(atomic_load(&L.done));

  if (!inproc_learner_join(&L, 300000)) fail_msg("the learner did not finish within 300 s");
  inproc_actor_stop(&a);
  zmq_close(s.dealer);
  zmq_close(second.dealer);
  zmq_ctx_term(ctx);
  printf("rc %d, solved %d, inserted %llu, best %.1f; target reports: confirmed %llu, "
         "unconfirmed %llu, untrained %llu\n",
         L.rc, L.res.solved, (unsigned long long)L.stats.inserted, L.res.best_eval,
         (unsigned long long)L.stats.target_confirmed,
         (unsigned long long)L.stats.target_unconfirmed,
         (unsigned long long)L.stats.target_untrained);
  assert_int_equal(L.rc, 0);
  assert_false(L.res.solved);
  assert_int_equal(L.stats.inserted, 4000);
  assert_int_equal(L.stats.target_untrained, 1);
  assert_int_equal(L.stats.target_unconfirmed, 2);
  assert_int_equal(L.stats.target_confirmed, 0);
  assert_true(L.res.best_eval < 0); /* the 1000s were not recorded; the final evaluation was */
}

/* ---- 2. a real evaluator's claim ---- */

static void genuine_claim_confirmed(void **state) {
  (void)state;
  enum { PORT = 23310 };
  char out[512], status[64];
  inproc_learner_t L;
  /* a target any trained Pendulum policy reaches: the learner's check agrees */
  learner_prepare(&L, PORT, "genuine", 100000000, -1e9, out, sizeof out, status, sizeof status);
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t a, ev;
  actor_start(&a, PORT, "genuine/0", 0);
  actor_start(&ev, PORT, "genuine/eval", 1);
  int ended = inproc_learner_join(&L, 120000);
  inproc_actor_stop(&a);
  inproc_actor_stop(&ev);
  printf("rc %d, solved %d at %llu env steps (%.1f s), last eval %.1f; target reports: "
         "confirmed %llu, unconfirmed %llu, untrained %llu\n",
         L.rc, L.res.solved, (unsigned long long)L.res.solved_at, L.res.solved_seconds,
         L.res.last_eval, (unsigned long long)L.stats.target_confirmed,
         (unsigned long long)L.stats.target_unconfirmed,
         (unsigned long long)L.stats.target_untrained);
  assert_true(ended);
  assert_int_equal(L.rc, 0);
  assert_true(L.res.solved);
  assert_true(L.res.solved_at > 500); /* past the random start: a trained policy */
  assert_int_equal(L.stats.target_confirmed, 1);
  assert_int_equal(L.stats.target_unconfirmed, 0);
}

/* ---- 4. a stranger's claims while the run's evaluator works ---- */

static void target_reached_despite_claims(void **state) {
  (void)state;
  enum { PORT = 23350 };
  char out[512], status[64];
  inproc_learner_t L;
  snprintf(out, sizeof out, "%s/despite", tmp);
  snprintf(status, sizeof status, "127.0.0.1:%u", PORT + 5);
  inproc_learner_init_solvable(&L, PORT, 60000, out, status);
  L.cfg.max_evaluators = 2;
  assert_int_equal(inproc_learner_start(&L), 0);
  void *ctx = zmq_ctx_new();
  stranger_t s = {.dealer = raw_dealer_connect(ctx, PORT)};
  assert_non_null(s.dealer);
  assert_int_equal(evaluator_hello(&s, "stranger/eval"), WIRE_MSG_WELCOME);
  inproc_actor_t a, ev;
  actor_start(&a, PORT, "despite/0", 0);
  actor_start(&ev, PORT, "despite/eval", 1);
  uint64_t t0 = td3_now_ns(), claims = 0;
  while (!atomic_load(&L.done) && td3_now_ns() - t0 < 300000000000ULL) {
    stranger_heartbeat(&s); /* also reads the run's env steps and weights version */
    if (s.version && s.env_steps > 1000) {
      stranger_report(&s, s.env_steps, s.version, 1000.0f, 5);
      claims++;
    }
    td3_sleep_ms(300);
  }
  int ended = inproc_learner_join(&L, 1000);
  inproc_actor_stop(&a);
  inproc_actor_stop(&ev);
  zmq_close(s.dealer);
  zmq_ctx_term(ctx);
  printf("rc %d, %s at %llu env steps (%.1f s) with %llu claims of 1000 meanwhile; best %.1f; "
         "target reports: confirmed %llu, unconfirmed %llu\n",
         L.rc, L.res.solved ? "solved" : "NOT solved", (unsigned long long)L.res.solved_at,
         L.res.solved_seconds, (unsigned long long)claims, L.res.best_eval,
         (unsigned long long)L.stats.target_confirmed,
         (unsigned long long)L.stats.target_unconfirmed);
  assert_true(ended);
  assert_int_equal(L.rc, 0);
  assert_true(L.res.solved);
  assert_true(L.res.solved_at < 60000);
  assert_true(claims >= 3);
  assert_true(L.stats.target_unconfirmed >= 1); /* the early claims: checked and refused */
  assert_int_equal(L.stats.target_confirmed, 1);
  assert_true(L.res.best_eval < 1000); /* no claim of 1000 was recorded */
}

/* ---- 3. an external env: two reports in a row ---- */

static void external_needs_two_reports(void **state) {
  (void)state;
  enum { PORT = 23320 };
  char out[512], status[64];
  static const float low[1] = {-2}, high[1] = {2};
  inproc_learner_t L;
  learner_prepare(&L, PORT, "external", 100000000, -500, out, sizeof out, status, sizeof status);
  L.cfg.env_id = "external:Pendulum-v1"; /* the actor steps Pendulum-v1; the learner cannot */
  L.cfg.external = (learner_external_t){.obs_dim = 3, .act_dim = 1, .action_low = low,
                                        .action_high = high};
  assert_int_equal(inproc_learner_start(&L), 0);
  void *ctx = zmq_ctx_new();
  stranger_t s = {.dealer = raw_dealer_connect(ctx, PORT)};
  assert_non_null(s.dealer);
  assert_int_equal(evaluator_hello(&s, "external/eval"), WIRE_MSG_WELCOME);
  inproc_actor_t a;
  actor_start(&a, PORT, "external/0", 0);
  stranger_wait_steps(&s, 1500);
  /* at the target, then below it, then at it: never two in a row */
  stranger_report(&s, s.env_steps, s.version, -100.0f, 5);
  stranger_report(&s, s.env_steps, s.version, -1000.0f, 5);
  stranger_report(&s, s.env_steps, s.version, -100.0f, 5);
  /* at the target again, from the evaluator's connection without its lease, then with its
   * low word only: neither is recorded (either would be the second in a row) */
  stranger_t bare = s;
  bare.lease = (wire_lease_t){0, 0};
  stranger_report(&bare, s.env_steps, s.version, -100.0f, 5);
  bare.lease.lo = s.lease.lo;
  stranger_report(&bare, s.env_steps, s.version, -100.0f, 5);
  td3_sleep_ms(1500);
  assert_false(atomic_load(&L.done));
  /* a second in a row ends it */
  stranger_heartbeat(&s);
  uint64_t at = s.env_steps, t0 = td3_now_ns();
  stranger_report(&s, at, s.version, -100.0f, 5);
  int ended = inproc_learner_join(&L, 30000);
  double took = (double)(td3_now_ns() - t0) / 1e9;
  inproc_actor_stop(&a);
  zmq_close(s.dealer);
  zmq_ctx_term(ctx);
  printf("the second report in a row ended the run in %.1f s: rc %d, solved %d at %llu env "
         "steps; confirmed %llu; refused as unregistered %llu\n",
         took, L.rc, L.res.solved, (unsigned long long)L.res.solved_at,
         (unsigned long long)L.stats.target_confirmed,
         (unsigned long long)L.stats.rejected_unregistered);
  assert_true(ended);
  assert_int_equal(L.rc, 0);
  assert_true(L.res.solved);
  assert_int_equal(L.res.solved_at, at);
  assert_int_equal(L.stats.target_confirmed, 1);
  assert_int_equal(L.stats.target_unconfirmed, 0);
  assert_int_equal(L.stats.rejected_unregistered, 2); /* the two reports without the lease */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(stranger_cannot_end_run, setup, teardown),
      cmocka_unit_test_setup_teardown(genuine_claim_confirmed, setup, teardown),
      cmocka_unit_test_setup_teardown(target_reached_despite_claims, setup, teardown),
      cmocka_unit_test_setup_teardown(external_needs_two_reports, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
