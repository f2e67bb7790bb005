/* The control envelope's messages (see wire.h): Hello, Welcome, Reject, Heartbeat,
 * EvalReport and RunOver, encoded from the caller's structs without copying their arrays, and
 * decoded with every field validated before it is exposed (the unpacked Control is kept in
 * owner_, so Hello's action bounds and EvalReport's returns are borrowed from it). The
 * shared helpers are wire.c's (wire_internal.h). */
#include "wire.h"
#include "wire_internal.h"

#include "error.h"

#include "td3d.pb-c.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Encoding: each *_fill points m at the caller's fields (borrowed until packed)            */

/* Fills a Hello from h; TD3_EINVAL when the action dims or bounds are missing, or the
 * evaluator token is longer than WIRE_MAX_TOKEN or counted but missing. */
static int hello_fill(Td3d__Hello *m, const wire_hello_t *h) {
  if (h->act_dim == 0 || h->act_dim > WIRE_MAX_DIM || !h->action_low || !h->action_high)
    return TD3_EINVAL;
  if (h->eval_token_len > WIRE_MAX_TOKEN || (h->eval_token_len && !h->eval_token))
    return TD3_EINVAL;
  m->protocol_version = WIRE_PROTOCOL_VERSION;
  m->actor_name = (char *)(uintptr_t)h->actor_name;
  m->role = (Td3d__Role)h->role;
  m->env_id = (char *)(uintptr_t)h->env_id;
  m->obs_dim = h->obs_dim;
  m->act_dim = h->act_dim;
  m->action_low = wire_floats_bin(h->action_low, h->act_dim);
  m->action_high = wire_floats_bin(h->action_high, h->act_dim);
  m->envs = h->envs;
  m->lease = h->lease.lo;
  m->lease_hi = h->lease.hi;
  /* empty: not encoded (proto3), so a Hello without a token is the frame it always was */
  m->eval_token.len = h->eval_token_len;
  m->eval_token.data = (uint8_t *)(uintptr_t)h->eval_token;
  m->end_mark = WIRE_END_MARK;
  return 0;
}

/* Fills a Welcome from w; TD3_EINVAL for more than WIRE_MAX_LAYERS actor layers. */
static int welcome_fill(Td3d__Welcome *m, const wire_welcome_t *w) {
  if (w->n_layers > WIRE_MAX_LAYERS) return TD3_EINVAL;
  m->protocol_version = WIRE_PROTOCOL_VERSION;
  m->run_id = w->run_id;
  m->slot = w->slot;
  m->noise = (Td3d__NoiseKind)w->noise;
  m->noise_sigma = w->noise_sigma;
  m->ou_theta = w->ou_theta;
  m->ou_dt = w->ou_dt;
  m->seed = w->seed;
  m->weights_version = w->weights_version;
  m->n_actor_layers = w->n_layers;
  m->actor_layers = (uint32_t *)(uintptr_t)w->layers;
  m->start_steps = w->start_steps;
  m->eval_every = w->eval_every;
  m->eval_episodes = w->eval_episodes;
  m->batch_steps = w->batch_steps;
  m->replay_ratio = w->replay_ratio;
  m->max_lead = w->max_lead;
  m->lease = w->lease.lo;
  m->lease_hi = w->lease.hi;
  m->end_mark = WIRE_END_MARK;
  return 0;
}

/* Fills a Reject from r. */
static void reject_fill(Td3d__Reject *m, const wire_reject_t *r) {
  m->protocol_version = WIRE_PROTOCOL_VERSION;
  m->reason = (Td3d__RejectReason)r->reason;
  m->detail = (char *)(uintptr_t)r->detail;
  m->retry_after_ms = r->retry_after_ms;
  m->end_mark = WIRE_END_MARK;
}

/* Fills a Heartbeat from h. */
static void heartbeat_fill(Td3d__Heartbeat *m, const wire_heartbeat_t *h) {
  m->protocol_version = WIRE_PROTOCOL_VERSION;
  m->run_id = h->run_id;
  m->slot = h->slot;
  m->env_steps = h->env_steps;
  m->policy_version = h->policy_version;
  m->blocked_us = h->blocked_us;
  m->dropped = h->dropped;
  m->accepted = h->accepted;
  m->lease = h->lease.lo;
  m->lease_hi = h->lease.hi;
  m->end_mark = WIRE_END_MARK;
}

/* Fills an EvalReport from e; TD3_EINVAL when returns are counted but missing. */
static int eval_fill(Td3d__EvalReport *m, const wire_eval_report_t *e) {
  if (e->n_returns && !e->returns) return TD3_EINVAL;
  m->protocol_version = WIRE_PROTOCOL_VERSION;
  m->run_id = e->run_id;
  m->slot = e->slot;
  m->policy_version = e->policy_version;
  m->env_steps = e->env_steps;
  m->n_returns = e->n_returns;
  m->returns = (float *)(uintptr_t)e->returns;
  m->lease = e->lease.lo;
  m->lease_hi = e->lease.hi;
  m->end_mark = WIRE_END_MARK;
  return 0;
}

/* Fills a RunOver from o. */
static void run_over_fill(Td3d__RunOver *m, const wire_run_over_t *o) {
  m->protocol_version = WIRE_PROTOCOL_VERSION;
  m->run_id = o->run_id;
  m->reason = (char *)(uintptr_t)o->reason;
  m->end_mark = WIRE_END_MARK;
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
  int rc = 0;
  switch (c->type) {
  case WIRE_MSG_HELLO:
    rc = hello_fill(&hello, &c->u.hello);
    env.body_case = TD3D__CONTROL__BODY_HELLO;
    env.hello = &hello;
    break;
  case WIRE_MSG_WELCOME:
    rc = welcome_fill(&welcome, &c->u.welcome);
    env.body_case = TD3D__CONTROL__BODY_WELCOME;
    env.welcome = &welcome;
    break;
  case WIRE_MSG_REJECT:
    reject_fill(&reject, &c->u.reject);
    env.body_case = TD3D__CONTROL__BODY_REJECT;
    env.reject = &reject;
    break;
  case WIRE_MSG_HEARTBEAT:
    heartbeat_fill(&hb, &c->u.heartbeat);
    env.body_case = TD3D__CONTROL__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    break;
  case WIRE_MSG_EVAL_REPORT:
    rc = eval_fill(&ev, &c->u.eval_report);
    env.body_case = TD3D__CONTROL__BODY_EVAL_REPORT;
    env.eval_report = &ev;
    break;
  case WIRE_MSG_RUN_OVER:
    run_over_fill(&over, &c->u.run_over);
    env.body_case = TD3D__CONTROL__BODY_RUN_OVER;
    env.run_over = &over;
    break;
  default:
    return TD3_EINVAL;
  }
  if (rc) return rc;
  return wire_pack(&env.base, out);
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                 */

static wire_reason_t hello_validate(const Td3d__Hello *m, wire_hello_t *out) {
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if ((r = wire_name_copy(m->actor_name, out->actor_name, WIRE_MAX_NAME))) return r;
  if ((r = wire_name_copy(m->env_id, out->env_id, WIRE_MAX_NAME))) return r;
  if (m->role != TD3D__ROLE__ROLE_ACTOR && m->role != TD3D__ROLE__ROLE_EVALUATOR)
    return WIRE_FIELD;
  if (m->obs_dim == 0 || m->obs_dim > WIRE_MAX_DIM || m->act_dim == 0 ||
      m->act_dim > WIRE_MAX_DIM)
    return WIRE_DIMS;
  if (m->envs == 0 || m->envs > WIRE_MAX_ENVS) return WIRE_COUNT;
  if ((r = wire_float_array(&m->action_low, m->act_dim, &out->action_low)) ||
      (r = wire_float_array(&m->action_high, m->act_dim, &out->action_high)))
    return r;
  if (!wire_all_finite(out->action_low, m->act_dim) || !wire_all_finite(out->action_high, m->act_dim))
    return WIRE_NONFINITE;
  for (uint32_t i = 0; i < m->act_dim; i++)
    if (!(out->action_low[i] < out->action_high[i])) return WIRE_FIELD;
  if (m->eval_token.len > WIRE_MAX_TOKEN) return WIRE_FIELD;
  out->eval_token = m->eval_token.len ? m->eval_token.data : NULL;
  out->eval_token_len = m->eval_token.len;
  out->role = (wire_role_t)m->role;
  out->obs_dim = m->obs_dim;
  out->act_dim = m->act_dim;
  out->envs = m->envs;
  out->lease = (wire_lease_t){m->lease, m->lease_hi};
  return WIRE_OK;
}

static wire_reason_t welcome_validate(const Td3d__Welcome *m, wire_welcome_t *out) {
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
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
  if ((r = wire_layers_copy(m->actor_layers, m->n_actor_layers, out->layers, &out->n_layers)))
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
  out->lease = (wire_lease_t){m->lease, m->lease_hi};
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
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
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
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  out->run_id = m->run_id;
  printable_copy(out->reason, m->reason);
  return WIRE_OK;
}

static wire_reason_t heartbeat_validate(const Td3d__Heartbeat *m, const wire_limits_t *lim,
                                        wire_heartbeat_t *out) {
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
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
  out->lease = (wire_lease_t){m->lease, m->lease_hi};
  return WIRE_OK;
}

static wire_reason_t eval_validate(const Td3d__EvalReport *m, const wire_limits_t *lim,
                                   wire_eval_report_t *out) {
  wire_reason_t r = wire_header_check(m->protocol_version, m->end_mark);
  if (r) return r;
  if (lim->run_id && m->run_id != lim->run_id) return WIRE_RUN_ID;
  if (m->slot >= WIRE_MAX_SLOTS) return WIRE_FIELD;
  if (m->n_returns == 0 || m->n_returns > WIRE_MAX_EVAL_EPISODES) return WIRE_COUNT;
  if (!wire_all_finite(m->returns, m->n_returns)) return WIRE_NONFINITE;
  out->run_id = m->run_id;
  out->slot = m->slot;
  out->policy_version = m->policy_version;
  out->env_steps = m->env_steps;
  out->n_returns = (uint32_t)m->n_returns;
  out->returns = m->returns;
  out->lease = (wire_lease_t){m->lease, m->lease_hi};
  return WIRE_OK;
}

wire_reason_t wire_control_decode(const void *frame, size_t len, const wire_limits_t *limits,
                                  wire_control_t *out) {
  wire_limits_t lim;
  wire_limits_fill(limits, &lim);
  memset(out, 0, sizeof *out);
  wire_reason_t r = wire_frame_check(len, &lim);
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
