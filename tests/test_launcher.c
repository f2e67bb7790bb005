/* Tests for tools/launcher: the supervision of `td3d run`, driven with small /bin/sh children.
 * The primary's exit status is the run's (an exit code, 128 + a signal, 127 for a program that
 * cannot be run); when it ends the others get SIGTERM; a stop request reaches the primary as
 * SIGTERM and one that ignores it is killed after the grace period; another child that fails
 * is restarted after the 1 s back-off (then 2 s), one that exits 0 is not; a primary killed by
 * a signal restarts from its checkpoint (or from the start without one) at most max_restarts
 * times; a stop while it waits for that restart ends the run with status 0. Children leave
 * files behind as evidence of what they were sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "launcher.h"
#include "log.h"
#include "tmpdir.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

static int setup(void **state) {
  (void)state;
  return tmpdir_create(g_dir, sizeof g_dir, "test_launcher");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_dir);
}

/* An argv running a shell script; the script's %s are replaced by g_dir. */
typedef struct script {
  char text[512];
  char *argv[4];
} script_t;

static char **sh(script_t *s, const char *fmt) {
  /* every %s in fmt is the test directory */
  char *o = s->text;
  for (const char *p = fmt; *p; p++) {
    if (p[0] == '%' && p[1] == 's') {
      o += snprintf(o, (size_t)(s->text + sizeof s->text - o), "%s", g_dir);
      p++;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  s->argv[0] = "sh";
  s->argv[1] = "-c";
  s->argv[2] = s->text;
  s->argv[3] = NULL;
  return s->argv;
}

/* Lines in g_dir/name (-1 when it does not exist). */
static int lines(const char *name) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

static double seconds_since(uint64_t t0) { return (double)(td3_now_ns() - t0) * 1e-9; }

/* Runs the launcher over n children with a fresh result; returns launcher_run's code. */
static int run(launch_child_t *ch, uint32_t n, _Atomic int *stop, uint32_t grace_ms,
               launcher_result_t *res) {
  td3_err_t err = {0};
  for (uint32_t i = 0; i < n; i++) ch[i].pid = 0;
  int rc = launcher_run("/bin/sh", ch, n, stop, grace_ms, res, &err);
  for (uint32_t i = 0; i < n; i++) assert_int_equal(ch[i].pid, 0); /* every child reaped */
  return rc;
}

/* A child that records a SIGTERM in g_dir/name and exits 0 on it. */
#define ON_TERM(name) "sleep 30 & p=$!; trap 'kill $p; echo term >> %s/" name "; exit 0' TERM; wait"

static void test_primary_status_ends_run(void **state) {
  (void)state;
  script_t s0, s1;
  launch_child_t ch[2] = {
      {.role = "learner", .argv = sh(&s0, "sleep 0.5; exit 7")},
      {.role = "actor 0", .argv = sh(&s1, ON_TERM("actor_term"))},
  };
  launcher_result_t res;
  uint64_t t0 = td3_now_ns();
  assert_int_equal(run(ch, 2, NULL, 5000, &res), 0);
  assert_int_equal(res.primary_status, 7);
  assert_int_equal(res.restarts, 0);
  assert_int_equal(res.primary_restarts, 0);
  assert_int_equal(lines("actor_term"), 1); /* asked to stop, not killed */
  assert_true(seconds_since(t0) < 4);

  /* a signal is 128 + its number; the unsolved status passes through like any other */
  script_t s2;
  launch_child_t one = {.role = "learner", .argv = sh(&s2, "kill -9 $$")};
  assert_int_equal(run(&one, 1, NULL, 1000, &res), 0);
  assert_int_equal(res.primary_status, 128 + 9);
  one.argv = sh(&s2, "exit 3");
  assert_int_equal(run(&one, 1, NULL, 1000, &res), 0);
  assert_int_equal(res.primary_status, LAUNCH_EXIT_UNSOLVED);
  /* a program that cannot be run: the child's exec fails */
  td3_err_t err = {0};
  one.pid = 0;
  assert_int_equal(launcher_run("/nonexistent/td3d", &one, 1, NULL, 1000, &res, &err), 0);
  assert_int_equal(res.primary_status, 127);
}

typedef struct delayed_stop {
  _Atomic int *flag;
  unsigned ms;
} delayed_stop_t;

static void *stop_later(void *arg) {
  delayed_stop_t *d = arg;
  td3_sleep_ms(d->ms);
  *d->flag = 1;
  return NULL;
}

/* Runs the launcher with a stop request ms after the start (the children have installed
 * their traps by then). */
static void run_stopped_after(launch_child_t *ch, uint32_t n, unsigned ms, uint32_t grace_ms,
                              launcher_result_t *res) {
  _Atomic int stop = 0;
  delayed_stop_t d = {&stop, ms};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, stop_later, &d), 0);
  assert_int_equal(run(ch, n, &stop, grace_ms, res), 0);
  pthread_join(th, NULL);
}

static void test_stop_reaches_primary_first(void **state) {
  (void)state;
  script_t s0, s1;
  launch_child_t ch[2] = {
      {.role = "learner", .argv = sh(&s0, ON_TERM("learner_term"))},
      {.role = "actor 0", .argv = sh(&s1, ON_TERM("actor_term2"))},
  };
  launcher_result_t res;
  uint64_t t0 = td3_now_ns();
  run_stopped_after(ch, 2, 400, 5000, &res);
  assert_int_equal(res.primary_status, 0); /* it finished on SIGTERM */
  assert_int_equal(lines("learner_term"), 1);
  assert_int_equal(lines("actor_term2"), 1);
  assert_true(seconds_since(t0) < 4);

  /* a primary that ignores SIGTERM is killed when the grace period is over */
  script_t s2;
  launch_child_t deaf = {.role = "learner", .argv = sh(&s2, "trap '' TERM; exec sleep 30")};
  t0 = td3_now_ns();
  run_stopped_after(&deaf, 1, 400, 300, &res);
  assert_int_equal(res.primary_status, 128 + 9);
  double took = seconds_since(t0);
  assert_true(took >= 0.6 && took < 4); /* 0.4 s to the stop, 0.3 s of grace, then SIGKILL */
}

static void test_restarts_with_backoff(void **state) {
  (void)state;
  script_t s0, s1, s2;
  launch_child_t ch[3] = {
      {.role = "learner", .argv = sh(&s0, "sleep 2.2")},
      {.role = "actor 0", .argv = sh(&s1, "echo run >> %s/failing; exit 1")},
      {.role = "actor 1", .argv = sh(&s2, "echo run >> %s/done; exit 0")},
  };
  launcher_result_t res;
  assert_int_equal(run(ch, 3, NULL, 5000, &res), 0);
  assert_int_equal(res.primary_status, 0);
  /* failed at ~0 s, restarted at ~1 s, failed again: the next try is due at ~3 s, after the
   * run ended at 2.2 s */
  assert_int_equal(lines("failing"), 2);
  assert_int_equal(ch[1].restarts, 1);
  assert_int_equal(ch[1].backoff_ms, 4000);
  assert_int_equal(res.restarts, 1);
  /* an actor that exits 0 was told the run is over: not restarted */
  assert_int_equal(lines("done"), 1);
  assert_int_equal(ch[2].restarts, 0);
  assert_int_equal(res.primary_restarts, 0);
}

static void test_primary_resumes_after_a_kill(void **state) {
  (void)state;
  char ckpt[128];
  snprintf(ckpt, sizeof ckpt, "%s/checkpoint", g_dir);
  script_t s0, s1, s2;
  launch_child_t p = {.role = "learner", .argv = sh(&s0, "kill -9 $$"),
                      .resume_argv = sh(&s1, "exit 5"), .fresh_argv = sh(&s2, "exit 6"),
                      .resume_check = ckpt, .max_restarts = 3};
  launcher_result_t res;
  /* no checkpoint yet: from the start */
  assert_int_equal(run(&p, 1, NULL, 1000, &res), 0);
  assert_int_equal(res.primary_status, 6);
  assert_int_equal(res.primary_restarts, 1);
  /* with one: from it */
  FILE *f = fopen(ckpt, "w");
  assert_non_null(f);
  fclose(f);
  p.argv = s0.argv;
  p.restarts = 0;
  assert_int_equal(run(&p, 1, NULL, 1000, &res), 0);
  assert_int_equal(res.primary_status, 5);
  assert_int_equal(res.primary_restarts, 1);
  /* killed every time: given up after max_restarts, with the signal's status */
  p.argv = p.resume_argv = p.fresh_argv = s0.argv;
  p.restarts = 0;
  p.max_restarts = 1;
  assert_int_equal(run(&p, 1, NULL, 1000, &res), 0);
  assert_int_equal(res.primary_status, 128 + 9);
  assert_int_equal(res.primary_restarts, 1);
  /* a stop while it waits for its restart: the run ends there, successfully */
  p.restarts = 0;
  p.max_restarts = 3;
  uint64_t t0 = td3_now_ns();
  run_stopped_after(&p, 1, 300, 1000, &res);
  assert_int_equal(res.primary_status, 0);
  assert_int_equal(res.primary_restarts, 0);
  assert_true(seconds_since(t0) < 1.0); /* before the 1 s back-off was over */
}

/* Runs launch_print_unsolved with standard output in a file; returns what it printed. */
static const char *print_unsolved(double best, double target) {
  char path[] = "/tmp/td3d_test_launcher_out_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  assert_true(dup2(fd, STDOUT_FILENO) >= 0);
  launch_print_unsolved(best, target);
  fflush(stdout);
  assert_true(dup2(saved, STDOUT_FILENO) >= 0);
  close(saved);
  static char buf[512];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  assert_true(n >= 0);
  buf[n] = '\0';
  close(fd);
  unlink(path);
  return buf;
}

static void test_last_lines(void **state) {
  (void)state;
  char buf[32];
  assert_string_equal(launch_fmt_return(buf, sizeof buf, NAN), "-");
  assert_string_equal(launch_fmt_return(buf, sizeof buf, -1234.567), "-1234.57");
  assert_string_equal(launch_fmt_return(buf, sizeof buf, 0), "0.00");
  assert_string_equal(print_unsolved(2875.5, 3000),
                      "target NOT reached: the best evaluation was 2875.50, the target 3000.00 "
                      "(exit status 3)\n");
  assert_string_equal(print_unsolved(NAN, -200),
                      "target NOT reached: no evaluation of a trained policy, the target -200.00 "
                      "(exit status 3)\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_primary_status_ends_run),
      cmocka_unit_test(test_stop_reaches_primary_first),
      cmocka_unit_test(test_restarts_with_backoff),
      cmocka_unit_test(test_primary_resumes_after_a_kill),
      cmocka_unit_test(test_last_lines),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
