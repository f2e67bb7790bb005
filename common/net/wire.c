/* Wire protocol encode/decode/validate (see wire.h): the shared encoding and validation
 * helpers (wire_internal.h), the experience batch and the weights. The control envelope's
 * messages are in wire_control.c.
 *
 * Encoding fills protobuf-c structs that point at the caller's arrays (no copy) and packs
 * them into a wire_buf_t. Decoding unpacks with protobuf-c's default allocator and then
 * validates every field before exposing it; the unpacked message is kept in owner_ so the
 * float arrays are borrowed, not copied again. protobuf-c allocates each bytes field on its
 * own (malloc alignment), which the decoders verify before handing out float pointers. */
#include "wire.h"
#include "wire_internal.h"

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
/* Encoding helpers (contracts in wire_internal.h)                                          */

ProtobufCBinaryData wire_floats_bin(const float *p, size_t count) {
  ProtobufCBinaryData d;
  d.len = count * sizeof(float);
  d.data = (uint8_t *)(uintptr_t)p; /* packing only reads */
  return d;
}

int wire_pack(const ProtobufCMessage *m, wire_buf_t *out) {
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
  m.lease = b->lease.lo;
  m.lease_hi = b->lease.hi;
  m.n = t->n;
  m.obs_dim = t->obs_dim;
  m.act_dim = t->act_dim;
  m.obs = wire_floats_bin(t->obs, obs_n);
  m.action = wire_floats_bin(t->action, act_n);
  m.reward = wire_floats_bin(t->reward, t->n);
  m.next_obs = wire_floats_bin(t->next_obs, obs_n);
  m.terminal = wire_floats_bin(t->terminal, t->n);
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
  return wire_pack(&m.base, out);
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
  m.params = wire_floats_bin(w->params, w->n_params);
  m.env_steps = w->env_steps;
  m.updates = w->updates;
  m.end_mark = WIRE_END_MARK;
  return wire_pack(&m.base, out);
}

/* ---------------------------------------------------------------------------------------- */
/* Validation helpers (contracts in wire_internal.h)                                        */

void wire_limits_fill(const wire_limits_t *in, wire_limits_t *out) {
  if (in) *out = *in;
  else memset(out, 0, sizeof *out);
  if (out->max_frame == 0) out->max_frame = WIRE_DEFAULT_MAX_FRAME;
  if (out->max_batch == 0) out->max_batch = WIRE_DEFAULT_MAX_BATCH;
}

wire_reason_t wire_frame_check(size_t len, const wire_limits_t *lim) {
  if (len == 0) return WIRE_EMPTY;
  if (len > lim->max_frame) return WIRE_OVERSIZE;
  return WIRE_OK;
}

wire_reason_t wire_header_check(uint32_t version, uint32_t end_mark) {
  if (version != WIRE_PROTOCOL_VERSION) return WIRE_VERSION;
  if (end_mark != WIRE_END_MARK) return WIRE_TRUNCATED;
  return WIRE_OK;
}

bool wire_all_finite(const float *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(p[i])) return false;
  return true;
}

wire_reason_t wire_float_array(const ProtobufCBinaryData *d, size_t count, const float **out) {
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

wire_reason_t wire_name_copy(const char *s, char *dst, size_t max_len) {
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

wire_reason_t wire_layers_copy(const uint32_t *src, size_t n, uint32_t *dst, uint32_t *n_out) {
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

/* wire_float_array for a transition column: the unpacked message's bytes are the batch's own
 * (protobuf-c allocated them writable), exposed without a copy. */
static wire_reason_t batch_column(const ProtobufCBinaryData *d, size_t count, float **out) {
  const float *checked;
  wire_reason_t r = wire_float_array(d, count, &checked);
  *out = r == WIRE_OK && count ? (float *)(void *)d->data : NULL;
  return r;
}

static wire_reason_t batch_validate(const Td3d__ExperienceBatch *m, const wire_limits_t *lim,
                                    wire_batch_t *out) {
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
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
  if (!wire_all_finite(t->obs, obs_n) || !wire_all_finite(t->action, act_n) ||
      !wire_all_finite(t->reward, n) || !wire_all_finite(t->next_obs, obs_n))
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
  out->lease = (wire_lease_t){m->lease, m->lease_hi};
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
  wire_limits_fill(limits, &lim);
  memset(out, 0, sizeof *out);
  wire_reason_t r = wire_frame_check(len, &lim);
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
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  if ((r = wire_layers_copy(m->layers, m->n_layers, out->layers, &out->n_layers))) return r;
  if ((lim->obs_dim && out->layers[0] != lim->obs_dim) ||
      (lim->act_dim && out->layers[out->n_layers - 1] != lim->act_dim))
    return WIRE_DIMS;
  size_t count = wire_param_count(out->layers, out->n_layers);
  if (count * sizeof(float) > lim->max_frame) return WIRE_OVERSIZE;
  if ((r = wire_float_array(&m->params, count, &out->params))) return r;
  if (!wire_all_finite(out->params, count)) return WIRE_NONFINITE;
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
  wire_limits_fill(limits, &lim);
  memset(out, 0, sizeof *out);
  wire_reason_t r = wire_frame_check(len, &lim);
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
