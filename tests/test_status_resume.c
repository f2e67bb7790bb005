/* The status server of one run across a resume, against learners in this process (ports
 * 28410-28412, status on 28491): before any batch the evaluator's first evaluation (of the
 * initial networks) is marked untrained and is not the best, and nothing prints as nan;
 * after the learner is stopped and resumed from its checkpoint, with a trainer slowed to
 * about 50 updates/s so that transitions arrive in bursts seconds apart, the env steps rate
 * on /status stays above zero while the actor runs, and matches what this process inserts
 * (not the restored totals over the restored time). The tests run in order and share the
 * run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "inproc.h"
#include "log.h"
#include "status.h"

#include <arpa/inet.h>
#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 28410u
#define STATUS_PORT 28491u
#define START_STEPS 300

static char tmp[256];
static inproc_learner_t L;  /* the run, then the resumed run */
static inproc_actor_t E, A; /* evaluator, actor */

static char *http_body(const char *path) { return http_get_body(STATUS_PORT, path); }

/* /status as JSON (caller frees with json_decref), or NULL while the server is not up. */
static json_t *status_json(void) {
  char *b = http_body("/status");
  if (!b) return NULL;
  json_error_t jerr;
  json_t *j = json_loads(b, 0, &jerr);
  if (!j) fail_msg("/status is not JSON (%s): %.200s", jerr.text, b);
  free(b);
  return j;
}

static double jnum(json_t *o, const char *a, const char *b) {
  json_t *v = json_object_get(o, a);
  if (b) v = json_object_get(v, b);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Waits up to limit_s seconds for /status to satisfy ok; returns the document (caller
 * frees) or fails the test with what. */
static json_t *wait_status(int (*ok)(json_t *), double limit_s, const char *what) {
  for (int i = 0; i < (int)(limit_s * 10); i++) {
    json_t *j = status_json();
    if (j && ok(j)) return j;
    json_decref(j);
    td3_sleep_ms(100);
  }
  fail_msg("%s did not happen within %.0f s", what, limit_s);
  return NULL;
}

static void learner_setup(inproc_learner_t *j) {
  inproc_learner_init(j, "Pendulum-v1", PORT);
  j->cfg.steps = 100000000;
  j->cfg.start_steps = START_STEPS;
  j->cfg.eval_every = 500;
  j->cfg.eval_episodes = 2;
  j->cfg.td3.hidden[0] = j->cfg.td3.hidden[1] = 32;
  j->cfg.td3.batch = 32;
  j->cfg.out_dir = tmp;
  j->cfg.progress = 0;
  j->cfg.checkpoint_every = 0; /* as the run starts and as it stops */
  j->cfg.status_bind = "127.0.0.1:28491";
}

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_WARN);
  snprintf(tmp, sizeof tmp, "/tmp/td3d_test_status_resume_%ld", (long)getpid());
  learner_setup(&L);
  L.cfg.overwrite = 1;
  return inproc_learner_start(&L);
}

static int teardown(void **state) {
  (void)state;
  inproc_actor_stop(&E);
  inproc_actor_stop(&A);
  inproc_learner_join(&L, 0);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  return system(cmd) == 0 && L.rc == 0 ? 0 : -1;
}

/* ---- before any batch: the untrained evaluation ---- */

static int has_evaluation(json_t *j) { return json_array_size(json_object_get(j, "curve")) >= 1; }

static void untrained_evaluation_is_not_best(void **state) {
  (void)state;
  /* the evaluator alone: it evaluates the first weights (the initial networks) at 0 steps */
  inproc_actor_init(&E, "Pendulum-v1", PORT, "resume/eval", 1);
  assert_int_equal(inproc_actor_start(&E), 0);
  json_t *j = wait_status(has_evaluation, 60, "a first evaluation");
  json_t *p = json_array_get(json_object_get(j, "curve"), 0);
  assert_int_equal(json_integer_value(json_object_get(p, "env_steps")), 0);
  assert_true(json_is_true(json_object_get(p, "untrained")));
  assert_true(json_is_null(json_object_get(j, "best_eval")));
  assert_true(json_is_null(json_object_get(json_object_get(j, "policy_lag"), "mean")));
  json_decref(j);
  char *m = http_body("/metrics");
  assert_non_null(m);
  assert_non_null(strstr(m, "\ntd3d_eval_return_last "));
  assert_null(strstr(m, "td3d_eval_return_best"));
  assert_null(strstr(m, "NaN"));
  free(m);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s status 127.0.0.1:%u", TD3D_BINARY, STATUS_PORT);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  char out[65536];
  size_t len = fread(out, 1, sizeof out - 1, f);
  out[len] = 0;
  int rc = pclose(f);
  printf("%s", out);
  assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
  assert_non_null(strstr(out, "  untrained\n"));
  assert_non_null(strstr(out, "best          - (no evaluation of a trained policy yet)"));
  assert_non_null(strstr(out, "policy lag    mean -"));
  assert_null(strstr(out, "nan"));
}

/* ---- the resumed run's rates ---- */

static int trained_a_while(json_t *j) {
  return jnum(j, "counters", "updates") >= 2000 && json_is_object(json_object_get(j, "best_eval"));
}

static uint64_t checkpoint_steps;
static int inserting_again(json_t *j) {
  return jnum(j, "counters", "env_steps") > (double)checkpoint_steps;
}

static void rates_after_resume(void **state) {
  (void)state;
  inproc_actor_init(&A, "Pendulum-v1", PORT, "resume/0", 0);
  assert_int_equal(inproc_actor_start(&A), 0);
  json_t *j = wait_status(trained_a_while, 120, "2000 updates and a trained evaluation");
  json_decref(j);
  inproc_learner_join(&L, 0); /* stopped: it checkpoints as it stops */
  assert_int_equal(L.rc, 0);
  checkpoint_steps = L.res.inserted;
  double best = L.res.best_eval, before_s = L.res.wall_seconds;
  assert_true(isfinite(best));
  printf("stopped at %llu env steps, %.1f s, best %.1f\n", (unsigned long long)checkpoint_steps,
         before_s, best);

  /* resumed with a slow trainer (~50 updates/s), batches of 128 and a max lead of 256: after
   * the first 256 transitions a batch is admitted every 2.5 s or so, as a slow HalfCheetah
   * trainer admits its actors' batches */
  learner_setup(&L);
  L.cfg.resume_dir = tmp;
  L.hooks.train_delay_us = 20000;
  L.cfg.batch_steps = 128;
  L.cfg.max_lead = 256;
  assert_int_equal(inproc_learner_start(&L), 0);
  j = wait_status(inserting_again, 60, "the actor inserting into the resumed run");
  /* the evaluations kept across the resume are classified as before: the first stays
   * untrained, the best is at least the stopped run's (progress.csv keeps 4 decimals; the
   * evaluator may have reported a better one since) */
  json_t *p0 = json_array_get(json_object_get(j, "curve"), 0);
  assert_true(json_is_true(json_object_get(p0, "untrained")));
  double best_now = jnum(j, "best_eval", "mean_return");
  if (!(best_now > best - 0.001)) fail_msg("best %.4f after the resume, %.4f before", best_now, best);
  double t0 = jnum(j, "wall_seconds", NULL), s0 = jnum(j, "counters", "env_steps");
  json_decref(j);
  double rate = NAN, t1 = t0, s1 = s0;
  for (int i = 0; i < 20; i++) { /* 10 s */
    td3_sleep_ms(500);
    j = status_json();
    assert_non_null(j);
    rate = jnum(j, "throughput", "env_steps_per_second");
    t1 = jnum(j, "wall_seconds", NULL);
    s1 = jnum(j, "counters", "env_steps");
    printf("%5.1f s: %6.0f env steps, %6.1f env steps/s, %6.1f updates/s\n", t1, s1, rate,
           jnum(j, "throughput", "updates_per_second"));
    json_decref(j);
    if (!(rate > 0)) fail_msg("the resumed run shows %.1f env steps/s while its actor runs", rate);
  }
  /* what this process inserted over those 10 s, against the rate /status gave at the end:
   * the same figure within the burstiness of the arrivals (the restored totals over the
   * restored time would be tens of times more, the trainer ran unhindered before) */
  double seen = (s1 - s0) / (t1 - t0);
  printf("inserted %.0f env steps in %.1f s: %.1f /s; /status said %.1f /s\n", s1 - s0, t1 - t0,
         seen, rate);
  assert_true(seen > 0);
  assert_true(rate > seen / 4 && rate < seen * 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(untrained_evaluation_is_not_best),
      cmocka_unit_test(rates_after_resume),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
