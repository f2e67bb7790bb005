/* The actor process (see actor.h): its loop, acting and evaluating. What it says to and hears
 * from the learner is in actor_messages.c; the state both share is in actor_internal.h. */
#include "actor_internal.h"

#include "evaluate.h"
#include "log.h"
#include "xalloc.h"
#include "zsock.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

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
 *    ahead of training; but when training has not moved for ACTOR_BACKLOG_STALL_NS while
 *    the actor waits, a batch goes anyway (training that waits for data: a rollback that
 *    dropped the replay's rows left the two waiting for each other).
 * The window is at least two batches and two updates' worth of transitions (2 / ratio).
 * The learner's own admission control still holds the ratio whatever actors do. Returns 1
 * when the actor should wait. */
static int should_pace(actor_t *a) {
  const wire_welcome_t *w = &a->welcome;
  if (!(w->replay_ratio > 0)) return 0;
  double window = 0.5 * (double)w->max_lead;
  if (window < 2.0 * w->batch_steps) window = 2.0 * w->batch_steps;
  /* the learner trains once per 1 / ratio transitions: a window below that would wait for an
   * update that waits for this actor's data (a ratio of 0.001 stalled the run) */
  if (window < 2.0 / w->replay_ratio) window = 2.0 / w->replay_ratio;
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
  if (backlog <= window) {
    a->backlog_wait_ns = 0;
    a->backlog_free = 0;
    return 0;
  }
  if (a->backlog_free) {
    a->backlog_free--;
    return 0;
  }
  /* Training that does not move while this actor waits for it is waiting for data itself (a
   * rollback dropped the replay rows it had): after a second, a batch goes anyway, and the
   * learner's own admission control decides (the in-flight rule above still bounds it). */
  uint64_t now = td3_now_ns();
  if (!a->backlog_wait_ns || a->run_updates != a->backlog_updates) {
    a->backlog_wait_ns = now;
    a->backlog_updates = a->run_updates;
    return 1;
  }
  if (now - a->backlog_wait_ns < ACTOR_BACKLOG_STALL_NS) return 1;
  a->backlog_wait_ns = now; /* one batch, then wait again */
  a->backlog_free = w->batch_steps > 1 ? w->batch_steps - 1 : 0;
  return 0;
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
        assert(a->n_eps < b->cap); /* at most batch.n - 1 + K */
        a->eps[a->n_eps++] = (wire_episode_t){out.ep_return[k], out.ep_length[k]};
      }
    }
  }
  /* the batch may not report more episodes than it holds transitions */
  if (a->n_eps > b->n) a->n_eps = b->n;
  if (b->n >= a->welcome.batch_steps) actor_batch_seal(a, a->cfg->send_timeout_ms);
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
  uint32_t n = w->eval_episodes ? w->eval_episodes : 10; /* <= returns_cap (on_welcome) */
  double *returns = a->returns;
  float *r32 = a->returns32;
  int rc = evaluate_episodes(a->probe, evaluate_seed(w->seed), n, act_eval, a->policy, returns, err);
  if (rc == 0) {
    for (uint32_t i = 0; i < n; i++) r32[i] = (float)returns[i];
    wire_control_t m = {.type = WIRE_MSG_EVAL_REPORT};
    m.u.eval_report = (wire_eval_report_t){.run_id = a->run_id, .slot = w->slot,
                                           .policy_version = version, .env_steps = at,
                                           .n_returns = n, .returns = r32,
                                           .lease = w->lease};
    actor_send_control(a, &m);
    a->res->evaluations++;
    /* the next multiple of eval_every, at least half an interval away (the first
     * evaluation happens whenever the first weights arrive) */
    a->next_eval_at = (at / every + 1) * every;
    if (a->next_eval_at - at < every / 2) a->next_eval_at += every;
  }
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

/* Waiting for a Welcome: says Hello with back-off and waits (at most 50 ms) for an answer.
 * The back-off grows only with Hellos that went out unanswered: while the connection is not
 * up yet the Hello cannot leave (nothing is queued), and it is tried again on every turn, so
 * it goes out as the connection comes up (with 1000 actors connecting to a busy learner, a
 * doubling back-off kept actors waiting up to 4 s after their connection was up). */
static void await_welcome(actor_t *a, uint64_t now) {
  const actor_config_t *c = a->cfg;
  if (now - a->last_hello_ns > a->hello_backoff_ms * 1000000ULL) {
    if (actor_send_hello(a) == 0)
      a->hello_backoff_ms = a->hello_backoff_ms * 2 > 4000 ? 4000 : a->hello_backoff_ms * 2;
    if (now - a->last_wait_log_ns > 10000000000ULL) {
      if (now - a->started_wait_ns > 2000000000ULL)
        log_info("waiting for the learner at %s (control port %u)", c->learner_host,
                 c->control_port);
      a->last_wait_log_ns = now;
    }
  }
  zmq_pollitem_t item = {a->dealer, 0, ZMQ_POLLIN, 0};
  zmq_poll(&item, 1, 50);
}

/* An actor at its max_env_steps: the partial batch leaves like any other (send_timeout_ms);
 * then the actor stays (heartbeating) until the learner confirms it received everything
 * sent, since closing the socket discards frames still queued in it (on a busy machine
 * ZeroMQ's I/O thread may not have written them out yet). It gives up when nothing was confirmed for
 * learner_timeout_ms; a learner that stops answering ends the wait the same way (the lease's
 * timeout). Returns 1 when the actor may stop. */
static int finish_turn(actor_t *a, uint64_t now) {
  const actor_config_t *c = a->cfg;
  if (c->eval) return 1;
  if (a->batch.n > 0) {
    actor_batch_seal(a, c->send_timeout_ms);
    return 0;
  }
  if (a->session_accepted >= a->session_sent) return 1;
  if (!a->finish_wait_ns) a->finish_wait_ns = now;
  uint64_t since = a->finish_wait_ns > a->accepted_changed_ns ? a->finish_wait_ns : a->accepted_changed_ns;
  if (now - since > (uint64_t)c->learner_timeout_ms * 1000000ULL) {
    log_warn("stopping with %llu transitions the learner has not confirmed",
             (unsigned long long)(a->session_sent - a->session_accepted));
    return 1;
  }
  zmq_pollitem_t item = {a->dealer, 0, ZMQ_POLLIN, 0};
  zmq_poll(&item, 1, 20);
  return 0;
}

/* One turn of the actor's loop, the only place messages are read: the CURVE handshake, control
 * messages (a Welcome included) and weights first; then registration, the lease's timeout, the
 * heartbeat; then the pending frame if there is one (the actor does not step meanwhile), else
 * pacing, else one step (or evaluation). Waits at most 50 ms. Returns 0 to go on, 1 when the
 * actor is done (the run is over, or max_env_steps is reached and its last frame is gone), or
 * a negative code for a fatal refusal or error. */
static int actor_turn(actor_t *a, td3_err_t *err) {
  const actor_config_t *c = a->cfg;
  int rc;
  if ((rc = check_handshake(a, err)) || (rc = actor_poll_control(a, err))) return rc;
  if (a->run_over) return 1;
  actor_poll_weights(a);
  uint64_t now = td3_now_ns();
  if (!a->registered) {
    actor_pending_drop(a, ACTOR_DROP_CONTACT);
    if (a->finishing) return 1;
    await_welcome(a, now);
    return 0;
  }
  if (now - a->last_ack_ns > (uint64_t)c->learner_timeout_ms * 1000000ULL) {
    log_warn("no answer from the learner for %u ms; registering again", c->learner_timeout_ms);
    a->registered = 0; /* a pending frame is dropped on the next turn */
    a->hello_backoff_ms = 250;
    a->started_wait_ns = now;
    return 0;
  }
  if (now - a->last_heartbeat_ns > (uint64_t)c->heartbeat_ms * 1000000ULL) actor_send_heartbeat(a);
  if (a->pending.active) {
    actor_pending_serve(a, now);
    return 0;
  }
  if (a->finishing) return finish_turn(a, now);
  if (!c->eval && should_pace(a)) {
    zmq_pollitem_t items[2] = {{a->weights, 0, ZMQ_POLLIN, 0}, {a->dealer, 0, ZMQ_POLLIN, 0}};
    zmq_poll(items, 2, 5);
    a->res->blocked_us += (td3_now_ns() - now) / 1000;
    return 0;
  }
  if ((rc = c->eval ? eval_step(a, err) : act_step(a, err))) return rc;
  if (c->max_env_steps && a->res->env_steps >= c->max_env_steps) a->finishing = 1;
  return 0;
}

static void actor_free(actor_t *a) {
  eval_token_clear(&a->eval_token);
  zsock_close(&a->monitor);
  nn_policy_destroy(&a->policy);
  env_vec_destroy(&a->vec);
  env_destroy(&a->probe);
  zsock_close(&a->dealer);
  zsock_close(&a->weights);
  zsock_close(&a->push);
  if (a->zctx) zmq_ctx_term(a->zctx);
  wire_buf_free(&a->buf);
  wire_buf_free(&a->cbuf);
  free(a->actions);
  free(a->ou);
  transition_batch_free(&a->batch);
  free(a->eps);
  free(a->returns);
  free(a->returns32);
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
  /* only an evaluator's Hello carries the token: an actor needs none, and does not read it */
  if (c->eval && c->eval_token_file &&
      (rc = eval_token_read(c->eval_token_file, &a.eval_token, err)) != 0)
    goto fail;
  a.zctx = zmq_ctx_new();
  /* immediate: no queueing of Hellos while the learner is away (a queue would deliver a
   * burst of stale Hellos when it comes back) */
  zsock_opts_t oc = {.sndhwm = 100, .rcvhwm = 100, .maxmsgsize = 1 << 20, .reconnect_ivl_ms = 100,
                     .reconnect_ivl_max_ms = 2000, .immediate = 1, .curve = curve,
                     .monitor = &a.monitor};
  /* weights: a DEALER that subscribes every second (actor_poll_weights); a few frames
   * queued, the newest taken; no CONFLATE. Two subscribe frames queued at most: a learner
   * away for a while gets one when it is back, not a backlog. */
  zsock_opts_t ow = {.sndhwm = 2, .rcvhwm = ACTOR_WEIGHTS_HWM,
                     .maxmsgsize = (int64_t)WIRE_DEFAULT_MAX_FRAME, .reconnect_ivl_ms = 100,
                     .reconnect_ivl_max_ms = 2000, .curve = curve};
  zsock_opts_t oe = {.sndhwm = 4, .immediate = 1, .reconnect_ivl_ms = 100,
                     .reconnect_ivl_max_ms = 2000, .curve = curve};
  zsock_endpoint(ep, sizeof ep, c->learner_host, c->control_port);
  if (!(a.dealer = zsock_open(a.zctx, ZMQ_DEALER, &oc, ep, 0, err))) goto fail;
  zsock_endpoint(ep, sizeof ep, c->learner_host, c->weights_port);
  if (!(a.weights = zsock_open(a.zctx, ZMQ_DEALER, &ow, ep, 0, err))) goto fail;
  zsock_endpoint(ep, sizeof ep, c->learner_host, c->experience_port);
  if (!c->eval && !(a.push = zsock_open(a.zctx, ZMQ_PUSH, &oe, ep, 0, err))) goto fail;
  log_info("%s %s: %s, learner %s (ports %u/%u/%u)", c->eval ? "evaluator" : "actor", a.name,
           a.info->id, c->learner_host, c->experience_port, c->weights_port, c->control_port);

  a.hello_backoff_ms = 250;
  a.started_wait_ns = td3_now_ns();
  while (!(c->stop && *c->stop)) {
    if ((rc = actor_turn(&a, err)) < 0) goto fail;
    if (rc > 0) break;
  }
  rc = 0;
  /* stopping (or the run is over): one try for what is left, as ZeroMQ has room for it */
  if (!c->eval && a.registered && !a.run_over && !a.pending.active) actor_batch_seal(&a, 0);
  if (a.pending.active && !actor_pending_try(&a)) actor_pending_drop(&a, ACTOR_DROP_SHUTDOWN);
  if (a.registered && !a.run_over) actor_send_heartbeat(&a); /* final counts for the learner's table */
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
