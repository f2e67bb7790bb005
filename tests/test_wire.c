/* Tests for common/net/wire: round trips of every message (the 128-bit lease of each that
 * carries one among them) and a refusal, with the right reason, for every kind of bad frame
 * (truncation at every length, wrong version, dims, counts, lengths, NaN/Inf, oversize,
 * empty, garbage). Leaks show under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "rng.h"
#include "wire.h"

#include "td3d.pb-c.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 7, OBS = 3, ACT = 2 };

typedef struct fixture {
  float obs[N * OBS], act[N * ACT], rew[N], next[N * OBS], term[N];
  wire_episode_t eps[2];
  wire_batch_t batch;
  wire_buf_t buf;
} fixture_t;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  for (int i = 0; i < N * OBS; i++) {
    f->obs[i] = 0.25f * (float)i - 1.0f;
    f->next[i] = -0.5f * (float)i;
  }
  for (int i = 0; i < N * ACT; i++) f->act[i] = 0.1f * (float)i;
  for (int i = 0; i < N; i++) {
    f->rew[i] = -(float)i;
    f->term[i] = (i == 4) ? 1.0f : 0.0f;
  }
  f->eps[0] = (wire_episode_t){-123.5f, 200};
  f->eps[1] = (wire_episode_t){7.0f, 5};
  f->batch = (wire_batch_t){.run_id = 99, .slot = 3, .seq = 12, .policy_version = 4,
                            .rows = {.n = N, .obs_dim = OBS, .act_dim = ACT, .obs = f->obs,
                                     .action = f->act, .reward = f->rew, .next_obs = f->next,
                                     .terminal = f->term},
                            .n_episodes = 2, .episodes = f->eps};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  wire_buf_free(&f->buf);
  free(f);
  return 0;
}

static const wire_limits_t run_limits = {.run_id = 99, .obs_dim = OBS, .act_dim = ACT};

static void batch_round_trip(void **state) {
  fixture_t *f = *state;
  assert_int_equal(wire_batch_encode(&f->batch, &f->buf), 0);
  wire_batch_t d;
  assert_int_equal(wire_batch_decode(f->buf.data, f->buf.len, &run_limits, &d), WIRE_OK);
  assert_int_equal(d.run_id, 99);
  assert_int_equal(d.slot, 3);
  assert_int_equal(d.seq, 12);
  assert_int_equal(d.policy_version, 4);
  assert_int_equal(d.rows.n, N);
  assert_memory_equal(d.rows.obs, f->obs, sizeof f->obs);
  assert_memory_equal(d.rows.action, f->act, sizeof f->act);
  assert_memory_equal(d.rows.reward, f->rew, sizeof f->rew);
  assert_memory_equal(d.rows.next_obs, f->next, sizeof f->next);
  assert_memory_equal(d.rows.terminal, f->term, sizeof f->term);
  assert_int_equal(d.n_episodes, 2);
  assert_true(d.episodes[0].episode_return == -123.5f);
  assert_int_equal(d.episodes[1].length, 5);
  wire_batch_release(&d);
  wire_batch_release(&d); /* twice is allowed */
  /* with no limits at all, the same frame is accepted too */
  assert_int_equal(wire_batch_decode(f->buf.data, f->buf.len, NULL, &d), WIRE_OK);
  wire_batch_release(&d);
}

static void batch_every_truncation_refused(void **state) {
  fixture_t *f = *state;
  assert_int_equal(wire_batch_encode(&f->batch, &f->buf), 0);
  int boundary_cuts = 0;
  for (size_t len = 0; len < f->buf.len; len++) {
    wire_batch_t d;
    wire_reason_t r = wire_batch_decode(f->buf.data, len, &run_limits, &d);
    assert_int_not_equal(r, WIRE_OK);
    assert_null(d.owner_);
    /* Count cuts that protobuf-c itself parses: validation must be what refuses them. */
    Td3d__ExperienceBatch *m = td3d__experience_batch__unpack(NULL, len, f->buf.data);
    if (m) {
      boundary_cuts++;
      td3d__experience_batch__free_unpacked(m, NULL);
    }
  }
  assert_true(boundary_cuts > 5); /* the test really exercises validation */
}

/* Packs a hand-made batch message (to craft what the encoder would never produce). */
static size_t pack_raw(const Td3d__ExperienceBatch *m, uint8_t **out) {
  size_t n = td3d__experience_batch__get_packed_size(m);
  *out = malloc(n ? n : 1);
  return td3d__experience_batch__pack(m, *out);
}

static Td3d__ExperienceBatch raw_from(fixture_t *f) {
  Td3d__ExperienceBatch m = TD3D__EXPERIENCE_BATCH__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.run_id = 99;
  m.slot = 3;
  m.n = N;
  m.obs_dim = OBS;
  m.act_dim = ACT;
  m.obs = (ProtobufCBinaryData){sizeof f->obs, (uint8_t *)f->obs};
  m.action = (ProtobufCBinaryData){sizeof f->act, (uint8_t *)f->act};
  m.reward = (ProtobufCBinaryData){sizeof f->rew, (uint8_t *)f->rew};
  m.next_obs = (ProtobufCBinaryData){sizeof f->next, (uint8_t *)f->next};
  m.terminal = (ProtobufCBinaryData){sizeof f->term, (uint8_t *)f->term};
  m.end_mark = WIRE_END_MARK;
  return m;
}

static wire_reason_t decode_raw(const Td3d__ExperienceBatch *m, const wire_limits_t *lim) {
  uint8_t *buf;
  size_t len = pack_raw(m, &buf);
  wire_batch_t d;
  wire_reason_t r = wire_batch_decode(buf, len, lim, &d);
  wire_batch_release(&d);
  free(buf);
  return r;
}

static void batch_bad_fields(void **state) {
  fixture_t *f = *state;
  Td3d__ExperienceBatch m = raw_from(f);
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_OK);

  m.protocol_version = 99;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_VERSION);
  m.protocol_version = 0; /* proto3 default: field absent */
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_VERSION);
  m = raw_from(f);
  m.end_mark = 0;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_TRUNCATED);
  m = raw_from(f);
  m.run_id = 98;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_RUN_ID);
  m = raw_from(f);
  m.slot = WIRE_MAX_SLOTS;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_FIELD);

  /* wrong dims against the run, and out of range */
  wire_limits_t other = run_limits;
  other.obs_dim = OBS + 1;
  m = raw_from(f);
  assert_int_equal(decode_raw(&m, &other), WIRE_DIMS);
  other = run_limits;
  other.act_dim = 1;
  assert_int_equal(decode_raw(&m, &other), WIRE_DIMS);
  m.obs_dim = 0;
  assert_int_equal(decode_raw(&m, NULL), WIRE_DIMS);
  m = raw_from(f);
  m.act_dim = WIRE_MAX_DIM + 1;
  assert_int_equal(decode_raw(&m, NULL), WIRE_DIMS);

  /* count and length mismatches */
  m = raw_from(f);
  m.n = 0;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_COUNT);
  m.n = N + 1;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_LENGTH);
  m.n = N - 1;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_LENGTH);
  wire_limits_t small = run_limits;
  small.max_batch = N - 1;
  m = raw_from(f);
  assert_int_equal(decode_raw(&m, &small), WIRE_COUNT);
  m.reward.len -= 4;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_LENGTH);
  m = raw_from(f);
  m.terminal.len = 0;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_LENGTH);
  m = raw_from(f);
  m.obs.len -= 1; /* not a whole number of floats */
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_LENGTH);
  m = raw_from(f);
  m.action.len += 4;
  uint8_t big[sizeof f->act + 4] = {0};
  m.action.data = big;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_LENGTH);

  /* more episodes than transitions, and a zero-length episode */
  Td3d__EpisodeEnd e = TD3D__EPISODE_END__INIT;
  e.length = 3;
  Td3d__EpisodeEnd *eps[N + 1];
  for (int i = 0; i < N + 1; i++) eps[i] = &e;
  m = raw_from(f);
  m.n_episodes = N + 1;
  m.episodes = eps;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_COUNT);
  m.n_episodes = 1;
  e.length = 0;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_FIELD);
  e.length = 3;
  e.episode_return = NAN;
  assert_int_equal(decode_raw(&m, &run_limits), WIRE_NONFINITE);
}

static void batch_nonfinite(void **state) {
  fixture_t *f = *state;
  float *arrays[] = {f->obs, f->act, f->rew, f->next, f->term};
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t a = 0; a < 5; a++) {
    for (size_t b = 0; b < 3; b++) {
      float saved = arrays[a][1];
      arrays[a][1] = bad[b];
      assert_int_equal(wire_batch_encode(&f->batch, &f->buf), 0);
      wire_batch_t d;
      assert_int_equal(wire_batch_decode(f->buf.data, f->buf.len, &run_limits, &d),
                       WIRE_NONFINITE);
      arrays[a][1] = saved;
    }
  }
  f->term[2] = 0.5f;
  assert_int_equal(wire_batch_encode(&f->batch, &f->buf), 0);
  wire_batch_t d;
  assert_int_equal(wire_batch_decode(f->buf.data, f->buf.len, &run_limits, &d), WIRE_FIELD);
}

static void oversize_and_empty(void **state) {
  fixture_t *f = *state;
  assert_int_equal(wire_batch_encode(&f->batch, &f->buf), 0);
  wire_limits_t lim = run_limits;
  lim.max_frame = f->buf.len - 1;
  wire_batch_t d;
  wire_weights_t w;
  wire_control_t c;
  assert_int_equal(wire_batch_decode(f->buf.data, f->buf.len, &lim, &d), WIRE_OVERSIZE);
  lim.max_frame = f->buf.len;
  assert_int_equal(wire_batch_decode(f->buf.data, f->buf.len, &lim, &d), WIRE_OK);
  wire_batch_release(&d);
  assert_int_equal(wire_batch_decode(f->buf.data, 0, &lim, &d), WIRE_EMPTY);
  assert_int_equal(wire_weights_decode("", 0, NULL, &w), WIRE_EMPTY);
  assert_int_equal(wire_control_decode("", 0, NULL, &c), WIRE_EMPTY);
  lim.max_frame = 10;
  assert_int_equal(wire_control_decode(f->buf.data, 11, &lim, &c), WIRE_OVERSIZE);
  assert_int_equal(wire_weights_decode(f->buf.data, 11, &lim, &w), WIRE_OVERSIZE);
}

static void random_garbage_refused(void **state) {
  (void)state;
  rng_t r;
  rng_init(&r, 1234, 0);
  uint8_t buf[512];
  int accepted = 0;
  for (int i = 0; i < 20000; i++) {
    size_t len = 1 + rng_below(&r, sizeof buf);
    for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)rng_next_u64(&r);
    wire_batch_t d;
    wire_weights_t w;
    wire_control_t c;
    accepted += wire_batch_decode(buf, len, &run_limits, &d) == WIRE_OK;
    accepted += wire_weights_decode(buf, len, &run_limits, &w) == WIRE_OK;
    accepted += wire_control_decode(buf, len, &run_limits, &c) == WIRE_OK;
    wire_batch_release(&d);
    wire_weights_release(&w);
    wire_control_release(&c);
  }
  assert_int_equal(accepted, 0);
}

/* ---- weights ---- */

static void weights_round_trip_and_refusals(void **state) {
  fixture_t *f = *state;
  uint32_t layers[] = {OBS, 4, ACT};
  size_t np = wire_param_count(layers, 3);
  assert_int_equal(np, (OBS + 1) * 4 + (4 + 1) * ACT);
  float *p = malloc(np * sizeof *p);
  for (size_t i = 0; i < np; i++) p[i] = (float)i * 0.01f;
  wire_weights_t w = {.run_id = 99, .version = 17, .n_layers = 3, .n_params = np, .params = p,
                      .env_steps = 5000, .updates = 4000};
  memcpy(w.layers, layers, sizeof layers);
  assert_int_equal(wire_weights_encode(&w, &f->buf), 0);
  wire_weights_t d;
  assert_int_equal(wire_weights_decode(f->buf.data, f->buf.len, &run_limits, &d), WIRE_OK);
  assert_int_equal(d.version, 17);
  assert_int_equal(d.env_steps, 5000);
  assert_int_equal(d.updates, 4000);
  assert_int_equal(d.n_layers, 3);
  assert_int_equal(d.layers[1], 4);
  assert_int_equal(d.n_params, np);
  assert_memory_equal(d.params, p, np * sizeof *p);
  wire_weights_release(&d);

  for (size_t len = 0; len < f->buf.len; len++) {
    assert_int_not_equal(wire_weights_decode(f->buf.data, len, &run_limits, &d), WIRE_OK);
    assert_null(d.owner_);
  }

  wire_limits_t lim = run_limits;
  lim.obs_dim = OBS + 1;
  assert_int_equal(wire_weights_decode(f->buf.data, f->buf.len, &lim, &d), WIRE_DIMS);
  lim = run_limits;
  lim.run_id = 1;
  assert_int_equal(wire_weights_decode(f->buf.data, f->buf.len, &lim, &d), WIRE_RUN_ID);

  p[3] = NAN;
  assert_int_equal(wire_weights_encode(&w, &f->buf), 0);
  assert_int_equal(wire_weights_decode(f->buf.data, f->buf.len, &run_limits, &d),
                   WIRE_NONFINITE);
  p[3] = 0;

  /* a shape that does not match the parameter count */
  Td3d__Weights m = TD3D__WEIGHTS__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.run_id = 99;
  uint32_t wrong[] = {OBS, 5, ACT};
  m.n_layers = 3;
  m.layers = wrong;
  m.params = (ProtobufCBinaryData){np * sizeof(float), (uint8_t *)p};
  m.end_mark = WIRE_END_MARK;
  uint8_t raw[4096];
  size_t len = td3d__weights__pack(&m, raw);
  assert_int_equal(wire_weights_decode(raw, len, &run_limits, &d), WIRE_LENGTH);
  m.n_layers = 1;
  len = td3d__weights__pack(&m, raw);
  assert_int_equal(wire_weights_decode(raw, len, &run_limits, &d), WIRE_DIMS);
  m.n_layers = 3;
  wrong[1] = 0;
  len = td3d__weights__pack(&m, raw);
  assert_int_equal(wire_weights_decode(raw, len, &run_limits, &d), WIRE_DIMS);
  /* the encoder refuses an inconsistent struct */
  w.n_params = np + 1;
  assert_int_equal(wire_weights_encode(&w, &f->buf) < 0, 1);
  free(p);
}

/* ---- control messages ---- */

static wire_reason_t control_round(const wire_control_t *c, wire_buf_t *buf,
                                   const wire_limits_t *lim, wire_control_t *out) {
  assert_int_equal(wire_control_encode(c, buf), 0);
  wire_reason_t r = wire_control_decode(buf->data, buf->len, lim, out);
  /* every truncation of the frame is refused too */
  for (size_t len = 0; len < buf->len; len++) {
    wire_control_t t;
    assert_int_not_equal(wire_control_decode(buf->data, len, lim, &t), WIRE_OK);
    assert_null(t.owner_);
  }
  return r;
}

static void hello_round_trip_and_refusals(void **state) {
  fixture_t *f = *state;
  float lo[ACT] = {-2, -1}, hi[ACT] = {2, 1};
  wire_control_t c = {.type = WIRE_MSG_HELLO};
  wire_hello_t *h = &c.u.hello;
  strcpy(h->actor_name, "host-a/0");
  strcpy(h->env_id, "Pendulum-v1");
  h->role = WIRE_ROLE_ACTOR;
  h->obs_dim = OBS;
  h->act_dim = ACT;
  h->action_low = lo;
  h->action_high = hi;
  h->envs = 4;
  wire_control_t d;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_int_equal(d.type, WIRE_MSG_HELLO);
  assert_string_equal(d.u.hello.actor_name, "host-a/0");
  assert_string_equal(d.u.hello.env_id, "Pendulum-v1");
  assert_int_equal(d.u.hello.role, WIRE_ROLE_ACTOR);
  assert_int_equal(d.u.hello.envs, 4);
  assert_memory_equal(d.u.hello.action_high, hi, sizeof hi);
  wire_control_release(&d);

  h->envs = 0;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_COUNT);
  h->envs = 1;
  strcpy(h->actor_name, "");
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_FIELD);
  strcpy(h->actor_name, "bad name");
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_FIELD);
  strcpy(h->actor_name, "ok");
  h->role = (wire_role_t)7;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_FIELD);
  h->role = WIRE_ROLE_EVALUATOR;
  lo[1] = 1;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_FIELD);
  lo[1] = NAN;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_NONFINITE);
  lo[1] = -1;
  h->obs_dim = 0;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_DIMS);

  /* a Hello whose bounds hold fewer floats than act_dim */
  Td3d__Hello m = TD3D__HELLO__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.actor_name = "a";
  m.env_id = "Pendulum-v1";
  m.role = TD3D__ROLE__ROLE_ACTOR;
  m.obs_dim = 3;
  m.act_dim = 2;
  m.envs = 1;
  m.action_low = (ProtobufCBinaryData){4, (uint8_t *)lo};
  m.action_high = (ProtobufCBinaryData){8, (uint8_t *)hi};
  m.end_mark = WIRE_END_MARK;
  Td3d__Control env = TD3D__CONTROL__INIT;
  env.body_case = TD3D__CONTROL__BODY_HELLO;
  env.hello = &m;
  uint8_t raw[512];
  size_t len = td3d__control__pack(&env, raw);
  assert_int_equal(wire_control_decode(raw, len, NULL, &d), WIRE_LENGTH);
  m.protocol_version = 2; /* the protocol before 128-bit leases */
  len = td3d__control__pack(&env, raw);
  assert_int_equal(wire_control_decode(raw, len, NULL, &d), WIRE_VERSION);
  /* an envelope with no body */
  Td3d__Control empty = TD3D__CONTROL__INIT;
  empty.body_case = TD3D__CONTROL__BODY__NOT_SET;
  len = td3d__control__pack(&empty, raw);
  raw[len] = 0;
  /* an empty envelope packs to zero bytes; give it an unknown field so it is not empty */
  raw[0] = 0x38; /* field 7, varint */
  raw[1] = 0x01;
  assert_int_equal(wire_control_decode(raw, 2, NULL, &d), WIRE_TYPE);
}

/* The evaluator token of a Hello: absent, it is not encoded at all (the frame is the one a
 * peer without the field sends); present, it round-trips byte for byte up to WIRE_MAX_TOKEN
 * (every truncation refused); longer is refused by the encoder and, in a frame made by hand,
 * by the decoder. */
static void hello_eval_token(void **state) {
  fixture_t *f = *state;
  float lo[ACT] = {-2, -1}, hi[ACT] = {2, 1};
  wire_control_t c = {.type = WIRE_MSG_HELLO};
  wire_hello_t *h = &c.u.hello;
  *h = (wire_hello_t){.role = WIRE_ROLE_EVALUATOR, .obs_dim = OBS, .act_dim = ACT,
                      .action_low = lo, .action_high = hi, .envs = 1};
  strcpy(h->actor_name, "host-a/eval");
  strcpy(h->env_id, "Pendulum-v1");
  wire_control_t d;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_null(d.u.hello.eval_token);
  assert_int_equal(d.u.hello.eval_token_len, 0);
  wire_control_release(&d);
  size_t plain = f->buf.len;

  uint8_t token[WIRE_MAX_TOKEN + 1];
  for (size_t i = 0; i < sizeof token; i++) token[i] = (uint8_t)(i * 7 + 1);
  h->eval_token = token;
  h->eval_token_len = 16;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_int_equal(f->buf.len, plain + 2 + 16); /* one tag byte, one length byte, the token */
  assert_int_equal(d.u.hello.eval_token_len, 16);
  assert_memory_equal(d.u.hello.eval_token, token, 16);
  wire_control_release(&d);
  h->eval_token_len = WIRE_MAX_TOKEN;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_int_equal(d.u.hello.eval_token_len, WIRE_MAX_TOKEN);
  assert_memory_equal(d.u.hello.eval_token, token, WIRE_MAX_TOKEN);
  wire_control_release(&d);
  h->eval_token_len = WIRE_MAX_TOKEN + 1;
  assert_int_equal(wire_control_encode(&c, &f->buf), TD3_EINVAL);
  h->eval_token = NULL;
  h->eval_token_len = 4;
  assert_int_equal(wire_control_encode(&c, &f->buf), TD3_EINVAL);

  Td3d__Hello m = TD3D__HELLO__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.actor_name = "a";
  m.env_id = "Pendulum-v1";
  m.role = TD3D__ROLE__ROLE_EVALUATOR;
  m.obs_dim = OBS;
  m.act_dim = ACT;
  m.envs = 1;
  m.action_low = (ProtobufCBinaryData){sizeof lo, (uint8_t *)lo};
  m.action_high = (ProtobufCBinaryData){sizeof hi, (uint8_t *)hi};
  m.eval_token = (ProtobufCBinaryData){WIRE_MAX_TOKEN + 1, token};
  m.end_mark = WIRE_END_MARK;
  Td3d__Control env = TD3D__CONTROL__INIT;
  env.body_case = TD3D__CONTROL__BODY_HELLO;
  env.hello = &m;
  uint8_t raw[1024];
  assert_true(td3d__control__get_packed_size(&env) <= sizeof raw);
  size_t len = td3d__control__pack(&env, raw);
  assert_int_equal(wire_control_decode(raw, len, NULL, &d), WIRE_FIELD);
  assert_null(d.owner_);
}

static void welcome_reject_round_trip(void **state) {
  fixture_t *f = *state;
  wire_control_t c = {.type = WIRE_MSG_WELCOME};
  wire_welcome_t *w = &c.u.welcome;
  w->run_id = 99;
  w->slot = 2;
  w->noise = WIRE_NOISE_OU;
  w->noise_sigma = 0.5f;
  w->ou_theta = 0.15f;
  w->ou_dt = 0.01f;
  w->seed = 1234567;
  w->weights_version = 8;
  w->n_layers = 4;
  w->layers[0] = OBS;
  w->layers[1] = 256;
  w->layers[2] = 256;
  w->layers[3] = ACT;
  w->start_steps = 1000;
  w->eval_every = 5000;
  w->eval_episodes = 10;
  w->batch_steps = 64;
  w->replay_ratio = 0.5f;
  w->max_lead = 1000;
  wire_control_t d;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_int_equal(d.type, WIRE_MSG_WELCOME);
  assert_int_equal(d.u.welcome.slot, 2);
  assert_int_equal(d.u.welcome.noise, WIRE_NOISE_OU);
  assert_true(d.u.welcome.ou_theta == 0.15f);
  assert_int_equal(d.u.welcome.seed, 1234567);
  assert_int_equal(d.u.welcome.n_layers, 4);
  assert_int_equal(d.u.welcome.layers[2], 256);
  assert_int_equal(d.u.welcome.start_steps, 1000);
  assert_int_equal(d.u.welcome.batch_steps, 64);
  assert_true(d.u.welcome.replay_ratio == 0.5f);
  assert_int_equal(d.u.welcome.max_lead, 1000);
  wire_control_release(&d);
  w->noise_sigma = -1.0f;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_FIELD);
  w->noise_sigma = INFINITY;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_NONFINITE);
  w->noise_sigma = 0.1f;
  w->replay_ratio = -1.0f;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_FIELD);
  w->replay_ratio = NAN;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_NONFINITE);
  w->replay_ratio = 1.0f;
  w->batch_steps = 0;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_COUNT);
  w->batch_steps = 1;
  w->run_id = 0;
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_RUN_ID);

  wire_control_t rj = {.type = WIRE_MSG_REJECT};
  rj.u.reject.reason = WIRE_REJECT_SHAPE;
  strcpy(rj.u.reject.detail, "obs_dim 4, run has 3");
  assert_int_equal(control_round(&rj, &f->buf, NULL, &d), WIRE_OK);
  assert_int_equal(d.u.reject.reason, WIRE_REJECT_SHAPE);
  assert_string_equal(d.u.reject.detail, "obs_dim 4, run has 3");
  wire_control_release(&d);
  rj.u.reject.reason = (wire_reject_reason_t)0;
  assert_int_equal(control_round(&rj, &f->buf, NULL, &d), WIRE_FIELD);
}

static void run_over_round_trip(void **state) {
  fixture_t *f = *state;
  wire_control_t c = {.type = WIRE_MSG_RUN_OVER}, d;
  c.u.run_over.run_id = 0xabcdef;
  strcpy(c.u.run_over.reason, "step budget spent");
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_int_equal(d.type, WIRE_MSG_RUN_OVER);
  assert_int_equal(d.u.run_over.run_id, 0xabcdef);
  assert_string_equal(d.u.run_over.reason, "step budget spent");
  wire_control_release(&d);
  /* another run's RunOver is refused where the run id is known */
  wire_limits_t lim = {.run_id = 7};
  assert_int_equal(control_round(&c, &f->buf, &lim, &d), WIRE_RUN_ID);
  /* the reason is for a log line: control characters do not pass */
  strcpy(c.u.run_over.reason, "a\nb\x1b[2J");
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_string_equal(d.u.run_over.reason, "a?b?[2J");
  wire_control_release(&d);
}

static void heartbeat_eval_round_trip(void **state) {
  fixture_t *f = *state;
  wire_control_t c = {.type = WIRE_MSG_HEARTBEAT};
  c.u.heartbeat = (wire_heartbeat_t){.run_id = 99, .slot = 1, .env_steps = 12345,
                                     .policy_version = 6, .blocked_us = 777, .dropped = 3,
                                     .accepted = 4242};
  wire_control_t d;
  assert_int_equal(control_round(&c, &f->buf, &run_limits, &d), WIRE_OK);
  assert_int_equal(d.u.heartbeat.env_steps, 12345);
  assert_int_equal(d.u.heartbeat.blocked_us, 777);
  assert_int_equal(d.u.heartbeat.dropped, 3);
  assert_int_equal(d.u.heartbeat.accepted, 4242);
  wire_control_release(&d);
  c.u.heartbeat.run_id = 5;
  assert_int_equal(control_round(&c, &f->buf, &run_limits, &d), WIRE_RUN_ID);

  float returns[3] = {-150.0f, -120.5f, -300.0f};
  wire_control_t e = {.type = WIRE_MSG_EVAL_REPORT};
  e.u.eval_report = (wire_eval_report_t){.run_id = 99, .slot = 0, .policy_version = 9,
                                         .env_steps = 5000, .n_returns = 3, .returns = returns};
  assert_int_equal(control_round(&e, &f->buf, &run_limits, &d), WIRE_OK);
  assert_int_equal(d.type, WIRE_MSG_EVAL_REPORT);
  assert_int_equal(d.u.eval_report.n_returns, 3);
  assert_memory_equal(d.u.eval_report.returns, returns, sizeof returns);
  wire_control_release(&d);
  e.u.eval_report.n_returns = 0;
  assert_int_equal(control_round(&e, &f->buf, &run_limits, &d), WIRE_COUNT);
  e.u.eval_report.n_returns = 3;
  returns[1] = NAN;
  assert_int_equal(control_round(&e, &f->buf, &run_limits, &d), WIRE_NONFINITE);
}

/* Both words of the lease survive every message that carries one (batch, Hello, Welcome,
 * Heartbeat, EvalReport), each in its own protobuf field; the helpers tell leases apart by
 * either word and take only all-zero for none. */
static void leases_round_trip(void **state) {
  fixture_t *f = *state;
  const wire_lease_t lease = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  assert_true(wire_lease_equal(lease, lease));
  assert_false(wire_lease_equal(lease, (wire_lease_t){lease.lo, 0}));
  assert_false(wire_lease_equal(lease, (wire_lease_t){lease.lo, lease.hi ^ 1}));
  assert_false(wire_lease_equal(lease, (wire_lease_t){lease.lo ^ 1, lease.hi}));
  assert_true(wire_lease_is_none((wire_lease_t){0, 0}));
  assert_false(wire_lease_is_none((wire_lease_t){0, 1}));
  assert_false(wire_lease_is_none((wire_lease_t){1, 0}));

  f->batch.lease = lease;
  assert_int_equal(wire_batch_encode(&f->batch, &f->buf), 0);
  Td3d__ExperienceBatch *raw = td3d__experience_batch__unpack(NULL, f->buf.len, f->buf.data);
  assert_non_null(raw);
  assert_true(raw->lease == lease.lo && raw->lease_hi == lease.hi); /* fields lease, lease_hi */
  td3d__experience_batch__free_unpacked(raw, NULL);
  wire_batch_t b;
  assert_int_equal(wire_batch_decode(f->buf.data, f->buf.len, &run_limits, &b), WIRE_OK);
  assert_true(b.lease.lo == lease.lo && b.lease.hi == lease.hi);
  wire_batch_release(&b);

  float lo[ACT] = {-2, -1}, hi[ACT] = {2, 1};
  wire_control_t c = {.type = WIRE_MSG_HELLO}, d;
  wire_hello_t *h = &c.u.hello;
  *h = (wire_hello_t){.role = WIRE_ROLE_ACTOR, .obs_dim = OBS, .act_dim = ACT, .action_low = lo,
                      .action_high = hi, .envs = 1, .lease = lease};
  strcpy(h->actor_name, "host-a/0");
  strcpy(h->env_id, "Pendulum-v1");
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_true(d.u.hello.lease.lo == lease.lo && d.u.hello.lease.hi == lease.hi);
  wire_control_release(&d);

  c = (wire_control_t){.type = WIRE_MSG_WELCOME};
  c.u.welcome = (wire_welcome_t){.run_id = 99, .slot = 2, .noise = WIRE_NOISE_GAUSSIAN,
                                 .n_layers = 3, .layers = {OBS, 16, ACT}, .batch_steps = 8,
                                 .lease = lease};
  assert_int_equal(control_round(&c, &f->buf, NULL, &d), WIRE_OK);
  assert_true(d.u.welcome.lease.lo == lease.lo && d.u.welcome.lease.hi == lease.hi);
  wire_control_release(&d);

  c = (wire_control_t){.type = WIRE_MSG_HEARTBEAT};
  c.u.heartbeat = (wire_heartbeat_t){.run_id = 99, .slot = 1, .lease = lease};
  assert_int_equal(control_round(&c, &f->buf, &run_limits, &d), WIRE_OK);
  assert_true(d.u.heartbeat.lease.lo == lease.lo && d.u.heartbeat.lease.hi == lease.hi);
  wire_control_release(&d);
  c.u.heartbeat.lease = (wire_lease_t){0, 0}; /* the learner's answer carries none */
  assert_int_equal(control_round(&c, &f->buf, &run_limits, &d), WIRE_OK);
  assert_true(wire_lease_is_none(d.u.heartbeat.lease));
  wire_control_release(&d);

  float returns[2] = {-150.0f, -120.5f};
  c = (wire_control_t){.type = WIRE_MSG_EVAL_REPORT};
  c.u.eval_report = (wire_eval_report_t){.run_id = 99, .slot = 0, .n_returns = 2,
                                         .returns = returns, .lease = lease};
  assert_int_equal(control_round(&c, &f->buf, &run_limits, &d), WIRE_OK);
  assert_true(d.u.eval_report.lease.lo == lease.lo && d.u.eval_report.lease.hi == lease.hi);
  wire_control_release(&d);
}

static void cross_type_frames_refused(void **state) {
  /* A valid frame of one message type is refused by the decoders of the others. */
  fixture_t *f = *state;
  assert_int_equal(wire_batch_encode(&f->batch, &f->buf), 0);
  wire_weights_t w;
  wire_control_t c;
  assert_int_not_equal(wire_weights_decode(f->buf.data, f->buf.len, NULL, &w), WIRE_OK);
  assert_int_not_equal(wire_control_decode(f->buf.data, f->buf.len, NULL, &c), WIRE_OK);
}

static void reason_names(void **state) {
  (void)state;
  assert_string_equal(wire_reason_name(WIRE_TRUNCATED), "truncated");
  assert_string_equal(wire_reason_name(WIRE_NONFINITE), "nonfinite");
  assert_string_equal(wire_reason_name((wire_reason_t)999), "unknown");
  for (int r = 0; r < WIRE_REASON_COUNT; r++)
    assert_string_not_equal(wire_reason_name((wire_reason_t)r), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(batch_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_every_truncation_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_bad_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_nonfinite, setup, teardown),
      cmocka_unit_test_setup_teardown(oversize_and_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(random_garbage_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(weights_round_trip_and_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(hello_round_trip_and_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(hello_eval_token, setup, teardown),
      cmocka_unit_test_setup_teardown(welcome_reject_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(heartbeat_eval_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(leases_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(run_over_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(cross_type_frames_refused, setup, teardown),
      cmocka_unit_test(reason_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
