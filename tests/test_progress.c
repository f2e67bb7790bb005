/* Tests for common/run/progress: the live line shows rates over the last few seconds (not the
 * whole run's averages, which a resumed run or a slow start make stale), an ETA from that
 * rate, "-" before a rate is known, and nothing at all when not live; a resumed run's elapsed
 * time (the wall_seconds of its progress.csv rows) goes on from its earlier time, and its
 * rates and ETA count only the steps of this process; counters that go back restart the rate
 * window; persistent lines clear the live line first. (progress.csv itself is rundir's:
 * tests/test_rundir.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "progress.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Standard output sent to a file between capture_begin and capture_end, which returns what
 * was printed. */
static int g_fd = -1, g_saved = -1;

static void capture_begin(void) {
  char path[] = "/tmp/td3d_test_progress_XXXXXX";
  g_fd = mkstemp(path);
  assert_true(g_fd >= 0);
  unlink(path);
  fflush(stdout);
  g_saved = dup(STDOUT_FILENO);
  assert_true(g_saved >= 0);
  assert_true(dup2(g_fd, STDOUT_FILENO) >= 0);
}

static char *capture_end(void) {
  fflush(stdout);
  assert_true(dup2(g_saved, STDOUT_FILENO) >= 0);
  close(g_saved);
  static char buf[4096];
  ssize_t n = pread(g_fd, buf, sizeof buf - 1, 0);
  assert_true(n >= 0);
  buf[n] = 0;
  close(g_fd);
  return buf;
}

/* Runs one progress_update with standard output sent to a file; returns what it printed. */
static char *capture_update(progress_t *p, const progress_status_t *s) {
  capture_begin();
  progress_update(p, s);
  return capture_end();
}

typedef struct rates {
  long steps;
  double sps, ups, eta;
} rates_t;

/* The figures of a live line "steps S/T | X steps/s | Y updates/s | ... | ETA Zs". */
static rates_t read_rates(const char *line) {
  rates_t r = {0};
  const char *p = strstr(line, "steps ");
  assert_non_null(p);
  long total;
  assert_int_equal(sscanf(p, "steps %ld/%ld | %lf steps/s | %lf updates/s", &r.steps, &total,
                          &r.sps, &r.ups), 4);
  const char *e = strstr(line, "ETA ");
  assert_non_null(e);
  assert_int_equal(sscanf(e, "ETA %lfs", &r.eta), 1);
  return r;
}

/* A live progress_t whatever standard output is. */
static void live_progress(progress_t *p) {
  progress_init(p, 1);
  p->live = 1;
}

static void test_rate_unknown_at_first(void **state) {
  (void)state;
  progress_t p;
  live_progress(&p);
  /* a resumed run: 200k steps were done before this process started */
  progress_status_t s = {.env_steps = 200000, .total_steps = 300000, .updates = 190000,
                         .replay_size = 200000, .last_eval = NAN};
  const char *out = capture_update(&p, &s);
  assert_non_null(strstr(out, "steps 200000/300000 | - steps/s | - updates/s"));
  assert_non_null(strstr(out, "last eval - | ETA -"));
  progress_finish(&p);
}

static void test_recent_rate_and_eta(void **state) {
  (void)state;
  progress_t p;
  live_progress(&p);
  progress_status_t s = {.env_steps = 1000, .total_steps = 10000, .updates = 1000,
                         .replay_size = 1000, .last_eval = -150.25};
  capture_update(&p, &s); /* opens the window at 1000 steps, 1000 updates */
  /* as if that was 4 s ago: 4000 steps and 2000 updates since are 1000/s and 500/s */
  p.window_ns -= 4000000000ULL;
  p.last_draw_ns = 0;
  s.env_steps = 5000;
  s.updates = 3000;
  const char *out = capture_update(&p, &s);
  /* the window is 4 s plus the time this test took between the calls (milliseconds on a
   * loaded machine): the figures within 2% */
  rates_t r = read_rates(out);
  assert_int_equal(r.steps, 5000);
  assert_true(fabs(r.sps - 1000) <= 20 && fabs(r.ups - 500) <= 10);
  assert_true(r.eta >= 5 && r.eta <= 6);
  assert_non_null(strstr(out, "last eval -150.2 | ETA "));
  /* the next window measures from 5000, not from the run's start */
  p.window_ns -= 5000000000ULL;
  p.last_draw_ns = 0;
  s.env_steps = 6000;
  s.updates = 4000;
  out = capture_update(&p, &s);
  r = read_rates(out);
  assert_int_equal(r.steps, 6000);
  assert_true(fabs(r.sps - 200) <= 4 && fabs(r.ups - 200) <= 4);
  assert_true(r.eta >= 20 && r.eta <= 21);
  progress_finish(&p);
}

static void test_silent_when_not_live(void **state) {
  (void)state;
  progress_t p;
  progress_init(&p, 1);
  p.live = 0;
  progress_status_t s = {.env_steps = 1, .total_steps = 2, .updates = 0, .last_eval = NAN};
  assert_string_equal(capture_update(&p, &s), "");
  progress_init(&p, 0);
  p.live = 1;
  assert_string_equal(capture_update(&p, &s), "");
}

/* A resumed run: its elapsed time goes on from the checkpoint's, its rates and ETA count
 * only what this process did. */
static void test_resumed_run(void **state) {
  (void)state;
  progress_t p;
  live_progress(&p);
  p.offset_s = 5000; /* the run had 5000 s behind it */
  double e = progress_elapsed(&p);
  assert_true(e >= 5000 && e < 5000.5);
  p.start_ns -= 2000000000ULL; /* 2 s into this process */
  e = progress_elapsed(&p);
  assert_true(e >= 5002 && e < 5002.5);

  progress_status_t s = {.env_steps = 200000, .total_steps = 300000, .updates = 190000,
                         .replay_size = 200000, .last_eval = 3000};
  capture_update(&p, &s);
  p.window_ns -= 4000000000ULL;
  p.last_draw_ns = 0;
  s.env_steps = 204000; /* 4000 steps and 2000 updates in 4 s */
  s.updates = 192000;
  rates_t r = read_rates(capture_update(&p, &s));
  /* not 204000 / 5006 s = 41 steps/s, the average over the whole run */
  assert_true(fabs(r.sps - 1000) <= 20 && fabs(r.ups - 500) <= 10);
  /* 96000 steps to go at 1000/s */
  assert_true(r.eta >= 96 && r.eta <= 98);
  /* the budget spent: no ETA */
  p.window_ns -= 4000000000ULL;
  p.last_draw_ns = 0;
  s.env_steps = 300000;
  const char *out = capture_update(&p, &s);
  assert_non_null(strstr(out, "steps 300000/300000 | "));
  assert_non_null(strstr(out, "last eval 3000.0 | ETA -"));
  progress_finish(&p);
}

/* Counters below the window's start (a new run in the same process) restart the window
 * rather than wrap around. */
static void test_counters_going_back(void **state) {
  (void)state;
  progress_t p;
  live_progress(&p);
  progress_status_t s = {.env_steps = 5000, .total_steps = 10000, .updates = 5000,
                         .last_eval = NAN};
  capture_update(&p, &s);
  p.window_ns -= 4000000000ULL;
  p.last_draw_ns = 0;
  s.env_steps = 100;
  s.updates = 50;
  capture_update(&p, &s); /* restarts the window at 100 steps, 50 updates */
  assert_int_equal(p.window_steps, 100);
  assert_int_equal(p.window_updates, 50);
  p.window_ns -= 4000000000ULL;
  p.last_draw_ns = 0;
  s.env_steps = 1100;
  s.updates = 450;
  rates_t r = read_rates(capture_update(&p, &s));
  assert_true(fabs(r.sps - 250) <= 5 && fabs(r.ups - 100) <= 2);
  assert_true(r.eta >= 35 && r.eta <= 36);
  progress_finish(&p);
}

/* A persistent line clears the live line first and ends with a newline; the next update
 * draws the live line again at once. */
static void test_print_clears_live_line(void **state) {
  (void)state;
  progress_t p;
  live_progress(&p);
  progress_status_t s = {.env_steps = 1, .total_steps = 2, .last_eval = NAN};
  capture_update(&p, &s);
  assert_int_equal(p.line_shown, 1);
  capture_begin();
  progress_print(&p, "eval %d: %.1f", 3, -150.25);
  assert_string_equal(capture_end(), "\r\033[Keval 3: -150.2\n");
  assert_int_equal(p.line_shown, 0);
  const char *out = capture_update(&p, &s); /* drawn again, without a clear: nothing shown */
  assert_int_equal(strncmp(out, "steps 1/2 | ", 12), 0);
  capture_begin();
  progress_finish(&p);
  assert_string_equal(capture_end(), "\r\033[K");
  /* not live (a pipe): the line alone; quiet: nothing */
  progress_init(&p, 1);
  p.live = 0;
  capture_begin();
  progress_print(&p, "eval %d", 4);
  assert_string_equal(capture_end(), "eval 4\n");
  progress_init(&p, 0);
  capture_begin();
  progress_print(&p, "eval %d", 5);
  assert_string_equal(capture_end(), "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rate_unknown_at_first),
      cmocka_unit_test(test_recent_rate_and_eta),
      cmocka_unit_test(test_silent_when_not_live),
      cmocka_unit_test(test_resumed_run),
      cmocka_unit_test(test_counters_going_back),
      cmocka_unit_test(test_print_clears_live_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
