/* Transition batches (see transition.h). */
#include "transition.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Allocates the five arrays of b (its obs_dim and act_dim set) for rows rows, each 64-byte
 * aligned on its own. With abort_on_oom, a size that overflows or memory that runs out aborts
 * with file:line (xaligned); without, returns -1 with nothing left allocated. Returns 0. */
static int alloc_columns(transition_batch_t *b, size_t rows, int abort_on_oom) {
  float **col[5] = {&b->obs, &b->action, &b->reward, &b->next_obs, &b->terminal};
  const size_t width[5] = {b->obs_dim, b->act_dim, 1, b->obs_dim, 1};
  for (int i = 0; i < 5; i++) {
    size_t n;
    int fits = td3_size_mul(rows, width[i], &n) && td3_size_mul(n, sizeof(float), &n);
    if (abort_on_oom) {
      *col[i] = xaligned(fits ? n : SIZE_MAX); /* SIZE_MAX: xaligned aborts with file:line */
      continue;
    }
    void *p = NULL;
    if (!fits || posix_memalign(&p, 64, n) != 0) {
      transition_columns_free(b);
      return -1;
    }
    *col[i] = p;
  }
  return 0;
}

void transition_batch_alloc(transition_batch_t *b, uint32_t cap, uint32_t obs_dim,
                            uint32_t act_dim) {
  b->n = 0;
  b->cap = cap;
  b->obs_dim = obs_dim;
  b->act_dim = act_dim;
  b->obs = b->action = b->reward = b->next_obs = b->terminal = NULL;
  alloc_columns(b, cap, 1);
}

int transition_columns_alloc(transition_batch_t *b, size_t rows) {
  b->obs = b->action = b->reward = b->next_obs = b->terminal = NULL;
  return alloc_columns(b, rows, 0);
}

void transition_columns_free(transition_batch_t *b) {
  free(b->obs);
  free(b->action);
  free(b->reward);
  free(b->next_obs);
  free(b->terminal);
  b->obs = b->action = b->reward = b->next_obs = b->terminal = NULL;
}

void transition_batch_free(transition_batch_t *b) {
  if (!b) return;
  if (b->cap) transition_columns_free(b);
  memset(b, 0, sizeof *b);
}
