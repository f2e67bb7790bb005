/* The actor's messages (see actor_internal.h): what it says to the learner, what it hears
 * from it, and the experience frame that waits for room on the PUSH socket. Every function
 * here runs in the main loop's turn (actor.c), never inside another: a Welcome that rebuilds
 * the env copies is never handled in the middle of a send. */
#include "actor_internal.h"

#include "log.h"
#include "xalloc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static log_limit_t drop_limit, weights_limit;

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                 */

int actor_send_control(actor_t *a, const wire_control_t *m) {
  if (wire_control_encode(m, &a->cbuf) != 0) return -1;
  return zmq_send(a->dealer, a->cbuf.data, a->cbuf.len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

int actor_send_hello(actor_t *a) {
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
  h->eval_token = a->eval_token.len ? a->eval_token.bytes : NULL;
  h->eval_token_len = a->eval_token.len;
  if (actor_send_control(a, &m) != 0) return -1;
  a->last_hello_ns = td3_now_ns();
  return 0;
}

void actor_send_heartbeat(actor_t *a) {
  wire_control_t m = {.type = WIRE_MSG_HEARTBEAT};
  m.u.heartbeat = (wire_heartbeat_t){.run_id = a->run_id, .slot = a->welcome.slot,
                                     .env_steps = a->res->env_steps,
                                     .policy_version = a->version,
                                     .blocked_us = a->res->blocked_us,
                                     .dropped = a->res->dropped,
                                     .lease = a->welcome.lease};
  actor_send_control(a, &m);
  a->last_heartbeat_ns = td3_now_ns();
}

/* ---------------------------------------------------------------------------------------- */
/* Experience frames                                                                        */

/* Gives the pending frame up: its transitions count as dropped, its wait as blocked. */
void actor_pending_drop(actor_t *a, actor_drop_t why) {
  if (!a->pending.active) return;
  uint32_t n = a->pending.n;
  a->pending.active = 0;
  a->res->dropped += n;
  a->res->blocked_us += (td3_now_ns() - a->pending.since_ns) / 1000;
  switch (why) {
  case ACTOR_DROP_SHUTDOWN:
    log_info("discarded %u transitions at shutdown (the learner was not taking them)", n);
    break;
  case ACTOR_DROP_CONTACT:
    log_limited(&drop_limit, 5000, LOG_WARN,
                "dropped a batch of %u transitions: lost contact with the learner", n);
    break;
  case ACTOR_DROP_TIMEOUT:
    log_limited(&drop_limit, 5000, LOG_WARN,
                "dropped a batch of %u transitions: the learner did not take it within %u ms",
                n, a->pending.timeout_ms);
    break;
  case ACTOR_DROP_NEW_SLOT:
    log_limited(&drop_limit, 5000, LOG_WARN,
                "dropped a batch of %u transitions: registered again for another run or slot",
                n);
    break;
  }
}

/* Hands the pending frame to ZeroMQ if the PUSH socket has room (never blocks). Returns 1
 * when it left. */
int actor_pending_try(actor_t *a) {
  if (zmq_send(a->push, a->buf.data, a->buf.len, ZMQ_DONTWAIT) < 0) return 0;
  a->pending.active = 0;
  a->res->sent += a->pending.n;
  a->session_sent += a->pending.n;
  a->res->blocked_us += (td3_now_ns() - a->pending.since_ns) / 1000;
  return 1;
}

/* Encodes the filled batch (emptying it) and sends it if the socket has room; otherwise the
 * frame becomes pending with a deadline timeout_ms away, and the main loop serves it. Call
 * only when no frame is pending (buf holds it). */
void actor_batch_seal(actor_t *a, uint32_t timeout_ms) {
  transition_batch_t *t = &a->batch;
  const uint32_t n = t->n;
  if (n == 0) return;
  assert(!a->pending.active);
  wire_batch_t b = {.run_id = a->run_id, .slot = a->welcome.slot, .lease = a->welcome.lease,
                    .seq = a->seq++, .policy_version = a->version, .rows = *t,
                    .n_episodes = a->n_eps, .episodes = a->eps};
  t->n = 0;
  a->n_eps = 0;
  if (wire_batch_encode(&b, &a->buf) != 0) { /* our own batch: cannot happen */
    a->res->dropped += n;
    return;
  }
  if (zmq_send(a->push, a->buf.data, a->buf.len, ZMQ_DONTWAIT) >= 0) {
    a->res->sent += n;
    a->session_sent += n;
    return;
  }
  uint64_t now = td3_now_ns();
  a->pending.active = 1;
  a->pending.n = n;
  a->pending.since_ns = now;
  a->pending.deadline_ns = now + (uint64_t)timeout_ms * 1000000ULL;
  a->pending.timeout_ms = timeout_ms;
}

/* The main loop's turn while a frame is pending: send it if there is room, drop it at its
 * deadline, else wait (at most 50 ms) for room, a control message or weights. */
void actor_pending_serve(actor_t *a, uint64_t now) {
  if (actor_pending_try(a)) return;
  if (now >= a->pending.deadline_ns) {
    actor_pending_drop(a, ACTOR_DROP_TIMEOUT);
    return;
  }
  uint64_t left_ms = (a->pending.deadline_ns - now) / 1000000ULL + 1;
  zmq_pollitem_t items[3] = {{a->push, 0, ZMQ_POLLOUT, 0}, {a->dealer, 0, ZMQ_POLLIN, 0},
                             {a->weights, 0, ZMQ_POLLIN, 0}};
  zmq_poll(items, 3, left_ms < 50 ? (long)left_ms : 50);
}

/* ---------------------------------------------------------------------------------------- */
/* Control and weights                                                                      */

/* Room for a batch of batch_steps from K copies, keeping the rows it holds. */
static void batch_reserve(actor_t *a, uint32_t batch_steps, uint32_t K) {
  transition_batch_t *t = &a->batch;
  if (batch_steps + K <= t->cap) return;
  transition_batch_t grown;
  transition_batch_alloc(&grown, batch_steps + K, a->info->obs_dim, a->info->act_dim);
  size_t O = t->obs_dim, A = t->act_dim;
  if (t->n) {
    memcpy(grown.obs, t->obs, t->n * O * sizeof(float));
    memcpy(grown.action, t->action, t->n * A * sizeof(float));
    memcpy(grown.reward, t->reward, t->n * sizeof(float));
    memcpy(grown.next_obs, t->next_obs, t->n * O * sizeof(float));
    memcpy(grown.terminal, t->terminal, t->n * sizeof(float));
  }
  grown.n = t->n;
  transition_batch_free(t);
  *t = grown;
  a->eps = xrealloc(a->eps, (size_t)t->cap * sizeof *a->eps);
}

/* Sets up what a Welcome decides: the policy shape, the env copies, the noise, and the room
 * for a batch and an evaluation's returns (so acting and evaluating allocate nothing). Runs in
 * the main loop's turn, never while a frame is being sent: a pending frame whose header the
 * Welcome makes stale (another run, slot or lease) is dropped. */
static int on_welcome(actor_t *a, const wire_welcome_t *w, td3_err_t *err) {
  const actor_config_t *c = a->cfg;
  uint32_t K = c->eval ? 1 : c->envs, A = a->info->act_dim;
  int same_run = a->registered && w->run_id == a->run_id && w->slot == a->welcome.slot;
  if (!same_run || !wire_lease_equal(w->lease, a->welcome.lease))
    actor_pending_drop(a, ACTOR_DROP_NEW_SLOT);
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
  }
  if (c->eval) {
    uint32_t n = w->eval_episodes ? w->eval_episodes : 10;
    if (n > a->returns_cap) {
      a->returns = xrealloc(a->returns, n * sizeof *a->returns);
      a->returns32 = xrealloc(a->returns32, n * sizeof *a->returns32);
      a->returns_cap = n;
    }
  } else {
    batch_reserve(a, w->batch_steps, K); /* a resumed run may have a larger batch_steps */
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
int actor_poll_control(actor_t *a, td3_err_t *err) {
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
      case WIRE_REJECT_UNAUTHORIZED: /* an evaluator without the token: a retry carries the same */
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

/* Takes the newest Weights frame, if any: reads every frame queued on the weights socket and
 * decodes the last (the socket is not conflated: libzmq's CONFLATE can leak a frame when its
 * reader and the I/O thread meet, so the socket queues a few frames and the actor keeps the
 * newest). First, once a second, the subscribe frame: the learner sends weights only to the
 * routing ids it heard one from in the last 5 s, and a DEALER that reconnected has a new one.
 * A subscribe frame that finds no room (no connection yet: its queue is full) goes on a later
 * turn; ZeroMQ delivers a queued one when the connection comes up. */
void actor_poll_weights(actor_t *a) {
  uint64_t now = td3_now_ns();
  if (!a->subscribed_ns || now - a->subscribed_ns >= WIRE_WEIGHTS_SUBSCRIBE_MS * 1000000ull) {
    uint8_t sub = WIRE_WEIGHTS_SUBSCRIBE;
    if (zmq_send(a->weights, &sub, 1, ZMQ_DONTWAIT) == 1) a->subscribed_ns = now;
  }
  zmq_msg_t msg, last;
  zmq_msg_init(&msg);
  zmq_msg_init(&last);
  int have = 0;
  while (zmq_msg_recv(&msg, a->weights, ZMQ_DONTWAIT) >= 0) {
    zmq_msg_move(&last, &msg);
    have = 1;
  }
  zmq_msg_close(&msg);
  if (have && a->registered) {
    wire_weights_t w;
    wire_limits_t lim = {.run_id = a->run_id, .obs_dim = a->info->obs_dim,
                         .act_dim = a->info->act_dim};
    wire_reason_t r = wire_weights_decode(zmq_msg_data(&last), zmq_msg_size(&last), &lim, &w);
    if (r == WIRE_OK) {
      if (w.n_params == nn_policy_param_count(a->policy)) {
        if (w.version != a->version) nn_policy_set_params(a->policy, w.params);
        a->version = w.version;
        if (w.env_steps > a->run_env_steps) a->run_env_steps = w.env_steps;
        if (w.updates > a->run_updates) a->run_updates = w.updates;
      }
      wire_weights_release(&w);
    } else if (r != WIRE_RUN_ID) { /* a restarted learner's weights arrive before its Welcome */
      log_limited(&weights_limit, 10000, LOG_WARN, "weights frame refused: %s",
                  wire_reason_name(r));
    }
  }
  zmq_msg_close(&last);
}
