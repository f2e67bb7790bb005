/* The learner's counter table and its walks: the copies into the status snapshot, the stats
 * and the result, and the counters' part of /metrics and /status (see counters.h). */
#include "counters.h"

#include "learner_internal.h"

#include <stdio.h>
#include <string.h>

static uint64_t get_steps_budget(const learner_t *l) { return l->cfg->steps; }
static uint64_t get_replay_size(const learner_t *l) { return replay_size(l->replay); }
static uint64_t get_replay_capacity(const learner_t *l) { return replay_capacity(l->replay); }
static uint64_t get_curve_on(const learner_t *l) { return l->curve != NULL; }
static uint64_t get_insecure(const learner_t *l) {
  return !l->cfg->curve_key && !learner_bind_is_loopback(l->cfg->bind_host);
}
static uint64_t get_auth_accepted(const learner_t *l) { return zap_guard_accepted(l->zap); }
static uint64_t get_auth_refused(const learner_t *l) { return zap_guard_refused(l->zap); }
static uint64_t get_experience_connections(const learner_t *l) {
  return zap_guard_connections(l->zap);
}
static uint64_t get_experience_connections_max(const learner_t *l) {
  return 2 * (uint64_t)learner_experience_cap_per_address(l->cfg);
}
static uint64_t get_weights_subscribers_max(const learner_t *l) {
  return learner_weights_subs_cap(l->cfg);
}
static uint64_t get_experience_over_cap(const learner_t *l) { return zap_guard_over_cap(l->zap); }
static uint64_t get_authorized_keys(const learner_t *l) { return l->n_authorized; }
static uint64_t get_resumed(const learner_t *l) { return (uint64_t)(l->resumed != 0); }

#define C COUNTER_KIND_COUNTER
#define G COUNTER_KIND_GAUGE
#define NONE COUNTER_NONE
#define L(f) .learner = offsetof(learner_t, f)
#define GET(fn) .learner = NONE, .get = fn
#define SAME .learner = NONE, .get = NULL
#define S(f) .snap = offsetof(status_snapshot_t, f)
#define ST(f) .stats = offsetof(learner_stats_t, f)
#define R(f) .result = offsetof(learner_result_t, f)
#define NO_STATS .stats = NONE
#define NO_RESULT .result = NONE
#define NO_SNAP .snap = NONE
/* a row of the counters block of /metrics and of /status */
#define OUT(name, k, h, j, o) .metric = name, .kind = k, .help = h, .json = j, .json_order = o
/* a row only copied (rendered with its neighbours by status_render.c, or a stats figure) */
#define COPY .metric = NULL, .json = NULL

#define DROPPED "td3d_transitions_dropped_total"
#define DROPPED_HELP "Transitions received but not inserted, by reason."
#define TARGET "td3d_target_reports_total"
#define TARGET_HELP                                                                               \
  "Evaluation reports at or above --target-return, by what the learner made of them: "           \
  "confirmed (the learner's own evaluation agreed, or for an external env a second report in a " \
  "row: the run ended), unconfirmed (its evaluation fell short or could not be made: not "       \
  "recorded, the run goes on), untrained (the untrained networks: recorded, never the end)."
#define REJECTED "td3d_rejected_messages_total"
#define REJECTED_HELP                                                                             \
  "Experience and control messages refused, by reason (out_of_bounds: batches with transitions " \
  "refused for their values)."

/* In /metrics order. */
const counter_t counters[] = {
    {OUT("td3d_env_steps_total", C, "Environment steps of the run (transitions inserted into replay).", "counters.env_steps", 1), L(inserted), S(inserted), ST(inserted), R(inserted)},
    {OUT("td3d_env_steps_budget", G, "The run's environment step budget (0: no limit).", "counters.env_steps_budget", 2), GET(get_steps_budget), S(steps_budget), NO_STATS, NO_RESULT},
    {OUT("td3d_transitions_inserted_total", C, "Transitions inserted into replay.", "counters.transitions_inserted", 3), SAME, S(inserted), NO_STATS, NO_RESULT},
    {OUT(DROPPED, C, DROPPED_HELP, "counters.over_budget", 4), .label_key = "reason", .label_value = "over_budget", L(over_budget), S(over_budget), ST(over_budget), R(over_budget)},
    {OUT(DROPPED, C, DROPPED_HELP, "counters.out_of_bounds", 5), .label_key = "reason", .label_value = "out_of_bounds", L(out_of_bounds), S(out_of_bounds), ST(out_of_bounds), NO_RESULT},
    {OUT(DROPPED, C, DROPPED_HELP, "counters.rollback_dropped", 6), .label_key = "reason", .label_value = "rollback", L(rollback_dropped), S(rollback_dropped), ST(rollback_dropped), NO_RESULT},
    {OUT("td3d_experience_batches_total", C, "Experience messages accepted.", "counters.batches", 10), L(batches), S(batches), ST(batches), NO_RESULT},
    {OUT(REJECTED, C, REJECTED_HELP, "counters.rejected.", 17), .n = WIRE_REASON_COUNT, .label_key = "reason", L(rejected), S(rejected), ST(rejected), R(rejected_frames)},
    {OUT(REJECTED, C, REJECTED_HELP, "counters.rejected.unregistered", 17), .label_key = "reason", .label_value = "unregistered", L(rejected_unregistered), S(rejected_unregistered), ST(rejected_unregistered), R(rejected_frames)},
    {OUT(REJECTED, C, REJECTED_HELP, "counters.rejected.out_of_bounds", 17), .label_key = "reason", .label_value = "out_of_bounds", L(rejected_bounds), S(rejected_bounds), ST(rejected_bounds), NO_RESULT},
    {OUT(TARGET, C, TARGET_HELP, "counters.target_confirmed", 18), .label_key = "result", .label_value = "confirmed", L(target_confirmed), S(target_confirmed), ST(target_confirmed), NO_RESULT},
    {OUT(TARGET, C, TARGET_HELP, "counters.target_unconfirmed", 18), .label_key = "result", .label_value = "unconfirmed", L(target_unconfirmed), S(target_unconfirmed), ST(target_unconfirmed), NO_RESULT},
    {OUT(TARGET, C, TARGET_HELP, "counters.target_untrained", 18), .label_key = "result", .label_value = "untrained", L(target_untrained), S(target_untrained), ST(target_untrained), NO_RESULT},
    {OUT("td3d_eval_reports_dropped_total", C, "Evaluation reports dropped unrecorded: 16 were already waiting for the learner's check of a report that claimed the target return.", "counters.eval_reports_dropped", 18), L(reports_dropped), S(reports_dropped), ST(reports_dropped), NO_RESULT},
    {OUT("td3d_hellos_dropped_total", C, "Hellos dropped unanswered: over the allowance of their connection (2 a second, a burst of 4), peer address or CURVE key (the slot count + 4, then max(2, slots/4) a second).", "counters.hellos_dropped", 7), L(hellos_dropped), S(hellos_dropped), ST(hellos_dropped), NO_RESULT},
    {OUT("td3d_hellos_refused_total", C, "Hellos answered with a refusal (slots full, a live name held by another connection, env or shape).", "counters.hellos_refused", 8), L(hellos_refused), S(hellos_refused), ST(hellos_refused), NO_RESULT},
    {OUT("td3d_hellos_unauthorized_total", C, "Hellos as an evaluator refused for a missing or wrong evaluator token (--eval-token-file); counted in td3d_hellos_refused_total too.", "counters.hellos_unauthorized", 8), L(hellos_unauthorized), S(hellos_unauthorized), ST(hellos_unauthorized), NO_RESULT},
    {OUT("td3d_slots_preempted_total", C, "Slots taken from idle holders (no experience, or no evaluation reports) for newcomers.", "counters.slots_preempted", 9), L(slots_preempted), S(slots_preempted), ST(slots_preempted), NO_RESULT},
    {OUT("td3d_updates_total", C, "TD3 iterations done.", "counters.updates", 11), L(updates), S(updates), ST(updates), R(updates)},
    {OUT("td3d_weights_version", G, "Version of the latest published actor weights.", "counters.weights_version", 12), L(weights_version), S(weights_version), ST(weights_version), R(weights_version)},
    {OUT("td3d_weights_broadcasts_total", C, "Weights messages published (new versions and re-sends), each to every subscriber.", "counters.weights_broadcasts", 13), L(weights_broadcasts), S(weights_broadcasts), NO_STATS, NO_RESULT},
    {OUT("td3d_weights_subscribers", G, "Subscribers of the weights socket: routing ids heard from with a subscribe frame in the last 5 s.", "counters.weights_subscribers", 14), L(weights_subscribers), S(weights_subscribers), NO_STATS, NO_RESULT},
    {OUT("td3d_weights_subscribers_max", G, "Subscribers the weights socket's table holds at most (twice the experience connections one address may hold).", "counters.weights_subscribers_max", 14), GET(get_weights_subscribers_max), S(weights_subscribers_max), NO_STATS, NO_RESULT},
    {OUT("td3d_weights_subscribers_refused_total", C, "Subscribe frames from a new routing id refused because the weights subscriber table was full, or its peer address held its share (half the table).", "counters.weights_subscribers_refused", 14), L(weights_subscribers_refused), S(weights_subscribers_refused), ST(weights_subscribers_refused), NO_RESULT},
    {OUT("td3d_weights_frames_refused_total", C, "Messages to the weights socket that were not a subscribe frame (the one byte 0x01), dropped.", "counters.weights_frames_refused", 14), L(weights_frames_refused), S(weights_frames_refused), ST(weights_frames_refused), NO_RESULT},
    {OUT("td3d_experience_connections", G, "Connections open to the experience socket (in their handshake or through it).", "counters.experience_connections", 14), GET(get_experience_connections), S(experience_connections), NO_STATS, NO_RESULT},
    {OUT("td3d_experience_connections_max", G, "Connections to the experience socket through the handshake at most (half of them from one peer address; the open connections of an address count up to that half).", "counters.experience_connections_max", 14), GET(get_experience_connections_max), S(experience_connections_max), NO_STATS, NO_RESULT},
    {OUT("td3d_experience_connections_refused_total", C, "Connections to the experience socket told to wait (over the connection cap): ZeroMQ closes them and the peer connects again.", "counters.experience_connections_refused", 14), GET(get_experience_over_cap), S(experience_connections_refused), ST(experience_connections_refused), NO_RESULT},
    {OUT("td3d_experience_disconnects_total", C, "Connections to the experience socket that ended: an actor that left or restarted, or one ZeroMQ closed for sending a frame over the limit.", "counters.experience_disconnects", 14), L(experience_disconnects), S(experience_disconnects), ST(experience_disconnects), NO_RESULT},
    {OUT("td3d_checkpoints_total", C, "Checkpoints written by this learner process.", "checkpoint.written", 21), L(checkpoints), S(checkpoints), NO_STATS, R(checkpoints)},
    {OUT("td3d_checkpoint_failures_total", C, "Checkpoints that could not be written.", "checkpoint.failed", 22), L(checkpoint_failures), S(checkpoint_failures), NO_STATS, NO_RESULT},
    {OUT("td3d_checkpoint_env_steps", G, "Environment steps held by the latest checkpoint (0: none).", "checkpoint.env_steps", 24), L(last_checkpoint_steps), S(last_checkpoint_steps), NO_STATS, R(checkpoint_steps)},
    {OUT("td3d_rollbacks_total", C, "Non-finite updates undone by restoring the last checkpoint.", "checkpoint.rollbacks", 23), L(rollbacks), S(rollbacks), NO_STATS, R(rollbacks)},
    {OUT("td3d_curve_security", G, "1 when the sockets require an authorized CURVE key.", "security.curve", 30), .json_bool = 1, GET(get_curve_on), S(curve_on), NO_STATS, NO_RESULT},
    {OUT("td3d_insecure", G, "1 when the sockets bind beyond loopback without CURVE (--insecure).", "security.insecure", 31), .json_bool = 1, GET(get_insecure), S(insecure), NO_STATS, NO_RESULT},
    {OUT("td3d_auth_accepted_total", C, "CURVE handshakes accepted (authorized keys).", "security.accepted", 33), GET(get_auth_accepted), S(auth_accepted), NO_STATS, NO_RESULT},
    {OUT("td3d_auth_refused_total", C, "Connections refused by CURVE authentication.", "security.refused", 34), GET(get_auth_refused), S(auth_refused), NO_STATS, NO_RESULT},
    {OUT("td3d_handshake_failures_total", C, "Connections to the experience, weights or control socket whose ZeroMQ handshake failed: a client without CURVE against a CURVE learner (or with CURVE against a plain one), a peer that closed before its greeting, not ZeroMQ. Refused keys are td3d_auth_refused_total.", "security.handshake_failures", 35), L(handshake_failures), S(handshake_failures), ST(handshake_failures), NO_RESULT},
    {OUT("td3d_replay_size_transitions", G, "Transitions held in replay.", "counters.replay_size", 15), GET(get_replay_size), S(replay_size), NO_STATS, NO_RESULT},
    {OUT("td3d_replay_capacity_transitions", G, "Replay capacity.", "counters.replay_capacity", 16), GET(get_replay_capacity), S(replay_capacity), NO_STATS, NO_RESULT},
    /* in /status only */
    {OUT(NULL, G, NULL, "checkpoint.resumed", 20), .json_bool = 1, GET(get_resumed), S(resumed), NO_STATS, NO_RESULT},
    {OUT(NULL, G, NULL, "security.authorized_keys", 32), GET(get_authorized_keys), S(authorized_keys), NO_STATS, NO_RESULT},
    /* copied for the families status_render.c builds, and for the stats */
    {COPY, L(lag_sum), S(lag_sum), ST(lag_sum), NO_RESULT},
    {COPY, L(lag_count), S(lag_count), ST(lag_count), NO_RESULT},
    {COPY, L(lag_max), S(lag_max), ST(lag_max), NO_RESULT},
    {COPY, .n = STATUS_LAG_BUCKETS + 1, L(lag_hist), S(lag_hist), NO_STATS, NO_RESULT},
    {COPY, .n = STATUS_UPDATE_BUCKETS + 1, L(update_hist), S(update_hist), NO_STATS, NO_RESULT},
    {COPY, L(update_ns_sum), S(update_ns_sum), NO_STATS, NO_RESULT},
    {COPY, L(ingest_wait_ns), S(ingest_wait_ns), NO_STATS, NO_RESULT},
    {COPY, L(trainer_wait_ns), S(trainer_wait_ns), NO_STATS, NO_RESULT},
    {COPY, L(first_insert_ns), NO_SNAP, ST(first_insert_ns), NO_RESULT},
    {COPY, L(last_insert_ns), NO_SNAP, ST(last_insert_ns), NO_RESULT},
    {COPY, L(first_update_ns), NO_SNAP, ST(first_update_ns), NO_RESULT},
    {COPY, L(last_update_ns), S(last_update_ns), ST(last_update_ns), NO_RESULT},
    {COPY, L(last_checkpoint_ns), S(last_checkpoint_ns), NO_STATS, NO_RESULT},
};
const size_t counters_count = sizeof counters / sizeof counters[0];

static uint64_t *field(void *base, size_t off, uint32_t i) {
  return (uint64_t *)(void *)((char *)base + off) + i;
}

/* Value i of row c as the learner has it now. */
static uint64_t learner_value(const counter_t *c, const learner_t *l, uint32_t i) {
  if (c->get) return c->get(l);
  return atomic_load((_Atomic uint64_t *)(void *)((char *)l + c->learner) + i);
}

static int copied(const counter_t *c) { return c->learner != NONE || c->get; }

static uint32_t count(const counter_t *c) { return c->n ? c->n : 1; }

uint64_t counters_snap_value(const counter_t *c, const status_snapshot_t *s, uint32_t i) {
  return *field((void *)s, c->snap, i);
}

void counters_snapshot(const learner_t *l, status_snapshot_t *s) {
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    if (!copied(c) || c->snap == NONE) continue;
    for (uint32_t i = 0; i < count(c); i++) *field(s, c->snap, i) = learner_value(c, l, i);
  }
}

void counters_result(const learner_t *l, learner_result_t *res) {
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    if (!copied(c) || c->result == NONE) continue;
    for (uint32_t i = 0; i < count(c); i++) *field(res, c->result, 0) += learner_value(c, l, i);
  }
}

void counters_stats(const learner_t *l, learner_stats_t *st) {
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    if (!copied(c) || c->stats == NONE) continue;
    for (uint32_t i = 0; i < count(c); i++) *field(st, c->stats, i) = learner_value(c, l, i);
  }
}

/* The label value of sample i of row c, or NULL when the sample has no label. */
static const char *label_value(const counter_t *c, uint32_t i) {
  if (!c->label_key) return NULL;
  return count(c) > 1 ? wire_reason_name((wire_reason_t)i) : c->label_value;
}

void counters_render_metrics(const status_snapshot_t *s, status_buf_t *b) {
  const char *family = NULL;
  for (size_t k = 0; k < counters_count; k++) {
    const counter_t *c = &counters[k];
    if (!c->metric) continue;
    if (!family || strcmp(family, c->metric) != 0) {
      family = c->metric;
      const char *type = c->kind == COUNTER_KIND_COUNTER ? "counter" : "gauge";
      status_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", family, c->help, family, type);
    }
    for (uint32_t i = count(c) > 1 ? 1 : 0; i < count(c); i++) {
      unsigned long long v = (unsigned long long)counters_snap_value(c, s, i);
      const char *lv = label_value(c, i);
      if (lv)
        status_buf_printf(b, "%s{%s=\"%s\"} %llu\n", c->metric, c->label_key, lv, v);
      else
        status_buf_printf(b, "%s %llu\n", c->metric, v);
    }
  }
}

/* The object at path's directories ("a.b.key": a, then a.b) under root, created when missing;
 * *key is set to path's last part (empty after a trailing dot). */
static json_t *json_parent(json_t *root, const char *path, const char **key) {
  json_t *obj = root;
  const char *p = path, *dot;
  while ((dot = strchr(p, '.')) != NULL) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(dot - p), p);
    json_t *next = json_object_get(obj, name);
    if (!next) {
      next = json_object();
      json_object_set_new(obj, name, next);
    }
    obj = next;
    p = dot + 1;
  }
  *key = p;
  return obj;
}

static json_t *json_value(const counter_t *c, uint64_t v) {
  return c->json_bool ? json_boolean(v != 0) : json_integer((json_int_t)v);
}

void counters_render_json(const status_snapshot_t *s, json_t *root) {
  /* the rows in json_order, equal ones in table order (an insertion sort: a few dozen rows) */
  size_t order[sizeof counters / sizeof counters[0]], n = 0;
  for (size_t k = 0; k < counters_count; k++) {
    if (!counters[k].json) continue;
    size_t j = n++;
    while (j > 0 && counters[order[j - 1]].json_order > counters[k].json_order) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = k;
  }
  for (size_t m = 0; m < n; m++) {
    const counter_t *c = &counters[order[m]];
    const char *key;
    json_t *obj = json_parent(root, c->json, &key);
    if (count(c) == 1) {
      json_object_set_new(obj, key, json_value(c, counters_snap_value(c, s, 0)));
      continue;
    }
    for (uint32_t i = 1; i < count(c); i++)
      json_object_set_new(obj, wire_reason_name((wire_reason_t)i),
                          json_value(c, counters_snap_value(c, s, i)));
  }
}
