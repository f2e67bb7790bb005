/* td3d environment plugins: the ABI between td3d and a user's simulator (version 1).
 *
 * A plugin is a shared library that exports one symbol, TD3D_ENV_PLUGIN_SYMBOL
 * ("td3d_env_plugin_v1"): a constant td3d_env_plugin_t describing the environment and holding
 * its functions. td3d loads it with dlopen when given an environment id of the form
 *
 *     plugin:/path/to/libmysim.so            or     plugin:/path/to/libmysim.so:ARG
 *
 * (`td3d run --env plugin:...`, `td3d envs plugin:...`). The path ends at the first ':' after
 * "plugin:"; everything after that colon is ARG, handed verbatim to create() (for example a
 * config file or "difficulty=3"). Learner and actors must be given the same id.
 *
 * This header is all a plugin needs: it includes only <stddef.h> and <stdint.h>, and
 * `cmake --install` puts it at <prefix>/include/td3d/td3d_env_plugin.h.
 *
 * Writing one in C:
 *
 *     #include <td3d/td3d_env_plugin.h>
 *     static const float lo[1] = {-1}, hi[1] = {1};
 *     static void *my_create(const char *arg, char *err, size_t err_len) { ... }
 *     ...
 *     TD3D_ENV_PLUGIN_EXPORT const td3d_env_plugin_t td3d_env_plugin_v1 = {
 *         .abi_version = TD3D_ENV_PLUGIN_ABI_VERSION, .name = "MySim-v0",
 *         .obs_dim = 3, .act_dim = 1, .action_low = lo, .action_high = hi,
 *         .max_episode_steps = 1000, .create = my_create, .reset = my_reset,
 *         .step = my_step, .destroy = my_destroy};
 *
 *     cc -O2 -fPIC -shared -o libmysim.so mysim.c
 *
 * In C++, give the symbol C linkage (TD3D_ENV_PLUGIN_EXPORT does, when compiled as C++) and
 * never let an exception cross into td3d: catch everything inside each function and return
 * an error code instead. Designated initialisers need C++20; otherwise fill the fields in
 * declaration order:
 *
 *     TD3D_ENV_PLUGIN_EXPORT const td3d_env_plugin_t td3d_env_plugin_v1 = {
 *         TD3D_ENV_PLUGIN_ABI_VERSION, "MySim-v0", 3, 1, lo, hi, 1000,
 *         my_create, my_reset, my_step, my_destroy};
 *
 *     c++ -O2 -fPIC -shared -o libmysim.so mysim.cpp
 *
 * Link the plugin with everything it needs (-l...): td3d resolves nothing for it. A plugin
 * built with -fvisibility=hidden still exports the symbol (TD3D_ENV_PLUGIN_EXPORT sets default
 * visibility).
 *
 * What td3d checks when it loads a plugin, refusing it with a message that says which: the
 * file opens (dlopen), the symbol exists, abi_version equals TD3D_ENV_PLUGIN_ABI_VERSION, name
 * is 1..63 printable characters, 1 <= obs_dim, act_dim <= 4096, every bound is finite with
 * action_low[i] < action_high[i], max_episode_steps >= 1, and no function pointer is NULL.
 * After every step it checks that next_obs and reward are finite: NaN or infinity makes td3d
 * drop the transition, count the error, end the episode and reset (the plugin may also return
 * TD3D_ENV_PLUGIN_ENONFINITE itself).
 *
 * Contract of the functions (the handle is whatever create returns; td3d never looks inside):
 * - create(arg, err, err_len): makes one independent instance. arg is never NULL (empty when
 *   the id has no ":ARG"). Returns NULL on failure, after writing a NUL-terminated reason of
 *   at most err_len bytes into err.
 * - reset(handle, seed, obs): starts an episode from a state drawn with this seed (the same
 *   seed must give the same episode) and writes obs[obs_dim]. Returns 0, or nonzero on failure.
 * - step(handle, action, next_obs, reward, terminal): applies action[act_dim] (finite, but
 *   not necessarily within the bounds: clip it as the environment's definition says); writes
 *   next_obs[obs_dim], *reward and *terminal (nonzero for a real end of the task: fell over,
 *   reached the goal). Do NOT end episodes on a time limit: td3d truncates at
 *   max_episode_steps itself and treats a truncation as not terminal. Returns 0, or nonzero
 *   on failure (the episode is cut and counted as an error).
 * - destroy(handle): frees the instance. Called once per successful create.
 * td3d may create several instances in one process and call different instances from
 * different threads at the same time; one instance is only ever used by one thread at a
 * time. Keep state in the instance, not in globals (or guard the globals yourself).
 * The library stays loaded until the last instance is destroyed. */
#ifndef TD3D_ENV_PLUGIN_H
#define TD3D_ENV_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define TD3D_ENV_PLUGIN_ABI_VERSION 1u
#define TD3D_ENV_PLUGIN_SYMBOL "td3d_env_plugin_v1"
#define TD3D_ENV_PLUGIN_MAX_DIM 4096u      /* obs_dim and act_dim */
#define TD3D_ENV_PLUGIN_MAX_NAME 63u       /* characters of name */

/* Return codes of reset and step (any other nonzero value is a generic failure). */
#define TD3D_ENV_PLUGIN_OK 0
#define TD3D_ENV_PLUGIN_EFAIL (-1)        /* the simulator failed */
#define TD3D_ENV_PLUGIN_ENONFINITE (-2)   /* the state became NaN or infinite */

#if defined(__cplusplus)
#define TD3D_ENV_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define TD3D_ENV_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td3d_env_plugin {
  uint32_t abi_version;        /* TD3D_ENV_PLUGIN_ABI_VERSION */
  const char *name;            /* env id reported to td3d and the learner, e.g. "MySim-v0" */
  uint32_t obs_dim;            /* observation length, 1..4096 */
  uint32_t act_dim;            /* action length, 1..4096 */
  const float *action_low;     /* (act_dim) finite lower bounds */
  const float *action_high;    /* (act_dim) finite upper bounds, each > action_low */
  uint32_t max_episode_steps;  /* td3d truncates episodes here (not terminal) */
  void *(*create)(const char *arg, char *err, size_t err_len);
  int (*reset)(void *handle, uint64_t seed, float *obs);
  int (*step)(void *handle, const float *action, float *next_obs, float *reward,
              int *terminal);
  void (*destroy)(void *handle);
} td3d_env_plugin_t;

#ifdef __cplusplus
}
#endif

#endif
