/* The status server's documents, rendered from a snapshot: the Prometheus exposition, the
 * JSON of /status, the health verdict and the dashboard page. Pure functions of their
 * arguments (no shared state), called on the server's thread. */
#include "status.h"

#include "counters.h"
#include "ratelimit.h"
#include "xalloc.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const double status_lag_bounds[STATUS_LAG_BUCKETS] = {0, 1, 2, 5, 10, 20, 50, 100, 1000};
const double status_update_bounds[STATUS_UPDATE_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                            0.02,   0.05,  0.1,   0.25,  1.0};

void status_buf_printf(status_buf_t *b, const char *fmt, ...) {
  for (;;) {
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    b->cap = (b->cap ? 2 * b->cap : 4096) + (size_t)n;
    b->data = xrealloc(b->data, b->cap);
  }
}

void status_buf_free(status_buf_t *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

static double age_s(uint64_t now_ns, uint64_t then_ns) {
  return then_ns && now_ns > then_ns ? (double)(now_ns - then_ns) / 1e9 : 0.0;
}

/* ---------------------------------------------------------------------------------------- */
/* Prometheus text exposition 0.0.4                                                         */

static void head(status_buf_t *b, const char *name, const char *type, const char *help) {
  status_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u(status_buf_t *b, const char *name, uint64_t v) {
  status_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A float sample: NaN and infinities spelled as Prometheus wants them. */
static void fmt_double(char *out, size_t cap, double v) {
  if (isnan(v)) snprintf(out, cap, "NaN");
  else if (isinf(v)) snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
  else snprintf(out, cap, "%.17g", v);
}

static void sample_d(status_buf_t *b, const char *name, double v) {
  char s[64];
  fmt_double(s, sizeof s, v);
  status_buf_printf(b, "%s %s\n", name, s);
}

/* Label value escaping of the text format: backslash, double quote and line feed. */
static void escape_label(const char *in, char *out, size_t cap) {
  size_t j = 0;
  for (size_t i = 0; in[i] && j + 3 < cap; i++) {
    char c = in[i];
    if (c == '\\' || c == '"') {
      out[j++] = '\\';
      out[j++] = c;
    } else if (c == '\n') {
      out[j++] = '\\';
      out[j++] = 'n';
    } else {
      out[j++] = c;
    }
  }
  out[j] = 0;
}

/* A gauge whose value means nothing until there is data (a loss before the first update): the
 * whole family is left out until have, rather than exported as NaN that graphs and alerts
 * would have to filter. */
static void gauge_if(status_buf_t *b, int have, const char *name, const char *help, double v) {
  if (!have || !isfinite(v)) return;
  head(b, name, "gauge", help);
  sample_d(b, name, v);
}

static void histogram(status_buf_t *b, const char *name, const char *help, const double *bounds,
                      size_t nb, const uint64_t *counts, double sum) {
  head(b, name, "histogram", help);
  uint64_t cum = 0;
  char le[64];
  for (size_t i = 0; i < nb; i++) {
    cum += counts[i];
    fmt_double(le, sizeof le, bounds[i]);
    status_buf_printf(b, "%s_bucket{le=\"%s\"} %llu\n", name, le, (unsigned long long)cum);
  }
  cum += counts[nb];
  status_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
  char s[64];
  fmt_double(s, sizeof s, sum);
  status_buf_printf(b, "%s_sum %s\n%s_count %llu\n", name, s, name, (unsigned long long)cum);
}

static void render_fleet(const status_snapshot_t *s, uint64_t now_ns, status_buf_t *b);

void status_render_metrics(const status_snapshot_t *s, uint64_t now_ns, status_buf_t *b) {
  char name[2 * WIRE_MAX_NAME + 8];
  head(b, "td3d_run_info", "gauge", "Constant 1, labelled with the run id and environment.");
  escape_label(s->env_id, name, sizeof name);
  status_buf_printf(b, "td3d_run_info{run_id=\"%s\",env=\"%s\"} 1\n", s->run_id, name);
  head(b, "td3d_uptime_seconds", "gauge", "Seconds since the learner started.");
  sample_d(b, "td3d_uptime_seconds", age_s(now_ns, s->start_ns));
  counters_render_metrics(s, b); /* the counters block: learner/counters.c */
  /* the window is STATUS_RATE_WINDOW_S */
  head(b, "td3d_env_steps_per_second", "gauge",
       "Environment steps inserted per second over the last 30 s (since the learner process "
       "started, when younger).");
  sample_d(b, "td3d_env_steps_per_second", s->env_steps_per_s);
  head(b, "td3d_updates_per_second", "gauge",
       "TD3 iterations per second over the last 30 s (since the learner process started, when "
       "younger).");
  sample_d(b, "td3d_updates_per_second", s->updates_per_s);
  gauge_if(b, s->have_stats, "td3d_critic_loss",
           "Critic loss of the latest update (absent before this learner's first).", s->critic_loss);
  gauge_if(b, s->have_stats, "td3d_actor_loss",
           "Actor loss of the latest actor update (one in policy_delay updates; absent before this learner's first).",
           s->actor_loss);
  gauge_if(b, s->have_stats, "td3d_critic_loss_recent",
           "Critic loss level over about the last 1000 updates (frozen while exploded).",
           s->critic_loss_recent);
  head(b, "td3d_loss_exploded", "gauge",
       "1 while the critic loss is 1000 times its recent level or more (/healthz says so).");
  sample_u(b, "td3d_loss_exploded", (uint64_t)(s->critic_loss_exploded != 0));
  gauge_if(b, s->have_stats, "td3d_mean_q",
           "Mean Q1 over the latest update's batch (absent before this learner's first).", s->mean_q);
  head(b, "td3d_evaluations_total", "counter", "Evaluations recorded.");
  sample_u(b, "td3d_evaluations_total", s->n_curve);
  gauge_if(b, s->n_curve > 0, "td3d_eval_return_last",
           "Mean return of the latest evaluation (absent before the first).",
           s->n_curve ? s->curve[s->n_curve - 1].mean_return : 0.0);
  gauge_if(b, s->have_best, "td3d_eval_return_best",
           "Highest mean return of an evaluation of a trained policy (absent before the first).",
           s->best.mean_return);
  head(b, "td3d_ratelimit_state", "gauge", "1 for the rate limiter's current state, 0 for the others.");
  for (int st = RL_COLLECTING; st <= RL_WAIT_TRAINER; st++)
    status_buf_printf(b, "td3d_ratelimit_state{state=\"%s\"} %d\n",
                      ratelimit_state_name((ratelimit_state_t)st), st == s->rl_state);
  head(b, "td3d_ratelimit_blocked_seconds_total", "counter", "Seconds each side waited on the rate limiter.");
  char v[64];
  fmt_double(v, sizeof v, (double)s->ingest_wait_ns / 1e9);
  status_buf_printf(b, "td3d_ratelimit_blocked_seconds_total{side=\"ingest\"} %s\n", v);
  fmt_double(v, sizeof v, (double)s->trainer_wait_ns / 1e9);
  status_buf_printf(b, "td3d_ratelimit_blocked_seconds_total{side=\"trainer\"} %s\n", v);
  histogram(b, "td3d_policy_lag_versions", "Weights versions between an accepted batch's policy and the latest.",
            status_lag_bounds, STATUS_LAG_BUCKETS, s->lag_hist, (double)s->lag_sum);
  head(b, "td3d_policy_lag_max_versions", "gauge", "Largest policy lag seen.");
  sample_u(b, "td3d_policy_lag_max_versions", s->lag_max);
  histogram(b, "td3d_update_duration_seconds", "Time of one TD3 iteration in the trainer.",
            status_update_bounds, STATUS_UPDATE_BUCKETS, s->update_hist,
            (double)s->update_ns_sum / 1e9);
  head(b, "td3d_process_resident_memory_bytes", "gauge", "Resident memory of the learner process.");
  sample_u(b, "td3d_process_resident_memory_bytes", s->rss_bytes);
  render_fleet(s, now_ns, b);
}

/* The fleet's gauges, and the per-actor series of a fleet of at most STATUS_METRICS_ACTORS. */
static void render_fleet(const status_snapshot_t *s, uint64_t now_ns, status_buf_t *b) {
  char name[2 * WIRE_MAX_NAME + 8];
  uint32_t connected = 0;
  double oldest = 0;
  uint64_t lag_max = 0;
  for (uint32_t i = 0; i < s->n_actors; i++) {
    const actor_info_t *a = &s->actors[i];
    if (!a->active) continue;
    connected++;
    oldest = fmax(oldest, age_s(now_ns, a->last_seen_ns));
    if (a->policy_version && s->weights_version > a->policy_version &&
        s->weights_version - a->policy_version > lag_max)
      lag_max = s->weights_version - a->policy_version;
  }
  head(b, "td3d_actors_connected", "gauge", "Actors and evaluators holding a lease.");
  sample_u(b, "td3d_actors_connected", connected);
  head(b, "td3d_actors_registered", "gauge", "Actor slots in use, with a lease or not.");
  sample_u(b, "td3d_actors_registered", s->n_actors);
  head(b, "td3d_actor_last_seen_seconds_max", "gauge",
       "Seconds since the latest message of the actor holding a lease heard from longest ago.");
  sample_d(b, "td3d_actor_last_seen_seconds_max", oldest);
  head(b, "td3d_actor_policy_lag_versions_max", "gauge",
       "Weights versions the policy of the most outdated actor holding a lease is behind.");
  sample_u(b, "td3d_actor_policy_lag_versions_max", lag_max);
  /* per-actor series: five an actor, so only for a fleet of at most STATUS_METRICS_ACTORS */
  if (s->n_actors > STATUS_METRICS_ACTORS) return;
  static const struct {
    const char *name, *type, *help;
  } per_actor[] = {
      {"td3d_actor_env_steps_total", "counter", "Environment steps an actor reported (since it started)."},
      {"td3d_actor_transitions_total", "counter", "Transitions accepted from an actor's slot."},
      {"td3d_actor_last_seen_seconds", "gauge", "Seconds since an actor's latest message."},
      {"td3d_actor_active", "gauge", "1 if an actor's slot holds a lease."},
      {"td3d_actor_policy_lag_versions", "gauge", "Weights versions an actor's policy is behind."},
  };
  for (size_t m = 0; m < sizeof per_actor / sizeof per_actor[0]; m++) {
    if (s->n_actors == 0) continue;
    head(b, per_actor[m].name, per_actor[m].type, per_actor[m].help);
    for (uint32_t i = 0; i < s->n_actors; i++) {
      const actor_info_t *a = &s->actors[i];
      escape_label(a->name, name, sizeof name);
      /* sample_u/sample_d with an empty name print " value" after the labels */
      status_buf_printf(b, "%s{slot=\"%u\",name=\"%s\",role=\"%s\"}", per_actor[m].name, a->slot,
                        name, a->role == WIRE_ROLE_EVALUATOR ? "evaluator" : "actor");
      switch (m) {
      case 0: sample_u(b, "", a->env_steps); break;
      case 1: sample_u(b, "", a->transitions); break;
      case 2: sample_d(b, "", age_s(now_ns, a->last_seen_ns)); break;
      case 3: sample_u(b, "", (uint64_t)(a->active != 0)); break;
      default:
        sample_u(b, "", a->policy_version && s->weights_version > a->policy_version
                            ? s->weights_version - a->policy_version : 0);
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------- */
/* JSON                                                                                     */

/* JSON has no NaN or infinity (and jansson's json_real refuses them, which would drop the key):
 * a figure without a value is null. */
static json_t *jreal(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static json_t *ju64(uint64_t v) { return json_integer((json_int_t)v); }

/* An evaluation: "untrained" marks one of the initial networks (never the best). */
static json_t *jpoint(const status_point_t *p) {
  json_t *e = json_object();
  json_object_set_new(e, "env_steps", ju64(p->env_steps));
  json_object_set_new(e, "updates", ju64(p->updates));
  json_object_set_new(e, "wall_seconds", jreal(p->wall_seconds));
  json_object_set_new(e, "mean_return", jreal(p->mean_return));
  json_object_set_new(e, "std_return", jreal(p->std_return));
  json_object_set_new(e, "untrained", json_boolean(p->untrained));
  return e;
}

void status_render_json(const status_snapshot_t *s, uint64_t now_ns, status_buf_t *out) {
  status_render_json_page(s, now_ns, 0, STATUS_PAGE_ACTORS, out);
}

/* The whole actor table in a few figures: what a page of it cannot show. */
static json_t *actors_summary(const status_snapshot_t *s, uint64_t now_ns, uint32_t offset,
                              uint32_t listed) {
  uint32_t active = 0, evaluators = 0;
  double oldest = 0;
  for (uint32_t i = 0; i < s->n_actors; i++) {
    const actor_info_t *a = &s->actors[i];
    if (!a->active) continue;
    active++;
    evaluators += a->role == WIRE_ROLE_EVALUATOR;
    double seen = age_s(now_ns, a->last_seen_ns);
    if (seen > oldest) oldest = seen;
  }
  json_t *sum = json_object();
  json_object_set_new(sum, "total", json_integer(s->n_actors));
  json_object_set_new(sum, "active", json_integer(active));
  json_object_set_new(sum, "evaluators", json_integer(evaluators));
  json_object_set_new(sum, "last_seen_max_seconds", jreal(oldest));
  json_object_set_new(sum, "offset", json_integer(offset));
  json_object_set_new(sum, "listed", json_integer(listed));
  return sum;
}

void status_render_json_page(const status_snapshot_t *s, uint64_t now_ns, uint32_t offset,
                             uint32_t limit, status_buf_t *out) {
  json_t *root = json_object();
  json_object_set_new(root, "run_id", json_string(s->run_id));
  json_object_set_new(root, "env", json_string(s->env_id));
  json_object_set_new(root, "wall_seconds", jreal(s->wall_seconds));
  json_object_set_new(root, "snapshot_age_seconds", jreal(age_s(now_ns, s->taken_ns)));
  json_object_set_new(root, "finished", json_boolean(s->finished));
  char why[256];
  int ok = status_health(s, now_ns, why, sizeof why);
  json_t *h = json_object();
  json_object_set_new(h, "ok", json_boolean(ok));
  json_object_set_new(h, "reason", json_string(ok ? "ok" : why));
  json_object_set_new(root, "health", h);
  json_error_t jerr;
  json_t *cfg = json_loads(s->config_json, 0, &jerr);
  /* null while the learner is still starting (no config yet) */
  json_object_set_new(root, "config", cfg ? cfg : s->config_json[0] ? json_string(s->config_json)
                                                                   : json_null());

  counters_render_json(s, root); /* counters, checkpoint, security: learner/counters.c */
  json_object_set_new(json_object_get(root, "checkpoint"), "age_seconds",
                      s->last_checkpoint_ns ? jreal(age_s(now_ns, s->last_checkpoint_ns))
                                            : json_null());

  json_t *t = json_object();
  json_object_set_new(t, "env_steps_per_second", jreal(s->env_steps_per_s));
  json_object_set_new(t, "updates_per_second", jreal(s->updates_per_s));
  json_object_set_new(t, "rate_window_seconds", jreal(STATUS_RATE_WINDOW_S));
  json_object_set_new(t, "sample_seconds", jreal(STATUS_HISTORY_EVERY_S));
  json_t *hist = json_array();
  for (uint32_t i = 0; i < s->n_history; i++) {
    const status_sample_t *smp = status_history_at(s, i);
    json_t *e = json_object();
    json_object_set_new(e, "wall_seconds", jreal(smp->wall_seconds));
    json_object_set_new(e, "env_steps", ju64(smp->env_steps));
    json_object_set_new(e, "updates", ju64(smp->updates));
    json_array_append_new(hist, e);
  }
  json_object_set_new(t, "history", hist);
  json_object_set_new(root, "throughput", t);

  json_t *rl = json_object();
  json_object_set_new(rl, "state", json_string(ratelimit_state_name((ratelimit_state_t)s->rl_state)));
  json_object_set_new(rl, "ingest_blocked_seconds", jreal((double)s->ingest_wait_ns / 1e9));
  json_object_set_new(rl, "trainer_blocked_seconds", jreal((double)s->trainer_wait_ns / 1e9));
  json_object_set_new(root, "ratelimit", rl);

  json_t *tr = json_object();
  json_object_set_new(tr, "critic_loss", s->have_stats ? jreal(s->critic_loss) : json_null());
  json_object_set_new(tr, "actor_loss", s->have_stats ? jreal(s->actor_loss) : json_null());
  json_object_set_new(tr, "mean_q", s->have_stats ? jreal(s->mean_q) : json_null());
  json_object_set_new(tr, "critic_loss_recent",
                      s->have_stats ? jreal(s->critic_loss_recent) : json_null());
  json_object_set_new(tr, "critic_loss_exploded", json_boolean(s->critic_loss_exploded));
  uint64_t n_upd = 0;
  for (int i = 0; i <= STATUS_UPDATE_BUCKETS; i++) n_upd += s->update_hist[i];
  json_object_set_new(tr, "update_seconds_mean",
                      n_upd ? jreal((double)s->update_ns_sum / 1e9 / (double)n_upd) : json_null());
  json_object_set_new(root, "training", tr);

  json_t *lag = json_object();
  json_object_set_new(lag, "mean", s->lag_count ? jreal((double)s->lag_sum / (double)s->lag_count)
                                                 : json_null());
  json_object_set_new(lag, "max", ju64(s->lag_max));
  json_object_set_new(lag, "count", ju64(s->lag_count));
  json_t *bk = json_array();
  for (int i = 0; i <= STATUS_LAG_BUCKETS; i++) {
    json_t *e = json_object();
    json_object_set_new(e, "le", i < STATUS_LAG_BUCKETS ? jreal(status_lag_bounds[i])
                                                        : json_string("+Inf"));
    json_object_set_new(e, "count", ju64(s->lag_hist[i]));
    json_array_append_new(bk, e);
  }
  json_object_set_new(lag, "buckets", bk);
  json_object_set_new(root, "policy_lag", lag);

  uint32_t first = offset < s->n_actors ? offset : s->n_actors;
  uint32_t end = limit < s->n_actors - first ? first + limit : s->n_actors;
  json_object_set_new(root, "actors_summary", actors_summary(s, now_ns, first, end - first));
  json_t *actors = json_array();
  for (uint32_t i = first; i < end; i++) {
    const actor_info_t *a = &s->actors[i];
    json_t *e = json_object();
    json_object_set_new(e, "slot", json_integer(a->slot));
    json_object_set_new(e, "name", json_string(a->name));
    json_object_set_new(e, "role", json_string(a->role == WIRE_ROLE_EVALUATOR ? "evaluator" : "actor"));
    json_object_set_new(e, "active", json_boolean(a->active));
    json_object_set_new(e, "envs", json_integer(a->envs));
    json_object_set_new(e, "env_steps", ju64(a->env_steps));
    json_object_set_new(e, "transitions", ju64(a->transitions));
    json_object_set_new(e, "batches", ju64(a->batches));
    json_object_set_new(e, "policy_version", ju64(a->policy_version));
    json_object_set_new(e, "last_seen_seconds", jreal(age_s(now_ns, a->last_seen_ns)));
    json_object_set_new(e, "blocked_seconds", jreal((double)a->blocked_us / 1e6));
    json_object_set_new(e, "dropped", ju64(a->dropped));
    json_object_set_new(e, "registrations", json_integer(a->registrations));
    json_array_append_new(actors, e);
  }
  json_object_set_new(root, "actors", actors);

  json_t *curve = json_array();
  for (uint32_t i = 0; i < s->n_curve; i++) json_array_append_new(curve, jpoint(&s->curve[i]));
  json_object_set_new(root, "curve", curve);
  json_t *best = json_null();
  if (s->have_best) { /* never untrained: the flag is left out */
    best = jpoint(&s->best);
    json_object_del(best, "untrained");
  }
  json_object_set_new(root, "best_eval", best);
  json_object_set_new(root, "process_resident_memory_bytes", ju64(s->rss_bytes));

  char *text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (text) {
    status_buf_printf(out, "%s\n", text);
    free(text);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Health                                                                                   */

int status_health(const status_snapshot_t *s, uint64_t now_ns, char *why, size_t cap) {
  if (s->taken_ns == 0) return snprintf(why, cap, "the learner has not reported yet"), 0;
  if (s->fatal) return snprintf(why, cap, "the run failed: %s", s->fatal_msg), 0;
  if (s->finished) return 1;
  if (s->critic_loss_exploded)
    return snprintf(why, cap,
                    "the critic loss exploded: %.3g over the latest updates against %.3g before "
                    "(poisoned transitions, or a learning rate too high)",
                    s->critic_loss_latest, s->critic_loss_recent), 0;
  double stale = age_s(now_ns, s->taken_ns);
  if (stale > 5.0)
    return snprintf(why, cap, "the learner's main loop has not reported for %.0f s", stale), 0;
  /* Waiting for data or collecting is legitimate: the trainer is ready but has nothing to do. */
  if (s->rl_state == RL_COLLECTING || s->rl_state == RL_WAIT_DATA) return 1;
  uint64_t since = s->last_update_ns ? s->last_update_ns : s->start_ns;
  if (now_ns > since && now_ns - since > STATUS_STALL_NS)
    return snprintf(why, cap, "no TD3 update for %.0f s although the rate limiter allows them",
                    age_s(now_ns, since)), 0;
  return 1;
}
