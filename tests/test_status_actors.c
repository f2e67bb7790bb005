/* The status server with a large actor table, without a learner: the snapshot holds every actor
 * (up to WIRE_MAX_SLOTS), /metrics counts them all and has per-actor series up to
 * STATUS_METRICS_ACTORS actors (the fleet's gauges always), /status summarises the whole table
 * ("actors_summary") and lists one page of it (actors_offset, actors_limit; default the first
 * STATUS_PAGE_ACTORS), a bad page query is answered 400 and the server goes on serving.
 * Snapshots of 1000 actors (every tenth without a lease) are rendered directly and published to
 * a status server of this process on 127.0.0.1:28806. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "log.h"
#include "status.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_PORT 28806u
#define N_ACTORS 1000u

/* A snapshot of N_ACTORS actors in slots 0..N_ACTORS-1; every tenth has lost its lease, the
 * others were last heard from (slot % 7) tenths of a second before now. */
static status_snapshot_t *table_snapshot(uint64_t now) {
  status_snapshot_t *s = calloc(1, sizeof *s);
  s->taken_ns = s->start_ns = now;
  snprintf(s->run_id, sizeof s->run_id, "00000000000000cd");
  snprintf(s->env_id, sizeof s->env_id, "Pendulum-v1");
  s->n_actors = N_ACTORS;
  for (uint32_t i = 0; i < N_ACTORS; i++) {
    actor_info_t *a = &s->actors[i];
    a->slot = i;
    snprintf(a->name, sizeof a->name, "host-%u/%u", i / 8, i % 8);
    a->role = i == 3 ? WIRE_ROLE_EVALUATOR : WIRE_ROLE_ACTOR;
    a->active = i % 10 != 9;
    a->last_seen_ns = now - (uint64_t)(i % 7) * 100000000ULL;
    a->transitions = i;
  }
  return s;
}

/* The JSON of one page of s (asserts it parses). */
static json_t *page(const status_snapshot_t *s, uint64_t now, uint32_t offset, uint32_t limit) {
  status_buf_t b = {0};
  status_render_json_page(s, now, offset, limit, &b);
  json_error_t jerr;
  json_t *root = json_loads(b.data, 0, &jerr);
  status_buf_free(&b);
  assert_non_null(root);
  return root;
}

static json_int_t summary(json_t *root, const char *key) {
  return json_integer_value(json_object_get(json_object_get(root, "actors_summary"), key));
}

static json_int_t slot_of(json_t *root, size_t row) {
  json_t *a = json_array_get(json_object_get(root, "actors"), row);
  return json_integer_value(json_object_get(a, "slot"));
}

static void pages_rendered(void **state) {
  (void)state;
  uint64_t now = td3_now_ns();
  status_snapshot_t *s = table_snapshot(now);
  json_t *r = page(s, now, 0, STATUS_PAGE_ACTORS);
  assert_int_equal(json_array_size(json_object_get(r, "actors")), STATUS_PAGE_ACTORS);
  assert_int_equal(summary(r, "total"), N_ACTORS);
  assert_int_equal(summary(r, "active"), N_ACTORS - N_ACTORS / 10);
  assert_int_equal(summary(r, "evaluators"), 1);
  assert_int_equal(summary(r, "offset"), 0);
  assert_int_equal(summary(r, "listed"), STATUS_PAGE_ACTORS);
  double oldest = json_number_value(json_object_get(json_object_get(r, "actors_summary"),
                                                    "last_seen_max_seconds"));
  assert_true(oldest > 0.59 && oldest < 0.61); /* slot % 7 == 6 among the active */
  json_decref(r);
  /* the default document is the first page */
  status_buf_t b = {0};
  status_render_json(s, now, &b);
  r = json_loads(b.data, 0, NULL);
  assert_int_equal(json_array_size(json_object_get(r, "actors")), STATUS_PAGE_ACTORS);
  json_decref(r);
  status_buf_free(&b);
  r = page(s, now, 950, 100); /* past the end: the rest */
  assert_int_equal(json_array_size(json_object_get(r, "actors")), 50);
  assert_int_equal(slot_of(r, 0), 950);
  assert_int_equal(summary(r, "offset"), 950);
  assert_int_equal(summary(r, "listed"), 50);
  json_decref(r);
  r = page(s, now, 5000, 10); /* beyond the table: none, the summary still whole */
  assert_int_equal(json_array_size(json_object_get(r, "actors")), 0);
  assert_int_equal(summary(r, "offset"), N_ACTORS);
  assert_int_equal(summary(r, "total"), N_ACTORS);
  json_decref(r);
  r = page(s, now, 0, UINT32_MAX);
  assert_int_equal(json_array_size(json_object_get(r, "actors")), N_ACTORS);
  assert_int_equal(slot_of(r, N_ACTORS - 1), N_ACTORS - 1);
  json_decref(r);
  free(s);
}

/* td3d_actor_active{...} lines of a /metrics document. */
static unsigned actor_series(const char *text) {
  unsigned rows = 0;
  for (const char *p = text; (p = strstr(p, "\ntd3d_actor_active{")) != NULL; p++) rows++;
  return rows;
}

static void metrics_of_a_fleet(void **state) {
  (void)state;
  uint64_t now = td3_now_ns();
  status_snapshot_t *s = table_snapshot(now);
  s->weights_version = 50;
  s->actors[20].policy_version = 30;  /* the most outdated with a lease */
  s->actors[29].policy_version = 10;  /* without a lease: not counted */
  /* 1000 actors: the fleet's gauges over the whole table, no per-actor series */
  status_buf_t m = {0};
  status_render_metrics(s, now, &m);
  assert_non_null(strstr(m.data, "\ntd3d_actors_connected 900\n"));
  assert_non_null(strstr(m.data, "\ntd3d_actors_registered 1000\n"));
  assert_non_null(strstr(m.data, "\ntd3d_actor_policy_lag_versions_max 20\n"));
  const char *seen = strstr(m.data, "\ntd3d_actor_last_seen_seconds_max ");
  assert_non_null(seen);
  double oldest = strtod(seen + strlen("\ntd3d_actor_last_seen_seconds_max "), NULL);
  assert_true(fabs(oldest - 0.6) < 1e-6);
  assert_int_equal(actor_series(m.data), 0);
  assert_true(m.len < 16384);
  /* at most STATUS_METRICS_ACTORS: per-actor series as well */
  s->n_actors = STATUS_METRICS_ACTORS;
  m.len = 0;
  status_render_metrics(s, now, &m);
  assert_int_equal(actor_series(m.data), STATUS_METRICS_ACTORS);
  assert_non_null(strstr(m.data, "\ntd3d_actors_registered 256\n"));
  status_buf_free(&m);
  free(s);
}

/* GET path; the status code, and the body in *body (caller frees) when body is not NULL. */
static int get(const char *path, char **body) {
  int fd = http_connect(STATUS_PORT);
  if (fd < 0) return -1;
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                   path);
  int code = -1;
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
    char *r = http_read_all(fd, NULL);
    if (sscanf(r, "HTTP/1.1 %d", &code) != 1) code = -1;
    char *b = strstr(r, "\r\n\r\n");
    if (body) *body = b ? strdup(b + 4) : NULL;
    free(r);
  }
  close(fd);
  return code;
}

static void pages_served(void **state) {
  (void)state;
  td3_err_t err = {0};
  status_server_t *srv = status_new("127.0.0.1:28806", &err);
  assert_non_null(srv);
  uint64_t now = td3_now_ns();
  status_snapshot_t *s = table_snapshot(now);
  status_publish(srv, s);
  char *body = NULL;
  json_t *r = NULL;
  for (int tries = 0; tries < 200 && !r; tries++) { /* the server takes it asynchronously */
    if (get("/status", &body) == 200) {
      r = json_loads(body, 0, NULL);
      if (r && summary(r, "total") != N_ACTORS) {
        json_decref(r);
        r = NULL;
      }
    }
    free(body);
    body = NULL;
    if (!r) td3_sleep_ms(10);
  }
  assert_non_null(r);
  assert_int_equal(json_array_size(json_object_get(r, "actors")), STATUS_PAGE_ACTORS);
  json_decref(r);
  /* another page; an unknown key (a cache buster) is ignored */
  assert_int_equal(get("/status?t=17&actors_offset=500&actors_limit=20", &body), 200);
  r = json_loads(body, 0, NULL);
  free(body);
  assert_non_null(r);
  assert_int_equal(json_array_size(json_object_get(r, "actors")), 20);
  assert_int_equal(slot_of(r, 0), 500);
  assert_int_equal(summary(r, "listed"), 20);
  json_decref(r);
  /* bad page queries: 400, and the server goes on */
  const char *bad[] = {"/status?actors_limit=abc", "/status?actors_offset=-1",
                       "/status?actors_limit=", "/status?actors_offset=99999999999",
                       "/status?actors_limit=5x", "/status?actors_limit=+5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(get(bad[i], &body), 400);
    assert_non_null(strstr(body, "actors_offset"));
    free(body);
  }
  assert_int_equal(get("/metrics", &body), 200);
  assert_non_null(strstr(body, "\ntd3d_actors_connected 900\n"));
  free(body);
  /* the default page asked for explicitly: the cached document */
  assert_int_equal(get("/status?actors_offset=0&actors_limit=100", NULL), 200);
  status_destroy(&srv);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pages_rendered),
      cmocka_unit_test(metrics_of_a_fleet),
      cmocka_unit_test(pages_served),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
