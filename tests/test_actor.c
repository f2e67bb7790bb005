/* Tests for actor/: the experience frame that waits for room on the PUSH socket.
 *
 * A fake learner in the test thread answers on the control port (Hello -> Welcome, Heartbeat
 * -> Heartbeat) and binds no experience socket at first, so every frame the actor seals finds
 * no room (the PUSH socket is "immediate") and waits until its deadline. Checked: the actor
 * keeps heartbeating while frames wait and drops each at its deadline, counting the wait as
 * blocked time; a Welcome for another slot while a frame waits is handled by the loop and the
 * stale frame never reaches the learner; once the experience socket is bound, frames flow
 * with the new slot's header. Heartbeats and batches carry both words of the latest
 * Welcome's 128-bit lease. And an actor that the backlog rule holds while training does not
 * move (ports 28525-28527) sends a batch about once a second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inproc.h"
#include "log.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

enum { PORT = 28520, BATCH_STEPS = 8, TIMEOUT_MS = 1000 };
static const uint64_t RUN_ID = 0x7777;

typedef struct fake {
  void *ctx, *router, *pull;
  uint8_t peer[256];       /* the actor's routing id */
  size_t peer_len;
  uint32_t slot;           /* the slot of the latest Welcome */
  wire_lease_t lease;      /* the latest Welcome's */
  unsigned heartbeats;     /* heartbeats heard */
  unsigned bad_leases;     /* of those, without the latest Welcome's lease */
  uint64_t last_dropped;   /* the latest heartbeat's dropped count */
  uint64_t accepted;       /* what heartbeat answers say was accepted (0 unless a test sets it) */
  wire_buf_t buf;
} fake_t;

static void send_to_actor(fake_t *f, const wire_control_t *m) {
  assert_int_equal(wire_control_encode(m, &f->buf), 0);
  zmq_send(f->router, f->peer, f->peer_len, ZMQ_SNDMORE);
  zmq_send(f->router, f->buf.data, f->buf.len, 0);
}

static void send_welcome(fake_t *f, uint32_t slot, wire_lease_t lease) {
  wire_control_t m = {.type = WIRE_MSG_WELCOME};
  wire_welcome_t *w = &m.u.welcome;
  *w = (wire_welcome_t){.run_id = RUN_ID, .slot = slot, .noise = WIRE_NOISE_GAUSSIAN,
                        .noise_sigma = 0.1f, .seed = 5, .n_layers = 3, .layers = {3, 8, 1},
                        .start_steps = 1000000000ULL, /* random actions: no weights needed */
                        .eval_every = 1000, .eval_episodes = 1, .batch_steps = BATCH_STEPS,
                        .lease = lease};
  f->slot = slot;
  f->lease = lease;
  send_to_actor(f, &m);
}

/* Serves the control socket for ms milliseconds: a Hello gets a Welcome for slot 1, a
 * heartbeat an answer. */
static void serve(fake_t *f, unsigned ms) {
  uint64_t end = td3_now_ns() + (uint64_t)ms * 1000000ULL;
  while (td3_now_ns() < end) {
    zmq_pollitem_t item = {f->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 10) <= 0) continue;
    uint8_t frame[4096];
    int idn = zmq_recv(f->router, f->peer, sizeof f->peer, 0);
    int n = zmq_recv(f->router, frame, sizeof frame, 0);
    assert_true(idn > 0 && n > 0);
    f->peer_len = (size_t)idn;
    wire_control_t m;
    assert_int_equal(wire_control_decode(frame, (size_t)n, NULL, &m), WIRE_OK);
    if (m.type == WIRE_MSG_HELLO) {
      send_welcome(f, 1, (wire_lease_t){11, 0x1100000000000011ULL});
    } else if (m.type == WIRE_MSG_HEARTBEAT && m.u.heartbeat.slot == f->slot) {
      f->heartbeats++;
      f->bad_leases += !wire_lease_equal(m.u.heartbeat.lease, f->lease);
      f->last_dropped = m.u.heartbeat.dropped;
      wire_control_t ans = {.type = WIRE_MSG_HEARTBEAT};
      ans.u.heartbeat = (wire_heartbeat_t){.run_id = RUN_ID, .slot = f->slot,
                                           .accepted = f->accepted};
      send_to_actor(f, &ans);
    }
    wire_control_release(&m);
  }
}

/* The next experience frame on the fake's PULL socket, decoded into *b (the caller releases
 * it): 1, or 0 when none is waiting. */
static int next_batch(fake_t *f, wire_batch_t *b) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  int got = zmq_msg_recv(&msg, f->pull, ZMQ_DONTWAIT) >= 0;
  if (got) {
    wire_limits_t lim = {.run_id = RUN_ID, .obs_dim = 3, .act_dim = 1};
    assert_int_equal(wire_batch_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &lim, b),
                     WIRE_OK);
  }
  zmq_msg_close(&msg);
  return got;
}

static void frames_wait_are_dropped_and_never_go_stale(void **state) {
  (void)state;
  fake_t f = {0};
  char ep[64];
  f.ctx = zmq_ctx_new();
  f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
  int zero = 0;
  zmq_setsockopt(f.router, ZMQ_LINGER, &zero, sizeof zero);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", PORT + 2);
  assert_int_equal(zmq_bind(f.router, ep), 0);

  inproc_actor_t a;
  inproc_actor_init(&a, "Pendulum-v1", PORT, "pending/0", 0);
  a.cfg.send_timeout_ms = TIMEOUT_MS;
  a.cfg.heartbeat_ms = 50;
  assert_int_equal(inproc_actor_start(&a), 0);

  /* 1. no experience socket: every frame waits, then is dropped; heartbeats go on */
  serve(&f, 2600);
  assert_true(f.heartbeats >= 10);          /* every 50 ms, frames waiting or not */
  assert_int_equal(f.bad_leases, 0);         /* each with the Welcome's lease, both words */
  assert_true(f.last_dropped >= BATCH_STEPS); /* frames were given up at their deadline */
  assert_int_equal(f.last_dropped % BATCH_STEPS, 0);

  /* 2. a Welcome for another slot while a frame waits (one nearly always does), and at once
   * 3. the experience socket: frames flow, each with the new slot's header; the one that
   * waited, encoded for slot 1, must not arrive (its header is stale) */
  send_welcome(&f, 2, (wire_lease_t){22, 0x2200000000000022ULL});
  f.pull = zmq_socket(f.ctx, ZMQ_PULL);
  zmq_setsockopt(f.pull, ZMQ_LINGER, &zero, sizeof zero);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", PORT);
  assert_int_equal(zmq_bind(f.pull, ep), 0);
  int got = 0;
  uint64_t end = td3_now_ns() + 5000000000ULL;
  while (got < 3 && td3_now_ns() < end) {
    serve(&f, 20);
    wire_batch_t b;
    while (next_batch(&f, &b)) {
      assert_int_equal(b.slot, 2);  /* never a slot-1 frame sent after the second Welcome */
      assert_int_equal(b.lease.lo, 22);
      assert_int_equal(b.lease.hi, 0x2200000000000022ULL);
      assert_int_equal(b.rows.n, BATCH_STEPS);
      wire_batch_release(&b);
      got++;
    }
  }
  assert_int_equal(got >= 3, 1);
  assert_int_equal(f.bad_leases, 0);
  inproc_actor_stop(&a);

  const actor_result_t *r = &a.res;
  printf("actor: %llu steps, %llu sent, %llu dropped, %.2f s blocked, %llu registrations\n",
         (unsigned long long)r->env_steps, (unsigned long long)r->sent,
         (unsigned long long)r->dropped, (double)r->blocked_us * 1e-6,
         (unsigned long long)r->registrations);
  assert_int_equal(a.rc, 0);
  assert_int_equal(r->registrations, 2);
  assert_true(r->sent >= 3 * BATCH_STEPS);
  /* whole frames given up as the heartbeats reported them; after the latest heartbeat the
   * stale frame of the second Welcome and the partial batch the stop discarded may add more */
  assert_int_equal(f.last_dropped % BATCH_STEPS, 0);
  assert_true(r->dropped >= f.last_dropped && r->dropped - f.last_dropped < 2 * BATCH_STEPS);
  /* every frame dropped at its deadline waited the whole timeout (all but the one the
   * second Welcome made stale, if one was waiting) */
  uint64_t frames = r->dropped / BATCH_STEPS;
  assert_true(frames >= 1 && r->blocked_us >= (frames - 1) * TIMEOUT_MS * 1000ULL);
  /* sent or dropped, every transition is accounted for, but for partial batches a new
   * registration or the stop discarded */
  assert_true(r->sent + r->dropped <= r->env_steps);
  assert_true(r->sent + r->dropped + 2 * BATCH_STEPS >= r->env_steps);

  zmq_close(f.router);
  zmq_close(f.pull);
  zmq_ctx_term(f.ctx);
  wire_buf_free(&f.buf);
}

/* Training that does not move: the latest Weights say the data is far ahead of training (a
 * rollback left the learner nothing to train on), so the backlog rule holds the actor. It
 * sends a batch a second anyway, the learner's admission deciding; before, it waited for
 * updates that waited for its data, for good. */
static void stalled_training_gets_a_batch(void **state) {
  (void)state;
  enum { P = 28525 };
  fake_t f = {0};
  char ep[64];
  f.ctx = zmq_ctx_new();
  int zero = 0;
  f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
  zmq_setsockopt(f.router, ZMQ_LINGER, &zero, sizeof zero);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", P + 2);
  assert_int_equal(zmq_bind(f.router, ep), 0);
  f.pull = zmq_socket(f.ctx, ZMQ_PULL);
  zmq_setsockopt(f.pull, ZMQ_LINGER, &zero, sizeof zero);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", P);
  assert_int_equal(zmq_bind(f.pull, ep), 0);
  void *wr = zmq_socket(f.ctx, ZMQ_ROUTER); /* the weights socket, as the learner's */
  zmq_setsockopt(wr, ZMQ_LINGER, &zero, sizeof zero);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", P + 1);
  assert_int_equal(zmq_bind(wr, ep), 0);

  inproc_actor_t a;
  inproc_actor_init(&a, "Pendulum-v1", P, "stalled/0", 0);
  a.cfg.heartbeat_ms = 50;
  assert_int_equal(inproc_actor_start(&a), 0);
  /* the Welcome: no start steps, a window of 32 transitions (max_lead 64) */
  while (f.peer_len == 0) serve(&f, 20);
  wire_control_t m = {.type = WIRE_MSG_WELCOME};
  m.u.welcome = (wire_welcome_t){.run_id = RUN_ID, .slot = 3, .noise = WIRE_NOISE_GAUSSIAN,
                                 .noise_sigma = 0.1f, .seed = 5, .n_layers = 3,
                                 .layers = {3, 8, 1}, .start_steps = 0, .eval_every = 1000,
                                 .eval_episodes = 1, .batch_steps = BATCH_STEPS,
                                 .replay_ratio = 1.0f, .max_lead = 64,
                                 .lease = (wire_lease_t){33, 0x33}};
  f.slot = 3;
  f.lease = m.u.welcome.lease;
  send_to_actor(&f, &m);
  /* Weights: 10000 env steps, no update; sent every 100 ms to the routing id of the actor's
   * latest subscribe frame (the one byte WIRE_WEIGHTS_SUBSCRIBE, every second) */
  static const float params[41]; /* 3-8-1: (3 x 8 + 8) + (8 x 1 + 1) */
  wire_weights_t w = {.run_id = RUN_ID, .version = 1, .n_layers = 3, .layers = {3, 8, 1},
                      .n_params = 41, .params = params, .env_steps = 10000, .updates = 0};
  wire_buf_t wb = {0};
  assert_int_equal(wire_weights_encode(&w, &wb), 0);
  uint64_t t0 = td3_now_ns(), first_ns = 0;
  unsigned batches = 0, subscribes = 0;
  uint8_t sub_id[256];
  int sub_len = 0;
  while (td3_now_ns() - t0 < 3500000000ULL) {
    uint8_t id[256], body[8];
    int n;
    while ((n = zmq_recv(wr, id, sizeof id, ZMQ_DONTWAIT)) > 0) {
      assert_int_equal(zmq_recv(wr, body, sizeof body, 0), 1);
      assert_int_equal(body[0], WIRE_WEIGHTS_SUBSCRIBE);
      memcpy(sub_id, id, (size_t)n);
      sub_len = n;
      subscribes++;
    }
    if (sub_len) {
      zmq_send(wr, sub_id, (size_t)sub_len, ZMQ_SNDMORE);
      zmq_send(wr, wb.data, wb.len, 0);
    }
    serve(&f, 100);
    wire_batch_t b;
    while (next_batch(&f, &b)) {
      f.accepted += b.rows.n; /* the in-flight rule must not be what holds the actor */
      if (b.policy_version == 1) { /* acting with the weights: the backlog rule applies */
        if (!first_ns) first_ns = td3_now_ns();
        batches++;
      }
      wire_batch_release(&b);
    }
  }
  inproc_actor_stop(&a);
  printf("with training stalled: %u batches in 3.5 s, the first after %.2f s\n", batches,
         first_ns ? (double)(first_ns - t0) / 1e9 : -1.0);
  assert_true(subscribes >= 3); /* as it connected, then every second */
  assert_true(subscribes <= 6); /* not a stream either */
  assert_true(batches >= 1);  /* before: none, ever */
  assert_true(batches <= 5);  /* about one a second, not a stream */
  wire_buf_free(&wb);
  wire_buf_free(&f.buf);
  zmq_close(wr);
  zmq_close(f.pull);
  zmq_close(f.router);
  zmq_ctx_term(f.ctx);
}

int main(void) {
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(frames_wait_are_dropped_and_never_go_stale),
      cmocka_unit_test(stalled_training_gets_a_batch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
