/* The replay buffer: a preallocated ring of struct-of-arrays float32 columns.
 *
 * Columns: obs (capacity, obs_dim), action (capacity, act_dim), reward (capacity),
 * next_obs (capacity, obs_dim), terminal (capacity). Memory is
 * capacity x (2 obs_dim + act_dim + 2) x 4 bytes, all allocated by replay_new. When full, the
 * oldest transitions are overwritten (FIFO). Rows come in and go out as transition batches
 * (transition.h: the same columns, so a row is copied with one memcpy per column). Sampling is
 * uniform with replacement over the stored transitions, drawn from the caller's RNG stream,
 * and copies rows into a batch the caller owns.
 *
 * Thread safety: one writer (insert) and one reader (sample) may run on different threads;
 * each call holds an internal mutex only for its copy. */
#ifndef TD3_REPLAY_H
#define TD3_REPLAY_H

#include "error.h"
#include "rng.h"
#include "transition.h"

#include <stddef.h>
#include <stdint.h>

typedef struct replay replay_t;

/* Bytes the columns of a buffer of this shape take; 0 if the product overflows. */
size_t replay_bytes(size_t capacity, uint32_t obs_dim, uint32_t act_dim);

/* Allocates a buffer. Returns NULL if capacity or dims are zero, the size overflows, or the
 * memory cannot be had (the caller reports replay_bytes to the user). */
replay_t *replay_new(size_t capacity, uint32_t obs_dim, uint32_t act_dim);
void replay_destroy(replay_t **pr);

/* Appends rows [first, first + n) of b (first + n <= b->n; b's dims are the buffer's). n may
 * exceed the capacity: only the last `capacity` rows stay. b is borrowed for the call. */
void replay_insert(replay_t *r, const transition_batch_t *b, uint32_t first, uint32_t n);

/* Drops the rows inserted after the moment the buffer's inserted count was `inserted` (the
 * newest ones; rows they overwrote are not brought back), so that sampling never draws them
 * again. The inserted count stays as it is (it counts what arrived). Returns the rows
 * dropped. For a rollback to a checkpoint that held `inserted` transitions. */
uint64_t replay_drop_since(replay_t *r, uint64_t inserted);

/* Copies n rows drawn uniformly with replacement into out and sets out->n = n (n <= out->cap,
 * out's dims are the buffer's, size > 0). out is a batch the caller allocated once
 * (transition_batch_alloc); nothing is allocated here. */
void replay_sample(replay_t *r, rng_t *rng, uint32_t n, transition_batch_t *out);

size_t replay_size(replay_t *r);          /* transitions stored now */
size_t replay_capacity(const replay_t *r);
uint64_t replay_inserted(replay_t *r);    /* transitions inserted since creation */

/* Replay files (checkpoints): magic "td3drply", format version, dims, transitions inserted
 * in total, rows stored, the ring's capacity and next row, then the rows oldest first in blocks of 4096 (each block: obs,
 * action, reward, next_obs, terminal columns of its rows), then a CRC-32 (common/base/binfile.h);
 * written to a temporary name and renamed.
 *
 * replay_save writes the buffer as it is now, holding the lock for the copy (inserts wait),
 * and reports the inserted count of that moment in *inserted (may be NULL). Returns 0 or
 * TD3_EIO with err filled. */
int replay_save(replay_t *r, const char *path, uint64_t *inserted, td3_err_t *err);

/* Fills an empty buffer from a replay file: the rows (only the newest `capacity` if the
 * file holds more; with the saved capacity, each at its saved ring position) and the
 * inserted count. Dims must match. Returns 0, or TD3_ENOTFOUND,
 * TD3_EIO, TD3_EFORMAT or TD3_ECHECKSUM with err filled; on error the buffer is empty. */
int replay_load(replay_t *r, const char *path, td3_err_t *err);

/* Reads a whole replay file and checks it as replay_load would (magic, version, dims when
 * obs_dim/act_dim are not 0, length, CRC) without loading it: for `td3d checkpoint`. Fills
 * *rows and *inserted (either may be NULL). Returns 0, or TD3_ENOTFOUND, TD3_EIO,
 * TD3_EFORMAT or TD3_ECHECKSUM with err saying what is wrong. */
int replay_check(const char *path, uint32_t obs_dim, uint32_t act_dim, uint64_t *rows,
                 uint64_t *inserted, td3_err_t *err);

#endif
