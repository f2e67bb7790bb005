/* A small environment plugin in C, for the plugin and env_vec tests (see td3d_env_plugin.h).
 *
 * "td3d-test-walk": a point mass on a line. obs = [x, v, t / 100], one action in [-1, 1]
 * (clipped), v += 0.1 a, x += 0.1 v, reward = -x^2 - 0.01 a^2 with the raw action. The start
 * x is a hash of the seed in [-1, 1), so the same seed gives the same episode. It ends by
 * itself (terminal) when |x| > 5. Its ARG is a comma-separated list of test switches:
 *   end_at=N   terminal at step N          nan_at=N   NaN observation at step N
 *   fail_at=N  step returns an error at N  fail_create  create() refuses with a reason */
#include "td3d_env_plugin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walk {
  double x, v;
  unsigned t;          /* steps since reset */
  unsigned end_at, nan_at, fail_at;
} walk_t;

static const float lo[1] = {-1.0f}, hi[1] = {1.0f};

static unsigned option(const char *arg, const char *key) {
  const char *p = strstr(arg, key);
  return p ? (unsigned)strtoul(p + strlen(key), NULL, 10) : 0;
}

static void *walk_create(const char *arg, char *err, size_t err_len) {
  if (strstr(arg, "fail_create")) {
    snprintf(err, err_len, "asked to fail by '%s'", arg);
    return NULL;
  }
  walk_t *w = calloc(1, sizeof *w);
  if (!w) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  w->end_at = option(arg, "end_at=");
  w->nan_at = option(arg, "nan_at=");
  w->fail_at = option(arg, "fail_at=");
  return w;
}

static void observe(const walk_t *w, float *obs) {
  obs[0] = (float)w->x;
  obs[1] = (float)w->v;
  obs[2] = (float)w->t / 100.0f;
}

static int walk_reset(void *h, uint64_t seed, float *obs) {
  walk_t *w = h;
  uint64_t z = seed + 0x9E3779B97F4A7C15ull; /* splitmix64 finaliser */
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  w->x = -1.0 + 2.0 * (double)(z >> 11) * 0x1.0p-53;
  w->v = 0.0;
  w->t = 0;
  observe(w, obs);
  return TD3D_ENV_PLUGIN_OK;
}

static int walk_step(void *h, const float *action, float *next_obs, float *reward,
                     int *terminal) {
  walk_t *w = h;
  double a = action[0];
  double f = a < -1.0 ? -1.0 : a > 1.0 ? 1.0 : a;
  w->v += 0.1 * f;
  w->x += 0.1 * w->v;
  w->t++;
  if (w->fail_at && w->t == w->fail_at) return TD3D_ENV_PLUGIN_EFAIL;
  observe(w, next_obs);
  if (w->nan_at && w->t == w->nan_at) next_obs[0] = NAN;
  *reward = (float)(-w->x * w->x - 0.01 * a * a);
  *terminal = fabs(w->x) > 5.0 || (w->end_at && w->t == w->end_at);
  return TD3D_ENV_PLUGIN_OK;
}

static void walk_destroy(void *h) { free(h); }

TD3D_ENV_PLUGIN_EXPORT const td3d_env_plugin_t td3d_env_plugin_v1 = {
    .abi_version = TD3D_ENV_PLUGIN_ABI_VERSION,
    .name = "td3d-test-walk",
    .obs_dim = 3,
    .act_dim = 1,
    .action_low = lo,
    .action_high = hi,
    .max_episode_steps = 100,
    .create = walk_create,
    .reset = walk_reset,
    .step = walk_step,
    .destroy = walk_destroy,
};
