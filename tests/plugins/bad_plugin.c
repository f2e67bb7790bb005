/* Deliberately broken environment plugins, one per way td3d must refuse a plugin.
 *
 * Built once per case with -DBAD_CASE=<name>, each into its own library (tests/env.cmake);
 * test_env_plugin loads each and checks the error it gets. Everything not broken on purpose
 * is a valid one-dimensional environment. */
#include "td3d_env_plugin.h"

#include <math.h>
#include <stdlib.h>

#define BAD_ABI 1          /* abi_version 99 */
#define BAD_OBS_ZERO 2     /* obs_dim 0 */
#define BAD_ACT_BIG 3      /* act_dim above the limit */
#define BAD_BOUNDS_ORDER 4 /* low > high */
#define BAD_BOUNDS_NAN 5   /* a NaN bound */
#define BAD_NULL_FN 6      /* step is NULL */
#define BAD_NO_SYMBOL 7    /* exports a symbol with the wrong name */
#define BAD_V2_ONLY 8      /* exports only a future version's symbol */
#define BAD_NAME 9         /* name with a space */
#define BAD_MAX_STEPS 10   /* max_episode_steps 0 */

#ifndef BAD_CASE
#error "define BAD_CASE"
#endif

static const float lo[1] = {BAD_CASE == BAD_BOUNDS_ORDER ? 1.0f : -1.0f};
static const float hi[1] = {BAD_CASE == BAD_BOUNDS_ORDER ? -1.0f
                            : BAD_CASE == BAD_BOUNDS_NAN ? NAN
                                                         : 1.0f};

static void *bad_create(const char *arg, char *err, size_t err_len) {
  (void)arg;
  (void)err;
  (void)err_len;
  return calloc(1, 1);
}

static int bad_reset(void *h, uint64_t seed, float *obs) {
  (void)h;
  (void)seed;
  obs[0] = 0.0f;
  return 0;
}

static int bad_step(void *h, const float *action, float *next_obs, float *reward,
                    int *terminal) {
  (void)h;
  next_obs[0] = action[0];
  *reward = 0.0f;
  *terminal = 0;
  return 0;
}

static void bad_destroy(void *h) { free(h); }

#if BAD_CASE == BAD_NO_SYMBOL
#define SYMBOL td3d_env_plugin
#elif BAD_CASE == BAD_V2_ONLY
#define SYMBOL td3d_env_plugin_v2
#else
#define SYMBOL td3d_env_plugin_v1
#endif

TD3D_ENV_PLUGIN_EXPORT const td3d_env_plugin_t SYMBOL = {
    .abi_version = BAD_CASE == BAD_ABI ? 99u : TD3D_ENV_PLUGIN_ABI_VERSION,
    .name = BAD_CASE == BAD_NAME ? "bad name" : "td3d-test-bad",
    .obs_dim = BAD_CASE == BAD_OBS_ZERO ? 0u : 1u,
    .act_dim = BAD_CASE == BAD_ACT_BIG ? TD3D_ENV_PLUGIN_MAX_DIM + 1u : 1u,
    .action_low = lo,
    .action_high = hi,
    .max_episode_steps = BAD_CASE == BAD_MAX_STEPS ? 0u : 10u,
    .create = bad_create,
    .reset = bad_reset,
    .step = BAD_CASE == BAD_NULL_FN ? NULL : bad_step,
    .destroy = bad_destroy,
};
