/* A batch of transitions: the one row format that actors fill, the wire carries, replay
 * stores and samples, and TD3 trains on.
 *
 * Struct of arrays, row-major, float32: obs (cap, obs_dim), action (cap, act_dim),
 * reward (cap), next_obs (cap, obs_dim), terminal (cap; 1.0 for a real end of the task, 0.0
 * otherwise, a time limit included). The first n rows are meaningful. The same layout as
 * replay's columns and the ExperienceBatch's packed arrays, so every boundary passes pointers
 * or copies whole rows, never converts.
 *
 * Ownership: a batch either owns its arrays (transition_batch_alloc, cap > 0; freed with
 * transition_batch_free) or borrows them (cap 0: a decoded frame's arrays, or a caller's own
 * arrays described by a designated initializer); the struct says nothing of the pointees'
 * lifetime beyond that. Thread safety: plain data; a batch belongs to one thread at a time. */
#ifndef TD3_TRANSITION_H
#define TD3_TRANSITION_H

#include <stddef.h>
#include <stdint.h>

typedef struct transition_batch {
  uint32_t n;        /* rows held */
  uint32_t cap;      /* rows the arrays have room for; 0 when they are borrowed */
  uint32_t obs_dim;  /* floats per observation */
  uint32_t act_dim;  /* floats per action */
  float *obs;        /* (cap, obs_dim) */
  float *action;     /* (cap, act_dim) */
  float *reward;     /* (cap) */
  float *next_obs;   /* (cap, obs_dim) */
  float *terminal;   /* (cap), 0.0 or 1.0 */
} transition_batch_t;

/* Allocates the five arrays for cap rows (each 64-byte aligned, on its own: a caller may swap
 * obs and next_obs) and sets n = 0. Aborts on out-of-memory or a size that overflows. */
void transition_batch_alloc(transition_batch_t *b, uint32_t cap, uint32_t obs_dim,
                            uint32_t act_dim);
/* Frees what transition_batch_alloc allocated and zeroes *b. NULL-safe; safe to call twice. */
void transition_batch_free(transition_batch_t *b);

/* For a store that keeps its own row count, which may pass uint32 (replay): allocates the five
 * arrays of *b for rows rows as transition_batch_alloc does (b->obs_dim and b->act_dim set by
 * the caller; n and cap are left alone), without aborting. Returns 0, or -1 with the five
 * pointers NULL and nothing left allocated when a size overflows or memory runs out. The
 * caller owns the arrays and frees them with transition_columns_free. */
int transition_columns_alloc(transition_batch_t *b, size_t rows);
/* Frees the five arrays of *b and sets their pointers to NULL; other fields stay. */
void transition_columns_free(transition_batch_t *b);

#endif
