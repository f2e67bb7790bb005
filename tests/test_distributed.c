/* Tests for the distributed service on loopback: a learner with actors and an evaluator
 * learns Pendulum and accounts for every transition; bad peers are refused and counted by
 * reason while training goes on; the weights go only to the DEALERs that subscribed in the
 * last 5 s, and other frames to the weights socket are refused and counted; the rate limiter holds the update/transition ratio with a
 * slowed learner and four actors; actors started before the learner, a learner killed and
 * restarted, and an actor killed with SIGKILL (real processes of the td3d binary).
 * Budgets are env steps; the time limits are only there so that a hang fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inproc.h"
#include "raw_peer.h"
#include "log.h"
#include "wire.h"

#include "td3d.pb-c.h"
#include "tmpdir.h"

#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

static char tmp[256];

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_WARN);
  return tmpdir_create(tmp, sizeof tmp, "test_dist");
}

static void kill_children(void);

static int teardown(void **state) {
  (void)state;
  kill_children();
  return tmpdir_remove(tmp);
}

/* ---- a learner and actors as threads of this process (tests/harness/inproc.h) ---- */

/* Prepares a Pendulum learner with this file's settings; the test adjusts and starts it. */
static void learner_prepare(inproc_learner_t *j, unsigned port, const char *out, uint64_t steps) {
  inproc_learner_init(j, "Pendulum-v1", port);
  j->cfg.steps = steps;
  j->cfg.start_steps = 1000;
  j->cfg.eval_every = 1000;
  j->cfg.eval_episodes = 5;
  j->cfg.out_dir = out;
  j->cfg.progress = 1;
}

/* The same learner with small fast networks (32-32, batch 32), 200 start steps and no
 * evaluation before the end: for the tests of the rate limiter and rollbacks. */
static void learner_prepare_small(inproc_learner_t *j, unsigned port, const char *out,
                                  uint64_t steps) {
  learner_prepare(j, port, out, steps);
  j->cfg.start_steps = 200;
  j->cfg.td3.n_hidden = 2;
  j->cfg.td3.hidden[0] = j->cfg.td3.hidden[1] = 32;
  j->cfg.td3.batch = 32;
  j->cfg.eval_every = 100000;
}

static void actor_start(inproc_actor_t *j, unsigned port, const char *name, int eval,
                        uint64_t max_steps) {
  inproc_actor_init(j, "Pendulum-v1", port, name, eval);
  j->cfg.max_env_steps = max_steps;
  assert_int_equal(inproc_actor_start(j), 0);
}

/* Joins a learner, stopping it after limit_s seconds (which fails the test). */
static void learner_join(inproc_learner_t *j, unsigned limit_s) {
  if (!inproc_learner_join(j, limit_s * 1000u))
    fail_msg("the learner did not finish its budget within %u s", limit_s);
}

static void actor_stop_join(inproc_actor_t *j) {
  /* no actor blocks for long once asked to stop */
  assert_true(inproc_actor_stop(j) < 5000000000ULL);
  assert_int_equal(j->rc, 0);
}

/* ---- 1. learning, accounting, versions, lag ---- */

static void learns_and_accounts(void **state) {
  (void)state;
  char out[512];
  snprintf(out, sizeof out, "%s/learn", tmp);
  inproc_learner_t L;
  learner_prepare(&L, 28110, out, 10000);
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t a[2], ev;
  /* each actor produces half the budget, so every transition is accounted for exactly */
  actor_start(&a[0], 28110, "test/0", 0, 5000);
  actor_start(&a[1], 28110, "test/1", 0, 5000);
  actor_start(&ev, 28110, "test/eval", 1, 0);
  learner_join(&L, 300);
  if (L.rc != 0) fail_msg("the learner failed (%d): %s", L.rc, L.err.msg);
  inproc_actor_join(&a[0]);
  inproc_actor_join(&a[1]);
  actor_stop_join(&ev);

  uint64_t produced = a[0].res.env_steps + a[1].res.env_steps;
  uint64_t dropped = a[0].res.dropped + a[1].res.dropped;
  printf("learner: inserted %llu, over budget %llu, updates %llu, versions %llu, last eval %.1f, "
         "best %.1f; "
         "actors: produced %llu, dropped %llu; lag mean %.2f max %llu\n",
         (unsigned long long)L.stats.inserted, (unsigned long long)L.stats.over_budget,
         (unsigned long long)L.stats.updates, (unsigned long long)L.stats.weights_version,
         L.res.last_eval, L.res.best_eval, (unsigned long long)produced,
         (unsigned long long)dropped,
         L.stats.lag_count ? (double)L.stats.lag_sum / (double)L.stats.lag_count : 0.0,
         (unsigned long long)L.stats.lag_max);
  assert_int_equal(L.stats.inserted, 10000);
  assert_int_equal(produced, L.stats.inserted + L.stats.over_budget + dropped);
  assert_int_equal(L.stats.updates, 9000); /* ratio 1 after 1000 start steps, drained */
  assert_true(L.stats.weights_version > 100);
  assert_true(a[0].res.policy_version > 1 && a[1].res.policy_version > 1);
  assert_true(ev.res.evaluations >= 3);
  assert_true(L.stats.lag_count > 0);
  assert_true(L.res.evaluations >= 4);
  /* an evaluation within the budget reached -400 (the last one may dip: TD3 on Pendulum
   * oscillates, in PyTorch too) */
  assert_true(L.res.best_eval >= -400.0);
  /* the actor table knows every process and its counts */
  int seen = 0;
  for (uint32_t i = 0; i < L.stats.n_actors; i++)
    if (strncmp(L.stats.actors[i].name, "test/", 5) == 0) seen++;
  assert_int_equal(seen, 3);
}

/* ---- 1b. an actor that stops at its max_env_steps loses nothing: it waits until the
 * learner confirms its last frames (closing the socket discards frames ZeroMQ's I/O thread
 * has not written out yet, which on a busy machine left learns_and_accounts' learner waiting
 * for the rest of its budget), here with a learner that trains slowly and holds ingest
 * back ---- */

static void finished_actor_loses_nothing(void **state) {
  (void)state;
  char out[512];
  snprintf(out, sizeof out, "%s/finish", tmp);
  inproc_learner_t L;
  learner_prepare_small(&L, 28160, out, 3000);
  L.cfg.max_lead = 100;
  L.hooks.train_delay_us = 3000; /* about 300 updates/s: ingest waits for training */
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t a;
  actor_start(&a, 28160, "fin/0", 0, 3000); /* the whole budget, then it stops by itself */
  inproc_actor_join(&a);
  learner_join(&L, 60);
  assert_int_equal(L.rc, 0);
  printf("actor: produced %llu, sent %llu, dropped %llu; learner inserted %llu\n",
         (unsigned long long)a.res.env_steps, (unsigned long long)a.res.sent,
         (unsigned long long)a.res.dropped, (unsigned long long)L.stats.inserted);
  assert_int_equal(a.rc, 0);
  assert_int_equal(a.res.dropped, 0);
  assert_int_equal(L.stats.inserted, 3000);
}

/* ---- 2. bad peers ---- */

static size_t pack_batch(Td3d__ExperienceBatch *m, uint8_t *buf) {
  return td3d__experience_batch__pack(m, buf);
}

/* Registers on dealer like an actor ("raw/0"), filling *hello for reuse; returns the Welcome's
 * run id, slot and lease. */
static void raw_register(void *dealer, wire_control_t *hello, float bounds[2], uint64_t *run_id,
                         uint32_t *slot, wire_lease_t *lease) {
  raw_hello_pendulum(hello, "raw/0", WIRE_ROLE_ACTOR, bounds);
  wire_control_t welcome;
  assert_int_equal(raw_hello_send(dealer, hello, 1, 10000, &welcome), 0);
  assert_int_equal(welcome.type, WIRE_MSG_WELCOME);
  *run_id = welcome.u.welcome.run_id;
  *slot = welcome.u.welcome.slot;
  *lease = welcome.u.welcome.lease;
  assert_false(wire_lease_is_none(*lease));
  wire_control_release(&welcome);
}

/* A Hello for another environment gets a Reject. */
static void other_env_rejected(void *dealer, wire_control_t *hello) {
  snprintf(hello->u.hello.env_id, sizeof hello->u.hello.env_id, "MountainCarContinuous-v0");
  snprintf(hello->u.hello.actor_name, sizeof hello->u.hello.actor_name, "raw/1");
  wire_control_t rej;
  assert_int_equal(raw_hello_send(dealer, hello, 1, 10000, &rej), 0);
  assert_int_equal(rej.type, WIRE_MSG_REJECT);
  assert_int_equal(rej.u.reject.reason, WIRE_REJECT_ENV);
  wire_control_release(&rej);
}

/* Pushes one bad experience frame of each kind (the comments say which), then an oversized
 * one and control garbage on dealer. lease is the slot's. */
static void bad_frames_send(void *push, void *dealer, uint64_t run_id, uint32_t slot,
                            wire_lease_t lease) {
  float obs[6] = {1, 0, 0, 1, 0, 0}, act[2] = {0.5f, -0.5f}, rew[2] = {-1, -1};
  float next[6] = {1, 0, 0, 1, 0, 0}, term[2] = {0, 0};
  Td3d__ExperienceBatch m = TD3D__EXPERIENCE_BATCH__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.run_id = run_id;
  m.slot = slot;
  m.n = 2;
  m.obs_dim = 3;
  m.act_dim = 1;
  m.obs = (ProtobufCBinaryData){sizeof obs, (uint8_t *)obs};
  m.action = (ProtobufCBinaryData){sizeof act, (uint8_t *)act};
  m.reward = (ProtobufCBinaryData){sizeof rew, (uint8_t *)rew};
  m.next_obs = (ProtobufCBinaryData){sizeof next, (uint8_t *)next};
  m.terminal = (ProtobufCBinaryData){sizeof term, (uint8_t *)term};
  m.end_mark = WIRE_END_MARK;
  uint8_t frame[512];

  zmq_send(push, "garbage, not protobuf \xff\xff\xff", 25, 0);          /* decode */
  m.protocol_version = 99;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* version */
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.obs_dim = 2;
  m.obs.len = m.next_obs.len = 4 * 2 * 2;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* dims */
  m.obs_dim = 3;
  m.obs.len = m.next_obs.len = sizeof obs;
  rew[1] = NAN;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* nonfinite */
  rew[1] = -1;
  m.n = 3;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* length */
  m.n = 2;
  size_t full = pack_batch(&m, frame);
  zmq_send(push, frame, full - 3, 0);                                   /* cut: truncated/decode */
  m.slot = slot + 17;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* unregistered slot */
  m.slot = slot;
  m.lease = 0x1234;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* the slot, not its lease */
  m.lease = lease.lo;
  m.lease_hi = lease.hi ^ 0x10;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* lease: low word only */
  m.lease = m.lease_hi = 0;
  m.run_id = run_id + 1;
  zmq_send(push, frame, pack_batch(&m, frame), 0);                      /* run id */
  size_t big = (1 << 20) + 100;
  uint8_t *huge = calloc(1, big);
  zmq_send(push, huge, big, 0); /* oversize: ZeroMQ drops the connection before holding it */
  free(huge);
  zmq_send(dealer, "\x08\x01\x12", 3, 0);                               /* control garbage */
}

/* Sends forged evaluation reports, each claiming the target was beaten: from an actor's slot
 * (with its lease), from a connection without any slot, for env steps the run has not
 * reached. Returns the slotless connection (the caller closes it once the run is over). */
static void *forged_reports_send(void *ctx, void *dealer, uint64_t run_id, uint32_t slot,
                                 wire_lease_t lease) {
  float high[2] = {123456, 123456};
  wire_buf_t buf = {0};
  wire_control_t ev = {.type = WIRE_MSG_EVAL_REPORT};
  ev.u.eval_report = (wire_eval_report_t){.run_id = run_id, .slot = slot, .policy_version = 1,
                                          .env_steps = 10, .n_returns = 2, .returns = high,
                                          .lease = lease};
  assert_int_equal(wire_control_encode(&ev, &buf), 0);
  zmq_send(dealer, buf.data, buf.len, 0);                               /* an actor's slot */
  void *stranger = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(stranger, ZMQ_LINGER, &zero, sizeof zero);
  assert_int_equal(zmq_connect(stranger, "tcp://127.0.0.1:28122"), 0);
  ev.u.eval_report.slot = 3;
  wire_control_encode(&ev, &buf);
  zmq_send(stranger, buf.data, buf.len, 0);                             /* no Hello, no slot */
  ev.u.eval_report.slot = slot;
  ev.u.eval_report.env_steps = 100000000000000000ULL;
  wire_control_encode(&ev, &buf);
  zmq_send(dealer, buf.data, buf.len, 0);                               /* 1e17 env steps */
  wire_buf_free(&buf);
  return stranger;
}

/* Checks the run's counters: each bad frame and forged report refused for its reason, and
 * the run trained on the real actor's experience alone. */
static void refusals_check(const inproc_learner_t *L) {
  const learner_stats_t *s = &L->stats;
  printf("rejected: decode %llu, version %llu, truncated %llu, run_id %llu, dims %llu, length %llu, "
         "nonfinite %llu, oversize %llu, unregistered %llu\n",
         (unsigned long long)s->rejected[WIRE_DECODE], (unsigned long long)s->rejected[WIRE_VERSION],
         (unsigned long long)s->rejected[WIRE_TRUNCATED], (unsigned long long)s->rejected[WIRE_RUN_ID],
         (unsigned long long)s->rejected[WIRE_DIMS], (unsigned long long)s->rejected[WIRE_LENGTH],
         (unsigned long long)s->rejected[WIRE_NONFINITE], (unsigned long long)s->rejected[WIRE_OVERSIZE],
         (unsigned long long)s->rejected_unregistered);
  assert_true(s->rejected[WIRE_DECODE] + s->rejected[WIRE_TRUNCATED] >= 3); /* garbage, cut, control */
  assert_int_equal(s->rejected[WIRE_VERSION], 1);
  assert_int_equal(s->rejected[WIRE_DIMS], 1);
  assert_int_equal(s->rejected[WIRE_NONFINITE], 1);
  assert_int_equal(s->rejected[WIRE_LENGTH], 1);
  assert_int_equal(s->rejected[WIRE_RUN_ID], 1);
  assert_int_equal(s->rejected[WIRE_OVERSIZE], 0); /* never reaches the learner (maxmsgsize) */
  printf("experience disconnects %llu, handshake failures %llu\n",
         (unsigned long long)s->experience_disconnects, (unsigned long long)s->handshake_failures);
  assert_true(s->experience_disconnects >= 1);       /* ... but its connection's end is counted */
  assert_int_equal(s->handshake_failures, 0);        /* every peer here spoke ZeroMQ */
  assert_int_equal(s->rejected_unregistered, 3 + 3); /* three batches and three reports */
  assert_true(L->res.best_eval < 123456);            /* none of them was recorded */
  assert_false(L->res.solved);
  assert_int_equal(s->inserted, 3000);
  assert_int_equal(s->updates, 2500);
}

static void bad_peers_refused(void **state) {
  (void)state;
  char out[512];
  snprintf(out, sizeof out, "%s/bad", tmp);
  inproc_learner_t L;
  learner_prepare(&L, 28120, out, 3000);
  L.cfg.start_steps = 500;
  L.cfg.td3.n_hidden = 2;
  L.cfg.td3.hidden[0] = L.cfg.td3.hidden[1] = 32;
  L.cfg.td3.batch = 32;
  L.cfg.max_frame = 1 << 20;
  L.cfg.target_return = 1000; /* a forged report above it must not end the run */
  assert_int_equal(inproc_learner_start(&L), 0);

  void *ctx = zmq_ctx_new();
  void *dealer = zmq_socket(ctx, ZMQ_DEALER), *push = zmq_socket(ctx, ZMQ_PUSH);
  int zero = 0;
  zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(push, ZMQ_LINGER, &zero, sizeof zero);
  assert_int_equal(zmq_connect(dealer, "tcp://127.0.0.1:28122"), 0);
  assert_int_equal(zmq_connect(push, "tcp://127.0.0.1:28120"), 0);

  wire_control_t hello;
  float bounds[2] = {-2, 2};
  uint64_t run_id;
  uint32_t slot;
  wire_lease_t lease;
  raw_register(dealer, &hello, bounds, &run_id, &slot, &lease);
  other_env_rejected(dealer, &hello);
  bad_frames_send(push, dealer, run_id, slot, lease);
  void *stranger = forged_reports_send(ctx, dealer, run_id, slot, lease);

  /* and now a real actor does the work: training goes on */
  inproc_actor_t a;
  actor_start(&a, 28120, "test/0", 0, 0);
  learner_join(&L, 300);
  actor_stop_join(&a);
  assert_int_equal(L.rc, 0);
  refusals_check(&L);
  zmq_close(stranger);
  zmq_close(dealer);
  zmq_close(push);
  zmq_ctx_term(ctx);
}

/* ---- 2b. the weights socket: only subscribers get weights, anything else is counted ---- */

/* Frames the DEALER receives within ms milliseconds; each must be a Weights of the learner's
 * shape (Pendulum: obs 3, act 1). */
static int weights_received(void *d, int ms) {
  int n = 0;
  uint64_t end = td3_now_ns() + (uint64_t)ms * 1000000ULL;
  zmq_pollitem_t item = {d, 0, ZMQ_POLLIN, 0};
  while (td3_now_ns() < end) {
    if (zmq_poll(&item, 1, 50) != 1) continue;
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_true(zmq_msg_recv(&m, d, 0) >= 0);
    assert_false(zmq_msg_more(&m)); /* the routing id stays in the learner */
    wire_limits_t lim = {.obs_dim = 3, .act_dim = 1};
    wire_weights_t w;
    assert_int_equal(wire_weights_decode(zmq_msg_data(&m), zmq_msg_size(&m), &lim, &w), WIRE_OK);
    wire_weights_release(&w);
    zmq_msg_close(&m);
    n++;
  }
  return n;
}

static void weights_go_to_subscribers(void **state) {
  (void)state;
  char out[512];
  snprintf(out, sizeof out, "%s/subs", tmp);
  inproc_learner_t L;
  learner_prepare_small(&L, 22700, out, 100000000); /* stopped once the checks are done */
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t a;
  actor_start(&a, 22700, "subs/0", 0, 0);

  void *ctx = zmq_ctx_new();
  void *quiet = zmq_socket(ctx, ZMQ_DEALER), *sub = zmq_socket(ctx, ZMQ_DEALER);
  void *bad = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(quiet, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(bad, ZMQ_LINGER, &zero, sizeof zero);
  assert_int_equal(zmq_connect(quiet, "tcp://127.0.0.1:22701"), 0);
  assert_int_equal(zmq_connect(sub, "tcp://127.0.0.1:22701"), 0);
  assert_int_equal(zmq_connect(bad, "tcp://127.0.0.1:22701"), 0);
  /* a connection that says nothing gets nothing; a subscriber gets the re-sends (200 ms) */
  uint8_t one = WIRE_WEIGHTS_SUBSCRIBE;
  assert_int_equal(zmq_send(sub, &one, 1, 0), 1);
  assert_true(weights_received(sub, 1500) >= 3);
  assert_int_equal(weights_received(quiet, 10), 0);
  /* four frames that are not a subscribe frame: refused and counted, never subscribed */
  uint8_t two[2] = {WIRE_WEIGHTS_SUBSCRIBE, 0}, zero_byte = 0;
  assert_int_equal(zmq_send(bad, two, 2, 0), 2);
  assert_int_equal(zmq_send(bad, &zero_byte, 1, 0), 1);
  assert_int_equal(zmq_send(bad, "", 0, 0), 0);
  assert_int_equal(zmq_send(bad, &one, 1, ZMQ_SNDMORE), 1); /* two parts */
  assert_int_equal(zmq_send(bad, &one, 1, 0), 1);
  assert_int_equal(weights_received(bad, 1500), 0);
  /* a subscriber that goes silent is forgotten after 5 s (WIRE_WEIGHTS_SUBSCRIBER_TTL_MS) */
  td3_sleep_ms(WIRE_WEIGHTS_SUBSCRIBER_TTL_MS + 500);
  (void)weights_received(sub, 10);
  assert_int_equal(weights_received(sub, 1000), 0);
  /* and gets weights again with its next subscribe frame */
  assert_int_equal(zmq_send(sub, &one, 1, 0), 1);
  assert_true(weights_received(sub, 1500) >= 1);
  zmq_close(quiet);
  zmq_close(sub);
  zmq_close(bad);
  zmq_ctx_term(ctx);

  assert_int_equal(inproc_learner_join(&L, 0), 0);
  actor_stop_join(&a);
  assert_int_equal(L.rc, 0);
  printf("weights frames refused %llu, subscribers refused %llu\n",
         (unsigned long long)L.stats.weights_frames_refused,
         (unsigned long long)L.stats.weights_subscribers_refused);
  assert_int_equal(L.stats.weights_frames_refused, 4);
  assert_int_equal(L.stats.weights_subscribers_refused, 0);
  assert_true(a.res.policy_version > 1); /* the real actor got its weights throughout */
}

/* ---- 3. the rate limiter with four actors and a slowed learner ---- */

static void rate_limiter_holds_ratio(void **state) {
  (void)state;
  char out[512];
  snprintf(out, sizeof out, "%s/ratio", tmp);
  inproc_learner_t L;
  learner_prepare_small(&L, 28130, out, 6000);
  L.cfg.max_lead = 100;
  L.hooks.train_delay_us = 1000; /* about 1000 updates/s at most */
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t a[4];
  for (int i = 0; i < 4; i++) {
    char name[16];
    snprintf(name, sizeof name, "rl/%d", i);
    actor_start(&a[i], 28130, name, 0, 0);
  }
  learner_join(&L, 300);
  for (int i = 0; i < 4; i++) actor_stop_join(&a[i]);
  assert_int_equal(L.rc, 0);
  printf("ratio sampled between %.3f and %.3f; updates %llu for %llu transitions\n",
         L.stats.ratio_min, L.stats.ratio_max, (unsigned long long)L.stats.updates,
         (unsigned long long)L.stats.inserted);
  assert_false(isnan(L.stats.ratio_min));
  assert_true(L.stats.ratio_min >= 0.9 && L.stats.ratio_max <= 1.1);
  assert_int_equal(L.stats.updates, L.stats.inserted - 200);
  uint64_t blocked = 0;
  for (int i = 0; i < 4; i++) blocked += a[i].res.blocked_us;
  assert_true(blocked > 0); /* the actors felt the slowed learner */
}

/* ---- 3a. a ratio far below 1: an update per 1000 transitions, more than the actors' pacing
 * window of max_lead / 2 (the actors waited for training that waited for them) ---- */

static void low_ratio_does_not_stall(void **state) {
  (void)state;
  char out[512];
  snprintf(out, sizeof out, "%s/lowratio", tmp);
  inproc_learner_t L;
  learner_prepare_small(&L, 28150, out, 6000);
  L.cfg.replay_ratio = 0.001;
  L.cfg.max_lead = 1000;
  assert_int_equal(inproc_learner_start(&L), 0);
  inproc_actor_t a;
  actor_start(&a, 28150, "low/0", 0, 0);
  learner_join(&L, 60);
  actor_stop_join(&a);
  assert_int_equal(L.rc, 0);
  printf("ratio 0.001: %llu transitions, %llu updates\n", (unsigned long long)L.stats.inserted,
         (unsigned long long)L.stats.updates);
  assert_int_equal(L.stats.inserted, 6000);
  assert_int_equal(L.stats.updates, 5); /* floor(0.001 * (6000 - 200)) */
}

/* ---- 3b. a non-finite update: rolled back to the last checkpoint, at most 3 times ---- */

static void nonfinite_update_rolls_back(void **state) {
  (void)state;
  for (int pass = 0; pass < 2; pass++) {
    char out[512];
    snprintf(out, sizeof out, "%s/rollback%d", tmp, pass);
    inproc_learner_t L;
    learner_prepare_small(&L, 28135, out, 3000);
    L.cfg.checkpoint_every = 0.2;
    /* pass 0: update 800 fails once; pass 1: it fails every time it is tried */
    L.hooks.reject_at = 800;
    L.hooks.reject_times = pass == 0 ? 1 : 100;
    assert_int_equal(inproc_learner_start(&L), 0);
    inproc_actor_t a;
    actor_start(&a, 28135, "rb/0", 0, 0);
    learner_join(&L, 120);
    actor_stop_join(&a);
    printf("pass %d: rc %d, %u rollbacks, %llu updates; %s\n", pass, L.rc,
           (unsigned)L.res.rollbacks, (unsigned long long)L.res.updates, L.rc ? L.err.msg : "finished");
    if (pass == 0) {
      assert_int_equal(L.rc, 0); /* the run went on and spent its budget */
      assert_int_equal(L.res.rollbacks, 1);
      assert_int_equal(L.stats.updates, L.stats.inserted - 200);
    } else {
      assert_int_equal(L.rc, TD3_ENONFINITE); /* a run that keeps diverging stops */
      assert_int_equal(L.res.rollbacks, 3);
      assert_non_null(strstr(L.err.msg, "rolled back 3 times already"));
      assert_true(L.res.updates < 800);
    }
  }
}

/* ---- 4. processes: actor before learner, learner restart, actor SIGKILL ---- */

/* Children of this test, killed in teardown whatever happened (a failed assertion must not
 * leave processes behind). */
static pid_t children[8];
static int n_children;

/* Marks pid as reaped, so teardown never signals a recycled pid. */
static void forget_child(pid_t pid) {
  for (int i = 0; i < n_children; i++)
    if (children[i] == pid) children[i] = 0;
}

static void kill_children(void) {
  for (int i = 0; i < n_children; i++)
    if (children[i] > 0 && kill(children[i], SIGKILL) == 0) waitpid(children[i], NULL, 0);
  n_children = 0;
}

static pid_t spawn(const char *log, char *const argv[]) {
  pid_t pid = fork();
  if (pid > 0 && n_children < 8) children[n_children++] = pid;
  if (pid == 0) {
    FILE *f = freopen(log, "w", stderr);
    (void)f;
    if (!freopen("/dev/null", "w", stdout)) _exit(126);
    execv(TD3D_BINARY, argv);
    _exit(127);
  }
  return pid;
}

/* Waits until file contains text at least `count` times; returns 1, or 0 after limit_s. */
static int wait_for_text(const char *file, const char *text, int count, unsigned limit_s) {
  for (unsigned i = 0; i < limit_s * 10; i++) {
    FILE *f = fopen(file, "r");
    if (f) {
      char line[1024];
      int seen = 0;
      while (fgets(line, sizeof line, f)) seen += strstr(line, text) != NULL;
      fclose(f);
      if (seen >= count) return 1;
    }
    td3_sleep_ms(100);
  }
  return 0;
}

static int wait_exit(pid_t pid, unsigned limit_s) {
  for (unsigned i = 0; i < limit_s * 10; i++) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      forget_child(pid);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    }
    td3_sleep_ms(100);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  forget_child(pid);
  return -1;
}

static void print_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[1024];
  printf("---- %s\n", path);
  while (fgets(line, sizeof line, f)) fputs(line, stdout);
  fclose(f);
}

static void processes_survive_failures(void **state) {
  (void)state;
  char la[512], lb[512], l1[512], l2[512], d1[512], d2[512];
  snprintf(la, sizeof la, "%s/actor_a.log", tmp);
  snprintf(lb, sizeof lb, "%s/actor_b.log", tmp);
  snprintf(l1, sizeof l1, "%s/learner1.log", tmp);
  snprintf(l2, sizeof l2, "%s/learner2.log", tmp);
  snprintf(d1, sizeof d1, "--out=%s/run1", tmp);
  snprintf(d2, sizeof d2, "--out=%s/run2", tmp);
  char *actor_a[] = {"td3d", "actor", "--experience-port=28140", "--weights-port=28141",
                     "--control-port=28142", "--name=proc/a", "--log-level=info",
                     "--learner-timeout-ms=2000", NULL};
  char *actor_b[] = {"td3d", "actor", "--experience-port=28140", "--weights-port=28141",
                     "--control-port=28142", "--name=proc/b", "--log-level=info", NULL};
  char *learner1[] = {"td3d", "learner", "--bind=127.0.0.1", "--experience-port=28140",
                      "--weights-port=28141", "--control-port=28142", "--steps=1000000",
                      "--start-steps=200", "--hidden=32,32", "--batch=32", "--lease-ms=1500",
                      "--eval-every=100000", d1, "--quiet", "--log-level=info", NULL};
  char *learner2[] = {"td3d", "learner", "--bind=127.0.0.1", "--experience-port=28140",
                      "--weights-port=28141", "--control-port=28142", "--steps=3000",
                      "--start-steps=200", "--hidden=32,32", "--batch=32", "--lease-ms=1500",
                      "--eval-every=100000", "--eval-episodes=2", d2, "--quiet", "--log-level=info", NULL};

  /* an actor started before any learner waits for it */
  pid_t a = spawn(la, actor_a);
  td3_sleep_ms(1500);
  pid_t L1 = spawn(l1, learner1);
  pid_t b = spawn(lb, actor_b);
  assert_true(wait_for_text(l1, "joined as slot", 2, 30));

  /* an actor killed with SIGKILL: its lease expires, training goes on */
  kill(b, SIGKILL);
  waitpid(b, NULL, 0);
  forget_child(b);
  assert_true(wait_for_text(l1, "lease expired", 1, 20));

  /* the learner killed and restarted: the actor rejoins by itself and the new run finishes */
  kill(L1, SIGKILL);
  waitpid(L1, NULL, 0);
  forget_child(L1);
  pid_t L2 = spawn(l2, learner2);
  int rc2 = wait_exit(L2, 120);
  if (rc2 != 0) {
    print_file(la);
    print_file(l2);
  }
  assert_int_equal(rc2, 0);
  assert_true(wait_for_text(la, "registering again", 1, 1));
  assert_true(wait_for_text(la, "joined run", 2, 1));
  kill(a, SIGTERM);
  assert_int_equal(wait_exit(a, 10), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_peers_refused),
      cmocka_unit_test(weights_go_to_subscribers),
      cmocka_unit_test(rate_limiter_holds_ratio),
      cmocka_unit_test(low_ratio_does_not_stall),
      cmocka_unit_test(nonfinite_update_rolls_back),
      cmocka_unit_test(processes_survive_failures),
      cmocka_unit_test(learns_and_accounts),
      cmocka_unit_test(finished_actor_loses_nothing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
