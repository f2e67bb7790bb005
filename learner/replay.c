/* Replay buffer (see replay.h). */
#include "replay.h"

#include "binfile.h"
#include "xalloc.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct replay {
  size_t capacity;        /* rows */
  transition_batch_t col; /* the stored rows, (capacity, obs_dim) etc.; owned; n, cap unused */
  size_t head;            /* next row to write */
  size_t size;            /* rows stored */
  uint64_t inserted;      /* rows inserted in total */
  pthread_mutex_t lock;
};

size_t replay_bytes(size_t capacity, uint32_t obs_dim, uint32_t act_dim) {
  size_t per_row = (2 * (size_t)obs_dim + act_dim + 2) * sizeof(float), total;
  if (!td3_size_mul(capacity, per_row, &total)) return 0;
  return total;
}

replay_t *replay_new(size_t capacity, uint32_t obs_dim, uint32_t act_dim) {
  if (capacity == 0 || obs_dim == 0 || act_dim == 0) return NULL;
  size_t bytes = replay_bytes(capacity, obs_dim, act_dim);
  if (bytes == 0 || !td3_memory_fits(bytes)) return NULL;
  replay_t *r = xcalloc(1, sizeof *r);
  r->capacity = capacity;
  r->col.obs_dim = obs_dim;
  r->col.act_dim = act_dim;
  if (transition_columns_alloc(&r->col, capacity) != 0) goto fail;
  if (pthread_mutex_init(&r->lock, NULL) != 0) goto fail;
  return r;
fail:
  transition_columns_free(&r->col);
  free(r);
  return NULL;
}

void replay_destroy(replay_t **pr) {
  if (!pr || !*pr) return;
  replay_t *r = *pr;
  pthread_mutex_destroy(&r->lock);
  transition_columns_free(&r->col);
  free(r);
  *pr = NULL;
}

/* Copies rows [src_row, src_row + n) of a (*, width) array to rows [dst_row, ...) of dst. */
static void copy_rows(float *dst, size_t dst_row, const float *src, size_t src_row, size_t n,
                      size_t width) {
  memcpy(dst + dst_row * width, src + src_row * width, n * width * sizeof(float));
}

void replay_insert(replay_t *r, const transition_batch_t *b, uint32_t first, uint32_t n) {
  assert(b->obs_dim == r->col.obs_dim && b->act_dim == r->col.act_dim && (size_t)first + n <= b->n);
  size_t skip = 0;
  if (n > r->capacity) skip = n - r->capacity; /* only the newest rows survive */
  pthread_mutex_lock(&r->lock);
  r->inserted += n;
  size_t left = n - skip, src = first + skip;
  while (left > 0) {
    size_t chunk = r->capacity - r->head;
    if (chunk > left) chunk = left;
    copy_rows(r->col.obs, r->head, b->obs, src, chunk, r->col.obs_dim);
    copy_rows(r->col.action, r->head, b->action, src, chunk, r->col.act_dim);
    copy_rows(r->col.reward, r->head, b->reward, src, chunk, 1);
    copy_rows(r->col.next_obs, r->head, b->next_obs, src, chunk, r->col.obs_dim);
    copy_rows(r->col.terminal, r->head, b->terminal, src, chunk, 1);
    r->head = (r->head + chunk) % r->capacity;
    r->size = r->size + chunk > r->capacity ? r->capacity : r->size + chunk;
    src += chunk;
    left -= chunk;
  }
  pthread_mutex_unlock(&r->lock);
}

uint64_t replay_drop_since(replay_t *r, uint64_t inserted) {
  pthread_mutex_lock(&r->lock);
  uint64_t newer = r->inserted > inserted ? r->inserted - inserted : 0;
  size_t drop = newer < r->size ? (size_t)newer : r->size;
  r->head = (r->head + r->capacity - drop) % r->capacity;
  r->size -= drop;
  pthread_mutex_unlock(&r->lock);
  return drop;
}

void replay_sample(replay_t *r, rng_t *rng, uint32_t n, transition_batch_t *out) {
  assert(n <= out->cap && out->obs_dim == r->col.obs_dim && out->act_dim == r->col.act_dim);
  size_t od = r->col.obs_dim, ad = r->col.act_dim;
  pthread_mutex_lock(&r->lock);
  size_t size = r->size;
  /* The stored rows are the `size` before head (ring order). A full ring or one that never
   * dropped rows (head == size) holds them at 0..size-1, the positions drawn directly, so
   * sampling draws what it always drew; after replay_drop_since they start further on. */
  size_t first = size == r->capacity ? 0 : (r->head + r->capacity - size) % r->capacity;
  for (size_t i = 0; i < n; i++) {
    size_t j = (size_t)rng_below(rng, size);
    j = first + j < r->capacity ? first + j : first + j - r->capacity;
    memcpy(out->obs + i * od, r->col.obs + j * od, od * sizeof(float));
    memcpy(out->action + i * ad, r->col.action + j * ad, ad * sizeof(float));
    out->reward[i] = r->col.reward[j];
    memcpy(out->next_obs + i * od, r->col.next_obs + j * od, od * sizeof(float));
    out->terminal[i] = r->col.terminal[j];
  }
  pthread_mutex_unlock(&r->lock);
  out->n = n;
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

/* ---------------------------------------------------------------------------------------- */
/* Replay files                                                                             */

#define REPLAY_MAGIC "td3drply"
#define REPLAY_VERSION 1u
#define REPLAY_CHUNK 4096u /* rows per block in the file */

/* Writes n rows of a (capacity, width) ring column from row on, wrapping at the end. */
static void write_rows(binf_t *f, const float *col, size_t width, size_t row, size_t n,
                       size_t capacity) {
  size_t first = capacity - row < n ? capacity - row : n;
  binf_write(f, col + row * width, first * width * sizeof(float));
  if (n > first) binf_write(f, col, (n - first) * width * sizeof(float));
}

int replay_save(replay_t *r, const char *path, uint64_t *inserted, td3_err_t *err) {
  binf_t *f = xmalloc(sizeof *f);
  int rc = binf_open(f, path, err);
  if (rc) {
    free(f);
    return rc;
  }
  const size_t od = r->col.obs_dim, ad = r->col.act_dim;
  pthread_mutex_lock(&r->lock);
  binf_write(f, REPLAY_MAGIC, 8);
  binf_u32(f, REPLAY_VERSION);
  binf_u32(f, r->col.obs_dim);
  binf_u32(f, r->col.act_dim);
  binf_u64(f, r->inserted);
  binf_u64(f, r->size);
  binf_u64(f, r->capacity);
  binf_u64(f, r->head);
  /* oldest to newest, in blocks of REPLAY_CHUNK rows (the last one shorter) */
  size_t row = (r->head + r->capacity - r->size) % r->capacity, left = r->size;
  while (left > 0) {
    size_t n = left > REPLAY_CHUNK ? REPLAY_CHUNK : left;
    write_rows(f, r->col.obs, od, row, n, r->capacity);
    write_rows(f, r->col.action, ad, row, n, r->capacity);
    write_rows(f, r->col.reward, 1, row, n, r->capacity);
    write_rows(f, r->col.next_obs, od, row, n, r->capacity);
    write_rows(f, r->col.terminal, 1, row, n, r->capacity);
    row = (row + n) % r->capacity;
    left -= n;
  }
  if (inserted) *inserted = r->inserted;
  pthread_mutex_unlock(&r->lock);
  rc = binf_commit(f, err);
  free(f);
  return rc;
}

/* A replay file's header, as replay_save wrote it. */
typedef struct header {
  uint32_t od, ad;
  uint64_t inserted, rows, ring_cap, ring_head;
} header_t;

/* Opens path and reads its header, checking magic, version, the dims (want_od/want_ad, 0:
 * any) and that the rows announced fit in the file. 0 (f open, positioned at the rows), or
 * an error with err filled (f closed). */
static int open_file(binfr_t *f, const char *path, uint32_t want_od, uint32_t want_ad,
                     header_t *h, td3_err_t *err) {
  int rc = binfr_open(f, path, err);
  if (rc) return rc;
  char magic[8];
  binfr_read(f, magic, 8);
  uint32_t version = binfr_u32(f);
  h->od = binfr_u32(f);
  h->ad = binfr_u32(f);
  h->inserted = binfr_u64(f);
  h->rows = binfr_u64(f);
  h->ring_cap = binfr_u64(f);
  h->ring_head = binfr_u64(f);
  if (f->bad || memcmp(magic, REPLAY_MAGIC, 8) != 0)
    rc = td3_err_set(err, TD3_EFORMAT, "%s is not a td3d replay file", path);
  else if (version != REPLAY_VERSION)
    rc = td3_err_set(err, TD3_EFORMAT, "%s has replay format version %u; this td3d reads %u",
                     path, version, REPLAY_VERSION);
  else if ((want_od && h->od != want_od) || (want_ad && h->ad != want_ad) || h->od == 0 ||
           h->ad == 0 || h->rows > h->inserted || h->rows > h->ring_cap ||
           (h->ring_cap > 0 && h->ring_head >= h->ring_cap))
    rc = td3_err_set(err, TD3_EFORMAT,
                     "%s holds transitions with obs %u, act %u (%llu of %llu); this run has "
                     "obs %u, act %u",
                     path, h->od, h->ad, (unsigned long long)h->rows,
                     (unsigned long long)h->inserted, want_od, want_ad);
  else if (h->rows > f->left / ((2ull * h->od + h->ad + 2) * sizeof(float)))
    rc = td3_err_set(err, TD3_EFORMAT, "%s is shorter than the %llu transitions it announces",
                     path, (unsigned long long)h->rows);
  if (rc) binfr_close(f);
  return rc;
}

int replay_check(const char *path, uint32_t obs_dim, uint32_t act_dim, uint64_t *rows,
                 uint64_t *inserted, td3_err_t *err) {
  binfr_t f;
  header_t h;
  int rc = open_file(&f, path, obs_dim, act_dim, &h, err);
  if (rc) return rc;
  uint8_t *chunk = xmalloc(65536);
  uint64_t left = h.rows * (2ull * h.od + h.ad + 2) * sizeof(float);
  while (left > 0 && !f.bad) {
    size_t n = left > 65536 ? 65536 : (size_t)left;
    binfr_read(&f, chunk, n);
    left -= n;
  }
  free(chunk);
  if ((rc = binfr_finish(&f, err)) != 0) return rc;
  if (rows) *rows = h.rows;
  if (inserted) *inserted = h.inserted;
  return 0;
}

int replay_load(replay_t *r, const char *path, td3_err_t *err) {
  binfr_t f;
  header_t h;
  int rc = open_file(&f, path, r->col.obs_dim, r->col.act_dim, &h, err);
  if (rc) return rc;
  const uint32_t od = h.od, ad = h.ad;
  const uint64_t inserted = h.inserted, rows = h.rows, ring_cap = h.ring_cap,
                 ring_head = h.ring_head;
  transition_batch_t block;
  transition_batch_alloc(&block, REPLAY_CHUNK, od, ad);
  /* The same capacity: every row goes back to its own ring position, so sampling with the
   * same RNG state draws the same transitions as before the save. */
  if (ring_cap == r->capacity && rows > 0) {
    pthread_mutex_lock(&r->lock);
    r->head = (size_t)((ring_head + ring_cap - rows) % ring_cap);
    pthread_mutex_unlock(&r->lock);
  }
  uint64_t left = rows;
  while (left > 0 && !f.bad) {
    uint32_t n = left > REPLAY_CHUNK ? REPLAY_CHUNK : (uint32_t)left;
    binfr_read(&f, block.obs, (size_t)n * od * sizeof(float));
    binfr_read(&f, block.action, (size_t)n * ad * sizeof(float));
    binfr_read(&f, block.reward, n * sizeof(float));
    binfr_read(&f, block.next_obs, (size_t)n * od * sizeof(float));
    binfr_read(&f, block.terminal, n * sizeof(float));
    block.n = n;
    replay_insert(r, &block, 0, n);
    left -= n;
  }
  transition_batch_free(&block);
  rc = binfr_finish(&f, err);
  pthread_mutex_lock(&r->lock);
  if (rc == 0) {
    r->inserted = inserted;
  } else {
    r->head = r->size = 0;
    r->inserted = 0;
  }
  pthread_mutex_unlock(&r->lock);
  return rc;
}
