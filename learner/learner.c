/* The learner process: set-up, the control socket (main thread) and the end of the run
 * (see learner.h). */
#include "learner_internal.h"

#include "checkpoint.h"
#include "env_mujoco.h"
#include "evaluate.h"
#include "log.h"
#include "progress.h"
#include "rng.h"
#include "rundir.h"
#include "xalloc.h"
#include "zsock.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

void learner_config_default(learner_config_t *c) {
  memset(c, 0, sizeof *c);
  c->env_id = "Pendulum-v1";
  c->steps = 1000000;
  c->start_steps = 25000;
  c->target_return = NAN;
  td3_config_default(&c->td3);
  c->replay_capacity = 1000000;
  c->replay_ratio = 1.0;
  c->max_lead = 1000;
  c->publish_every = 10;
  c->weights_budget_mb = 200;
  c->batch_steps = 32;
  c->noise = LEARNER_NOISE_GAUSSIAN;
  c->expl_noise = 0.1f;
  c->noise_min = 0.02f;
  c->noise_max = 0.4f;
  c->ou_sigma = 0.5f;
  c->ou_theta = 0.15f;
  c->ou_dt = 0.01f;
  c->eval_every = 5000;
  c->eval_episodes = 10;
  c->bind_host = "*";
  c->experience_port = 5555;
  c->weights_port = 5556;
  c->control_port = 5557;
  c->max_actors = 64;
  c->lease_ms = 5000;
  c->max_evaluators = 2;
  c->idle_lease_ms = 10000;
  c->progress = 1;
  c->max_frame = 0; /* from the env's dims and batch_steps (learner_frame_limit) */
  c->max_abs_value = 1e6;
  c->checkpoint_every = 60;
  c->checkpoint_replay = 1;
}

float learner_slot_sigma(const learner_config_t *c, uint32_t slot) {
  if (c->noise == LEARNER_NOISE_OU) return c->ou_sigma;
  if (!c->noise_spread) return c->expl_noise;
  /* log-uniform from noise_max (position 0) down to noise_min (position 7), repeating */
  double p = (double)(slot % 8) / 7.0;
  return (float)(c->noise_max * pow(c->noise_min / c->noise_max, p));
}

void learner_fail(learner_t *l, int code, const char *fmt, ...) {
  int expected = 0;
  if (atomic_compare_exchange_strong(&l->fatal, &expected, 1)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->fatal_err.msg, sizeof l->fatal_err.msg, fmt, ap);
    va_end(ap);
    l->fatal_err.code = code ? code : TD3_EINVAL;
  }
  atomic_store(&l->stop, 1);
  learner_wake(l);
}

void learner_wake(learner_t *l) {
  pthread_mutex_lock(&l->wake_lock);
  pthread_cond_broadcast(&l->wake);
  pthread_mutex_unlock(&l->wake_lock);
}

void learner_wait(learner_t *l, unsigned ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&l->wake_lock);
  pthread_cond_timedwait(&l->wake, &l->wake_lock, &ts);
  pthread_mutex_unlock(&l->wake_lock);
}

/* ---------------------------------------------------------------------------------------- */
/* Control socket                                                                           */

#define PEER_ID_MAX 255 /* ZeroMQ's longest routing id */

typedef struct control {
  learner_t *l;
  void *router;
  wire_buf_t buf;
  rundir_t *dir;
  progress_t *pr;
  learner_result_t *res;
  int finish;             /* 1: the run is over (target reached) */
  status_snapshot_t *snap;/* what the status server shows; the curve is appended here */
  /* The ROUTER routing id of the connection that holds each slot (from its Hello). A
   * heartbeat for a slot must come from that connection: after a learner restart that kept
   * the run id, slots are handed out anew, and a process still holding an old slot number
   * must not pass for the slot's new holder. */
  uint8_t (*peer)[PEER_ID_MAX];
  uint8_t *peer_len;
  hello_limit_t hello_limit;     /* Hellos per connection */
  uint64_t train_episodes_seen;  /* learner_t's training-episode counters at the last row */
  int64_t train_return_seen;
  /* curve.svg and policy.td3p are rewritten at most every LEARNER_OUTPUTS_EVERY_NS (each
   * costs a redraw of every point, or an fsync), and once more at the end of the run */
  uint64_t outputs_ns;           /* when they were last written (0: never) */
  int outputs_stale;             /* an evaluation was recorded since */
} control_t;

/* A run-directory write failed: logged, and counted for the run's end (a run whose outputs
 * were not all written must not end as if they were). */
static void output_failed(control_t *ct, const td3_err_t *err) {
  log_error("%s", err->msg);
  ct->res->output_failures++;
  snprintf(ct->res->save_error, sizeof ct->res->save_error, "%s", err->msg);
}

#define LEARNER_OUTPUTS_EVERY_NS 2000000000ULL

/* Rewrites curve.svg and policy.td3p (the latest published weights) if an evaluation was
 * recorded since they were last written and, unless force, they are LEARNER_OUTPUTS_EVERY_NS
 * old. Main thread. */
static void write_outputs(control_t *ct, int force) {
  learner_t *l = ct->l;
  uint64_t now = td3_now_ns();
  if (!ct->dir || !ct->outputs_stale ||
      (!force && ct->outputs_ns && now - ct->outputs_ns < LEARNER_OUTPUTS_EVERY_NS))
    return;
  ct->outputs_stale = 0;
  ct->outputs_ns = now;
  td3_err_t err = {0};
  if (rundir_draw(ct->dir, &err) != 0) output_failed(ct, &err);
  pthread_mutex_lock(&l->weights_lock);
  int rc = rundir_save_policy(ct->dir, l->info->id, l->layers, l->n_layers, l->info->action_low,
                              l->info->action_high, l->weights_copy, &err);
  pthread_mutex_unlock(&l->weights_lock);
  if (rc) output_failed(ct, &err);
}

static log_limit_t control_reject_limit;

static void reply(control_t *ct, const zmq_msg_t *identity, const wire_control_t *m) {
  if (wire_control_encode(m, &ct->buf) != 0) return;
  /* The peer may be gone: a failed send is not an error for the learner. */
  if (zmq_send(ct->router, zmq_msg_data((zmq_msg_t *)identity), zmq_msg_size((zmq_msg_t *)identity),
               ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
    return;
  zmq_send(ct->router, ct->buf.data, ct->buf.len, ZMQ_DONTWAIT);
}

static void reject_v(control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                     uint32_t retry_after_ms, const char *fmt, va_list ap) {
  wire_control_t m = {.type = WIRE_MSG_REJECT};
  m.u.reject.reason = reason;
  m.u.reject.retry_after_ms = retry_after_ms;
  vsnprintf(m.u.reject.detail, sizeof m.u.reject.detail, fmt, ap);
  if (reason != WIRE_REJECT_UNKNOWN_SLOT)
    log_limited(&control_reject_limit, 5000, LOG_WARN, "refused an actor: %s", m.u.reject.detail);
  reply(ct, identity, &m);
}

static void reject(control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reject(control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reject_v(ct, identity, reason, 0, fmt, ap);
  va_end(ap);
}

/* A refusal with a hint of when to try again. */
static void reject_after(control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                         uint32_t retry_after_ms, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void reject_after(control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                         uint32_t retry_after_ms, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reject_v(ct, identity, reason, retry_after_ms, fmt, ap);
  va_end(ap);
}

static void on_hello(control_t *ct, const zmq_msg_t *id, const wire_hello_t *h,
                     const char *owner) {
  learner_t *l = ct->l;
  if (!hello_limit_allow(&ct->hello_limit, zmq_msg_data((zmq_msg_t *)id),
                         zmq_msg_size((zmq_msg_t *)id), td3_now_ns())) {
    atomic_fetch_add(&l->hellos_dropped, 1);
    return;
  }
  const learner_config_t *c = l->cfg;
  const env_info_t *info = l->info;
  if (strcmp(h->env_id, info->id) != 0) {
    atomic_fetch_add(&l->hellos_refused, 1);
    reject(ct, id, WIRE_REJECT_ENV, "actor %s runs %s but this run trains %s", h->actor_name,
           h->env_id, info->id);
    return;
  }
  if (h->obs_dim != info->obs_dim || h->act_dim != info->act_dim ||
      memcmp(h->action_low, info->action_low, info->act_dim * sizeof(float)) != 0 ||
      memcmp(h->action_high, info->action_high, info->act_dim * sizeof(float)) != 0) {
    atomic_fetch_add(&l->hellos_refused, 1);
    reject(ct, id, WIRE_REJECT_SHAPE,
           "actor %s: %s has obs %u, act %u (or other action bounds); the run has obs %u, act %u",
           h->actor_name, h->env_id, h->obs_dim, h->act_dim, info->obs_dim, info->act_dim);
    return;
  }
  size_t id_len = zmq_msg_size((zmq_msg_t *)id);
  const uint8_t *id_bytes = zmq_msg_data((zmq_msg_t *)id);
  int held = actors_find(l->actors, h->actor_name);
  int same_connection = held >= 0 && id_len == ct->peer_len[held] &&
                        memcmp(id_bytes, ct->peer[held], id_len) == 0;
  actors_hello_t ah = {.name = h->actor_name, .role = h->role, .envs = h->envs,
                       .lease = h->lease, .same_connection = same_connection, .owner = owner};
  actors_verdict_t v;
  int slot = actors_register(l->actors, &ah, td3_now_ns(), &v);
  if (slot < 0) {
    atomic_fetch_add(&l->hellos_refused, 1);
    uint32_t ms = (uint32_t)(v.retry_after_ns / 1000000ULL);
    if (v.refusal == ACTORS_NAME_IN_USE)
      reject_after(ct, id, WIRE_REJECT_NAME_IN_USE, ms,
                   "another connection holds the live lease of %s (slot %d); retry in %u ms",
                   h->actor_name, held, ms);
    else if (v.refusal == ACTORS_EVALUATORS_FULL)
      reject_after(ct, id, WIRE_REJECT_FULL, ms,
                   "%u evaluators hold slots already (--max-evaluators); retry in %u ms",
                   c->max_evaluators, ms);
    else
      reject_after(ct, id, WIRE_REJECT_FULL, ms,
                   "all %u actor slots are held by working actors; retry in %u ms",
                   c->max_actors, ms);
    return;
  }
  if (v.preempted) {
    atomic_fetch_add(&l->slots_preempted, 1);
    log_limited(&control_reject_limit, 5000, LOG_WARN,
                "slot %d taken from %s (idle: no experience or reports) for %s", slot,
                v.preempted_name, h->actor_name);
  }
  /* The same connection saying Hello again (its lease ran out while it was busy) keeps its
   * lease, so the batches it has in flight still count; any other connection (an actor that
   * reconnected with its lease, or a newcomer) gets a new one and the old holder's batches
   * stop counting. */
  same_connection = held == slot && same_connection;
  if (!same_connection || actors_lease(l->actors, (uint32_t)slot) == 0)
    actors_renew_lease(l->actors, (uint32_t)slot);
  ct->peer_len[slot] = (uint8_t)(id_len < PEER_ID_MAX ? id_len : PEER_ID_MAX);
  memcpy(ct->peer[slot], id_bytes, ct->peer_len[slot]);
  wire_control_t m = {.type = WIRE_MSG_WELCOME};
  wire_welcome_t *w = &m.u.welcome;
  w->run_id = l->run_id;
  w->slot = (uint32_t)slot;
  w->lease = actors_lease(l->actors, (uint32_t)slot);
  w->noise = c->noise == LEARNER_NOISE_OU ? WIRE_NOISE_OU : WIRE_NOISE_GAUSSIAN;
  w->noise_sigma = learner_slot_sigma(c, (uint32_t)slot);
  w->ou_theta = c->ou_theta;
  w->ou_dt = c->ou_dt;
  w->seed = c->seed;
  w->weights_version = atomic_load(&l->weights_version);
  w->n_layers = l->n_layers;
  memcpy(w->layers, l->layers, sizeof w->layers);
  w->start_steps = c->start_steps;
  w->eval_every = c->eval_every;
  w->eval_episodes = c->eval_episodes;
  w->batch_steps = c->batch_steps;
  w->replay_ratio = (float)c->replay_ratio;
  w->max_lead = l->rl.max_lead;
  reply(ct, id, &m);
  log_info("%s %s joined as slot %d (%u env%s, noise sigma %.3g)",
           h->role == WIRE_ROLE_EVALUATOR ? "evaluator" : "actor", h->actor_name, slot, h->envs,
           h->envs == 1 ? "" : "s", w->noise_sigma);
}

static void on_heartbeat(control_t *ct, const zmq_msg_t *id, const wire_heartbeat_t *hb) {
  learner_t *l = ct->l;
  uint64_t accepted = 0;
  if (hb->run_id != l->run_id) {
    reject(ct, id, WIRE_REJECT_UNKNOWN_SLOT, "run %016llx is over; this is run %016llx: say Hello",
           (unsigned long long)hb->run_id, (unsigned long long)l->run_id);
    return;
  }
  size_t id_len = zmq_msg_size((zmq_msg_t *)id);
  if (hb->slot < l->cfg->max_actors &&
      (id_len != ct->peer_len[hb->slot] ||
       memcmp(zmq_msg_data((zmq_msg_t *)id), ct->peer[hb->slot], id_len) != 0)) {
    atomic_fetch_add(&l->rejected_unregistered, 1);
    reject(ct, id, WIRE_REJECT_UNKNOWN_SLOT,
           "slot %u is not held by this connection (the learner restarted, or the actor "
           "reconnected); say Hello again",
           hb->slot);
    return;
  }
  if (actors_heartbeat(l->actors, hb, td3_now_ns(), &accepted) != 0) {
    atomic_fetch_add(&l->rejected_unregistered, 1);
    reject(ct, id, WIRE_REJECT_UNKNOWN_SLOT, "slot %u has no lease; say Hello again", hb->slot);
    return;
  }
  wire_control_t m = {.type = WIRE_MSG_HEARTBEAT};
  m.u.heartbeat.run_id = l->run_id;
  m.u.heartbeat.slot = hb->slot;
  m.u.heartbeat.env_steps = atomic_load(&l->inserted);
  m.u.heartbeat.policy_version = atomic_load(&l->weights_version);
  m.u.heartbeat.accepted = accepted;
  reply(ct, id, &m);
}

/* Appends an evaluation to the status curve, keeping the latest STATUS_MAX_CURVE points. */
static void curve_push(status_snapshot_t *sn, status_point_t p) {
  if (sn->n_curve == STATUS_MAX_CURVE) {
    memmove(sn->curve, sn->curve + 1, (STATUS_MAX_CURVE - 1) * sizeof sn->curve[0]);
    sn->n_curve--;
  }
  sn->curve[sn->n_curve++] = p;
}

/* Takes an evaluation into the run's result and the status snapshot: the latest, the count,
 * the curve, and the best unless it shows the untrained networks. */
static void note_eval(control_t *ct, status_point_t p) {
  learner_result_t *res = ct->res;
  status_snapshot_t *sn = ct->snap;
  res->last_eval = p.mean_return;
  res->evaluations++;
  curve_push(sn, p);
  if (p.untrained) return;
  res->best_eval = fmax(res->best_eval, p.mean_return); /* fmax ignores the initial NaN */
  if (!sn->have_best || p.mean_return > sn->best.mean_return) {
    sn->best = p;
    sn->have_best = 1;
  }
}

/* Records an evaluation (from an evaluator or the learner's own final one) of the policy of
 * weights version policy_version (0: unknown). */
static void record_eval(control_t *ct, uint64_t env_steps, uint64_t policy_version,
                        const double *returns, uint32_t n) {
  learner_t *l = ct->l;
  learner_result_t *res = ct->res;
  double mean, sd, lo, hi;
  evaluate_stats(returns, n, &mean, &sd, &lo, &hi);
  double wall = progress_elapsed(ct->pr);
  uint64_t updates = atomic_load(&l->updates), ins = atomic_load(&l->inserted);
  uint64_t untrained_version = atomic_load(&l->untrained_version);
  int untrained = evaluate_untrained(env_steps, updates, l->cfg->start_steps) ||
                  (policy_version && policy_version <= untrained_version);
  note_eval(ct, (status_point_t){env_steps, updates, wall, mean, sd, untrained});
  progress_print(ct->pr, "eval  steps %8llu  return %9.2f +- %7.2f  updates %8llu  %6.1fs%s",
                 (unsigned long long)env_steps, mean, sd, (unsigned long long)updates, wall,
                 untrained ? "  (untrained)" : "");
  if (isfinite(l->cfg->target_return) && mean >= l->cfg->target_return && !res->solved) {
    res->solved = 1;
    res->solved_at = env_steps;
    res->solved_seconds = wall;
    ct->finish = 1;
  }
  if (!ct->dir) return;
  /* the mean return of the training episodes finished since the previous row */
  uint64_t eps = atomic_load(&l->train_episodes);
  int64_t sum = atomic_load(&l->train_return_milli);
  double train = eps > ct->train_episodes_seen
                     ? (double)(sum - ct->train_return_seen) / 1000.0 /
                           (double)(eps - ct->train_episodes_seen)
                     : NAN;
  ct->train_episodes_seen = eps;
  ct->train_return_seen = sum;
  td3_err_t err = {0};
  rundir_row_t row = {.env_steps = env_steps, .updates = updates, .wall_seconds = wall,
                      .eval_mean = mean, .eval_std = sd, .eval_min = lo, .eval_max = hi,
                      .eval_episodes = n, .train_return_mean = train,
                      .env_steps_per_s = wall > 0 ? (double)ins / wall : 0,
                      .updates_per_s = wall > 0 ? (double)updates / wall : 0};
  if (rundir_append(ct->dir, &row, &err) != 0) output_failed(ct, &err);
  ct->outputs_stale = 1;
  write_outputs(ct, 0);
}

/* Sends RunOver to every process that holds a slot, then serves the control socket for half
 * a second more, answering whatever arrives (a heartbeat, a Hello from a process that
 * reconnected) with RunOver too: a message queued just before the socket closes is not
 * always delivered, and a peer that missed the first one asks again within its heartbeat. */
static void announce_run_over(control_t *ct, const char *reason) {
  learner_t *l = ct->l;
  wire_control_t m = {.type = WIRE_MSG_RUN_OVER};
  m.u.run_over.run_id = l->run_id;
  snprintf(m.u.run_over.reason, sizeof m.u.run_over.reason, "%s", reason);
  if (wire_control_encode(&m, &ct->buf) != 0) return;
  uint32_t told = 0;
  for (uint32_t slot = 0; slot < l->cfg->max_actors; slot++) {
    if (!ct->peer_len[slot] || !actors_active(l->actors, slot)) continue;
    if (zmq_send(ct->router, ct->peer[slot], ct->peer_len[slot], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
      continue;
    if (zmq_send(ct->router, ct->buf.data, ct->buf.len, ZMQ_DONTWAIT) >= 0) told++;
  }
  log_info("run over (%s): told the %u process%s holding a slot", reason, told,
           told == 1 ? "" : "es");
  uint64_t until = td3_now_ns() + 500000000ULL;
  zmq_msg_t id, body;
  while (td3_now_ns() < until) {
    zmq_pollitem_t item = {ct->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 50) <= 0) continue;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    if (zmq_msg_recv(&id, ct->router, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&id)) {
      while (zmq_msg_recv(&body, ct->router, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&body)) {
      }
      if (zmq_send(ct->router, zmq_msg_data(&id), zmq_msg_size(&id),
                   ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(ct->router, ct->buf.data, ct->buf.len, ZMQ_DONTWAIT);
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
  }
  int linger = 500;
  zmq_setsockopt(ct->router, ZMQ_LINGER, &linger, sizeof linger);
}

static log_limit_t report_reject_limit;

/* An evaluation report counts only from the connection that holds an evaluator's slot (its
 * Hello said so), for env steps the run has reached. */
static void on_eval_report(control_t *ct, const zmq_msg_t *id, const wire_eval_report_t *e) {
  learner_t *l = ct->l;
  if (e->run_id != l->run_id) {
    atomic_fetch_add(&l->rejected[WIRE_RUN_ID], 1);
    return;
  }
  size_t id_len = zmq_msg_size((zmq_msg_t *)id);
  const char *why = NULL;
  if (e->slot >= l->cfg->max_actors || actors_role(l->actors, e->slot) != WIRE_ROLE_EVALUATOR)
    why = "the slot holds no evaluator";
  else if (id_len != ct->peer_len[e->slot] ||
           memcmp(zmq_msg_data((zmq_msg_t *)id), ct->peer[e->slot], id_len) != 0)
    why = "the slot is held by another connection";
  else if (e->env_steps > atomic_load(&l->inserted))
    why = "it names env steps the run has not reached";
  if (why) {
    atomic_fetch_add(&l->rejected_unregistered, 1);
    log_limited(&report_reject_limit, 5000, LOG_WARN,
                "evaluation report for slot %u at %llu env steps refused: %s", e->slot,
                (unsigned long long)e->env_steps, why);
    return;
  }
  /* At the budget the learner evaluates the final networks itself: an evaluator's report
   * for that point (made with weights up to a publish interval older) would be a second row
   * for the same env steps. */
  uint64_t budget = ct->l->cfg->steps;
  if (budget && e->env_steps >= budget) return;
  actors_evaluated(l->actors, e->slot, atomic_load(&l->inserted));
  double *r = xmalloc(e->n_returns * sizeof *r);
  for (uint32_t i = 0; i < e->n_returns; i++) r[i] = e->returns[i];
  record_eval(ct, e->env_steps, e->policy_version, r, e->n_returns);
  free(r);
}

/* Handles one message on the control socket: [identity][body]. */
static void control_recv(control_t *ct) {
  learner_t *l = ct->l;
  zmq_msg_t id, body;
  zmq_msg_init(&id);
  zmq_msg_init(&body);
  if (zmq_msg_recv(&id, ct->router, ZMQ_DONTWAIT) < 0) goto out;
  if (!zmq_msg_more(&id)) goto out;
  if (zmq_msg_recv(&body, ct->router, ZMQ_DONTWAIT) < 0) goto out;
  if (zmq_msg_more(&body)) {
    /* extra frames: drain and refuse the whole message */
    zmq_msg_t extra;
    zmq_msg_init(&extra);
    while (zmq_msg_more(&body) && zmq_msg_recv(&extra, ct->router, ZMQ_DONTWAIT) >= 0)
      zmq_msg_move(&body, &extra);
    zmq_msg_close(&extra);
    atomic_fetch_add(&l->rejected[WIRE_DECODE], 1);
    goto out;
  }
  wire_control_t m;
  wire_limits_t lim = l->limits;
  lim.run_id = 0; /* a heartbeat from an earlier run is answered below, not dropped */
  wire_reason_t r = wire_control_decode(zmq_msg_data(&body), zmq_msg_size(&body), &lim, &m);
  if (r != WIRE_OK) {
    atomic_fetch_add(&l->rejected[r], 1);
    log_limited(&control_reject_limit, 5000, LOG_WARN, "control frame refused: %s",
                wire_reason_name(r));
    /* an answer says why (a peer that floods garbage gets a few a second: the Hello cap) */
    if (hello_limit_allow(&ct->hello_limit, zmq_msg_data(&id), zmq_msg_size(&id), td3_now_ns())) {
      if (r == WIRE_VERSION)
        reject(ct, &id, WIRE_REJECT_VERSION, "protocol version differs (the learner speaks %u)",
               WIRE_PROTOCOL_VERSION);
      else
        reject(ct, &id, WIRE_REJECT_MALFORMED, "control frame refused: %s", wire_reason_name(r));
    }
    goto out;
  }
  switch (m.type) {
  case WIRE_MSG_HELLO: on_hello(ct, &id, &m.u.hello, zmq_msg_gets(&body, "User-Id")); break;
  case WIRE_MSG_HEARTBEAT: on_heartbeat(ct, &id, &m.u.heartbeat); break;
  case WIRE_MSG_EVAL_REPORT: on_eval_report(ct, &id, &m.u.eval_report); break;
  default: atomic_fetch_add(&l->rejected[WIRE_TYPE], 1); break;
  }
  wire_control_release(&m);
out:
  zmq_msg_close(&id);
  zmq_msg_close(&body);
}

/* ---------------------------------------------------------------------------------------- */
/* Set-up and the main loop                                                                 */

static void act_final(void *ctx, const float *obs, float *action) {
  td3_act((td3_t *)ctx, obs, 1, action);
}

static uint64_t make_run_id(uint64_t seed) {
  rng_t r;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rng_init(&r, seed ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec, (uint64_t)getpid());
  uint64_t id;
  do id = rng_next_u64(&r); while (id == 0);
  return id;
}

static void learner_free(learner_t *l) {
  env_destroy(&l->env);
  td3_destroy(&l->td3);
  replay_destroy(&l->replay);
  actors_destroy(&l->actors);
  free(l->weights_copy);
  free(l->ckpt_dir);
  pthread_mutex_destroy(&l->weights_lock);
  pthread_mutex_destroy(&l->wake_lock);
  pthread_cond_destroy(&l->wake);
  curve_zap_stop(&l->zap);
  if (l->zctx) zmq_ctx_term(l->zctx);
}

static void config_json(const learner_config_t *c, const learner_t *l, char *out, size_t cap) {
  char target[32] = "null";
  if (isfinite(c->target_return)) snprintf(target, sizeof target, "%.6g", c->target_return);
  char preset[64] = "null";
  if (c->preset) snprintf(preset, sizeof preset, "\"%s\"", c->preset);
  const td3_config_t *t = td3_config(l->td3);
  char model[1024];  /* the model file the learner's env loaded, for `td3d eval` */
  rundir_json_path(env_mujoco_model_path(l->env), model, sizeof model);
  snprintf(out, cap,
           "{\n  \"mode\": \"distributed\",\n  \"preset\": %s,\n  \"run_id\": \"%016llx\",\n  \"env\": \"%s\",\n"
           "  \"model\": %s,\n"
           "  \"seed\": %llu,\n  \"steps\": %llu,\n  \"start_steps\": %llu,\n"
           "  \"target_return\": %s,\n  \"replay_capacity\": %zu,\n  \"replay_ratio\": %.6g,\n"
           "  \"max_lead\": %llu,\n  \"publish_every\": %u,\n  \"batch_steps\": %u,\n"
           "  \"noise\": \"%s\",\n  \"expl_noise\": %.6g,\n  \"noise_spread\": %s,\n"
           "  \"eval_every\": %llu,\n  \"eval_episodes\": %u,\n  \"batch\": %u,\n"
           "  \"gamma\": %.6g,\n  \"tau\": %.6g,\n  \"actor_lr\": %.6g,\n  \"critic_lr\": %.6g,\n"
           "  \"policy_noise\": %.6g,\n  \"noise_clip\": %.6g,\n  \"policy_delay\": %u,\n"
           "  \"hidden\": [%u%s%u],\n  \"obs_dim\": %u,\n  \"act_dim\": %u,\n"
           "  \"ports\": {\"experience\": %u, \"weights\": %u, \"control\": %u}\n}",
           preset, (unsigned long long)l->run_id, c->env_id, model, (unsigned long long)c->seed,
           (unsigned long long)c->steps, (unsigned long long)c->start_steps, target,
           replay_capacity(l->replay), c->replay_ratio, (unsigned long long)c->max_lead,
           c->publish_every, c->batch_steps, c->noise == LEARNER_NOISE_OU ? "ou" : "gaussian",
           c->expl_noise, c->noise_spread ? "true" : "false", (unsigned long long)c->eval_every,
           c->eval_episodes, t->batch, t->gamma, t->tau, t->actor_lr, t->critic_lr,
           t->policy_noise, t->noise_clip, t->policy_delay, t->hidden[0],
           t->n_hidden > 1 ? ", " : "", t->n_hidden > 1 ? t->hidden[1] : 0u, t->obs_dim,
           t->act_dim, c->experience_port, c->weights_port, c->control_port);
  if (t->n_hidden == 1) { /* one hidden layer: drop the second entry printed above */
    char *p = strstr(out, "\"hidden\": [");
    if (p) {
      char *q = strchr(p, ']');
      char *comma = strchr(p, ',');
      if (comma && q && comma < q) memmove(comma, q, strlen(q) + 1);
    }
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Status snapshot                                                                          */

static uint64_t resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size = 0, rss = 0;
  if (!f) return 0;
  int n = fscanf(f, "%llu %llu", &size, &rss);
  fclose(f);
  return n == 2 ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Fills ct->snap from the learner's atomics and short locked copies (main thread). */
static void status_fill(control_t *ct, uint64_t start_ns, int finished) {
  learner_t *l = ct->l;
  status_snapshot_t *s = ct->snap;
  uint64_t now = td3_now_ns();
  s->taken_ns = now;
  s->start_ns = start_ns;
  s->wall_seconds = progress_elapsed(ct->pr);
  s->inserted = atomic_load(&l->inserted);
  s->updates = atomic_load(&l->updates);
  s->batches = atomic_load(&l->batches);
  s->over_budget = atomic_load(&l->over_budget);
  s->weights_version = atomic_load(&l->weights_version);
  s->weights_broadcasts = atomic_load(&l->weights_broadcasts);
  s->weights_subscribers = atomic_load(&l->weights_subscribers);
  s->steps_budget = l->cfg->steps;
  for (int r = 0; r < WIRE_REASON_COUNT; r++) s->rejected[r] = atomic_load(&l->rejected[r]);
  s->rejected_unregistered = atomic_load(&l->rejected_unregistered);
  s->rejected_bounds = atomic_load(&l->rejected_bounds);
  s->out_of_bounds = atomic_load(&l->out_of_bounds);
  s->rollback_dropped = atomic_load(&l->rollback_dropped);
  s->hellos_dropped = atomic_load(&l->hellos_dropped);
  s->hellos_refused = atomic_load(&l->hellos_refused);
  s->slots_preempted = atomic_load(&l->slots_preempted);
  s->replay_size = replay_size(l->replay);
  s->replay_capacity = replay_capacity(l->replay);
  status_history_update(s, &(status_sample_t){s->wall_seconds, s->inserted, s->updates});
  s->rl_state = (int)ratelimit_state(&l->rl, s->inserted, s->updates, l->cfg->batch_steps);
  s->ingest_wait_s = (double)atomic_load(&l->ingest_wait_ns) / 1e9;
  s->trainer_wait_s = (double)atomic_load(&l->trainer_wait_ns) / 1e9;
  pthread_mutex_lock(&l->weights_lock);
  td3_stats_t st = l->last_stats;
  loss_watch_t watch = l->critic_watch;
  pthread_mutex_unlock(&l->weights_lock);
  s->critic_loss_latest = loss_watch_latest(&watch);
  s->critic_loss_recent = loss_watch_recent(&watch);
  s->critic_loss_exploded = watch.exploded;
  /* the figures of an update this process made: a resumed run's counters say updates were
   * done, but their losses are not in the checkpoint */
  s->have_stats = atomic_load(&l->last_update_ns) != 0;
  s->critic_loss = st.critic_loss;
  s->actor_loss = st.actor_loss;
  s->mean_q = st.mean_q;
  s->lag_sum = atomic_load(&l->lag_sum);
  s->lag_count = atomic_load(&l->lag_count);
  s->lag_max = atomic_load(&l->lag_max);
  for (int i = 0; i <= STATUS_LAG_BUCKETS; i++) s->lag_hist[i] = atomic_load(&l->lag_hist[i]);
  for (int i = 0; i <= STATUS_UPDATE_BUCKETS; i++)
    s->update_hist[i] = atomic_load(&l->update_hist[i]);
  s->update_seconds_sum = (double)atomic_load(&l->update_ns_sum) / 1e9;
  s->last_update_ns = atomic_load(&l->last_update_ns);
  s->fatal = atomic_load(&l->fatal);
  if (s->fatal) snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s", l->fatal_err.msg);
  s->finished = finished;
  s->rss_bytes = resident_bytes();
  s->resumed = ct->res->resumed;
  s->checkpoints = atomic_load(&l->checkpoints);
  s->checkpoint_failures = atomic_load(&l->checkpoint_failures);
  s->rollbacks = atomic_load(&l->rollbacks);
  s->last_checkpoint_steps = atomic_load(&l->last_checkpoint_steps);
  s->last_checkpoint_ns = atomic_load(&l->last_checkpoint_ns);
  s->curve_on = l->curve != NULL;
  s->authorized_keys = l->n_authorized;
  s->auth_accepted = curve_zap_accepted(l->zap);
  s->auth_refused = curve_zap_refused(l->zap);
  s->n_actors = actors_snapshot(l->actors, s->actors, STATUS_MAX_ACTORS);
}

/* Each actor holds three TCP connections to the learner, a descriptor each: under a soft limit
 * of 1024 (a common default) about 330 actors exhaust it, and then ZeroMQ cannot accept
 * connections nor the status server answer, and leases expire with nothing in the log. Raises
 * the soft limit to what max_actors need (at most the hard limit) and says when that is short. */
static void raise_fd_limit(uint32_t max_actors) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t need = (rlim_t)max_actors * 3 + STATUS_MAX_CONNS + 128; /* + files, eventfds, pollers */
  if (rl.rlim_cur >= need) return;
  rlim_t was = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
  if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = was;
  if (rl.rlim_cur < need)
    log_warn("%u actor slots need about %llu file descriptors; the limit is %llu, enough for "
             "about %llu actors (raise the hard limit: ulimit -Hn, LimitNOFILE=, docker --ulimit "
             "nofile=)",
             max_actors, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
             (unsigned long long)(rl.rlim_cur > STATUS_MAX_CONNS + 128
                                      ? (rl.rlim_cur - STATUS_MAX_CONNS - 128) / 3 : 0));
}

uint32_t learner_batch_rows(const learner_config_t *c) {
  uint64_t rows = (uint64_t)c->batch_steps + WIRE_MAX_ENVS;
  return rows > WIRE_DEFAULT_MAX_BATCH ? WIRE_DEFAULT_MAX_BATCH : (uint32_t)rows;
}

size_t learner_frame_limit(const learner_config_t *c, uint32_t obs_dim, uint32_t act_dim) {
  /* the columns (obs, action, reward, next obs, terminal) as float32, their protobuf framing,
   * the header fields and the episode ends an actor may report with a batch */
  size_t row = (2 * (size_t)obs_dim + act_dim + 2) * sizeof(float) + 2 * sizeof(float);
  return (size_t)learner_batch_rows(c) * row + 65536;
}

int learner_bind_is_loopback(const char *host) {
  if (!host) return 0;
  if (strncmp(host, "127.", 4) == 0) return strspn(host + 4, "0123456789.") == strlen(host + 4);
  return strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0 ||
         strcmp(host, "localhost") == 0 || strcmp(host, "lo") == 0;
}

int learner_exposure_check(const learner_config_t *c, td3_err_t *err) {
  if (c->curve_key || c->insecure || learner_bind_is_loopback(c->bind_host)) return 0;
  return td3_err_set(err, TD3_EINVAL,
                     "the learner's sockets would bind %s without CURVE: anyone who reaches "
                     "ports %u-%u could join, send experience and read the weights. Give it "
                     "keys (td3d keygen; --curve-key and --curve-authorized), bind loopback "
                     "(--bind 127.0.0.1), or pass --insecure (TD3D_INSECURE=1) to run open on "
                     "purpose",
                     c->bind_host ? c->bind_host : "(none)", c->experience_port,
                     c->control_port);
}

int learner_run(const learner_config_t *c, learner_result_t *res, td3_err_t *err) {
  learner_t l;
  memset(&l, 0, sizeof l);
  memset(res, 0, sizeof *res);
  res->last_eval = NAN;
  res->best_eval = NAN;
  l.cfg = c;
  loss_watch_init(&l.critic_watch);
  pthread_mutex_init(&l.weights_lock, NULL);
  pthread_mutex_init(&l.wake_lock, NULL);
  pthread_cond_init(&l.wake, NULL);
  control_t ct = {.l = &l, .res = res};
  progress_t pr;
  progress_init(&pr, c->progress);
  ct.pr = &pr;
  ct.snap = xcalloc(1, sizeof *ct.snap);
  ct.peer = xcalloc(c->max_actors, sizeof *ct.peer);
  ct.peer_len = xcalloc(c->max_actors, sizeof *ct.peer_len);
  hello_limit_init(&ct.hello_limit, 2.0, 4.0);
  status_server_t *status = NULL;
  uint64_t start_ns = td3_now_ns(), last_status = 0;
  pthread_t ingest, trainer;
  int have_ingest = 0, have_trainer = 0, rc = 0;
  double ratio_min = NAN, ratio_max = NAN; /* sampled update/transition ratio */
  curve_sock_t curve = {0};
  curve_authorized_t authorized = {0};

  if (c->publish_every == 0 || c->batch_steps == 0 || c->eval_episodes == 0 ||
      !(c->replay_ratio >= 0)) {
    rc = td3_err_set(err, TD3_EINVAL,
                     "publish_every, batch_steps and eval_episodes must be positive, replay_ratio "
                     "not negative");
    goto out;
  }
  if (c->resume_dir && c->out_dir && strcmp(c->resume_dir, c->out_dir) != 0) {
    rc = td3_err_set(err, TD3_EINVAL,
                     "--resume %s continues the run in that directory; --out %s names another",
                     c->resume_dir, c->out_dir);
    goto out;
  }
  if (!(c->checkpoint_every >= 0)) {
    rc = td3_err_set(err, TD3_EINVAL, "checkpoint_every must be 0 or more seconds");
    goto out;
  }
  if ((rc = learner_exposure_check(c, err)) != 0) goto out;
  ct.snap->insecure = !c->curve_key && !learner_bind_is_loopback(c->bind_host);
  if (ct.snap->insecure)
    log_warn("INSECURE: the learner's sockets bind %s without CURVE (--insecure): anyone who "
             "reaches ports %u-%u can join, send experience and read the weights",
             c->bind_host, c->experience_port, c->control_port);
  const char *run_dir = c->resume_dir ? c->resume_dir : c->out_dir;
  if (run_dir) {
    size_t len = strlen(run_dir) + sizeof CHECKPOINT_DIR + 2;
    l.ckpt_dir = xmalloc(len);
    snprintf(l.ckpt_dir, len, "%s/%s", run_dir, CHECKPOINT_DIR);
  }
  if (!(l.env = env_create(c->env_id, &c->env_opts, err))) {
    rc = err ? err->code : TD3_EINVAL;
    goto out;
  }
  l.info = &l.env->info;
  td3_config_t tc = c->td3;
  tc.obs_dim = l.info->obs_dim;
  tc.act_dim = l.info->act_dim;
  tc.action_low = l.info->action_low;
  tc.action_high = l.info->action_high;
  tc.seed = c->seed;
  if (!(l.td3 = td3_new(&tc, err))) {
    rc = err ? err->code : TD3_EINVAL;
    goto out;
  }
  size_t cap = c->replay_capacity;
  if (c->steps && c->steps < cap) cap = (size_t)c->steps;
  if (!(l.replay = replay_new(cap, l.info->obs_dim, l.info->act_dim))) {
    rc = td3_err_set(err, TD3_ENOMEM,
                     "cannot allocate a replay buffer of %zu transitions (%zu bytes; %zu bytes "
                     "of memory available): lower --replay-capacity",
                     cap, replay_bytes(cap, l.info->obs_dim, l.info->act_dim),
                     td3_memory_available());
    goto out;
  }
  if ((l.actors = actors_new(c->max_actors, (uint64_t)c->lease_ms * 1000000ULL)))
    actors_configure(l.actors,
                     &(actors_policy_t){.idle_ns = (uint64_t)c->idle_lease_ms * 1000000ULL,
                                        .max_evaluators = c->max_evaluators,
                                        .eval_idle_steps = 3 * c->eval_every + 10000});
  if (!l.actors) {
    rc = td3_err_set(err, TD3_EINVAL, "max actors must be 1..%u", WIRE_MAX_SLOTS);
    goto out;
  }
  l.run_id = make_run_id(c->seed);
  rng_init(&l.trainer_rng, c->seed, rng_stream_id(RNG_PURPOSE_TRAINER, 0));
  checkpoint_meta_t resumed = {0};
  if (c->resume_dir) {
    if ((rc = checkpoint_load(l.ckpt_dir, l.info->id, l.td3, l.replay, &resumed, err)) != 0)
      goto out;
    l.run_id = resumed.run_id;
    l.trainer_rng = resumed.trainer_rng;
    l.wall_offset = resumed.wall_seconds;
    pr.offset_s = resumed.wall_seconds;
    atomic_store(&l.inserted, resumed.inserted);
    atomic_store(&l.updates, resumed.updates);
    atomic_store(&l.weights_version, resumed.weights_version);
    atomic_store(&l.last_checkpoint_steps, resumed.inserted);
    res->resumed = 1;
    if (c->steps && resumed.inserted >= c->steps) { /* nothing to collect: finish the run */
      atomic_store(&l.ingest_closed, 1);
      log_warn("the checkpoint already has the whole budget of %llu env steps; give a larger "
               "--steps to train on",
               (unsigned long long)c->steps);
    }
  } else if (l.ckpt_dir && checkpoint_exists(l.ckpt_dir)) {
    /* a new run here: the old run's checkpoint must not be resumed by mistake */
    checkpoint_remove(l.ckpt_dir);
  }
  res->run_id = l.run_id;
  l.rl = (ratelimit_t){c->replay_ratio, c->start_steps,
                       c->max_lead > tc.batch ? c->max_lead : tc.batch};
  l.n_layers = td3_actor_layers(l.td3, l.layers);
  td3_actor_params(l.td3, &l.n_params);
  l.weights_copy = xcalloc(l.n_params, sizeof(float));
  uint32_t max_rows = learner_batch_rows(c);
  l.limits = (wire_limits_t){.max_frame = c->max_frame ? c->max_frame
                                                       : learner_frame_limit(c, l.info->obs_dim,
                                                                             l.info->act_dim),
                             .max_batch = max_rows,
                             .run_id = l.run_id, .obs_dim = l.info->obs_dim,
                             .act_dim = l.info->act_dim};
  zsock_endpoint(l.experience_ep, sizeof l.experience_ep, c->bind_host, c->experience_port);
  zsock_endpoint(l.weights_ep, sizeof l.weights_ep, c->bind_host, c->weights_port);
  zsock_endpoint(l.control_ep, sizeof l.control_ep, c->bind_host, c->control_port);
  raise_fd_limit(c->max_actors);
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0)
    log_info("experience: frames up to %.0f KiB (%u transitions), %d queued a connection: at "
             "most %.0f MiB held over the %llu connections the descriptor limit allows",
             (double)l.limits.max_frame / 1024.0, l.limits.max_batch, LEARNER_EXPERIENCE_HWM,
             (double)l.limits.max_frame * LEARNER_EXPERIENCE_HWM * (double)nofile.rlim_cur /
                 (1024.0 * 1024.0),
             (unsigned long long)nofile.rlim_cur);
  l.zctx = zmq_ctx_new();
  if (c->curve_key) {
    if ((rc = learner_curve_start(&l, &curve, &authorized, err)) != 0) goto out;
  }
  zsock_opts_t o = {.sndhwm = 1000, .rcvhwm = 1000, .maxmsgsize = 1 << 20, .curve = l.curve,
                    .backlog = learner_backlog(c)};
  if (!(ct.router = zsock_open(l.zctx, ZMQ_ROUTER, &o, l.control_ep, 1, err))) {
    rc = err ? err->code : TD3_ESYS;
    goto out;
  }
  config_json(c, &l, ct.snap->config_json, sizeof ct.snap->config_json);
  snprintf(ct.snap->run_id, sizeof ct.snap->run_id, "%016llx", (unsigned long long)l.run_id);
  snprintf(ct.snap->env_id, sizeof ct.snap->env_id, "%.63s", l.info->id);
  if (c->status_bind && strcmp(c->status_bind, "off") != 0) {
    td3_err_t serr = {0};
    /* The status server only observes: a taken port must not stop a training run. */
    if (!(status = status_new(c->status_bind, &serr)))
      log_warn("no status server: %s", serr.msg);
    else
      log_info("status server on http://%s/", c->status_bind);
    char host[128];
    unsigned port;
    td3_err_t perr = {0};
    if (status && status_parse_bind(c->status_bind, host, sizeof host, &port, &perr) == 0 &&
        !learner_bind_is_loopback(host))
      log_warn("the status server binds %s: it serves the run's configuration and run id (which "
               "the experience and control sockets check) to anyone who reaches port %u",
               host, port);
  }
  if (c->resume_dir) {
    if (!(ct.dir = rundir_resume(run_dir, ct.snap->config_json, resumed.inserted, err))) {
      rc = err ? err->code : TD3_EIO;
      goto out;
    }
    size_t n_rows;
    const rundir_row_t *rows = rundir_rows(ct.dir, &n_rows);
    for (size_t i = 0; i < n_rows; i++) {
      const rundir_row_t *r = &rows[i];
      note_eval(&ct, (status_point_t){r->env_steps, r->updates, r->wall_seconds, r->eval_mean,
                                      r->eval_std,
                                      evaluate_untrained(r->env_steps, r->updates,
                                                         c->start_steps)});
    }
    log_info("resumed run %016llx from %s: %llu env steps, %llu updates, weights version %llu, "
             "%llu transitions in replay%s, %zu evaluations kept",
             (unsigned long long)l.run_id, l.ckpt_dir, (unsigned long long)resumed.inserted,
             (unsigned long long)resumed.updates, (unsigned long long)resumed.weights_version,
             (unsigned long long)resumed.replay_rows,
             resumed.has_replay ? "" : " (the checkpoint holds no replay buffer)", n_rows);
    if (rundir_dropped(ct.dir))
      log_info("progress.csv: %zu row%s after the checkpoint dropped", rundir_dropped(ct.dir),
               rundir_dropped(ct.dir) == 1 ? "" : "s");
    if (rundir_dropped_steps(ct.dir) > resumed.inserted)
      log_warn("the run had reached %llu env steps (progress.csv) but its checkpoint holds %llu: "
               "it goes back %llu env steps, which are collected and trained again",
               (unsigned long long)rundir_dropped_steps(ct.dir),
               (unsigned long long)resumed.inserted,
               (unsigned long long)(rundir_dropped_steps(ct.dir) - resumed.inserted));
  } else if (c->out_dir) {
    if (!(ct.dir = rundir_open(c->out_dir, ct.snap->config_json, c->overwrite, err))) {
      rc = err ? err->code : TD3_EIO;
      goto out;
    }
  }
  if (ct.dir) {
    char title[128];
    snprintf(title, sizeof title, "%s, seed %llu%s%s", l.info->id, (unsigned long long)c->seed,
             c->preset ? ", " : "", c->preset ? c->preset : "");
    if (rundir_set_chart(ct.dir, title, c->target_return, err) != 0) {
      rc = err ? err->code : TD3_EIO;
      goto out;
    }
  }
  log_info("learner %016llx: %s, obs %u, act %u, replay %zu transitions (%.1f MiB), ports "
           "%u/%u/%u",
           (unsigned long long)l.run_id, l.info->id, l.info->obs_dim, l.info->act_dim, cap,
           (double)replay_bytes(cap, l.info->obs_dim, l.info->act_dim) / 1048576.0,
           c->experience_port, c->weights_port, c->control_port);
  l.start_ns = td3_now_ns();
  /* the throughput history starts here: rates count what this process inserts and trains,
   * never the restored totals */
  status_history_update(ct.snap, &(status_sample_t){progress_elapsed(&pr),
                                                     atomic_load(&l.inserted),
                                                     atomic_load(&l.updates)});
  if (!c->resume_dir && l.ckpt_dir) {
    /* A new run is resumable from its first moment: a learner that dies before its first
     * periodic checkpoint (or a supervisor's --continue) comes back as this same run. */
    td3_err_t cerr = {0};
    if (learner_checkpoint(&l, &cerr) != 0) log_error("first checkpoint failed: %s", cerr.msg);
  }
  if (pthread_create(&ingest, NULL, learner_ingest_thread, &l) != 0) {
    rc = td3_err_set(err, TD3_ESYS, "cannot start the ingest thread");
    goto out;
  }
  have_ingest = 1;
  if (pthread_create(&trainer, NULL, learner_trainer_thread, &l) != 0) {
    rc = td3_err_set(err, TD3_ESYS, "cannot start the trainer thread");
    atomic_store(&l.stop, 1);
    goto out;
  }
  have_trainer = 1;

  uint64_t last_tick = td3_now_ns(), last_sample = 0;
  while (!atomic_load(&l.stop)) {
    zmq_pollitem_t item = {ct.router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 100) > 0)
      for (int k = 0; k < 64 && !ct.finish; k++) {
        int ev = 0;
        size_t evlen = sizeof ev;
        zmq_getsockopt(ct.router, ZMQ_EVENTS, &ev, &evlen);
        if (!(ev & ZMQ_POLLIN)) break;
        control_recv(&ct);
      }
    if (ct.finish) break;
    if (c->stop && *c->stop) {
      log_info("stop requested");
      break;
    }
    if (atomic_load(&l.trainer_drained)) break;
    uint64_t now = td3_now_ns();
    if (now - last_sample > 100000000ULL) {
      last_sample = now;
      uint64_t ins = atomic_load(&l.inserted), upd = atomic_load(&l.updates);
      if (l.rl.ratio > 0 && ins > l.rl.start && ins - l.rl.start >= 10 * l.rl.max_lead) {
        double ratio = (double)upd / (l.rl.ratio * (double)(ins - l.rl.start));
        ratio_min = isnan(ratio_min) ? ratio : fmin(ratio_min, ratio);
        ratio_max = isnan(ratio_max) ? ratio : fmax(ratio_max, ratio);
      }
    }
    if (now - last_tick > 1000000000ULL) {
      last_tick = now;
      uint64_t ins = atomic_load(&l.inserted), upd = atomic_load(&l.updates);
      actors_tick(l.actors, now, ins,
                  ratelimit_state(&l.rl, ins, upd, c->batch_steps) == RL_WAIT_TRAINER);
      uint32_t gone = actors_expire(l.actors, now);
      if (gone) log_warn("%u actor lease%s expired", gone, gone == 1 ? "" : "s");
    }
    progress_status_t s = {atomic_load(&l.inserted), c->steps, atomic_load(&l.updates),
                           replay_size(l.replay), res->last_eval};
    progress_update(&pr, &s);
    write_outputs(&ct, 0); /* what a burst of evaluations left to write */
    if (status && now - last_status >= 250000000ULL) {
      last_status = now;
      status_fill(&ct, start_ns, 0);
      status_publish(status, ct.snap);
    }
  }
  atomic_store(&l.stop, 1);
  learner_wake(&l);
  pthread_join(ingest, NULL);
  pthread_join(trainer, NULL);
  have_ingest = have_trainer = 0;
  if (atomic_load(&l.fatal)) {
    rc = td3_err_set(err, l.fatal_err.code, "%s", l.fatal_err.msg);
    goto out;
  }
  if (l.ckpt_dir) { /* the run as it ends: `--resume` goes on from here */
    td3_err_t cerr = {0};
    if (learner_checkpoint(&l, &cerr) != 0) {
      /* the previous checkpoint stays whole, and is all a --resume has: say how far back */
      res->checkpoint_failed = 1;
      snprintf(res->save_error, sizeof res->save_error, "%s", cerr.msg);
      log_error("final checkpoint failed: %s; the latest checkpoint holds %llu of the run's %llu "
                "env steps",
                cerr.msg, (unsigned long long)atomic_load(&l.last_checkpoint_steps),
                (unsigned long long)atomic_load(&l.inserted));
    }
  }
  /* A run that spent its budget ends with the learner's own evaluation of the final policy. */
  if (atomic_load(&l.trainer_drained) && !res->solved) {
    double *r = xmalloc(c->eval_episodes * sizeof *r);
    env_t *eval_env = env_create(c->env_id, &c->env_opts, err);
    if (eval_env && evaluate_episodes(eval_env, evaluate_seed(c->seed), c->eval_episodes, act_final,
                                      l.td3, r, err) == 0) {
      size_t n;
      const float *p = td3_actor_params(l.td3, &n);
      pthread_mutex_lock(&l.weights_lock);
      memcpy(l.weights_copy, p, n * sizeof(float));
      pthread_mutex_unlock(&l.weights_lock);
      record_eval(&ct, atomic_load(&l.inserted), atomic_load(&l.weights_version), r,
                  c->eval_episodes);
    } else {
      log_error("final evaluation failed: %s", err ? err->msg : "");
    }
    env_destroy(&eval_env);
    free(r);
  }
  /* The run is over (budget spent or target reached; not a stop from outside, after which
   * the run goes on with --resume): actors and the evaluator are told, and exit. */
  if (atomic_load(&l.trainer_drained) || res->solved)
    announce_run_over(&ct, res->solved ? "target return reached" : "step budget spent");
out:
  if (have_ingest || have_trainer) {
    atomic_store(&l.stop, 1);
    learner_wake(&l);
    if (have_ingest) pthread_join(ingest, NULL);
    if (have_trainer) pthread_join(trainer, NULL);
  }
  write_outputs(&ct, 1); /* the run's final state, whatever the throttle held back */
  progress_finish(&pr);
  res->inserted = atomic_load(&l.inserted);
  res->updates = atomic_load(&l.updates);
  res->weights_version = atomic_load(&l.weights_version);
  res->over_budget = atomic_load(&l.over_budget);
  res->checkpoints = atomic_load(&l.checkpoints);
  res->checkpoint_steps = atomic_load(&l.last_checkpoint_steps);
  res->rollbacks = atomic_load(&l.rollbacks);
  for (int r = 0; r < WIRE_REASON_COUNT; r++) res->rejected_frames += atomic_load(&l.rejected[r]);
  res->rejected_frames += atomic_load(&l.rejected_unregistered);
  res->wall_seconds = progress_elapsed(&pr);
  if (c->stats_out) {
    learner_stats_t *st = c->stats_out;
    memset(st, 0, sizeof *st);
    for (int r = 0; r < WIRE_REASON_COUNT; r++) st->rejected[r] = atomic_load(&l.rejected[r]);
    st->rejected_unregistered = atomic_load(&l.rejected_unregistered);
    st->rejected_bounds = atomic_load(&l.rejected_bounds);
    st->out_of_bounds = atomic_load(&l.out_of_bounds);
    st->rollback_dropped = atomic_load(&l.rollback_dropped);
    st->hellos_dropped = atomic_load(&l.hellos_dropped);
    st->hellos_refused = atomic_load(&l.hellos_refused);
    st->slots_preempted = atomic_load(&l.slots_preempted);
    st->inserted = res->inserted;
    st->updates = res->updates;
    st->batches = atomic_load(&l.batches);
    st->over_budget = res->over_budget;
    st->weights_version = res->weights_version;
    st->lag_sum = atomic_load(&l.lag_sum);
    st->lag_count = atomic_load(&l.lag_count);
    st->lag_max = atomic_load(&l.lag_max);
    st->first_insert_ns = atomic_load(&l.first_insert_ns);
    st->last_insert_ns = atomic_load(&l.last_insert_ns);
    st->first_update_ns = atomic_load(&l.first_update_ns);
    st->last_update_ns = atomic_load(&l.last_update_ns);
    st->ratio_min = ratio_min;
    st->ratio_max = ratio_max;
    if (l.actors) st->n_actors = actors_snapshot(l.actors, st->actors, 64);
  }
  if (status) {
    if (l.actors) {
      status_fill(&ct, start_ns, 1);
      status_publish(status, ct.snap);
    }
    status_destroy(&status);
  }
  free(ct.snap);
  free(ct.peer);
  free(ct.peer_len);
  wire_buf_free(&ct.buf);
  zsock_close(&ct.router);
  rundir_close(&ct.dir);
  learner_free(&l); /* stops the ZAP handler, which reads authorized */
  curve_authorized_free(&authorized);
  return rc;
}
