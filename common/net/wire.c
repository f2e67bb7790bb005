/* Wire protocol encode/decode/validate (see wire.h).
 *
 * Encoding fills protobuf-c structs that point at the caller's arrays (no copy) and packs
 * them into a wire_buf_t. Decoding unpacks with protobuf-c's default allocator and then
 * validates every field before exposing it; the unpacked message is kept in owner_ so the
 * float arrays are borrowed, not copied again. protobuf-c allocates each bytes field on its
 * own (malloc alignment), which the decoders verify before handing out float pointers. */
#include "wire.h"

#include "error.h"
#include "xalloc.h"

#include "td3d.pb-c.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[WIRE_REASON_COUNT] = {
    [WIRE_OK] = "ok",
    [WIRE_EMPTY] = "empty",
    [WIRE_OVERSIZE] = "oversize",
    [WIRE_DECODE] = "decode",
    [WIRE_VERSION] = "version",
    [WIRE_TRUNCATED] = "truncated",
    [WIRE_RUN_ID] = "run_id",
    [WIRE_DIMS] = "dims",
    [WIRE_COUNT] = "count",
    [WIRE_LENGTH] = "length",
    [WIRE_NONFINITE] = "nonfinite",
    [WIRE_FIELD] = "field",
    [WIRE_TYPE] = "type",
};

const char *wire_reason_name(wire_reason_t r) {
  if ((unsigned)r >= WIRE_REASON_COUNT) return "unknown";
  return reason_names[r];
}

void wire_buf_free(wire_buf_t *b) {
  if (!b) return;
  free(b->data);
  free(b->scratch);
  b->data = NULL;
  b->scratch = NULL;
  b->len = b->cap = b->scratch_cap = 0;
}

size_t wire_param_count(const uint32_t *layers, uint32_t n_layers) {
  if (n_layers < 2 || n_layers > WIRE_MAX_LAYERS) return 0;
  size_t total = 0;
  for (uint32_t i = 0; i < n_layers; i++)
    if (layers[i] == 0 || layers[i] > WIRE_MAX_DIM) return 0;
  /* Bounded by 7 x 4097 x 4096 floats: no overflow in size_t. */
  for (uint32_t i = 0; i + 1 < n_layers; i++)
    total += ((size_t)layers[i] + 1) * layers[i + 1];
  return total;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding                                                                                 */

static ProtobufCBinaryData floats_bin(const float *p, size_t count) {
  ProtobufCBinaryData d;
  d.len = count * sizeof(float);
  d.data = (uint8_t *)(uintptr_t)p; /* packing only reads */
  return d;
}

static int pack_into(const ProtobufCMessage *m, wire_buf_t *out) {
  size_t need = protobuf_c_message_get_packed_size(m);
  if (need > out->cap) {
    out->data = xrealloc(out->data, need);
    out->cap = need;
  }
  out->len = protobuf_c_message_pack(m, out->data);
  return 0;
}

int wire_batch_encode(const wire_batch_t *b, wire_buf_t *out) {
  size_t obs_n, act_n;
  if (!b || !out) return TD3_EINVAL;
  const transition_batch_t *t = &b->rows;
  if (t->n == 0 || t->obs_dim == 0 || t->act_dim == 0) return TD3_EINVAL;
  if (!td3_size_mul(t->n, t->obs_dim, &obs_n) || !td3_size_mul(t->n, t->act_dim, &act_n))
    return TD3_EINVAL;
  if (!t->obs || !t->action || !t->reward || !t->next_obs || !t->terminal) return TD3_EINVAL;
  if (b->n_episodes && !b->episodes) return TD3_EINVAL;

  Td3d__ExperienceBatch m = TD3D__EXPERIENCE_BATCH__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.run_id = b->run_id;
  m.slot = b->slot;
  m.seq = b->seq;
  m.policy_version = b->policy_version;
  m.lease = b->lease;
  m.n = t->n;
  m.obs_dim = t->obs_dim;
  m.act_dim = t->act_dim;
  m.obs = floats_bin(t->obs, obs_n);
  m.action = floats_bin(t->action, act_n);
  m.reward = floats_bin(t->reward, t->n);
  m.next_obs = floats_bin(t->next_obs, obs_n);
  m.terminal = floats_bin(t->terminal, t->n);
  m.end_mark = WIRE_END_MARK;

  Td3d__EpisodeEnd *eps = NULL, **ep_ptrs = NULL;
  if (b->n_episodes) {
    /* the records, then pointers to them, in out's scratch (kept for the next batch) */
    size_t need;
    if (!td3_size_mul(b->n_episodes, sizeof *eps + sizeof *ep_ptrs, &need)) return TD3_EINVAL;
    if (need > out->scratch_cap) {
      out->scratch = xrealloc(out->scratch, need);
      out->scratch_cap = need;
    }
    eps = out->scratch;
    ep_ptrs = (Td3d__EpisodeEnd **)(void *)(eps + b->n_episodes);
    for (uint32_t i = 0; i < b->n_episodes; i++) {
      td3d__episode_end__init(&eps[i]);
      eps[i].episode_return = b->episodes[i].episode_return;
      eps[i].length = b->episodes[i].length;
      ep_ptrs[i] = &eps[i];
    }
  }
  m.n_episodes = b->n_episodes;
  m.episodes = ep_ptrs;
  return pack_into(&m.base, out);
}

int wire_weights_encode(const wire_weights_t *w, wire_buf_t *out) {
  if (!w || !out) return TD3_EINVAL;
  size_t count = wire_param_count(w->layers, w->n_layers);
  if (count == 0 || count != w->n_params || !w->params) return TD3_EINVAL;
  Td3d__Weights m = TD3D__WEIGHTS__INIT;
  m.protocol_version = WIRE_PROTOCOL_VERSION;
  m.run_id = w->run_id;
  m.version = w->version;
  m.n_layers = w->n_layers;
  m.layers = (uint32_t *)(uintptr_t)w->layers;
  m.params = floats_bin(w->params, w->n_params);
  m.env_steps = w->env_steps;
  m.updates = w->updates;
  m.end_mark = WIRE_END_MARK;
  return pack_into(&m.base, out);
}

int wire_control_encode(const wire_control_t *c, wire_buf_t *out) {
  if (!c || !out) return TD3_EINVAL;
  Td3d__Control env = TD3D__CONTROL__INIT;
  Td3d__Hello hello = TD3D__HELLO__INIT;
  Td3d__Welcome welcome = TD3D__WELCOME__INIT;
  Td3d__Reject reject = TD3D__REJECT__INIT;
  Td3d__Heartbeat hb = TD3D__HEARTBEAT__INIT;
  Td3d__EvalReport ev = TD3D__EVAL_REPORT__INIT;
  Td3d__RunOver over = TD3D__RUN_OVER__INIT;

  switch (c->type) {
  case WIRE_MSG_HELLO: {
    const wire_hello_t *h = &c->u.hello;
    if (h->act_dim == 0 || h->act_dim > WIRE_MAX_DIM || !h->action_low || !h->action_high)
      return TD3_EINVAL;
    hello.protocol_version = WIRE_PROTOCOL_VERSION;
    hello.actor_name = (char *)(uintptr_t)h->actor_name;
    hello.role = (Td3d__Role)h->role;
    hello.env_id = (char *)(uintptr_t)h->env_id;
    hello.obs_dim = h->obs_dim;
    hello.act_dim = h->act_dim;
    hello.action_low = floats_bin(h->action_low, h->act_dim);
    hello.action_high = floats_bin(h->action_high, h->act_dim);
    hello.envs = h->envs;
    hello.lease = h->lease;
    hello.end_mark = WIRE_END_MARK;
    env.body_case = TD3D__CONTROL__BODY_HELLO;
    env.hello = &hello;
    break;
  }
  case WIRE_MSG_WELCOME: {
    const wire_welcome_t *w = &c->u.welcome;
    if (w->n_layers > WIRE_MAX_LAYERS) return TD3_EINVAL;
    welcome.protocol_version = WIRE_PROTOCOL_VERSION;
    welcome.run_id = w->run_id;
    welcome.slot = w->slot;
    welcome.noise = (Td3d__NoiseKind)w->noise;
    welcome.noise_sigma = w->noise_sigma;
    welcome.ou_theta = w->ou_theta;
    welcome.ou_dt = w->ou_dt;
    welcome.seed = w->seed;
    welcome.weights_version = w->weights_version;
    welcome.n_actor_layers = w->n_layers;
    welcome.actor_layers = (uint32_t *)(uintptr_t)w->layers;
    welcome.start_steps = w->start_steps;
    welcome.eval_every = w->eval_every;
    welcome.eval_episodes = w->eval_episodes;
    welcome.batch_steps = w->batch_steps;
    welcome.replay_ratio = w->replay_ratio;
    welcome.max_lead = w->max_lead;
    welcome.lease = w->lease;
    welcome.end_mark = WIRE_END_MARK;
    env.body_case = TD3D__CONTROL__BODY_WELCOME;
    env.welcome = &welcome;
    break;
  }
  case WIRE_MSG_REJECT:
    reject.protocol_version = WIRE_PROTOCOL_VERSION;
    reject.reason = (Td3d__RejectReason)c->u.reject.reason;
    reject.detail = (char *)(uintptr_t)c->u.reject.detail;
    reject.retry_after_ms = c->u.reject.retry_after_ms;
    reject.end_mark = WIRE_END_MARK;
    env.body_case = TD3D__CONTROL__BODY_REJECT;
    env.reject = &reject;
    break;
  case WIRE_MSG_HEARTBEAT: {
    const wire_heartbeat_t *h = &c->u.heartbeat;
    hb.protocol_version = WIRE_PROTOCOL_VERSION;
    hb.run_id = h->run_id;
    hb.slot = h->slot;
    hb.env_steps = h->env_steps;
    hb.policy_version = h->policy_version;
    hb.blocked_us = h->blocked_us;
    hb.dropped = h->dropped;
    hb.accepted = h->accepted;
    hb.end_mark = WIRE_END_MARK;
    env.body_case = TD3D__CONTROL__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    break;
  }
  case WIRE_MSG_EVAL_REPORT: {
    const wire_eval_report_t *e = &c->u.eval_report;
    if (e->n_returns && !e->returns) return TD3_EINVAL;
    ev.protocol_version = WIRE_PROTOCOL_VERSION;
    ev.run_id = e->run_id;
    ev.slot = e->slot;
    ev.policy_version = e->policy_version;
    ev.env_steps = e->env_steps;
    ev.n_returns = e->n_returns;
    ev.returns = (float *)(uintptr_t)e->returns;
    ev.end_mark = WIRE_END_MARK;
    env.body_case = TD3D__CONTROL__BODY_EVAL_REPORT;
    env.eval_report = &ev;
    break;
  }
  case WIRE_MSG_RUN_OVER:
    over.protocol_version = WIRE_PROTOCOL_VERSION;
    over.run_id = c->u.run_over.run_id;
    over.reason = (char *)(uintptr_t)c->u.run_over.reason;
    over.end_mark = WIRE_END_MARK;
    env.body_case = TD3D__CONTROL__BODY_RUN_OVER;
    env.run_over = &over;
    break;
  default:
    return TD3_EINVAL;
  }
  return pack_into(&env.base, out);
}

/* ---------------------------------------------------------------------------------------- */
/* Validation helpers                                                                       */

static void limits_or_default(const wire_limits_t *in, wire_limits_t *out) {
  if (in) *out = *in;
  else memset(out, 0, sizeof *out);
  if (out->max_frame == 0) out->max_frame = WIRE_DEFAULT_MAX_FRAME;
  if (out->max_batch == 0) out->max_batch = WIRE_DEFAULT_MAX_BATCH;
}

static wire_reason_t frame_check(size_t len, const wire_limits_t *lim) {
  if (len == 0) return WIRE_EMPTY;
  if (len > lim->max_frame) return WIRE_OVERSIZE;
  return WIRE_OK;
}

static wire_reason_t header_check(uint32_t version, uint32_t end_mark) {
  if (version != WIRE_PROTOCOL_VERSION) return WIRE_VERSION;
  if (end_mark != WIRE_END_MARK) return WIRE_TRUNCATED;
  return WIRE_OK;
}

static bool all_finite(const float *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(p[i])) return false;
  return true;
}

/* Checks that a bytes field holds exactly count float32 values and is aligned for float
 * access; returns WIRE_OK and sets *out, or WIRE_LENGTH. */
static wire_reason_t float_array(const ProtobufCBinaryData *d, size_t count,
                                 const float **out) {
  size_t bytes;
  if (!td3_size_mul(count, sizeof(float), &bytes) || d->len != bytes) return WIRE_LENGTH;
  if (count == 0) {
    *out = NULL;
    return WIRE_OK;
  }
  if (!d->data || ((uintptr_t)d->data % _Alignof(float)) != 0) return WIRE_DECODE;
  *out = (const float *)(const void *)d->data;
  return WIRE_OK;
}

/* Copies a protobuf string into a fixed buffer; refuses empty, overlong or non-printable
 * names (they end up in logs and metric labels). */
static wire_reason_t name_copy(const char *s, char *dst, size_t max_len) {
  if (!s) return WIRE_FIELD;
  size_t n = strlen(s);
  if (n == 0 || n > max_len) return WIRE_FIELD;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x21 || ch > 0x7e) return WIRE_FIELD;
  }
  memcpy(dst, s, n + 1);
  return WIRE_OK;
}

static wire_reason_t layers_copy(const uint32_t *src, size_t n, uint32_t *dst, uint32_t *n_out) {
  if (n < 2 || n > WIRE_MAX_LAYERS) return WIRE_DIMS;
  for (size_t i = 0; i < n; i++) {
    if (src[i] == 0 || src[i] > WIRE_MAX_DIM) return WIRE_DIMS;
    dst[i] = src[i];
  }
  *n_out = (uint32_t)n;
  return WIRE_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* ExperienceBatch                                                                          */

/* float_array for a transition column: the unpacked message's bytes are the batch's own
 * (protobuf-c allocated them writable), exposed without a copy. */
static wire_reason_t batch_column(const ProtobufCBinaryData *d, size_t count, float **out) {
  const float *checked;
  wire_reason_t r = float_array(d, count, &checked);
  *out = r == WIRE_OK && count ? (float *)(void *)d->data : NULL;
  return r;
}

static wire_reason_t batch_validate(const Td3d__ExperienceBatch *m, const wire_limits_t *lim,
                                    wire_batch_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  if (m->slot >= WIRE_MAX_SLOTS) return WIRE_FIELD;
  if (m->obs_dim == 0 || m->obs_dim > WIRE_MAX_DIM || m->act_dim == 0 ||
      m->act_dim > WIRE_MAX_DIM)
    return WIRE_DIMS;
  if ((lim->obs_dim && m->obs_dim != lim->obs_dim) ||
      (lim->act_dim && m->act_dim != lim->act_dim))
    return WIRE_DIMS;
  if (m->n == 0 || m->n > lim->max_batch) return WIRE_COUNT;
  if (m->n_episodes > m->n) return WIRE_COUNT;

  size_t n = m->n, obs_n = n * m->obs_dim, act_n = n * m->act_dim; /* bounded above */
  transition_batch_t *t = &out->rows;
  if ((r = batch_column(&m->obs, obs_n, &t->obs)) ||
      (r = batch_column(&m->action, act_n, &t->action)) ||
      (r = batch_column(&m->reward, n, &t->reward)) ||
      (r = batch_column(&m->next_obs, obs_n, &t->next_obs)) ||
      (r = batch_column(&m->terminal, n, &t->terminal)))
    return r;
  if (!all_finite(t->obs, obs_n) || !all_finite(t->action, act_n) ||
      !all_finite(t->reward, n) || !all_finite(t->next_obs, obs_n))
    return WIRE_NONFINITE;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(t->terminal[i])) return WIRE_NONFINITE;
    if (t->terminal[i] != 0.0f && t->terminal[i] != 1.0f) return WIRE_FIELD;
  }
  for (size_t i = 0; i < m->n_episodes; i++) {
    if (!isfinite(m->episodes[i]->episode_return)) return WIRE_NONFINITE;
    if (m->episodes[i]->length == 0) return WIRE_FIELD;
  }

  out->run_id = m->run_id;
  out->slot = m->slot;
  out->seq = m->seq;
  out->lease = m->lease;
  out->policy_version = m->policy_version;
  t->n = m->n;
  t->cap = 0; /* borrowed from the unpacked message (owner_) */
  t->obs_dim = m->obs_dim;
  t->act_dim = m->act_dim;
  return WIRE_OK;
}

wire_reason_t wire_batch_decode(const void *frame, size_t len, const wire_limits_t *limits,
                                wire_batch_t *out) {
  wire_limits_t lim;
  limits_or_default(limits, &lim);
  memset(out, 0, sizeof *out);
  wire_reason_t r = frame_check(len, &lim);
  if (r) return r;
  Td3d__ExperienceBatch *m = td3d__experience_batch__unpack(NULL, len, frame);
  if (!m) return WIRE_DECODE;
  r = batch_validate(m, &lim, out);
  if (r) {
    td3d__experience_batch__free_unpacked(m, NULL);
    memset(out, 0, sizeof *out);
    return r;
  }
  if (m->n_episodes) {
    wire_episode_t *eps = xcalloc(m->n_episodes, sizeof *eps);
    for (size_t i = 0; i < m->n_episodes; i++) {
      eps[i].episode_return = m->episodes[i]->episode_return;
      eps[i].length = m->episodes[i]->length;
    }
    out->episodes = eps;
    out->n_episodes = (uint32_t)m->n_episodes;
  }
  out->owner_ = m;
  return WIRE_OK;
}

void wire_batch_release(wire_batch_t *b) {
  if (!b) return;
  if (b->owner_) td3d__experience_batch__free_unpacked(b->owner_, NULL);
  free((void *)(uintptr_t)b->episodes);
  memset(b, 0, sizeof *b);
}

/* ---------------------------------------------------------------------------------------- */
/* Weights                                                                                  */

static wire_reason_t weights_validate(const Td3d__Weights *m, const wire_limits_t *lim,
                                      wire_weights_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  if ((r = layers_copy(m->layers, m->n_layers, out->layers, &out->n_layers))) return r;
  if ((lim->obs_dim && out->layers[0] != lim->obs_dim) ||
      (lim->act_dim && out->layers[out->n_layers - 1] != lim->act_dim))
    return WIRE_DIMS;
  size_t count = wire_param_count(out->layers, out->n_layers);
  if (count * sizeof(float) > lim->max_frame) return WIRE_OVERSIZE;
  if ((r = float_array(&m->params, count, &out->params))) return r;
  if (!all_finite(out->params, count)) return WIRE_NONFINITE;
  out->n_params = count;
  out->run_id = m->run_id;
  out->version = m->version;
  out->env_steps = m->env_steps;
  out->updates = m->updates;
  return WIRE_OK;
}

wire_reason_t wire_weights_decode(const void *frame, size_t len, const wire_limits_t *limits,
                                  wire_weights_t *out) {
  wire_limits_t lim;
  limits_or_default(limits, &lim);
  memset(out, 0, sizeof *out);
  wire_reason_t r = frame_check(len, &lim);
  if (r) return r;
  Td3d__Weights *m = td3d__weights__unpack(NULL, len, frame);
  if (!m) return WIRE_DECODE;
  r = weights_validate(m, &lim, out);
  if (r) {
    td3d__weights__free_unpacked(m, NULL);
    memset(out, 0, sizeof *out);
    return r;
  }
  out->owner_ = m;
  return WIRE_OK;
}

void wire_weights_release(wire_weights_t *w) {
  if (!w) return;
  if (w->owner_) td3d__weights__free_unpacked(w->owner_, NULL);
  memset(w, 0, sizeof *w);
}

/* ---------------------------------------------------------------------------------------- */
/* Control envelope                                                                         */

static wire_reason_t hello_validate(const Td3d__Hello *m, wire_hello_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if ((r = name_copy(m->actor_name, out->actor_name, WIRE_MAX_NAME))) return r;
  if ((r = name_copy(m->env_id, out->env_id, WIRE_MAX_NAME))) return r;
  if (m->role != TD3D__ROLE__ROLE_ACTOR && m->role != TD3D__ROLE__ROLE_EVALUATOR)
    return WIRE_FIELD;
  if (m->obs_dim == 0 || m->obs_dim > WIRE_MAX_DIM || m->act_dim == 0 ||
      m->act_dim > WIRE_MAX_DIM)
    return WIRE_DIMS;
  if (m->envs == 0 || m->envs > WIRE_MAX_ENVS) return WIRE_COUNT;
  if ((r = float_array(&m->action_low, m->act_dim, &out->action_low)) ||
      (r = float_array(&m->action_high, m->act_dim, &out->action_high)))
    return r;
  if (!all_finite(out->action_low, m->act_dim) || !all_finite(out->action_high, m->act_dim))
    return WIRE_NONFINITE;
  for (uint32_t i = 0; i < m->act_dim; i++)
    if (!(out->action_low[i] < out->action_high[i])) return WIRE_FIELD;
  out->role = (wire_role_t)m->role;
  out->obs_dim = m->obs_dim;
  out->act_dim = m->act_dim;
  out->envs = m->envs;
  out->lease = m->lease;
  return WIRE_OK;
}

static wire_reason_t welcome_validate(const Td3d__Welcome *m, wire_welcome_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (m->run_id == 0) return WIRE_RUN_ID;
  if (m->slot >= WIRE_MAX_SLOTS) return WIRE_FIELD;
  if (m->noise != TD3D__NOISE_KIND__NOISE_GAUSSIAN && m->noise != TD3D__NOISE_KIND__NOISE_OU)
    return WIRE_FIELD;
  if (!isfinite(m->noise_sigma) || !isfinite(m->ou_theta) || !isfinite(m->ou_dt) ||
      !isfinite(m->replay_ratio))
    return WIRE_NONFINITE;
  if (m->noise_sigma < 0.0f || m->ou_theta < 0.0f || m->ou_dt < 0.0f || m->replay_ratio < 0.0f)
    return WIRE_FIELD;
  if ((r = layers_copy(m->actor_layers, m->n_actor_layers, out->layers, &out->n_layers)))
    return r;
  if (m->eval_episodes > WIRE_MAX_EVAL_EPISODES) return WIRE_COUNT;
  if (m->batch_steps == 0 || m->batch_steps > WIRE_DEFAULT_MAX_BATCH) return WIRE_COUNT;
  out->run_id = m->run_id;
  out->slot = m->slot;
  out->noise = (wire_noise_t)m->noise;
  out->noise_sigma = m->noise_sigma;
  out->ou_theta = m->ou_theta;
  out->ou_dt = m->ou_dt;
  out->seed = m->seed;
  out->weights_version = m->weights_version;
  out->start_steps = m->start_steps;
  out->eval_every = m->eval_every;
  out->eval_episodes = m->eval_episodes;
  out->batch_steps = m->batch_steps;
  out->replay_ratio = m->replay_ratio;
  out->max_lead = m->max_lead;
  out->lease = m->lease;
  return WIRE_OK;
}

/* Copies s into out (WIRE_MAX_DETAIL + 1 bytes), cut to the limit, with anything but
 * printable ASCII replaced by '?'. */
static void printable_copy(char *out, const char *s) {
  size_t n = 0;
  for (s = s ? s : ""; *s && n < WIRE_MAX_DETAIL; s++, n++) {
    unsigned char ch = (unsigned char)*s;
    out[n] = (ch >= 0x20 && ch <= 0x7e) ? (char)ch : '?';
  }
  out[n] = '\0';
}

static wire_reason_t reject_validate(const Td3d__Reject *m, wire_reject_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (m->reason < TD3D__REJECT_REASON__REJECT_VERSION ||
      m->reason > TD3D__REJECT_REASON__REJECT_NAME_IN_USE)
    return WIRE_FIELD;
  out->reason = (wire_reject_reason_t)m->reason;
  /* The detail is informational: keep it, cut to the limit, with non-printables replaced. */
  printable_copy(out->detail, m->detail);
  out->retry_after_ms = m->retry_after_ms;
  return WIRE_OK;
}

static wire_reason_t run_over_validate(const Td3d__RunOver *m, const wire_limits_t *lim,
                                       wire_run_over_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  out->run_id = m->run_id;
  printable_copy(out->reason, m->reason);
  return WIRE_OK;
}

static wire_reason_t heartbeat_validate(const Td3d__Heartbeat *m, const wire_limits_t *lim,
                                        wire_heartbeat_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  if (m->slot >= WIRE_MAX_SLOTS) return WIRE_FIELD;
  out->run_id = m->run_id;
  out->slot = m->slot;
  out->env_steps = m->env_steps;
  out->policy_version = m->policy_version;
  out->blocked_us = m->blocked_us;
  out->dropped = m->dropped;
  out->accepted = m->accepted;
  return WIRE_OK;
}

static wire_reason_t eval_validate(const Td3d__EvalReport *m, const wire_limits_t *lim,
                                   wire_eval_report_t *out) {
  wire_reason_t r = header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  if (m->slot >= WIRE_MAX_SLOTS) return WIRE_FIELD;
  if (m->n_returns == 0 || m->n_returns > WIRE_MAX_EVAL_EPISODES) return WIRE_COUNT;
  if (!all_finite(m->returns, m->n_returns)) return WIRE_NONFINITE;
  out->run_id = m->run_id;
  out->slot = m->slot;
  out->policy_version = m->policy_version;
  out->env_steps = m->env_steps;
  out->n_returns = (uint32_t)m->n_returns;
  out->returns = m->returns;
  return WIRE_OK;
}

wire_reason_t wire_control_decode(const void *frame, size_t len, const wire_limits_t *limits,
                                  wire_control_t *out) {
  wire_limits_t lim;
  limits_or_default(limits, &lim);
  memset(out, 0, sizeof *out);
  wire_reason_t r = frame_check(len, &lim);
  if (r) return r;
  Td3d__Control *m = td3d__control__unpack(NULL, len, frame);
  if (!m) return WIRE_DECODE;
  switch (m->body_case) {
  case TD3D__CONTROL__BODY_HELLO:
    out->type = WIRE_MSG_HELLO;
    r = hello_validate(m->hello, &out->u.hello);
    break;
  case TD3D__CONTROL__BODY_WELCOME:
    out->type = WIRE_MSG_WELCOME;
    r = welcome_validate(m->welcome, &out->u.welcome);
    break;
  case TD3D__CONTROL__BODY_REJECT:
    out->type = WIRE_MSG_REJECT;
    r = reject_validate(m->reject, &out->u.reject);
    break;
  case TD3D__CONTROL__BODY_HEARTBEAT:
    out->type = WIRE_MSG_HEARTBEAT;
    r = heartbeat_validate(m->heartbeat, &lim, &out->u.heartbeat);
    break;
  case TD3D__CONTROL__BODY_EVAL_REPORT:
    out->type = WIRE_MSG_EVAL_REPORT;
    r = eval_validate(m->eval_report, &lim, &out->u.eval_report);
    break;
  case TD3D__CONTROL__BODY_RUN_OVER:
    out->type = WIRE_MSG_RUN_OVER;
    r = run_over_validate(m->run_over, &lim, &out->u.run_over);
    break;
  default:
    r = WIRE_TYPE;
    break;
  }
  if (r) {
    td3d__control__free_unpacked(m, NULL);
    memset(out, 0, sizeof *out);
    return r;
  }
  out->owner_ = m;
  return WIRE_OK;
}

void wire_control_release(wire_control_t *c) {
  if (!c) return;
  if (c->owner_) td3d__control__free_unpacked(c->owner_, NULL);
  memset(c, 0, sizeof *c);
}
