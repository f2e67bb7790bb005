/* The actor process (see actor.h). */
#include "actor.h"

#include "env_vec.h"
#include "evaluate.h"
#include "log.h"
#include "nn.h"
#include "rng.h"
#include "wire.h"
#include "xalloc.h"
#include "zsock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

void actor_config_default(actor_config_t *c) {
  memset(c, 0, sizeof *c);
  c->env_id = "Pendulum-v1";
  c->learner_host = "127.0.0.1";
  c->experience_port = 5555;
  c->weights_port = 5556;
  c->control_port = 5557;
  c->envs = 1;
  c->heartbeat_ms = 200;
  c->learner_timeout_ms = 5000;
  c->send_timeout_ms = 30000;
}

typedef struct actor {
  const actor_config_t *cfg;
  actor_result_t *res;
  char name[WIRE_MAX_NAME + 1];
  void *zctx, *dealer, *sub, *push;
  void *monitor;                /* handshake events of the control socket */
  curve_sock_t curve;           /* client keys when CURVE is on */
  wire_buf_t buf;               /* experience frames */
  wire_buf_t cbuf;              /* control frames (separate: a heartbeat may go out while a
                                   batch waits in buf) */
  env_t *probe;                 /* an env instance for dims/bounds (and evaluation) */
  const env_info_t *info;

  /* from the Welcome */
  int registered;
  int run_over;               /* the learner said the run is over: stop, exit 0 */
  wire_welcome_t welcome;
  uint64_t run_id;
  /* weights */
  nn_policy_t *policy;
  uint64_t version;             /* 0: none yet */
  uint64_t run_env_steps;       /* run-wide transitions, from the latest Weights */
  uint64_t run_updates;         /* the learner's TD3 updates, from the latest Weights */
  uint64_t session_sent;        /* transitions sent since the latest Welcome */
  uint64_t session_accepted;    /* of those, accepted by the learner (heartbeat answers) */
  uint64_t accepted_changed_ns; /* when session_accepted last moved */
  /* acting */
  env_vec_t *vec;
  rng_t noise_rng;
  float *actions;               /* (K, act) */
  float *ou;                    /* (K, act) Ornstein-Uhlenbeck state */
  /* the batch being filled: room for batch_steps + K - 1 rows (a step of K copies may
   * overshoot), allocated at the first Welcome and grown only for a larger batch_steps */
  transition_batch_t batch;
  wire_episode_t *eps;
  uint32_t n_eps, eps_cap;
  uint64_t seq;
  /* timers */
  uint64_t last_hello_ns, hello_backoff_ms, last_heartbeat_ns, last_ack_ns, last_wait_log_ns;
  uint64_t next_eval_at;        /* evaluator: run env steps of the next evaluation */
  int resync_eval;              /* evaluator: check next_eval_at against the run once the
                                   learner's counters are known again */
} actor_t;

static log_limit_t drop_limit, weights_limit;

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                 */

static void send_control(actor_t *a, const wire_control_t *m) {
  if (wire_control_encode(m, &a->cbuf) == 0)
    zmq_send(a->dealer, a->cbuf.data, a->cbuf.len, ZMQ_DONTWAIT);
}

static void send_hello(actor_t *a) {
  wire_control_t m = {.type = WIRE_MSG_HELLO};
  wire_hello_t *h = &m.u.hello;
  snprintf(h->actor_name, sizeof h->actor_name, "%s", a->name);
  snprintf(h->env_id, sizeof h->env_id, "%s", a->info->id);
  h->role = a->cfg->eval ? WIRE_ROLE_EVALUATOR : WIRE_ROLE_ACTOR;
  h->obs_dim = a->info->obs_dim;
  h->act_dim = a->info->act_dim;
  h->action_low = a->info->action_low;
  h->action_high = a->info->action_high;
  h->envs = a->cfg->eval ? 1 : a->cfg->envs;
  h->lease = a->welcome.lease; /* after a reconnect: takes the slot back while the lease is live */
  send_control(a, &m);
  a->last_hello_ns = td3_now_ns();
}

static void send_heartbeat(actor_t *a) {
  wire_control_t m = {.type = WIRE_MSG_HEARTBEAT};
  m.u.heartbeat = (wire_heartbeat_t){.run_id = a->run_id, .slot = a->welcome.slot,
                                     .env_steps = a->res->env_steps,
                                     .policy_version = a->version,
                                     .blocked_us = a->res->blocked_us,
                                     .dropped = a->res->dropped};
  send_control(a, &m);
  a->last_heartbeat_ns = td3_now_ns();
}

/* Sets up what a Welcome decides: the policy shape, the env copies and the noise. */
static int on_welcome(actor_t *a, const wire_welcome_t *w, td3_err_t *err) {
  const actor_config_t *c = a->cfg;
  uint32_t K = c->eval ? 1 : c->envs, A = a->info->act_dim;
  int same_run = a->registered && w->run_id == a->run_id && w->slot == a->welcome.slot;
  if (!same_run) {
    nn_policy_destroy(&a->policy);
    a->policy = nn_policy_new(w->layers, w->n_layers, a->info->action_low,
                              a->info->action_high, K);
    if (!a->policy)
      return td3_err_set(err, TD3_ESHAPE, "the learner's network shape is unusable here");
    a->version = 0;
    a->seq = 0;
    a->batch.n = 0;
    a->n_eps = 0;
    if (!c->eval) {
      env_vec_destroy(&a->vec);
      a->vec = env_vec_new(a->info->id, &c->env_opts, K, w->seed, w->slot, err);
      if (!a->vec) return err ? err->code : TD3_EINVAL;
      rng_init(&a->noise_rng, w->seed, rng_stream_id(RNG_PURPOSE_ACTOR, w->slot));
      memset(a->ou, 0, (size_t)K * A * sizeof(float));
    }
    a->next_eval_at = 0;
    if (w->batch_steps + K > a->batch.cap) { /* empty here: nothing to keep */
      transition_batch_free(&a->batch);
      transition_batch_alloc(&a->batch, w->batch_steps + K, a->info->obs_dim, A);
    }
  }
  a->welcome = *w;
  a->run_id = w->run_id;
  a->registered = 1;
  /* The run's counters come again from this learner's heartbeats and Weights: one restarted
   * from a checkpoint is behind what this actor saw before, and pacing or the evaluation
   * schedule on the old figures would wait for steps that are not coming. */
  a->run_env_steps = 0;
  a->run_updates = 0;
  a->resync_eval = 1;
  a->session_sent = a->session_accepted = 0;
  a->accepted_changed_ns = td3_now_ns();
  a->res->registrations++;
  a->last_ack_ns = td3_now_ns();
  a->hello_backoff_ms = 250;
  log_info("joined run %016llx as slot %u (noise %s sigma %.3g)", (unsigned long long)w->run_id,
           w->slot, w->noise == WIRE_NOISE_OU ? "OU" : "Gaussian", w->noise_sigma);
  return 0;
}

/* Reads every pending control message. Returns 0, or a negative code for a refusal that
 * retrying cannot fix (another env or shape, another protocol version). */
static int poll_control(actor_t *a, td3_err_t *err) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  int rc = 0;
  while (rc == 0 && zmq_msg_recv(&msg, a->dealer, ZMQ_DONTWAIT) >= 0) {
    wire_control_t m;
    wire_limits_t lim = {.max_frame = 1 << 20};
    wire_reason_t why = wire_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &lim, &m);
    if (why != WIRE_OK) {
      log_debug("control message of %zu bytes refused: %s", zmq_msg_size(&msg),
                wire_reason_name(why));
      continue;
    }
    switch (m.type) {
    case WIRE_MSG_WELCOME:
      rc = on_welcome(a, &m.u.welcome, err);
      break;
    case WIRE_MSG_HEARTBEAT:
      if (a->registered && m.u.heartbeat.run_id == a->run_id) {
        a->last_ack_ns = td3_now_ns();
        if (m.u.heartbeat.accepted != a->session_accepted) {
          a->session_accepted = m.u.heartbeat.accepted;
          a->accepted_changed_ns = a->last_ack_ns;
        }
        if (m.u.heartbeat.env_steps > a->run_env_steps) a->run_env_steps = m.u.heartbeat.env_steps;
      }
      break;
    case WIRE_MSG_REJECT:
      switch (m.u.reject.reason) {
      case WIRE_REJECT_UNKNOWN_SLOT:
        log_warn("the learner no longer knows this actor (%s); registering again",
                 m.u.reject.detail);
        a->registered = 0;
        break;
      case WIRE_REJECT_ENV:
      case WIRE_REJECT_SHAPE:
      case WIRE_REJECT_VERSION:
      case WIRE_REJECT_MALFORMED:
        rc = td3_err_set(err, TD3_EPROTO, "the learner refused this actor: %s", m.u.reject.detail);
        break;
      default:
        log_warn("the learner refused this actor for now: %s; retrying", m.u.reject.detail);
        if (m.u.reject.retry_after_ms) /* its hint, within the usual back-off's range */
          a->hello_backoff_ms = m.u.reject.retry_after_ms < 250     ? 250
                                : m.u.reject.retry_after_ms > 30000 ? 30000
                                                                    : m.u.reject.retry_after_ms;
        break;
      }
      break;
    case WIRE_MSG_RUN_OVER:
      if (a->registered && !a->run_over && m.u.run_over.run_id == a->run_id) {
        log_info("the learner says run %016llx is over (%s); stopping",
                 (unsigned long long)a->run_id, m.u.run_over.reason);
        a->run_over = 1;
      }
      break;
    default:
      break;
    }
    wire_control_release(&m);
  }
  zmq_msg_close(&msg);
  return rc;
}

/* Takes the newest Weights frame, if any (the SUB socket is conflated). */
static void poll_weights(actor_t *a) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (zmq_msg_recv(&msg, a->sub, ZMQ_DONTWAIT) >= 0) {
    if (!a->registered) continue;
    wire_weights_t w;
    wire_limits_t lim = {.run_id = a->run_id, .obs_dim = a->info->obs_dim,
                         .act_dim = a->info->act_dim};
    wire_reason_t r = wire_weights_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &lim, &w);
    if (r != WIRE_OK) {
      if (r != WIRE_RUN_ID) /* a restarted learner's weights arrive before its Welcome */
        log_limited(&weights_limit, 10000, LOG_WARN, "weights frame refused: %s",
                    wire_reason_name(r));
      continue;
    }
    if (w.n_params == nn_policy_param_count(a->policy)) {
      if (w.version != a->version) nn_policy_set_params(a->policy, w.params);
      a->version = w.version;
      if (w.env_steps > a->run_env_steps) a->run_env_steps = w.env_steps;
      if (w.updates > a->run_updates) a->run_updates = w.updates;
    }
    wire_weights_release(&w);
  }
  zmq_msg_close(&msg);
}

/* Sends the filled batch. Blocks up to send_timeout_ms on back-pressure (counted), then
 * drops it (counted). */
static void flush_batch(actor_t *a, uint32_t timeout_ms) {
  const uint32_t n = a->batch.n;
  if (n == 0) return;
  wire_batch_t b = {.run_id = a->run_id, .slot = a->welcome.slot, .lease = a->welcome.lease,
                    .seq = a->seq++, .policy_version = a->version, .rows = a->batch,
                    .n_episodes = a->n_eps, .episodes = a->eps};
  int sent = 0;
  if (wire_batch_encode(&b, &a->buf) == 0) {
    if (zmq_send(a->push, a->buf.data, a->buf.len, ZMQ_DONTWAIT) >= 0) {
      sent = 1;
    } else {
      uint64_t t0 = td3_now_ns(), deadline = t0 + (uint64_t)timeout_ms * 1000000ULL;
      td3_err_t ignored = {0};
      while (!sent && a->registered && td3_now_ns() < deadline && !(a->cfg->stop && *a->cfg->stop)) {
        zmq_pollitem_t item = {a->push, 0, ZMQ_POLLOUT, 0};
        if (zmq_poll(&item, 1, 50) > 0 &&
            zmq_send(a->push, a->buf.data, a->buf.len, ZMQ_DONTWAIT) >= 0)
          sent = 1;
        /* keep the lease and the policy fresh while waiting */
        poll_weights(a);
        if (poll_control(a, &ignored) != 0) break;
        if (td3_now_ns() - a->last_heartbeat_ns > (uint64_t)a->cfg->heartbeat_ms * 1000000ULL)
          send_heartbeat(a);
        if (td3_now_ns() - a->last_ack_ns > (uint64_t)a->cfg->learner_timeout_ms * 1000000ULL) {
          log_warn("no answer from the learner for %u ms; registering again",
                   a->cfg->learner_timeout_ms);
          a->registered = 0; /* the batch is dropped below */
        }
      }
      a->res->blocked_us += (td3_now_ns() - t0) / 1000;
    }
  }
  if (sent) {
    a->res->sent += n;
    a->session_sent += n;
  } else {
    a->res->dropped += n;
    if (a->cfg->stop && *a->cfg->stop)
      log_info("discarded %u transitions at shutdown (the learner was not taking them)", n);
    else if (!a->registered)
      log_limited(&drop_limit, 5000, LOG_WARN,
                  "dropped a batch of %u transitions: lost contact with the learner", n);
    else
      log_limited(&drop_limit, 5000, LOG_WARN,
                  "dropped a batch of %u transitions: the learner did not take it within %u ms",
                  n, timeout_ms);
  }
  a->batch.n = 0;
  a->n_eps = 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Acting and evaluating                                                                    */

static void choose_actions(actor_t *a) {
  const env_info_t *info = a->info;
  uint32_t K = env_vec_size(a->vec), A = info->act_dim;
  const float *obs = env_vec_obs(a->vec);
  const wire_welcome_t *w = &a->welcome;
  if (a->version == 0 || a->run_env_steps < w->start_steps) {
    for (uint32_t k = 0; k < K; k++)
      for (uint32_t j = 0; j < A; j++)
        a->actions[k * A + j] = rng_uniformf(&a->noise_rng, info->action_low[j], info->action_high[j]);
    return;
  }
  nn_policy_act(a->policy, obs, K, a->actions);
  float sq_dt = sqrtf(w->ou_dt);
  for (uint32_t k = 0; k < K; k++)
    for (uint32_t j = 0; j < A; j++) {
      float half = 0.5f * (info->action_high[j] - info->action_low[j]), noise;
      if (w->noise == WIRE_NOISE_OU) {
        float *x = &a->ou[k * A + j];
        *x += w->ou_theta * (0.0f - *x) * w->ou_dt + w->noise_sigma * sq_dt * (float)rng_normal(&a->noise_rng);
        noise = *x;
      } else {
        noise = w->noise_sigma * (float)rng_normal(&a->noise_rng);
      }
      float v = a->actions[k * A + j] + noise * half;
      a->actions[k * A + j] = fminf(fmaxf(v, info->action_low[j]), info->action_high[j]);
    }
}

/* Actor-side pacing, so that transitions wait in the actor (counted as blocked time) rather
 * than in ZeroMQ's and the kernel's queues, where they would grow stale:
 *  - in flight: at most half of max_lead of this actor's transitions may be sent and not yet
 *    accepted by the learner (heartbeat answers say how many were);
 *  - backlog: as far as the latest Weights tell, the data may be at most half of max_lead
 *    ahead of training.
 * The learner's own admission control still holds the ratio whatever actors do. Returns 1
 * when the actor should wait. */
static int should_pace(actor_t *a) {
  const wire_welcome_t *w = &a->welcome;
  if (!(w->replay_ratio > 0)) return 0;
  double window = 0.5 * (double)w->max_lead;
  if (window < 2.0 * w->batch_steps) window = 2.0 * w->batch_steps;
  if (a->session_sent > a->session_accepted &&
      (double)(a->session_sent - a->session_accepted) >= window) {
    /* nothing accepted for a long time: the learner lost those transitions (it restarted,
     * or refused them); stop waiting for them */
    if (td3_now_ns() - a->accepted_changed_ns > 10ULL * a->cfg->learner_timeout_ms * 1000000ULL) {
      log_warn("%llu transitions were never confirmed by the learner; sending again",
               (unsigned long long)(a->session_sent - a->session_accepted));
      a->session_sent = a->session_accepted;
      return 0;
    }
    return 1;
  }
  if (a->version == 0) return 0;
  double past = a->run_env_steps > w->start_steps ? (double)(a->run_env_steps - w->start_steps) : 0;
  double backlog = past - (double)a->run_updates / w->replay_ratio;
  return backlog > window;
}

static int act_step(actor_t *a, td3_err_t *err) {
  uint32_t K = env_vec_size(a->vec), O = a->info->obs_dim, A = a->info->act_dim;
  transition_batch_t *b = &a->batch;
  choose_actions(a);
  env_vec_out_t out;
  int rc = env_vec_step(a->vec, a->actions, &out);
  if (rc) return td3_err_set(err, rc, "%s: stepping failed: %s", a->info->id, td3_strerror(rc));
  for (uint32_t k = 0; k < K; k++) {
    if (out.valid[k]) {
      uint32_t i = b->n++;
      memcpy(b->obs + (size_t)i * O, out.obs + (size_t)k * O, O * sizeof(float));
      memcpy(b->action + (size_t)i * A, out.action + (size_t)k * A, A * sizeof(float));
      memcpy(b->next_obs + (size_t)i * O, out.next_obs + (size_t)k * O, O * sizeof(float));
      b->reward[i] = out.reward[k];
      b->terminal[i] = out.terminal[k];
      a->res->env_steps++;
    } else {
      a->res->env_errors++;
    }
    if (out.done[k]) {
      memset(a->ou + (size_t)k * A, 0, A * sizeof(float)); /* OU noise restarts per episode */
      a->res->episodes++;
      if (out.valid[k] && out.ep_length[k] > 0) {
        if (a->n_eps == a->eps_cap) {
          a->eps_cap = a->eps_cap ? 2 * a->eps_cap : 16;
          a->eps = xrealloc(a->eps, a->eps_cap * sizeof *a->eps);
        }
        a->eps[a->n_eps++] = (wire_episode_t){out.ep_return[k], out.ep_length[k]};
      }
    }
  }
  /* the batch may not report more episodes than it holds transitions */
  if (a->n_eps > b->n) a->n_eps = b->n;
  if (b->n >= a->welcome.batch_steps) flush_batch(a, a->cfg->send_timeout_ms);
  return 0;
}

static void act_eval(void *ctx, const float *obs, float *action) {
  nn_policy_act((nn_policy_t *)ctx, obs, 1, action);
}

/* Evaluator: evaluates when the run passed the next evaluation point. */
static int eval_step(actor_t *a, td3_err_t *err) {
  const wire_welcome_t *w = &a->welcome;
  uint64_t every = w->eval_every ? w->eval_every : 5000;
  if (a->resync_eval && a->run_env_steps > 0) {
    if (a->next_eval_at > a->run_env_steps + every)
      a->next_eval_at = (a->run_env_steps / every + 1) * every;
    a->resync_eval = 0;
  }
  if (a->version == 0 || a->run_env_steps < a->next_eval_at) {
    td3_sleep_ms(5);
    return 0;
  }
  uint64_t at = a->run_env_steps, version = a->version;
  uint32_t n = w->eval_episodes ? w->eval_episodes : 10;
  double *returns = xmalloc(n * sizeof *returns);
  float *r32 = xmalloc(n * sizeof *r32);
  int rc = evaluate_episodes(a->probe, evaluate_seed(w->seed), n, act_eval, a->policy, returns, err);
  if (rc == 0) {
    for (uint32_t i = 0; i < n; i++) r32[i] = (float)returns[i];
    wire_control_t m = {.type = WIRE_MSG_EVAL_REPORT};
    m.u.eval_report = (wire_eval_report_t){.run_id = a->run_id, .slot = w->slot,
                                           .policy_version = version, .env_steps = at,
                                           .n_returns = n, .returns = r32};
    send_control(a, &m);
    a->res->evaluations++;
    /* the next multiple of eval_every, at least half an interval away (the first
     * evaluation happens whenever the first weights arrive) */
    a->next_eval_at = (at / every + 1) * every;
    if (a->next_eval_at - at < every / 2) a->next_eval_at += every;
  }
  free(returns);
  free(r32);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* The loop                                                                                 */

static log_limit_t handshake_limit;

/* A refused key or a security mismatch ends the actor with the reason; other handshake
 * failures are logged (rate-limited) while ZeroMQ keeps retrying. */
static int check_handshake(actor_t *a, td3_err_t *err) {
  int event, fatal;
  uint32_t value;
  while (curve_monitor_next(a->monitor, &event, &value)) {
    const char *why = curve_handshake_problem(event, value, a->cfg->curve_key != NULL, &fatal);
    if (fatal) return td3_err_set(err, TD3_EPROTO, "%s (learner %s)", why, a->cfg->learner_host);
    log_limited(&handshake_limit, 10000, LOG_WARN, "%s (learner %s)", why, a->cfg->learner_host);
  }
  return 0;
}

static void actor_free(actor_t *a) {
  zsock_close(&a->monitor);
  nn_policy_destroy(&a->policy);
  env_vec_destroy(&a->vec);
  env_destroy(&a->probe);
  zsock_close(&a->dealer);
  zsock_close(&a->sub);
  zsock_close(&a->push);
  if (a->zctx) zmq_ctx_term(a->zctx);
  wire_buf_free(&a->buf);
  wire_buf_free(&a->cbuf);
  free(a->actions);
  free(a->ou);
  transition_batch_free(&a->batch);
  free(a->eps);
}

int actor_run(const actor_config_t *c, actor_result_t *res, td3_err_t *err) {
  actor_t a;
  memset(&a, 0, sizeof a);
  memset(res, 0, sizeof *res);
  a.cfg = c;
  a.res = res;
  int rc = 0;
  if (c->envs == 0 || c->envs > WIRE_MAX_ENVS)
    return td3_err_set(err, TD3_EINVAL, "envs per actor must be 1..%u", WIRE_MAX_ENVS);
  if (c->name) {
    snprintf(a.name, sizeof a.name, "%s", c->name);
  } else {
    char host[64] = "actor";
    gethostname(host, sizeof host - 1);
    snprintf(a.name, sizeof a.name, "%.*s/0", (int)(sizeof a.name - 3), host);
  }
  if (!(a.probe = env_create(c->env_id, &c->env_opts, err))) return err ? err->code : TD3_EINVAL;
  a.info = &a.probe->info;
  a.actions = xcalloc((size_t)c->envs * a.info->act_dim, sizeof(float));
  a.ou = xcalloc((size_t)c->envs * a.info->act_dim, sizeof(float));

  char ep[160];
  const curve_sock_t *curve = NULL;
  if (c->curve_key || c->curve_server) {
    if (!c->curve_key || !c->curve_server) {
      rc = td3_err_set(err, TD3_EINVAL, "CURVE security needs both --curve-key (this actor's "
                                        "key) and --curve-server (the learner's .pub)");
      goto fail;
    }
    if ((rc = curve_read_keypair(c->curve_key, &a.curve.own, err)) ||
        (rc = curve_read_public(c->curve_server, a.curve.server_key, err)))
      goto fail;
    curve = &a.curve;
  }
  a.zctx = zmq_ctx_new();
  /* immediate: no queueing of Hellos while the learner is away (a queue would deliver a
   * burst of stale Hellos when it comes back) */
  zsock_opts_t oc = {.sndhwm = 100, .rcvhwm = 100, .maxmsgsize = 1 << 20, .reconnect_ivl_ms = 100,
                     .reconnect_ivl_max_ms = 2000, .immediate = 1, .curve = curve,
                     .monitor = &a.monitor};
  zsock_opts_t ow = {.rcvhwm = 1, .conflate = 1, .subscribe_all = 1,
                     .maxmsgsize = (int64_t)WIRE_DEFAULT_MAX_FRAME, .reconnect_ivl_ms = 100,
                     .reconnect_ivl_max_ms = 2000, .curve = curve};
  zsock_opts_t oe = {.sndhwm = 4, .immediate = 1, .reconnect_ivl_ms = 100,
                     .reconnect_ivl_max_ms = 2000, .curve = curve};
  zsock_endpoint(ep, sizeof ep, c->learner_host, c->control_port);
  if (!(a.dealer = zsock_open(a.zctx, ZMQ_DEALER, &oc, ep, 0, err))) goto fail;
  zsock_endpoint(ep, sizeof ep, c->learner_host, c->weights_port);
  if (!(a.sub = zsock_open(a.zctx, ZMQ_SUB, &ow, ep, 0, err))) goto fail;
  zsock_endpoint(ep, sizeof ep, c->learner_host, c->experience_port);
  if (!c->eval && !(a.push = zsock_open(a.zctx, ZMQ_PUSH, &oe, ep, 0, err))) goto fail;
  log_info("%s %s: %s, learner %s (ports %u/%u/%u)", c->eval ? "evaluator" : "actor", a.name,
           a.info->id, c->learner_host, c->experience_port, c->weights_port, c->control_port);

  a.hello_backoff_ms = 250;
  uint64_t started_wait = td3_now_ns();
  while (!(c->stop && *c->stop)) {
    if ((rc = check_handshake(&a, err))) goto fail;
    if ((rc = poll_control(&a, err))) goto fail;
    if (a.run_over) break;
    poll_weights(&a);
    uint64_t now = td3_now_ns();
    if (!a.registered) {
      if (now - a.last_hello_ns > a.hello_backoff_ms * 1000000ULL) {
        send_hello(&a);
        a.hello_backoff_ms = a.hello_backoff_ms * 2 > 4000 ? 4000 : a.hello_backoff_ms * 2;
        if (now - a.last_wait_log_ns > 10000000000ULL) {
          if (now - started_wait > 2000000000ULL)
            log_info("waiting for the learner at %s (control port %u)", c->learner_host,
                     c->control_port);
          a.last_wait_log_ns = now;
        }
      }
      zmq_pollitem_t item = {a.dealer, 0, ZMQ_POLLIN, 0};
      zmq_poll(&item, 1, 50);
      continue;
    }
    if (now - a.last_ack_ns > (uint64_t)c->learner_timeout_ms * 1000000ULL) {
      log_warn("no answer from the learner for %u ms; registering again", c->learner_timeout_ms);
      a.registered = 0;
      a.hello_backoff_ms = 250;
      started_wait = now;
      continue;
    }
    if (now - a.last_heartbeat_ns > (uint64_t)c->heartbeat_ms * 1000000ULL) send_heartbeat(&a);
    if (!c->eval && should_pace(&a)) {
      uint64_t t0 = td3_now_ns();
      zmq_pollitem_t items[2] = {{a.sub, 0, ZMQ_POLLIN, 0}, {a.dealer, 0, ZMQ_POLLIN, 0}};
      zmq_poll(items, 2, 5);
      res->blocked_us += (td3_now_ns() - t0) / 1000;
      continue;
    }
    rc = c->eval ? eval_step(&a, err) : act_step(&a, err);
    if (rc) goto fail;
    if (c->max_env_steps && res->env_steps >= c->max_env_steps) break;
  }
  if (!c->eval && a.registered && !a.run_over) flush_batch(&a, 500);
  if (a.registered && !a.run_over) send_heartbeat(&a); /* final counts for the learner's table */
  res->policy_version = a.version;
  res->run_over = a.run_over;
  actor_free(&a);
  return 0;
fail:
  if (!rc) rc = err ? err->code : TD3_ESYS;
  res->policy_version = a.version;
  actor_free(&a);
  return rc;
}
