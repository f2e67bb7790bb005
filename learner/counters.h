/* The learner's counters: one table (counters.c) that says, for each, its name and help in
 * /metrics, its place in /status, and where its value lives in the learner (learner_t), the
 * status snapshot, the stats of a run (learner_stats_t) and its result (learner_result_t).
 * The snapshot, the stats, the result, /metrics and /status all walk it, so adding a counter
 * is one row (plus the code that counts it).
 *
 * The table covers the plain values: one sample a row in the counters block of /metrics (from
 * td3d_env_steps_total to td3d_replay_capacity_transitions) and the keys of the "counters",
 * "checkpoint" and "security" objects of /status, and the learner's atomics copied into the
 * snapshot or the stats for the families rendered from several values (the policy lag and
 * update duration histograms, the rate limiter's blocked seconds), which status_render.c
 * renders from the snapshot fields the table fills. */
#ifndef TD3_COUNTERS_H
#define TD3_COUNTERS_H

#include "learner.h"
#include "status.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum counter_kind {
  COUNTER_KIND_COUNTER, /* Prometheus "counter": only grows (a _total name) */
  COUNTER_KIND_GAUGE    /* Prometheus "gauge" */
} counter_kind_t;

#define COUNTER_NONE ((size_t)-1) /* an offset: the value has no place there */

struct learner;

typedef struct counter {
  /* /metrics: the sample's family (NULL: not in /metrics). The rows of a family are
   * consecutive; its first row's kind and help make the HELP and TYPE lines. */
  const char *metric;
  const char *label_key;   /* the sample's label within its family (NULL: none) ... */
  const char *label_value; /* ... and its value (NULL with n > 1: the wire reason's name) */
  counter_kind_t kind;
  const char *help;
  /* /status: "object.key" or "object.inner.key" (a trailing dot with n > 1: one key per wire
   * reason); NULL: not in /status. The objects are counters, checkpoint and security. */
  const char *json;
  int json_order;          /* place in the document: the keys come by json_order, rows of equal
                              json_order in table order (the document's order is older than
                              the table and differs from /metrics') */
  int json_bool;           /* shown as true/false */
  /* the value: an array of n (0 or 1: a scalar). An exported row with n > 1 is indexed by
   * wire_reason_t; its index 0 (WIRE_OK) is not shown. */
  uint32_t n;
  size_t learner;          /* offsetof(learner_t, _Atomic uint64_t) to copy from ... */
  uint64_t (*get)(const struct learner *l); /* ... or, for COUNTER_NONE, a function (NULL with
                              both: a second presentation of a value another row copies) */
  size_t snap;             /* offsetof(status_snapshot_t, uint64_t), or COUNTER_NONE */
  size_t stats;            /* offsetof(learner_stats_t, uint64_t), or COUNTER_NONE */
  size_t result;           /* offsetof(learner_result_t, uint64_t) the value is added to
                              (rejected_frames sums several rows), or COUNTER_NONE */
} counter_t;

extern const counter_t counters[];
extern const size_t counters_count;

/* Value i of row c in snapshot s (c->snap must not be COUNTER_NONE). */
uint64_t counters_snap_value(const counter_t *c, const status_snapshot_t *s, uint32_t i);

/* Copies every row with a snapshot place from the learner into s. Thread: any (atomics and
 * the getters' reads); the learner's main thread in practice. */
void counters_snapshot(const struct learner *l, status_snapshot_t *s);

/* Adds every row with a result place into res (whose counter fields must start at 0). */
void counters_result(const struct learner *l, learner_result_t *res);

/* Copies every row with a stats place into st. */
void counters_stats(const struct learner *l, learner_stats_t *st);

/* Appends the counters block of /metrics (the rows with a metric, in table order). */
void counters_render_metrics(const status_snapshot_t *s, status_buf_t *b);

/* Sets the rows with a /status place into root (creating the counters, checkpoint and
 * security objects, in json_order). */
void counters_render_json(const status_snapshot_t *s, json_t *root);

#endif
