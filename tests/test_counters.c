/* Tests for the learner's counter table (learner/counters.c): its rows are unique and
 * well-placed, every row named for /metrics or /status is in the rendered documents, and a
 * value set in the learner lands where the table says in the snapshot, the documents, the
 * stats and the result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "counters.h"
#include "learner_internal.h"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rows_of(const counter_t *c) { return c->n ? c->n : 1; }

/* The first value index a document shows of row c (a wire-reason array skips WIRE_OK). */
static uint32_t first_shown(const counter_t *c) { return rows_of(c) > 1 ? 1 : 0; }

/* "name{key="value"}" of sample i of row c. */
static void sample_name(const counter_t *c, uint32_t i, char *out, size_t cap) {
  if (!c->label_key) {
    snprintf(out, cap, "%s", c->metric);
    return;
  }
  const char *v = rows_of(c) > 1 ? wire_reason_name((wire_reason_t)i) : c->label_value;
  snprintf(out, cap, "%s{%s=\"%s\"}", c->metric, c->label_key, v);
}

/* "object.key" of value i of row c. */
static void json_path(const counter_t *c, uint32_t i, char *out, size_t cap) {
  if (rows_of(c) > 1) snprintf(out, cap, "%s%s", c->json, wire_reason_name((wire_reason_t)i));
  else snprintf(out, cap, "%s", c->json);
}

static int fits(size_t off, uint32_t n, size_t size) {
  return off != COUNTER_NONE && off % sizeof(uint64_t) == 0 && off + n * sizeof(uint64_t) <= size;
}

static void table_is_well_formed(void **state) {
  (void)state;
  assert_true(counters_count >= 30);
  char names[256][160], paths[256][160];
  size_t n_names = 0, n_paths = 0;
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    uint32_t n = rows_of(c);
    /* every place is inside its struct and aligned */
    if (c->snap != COUNTER_NONE) assert_true(fits(c->snap, n, sizeof(status_snapshot_t)));
    if (c->stats != COUNTER_NONE) assert_true(fits(c->stats, n, sizeof(learner_stats_t)));
    if (c->result != COUNTER_NONE) assert_true(fits(c->result, 1, sizeof(learner_result_t)));
    if (c->learner != COUNTER_NONE) {
      assert_true(fits(c->learner, n, sizeof(learner_t)));
      assert_null(c->get);
    }
    if (c->metric || c->json) assert_int_not_equal(c->snap, COUNTER_NONE);
    if (n > 1 && (c->metric || c->json)) assert_int_equal(n, WIRE_REASON_COUNT);
    /* a row that copies nothing shows a value another row copies into the same place */
    if (c->learner == COUNTER_NONE && !c->get) {
      int twin = 0;
      for (size_t j = 0; j < counters_count; j++)
        twin |= j != k && counters[j].snap == c->snap &&
                (counters[j].learner != COUNTER_NONE || counters[j].get);
      assert_true(twin);
      assert_int_equal(c->stats, COUNTER_NONE);
      assert_int_equal(c->result, COUNTER_NONE);
    }
    if (c->metric) {
      /* a family is one run of rows; its first row has the help; counters end in _total */
      int first = k == 0 || !counters[k - 1].metric || strcmp(counters[k - 1].metric, c->metric);
      if (first) {
        assert_non_null(c->help);
        for (size_t j = 0; j < k; j++)
          if (counters[j].metric) assert_string_not_equal(counters[j].metric, c->metric);
      } else {
        assert_int_equal(counters[k - 1].kind, c->kind);
      }
      assert_int_equal(strspn(c->metric, "abcdefghijklmnopqrstuvwxyz0123456789_"),
                       strlen(c->metric));
      const char *end = c->metric + strlen(c->metric) - 6;
      assert_int_equal(c->kind == COUNTER_KIND_COUNTER, strcmp(end, "_total") == 0);
      for (uint32_t i = first_shown(c); i < n; i++) {
        assert_true(n_names < 256);
        sample_name(c, i, names[n_names], sizeof names[0]);
        for (size_t j = 0; j < n_names; j++) assert_string_not_equal(names[j], names[n_names]);
        n_names++;
      }
    }
    if (c->json) {
      assert_true(strncmp(c->json, "counters.", 9) == 0 || strncmp(c->json, "checkpoint.", 11) == 0 ||
                  strncmp(c->json, "security.", 9) == 0);
      for (uint32_t i = first_shown(c); i < n; i++) {
        assert_true(n_paths < 256);
        json_path(c, i, paths[n_paths], sizeof paths[0]);
        for (size_t j = 0; j < n_paths; j++) assert_string_not_equal(paths[j], paths[n_paths]);
        n_paths++;
      }
    }
  }
}

/* A learner whose every counter holds a value of its own, and whose other figures are known. */
typedef struct fixture {
  learner_config_t cfg;
  learner_t *l;
  int dummy_curve;
} fixture_t;

static uint64_t planted(size_t k, uint32_t i) { return 1000 + 100 * (uint64_t)k + i; }

static fixture_t *fixture_new(void) {
  fixture_t *f = calloc(1, sizeof *f);
  learner_config_default(&f->cfg);
  f->cfg.steps = 424242;
  f->cfg.bind_host = "0.0.0.0"; /* no CURVE key: insecure */
  f->l = calloc(1, sizeof *f->l);
  learner_state_init(f->l, &f->cfg);
  learner_t *l = f->l;
  l->replay = replay_new(100, 3, 1);
  assert_non_null(l->replay);
  l->curve = (const curve_sock_t *)(void *)&f->dummy_curve;
  l->n_authorized = 7;
  l->resumed = 1;
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    if (c->learner == COUNTER_NONE) continue;
    for (uint32_t i = 0; i < rows_of(c); i++)
      atomic_store((_Atomic uint64_t *)(void *)((char *)l + c->learner) + i, planted(k, i));
  }
  return f;
}

static void fixture_free(fixture_t *f) {
  f->l->curve = NULL;
  learner_state_free(f->l);
  free(f->l);
  free(f);
}

/* What row k's value i must be after a copy from the fixture's learner. */
static uint64_t expected(const fixture_t *f, size_t k, uint32_t i) {
  const counter_t *c = &counters[k];
  if (c->get) return c->get(f->l);
  if (c->learner != COUNTER_NONE) return planted(k, i);
  for (size_t j = 0; j < counters_count; j++) /* a second presentation: its twin's */
    if (j != k && counters[j].snap == c->snap && (counters[j].learner != COUNTER_NONE || counters[j].get))
      return expected(f, j, i);
  fail();
  return 0;
}

static uint64_t u64_at(const void *base, size_t off, uint32_t i) {
  uint64_t v;
  memcpy(&v, (const char *)base + off + i * sizeof v, sizeof v);
  return v;
}

static void values_land_where_the_table_says(void **state) {
  (void)state;
  fixture_t *f = fixture_new();
  status_snapshot_t *s = calloc(1, sizeof *s);
  counters_snapshot(f->l, s);
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    if (c->snap == COUNTER_NONE) continue;
    for (uint32_t i = 0; i < rows_of(c); i++) {
      assert_int_equal(u64_at(s, c->snap, i), expected(f, k, i));
      assert_int_equal(counters_snap_value(c, s, i), expected(f, k, i));
    }
  }
  /* the places are the fields their names say */
  assert_int_equal(s->inserted, atomic_load(&f->l->inserted));
  assert_int_equal(s->hellos_refused, atomic_load(&f->l->hellos_refused));
  assert_int_equal(s->rejected[WIRE_DIMS], atomic_load(&f->l->rejected[WIRE_DIMS]));
  assert_int_equal(s->rejected_bounds, atomic_load(&f->l->rejected_bounds));
  assert_int_equal(s->last_checkpoint_steps, atomic_load(&f->l->last_checkpoint_steps));
  assert_int_equal(s->update_hist[3], atomic_load(&f->l->update_hist[3]));
  assert_int_equal(s->steps_budget, 424242);
  assert_int_equal(s->replay_capacity, 100);
  assert_int_equal(s->replay_size, 0);
  assert_int_equal(s->authorized_keys, 7);
  assert_int_equal(s->curve_on, 1);
  assert_int_equal(s->insecure, 1);
  assert_int_equal(s->resumed, 1);

  learner_stats_t st;
  memset(&st, 0, sizeof st);
  counters_stats(f->l, &st);
  assert_int_equal(st.inserted, atomic_load(&f->l->inserted));
  assert_int_equal(st.rejected_unregistered, atomic_load(&f->l->rejected_unregistered));
  assert_int_equal(st.first_update_ns, atomic_load(&f->l->first_update_ns));
  for (size_t k = 0; k < counters_count; k++)
    if (counters[k].stats != COUNTER_NONE)
      for (uint32_t i = 0; i < rows_of(&counters[k]); i++)
        assert_int_equal(u64_at(&st, counters[k].stats, i), expected(f, k, i));

  /* the result: each row's values added to its field (rejected_frames sums the refusals) */
  learner_result_t res;
  memset(&res, 0, sizeof res);
  counters_result(f->l, &res);
  uint64_t refused = atomic_load(&f->l->rejected_unregistered);
  for (int r = 0; r < WIRE_REASON_COUNT; r++) refused += atomic_load(&f->l->rejected[r]);
  assert_int_equal(res.rejected_frames, refused);
  assert_int_equal(res.inserted, atomic_load(&f->l->inserted));
  assert_int_equal(res.updates, atomic_load(&f->l->updates));
  assert_int_equal(res.weights_version, atomic_load(&f->l->weights_version));
  assert_int_equal(res.over_budget, atomic_load(&f->l->over_budget));
  assert_int_equal(res.checkpoints, atomic_load(&f->l->checkpoints));
  assert_int_equal(res.checkpoint_steps, atomic_load(&f->l->last_checkpoint_steps));
  assert_int_equal(res.rollbacks, atomic_load(&f->l->rollbacks));
  free(s);
  fixture_free(f);
}

static void documents_show_every_row(void **state) {
  (void)state;
  fixture_t *f = fixture_new();
  status_snapshot_t *s = calloc(1, sizeof *s);
  counters_snapshot(f->l, s);
  s->taken_ns = s->start_ns = td3_now_ns();
  snprintf(s->run_id, sizeof s->run_id, "00000000000000ab");
  snprintf(s->env_id, sizeof s->env_id, "Pendulum-v1");

  status_buf_t m = {0};
  status_render_metrics(s, td3_now_ns(), &m);
  status_buf_t j = {0};
  status_render_json(s, td3_now_ns(), &j);
  json_error_t jerr;
  json_t *doc = json_loadb(j.data, j.len, 0, &jerr);
  assert_non_null(doc);
  char line[512];
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    for (uint32_t i = first_shown(c); c->metric && i < rows_of(c); i++) {
      snprintf(line, sizeof line, "# TYPE %s %s\n", c->metric,
               c->kind == COUNTER_KIND_COUNTER ? "counter" : "gauge");
      assert_non_null(strstr(m.data, line));
      snprintf(line, sizeof line, "# HELP %s ", c->metric);
      assert_non_null(strstr(m.data, line));
      char name[160];
      sample_name(c, i, name, sizeof name);
      snprintf(line, sizeof line, "\n%s %llu\n", name, (unsigned long long)expected(f, k, i));
      if (!strstr(m.data, line)) fail_msg("/metrics lacks %s", line + 1);
    }
    for (uint32_t i = first_shown(c); c->json && i < rows_of(c); i++) {
      char path[160];
      json_path(c, i, path, sizeof path);
      json_t *v = doc;
      for (char *p = path, *part; (part = strtok_r(p, ".", &p)) != NULL;) {
        v = json_object_get(v, part);
        if (!v) fail_msg("/status lacks %s", c->json);
      }
      if (c->json_bool) assert_int_equal(json_is_true(v), expected(f, k, i) != 0);
      else assert_int_equal((uint64_t)json_integer_value(v), expected(f, k, i));
    }
  }
  /* /status keeps its order: the counters, then the checkpoint, then security */
  const char *text = j.data;
  const char *cn = strstr(text, "\"counters\""), *ck = strstr(text, "\"checkpoint\""),
             *se = strstr(text, "\"security\""), *rj = strstr(text, "\"rejected\"");
  assert_true(cn && ck && se && rj && cn < rj && rj < ck && ck < se);
  assert_non_null(strstr(text, "\"checkpoint\":{\"resumed\":true,\"written\":"));
  json_decref(doc);
  status_buf_free(&m);
  status_buf_free(&j);
  free(s);
  fixture_free(f);
}

int main(void) {
  log_set_level(LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(table_is_well_formed),
      cmocka_unit_test(values_land_where_the_table_says),
      cmocka_unit_test(documents_show_every_row),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
