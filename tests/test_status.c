/* Tests for the learner's status server (learner/status.h) against a live learner in this
 * process (two actors and an evaluator on loopback ports 28400-28402, status on 28490;
 * tests/harness/status_live.h): /metrics, /status, /, /healthz, `td3d status`, and the
 * rendering of a synthetic snapshot. Errors and limits are tests/test_status_limits.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inproc.h"
#include "log.h"
#include "status.h"
#include "status_live.h"

#include <arpa/inet.h>
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 28400u
#define STATUS_PORT 28490u

/* ---- the documents ---- */

static void metrics_served_and_move(void **state) {
  (void)state;
  double first = NAN, later = NAN;
  for (int i = 0; i < 150 && !(later > first); i++) {
    char *r = status_live_get("GET", "/metrics");
    assert_int_equal(status_live_code(r), 200);
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    const char *b = status_live_body(r);
    double v = status_live_metric(b, "td3d_updates_total");
    if (isnan(first)) first = v;
    else later = v;
    if (i == 0) {
      /* kept for tests/status.cmake, which runs promtool check metrics on it */
      FILE *f = fopen("status_metrics.prom", "w");
      if (f) {
        fputs(b, f);
        fclose(f);
      }
      const char *must[] = {"td3d_env_steps_total", "td3d_transitions_inserted_total",
                            "td3d_transitions_dropped_total{reason=\"over_budget\"}",
                            "td3d_weights_version", "td3d_replay_size_transitions",
                            "td3d_replay_capacity_transitions", "td3d_actors_connected",
                            "td3d_policy_lag_versions_bucket{le=\"+Inf\"}",
                            "td3d_update_duration_seconds_count", "td3d_updates_per_second",
                            "td3d_env_steps_per_second",
                            "td3d_ratelimit_state{state=\"collecting\"}",
                            "td3d_ratelimit_blocked_seconds_total{side=\"trainer\"}",
                            "td3d_rejected_messages_total{reason=\"truncated\"}",
                            "td3d_rejected_messages_total{reason=\"unregistered\"}",
                            "td3d_process_resident_memory_bytes"};
      for (size_t k = 0; k < sizeof must / sizeof must[0]; k++)
        if (!strstr(b, must[k])) fail_msg("/metrics lacks %s", must[k]);
      /* every sample line has a HELP and TYPE; every counter ends in _total */
      for (const char *p = strstr(b, "# TYPE "); p; p = strstr(p + 1, "# TYPE ")) {
        char name[128], type[32];
        assert_int_equal(sscanf(p, "# TYPE %127s %31s", name, type), 2);
        if (!strcmp(type, "counter")) {
          size_t n = strlen(name);
          if (n < 6 || strcmp(name + n - 6, "_total") != 0) fail_msg("counter %s lacks _total", name);
        }
        char help[160];
        snprintf(help, sizeof help, "# HELP %s ", name);
        if (!strstr(b, help)) fail_msg("%s has no HELP", name);
      }
    }
    free(r);
    if (!(later > first)) td3_sleep_ms(200);
  }
  printf("td3d_updates_total %.0f then %.0f\n", first, later);
  assert_true(later > first);
  /* the training gauges appear with the first update (absent before: no NaN to export) */
  char *r = status_live_get("GET", "/metrics");
  assert_true(isfinite(status_live_metric(status_live_body(r), "td3d_critic_loss")));
  assert_true(isfinite(status_live_metric(status_live_body(r), "td3d_mean_q")));
  free(r);
}

/* Every evaluation is marked trained or untrained: those at or below the start steps (500)
 * show the initial networks. best_eval is the highest trained one, absent while there is
 * none, and never an untrained one. */
static void check_untrained_and_best(json_t *s) {
  json_t *curve = json_object_get(s, "curve"), *p;
  size_t i;
  double best = NAN;
  json_array_foreach(curve, i, p) {
    json_t *u = json_object_get(p, "untrained");
    if (!json_is_boolean(u)) fail_msg("evaluation %zu has no untrained flag", i);
    assert_true(json_is_number(json_object_get(p, "mean_return")));
    double mean = json_number_value(json_object_get(p, "mean_return"));
    if (json_integer_value(json_object_get(p, "env_steps")) <= 500 && !json_is_true(u))
      fail_msg("evaluation %zu at %lld env steps (start steps 500) is not marked untrained", i,
               (long long)json_integer_value(json_object_get(p, "env_steps")));
    if (!json_is_true(u) && !(mean <= best)) best = mean;
  }
  json_t *b = json_object_get(s, "best_eval");
  assert_non_null(b); /* present, null or an evaluation */
  if (isnan(best)) {
    assert_true(json_is_null(b));
  } else {
    assert_true(json_is_object(b));
    assert_false(json_is_true(json_object_get(b, "untrained")));
    assert_true(json_number_value(json_object_get(b, "mean_return")) == best);
  }
}

static void status_json_with_curve(void **state) {
  (void)state;
  size_t last_actors = 0, last_curve = 0;
  for (int i = 0; i < 600; i++) { /* an evaluation arrives within 60 s */
    char *r = status_live_get("GET", "/status");
    assert_int_equal(status_live_code(r), 200);
    json_error_t jerr;
    json_t *s = json_loads(status_live_body(r), 0, &jerr);
    if (!s) fail_msg("/status is not JSON: %s", jerr.text);
    assert_non_null(json_object_get(s, "config"));
    assert_true(json_is_object(json_object_get(json_object_get(s, "config"), "ports")));
    assert_non_null(json_object_get(json_object_get(s, "counters"), "updates"));
    /* the replay buffer was capped at the step budget: the configuration says so too */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "counters"),
                                                        "replay_capacity")), 500000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "config"),
                                                        "replay_capacity")), 500000);
    size_t n_actors = json_array_size(json_object_get(s, "actors"));
    json_t *curve = json_object_get(s, "curve");
    assert_true(json_is_array(curve));
    size_t n = json_array_size(curve);
    check_untrained_and_best(s);
    json_decref(s);
    free(r);
    if (n && n_actors >= 2) { /* the snapshot lists the actors once they registered */
      r = status_live_get("GET", "/metrics");
      assert_true(isfinite(status_live_metric(status_live_body(r), "td3d_eval_return_last")));
      free(r);
      return;
    }
    last_actors = n_actors;
    last_curve = n;
    td3_sleep_ms(100);
  }
  fail_msg("after 60 s /status lists %zu actors (3 started) and %zu evaluations", last_actors,
           last_curve);
}

/* /status carries the throughput history from the learner's start: samples a couple of
 * seconds apart, oldest first, counters never going back, the first one at the start. */
static void throughput_history_served(void **state) {
  (void)state;
  size_t n = 0;
  for (int i = 0; i < 100; i++) { /* 3 samples take 4 s; the run is usually older already */
    char *r = status_live_get("GET", "/status");
    json_t *s = json_loads(status_live_body(r), 0, NULL);
    assert_non_null(s);
    free(r);
    json_t *t = json_object_get(s, "throughput"), *h = json_object_get(t, "history");
    assert_true(json_is_array(h));
    n = json_array_size(h);
    if (n >= 3) {
      assert_true(n <= STATUS_HISTORY);
      assert_true(json_number_value(json_object_get(t, "rate_window_seconds")) == STATUS_RATE_WINDOW_S);
      assert_true(json_number_value(json_object_get(t, "env_steps_per_second")) > 0);
      json_t *first = json_array_get(h, 0);
      assert_int_equal(json_integer_value(json_object_get(first, "env_steps")), 0);
      for (size_t k = 1; k < n; k++) {
        json_t *a = json_array_get(h, k - 1), *b = json_array_get(h, k);
        double dt = json_number_value(json_object_get(b, "wall_seconds")) -
                    json_number_value(json_object_get(a, "wall_seconds"));
        assert_true(dt >= STATUS_HISTORY_EVERY_S && dt < STATUS_HISTORY_EVERY_S + 2.0);
        assert_true(json_integer_value(json_object_get(b, "env_steps")) >=
                    json_integer_value(json_object_get(a, "env_steps")));
        assert_true(json_integer_value(json_object_get(b, "updates")) >=
                    json_integer_value(json_object_get(a, "updates")));
      }
      json_decref(s);
      printf("throughput history: %zu samples\n", n);
      return;
    }
    json_decref(s);
    td3_sleep_ms(100);
  }
  fail_msg("after 10 s /status holds %zu throughput samples", n);
}

static void dashboard_self_contained(void **state) {
  (void)state;
  char *r = status_live_get("GET", "/");
  assert_int_equal(status_live_code(r), 200);
  assert_non_null(strstr(r, "Content-Type: text/html"));
  const char *b = status_live_body(r);
  assert_non_null(strstr(b, "<svg"));
  assert_non_null(strstr(b, "fetch('status'"));
  assert_null(strstr(b, "http://"));
  assert_null(strstr(b, "https://"));
  assert_null(strstr(b, "src=")); /* no external script, image or font */
  free(r);
  r = status_live_get("HEAD", "/");
  assert_int_equal(status_live_code(r), 200);
  assert_string_equal(status_live_body(r), ""); /* HEAD: the headers only */
  free(r);
}

static void healthz_ok(void **state) {
  (void)state;
  status_live_healthz_check();
}

/* ---- the command ---- */

static void td3d_status_command(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s status 127.0.0.1:%u", TD3D_BINARY, STATUS_PORT);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char buf[65536];
  size_t len = fread(buf, 1, sizeof buf - 1, p);
  buf[len] = 0;
  int rc = pclose(p);
  assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
  assert_non_null(strstr(buf, "env steps"));
  assert_non_null(strstr(buf, "status/0"));
  snprintf(cmd, sizeof cmd, "%s status 127.0.0.1:%u --json", TD3D_BINARY, STATUS_PORT);
  p = popen(cmd, "r");
  len = fread(buf, 1, sizeof buf - 1, p);
  buf[len] = 0;
  rc = pclose(p);
  assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
  json_error_t jerr;
  json_t *s = json_loads(buf, 0, &jerr);
  assert_non_null(s);
  json_decref(s);
  /* --watch redraws until interrupted: about 5 tables in 2.6 s at 0.5 s */
  snprintf(cmd, sizeof cmd, "timeout -s INT 2.6 %s status 127.0.0.1:%u --watch 0.5", TD3D_BINARY,
           STATUS_PORT);
  p = popen(cmd, "r");
  assert_non_null(p);
  len = fread(buf, 1, sizeof buf - 1, p);
  buf[len] = 0;
  pclose(p);
  int tables = 0;
  for (const char *q = buf; (q = strstr(q, "env steps")) != NULL; q++) tables++;
  printf("td3d status --watch 0.5 drew %d tables in 2.6 s\n", tables);
  assert_true(tables >= 3);
  assert_non_null(strstr(buf, "\033[H\033[2J")); /* redrawn in place */
}

/* ---- rendering of a synthetic snapshot ---- */

static void render_escapes_and_histograms(void **state) {
  (void)state;
  status_snapshot_t *s = calloc(1, sizeof *s);
  s->n_actors = 1;
  snprintf(s->actors[0].name, sizeof s->actors[0].name, "a\"b\\c");
  s->lag_hist[0] = 2;
  s->lag_hist[STATUS_LAG_BUCKETS] = 3;
  s->lag_sum = 5000;
  status_buf_t b = {0};
  status_render_metrics(s, 1, &b);
  assert_non_null(strstr(b.data, "name=\"a\\\"b\\\\c\""));
  assert_non_null(strstr(b.data, "td3d_policy_lag_versions_bucket{le=\"0\"} 2\n"));
  assert_non_null(strstr(b.data, "td3d_policy_lag_versions_bucket{le=\"+Inf\"} 5\n"));
  assert_non_null(strstr(b.data, "td3d_policy_lag_versions_count 5\n"));
  assert_null(strstr(b.data, "td3d_critic_loss")); /* no update yet: no gauge */
  assert_null(strstr(b.data, "NaN"));
  char why[256];
  assert_int_equal(status_health(s, 1, why, sizeof why), 0); /* never reported */
  s->taken_ns = 1000;
  s->start_ns = 1000;
  s->rl_state = 1; /* balanced, but no update for 40 s */
  assert_int_equal(status_health(s, 1000 + 40000000000ULL, why, sizeof why), 0);
  assert_int_equal(status_health(s, 1000 + 1000000000ULL, why, sizeof why), 1);
  status_buf_free(&b);
  free(s);
}

static int setup(void **state) {
  (void)state;
  return status_live_start(PORT, STATUS_PORT, "test_status");
}

static int teardown(void **state) {
  (void)state;
  return status_live_stop();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(render_escapes_and_histograms),
      cmocka_unit_test(metrics_served_and_move),
      cmocka_unit_test(status_json_with_curve),
      cmocka_unit_test(throughput_history_served),
      cmocka_unit_test(dashboard_self_contained),
      cmocka_unit_test(healthz_ok),
      cmocka_unit_test(td3d_status_command),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
