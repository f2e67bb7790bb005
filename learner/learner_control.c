/* The learner's control socket (main thread): Hello -> Welcome/Reject, heartbeats and
 * leases, evaluation reports (checked here, recorded by learner_record.c), RunOver (see
 * learner_control.h). */
#include "learner_control.h"

#include "evaluate.h"
#include "log.h"
#include "xalloc.h"
#include "zsock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

void learner_control_init(learner_control_t *ct, learner_t *l, learner_result_t *res,
                          progress_t *pr) {
  memset(ct, 0, sizeof *ct);
  ct->l = l;
  ct->res = res;
  ct->pr = pr;
  ct->snap = xcalloc(1, sizeof *ct->snap);
  ct->peer = xcalloc(l->cfg->max_actors, sizeof *ct->peer);
  ct->peer_len = xcalloc(l->cfg->max_actors, sizeof *ct->peer_len);
  hello_limit_init(&ct->hello_limit, 2.0, 4.0);
  /* A peer address (or a CURVE key) may start every slot at once and a few more, then say
   * Hello 2 times a second, or a quarter of the slots a second for a large table: a host or
   * key that opens many connections gets no more than that in all */
  double slots = (double)l->cfg->max_actors;
  hello_limit_init(&ct->hello_by_peer, slots / 4 > 2 ? slots / 4 : 2, slots + 4);
  hello_limit_init(&ct->hello_by_key, slots / 4 > 2 ? slots / 4 : 2, slots + 4);
  learner_record_init(ct);
}

void learner_control_free(learner_control_t *ct) {
  learner_record_free(ct);
  free(ct->snap);
  free(ct->peer);
  free(ct->peer_len);
  ct->snap = NULL;
  ct->peer = NULL;
  ct->peer_len = NULL;
  wire_buf_free(&ct->buf);
  learner_monitor_close(&ct->monitor);
  zsock_close(&ct->router);
  rundir_close(&ct->dir);
}

int learner_control_dir_open(learner_control_t *ct, const char *run_dir,
                             const checkpoint_meta_t *resumed, td3_err_t *err) {
  const learner_config_t *c = ct->l->cfg;
  if (resumed) {
    if (!(ct->dir = rundir_resume(run_dir, ct->snap->config_json, resumed->inserted, err)))
      return err ? err->code : TD3_EIO;
    size_t n_rows;
    const rundir_row_t *rows = rundir_rows(ct->dir, &n_rows);
    for (size_t i = 0; i < n_rows; i++)
      learner_control_note_eval(
          ct, (status_point_t){rows[i].env_steps, rows[i].updates, rows[i].wall_seconds,
                               rows[i].eval_mean, rows[i].eval_std,
                               evaluate_untrained(rows[i].env_steps, rows[i].updates,
                                                  c->start_steps)});
    const checkpoint_meta_t *m = resumed;
    log_info("resumed run %016llx from %s: %llu env steps, %llu updates, weights version %llu, "
             "%llu transitions in replay%s, %zu evaluations kept",
             (unsigned long long)ct->l->run_id, ct->l->ckpt_dir, (unsigned long long)m->inserted,
             (unsigned long long)m->updates, (unsigned long long)m->weights_version,
             (unsigned long long)m->replay_rows,
             m->has_replay ? "" : " (the checkpoint holds no replay buffer)", n_rows);
    size_t dropped = rundir_dropped(ct->dir);
    if (dropped) log_info("progress.csv: %zu row%s after the checkpoint dropped", dropped,
                          dropped == 1 ? "" : "s");
    uint64_t reached = rundir_dropped_steps(ct->dir);
    if (reached > m->inserted)
      log_warn("the run had reached %llu env steps (progress.csv) but its checkpoint holds %llu: "
               "it goes back %llu env steps, which are collected and trained again",
               (unsigned long long)reached, (unsigned long long)m->inserted,
               (unsigned long long)(reached - m->inserted));
  } else if (run_dir) {
    if (!(ct->dir = rundir_open(run_dir, ct->snap->config_json, c->overwrite, err)))
      return err ? err->code : TD3_EIO;
  }
  if (!ct->dir) return 0;
  char title[128];
  snprintf(title, sizeof title, "%s, seed %llu%s%s", ct->l->info->id, (unsigned long long)c->seed,
           c->preset ? ", " : "", c->preset ? c->preset : "");
  if (rundir_set_chart(ct->dir, title, c->target_return, err) != 0)
    return err ? err->code : TD3_EIO;
  return 0;
}

static log_limit_t control_reject_limit;

static void reply(learner_control_t *ct, const zmq_msg_t *identity, const wire_control_t *m) {
  if (wire_control_encode(m, &ct->buf) != 0) return;
  /* The peer may be gone: a failed send is not an error for the learner. */
  if (zmq_send(ct->router, zmq_msg_data((zmq_msg_t *)identity), zmq_msg_size((zmq_msg_t *)identity),
               ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
    return;
  zmq_send(ct->router, ct->buf.data, ct->buf.len, ZMQ_DONTWAIT);
}

static void reject_v(learner_control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                     uint32_t retry_after_ms, const char *fmt, va_list ap) {
  wire_control_t m = {.type = WIRE_MSG_REJECT};
  m.u.reject.reason = reason;
  m.u.reject.retry_after_ms = retry_after_ms;
  vsnprintf(m.u.reject.detail, sizeof m.u.reject.detail, fmt, ap);
  if (reason != WIRE_REJECT_UNKNOWN_SLOT)
    log_limited(&control_reject_limit, 5000, LOG_WARN, "refused an actor: %s", m.u.reject.detail);
  reply(ct, identity, &m);
}

static void reject(learner_control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reject(learner_control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reject_v(ct, identity, reason, 0, fmt, ap);
  va_end(ap);
}

/* A refusal with a hint of when to try again. */
static void reject_after(learner_control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                         uint32_t retry_after_ms, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void reject_after(learner_control_t *ct, const zmq_msg_t *identity, wire_reject_reason_t reason,
                         uint32_t retry_after_ms, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  reject_v(ct, identity, reason, retry_after_ms, fmt, ap);
  va_end(ap);
}

/* 1 if a Hello (or an answer to a refused frame) from this connection, peer address (NULL:
 * not known, as over inproc) and CURVE key (NULL or "": none) is within the caps
 * (hello_limit.h); takes a token from each. */
static int hello_allowed(learner_control_t *ct, const zmq_msg_t *id, const char *peer,
                         const char *key) {
  uint64_t now = td3_now_ns();
  if (!hello_limit_allow(&ct->hello_limit, zmq_msg_data((zmq_msg_t *)id),
                         zmq_msg_size((zmq_msg_t *)id), now))
    return 0;
  if (peer && *peer && !hello_limit_allow(&ct->hello_by_peer, peer, strlen(peer), now)) return 0;
  if (key && *key && !hello_limit_allow(&ct->hello_by_key, key, strlen(key), now)) return 0;
  return 1;
}

static void on_hello(learner_control_t *ct, const zmq_msg_t *id, const wire_hello_t *h,
                     const char *owner, const char *peer) {
  learner_t *l = ct->l;
  if (!hello_allowed(ct, id, peer, owner)) {
    atomic_fetch_add(&l->hellos_dropped, 1);
    return;
  }
  const learner_config_t *c = l->cfg;
  const env_info_t *info = l->info;
  /* An evaluator's reports make the run's curve: with a token, only a process given it may
   * hold an evaluator's slot (first, so a stranger learns nothing else from the answer).
   * Actors need none. */
  if (h->role == WIRE_ROLE_EVALUATOR && l->eval_token.len &&
      !eval_token_matches(&l->eval_token, h->eval_token, h->eval_token_len)) {
    atomic_fetch_add(&l->hellos_refused, 1);
    atomic_fetch_add(&l->hellos_unauthorized, 1);
    reject(ct, id, WIRE_REJECT_UNAUTHORIZED,
           "evaluator %s: %s evaluator token; this learner admits evaluators started with "
           "--eval-token-file holding its token (td3d run: <out>/eval.token)",
           h->actor_name, h->eval_token_len ? "a wrong" : "no");
    return;
  }
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
                       .lease = h->lease, .same_connection = same_connection, .owner = owner,
                       .group = owner && *owner ? owner : peer};
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
    else if (v.over_share)
      reject_after(ct, id, WIRE_REJECT_FULL, ms,
                   "all %u slots are held and others wait for one: this peer%s holds its "
                   "share (%u) already; retry in %u ms",
                   c->max_actors, owner && *owner ? "'s key" : "", v.share, ms);
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
  if (!same_connection || wire_lease_is_none(actors_lease(l->actors, (uint32_t)slot)))
    actors_renew_lease(l->actors, (uint32_t)slot);
  ct->peer_len[slot] = (uint8_t)(id_len < LEARNER_PEER_ID_MAX ? id_len : LEARNER_PEER_ID_MAX);
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

/* A heartbeat renews its slot's lease only from the connection that holds the slot and with
 * the slot's lease (both words); any other is answered UNKNOWN_SLOT and counted as
 * unregistered (one of another run: as run_id). */
static void on_heartbeat(learner_control_t *ct, const zmq_msg_t *id, const wire_heartbeat_t *hb) {
  learner_t *l = ct->l;
  uint64_t accepted = 0;
  if (hb->run_id != l->run_id) {
    atomic_fetch_add(&l->rejected[WIRE_RUN_ID], 1);
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
    reject(ct, id, WIRE_REJECT_UNKNOWN_SLOT,
           "slot %u has no lease, or not the one this heartbeat carries; say Hello again",
           hb->slot);
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

/* Sends RunOver to every process that holds a slot, then serves the control socket for half
 * a second more, answering whatever arrives (a heartbeat, a Hello from a process that
 * reconnected) with RunOver too: a message queued just before the socket closes is not
 * always delivered, and a peer that missed the first one asks again within its heartbeat. */
void learner_control_announce_run_over(learner_control_t *ct, const char *reason) {
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
 * Hello said so) and with the slot's lease (both words), for env steps the run has reached
 * and a weights version it published. */
static void on_eval_report(learner_control_t *ct, const zmq_msg_t *id, const wire_eval_report_t *e) {
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
  else if (!actors_lease_ok(l->actors, e->slot, e->lease))
    why = "it does not carry the slot's lease";
  else if (e->env_steps > atomic_load(&l->inserted))
    why = "it names env steps the run has not reached";
  else if (e->policy_version > atomic_load(&l->weights_version))
    why = "it names a weights version the learner has not published";
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
  learner_record_report(ct, e);
}

/* Handles one message on the control socket: [identity][body]. */
static void recv_one(learner_control_t *ct) {
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
    if (hello_allowed(ct, &id, zmq_msg_gets(&body, "Peer-Address"),
                      zmq_msg_gets(&body, "User-Id"))) {
      if (r == WIRE_VERSION)
        reject(ct, &id, WIRE_REJECT_VERSION, "protocol version differs (the learner speaks %u)",
               WIRE_PROTOCOL_VERSION);
      else
        reject(ct, &id, WIRE_REJECT_MALFORMED, "control frame refused: %s", wire_reason_name(r));
    }
    goto out;
  }
  switch (m.type) {
  case WIRE_MSG_HELLO:
    on_hello(ct, &id, &m.u.hello, zmq_msg_gets(&body, "User-Id"),
             zmq_msg_gets(&body, "Peer-Address"));
    break;
  case WIRE_MSG_HEARTBEAT: on_heartbeat(ct, &id, &m.u.heartbeat); break;
  case WIRE_MSG_EVAL_REPORT: on_eval_report(ct, &id, &m.u.eval_report); break;
  default: atomic_fetch_add(&l->rejected[WIRE_TYPE], 1); break;
  }
  wire_control_release(&m);
out:
  zmq_msg_close(&id);
  zmq_msg_close(&body);
}

void learner_control_serve(learner_control_t *ct, int timeout_ms) {
  learner_monitor_drain(ct->l, ct->monitor, NULL, NULL);
  learner_record_poll(ct);
  if (ct->finish) return;
  zmq_pollitem_t item = {ct->router, 0, ZMQ_POLLIN, 0};
  if (zmq_poll(&item, 1, timeout_ms) <= 0) return;
  for (int k = 0; k < 64 && !ct->finish; k++) {
    int ev = 0;
    size_t evlen = sizeof ev;
    zmq_getsockopt(ct->router, ZMQ_EVENTS, &ev, &evlen);
    if (!(ev & ZMQ_POLLIN)) break;
    recv_one(ct);
  }
}
