/* Replay buffer (see replay.h). */
#include "replay.h"

#include "xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct replay {
  size_t capacity;     /* rows */
  uint32_t obs_dim;
  uint32_t act_dim;
  float *obs;          /* (capacity, obs_dim) */
  float *action;       /* (capacity, act_dim) */
  float *reward;       /* (capacity) */
  float *next_obs;     /* (capacity, obs_dim) */
  float *terminal;     /* (capacity) */
  size_t head;         /* next row to write */
  size_t size;         /* rows stored */
  uint64_t inserted;   /* rows inserted in total */
  pthread_mutex_t lock;
};

size_t replay_bytes(size_t capacity, uint32_t obs_dim, uint32_t act_dim) {
  size_t per_row = (2 * (size_t)obs_dim + act_dim + 2) * sizeof(float), total;
  if (!td3_size_mul(capacity, per_row, &total)) return 0;
  return total;
}

static float *column(size_t rows, size_t width) {
  size_t n;
  if (!td3_size_mul(rows, width, &n) || !td3_size_mul(n, sizeof(float), &n)) return NULL;
  void *p = NULL;
  if (posix_memalign(&p, 64, n) != 0) return NULL;
  return p;
}

replay_t *replay_new(size_t capacity, uint32_t obs_dim, uint32_t act_dim) {
  if (capacity == 0 || obs_dim == 0 || act_dim == 0) return NULL;
  if (replay_bytes(capacity, obs_dim, act_dim) == 0) return NULL;
  replay_t *r = xcalloc(1, sizeof *r);
  r->capacity = capacity;
  r->obs_dim = obs_dim;
  r->act_dim = act_dim;
  r->obs = column(capacity, obs_dim);
  r->action = column(capacity, act_dim);
  r->reward = column(capacity, 1);
  r->next_obs = column(capacity, obs_dim);
  r->terminal = column(capacity, 1);
  if (!r->obs || !r->action || !r->reward || !r->next_obs || !r->terminal) goto fail;
  if (pthread_mutex_init(&r->lock, NULL) != 0) goto fail;
  return r;
fail:
  free(r->obs);
  free(r->action);
  free(r->reward);
  free(r->next_obs);
  free(r->terminal);
  free(r);
  return NULL;
}

void replay_destroy(replay_t **pr) {
  if (!pr || !*pr) return;
  replay_t *r = *pr;
  pthread_mutex_destroy(&r->lock);
  free(r->obs);
  free(r->action);
  free(r->reward);
  free(r->next_obs);
  free(r->terminal);
  free(r);
  *pr = NULL;
}

/* Copies rows [src_row, src_row + n) of a (*, width) array to rows [dst_row, ...) of dst. */
static void copy_rows(float *dst, size_t dst_row, const float *src, size_t src_row, size_t n,
                      size_t width) {
  memcpy(dst + dst_row * width, src + src_row * width, n * width * sizeof(float));
}

void replay_insert(replay_t *r, size_t n, const float *obs, const float *action,
                   const float *reward, const float *next_obs, const float *terminal) {
  size_t skip = 0;
  if (n > r->capacity) skip = n - r->capacity; /* only the newest rows survive */
  pthread_mutex_lock(&r->lock);
  r->inserted += n;
  size_t left = n - skip, src = skip;
  while (left > 0) {
    size_t chunk = r->capacity - r->head;
    if (chunk > left) chunk = left;
    copy_rows(r->obs, r->head, obs, src, chunk, r->obs_dim);
    copy_rows(r->action, r->head, action, src, chunk, r->act_dim);
    copy_rows(r->reward, r->head, reward, src, chunk, 1);
    copy_rows(r->next_obs, r->head, next_obs, src, chunk, r->obs_dim);
    copy_rows(r->terminal, r->head, terminal, src, chunk, 1);
    r->head = (r->head + chunk) % r->capacity;
    r->size = r->size + chunk > r->capacity ? r->capacity : r->size + chunk;
    src += chunk;
    left -= chunk;
  }
  pthread_mutex_unlock(&r->lock);
}

void replay_sample(replay_t *r, rng_t *rng, size_t n, replay_batch_t *out) {
  size_t od = r->obs_dim, ad = r->act_dim;
  pthread_mutex_lock(&r->lock);
  size_t size = r->size;
  for (size_t i = 0; i < n; i++) {
    size_t j = (size_t)rng_below(rng, size);
    memcpy(out->obs + i * od, r->obs + j * od, od * sizeof(float));
    memcpy(out->action + i * ad, r->action + j * ad, ad * sizeof(float));
    out->reward[i] = r->reward[j];
    memcpy(out->next_obs + i * od, r->next_obs + j * od, od * sizeof(float));
    out->terminal[i] = r->terminal[j];
  }
  pthread_mutex_unlock(&r->lock);
}

size_t replay_size(replay_t *r) {
  pthread_mutex_lock(&r->lock);
  size_t s = r->size;
  pthread_mutex_unlock(&r->lock);
  return s;
}

size_t replay_capacity(const replay_t *r) { return r->capacity; }

uint64_t replay_inserted(replay_t *r) {
  pthread_mutex_lock(&r->lock);
  uint64_t v = r->inserted;
  pthread_mutex_unlock(&r->lock);
  return v;
}

void replay_batch_alloc(replay_batch_t *b, size_t cap, uint32_t obs_dim, uint32_t act_dim) {
  b->cap = cap;
  b->obs = xaligned(cap * obs_dim * sizeof(float));
  b->action = xaligned(cap * act_dim * sizeof(float));
  b->reward = xaligned(cap * sizeof(float));
  b->next_obs = xaligned(cap * obs_dim * sizeof(float));
  b->terminal = xaligned(cap * sizeof(float));
}

void replay_batch_free(replay_batch_t *b) {
  free(b->obs);
  free(b->action);
  free(b->reward);
  free(b->next_obs);
  free(b->terminal);
  memset(b, 0, sizeof *b);
}
