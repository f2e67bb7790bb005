/* Tests for what the status server makes of a snapshot, without a learner: snapshots built
 * here are rendered directly (status_render_*) or published to a status server of this
 * process (port 38495) that `td3d status` and a plain HTTP client read. A figure without a
 * value (a loss before the first update, the policy lag before the first batch) must come out
 * as null in /status, be left out of /metrics and print as "-" in `td3d status`: never "nan". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

#define STATUS_PORT 38495u

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

/* GET path from the server of this process; the body (caller frees), or NULL. */
static char *http_body(const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(STATUS_PORT)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return NULL;
  }
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    return NULL;
  }
  size_t len = 0, cap = 1 << 16;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(fd);
  buf[len] = 0;
  char *body = strstr(buf, "\r\n\r\n");
  if (!body) {
    free(buf);
    return NULL;
  }
  memmove(buf, body + 4, strlen(body + 4) + 1);
  return buf;
}

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
  status_server_t *srv = status_new("127.0.0.1:38495", &err);
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

int main(void) {
  log_set_level(LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fresh_snapshot_renders_no_nan),
      cmocka_unit_test(status_command_before_any_batch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
