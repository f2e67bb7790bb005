/* Learner checkpoints: everything a run needs to continue after the learner stops or dies.
 *
 * A checkpoint is a directory (the run directory's checkpoint/) holding
 *   state.td3c            the six networks, the three Adam states (moments and step counts),
 *                         the TD3 iteration count, the run's counters (env steps inserted,
 *                         updates, weights version, wall seconds), the run id and seed, the
 *                         trainer's RNG state, the flags the run was started with, and the
 *                         name of its replay file (empty when the replay was left out);
 *   replay-<id>.td3r      the replay buffer as it was (learner/replay.h's file format).
 * Both are binfile.h files (magic, format version, shapes, CRC-32; written to a temporary
 * name, fsynced, renamed). The replay file is written first under a name of its own, then
 * state.td3c, whose rename is the commit point; older replay files are removed after it. A
 * crash at any moment therefore leaves the previous checkpoint whole.
 *
 * state.td3c layout (little-endian): "TD3DCKPT", u32 version (1), u32 flags length + the
 * flags text, env id (64 bytes), u32 obs, act, u32 n + 8 actor layer sizes, u32 n + 8 critic
 * layer sizes, u64 run id, seed, inserted, updates, weights version, wall seconds (f64
 * bits), TD3 iterations, three Adam step counts, the RNG (4 x u64 state, f64 spare bits,
 * u32 has_spare), replay name (64 bytes), u64 replay inserted count, then the parameters of
 * the six networks in td3_net_t order and the Adam m and v of the actor, critic 1, critic 2
 * (nn.h layout, f32).
 *
 * One thread at a time uses a td3_t; replay_save may run beside inserts (it locks). */
#ifndef TD3_CHECKPOINT_H
#define TD3_CHECKPOINT_H

#include "error.h"
#include "replay.h"
#include "rng.h"
#include "td3.h"

#include <stdint.h>

#define CHECKPOINT_DIR "checkpoint"   /* under the run directory */
#define CHECKPOINT_STATE "state.td3c"

typedef struct checkpoint_meta {
  char env_id[65];
  uint64_t run_id, seed;
  uint64_t inserted;        /* env steps: transitions inserted into replay */
  uint64_t updates;         /* TD3 iterations */
  uint64_t weights_version; /* last published actor version */
  double wall_seconds;      /* run time so far */
  rng_t trainer_rng;        /* the trainer's sampling and smoothing-noise stream */
  uint64_t replay_rows;     /* rows restored (checkpoint_load) or written (save) */
  int has_replay;           /* the checkpoint holds the replay buffer */
} checkpoint_meta_t;

/* Writes a checkpoint of t (and replay unless it is NULL) with m's counters into dir
 * (created if needed). With a replay, m->inserted is replaced by the replay's own count at
 * the moment it was copied, so counters and buffer agree. flags_text (may be NULL): the
 * run's flags, one "--name=value" per line. Returns 0 or a TD3_E* code with err filled; the
 * previous checkpoint stays whole on error. */
int checkpoint_save(const char *dir, td3_t *t, replay_t *replay, checkpoint_meta_t *m,
                    const char *flags_text, td3_err_t *err);

/* Restores a checkpoint into t (and into replay, which must be empty, when the checkpoint
 * has one and replay is not NULL) and fills m. The environment, dimensions and layer sizes
 * must be those of t: otherwise TD3_ESHAPE with a message naming both. Other errors:
 * TD3_ENOTFOUND (no checkpoint), TD3_EFORMAT, TD3_EVERSION, TD3_ECHECKSUM, TD3_EIO. On
 * error t and replay may be partly written: the caller discards them. */
int checkpoint_load(const char *dir, const char *env_id, td3_t *t, replay_t *replay,
                    checkpoint_meta_t *m, td3_err_t *err);

/* The flags text stored in dir's checkpoint (malloc'd, caller frees), after checking the
 * file. Returns 0 or a TD3_E* code with err filled. */
int checkpoint_read_flags(const char *dir, char **text, td3_err_t *err);

/* What a checkpoint holds, read without building the networks (for `td3d checkpoint`). */
typedef struct checkpoint_info {
  checkpoint_meta_t meta;           /* counters, run id, seed, env id; has_replay */
  uint32_t obs_dim, act_dim;
  uint32_t n_actor_layers, actor_layers[NN_MAX_LAYERS];
  uint64_t td3_iterations;
  char replay_file[65];             /* "" without a replay */
  uint64_t replay_inserted;         /* its inserted count, as the state records it */
  uint64_t state_bytes, replay_bytes;  /* file sizes (replay 0 when missing) */
  int replay_missing;               /* the state names a replay file that is not there */
  char *flags;                      /* the run's flags (malloc'd: checkpoint_info_free) */
} checkpoint_info_t;

/* Reads and checks (CRC, magic, version) dir's state file into info. 0 or a TD3_E* code
 * with err filled. */
int checkpoint_describe(const char *dir, checkpoint_info_t *info, td3_err_t *err);
void checkpoint_info_free(checkpoint_info_t *info);

/* Reads the replay file a described checkpoint names (info from checkpoint_describe) and
 * checks it as `--resume` would: format, dims, CRC, and that it is the one the state file
 * expects. 0 (also when the checkpoint has no replay), or TD3_ENOTFOUND, TD3_EIO,
 * TD3_EFORMAT or TD3_ECHECKSUM with err saying what is wrong. Reads the whole file. */
int checkpoint_check_replay(const char *dir, const checkpoint_info_t *info, td3_err_t *err);

/* Removes dir's checkpoint files (a new run in the same directory must not be mistaken for
 * the old one after a crash). Missing files are not an error. */
void checkpoint_remove(const char *dir);

/* 1 if dir holds a state.td3c (not checked). */
int checkpoint_exists(const char *dir);

#endif
