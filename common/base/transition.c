/* Transition batches (see transition.h). */
#include "transition.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static float *column(uint32_t rows, uint32_t width) {
  size_t n;
  if (!td3_size_mul(rows, width, &n) || !td3_size_mul(n, sizeof(float), &n))
    n = SIZE_MAX; /* xaligned aborts with file:line */
  return xaligned(n);
}

void transition_batch_alloc(transition_batch_t *b, uint32_t cap, uint32_t obs_dim,
                            uint32_t act_dim) {
  b->n = 0;
  b->cap = cap;
  b->obs_dim = obs_dim;
  b->act_dim = act_dim;
  b->obs = column(cap, obs_dim);
  b->action = column(cap, act_dim);
  b->reward = column(cap, 1);
  b->next_obs = column(cap, obs_dim);
  b->terminal = column(cap, 1);
}

void transition_batch_free(transition_batch_t *b) {
  if (!b) return;
  if (b->cap) {
    free(b->obs);
    free(b->action);
    free(b->reward);
    free(b->next_obs);
    free(b->terminal);
  }
  memset(b, 0, sizeof *b);
}
