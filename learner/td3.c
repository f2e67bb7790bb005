/* One TD3 training iteration (see td3.h).
 *
 * Shapes: B = batch, O = obs_dim, A = act_dim, C = O + A (critic input), h_l the hidden
 * widths (h_0 the first). The twin critics read the same input, so their first layers run as
 * one GEMM with 2 h_0 outputs: the two (h_0, C) weight matrices are copied into one packed
 * (2 h_0, C) matrix per forward pass (cheap next to the products) and their gradient comes
 * out of one GEMM too. Deeper layers read their half of that (B, 2 h_0) activation through
 * the GEMM row stride, with no copy. The actor step needs neither critic weight gradients
 * nor the state columns of the input gradient, so it computes neither. The critic input is
 * stored with its rows padded to a multiple of 8 floats (zeros): OpenBLAS's Haswell kernel
 * takes 92 us for the (512, 23) weight gradient at batch 256 and 68 us for (512, 24).
 *
 * All memory comes from one aligned block carved at td3_new (llm.c's habit); td3_train
 * allocates nothing. */
#include "td3.h"

#include "xalloc.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The three trained networks; each has a target copy. */
enum { NET_ACTOR = 0, NET_C1 = 1, NET_C2 = 2, NET_COUNT = 3 };

typedef struct trained {
  size_t n;           /* parameters */
  float *p[2];        /* (n) parameters, double-buffered */
  float *m[2], *v[2]; /* (n) Adam moments, double-buffered with p */
  int live;           /* which buffer of p, m, v is current */
  uint64_t step;      /* Adam steps taken */
  float *grad;        /* (n) gradient of the last pass */
  float *target;      /* (n) target network */
} trained_t;

struct td3 {
  td3_config_t cfg;                 /* action_low/high point at low/high below */
  nn_layout_t actor_lay, critic_lay;
  nn_adam_cfg_t actor_adam, critic_adam;
  trained_t net[NET_COUNT];
  uint64_t iterations;              /* completed iterations */
  float last_actor_loss;            /* of the latest actor step; NaN before the first */
  size_t cp;                        /* row stride of x: C rounded up to a multiple of 8 */
  float *block;                     /* the one allocation everything below points into */
  float *low, *high, *mid, *half;   /* (A) bounds, centre, half range */
  float *noise_std, *noise_lim;     /* (A) policy_noise half, noise_clip half */
  float *noise;                     /* (B, A) draws for td3_train */
  float *a_acts[NN_MAX_LAYERS];     /* actor outputs of layer l (B, sizes[l]), l >= 1 */
  float *a_dacts[NN_MAX_LAYERS];    /* their gradients */
  float *th;                        /* (B, A) tanh of the actor output */
  float *act;                       /* (B, A) a' (target pass) or pi(s) (actor pass) */
  float *da;                        /* (B, A) dL/d pi(s) */
  float *x;                         /* (B, cp) critic input [s, a, zero padding] */
  float *h1, *dh1;                  /* (B, 2 h_0) twin first layer and its gradient */
  float *hc[2][NN_MAX_LAYERS];      /* critic c, hidden layer l >= 1: (B, h_l) */
  float *dhc[2][NN_MAX_LAYERS];     /* their gradients */
  float *q[2], *dq[2];              /* (B) critic outputs and their gradients */
  float *y;                         /* (B) TD targets */
  float *wpack;                     /* (2 h_0, C) packed first-layer weights */
  float *dwpack;                    /* (2 h_0, cp) their gradient, padding included */
  float *bpack, *dbpack;            /* (2 h_0) packed first-layer biases, gradient */
};

void td3_config_default(td3_config_t *c) {
  memset(c, 0, sizeof *c);
  c->n_hidden = 2;
  c->hidden[0] = 256;
  c->hidden[1] = 256;
  c->batch = 256;
  c->gamma = 0.99f;
  c->tau = 0.005f;
  c->actor_lr = 3e-4f;
  c->critic_lr = 3e-4f;
  c->adam_beta1 = 0.9f;
  c->adam_beta2 = 0.999f;
  c->adam_eps = 1e-8f;
  c->policy_noise = 0.2f;
  c->noise_clip = 0.5f;
  c->policy_delay = 2;
}

/* ---------------------------------------------------------------------------------------- */
/* Construction                                                                             */

static int validate(const td3_config_t *c, td3_err_t *err) {
#define BAD(...) return td3_err_set(err, TD3_EINVAL, "td3: " __VA_ARGS__)
  if (c->obs_dim < 1 || c->obs_dim > NN_MAX_DIM)
    BAD("obs_dim %u is outside 1..%u", c->obs_dim, NN_MAX_DIM);
  if (c->act_dim < 1 || c->act_dim > NN_MAX_DIM)
    BAD("act_dim %u is outside 1..%u", c->act_dim, NN_MAX_DIM);
  if (c->obs_dim + c->act_dim > NN_MAX_DIM)
    BAD("obs_dim + act_dim = %u exceeds %u (the critic input)", c->obs_dim + c->act_dim,
        NN_MAX_DIM);
  if (c->n_hidden < 1 || c->n_hidden > NN_MAX_LAYERS - 2)
    BAD("n_hidden %u is outside 1..%d", c->n_hidden, NN_MAX_LAYERS - 2);
  for (uint32_t i = 0; i < c->n_hidden; i++)
    if (c->hidden[i] < 1 || c->hidden[i] > NN_MAX_DIM)
      BAD("hidden layer %u has width %u, outside 1..%u", i + 1, c->hidden[i], NN_MAX_DIM);
  if (!c->action_low || !c->action_high) BAD("action_low and action_high are required");
  for (uint32_t j = 0; j < c->act_dim; j++)
    if (!isfinite(c->action_low[j]) || !isfinite(c->action_high[j]) ||
        !(c->action_low[j] < c->action_high[j]))
      BAD("action bounds of dimension %u are [%g, %g]; need finite low < high", j,
          (double)c->action_low[j], (double)c->action_high[j]);
  if (c->batch < 1 || c->batch > TD3_MAX_BATCH)
    BAD("batch %u is outside 1..%u", c->batch, TD3_MAX_BATCH);
  if (!(c->gamma >= 0.0f && c->gamma <= 1.0f)) BAD("gamma %g is outside [0, 1]", (double)c->gamma);
  if (!(c->tau > 0.0f && c->tau <= 1.0f)) BAD("tau %g is outside (0, 1]", (double)c->tau);
  if (!(c->actor_lr > 0.0f && isfinite(c->actor_lr)))
    BAD("actor_lr %g must be positive and finite", (double)c->actor_lr);
  if (!(c->critic_lr > 0.0f && isfinite(c->critic_lr)))
    BAD("critic_lr %g must be positive and finite", (double)c->critic_lr);
  if (!(c->adam_beta1 >= 0.0f && c->adam_beta1 < 1.0f))
    BAD("adam_beta1 %g is outside [0, 1)", (double)c->adam_beta1);
  if (!(c->adam_beta2 >= 0.0f && c->adam_beta2 < 1.0f))
    BAD("adam_beta2 %g is outside [0, 1)", (double)c->adam_beta2);
  if (!(c->adam_eps > 0.0f && isfinite(c->adam_eps)))
    BAD("adam_eps %g must be positive and finite", (double)c->adam_eps);
  if (!(c->policy_noise >= 0.0f && isfinite(c->policy_noise)))
    BAD("policy_noise %g must be >= 0 and finite", (double)c->policy_noise);
  if (!(c->noise_clip >= 0.0f && isfinite(c->noise_clip)))
    BAD("noise_clip %g must be >= 0 and finite", (double)c->noise_clip);
  if (c->policy_delay < 1) BAD("policy_delay must be at least 1");
  return 0;
#undef BAD
}

/* Bump allocator over one block: with base NULL it only counts (first pass). Each region is
 * rounded to 16 floats so that every array starts on a 64-byte line. */
typedef struct carver {
  float *base;
  size_t used; /* floats */
} carver_t;

static float *carve(carver_t *cv, size_t n) {
  float *p = cv->base ? cv->base + cv->used : NULL;
  cv->used += (n + 15) & ~(size_t)15;
  return p;
}

/* Points every array of t into cv (sizes from t's config and layouts). */
static void carve_all(td3_t *t, carver_t *cv) {
  const size_t B = t->cfg.batch, A = t->cfg.act_dim, C = t->critic_lay.sizes[0];
  const uint32_t nh = t->cfg.n_hidden, h0 = t->cfg.hidden[0];
  float **per_a[] = {&t->low, &t->high, &t->mid, &t->half, &t->noise_std, &t->noise_lim};
  for (size_t i = 0; i < sizeof per_a / sizeof per_a[0]; i++) *per_a[i] = carve(cv, A);
  for (int k = 0; k < NET_COUNT; k++) {
    trained_t *n = &t->net[k];
    for (int s = 0; s < 2; s++) {
      n->p[s] = carve(cv, n->n);
      n->m[s] = carve(cv, n->n);
      n->v[s] = carve(cv, n->n);
    }
    n->grad = carve(cv, n->n);
    n->target = carve(cv, n->n);
  }
  t->noise = carve(cv, B * A);
  for (uint32_t l = 1; l < t->actor_lay.n_layers; l++) {
    t->a_acts[l] = carve(cv, B * t->actor_lay.sizes[l]);
    t->a_dacts[l] = carve(cv, B * t->actor_lay.sizes[l]);
  }
  t->th = carve(cv, B * A);
  t->act = carve(cv, B * A);
  t->da = carve(cv, B * A);
  t->x = carve(cv, B * t->cp);
  t->h1 = carve(cv, B * 2 * h0);
  t->dh1 = carve(cv, B * 2 * h0);
  for (int c = 0; c < 2; c++) {
    for (uint32_t l = 1; l < nh; l++) {
      t->hc[c][l] = carve(cv, B * t->cfg.hidden[l]);
      t->dhc[c][l] = carve(cv, B * t->cfg.hidden[l]);
    }
    t->q[c] = carve(cv, B);
    t->dq[c] = carve(cv, B);
  }
  t->y = carve(cv, B);
  t->wpack = carve(cv, 2 * (size_t)h0 * C);
  t->dwpack = carve(cv, 2 * (size_t)h0 * t->cp);
  t->bpack = carve(cv, 2 * (size_t)h0);
  t->dbpack = carve(cv, 2 * (size_t)h0);
}

static float *live_params(const td3_t *t, int k) { return t->net[k].p[t->net[k].live]; }

td3_t *td3_new(const td3_config_t *c, td3_err_t *err) {
  if (!c) {
    td3_err_set(err, TD3_EINVAL, "td3: no configuration");
    return NULL;
  }
  if (validate(c, err) != 0) return NULL;
  td3_t *t = xcalloc(1, sizeof *t);
  t->cfg = *c;
  t->last_actor_loss = NAN;
  uint32_t sizes[NN_MAX_LAYERS];
  uint32_t n = c->n_hidden + 2;
  sizes[0] = c->obs_dim;
  memcpy(sizes + 1, c->hidden, c->n_hidden * sizeof *sizes);
  sizes[n - 1] = c->act_dim;
  int rc = nn_layout_init(&t->actor_lay, sizes, n);
  sizes[0] = c->obs_dim + c->act_dim;
  sizes[n - 1] = 1;
  rc |= nn_layout_init(&t->critic_lay, sizes, n);
  if (rc != 0) { /* validate() checked every size: a bug if this fires */
    td3_err_set(err, TD3_EINVAL, "td3: bad network shape");
    free(t);
    return NULL;
  }
  t->net[NET_ACTOR].n = t->actor_lay.n_params;
  t->net[NET_C1].n = t->net[NET_C2].n = t->critic_lay.n_params;
  t->cp = ((size_t)c->obs_dim + c->act_dim + 7) & ~(size_t)7;

  carver_t cv = {NULL, 0};
  carve_all(t, &cv);
  size_t bytes;
  if (!td3_size_mul(cv.used, sizeof(float), &bytes) || !td3_memory_fits(bytes)) {
    td3_err_set(err, TD3_ENOMEM,
                "td3: the networks (%u hidden layers, the first %u wide) with a batch of %u need "
                "%.2f GiB; %.2f GiB "
                "of memory is available (lower --batch or --hidden)",
                c->n_hidden, c->hidden[0], c->batch, (double)cv.used * 4.0 / (1 << 30),
                (double)td3_memory_available() / (1 << 30));
    free(t);
    return NULL;
  }
  t->block = xaligned(bytes);
  memset(t->block, 0, bytes);
  cv = (carver_t){t->block, 0};
  carve_all(t, &cv);

  const uint32_t A = c->act_dim;
  for (uint32_t j = 0; j < A; j++) {
    t->low[j] = c->action_low[j];
    t->high[j] = c->action_high[j];
    t->mid[j] = 0.5f * (t->high[j] + t->low[j]);
    t->half[j] = 0.5f * (t->high[j] - t->low[j]);
    t->noise_std[j] = c->policy_noise * t->half[j];
    t->noise_lim[j] = c->noise_clip * t->half[j];
  }
  t->cfg.action_low = t->low;
  t->cfg.action_high = t->high;
  t->actor_adam = (nn_adam_cfg_t){c->actor_lr, c->adam_beta1, c->adam_beta2, c->adam_eps};
  t->critic_adam = (nn_adam_cfg_t){c->critic_lr, c->adam_beta1, c->adam_beta2, c->adam_eps};

  rng_t rng;
  rng_init(&rng, c->seed, rng_stream_id(RNG_PURPOSE_INIT, 0));
  nn_init_uniform(&t->actor_lay, live_params(t, NET_ACTOR), &rng);
  nn_init_uniform(&t->critic_lay, live_params(t, NET_C1), &rng);
  nn_init_uniform(&t->critic_lay, live_params(t, NET_C2), &rng);
  for (int k = 0; k < NET_COUNT; k++)
    memcpy(t->net[k].target, live_params(t, k), t->net[k].n * sizeof(float));
  return t;
}

void td3_destroy(td3_t **p) {
  if (!p || !*p) return;
  free((*p)->block);
  free(*p);
  *p = NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Passes                                                                                   */

/* action (n, A) = pi(obs) with the given actor parameters; keeps activations and tanh. */
static void actor_forward(td3_t *t, const float *params, const float *obs, size_t n,
                          float *action) {
  uint32_t nl = t->actor_lay.n_layers;
  nn_mlp_forward(&t->actor_lay, params, obs, n, t->a_acts);
  nn_tanh_scale_forward(action, t->th, t->a_acts[nl - 1], t->mid, t->half, n, t->cfg.act_dim);
}

/* t->x (B, cp) = [s, a] row by row; the padding columns stay zero from td3_new. */
static void concat_input(td3_t *t, const float *s, const float *a) {
  const size_t O = t->cfg.obs_dim, A = t->cfg.act_dim, cp = t->cp;
  for (size_t i = 0; i < t->cfg.batch; i++) {
    memcpy(t->x + i * cp, s + i * O, O * sizeof(float));
    memcpy(t->x + i * cp + O, a + i * A, A * sizeof(float));
  }
}

/* q[0] (and q[1] when p2) = critic outputs on t->x, keeping every activation. p2 NULL runs
 * critic 1 alone (its first layer then has width h_0 in t->h1). */
static void critics_forward(td3_t *t, const float *p1, const float *p2) {
  const nn_layout_t *L = &t->critic_lay;
  const size_t B = t->cfg.batch, C = L->sizes[0], h0 = L->sizes[1];
  const uint32_t nh = t->cfg.n_hidden;
  const int nc = p2 ? 2 : 1;
  const size_t width = nc * h0;
  const float *w1 = p1 + L->w_off[0], *b1 = p1 + L->b_off[0];
  if (p2) {
    memcpy(t->wpack, w1, h0 * C * sizeof(float));
    memcpy(t->wpack + h0 * C, p2 + L->w_off[0], h0 * C * sizeof(float));
    memcpy(t->bpack, b1, h0 * sizeof(float));
    memcpy(t->bpack + h0, p2 + L->b_off[0], h0 * sizeof(float));
    w1 = t->wpack;
    b1 = t->bpack;
  }
  gemm_epilogue_t ep1 = {.bias = b1, .relu = true};
  nn_sgemm_ex(false, true, B, width, C, 1.0f, t->x, t->cp, w1, C, 0.0f, t->h1, width, &ep1);
  for (int c = 0; c < nc; c++) {
    const float *p = c ? p2 : p1;
    const float *in = t->h1 + c * h0;
    size_t ld_in = width, in_dim = h0;
    for (uint32_t l = 1; l <= nh; l++) {
      size_t out_dim = L->sizes[l + 1];
      float *out = l < nh ? t->hc[c][l] : t->q[c];
      gemm_epilogue_t ep = {.bias = p + L->b_off[l], .relu = l < nh};
      nn_sgemm_ex(false, true, B, out_dim, in_dim, 1.0f, in, ld_in, p + L->w_off[l], in_dim,
                  0.0f, out, out_dim, &ep);
      in = out;
      ld_in = in_dim = out_dim;
    }
  }
}

/* Backward of critics_forward from dq[c]. g1, g2 (critic n_params) receive the parameter
 * gradients (written) when non-NULL (twin pass only); da (B, A) receives dL/da of critic 1
 * when non-NULL. */
static void critics_backward(td3_t *t, const float *p1, const float *p2, float *g1, float *g2,
                             float *da) {
  const nn_layout_t *L = &t->critic_lay;
  const size_t B = t->cfg.batch, C = L->sizes[0], h0 = L->sizes[1];
  const size_t O = t->cfg.obs_dim, A = t->cfg.act_dim;
  const uint32_t nh = t->cfg.n_hidden;
  const int nc = p2 ? 2 : 1;
  const size_t width = nc * h0;
  for (int c = 0; c < nc; c++) {
    const float *p = c ? p2 : p1;
    float *g = c ? g2 : g1;
    for (uint32_t l = nh; l >= 1; l--) {
      size_t out_dim = L->sizes[l + 1], in_dim = L->sizes[l];
      const float *dout = l == nh ? t->dq[c] : t->dhc[c][l];
      const float *in = l == 1 ? t->h1 + c * h0 : t->hc[c][l - 1];
      float *din = l == 1 ? t->dh1 + c * h0 : t->dhc[c][l - 1];
      size_t ld = l == 1 ? width : in_dim;
      if (g) {
        nn_sgemm(true, false, out_dim, in_dim, B, 1.0f, dout, out_dim, in, ld, 0.0f,
                 g + L->w_off[l], in_dim);
        nn_col_sum(g + L->b_off[l], dout, B, out_dim, out_dim, false);
      }
      gemm_epilogue_t ep = {.gate = in, .ldg = ld}; /* ReLU backward through `in` */
      nn_sgemm_ex(false, false, B, in_dim, out_dim, 1.0f, dout, out_dim, p + L->w_off[l], in_dim,
                  0.0f, din, ld, &ep);
    }
  }
  if (g1) {
    assert(nc == 2);
    const size_t cp = t->cp;
    nn_sgemm(true, false, width, cp, B, 1.0f, t->dh1, width, t->x, cp, 0.0f, t->dwpack, cp);
    nn_col_sum(t->dbpack, t->dh1, B, width, width, false);
    for (size_t r = 0; r < h0; r++) { /* drop the padding column(s) */
      memcpy(g1 + L->w_off[0] + r * C, t->dwpack + r * cp, C * sizeof(float));
      memcpy(g2 + L->w_off[0] + r * C, t->dwpack + (h0 + r) * cp, C * sizeof(float));
    }
    memcpy(g1 + L->b_off[0], t->dbpack, h0 * sizeof(float));
    memcpy(g2 + L->b_off[0], t->dbpack + h0, h0 * sizeof(float));
  }
  if (da) /* only the action columns of critic 1's first layer */
    nn_sgemm(false, false, B, A, h0, 1.0f, t->dh1, width, p1 + L->w_off[0] + O, C, 0.0f, da, A);
}

/* Steps 1-2: t->y = r + gamma (1 - terminal) min(Q1'(s', a'), Q2'(s', a')). */
static void target_pass(td3_t *t, const transition_batch_t *b, const float *noise) {
  const size_t B = t->cfg.batch, A = t->cfg.act_dim;
  actor_forward(t, t->net[NET_ACTOR].target, b->next_obs, B, t->act);
  for (size_t i = 0; i < B; i++) {
    for (size_t j = 0; j < A; j++) {
      float e = t->noise_std[j] * noise[i * A + j];
      e = e < -t->noise_lim[j] ? -t->noise_lim[j] : (e > t->noise_lim[j] ? t->noise_lim[j] : e);
      float a = t->act[i * A + j] + e;
      t->act[i * A + j] = a < t->low[j] ? t->low[j] : (a > t->high[j] ? t->high[j] : a);
    }
  }
  concat_input(t, b->next_obs, t->act);
  critics_forward(t, t->net[NET_C1].target, t->net[NET_C2].target);
  const float gamma = t->cfg.gamma;
  for (size_t i = 0; i < B; i++) {
    float q1 = t->q[0][i], q2 = t->q[1][i];
    float qmin = (q1 < q2 || isnan(q1)) ? q1 : q2; /* NaN must reach the loss */
    t->y[i] = b->reward[i] + ((1.0f - b->terminal[i]) * gamma) * qmin;
  }
}

/* Steps 1-3 up to the gradients: returns the critic loss; g1, g2 receive its gradients. */
static float critic_pass(td3_t *t, const transition_batch_t *b, const float *noise, float *g1,
                         float *g2, float *mean_q) {
  const size_t B = t->cfg.batch;
  target_pass(t, b, noise);
  concat_input(t, b->obs, b->action);
  const float *p1 = live_params(t, NET_C1), *p2 = live_params(t, NET_C2);
  critics_forward(t, p1, p2);
  double se1 = 0, se2 = 0, sq = 0;
  const float scale = 2.0f / (float)B;
  for (size_t i = 0; i < B; i++) {
    float e1 = t->q[0][i] - t->y[i], e2 = t->q[1][i] - t->y[i];
    se1 += (double)e1 * e1;
    se2 += (double)e2 * e2;
    sq += t->q[0][i];
    t->dq[0][i] = scale * e1;
    t->dq[1][i] = scale * e2;
  }
  critics_backward(t, p1, p2, g1, g2, NULL);
  if (mean_q) *mean_q = (float)(sq / (double)B);
  return (float)((se1 + se2) / (double)B);
}

/* Step 4 up to the gradient: returns -mean Q1(s, pi(s)) under critic parameters pc1; g
 * receives its gradient w.r.t. the live actor parameters. */
static float actor_pass(td3_t *t, const float *obs, const float *pc1, float *g) {
  const size_t B = t->cfg.batch, A = t->cfg.act_dim;
  const uint32_t nl = t->actor_lay.n_layers;
  const float *pa = live_params(t, NET_ACTOR);
  actor_forward(t, pa, obs, B, t->act);
  concat_input(t, obs, t->act);
  critics_forward(t, pc1, NULL);
  double sq = 0;
  const float dq = -1.0f / (float)B;
  for (size_t i = 0; i < B; i++) {
    sq += t->q[0][i];
    t->dq[0][i] = dq;
  }
  critics_backward(t, pc1, NULL, NULL, NULL, t->da);
  float *dz = t->a_dacts[nl - 1];
  memset(dz, 0, B * A * sizeof(float));
  nn_tanh_scale_backward(dz, t->da, t->th, t->half, B, A);
  nn_mlp_backward(&t->actor_lay, pa, obs, (const float *const *)t->a_acts, t->a_dacts, B, g,
                  NULL, false);
  return (float)(-sq / (double)B);
}

/* Adam step of network k from its live buffers into its spare ones (nothing becomes live). */
static int adam_into_spare(td3_t *t, int k, const nn_adam_cfg_t *cfg) {
  trained_t *n = &t->net[k];
  int s = 1 - n->live;
  return nn_adam_step(cfg, n->step + 1, n->n, n->grad, n->p[n->live], n->m[n->live],
                      n->v[n->live], n->p[s], n->m[s], n->v[s]);
}

static void make_spare_live(td3_t *t, int k) {
  t->net[k].live = 1 - t->net[k].live;
  t->net[k].step++;
}

/* ---------------------------------------------------------------------------------------- */
/* Training                                                                                 */

/* 1 if b can be a training batch of t: enough rows, the networks' dims (for asserts). */
static inline int batch_fits(const td3_t *t, const transition_batch_t *b) {
  return b->n >= t->cfg.batch && b->obs_dim == t->cfg.obs_dim && b->act_dim == t->cfg.act_dim;
}

int td3_train_with_noise(td3_t *t, const transition_batch_t *b, const float *noise,
                         td3_stats_t *out) {
  assert(batch_fits(t, b));
  const uint64_t it = t->iterations + 1;
  const int actor_step = it % t->cfg.policy_delay == 0;
  float mean_q = 0, actor_loss = 0;
  float critic_loss =
      critic_pass(t, b, noise, t->net[NET_C1].grad, t->net[NET_C2].grad, &mean_q);
  int rc = isfinite(critic_loss) ? 0 : TD3_ENONFINITE;
  if (!rc) rc = adam_into_spare(t, NET_C1, &t->critic_adam);
  if (!rc) rc = adam_into_spare(t, NET_C2, &t->critic_adam);
  if (!rc && actor_step) {
    /* the new critic 1 (still in its spare buffer) scores the policy, as in sfujim/TD3 */
    trained_t *c1 = &t->net[NET_C1];
    actor_loss = actor_pass(t, b->obs, c1->p[1 - c1->live], t->net[NET_ACTOR].grad);
    rc = isfinite(actor_loss) ? 0 : TD3_ENONFINITE;
    if (!rc) rc = adam_into_spare(t, NET_ACTOR, &t->actor_adam);
  }
  if (!rc) {
    make_spare_live(t, NET_C1);
    make_spare_live(t, NET_C2);
    if (actor_step) {
      make_spare_live(t, NET_ACTOR);
      for (int k = 0; k < NET_COUNT; k++)
        nn_polyak(t->net[k].target, live_params(t, k), t->net[k].n, t->cfg.tau);
    }
    t->iterations = it;
    if (actor_step) t->last_actor_loss = actor_loss;
  }
  if (out) {
    out->critic_loss = critic_loss;
    out->actor_loss = actor_step ? actor_loss : t->last_actor_loss;
    out->mean_q = mean_q;
    out->actor_step = !rc && actor_step;
    out->iterations = t->iterations;
  }
  return rc;
}

int td3_train(td3_t *t, const transition_batch_t *b, rng_t *rng, td3_stats_t *out) {
  rng_normal_fill(rng, t->noise, (size_t)t->cfg.batch * t->cfg.act_dim, 0.0f, 1.0f);
  return td3_train_with_noise(t, b, t->noise, out);
}

void td3_act(td3_t *t, const float *obs, size_t n, float *action) {
  if (n == 0) return;
  if (n > t->cfg.batch) { /* a caller bug: the scratch holds batch rows */
    fprintf(stderr, "td3_act: %zu rows, more than the batch %u\n", n, t->cfg.batch);
    abort();
  }
  actor_forward(t, live_params(t, NET_ACTOR), obs, n, action);
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors and test hooks                                                                 */

const td3_config_t *td3_config(const td3_t *t) { return &t->cfg; }
uint64_t td3_iterations(const td3_t *t) { return t->iterations; }
void td3_set_iterations(td3_t *t, uint64_t iterations) { t->iterations = iterations; }

uint32_t td3_actor_layers(const td3_t *t, uint32_t *layers) {
  memcpy(layers, t->actor_lay.sizes, t->actor_lay.n_layers * sizeof *layers);
  return t->actor_lay.n_layers;
}

uint32_t td3_critic_layers(const td3_t *t, uint32_t *layers) {
  memcpy(layers, t->critic_lay.sizes, t->critic_lay.n_layers * sizeof *layers);
  return t->critic_lay.n_layers;
}

const float *td3_actor_params(const td3_t *t, size_t *n_params) {
  if (n_params) *n_params = t->net[NET_ACTOR].n;
  return live_params(t, NET_ACTOR);
}

/* The trained network behind a td3_net_t, and whether it names the target copy. */
static trained_t *net_of(td3_t *t, td3_net_t which, int *target) {
  static const int k_of[TD3_N_NETS] = {NET_ACTOR, NET_ACTOR, NET_C1, NET_C2, NET_C1, NET_C2};
  if ((int)which < 0 || which >= TD3_N_NETS) return NULL;
  *target = which == TD3_ACTOR_TARGET || which == TD3_CRITIC1_TARGET ||
            which == TD3_CRITIC2_TARGET;
  return &t->net[k_of[which]];
}

float *td3_params(td3_t *t, td3_net_t which, size_t *n) {
  int target;
  trained_t *net = net_of(t, which, &target);
  if (!net) return NULL;
  if (n) *n = net->n;
  return target ? net->target : net->p[net->live];
}

int td3_adam_state(td3_t *t, td3_net_t which, float **m, float **v, size_t *n, uint64_t *step) {
  int target;
  trained_t *net = net_of(t, which, &target);
  if (!net || target) return TD3_EINVAL;
  if (m) *m = net->m[net->live];
  if (v) *v = net->v[net->live];
  if (n) *n = net->n;
  if (step) *step = net->step;
  return 0;
}

int td3_set_adam_step(td3_t *t, td3_net_t which, uint64_t step) {
  int target;
  trained_t *net = net_of(t, which, &target);
  if (!net || target) return TD3_EINVAL;
  net->step = step;
  return 0;
}

void td3_target_q(td3_t *t, const transition_batch_t *b, const float *noise, float *y) {
  assert(batch_fits(t, b));
  target_pass(t, b, noise);
  memcpy(y, t->y, t->cfg.batch * sizeof(float));
}

float td3_critic_grad(td3_t *t, const transition_batch_t *b, const float *noise, float *g1,
                      float *g2, float *mean_q) {
  assert(batch_fits(t, b));
  float loss = critic_pass(t, b, noise, t->net[NET_C1].grad, t->net[NET_C2].grad, mean_q);
  memcpy(g1, t->net[NET_C1].grad, t->net[NET_C1].n * sizeof(float));
  memcpy(g2, t->net[NET_C2].grad, t->net[NET_C2].n * sizeof(float));
  return loss;
}

float td3_actor_grad(td3_t *t, const float *obs, float *g) {
  float loss = actor_pass(t, obs, live_params(t, NET_C1), t->net[NET_ACTOR].grad);
  memcpy(g, t->net[NET_ACTOR].grad, t->net[NET_ACTOR].n * sizeof(float));
  return loss;
}
