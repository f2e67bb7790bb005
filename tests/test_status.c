/* Tests for the learner's status server (learner/status.h) against a live learner in this
 * process (two actors and an evaluator on loopback ports 28400-28402, status on 28490):
 * /metrics, /status, /, /healthz, errors (404, 405, 400, 431), keep-alive, and the limits
 * (a huge header, 500 connections, a slow client, a slowloris of 300) without the server
 * going away or /healthz going dark. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "inproc.h"
#include "log.h"
#include "status.h"
#include "tmpdir.h"

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

static char tmp[256];

static inproc_learner_t L;
static inproc_actor_t A[3];

static void actor_start(inproc_actor_t *j, const char *name, int eval) {
  inproc_actor_init(j, "Pendulum-v1", PORT, name, eval);
  assert_int_equal(inproc_actor_start(j), 0);
}

/* ---- a minimal HTTP client ---- */

static int connect_status(void) { return http_connect(STATUS_PORT); }

static char *read_all(int fd, size_t *len_out) { return http_read_all(fd, len_out); }

/* Sends raw bytes and returns the whole answer (the request should ask to close). */
static char *exchange(const char *raw) {
  int fd = connect_status();
  assert_true(fd >= 0);
  assert_int_equal(send(fd, raw, strlen(raw), MSG_NOSIGNAL), (ssize_t)strlen(raw));
  char *out = read_all(fd, NULL);
  close(fd);
  return out;
}

static int status_code(const char *resp) {
  int code = 0;
  if (sscanf(resp, "HTTP/1.1 %d", &code) != 1) return 0;
  return code;
}

static const char *body_of(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  return b ? b + 4 : "";
}

static char *get(const char *method, const char *path) {
  char req[512];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", method, path);
  return exchange(req);
}

static double metric_value(const char *text, const char *name) {
  char key[256];
  snprintf(key, sizeof key, "\n%s ", name);
  const char *p = strstr(text, key);
  return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* ---- fixture: one learner for the whole file ---- */

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_WARN);
  if (tmpdir_create(tmp, sizeof tmp, "test_status") != 0) return -1;
  inproc_learner_init(&L, "Pendulum-v1", PORT);
  L.cfg.steps = 500000; /* out of reach; below the replay capacity, which it caps */
  L.cfg.start_steps = 500;
  L.cfg.eval_every = 1000;
  L.cfg.eval_episodes = 2;
  L.cfg.td3.hidden[0] = L.cfg.td3.hidden[1] = 32;
  L.cfg.td3.batch = 32;
  L.cfg.out_dir = tmp;
  L.cfg.overwrite = 1;
  L.cfg.progress = 0;
  L.cfg.status_bind = "127.0.0.1:28490";
  if (inproc_learner_start(&L) != 0) return -1;
  actor_start(&A[0], "status/0", 0);
  actor_start(&A[1], "status/1", 0);
  actor_start(&A[2], "status/eval", 1);
  for (int i = 0; i < 100; i++) { /* the server is up within 10 s */
    int fd = connect_status();
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    td3_sleep_ms(100);
  }
  return -1;
}

static int teardown(void **state) {
  (void)state;
  inproc_learner_join(&L, 0); /* its budget is out of reach: stop it now */
  for (int i = 0; i < 3; i++) inproc_actor_stop(&A[i]);
  return tmpdir_remove(tmp) == 0 && L.rc == 0 ? 0 : -1;
}

/* ---- the documents ---- */

static void metrics_served_and_move(void **state) {
  (void)state;
  double first = NAN, later = NAN;
  for (int i = 0; i < 150 && !(later > first); i++) {
    char *r = get("GET", "/metrics");
    assert_int_equal(status_code(r), 200);
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    const char *b = body_of(r);
    double v = metric_value(b, "td3d_updates_total");
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
  char *r = get("GET", "/metrics");
  assert_true(isfinite(metric_value(body_of(r), "td3d_critic_loss")));
  assert_true(isfinite(metric_value(body_of(r), "td3d_mean_q")));
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
    char *r = get("GET", "/status");
    assert_int_equal(status_code(r), 200);
    json_error_t jerr;
    json_t *s = json_loads(body_of(r), 0, &jerr);
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
      r = get("GET", "/metrics");
      assert_true(isfinite(metric_value(body_of(r), "td3d_eval_return_last")));
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
    char *r = get("GET", "/status");
    json_t *s = json_loads(body_of(r), 0, NULL);
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
  char *r = get("GET", "/");
  assert_int_equal(status_code(r), 200);
  assert_non_null(strstr(r, "Content-Type: text/html"));
  const char *b = body_of(r);
  assert_non_null(strstr(b, "<svg"));
  assert_non_null(strstr(b, "fetch('status'"));
  assert_null(strstr(b, "http://"));
  assert_null(strstr(b, "https://"));
  assert_null(strstr(b, "src=")); /* no external script, image or font */
  free(r);
  r = get("HEAD", "/");
  assert_int_equal(status_code(r), 200);
  assert_string_equal(body_of(r), ""); /* HEAD: the headers only */
  free(r);
}

static void healthz_ok(void **state) {
  (void)state;
  char *r = get("GET", "/healthz");
  assert_int_equal(status_code(r), 200);
  assert_string_equal(body_of(r), "ok\n");
  free(r);
}

/* ---- errors ---- */

static void errors_404_405_400(void **state) {
  (void)state;
  char *r = get("GET", "/nope");
  assert_int_equal(status_code(r), 404);
  free(r);
  r = exchange("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  assert_int_equal(status_code(r), 405);
  assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
  free(r);
  r = exchange("\x01\x02garbage\xff\r\n\r\n");
  assert_int_equal(status_code(r), 400);
  free(r);
  r = exchange("GET /healthz HTTP/9.9.9\r\n\r\n");
  assert_int_equal(status_code(r), 400);
  free(r);
  healthz_ok(state); /* still serving */
}

static void keep_alive_pipelined(void **state) {
  (void)state;
  char *r = exchange("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                     "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
                     "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  int n = 0;
  for (const char *p = strstr(r, "HTTP/1.1 200"); p; p = strstr(p + 1, "HTTP/1.1 200")) n++;
  assert_int_equal(n, 3);
  assert_non_null(strstr(r, "Connection: keep-alive"));
  free(r);
}

/* This process's resident memory in bytes (the server runs in it). */
static size_t rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0, resident = 0;
  if (f) {
    if (fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t rss_at_start;

static void huge_header_refused(void **state) {
  rss_at_start = rss_bytes();
  (void)state;
  int fd = connect_status();
  assert_true(fd >= 0);
  const char *start = "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: ";
  send(fd, start, strlen(start), MSG_NOSIGNAL);
  char chunk[16384];
  memset(chunk, 'a', sizeof chunk);
  size_t sent = 0;
  while (sent < (1u << 20)) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) break; /* the server answered (and is closing) */
    ssize_t w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
    if (w <= 0) break;
    sent += (size_t)w;
  }
  char *r = read_all(fd, NULL);
  close(fd);
  printf("sent %zu header bytes before the answer: %.40s\n", sent, r);
  /* the answer, unless the reset of the closing connection overtook it, is a refusal */
  if (*r) assert_true(status_code(r) == 431 || status_code(r) == 400);
  free(r);
  healthz_ok(state);
}

static void many_connections(void **state) {
  (void)state;
  enum { N = 500 };
  int fds[N];
  for (int i = 0; i < N; i++) {
    fds[i] = connect_status();
    assert_true(fds[i] >= 0);
  }
  /* the server closes those beyond its limit as it accepts them (within a few seconds even
   * on a loaded machine) */
  int closed = 0;
  int gone[N];
  memset(gone, 0, sizeof gone);
  for (int round = 0; round < 100 && closed < N - STATUS_MAX_CONNS; round++) {
    td3_sleep_ms(100);
    for (int i = 0; i < N; i++) {
      if (gone[i]) continue;
      struct pollfd p = {fds[i], POLLIN, 0};
      if (poll(&p, 1, 0) > 0) {
        char c;
        if (recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0) {
          gone[i] = 1;
          closed++;
        }
      }
    }
  }
  printf("%d of %d connections closed by the server\n", closed, N);
  assert_true(closed >= N - STATUS_MAX_CONNS);
  /* the oldest made room for the newest, which is served while the server is full */
  assert_true(gone[0]);
  assert_false(gone[N - 1]);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  assert_int_equal(send(fds[N - 1], req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
  char *r = read_all(fds[N - 1], NULL);
  assert_int_equal(status_code(r), 200);
  free(r);
  for (int i = 0; i < N; i++) close(fds[i]);
  td3_sleep_ms(200);
  healthz_ok(state);
  /* a 1 MB header and 500 connections later, memory has not grown with them */
  size_t rss = rss_bytes();
  printf("resident memory %.1f MB before the bad clients, %.1f MB after\n",
         (double)rss_at_start / 1048576.0, (double)rss / 1048576.0);
  assert_true(rss < rss_at_start + (32u << 20));
}

static void slow_client_blocks_nobody(void **state) {
  (void)state;
  int slow = connect_status();
  assert_true(slow >= 0);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  size_t n = strlen(req);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(send(slow, req + i, 1, MSG_NOSIGNAL), 1);
    if (i < 3) {
      td3_sleep_ms(1000); /* a byte a second */
      uint64_t t0 = td3_now_ns();
      char *r = get("GET", "/status");
      double ms = (double)(td3_now_ns() - t0) / 1e6;
      assert_int_equal(status_code(r), 200);
      assert_true(ms < 5000.0); /* a server blocked by the slow client would not answer */
      free(r);
    }
  }
  char *r = read_all(slow, NULL);
  close(slow);
  assert_int_equal(status_code(r), 200);
  free(r);
}

/* GET /healthz on a new connection, waiting at most 2 s for the answer: its status code (0:
 * no answer) and, in *ms, how long it took. */
static int probe_healthz(double *ms) {
  uint64_t t0 = td3_now_ns();
  int fd = connect_status();
  int code = 0;
  if (fd >= 0) {
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
      char *r = read_all(fd, NULL);
      code = status_code(r);
      free(r);
    }
    close(fd);
  }
  *ms = (double)(td3_now_ns() - t0) / 1e6;
  return code;
}

/* A connection that may have been closed by the server: 1 if it was. */
static int closed_by_server(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  char c;
  return poll(&p, 1, 0) > 0 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/* A slowloris: 300 connections (more than the server's cap) that never finish a request,
 * some sending nothing, some a request line and then nothing, each reopened as soon as the
 * server closes it. /healthz keeps answering, each time within 2 s of the request, for 12 s
 * (past the request deadline, so the server closes them for being slow as well as to make
 * room); before, the new connections were closed at once while the idle ones held every
 * place for 30 s. An idle kept-alive connection is the first to make room, and one that
 * sends nothing is closed after the request deadline, a few seconds. */
static void slowloris_healthz_answers(void **state) {
  (void)state;
  enum { N = 300 };
  int fds[N], reopened = 0;
  /* a kept-alive connection, idle after its answer, is the first to make room */
  int kept = connect_status();
  assert_true(kept >= 0);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  assert_int_equal(send(kept, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
  char answer[512];
  assert_true(recv(kept, answer, sizeof answer, 0) > 0);
  for (int i = 0; i < N; i++) {
    fds[i] = connect_status();
    assert_true(fds[i] >= 0);
    if (i % 2) send(fds[i], "GET /status HTTP/1.1\r\n", 22, MSG_NOSIGNAL);
    if (i == STATUS_MAX_CONNS - 1) { /* one more than the cap with the kept-alive one */
      int gone = 0;
      for (int k = 0; k < 40 && !gone; k++) {
        gone = closed_by_server(kept);
        if (!gone) td3_sleep_ms(50);
      }
      assert_true(gone);
      assert_false(closed_by_server(fds[0]));
    }
  }
  close(kept);
  int probes = 0, ok = 0;
  double worst = 0;
  uint64_t t0 = td3_now_ns();
  while (td3_now_ns() - t0 < 12000000000ULL) {
    for (int i = 0; i < N; i++)
      if (closed_by_server(fds[i])) { /* the attacker comes back at once */
        close(fds[i]);
        fds[i] = connect_status();
        assert_true(fds[i] >= 0);
        if (i % 2) send(fds[i], "GET /status HTTP/1.1\r\n", 22, MSG_NOSIGNAL);
        reopened++;
      }
    double ms;
    int code = probe_healthz(&ms);
    probes++;
    ok += code == 200;
    if (ms > worst) worst = ms;
    if (ms > 500) printf("probe %d: %.0f ms (code %d)\n", probes, ms, code);
    td3_sleep_ms(100);
  }
  printf("slowloris of %d connections, %d reopened: /healthz answered %d of %d probes, the "
         "slowest in %.0f ms\n",
         N, reopened, ok, probes, worst);
  for (int i = 0; i < N; i++) close(fds[i]);
  /* each answer came within 2 s of its request (the probe's receive timeout); the bound on
   * the whole probe leaves room for a connect that waited in a full accept queue on a loaded
   * machine (about 0.3 s at worst on an idle one) */
  assert_int_equal(ok, probes);
  assert_true(worst < 3000.0);
  assert_true(reopened > 0);

  /* the request deadline: a connection that sends nothing is closed within seconds */
  int idle = connect_status();
  assert_true(idle >= 0);
  uint64_t t1 = td3_now_ns();
  char c;
  struct timeval tv = {20, 0};
  setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  assert_true(recv(idle, &c, 1, 0) <= 0);
  double s = (double)(td3_now_ns() - t1) / 1e9;
  close(idle);
  printf("an idle connection was closed after %.1f s\n", s);
  assert_true(s > STATUS_REQUEST_MS / 1000.0 - 1.0 && s < STATUS_REQUEST_MS / 1000.0 + 3.0);
  healthz_ok(state);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(render_escapes_and_histograms),
      cmocka_unit_test(metrics_served_and_move),
      cmocka_unit_test(status_json_with_curve),
      cmocka_unit_test(throughput_history_served),
      cmocka_unit_test(dashboard_self_contained),
      cmocka_unit_test(healthz_ok),
      cmocka_unit_test(errors_404_405_400),
      cmocka_unit_test(keep_alive_pipelined),
      cmocka_unit_test(huge_header_refused),
      cmocka_unit_test(many_connections),
      cmocka_unit_test(slow_client_blocks_nobody),
      cmocka_unit_test(slowloris_healthz_answers),
      cmocka_unit_test(td3d_status_command),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
