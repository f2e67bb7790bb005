/* The standalone deterministic policy (see nn.h): an actor network with its own parameters
 * and scratch, for the actor processes, the evaluator and `td3d eval`. It holds no gradients
 * or optimiser state; the learner's td3 module trains the same layout and publishes it. */
#include "nn.h"

#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nn_policy {
  nn_layout_t lay;
  size_t max_batch;  /* rows per nn_policy_act call */
  float *params;     /* (lay.n_params) */
  float *mid, *half; /* (act_dim) (high + low) / 2 and (high - low) / 2 */
  float *buf[2];     /* (max_batch, widest non-input layer) each: ping-pong activations */
};

/* Bigger batches than this are a caller bug, not a use case; it also keeps sizes in int. */
#define POLICY_MAX_BATCH (1u << 20)

nn_policy_t *nn_policy_new(const uint32_t *layers, uint32_t n_layers, const float *low,
                           const float *high, size_t max_batch) {
  nn_layout_t lay;
  if (nn_layout_init(&lay, layers, n_layers) != 0) return NULL;
  if (!low || !high || max_batch == 0 || max_batch > POLICY_MAX_BATCH) return NULL;
  uint32_t act_dim = lay.sizes[n_layers - 1];
  for (uint32_t j = 0; j < act_dim; j++)
    if (!isfinite(low[j]) || !isfinite(high[j]) || !(low[j] < high[j])) return NULL;
  size_t width = 0;
  for (uint32_t l = 1; l < n_layers; l++)
    if (lay.sizes[l] > width) width = lay.sizes[l];

  nn_policy_t *p = xcalloc(1, sizeof *p);
  p->lay = lay;
  p->max_batch = max_batch;
  p->params = xaligned(lay.n_params * sizeof(float));
  memset(p->params, 0, lay.n_params * sizeof(float));
  p->mid = xmalloc(act_dim * sizeof(float));
  p->half = xmalloc(act_dim * sizeof(float));
  for (uint32_t j = 0; j < act_dim; j++) {
    p->mid[j] = 0.5f * (high[j] + low[j]);
    p->half[j] = 0.5f * (high[j] - low[j]);
  }
  for (int i = 0; i < 2; i++) p->buf[i] = xaligned(max_batch * width * sizeof(float));
  return p;
}

void nn_policy_destroy(nn_policy_t **pp) {
  if (!pp || !*pp) return;
  nn_policy_t *p = *pp;
  free(p->params);
  free(p->mid);
  free(p->half);
  free(p->buf[0]);
  free(p->buf[1]);
  free(p);
  *pp = NULL;
}

size_t nn_policy_param_count(const nn_policy_t *p) { return p->lay.n_params; }

const nn_layout_t *nn_policy_layout(const nn_policy_t *p) { return &p->lay; }

void nn_policy_set_params(nn_policy_t *p, const float *params) {
  memcpy(p->params, params, p->lay.n_params * sizeof(float));
}

const float *nn_policy_params(const nn_policy_t *p) { return p->params; }

void nn_policy_act(nn_policy_t *p, const float *obs, size_t n, float *action) {
  if (n == 0) return;
  if (n > p->max_batch) { /* a caller bug: the scratch holds max_batch rows */
    fprintf(stderr, "nn_policy_act: %zu rows, more than max_batch %zu\n", n, p->max_batch);
    abort();
  }
  uint32_t nl = p->lay.n_layers;
  float *acts[NN_MAX_LAYERS];
  for (uint32_t l = 0; l < nl; l++) acts[l] = p->buf[l % 2];
  nn_mlp_forward(&p->lay, p->params, obs, n, acts);
  nn_tanh_scale_forward(action, NULL, acts[nl - 1], p->mid, p->half, n,
                        p->lay.sizes[nl - 1]);
}
