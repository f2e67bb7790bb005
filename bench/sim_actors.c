/* The simulated actors (see sim_actors.h). */
#include "sim_actors.h"

#include "env.h"
#include "log.h"
#include "rng.h"
#include "xalloc.h"
#include "zsock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <zmq.h>

/* 0 when ZeroMQ took the message (with ZMQ_IMMEDIATE: the connection is up), else -1. */
static int send_control(sim_worker_t *w, sim_actor_t *a, const wire_control_t *m) {
  if (wire_control_encode(m, &w->cbuf) != 0) return -1;
  return zmq_send(a->dealer, w->cbuf.data, w->cbuf.len, ZMQ_DONTWAIT) >= 0 ? 0 : -1;
}

/* Returns 0 when the Hello left, -1 when it could not (no connection yet). */
static int send_hello(sim_worker_t *w, sim_actor_t *a, uint64_t now) {
  static const float low[1] = {-2.0f}, high[1] = {2.0f};
  wire_control_t m = {.type = WIRE_MSG_HELLO};
  wire_hello_t *h = &m.u.hello;
  snprintf(h->actor_name, sizeof h->actor_name, "sim-%d/%u", (int)getpid(), a->index);
  snprintf(h->env_id, sizeof h->env_id, "Pendulum-v1");
  h->role = WIRE_ROLE_ACTOR;
  h->obs_dim = 3;
  h->act_dim = 1;
  h->action_low = low;
  h->action_high = high;
  h->envs = 1;
  h->lease = a->welcome.lease; /* as td3d actor: after a reconnect, takes the slot back */
  if (send_control(w, a, &m) != 0) return -1;
  if (!a->hello_out_ns) a->hello_out_ns = now;
  atomic_fetch_add(&w->c.hellos, 1);
  a->hello_ns = now;
  return 0;
}

static void send_heartbeat(sim_worker_t *w, sim_actor_t *a, uint64_t now) {
  wire_control_t m = {.type = WIRE_MSG_HEARTBEAT};
  m.u.heartbeat = (wire_heartbeat_t){.run_id = a->welcome.run_id, .slot = a->welcome.slot,
                                     .env_steps = a->session_sent, .policy_version = a->version,
                                     .lease = a->welcome.lease};
  send_control(w, a, &m);
  uint64_t gap = now - a->last_hb_ns;
  if (gap > w->hb_gap_all_ns) w->hb_gap_all_ns = gap;
  if (atomic_load_explicit(&w->sim->measuring, memory_order_relaxed) && gap > w->hb_gap_max_ns)
    w->hb_gap_max_ns = gap;
  if (a->hb_n == HB_RING) { /* the oldest went unanswered: forget it */
    a->hb_head = (a->hb_head + 1) % HB_RING;
    a->hb_n--;
  }
  a->hb_sent[(a->hb_head + a->hb_n++) % HB_RING] = now;
  a->last_hb_ns = now;
  atomic_fetch_add(&w->c.hb_sent, 1);
}

static void note_rtt(sim_worker_t *w, sim_actor_t *a, uint64_t now) {
  if (!a->hb_n) return;
  uint64_t sent = a->hb_sent[a->hb_head];
  a->hb_head = (a->hb_head + 1) % HB_RING;
  a->hb_n--;
  if (!atomic_load_explicit(&w->sim->measuring, memory_order_relaxed)) return;
  if (w->n_rtt == w->cap_rtt) {
    w->cap_rtt = w->cap_rtt ? 2 * w->cap_rtt : 4096;
    w->rtt_us = xrealloc(w->rtt_us, w->cap_rtt * sizeof *w->rtt_us);
  }
  w->rtt_us[w->n_rtt++] = (uint32_t)((now - sent) / 1000);
}

static void on_welcome(sim_worker_t *w, sim_actor_t *a, const wire_welcome_t *wel, uint64_t now) {
  sim_t *s = w->sim;
  if (!(a->registered || a->joined_ns) || wel->run_id != a->welcome.run_id ||
      wel->slot != a->welcome.slot)
    a->seq = 0;
  a->welcome = *wel;
  a->registered = 1;
  a->run_env_steps = a->run_updates = 0;
  a->session_sent = a->session_accepted = 0;
  a->accepted_changed_ns = a->last_ack_ns = a->last_hb_ns = now;
  a->hb_n = 0;
  a->backoff_ms = 250;
  a->blocked_since_ns = 0;
  uint32_t bs = wel->batch_steps ? wel->batch_steps : 1;
  if (bs > s->batch_steps) bs = s->batch_steps; /* the buffers' size; the flag told the learner */
  uint64_t interval = s->cfg.rate > 0 ? (uint64_t)(bs * 1e9 / s->cfg.rate) : 0;
  a->next_send_ns = now + (interval ? (uint64_t)a->index * 7919u * 1000003u % interval : 0);
  atomic_fetch_add(&w->c.welcomes, 1);
  if (!a->joined_ns) {
    a->joined_ns = now;
    atomic_fetch_add(&s->joined, 1);
  }
}

/* Reads every pending control message of a (after a wake-up, a send or a sweep). */
static void drain_control(sim_worker_t *w, sim_actor_t *a) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (zmq_msg_recv(&msg, a->dealer, ZMQ_DONTWAIT) >= 0) {
    uint64_t now = td3_now_ns();
    wire_control_t m;
    wire_limits_t lim = {.max_frame = 1 << 20};
    if (wire_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &lim, &m) != WIRE_OK) {
      atomic_fetch_add(&w->c.control_bad, 1);
      continue;
    }
    switch (m.type) {
    case WIRE_MSG_WELCOME: on_welcome(w, a, &m.u.welcome, now); break;
    case WIRE_MSG_HEARTBEAT:
      if (a->registered && m.u.heartbeat.run_id == a->welcome.run_id) {
        note_rtt(w, a, now);
        atomic_fetch_add(&w->c.hb_answered, 1);
        a->last_ack_ns = now;
        if (m.u.heartbeat.accepted != a->session_accepted) {
          a->session_accepted = m.u.heartbeat.accepted;
          a->accepted_changed_ns = now;
        }
        if (m.u.heartbeat.env_steps > a->run_env_steps) a->run_env_steps = m.u.heartbeat.env_steps;
      }
      break;
    case WIRE_MSG_REJECT:
      if (m.u.reject.reason == WIRE_REJECT_UNKNOWN_SLOT) { /* a lost lease: Hello again */
        note_rtt(w, a, now);
        atomic_fetch_add(&w->c.unknown_slot, 1);
        a->registered = 0;
      } else if (m.u.reject.reason == WIRE_REJECT_FULL) {
        atomic_fetch_add(&w->c.reject_full, 1);
      } else {
        atomic_fetch_add(&w->c.reject_fatal, 1); /* a real actor would exit */
        a->dead = 1;
      }
      break;
    default: break;
    }
    wire_control_release(&m);
  }
  zmq_msg_close(&msg);
}

/* Weights frames a simulated actor's weights socket queues, as the real actor's (ACTOR_WEIGHTS_HWM in
 * actor/actor_internal.h): no CONFLATE, whose libzmq implementation leaks a frame when its
 * reader and the I/O thread meet. */
#define SIM_WEIGHTS_HWM 4

/* actor_poll_weights: the subscribe frame once a second, then reads every queued Weights
 * frame (each one counted) and decodes the newest. */
static void drain_weights(sim_worker_t *w, sim_actor_t *a) {
  if (!a->weights) return;
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
    atomic_fetch_add(&w->c.weights, 1);
    if (zmq_msg_size(&msg) > atomic_load(&w->c.weights_bytes))
      atomic_store(&w->c.weights_bytes, zmq_msg_size(&msg));
    zmq_msg_move(&last, &msg);
    have = 1;
  }
  zmq_msg_close(&msg);
  if (have && a->registered && !w->sim->cfg.no_decode) {
    wire_weights_t wt;
    wire_limits_t lim = {.run_id = a->welcome.run_id, .obs_dim = 3, .act_dim = 1};
    wire_reason_t r = wire_weights_decode(zmq_msg_data(&last), zmq_msg_size(&last), &lim, &wt);
    if (r == WIRE_OK) {
      a->version = wt.version;
      if (wt.env_steps > a->run_env_steps) a->run_env_steps = wt.env_steps;
      if (wt.updates > a->run_updates) a->run_updates = wt.updates;
      wire_weights_release(&wt);
    } else {
      atomic_fetch_add(&w->c.weights_bad, 1);
    }
  }
  zmq_msg_close(&last);
}

/* actor.c's should_pace: at most half of max_lead of this actor's transitions unconfirmed, and
 * the data at most that far ahead of training as the latest Weights tell. */
static int should_pace(sim_actor_t *a, uint32_t bs, uint64_t now) {
  const wire_welcome_t *wel = &a->welcome;
  if (!(wel->replay_ratio > 0)) return 0;
  double window = 0.5 * (double)wel->max_lead;
  if (window < 2.0 * bs) window = 2.0 * bs;
  if (a->session_sent > a->session_accepted &&
      (double)(a->session_sent - a->session_accepted) >= window) {
    if (now - a->accepted_changed_ns > 10 * LEARNER_TIMEOUT_NS) {
      a->session_sent = a->session_accepted;
      return 0;
    }
    return 1;
  }
  if (a->version == 0) return 0;
  double past =
      a->run_env_steps > wel->start_steps ? (double)(a->run_env_steps - wel->start_steps) : 0;
  return past - (double)a->run_updates / wel->replay_ratio > window;
}

/* Builds the next batch from the pool and sends it; on back-pressure (EAGAIN) it is sent again
 * (same seq) on a later tick, as a blocked real actor would. */
static void send_batch(sim_worker_t *w, sim_actor_t *a, uint32_t n, uint64_t now) {
  sim_t *s = w->sim;
  uint32_t n_eps = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t r = (a->pool_at + i) % POOL_ROWS;
    memcpy(w->obs + 3 * i, s->p_obs + 3 * r, 3 * sizeof(float));
    memcpy(w->next + 3 * i, s->p_next + 3 * r, 3 * sizeof(float));
    w->act[i] = s->p_act[r];
    w->rew[i] = s->p_rew[r];
    w->term[i] = 0.0f; /* Pendulum only truncates */
    if (r % EP_LEN == EP_LEN - 1)
      w->eps[n_eps++] = (wire_episode_t){s->p_ep_return[r / EP_LEN], EP_LEN};
  }
  wire_batch_t b = {.run_id = a->welcome.run_id, .slot = a->welcome.slot,
                    .lease = a->welcome.lease, .seq = a->seq, .policy_version = a->version,
                    .rows = {.n = n, .obs_dim = 3, .act_dim = 1, .obs = w->obs,
                             .action = w->act, .reward = w->rew, .next_obs = w->next,
                             .terminal = w->term},
                    .n_episodes = n_eps, .episodes = w->eps};
  if (wire_batch_encode(&b, &w->buf) != 0) return;
  if (zmq_send(a->push, w->buf.data, w->buf.len, ZMQ_DONTWAIT) < 0) {
    atomic_fetch_add(&w->c.send_eagain, 1);
    if (!a->blocked_since_ns) a->blocked_since_ns = now;
    return;
  }
  if (a->blocked_since_ns) {
    atomic_fetch_add(&w->c.blocked_ns, now - a->blocked_since_ns);
    a->blocked_since_ns = 0;
  }
  a->seq++;
  a->pool_at = (a->pool_at + n) % POOL_ROWS;
  a->session_sent += n;
  atomic_fetch_add(&w->c.batches, 1);
  atomic_fetch_add(&w->c.transitions, n);
  uint64_t interval = (uint64_t)(n * 1e9 / s->cfg.rate);
  a->next_send_ns += interval;
  if (a->next_send_ns + 1000000000ULL < now) a->next_send_ns = now; /* no catch-up burst */
}

/* What a real actor's loop does between waits: Hello (with back-off) until welcomed, then
 * heartbeats, the learner timeout and the next batch when it is due. */
static void actor_tick(sim_worker_t *w, sim_actor_t *a, uint64_t now) {
  if (a->dead) return;
  if (!a->registered) {
    /* as actor.c: the back-off grows only with Hellos that went out; one that could not
     * leave (no connection yet) is tried again on the next tick */
    if (now - a->hello_ns > a->backoff_ms * 1000000ULL && send_hello(w, a, now) == 0) {
      a->backoff_ms = a->backoff_ms * 2 > 4000 ? 4000 : a->backoff_ms * 2;
      drain_control(w, a);
    }
    return;
  }
  if (now - a->last_ack_ns > LEARNER_TIMEOUT_NS) {
    /* actor.c reads its control socket before it looks at the time: answers that arrived
     * while this thread was not running are not a silent learner (the drain may renew
     * last_ack_ns past now) */
    drain_control(w, a);
    if (!a->registered) return;
    if (a->last_ack_ns < now && now - a->last_ack_ns > LEARNER_TIMEOUT_NS) {
      atomic_fetch_add(&w->c.timeouts, 1);
      a->registered = 0;
      a->backoff_ms = 250;
      return;
    }
  }
  if (now - a->last_hb_ns > HEARTBEAT_NS) {
    send_heartbeat(w, a, now);
    drain_control(w, a);
  }
  const sim_t *s = w->sim;
  if (s->cfg.rate > 0 && now >= a->next_send_ns) {
    uint32_t n = a->welcome.batch_steps < s->batch_steps ? a->welcome.batch_steps : s->batch_steps;
    if (should_pace(a, n, now)) {
      atomic_fetch_add(&w->c.paced, 1);
      a->next_send_ns = now + 5000000ULL; /* actor.c polls 5 ms while it paces */
    } else {
      send_batch(w, a, n, now);
    }
  }
}

static void *worker_main(void *arg) {
  sim_worker_t *w = arg;
  sim_t *s = w->sim;
  prctl(PR_SET_NAME, "bench-actors");
  struct epoll_event ev[256];
  uint64_t next_tick = 0, last_sweep = 0;
  while (!atomic_load(&s->stop)) {
    uint64_t now = td3_now_ns();
    /* timers every TICK_NS, not on every wake-up: a wake-up per message would cost a pass
     * over all of this thread's actors */
    if (now >= next_tick) {
      for (uint32_t i = w->first; i < s->cfg.actors; i += s->step) actor_tick(w, &s->a[i], now);
      next_tick = now + TICK_NS;
    }
    int wait_ms = now < next_tick ? (int)((next_tick - now + 999999) / 1000000) : 0;
    int n = epoll_wait(w->epfd, ev, 256, wait_ms);
    for (int k = 0; k < n; k++) {
      sim_actor_t *a = &s->a[ev[k].data.u64 >> 1];
      if (ev[k].data.u64 & 1) drain_weights(w, a);
      else drain_control(w, a);
    }
    /* ZMQ_FD signals only changes: a send may take a pending signal with it, so every socket
     * is looked at again now and then */
    if (now - last_sweep > 100000000ULL) {
      last_sweep = now;
      for (uint32_t i = w->first; i < s->cfg.actors; i += s->step) {
        drain_control(w, &s->a[i]);
        drain_weights(w, &s->a[i]);
      }
    }
  }
  return NULL;
}

/* Real Pendulum transitions under uniform random actions: the rows every batch is cut from. */
static int make_pool(sim_t *s, td3_err_t *err) {
  env_t *e = env_create("Pendulum-v1", NULL, err);
  if (!e) return -1;
  s->p_obs = xmalloc(POOL_ROWS * 3 * sizeof(float));
  s->p_next = xmalloc(POOL_ROWS * 3 * sizeof(float));
  s->p_act = xmalloc(POOL_ROWS * sizeof(float));
  s->p_rew = xmalloc(POOL_ROWS * sizeof(float));
  rng_t r;
  rng_init(&r, 7, rng_stream_id(RNG_PURPOSE_ACTOR, 0));
  float obs[3];
  double ret = 0;
  for (uint32_t i = 0; i < POOL_ROWS; i++) {
    if (i % EP_LEN == 0) {
      env_reset(e, rng_next_u64(&r), obs);
      ret = 0;
    }
    float act = rng_uniformf(&r, -2.0f, 2.0f), rew;
    int term;
    memcpy(s->p_obs + 3 * i, obs, sizeof obs);
    env_step(e, &act, s->p_next + 3 * i, &rew, &term);
    memcpy(obs, s->p_next + 3 * i, sizeof obs);
    s->p_act[i] = act;
    s->p_rew[i] = rew;
    ret += rew;
    if (i % EP_LEN == EP_LEN - 1) s->p_ep_return[i / EP_LEN] = (float)ret;
  }
  env_destroy(&e);
  return 0;
}

int sim_open(sim_t *s, const sim_config_t *c, td3_err_t *err) {
  memset(s, 0, sizeof *s);
  s->cfg = *c;
  s->step = c->threads;
  s->batch_steps = c->batch_steps;
  if (make_pool(s, err) != 0) return -1;
  const sim_config_t *o = &s->cfg;
  s->zctx = zmq_ctx_new();
  s->wctx = zmq_ctx_new();
  zmq_ctx_set(s->zctx, ZMQ_MAX_SOCKETS, (int)(o->actors * 2 + 64));
  zmq_ctx_set(s->zctx, ZMQ_IO_THREADS, (int)o->io_threads);
  zmq_ctx_set(s->wctx, ZMQ_MAX_SOCKETS, (int)(o->actors + 64));
  zmq_ctx_set(s->wctx, ZMQ_IO_THREADS, (int)o->io_threads);
  s->a = xcalloc(o->actors, sizeof *s->a);
  s->w = xcalloc(o->threads, sizeof *s->w);
  size_t bs = o->batch_steps;
  for (uint32_t k = 0; k < o->threads; k++) {
    sim_worker_t *w = &s->w[k];
    w->sim = s;
    w->first = k;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->obs = xmalloc(bs * 3 * sizeof(float));
    w->next = xmalloc(bs * 3 * sizeof(float));
    w->act = xmalloc(bs * sizeof(float));
    w->rew = xmalloc(bs * sizeof(float));
    w->term = xmalloc(bs * sizeof(float));
    w->eps = xmalloc((bs / EP_LEN + 2) * sizeof *w->eps);
  }
  char ep_c[64], ep_w[64], ep_e[64];
  zsock_endpoint(ep_c, sizeof ep_c, "127.0.0.1", o->port + 2);
  zsock_endpoint(ep_w, sizeof ep_w, "127.0.0.1", o->port + 1);
  zsock_endpoint(ep_e, sizeof ep_e, "127.0.0.1", o->port);
  const zsock_opts_t oc = {.sndhwm = 100, .rcvhwm = 100, .maxmsgsize = 1 << 20,
                           .reconnect_ivl_ms = 100, .reconnect_ivl_max_ms = 2000, .immediate = 1};
  const zsock_opts_t ow = {.sndhwm = 2, .rcvhwm = SIM_WEIGHTS_HWM,
                           .maxmsgsize = (int64_t)WIRE_DEFAULT_MAX_FRAME, .reconnect_ivl_ms = 100,
                           .reconnect_ivl_max_ms = 2000};
  const zsock_opts_t oe = {.sndhwm = 4, .immediate = 1, .reconnect_ivl_ms = 100,
                           .reconnect_ivl_max_ms = 2000};
  s->start_ns = td3_now_ns();
  for (uint32_t i = 0; i < o->actors; i++) {
    sim_actor_t *a = &s->a[i];
    a->index = i;
    a->backoff_ms = 250;
    a->pool_at = (i * 997u) % POOL_ROWS;
    if (!(a->dealer = zsock_open(s->zctx, ZMQ_DEALER, &oc, ep_c, 0, err)) ||
        (!o->no_weights && !(a->weights = zsock_open(s->wctx, ZMQ_DEALER, &ow, ep_w, 0, err))) ||
        !(a->push = zsock_open(s->zctx, ZMQ_PUSH, &oe, ep_e, 0, err)))
      return -1;
    sim_worker_t *w = &s->w[i % o->threads];
    for (int k = 0; k < (a->weights ? 2 : 1); k++) {
      int fd;
      size_t len = sizeof fd;
      zmq_getsockopt(k ? a->weights : a->dealer, ZMQ_FD, &fd, &len);
      struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i << 1 | (uint64_t)k};
      epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
  }
  return 0;
}

void sim_close(sim_t *s) {
  for (uint32_t i = 0; s->a && i < s->cfg.actors; i++) {
    zsock_close(&s->a[i].dealer);
    zsock_close(&s->a[i].weights);
    zsock_close(&s->a[i].push);
  }
  for (uint32_t k = 0; s->w && k < s->cfg.threads; k++) {
    sim_worker_t *w = &s->w[k];
    if (w->epfd > 0) close(w->epfd);
    wire_buf_free(&w->buf);
    wire_buf_free(&w->cbuf);
    free(w->obs), free(w->next), free(w->act), free(w->rew), free(w->term), free(w->eps);
    free(w->rtt_us);
  }
  if (s->zctx) zmq_ctx_term(s->zctx);
  if (s->wctx) zmq_ctx_term(s->wctx);
  free(s->a), free(s->w);
  free(s->p_obs), free(s->p_next), free(s->p_act), free(s->p_rew);
  s->zctx = s->wctx = NULL;
  s->a = NULL, s->w = NULL;
  s->p_obs = s->p_next = s->p_act = s->p_rew = NULL;
}

void sim_start(sim_t *s) {
  for (uint32_t k = 0; k < s->cfg.threads; k++)
    pthread_create(&s->w[k].thread, NULL, worker_main, &s->w[k]);
  s->started = 1;
}

void sim_stop(sim_t *s) {
  atomic_store(&s->stop, 1);
  if (!s->started) return;
  for (uint32_t k = 0; k < s->cfg.threads; k++) pthread_join(s->w[k].thread, NULL);
  s->started = 0;
}

void sim_totals(const sim_t *s, sim_totals_t *t) {
  memset(t, 0, sizeof *t);
  for (uint32_t k = 0; k < s->step; k++) {
    const sim_counters_t *c = &s->w[k].c;
#define ADD(f) t->f += atomic_load(&c->f)
    ADD(hellos), ADD(welcomes), ADD(reject_full), ADD(reject_fatal), ADD(unknown_slot);
    ADD(timeouts), ADD(hb_sent), ADD(hb_answered), ADD(batches), ADD(transitions);
    ADD(send_eagain), ADD(paced), ADD(weights), ADD(weights_bad), ADD(control_bad);
    ADD(blocked_ns);
#undef ADD
    if (atomic_load(&c->weights_bytes) > t->weights_bytes) t->weights_bytes = c->weights_bytes;
  }
}

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return (a > b) - (a < b);
}

uint32_t *sim_rtt(const sim_t *s, size_t *n_out, double *gap_max_s, double *gap_all_s) {
  size_t n = 0;
  *gap_max_s = *gap_all_s = 0;
  for (uint32_t k = 0; k < s->step; k++) {
    n += s->w[k].n_rtt;
    *gap_max_s = fmax(*gap_max_s, (double)s->w[k].hb_gap_max_ns / 1e9);
    *gap_all_s = fmax(*gap_all_s, (double)s->w[k].hb_gap_all_ns / 1e9);
  }
  uint32_t *rtt = xmalloc((n ? n : 1) * sizeof *rtt);
  *n_out = 0;
  for (uint32_t k = 0; k < s->step; k++) {
    memcpy(rtt + *n_out, s->w[k].rtt_us, s->w[k].n_rtt * sizeof *rtt);
    *n_out += s->w[k].n_rtt;
  }
  qsort(rtt, *n_out, sizeof *rtt, cmp_u32);
  return rtt;
}
