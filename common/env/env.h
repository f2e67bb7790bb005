/* The environment interface: what an actor steps and what serial mode steps.
 *
 * An environment is an object with fixed dimensions, action bounds and an episode step limit,
 * and three operations: reset(seed) -> first observation; step(action) -> next observation,
 * reward, terminal; destroy. `terminal` means a real end of the task (fell over, reached the
 * goal). The time limit is not the environment's business: the caller counts steps and
 * truncates at info.max_episode_steps, and a truncated transition is not terminal.
 *
 * Environments are created by id through the registry (env_create); an id of the form
 * `plugin:/path/lib.so[:ARG]` loads a user's shared library (td3d_env_plugin.h). Several copies
 * of one env are stepped together through env_vec.h.
 *
 * Built in: Pendulum-v1 and MountainCarContinuous-v0 (closed form, nothing to load); the
 * Gymnasium MuJoCo v4 tasks HalfCheetah-v4, Hopper-v4, Walker2d-v4, Ant-v4,
 * InvertedPendulum-v4 and Reacher-v4, which load Gymnasium's model file from
 * env_options_t.model_path, else from env_options_t.assets_dir, else from $TD3D_MUJOCO_ASSETS,
 * else (neither given) from a pip-installed Gymnasium;
 * and Runner-td3d-v0, a planar runner on the project's own model (common/env/models/), found
 * through model_path, $TD3D_MODELS_DIR, the source tree and the install tree (env_mujoco.h
 * says more).
 *
 * Ownership: env_create returns a new object the caller owns; env_destroy(&e) frees it and
 * sets e to NULL. The info struct and its bound arrays are owned by the env and live as long
 * as it does. Thread safety: an env belongs to one thread; different envs are independent. */
#ifndef TD3_ENV_H
#define TD3_ENV_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define ENV_MAX_ID 64       /* bytes of an env id, including the NUL */
#define ENV_MAX_DIM 4096    /* obs_dim and act_dim */

typedef struct env env_t;

typedef struct env_info {
  char id[ENV_MAX_ID];          /* registry id, e.g. "Pendulum-v1" */
  uint32_t obs_dim;
  uint32_t act_dim;
  const float *action_low;      /* (act_dim) */
  const float *action_high;     /* (act_dim), each > action_low */
  uint32_t max_episode_steps;   /* truncation limit the caller applies */
} env_info_t;

typedef struct env_ops {
  /* Starts an episode from a state drawn with this seed; writes obs (obs_dim).
   * Returns 0 or a negative TD3_E* code. */
  int (*reset)(env_t *e, uint64_t seed, float *obs);
  /* Applies action (act_dim, not yet clipped: each env clips as its definition says);
   * writes next_obs (obs_dim), *reward and *terminal (0 or 1). Returns 0, or a negative code
   * (e.g. TD3_ENONFINITE when the simulator produced NaN: the caller cuts the episode). */
  int (*step)(env_t *e, const float *action, float *next_obs, float *reward, int *terminal);
  /* Frees everything the env owns, including e itself. */
  void (*destroy)(env_t *e);
} env_ops_t;

struct env {
  const env_ops_t *ops;
  env_info_t info;
};

/* Options that some environments need; zero-initialise and fill what applies. */
typedef struct env_options {
  const char *model_path;    /* MuJoCo: an explicit model file (--model); wins over the rest */
  const char *assets_dir;    /* MuJoCo: directory with Gymnasium's model files (--mujoco-assets);
                                when NULL, $TD3D_MUJOCO_ASSETS is used, else a
                                pip-installed Gymnasium's (env_mujoco.h) */
} env_options_t;

#define ENV_PLUGIN_PREFIX "plugin:"  /* env ids that load a shared library */

/* Creates the environment named id. opts may be NULL. Returns the env, or NULL with err
 * filled (unknown id: the message lists the known ones; a missing model file: where it looked). */
env_t *env_create(const char *id, const env_options_t *opts, td3_err_t *err);

static inline int env_reset(env_t *e, uint64_t seed, float *obs) {
  return e->ops->reset(e, seed, obs);
}

static inline int env_step(env_t *e, const float *action, float *next_obs, float *reward,
                           int *terminal) {
  return e->ops->step(e, action, next_obs, reward, terminal);
}

/* Destroys *pe (NULL is fine) and sets *pe to NULL. */
void env_destroy(env_t **pe);

/* The built-in environments, for listing. */
typedef struct env_entry {
  const char *id;
  const char *summary;
  env_t *(*create)(const env_options_t *opts, td3_err_t *err);
} env_entry_t;

/* Returns the registry table and sets *n to its length. */
const env_entry_t *env_registry(size_t *n);

/* Constructors of the built-in environments (one file each). Each returns a new env or NULL
 * with err filled; opts is borrowed for the call only. */
env_t *env_pendulum_new(const env_options_t *opts, td3_err_t *err);
env_t *env_mountaincar_new(const env_options_t *opts, td3_err_t *err);
/* Puts a MountainCar env into state (x, v), for tests and demonstrations. Returns 0,
 * TD3_EINVAL if e is not a MountainCar env, TD3_ENONFINITE for NaN or infinity. */
int env_mountaincar_set_state(env_t *e, double x, double v);
/* MuJoCo tasks (env_mujoco.c). */
env_t *env_half_cheetah_new(const env_options_t *opts, td3_err_t *err);
env_t *env_hopper_new(const env_options_t *opts, td3_err_t *err);
env_t *env_walker2d_new(const env_options_t *opts, td3_err_t *err);
env_t *env_ant_new(const env_options_t *opts, td3_err_t *err);
env_t *env_inverted_pendulum_new(const env_options_t *opts, td3_err_t *err);
env_t *env_reacher_new(const env_options_t *opts, td3_err_t *err);
env_t *env_runner_new(const env_options_t *opts, td3_err_t *err);

/* Loads the plugin that spec names: "plugin:/path/lib.so[:ARG]" or "/path/lib.so[:ARG]"
 * (env_plugin.c; the ABI is td3d_env_plugin.h). The path ends at the first ':' after the
 * prefix; everything after it is ARG, handed to the plugin's create(). */
env_t *env_plugin_new(const char *spec, td3_err_t *err);

#endif
