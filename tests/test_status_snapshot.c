/* Tests for what the status server makes of a snapshot, without a learner: snapshots built
 * here are rendered directly (status_render_*) or published to a status server of this
 * process (port 28495) that `td3d status` and a plain HTTP client read. A figure without a
 * value (a loss before the first update, the policy lag before the first batch) must come out
 * as null in /status, be left out of /metrics and print as "-" in `td3d status`: never "nan".
 * The throughput history keeps the latest STATUS_HISTORY samples in order in its fixed ring,
 * and the rates come from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "log.h"
#include "status.h"

#include <arpa/inet.h>
#include <ctype.h>
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

#define STATUS_PORT 28495u

/* A snapshot of a learner that has started but received no batch and made no update. */
static status_snapshot_t *fresh_snapshot(void) {
  status_snapshot_t *s = calloc(1, sizeof *s);
  uint64_t now = td3_now_ns();
  s->taken_ns = s->start_ns = now;
  snprintf(s->run_id, sizeof s->run_id, "00000000000000ab");
  snprintf(s->env_id, sizeof s->env_id, "Pendulum-v1");
  snprintf(s->config_json, sizeof s->config_json, "{\"target_return\": null}");
  s->wall_seconds = 1.5;
  s->replay_capacity = 1000;
  s->n_actors = 1;
  snprintf(s->actors[0].name, sizeof s->actors[0].name, "snap/0");
  s->actors[0].active = 1;
  s->actors[0].last_seen_ns = now;
  return s;
}

static char *http_body(const char *path) { return http_get_body(STATUS_PORT, path); }

/* Runs `td3d status 127.0.0.1:STATUS_PORT` and returns its output (caller frees). */
static char *td3d_status_output(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s status 127.0.0.1:%u", TD3D_BINARY, STATUS_PORT);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char *buf = calloc(1, 65536);
  size_t len = fread(buf, 1, 65535, p);
  buf[len] = 0;
  int rc = pclose(p);
  assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
  return buf;
}

/* 1 if text spells a non-number the way printf does ("nan", "-nan", "inf", any case) as a
 * word of its own. */
static int has_nonfinite_word(const char *text) {
  size_t n = strlen(text);
  char *low = malloc(n + 1);
  for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)text[i]);
  int found = 0;
  const char *words[] = {"nan", "inf"};
  for (size_t w = 0; w < 2 && !found; w++)
    for (const char *p = low; !found && (p = strstr(p, words[w])) != NULL; p++)
      found = (p == low || !isalpha((unsigned char)p[-1])) && !isalpha((unsigned char)p[3]);
  free(low);
  return found;
}

static void fresh_snapshot_renders_no_nan(void **state) {
  (void)state;
  status_snapshot_t *s = fresh_snapshot();
  s->wall_seconds = NAN; /* a figure without a value keeps its key, as null */
  status_buf_t b = {0};
  status_render_json(s, s->taken_ns, &b);
  json_error_t jerr;
  json_t *j = json_loads(b.data, 0, &jerr);
  if (!j) fail_msg("/status of a fresh snapshot is not JSON (%s): %s", jerr.text, b.data);
  assert_true(json_is_null(json_object_get(j, "wall_seconds")));
  json_t *lag = json_object_get(j, "policy_lag");
  assert_non_null(json_object_get(lag, "mean"));
  assert_true(json_is_null(json_object_get(lag, "mean")));
  json_t *tr = json_object_get(j, "training");
  assert_true(json_is_null(json_object_get(tr, "critic_loss")));
  assert_true(json_is_null(json_object_get(tr, "actor_loss")));
  assert_true(json_is_null(json_object_get(tr, "mean_q")));
  json_decref(j);
  b.len = 0;
  status_render_metrics(s, s->taken_ns, &b);
  assert_null(strstr(b.data, "NaN"));
  /* gauges without a value are left out, HELP and TYPE included; the rest is there */
  assert_null(strstr(b.data, "td3d_critic_loss"));
  assert_null(strstr(b.data, "td3d_actor_loss"));
  assert_null(strstr(b.data, "td3d_mean_q"));
  assert_null(strstr(b.data, "td3d_eval_return_last"));
  assert_non_null(strstr(b.data, "\ntd3d_policy_lag_versions_count 0\n"));
  assert_non_null(strstr(b.data, "\ntd3d_updates_total 0\n"));
  /* with an update the gauges appear */
  s->have_stats = 1;
  s->critic_loss = 0.5;
  b.len = 0;
  status_render_metrics(s, s->taken_ns, &b);
  assert_non_null(strstr(b.data, "\ntd3d_critic_loss 0.5\n"));
  status_buf_free(&b);
  free(s);
}

static void status_command_before_any_batch(void **state) {
  (void)state;
  td3_err_t err = {0};
  status_server_t *srv = status_new("127.0.0.1:28495", &err);
  if (!srv) fail_msg("status server: %s", err.msg);
  status_snapshot_t *s = fresh_snapshot();
  status_publish(srv, s);
  char *body = NULL;
  for (int i = 0; i < 100 && !(body && strstr(body, "snap/0")); i++) { /* the loop took it */
    free(body);
    td3_sleep_ms(20);
    body = http_body("/status");
  }
  assert_non_null(body);
  json_error_t jerr;
  json_t *j = json_loads(body, 0, &jerr);
  if (!j) fail_msg("/status is not JSON (%s): %s", jerr.text, body);
  assert_true(json_is_null(json_object_get(json_object_get(j, "policy_lag"), "mean")));
  json_decref(j);
  free(body);
  char *m = http_body("/metrics");
  assert_non_null(m);
  assert_null(strstr(m, "NaN"));
  free(m);
  char *out = td3d_status_output();
  printf("%s", out);
  if (has_nonfinite_word(out)) fail_msg("td3d status printed a non-number:\n%s", out);
  assert_non_null(strstr(out, "policy lag    mean -  max 0 versions"));
  assert_non_null(strstr(out, "critic loss -  actor loss -  mean Q -"));
  free(out);
  status_destroy(&srv);
  assert_null(srv);
  free(s);
}

/* The learner's filling pattern: status_history_update every 0.25 s. */
static void history_ring_and_rates(void **state) {
  (void)state;
  status_snapshot_t *s = calloc(1, sizeof *s);
  /* a process that just started (a resumed run: 5000 steps and 4000 updates restored) */
  status_history_update(s, &(status_sample_t){100.0, 5000, 4000});
  assert_int_equal(s->n_history, 1);
  assert_true(s->env_steps_per_s == 0 && s->updates_per_s == 0); /* no time has passed */
  status_history_update(s, &(status_sample_t){100.5, 5000, 4000});
  assert_true(s->env_steps_per_s == 0); /* nothing inserted by this process yet */
  /* a burst of 64 transitions, then nothing for 5 s: still the rate since the start */
  status_history_update(s, &(status_sample_t){101.0, 5064, 4010});
  assert_true(fabs(s->env_steps_per_s - 64.0) < 1e-9);
  for (double t = 101.25; t <= 106.0; t += 0.25) {
    status_history_update(s, &(status_sample_t){t, 5064, 4010});
    assert_true(fabs(s->env_steps_per_s - 64.0 / (t - 100.0)) < 1e-9);
  }
  /* then a steady 100 steps/s and 50 updates/s for an hour: the ring keeps the latest
   * STATUS_HISTORY samples, oldest first, STATUS_HISTORY_EVERY_S apart */
  uint64_t steps = 5064, upd = 4010;
  double t = 106.0;
  for (int i = 0; i < 4 * 3600; i++) {
    t += 0.25;
    steps += 25;
    upd += 12 + (i % 2); /* 12.5 a quarter second */
    status_history_update(s, &(status_sample_t){t, steps, upd});
    if (t - 106.0 > STATUS_RATE_WINDOW_S + STATUS_HISTORY_EVERY_S) {
      if (fabs(s->env_steps_per_s - 100.0) > 1e-6) fail_msg("%.3f steps/s at %.2f", s->env_steps_per_s, t);
      if (fabs(s->updates_per_s - 50.0) > 0.5) fail_msg("%.3f updates/s at %.2f", s->updates_per_s, t);
    }
  }
  assert_int_equal(s->n_history, STATUS_HISTORY);
  for (uint32_t i = 1; i < s->n_history; i++) {
    const status_sample_t *a = status_history_at(s, i - 1), *b = status_history_at(s, i);
    assert_true(fabs(b->wall_seconds - a->wall_seconds - STATUS_HISTORY_EVERY_S) < 1e-6);
    assert_true(b->env_steps > a->env_steps && b->updates > a->updates);
  }
  assert_true(t - status_history_at(s, s->n_history - 1)->wall_seconds < STATUS_HISTORY_EVERY_S);
  double span = status_history_at(s, s->n_history - 1)->wall_seconds -
                status_history_at(s, 0)->wall_seconds;
  assert_true(fabs(span - (STATUS_HISTORY - 1) * STATUS_HISTORY_EVERY_S) < 1e-6);
  /* /status lists the same samples, oldest first */
  s->taken_ns = 1;
  status_buf_t b = {0};
  status_render_json(s, 1, &b);
  json_error_t jerr;
  json_t *j = json_loads(b.data, 0, &jerr);
  assert_non_null(j);
  json_t *tp = json_object_get(j, "throughput"), *h = json_object_get(tp, "history");
  assert_int_equal(json_array_size(h), STATUS_HISTORY);
  for (uint32_t i = 0; i < STATUS_HISTORY; i += 37) {
    const status_sample_t *smp = status_history_at(s, i);
    json_t *e = json_array_get(h, i);
    assert_true(json_real_value(json_object_get(e, "wall_seconds")) == smp->wall_seconds);
    assert_int_equal(json_integer_value(json_object_get(e, "env_steps")), smp->env_steps);
    assert_int_equal(json_integer_value(json_object_get(e, "updates")), smp->updates);
  }
  assert_true(fabs(json_real_value(json_object_get(tp, "env_steps_per_second")) - 100.0) < 1e-6);
  json_decref(j);
  status_buf_free(&b);
  free(s);
}

int main(void) {
  log_set_level(LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fresh_snapshot_renders_no_nan),
      cmocka_unit_test(status_command_before_any_batch),
      cmocka_unit_test(history_ring_and_rates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
