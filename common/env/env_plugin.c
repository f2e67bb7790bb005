/* Environment plugins: a user's shared library behind the env_t interface.
 *
 * env_plugin_new parses "plugin:/path/lib.so[:ARG]", dlopens the library, finds the versioned
 * symbol of td3d_env_plugin.h, checks everything it declares (ABI version, name, dims, bounds,
 * function pointers) and creates one instance with ARG. Each failure gets its own message
 * naming the library and what to fix. At run time the wrapper refuses non-finite actions
 * before calling the plugin, and checks the plugin's outputs: a non-finite observation or
 * reward becomes TD3_ENONFINITE, a nonzero return TD3_EIO (or TD3_ENONFINITE for the plugin's
 * own TD3D_ENV_PLUGIN_ENONFINITE), each logged at most once per interval.
 *
 * Each env holds its own dlopen reference; the loader counts them, so the library stays
 * mapped until the last env made from it is destroyed. */
#include "env.h"
#include "log.h"
#include "td3d_env_plugin.h"
#include "xalloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(TD3D_ENV_PLUGIN_MAX_DIM == ENV_MAX_DIM, "plugin and env dimension limits differ");
_Static_assert(TD3D_ENV_PLUGIN_MAX_NAME < ENV_MAX_ID, "plugin names must fit an env id");

typedef struct plugin_env {
  env_t base;
  void *lib;                      /* dlopen handle, one reference */
  const td3d_env_plugin_t *p;     /* the descriptor, inside lib */
  void *handle;                   /* the plugin's instance */
  float *low, *high;              /* (act_dim) copies of the declared bounds */
  char path[PATH_MAX];            /* library path, for messages */
} plugin_env_t;

static log_limit_t fail_limit = LOG_LIMIT_INIT;

static int all_finite(const float *x, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

/* Maps a plugin's nonzero return code to a td3d code, logging it (rate limited). */
static int plugin_failure(const plugin_env_t *s, const char *what, int rc) {
  log_limited(&fail_limit, 10000, LOG_WARN, "plugin %s (%s): %s returned %d", s->base.info.id,
              s->path, what, rc);
  return rc == TD3D_ENV_PLUGIN_ENONFINITE ? TD3_ENONFINITE : TD3_EIO;
}

static int plugin_reset(env_t *e, uint64_t seed, float *obs) {
  plugin_env_t *s = (plugin_env_t *)e;
  int rc = s->p->reset(s->handle, seed, obs);
  if (rc != 0) return plugin_failure(s, "reset", rc);
  if (!all_finite(obs, e->info.obs_dim)) {
    log_limited(&fail_limit, 10000, LOG_WARN, "plugin %s: reset gave a non-finite observation",
                e->info.id);
    return TD3_ENONFINITE;
  }
  return 0;
}

static int plugin_step(env_t *e, const float *action, float *next_obs, float *reward,
                       int *terminal) {
  plugin_env_t *s = (plugin_env_t *)e;
  if (!all_finite(action, e->info.act_dim)) return TD3_ENONFINITE;
  int term = 0;
  int rc = s->p->step(s->handle, action, next_obs, reward, &term);
  if (rc != 0) return plugin_failure(s, "step", rc);
  if (!isfinite(*reward) || !all_finite(next_obs, e->info.obs_dim)) {
    log_limited(&fail_limit, 10000, LOG_WARN,
                "plugin %s: step gave a non-finite observation or reward", e->info.id);
    return TD3_ENONFINITE;
  }
  *terminal = term != 0;
  return 0;
}

static void plugin_destroy(env_t *e) {
  plugin_env_t *s = (plugin_env_t *)e;
  if (s->handle) s->p->destroy(s->handle);
  if (s->lib) dlclose(s->lib);
  free(s->low);
  free(s->high);
  free(s);
}

static const env_ops_t plugin_ops = {plugin_reset, plugin_step, plugin_destroy};

/* Checks the descriptor; returns 0 or a code with err set. */
static int check_descriptor(const td3d_env_plugin_t *p, const char *path, td3_err_t *err) {
  if (p->abi_version != TD3D_ENV_PLUGIN_ABI_VERSION)
    return td3_err_set(err, TD3_EVERSION,
                       "plugin %s declares ABI version %u; this td3d speaks version %u: rebuild "
                       "the plugin against this td3d's td3d_env_plugin.h",
                       path, p->abi_version, TD3D_ENV_PLUGIN_ABI_VERSION);
  size_t len = p->name ? strnlen(p->name, TD3D_ENV_PLUGIN_MAX_NAME + 1) : 0;
  if (len == 0 || len > TD3D_ENV_PLUGIN_MAX_NAME)
    return td3_err_set(err, TD3_EINVAL, "plugin %s: name must be 1..%u characters", path,
                       TD3D_ENV_PLUGIN_MAX_NAME);
  for (size_t i = 0; i < len; i++)
    if (p->name[i] <= ' ' || p->name[i] > '~')
      return td3_err_set(err, TD3_EINVAL,
                         "plugin %s: name must be printable ASCII without spaces", path);
  if (p->obs_dim < 1 || p->obs_dim > TD3D_ENV_PLUGIN_MAX_DIM)
    return td3_err_set(err, TD3_ESHAPE, "plugin %s (%s): obs_dim %u is outside 1..%u", path,
                       p->name, p->obs_dim, TD3D_ENV_PLUGIN_MAX_DIM);
  if (p->act_dim < 1 || p->act_dim > TD3D_ENV_PLUGIN_MAX_DIM)
    return td3_err_set(err, TD3_ESHAPE, "plugin %s (%s): act_dim %u is outside 1..%u", path,
                       p->name, p->act_dim, TD3D_ENV_PLUGIN_MAX_DIM);
  if (!p->action_low || !p->action_high)
    return td3_err_set(err, TD3_EINVAL, "plugin %s (%s): action_low/action_high missing", path,
                       p->name);
  for (uint32_t i = 0; i < p->act_dim; i++) {
    float lo = p->action_low[i], hi = p->action_high[i];
    if (!isfinite(lo) || !isfinite(hi))
      return td3_err_set(err, TD3_ENONFINITE,
                         "plugin %s (%s): action bound %u is not finite (low %g, high %g)", path,
                         p->name, i, (double)lo, (double)hi);
    if (!(lo < hi))
      return td3_err_set(err, TD3_ERANGE,
                         "plugin %s (%s): action bound %u has low %g >= high %g", path, p->name,
                         i, (double)lo, (double)hi);
  }
  if (p->max_episode_steps < 1)
    return td3_err_set(err, TD3_ERANGE,
                       "plugin %s (%s): max_episode_steps is 0 (use a large value for "
                       "episodes that only end by themselves)",
                       path, p->name);
  if (!p->create || !p->reset || !p->step || !p->destroy)
    return td3_err_set(err, TD3_EINVAL,
                       "plugin %s (%s): create, reset, step and destroy must all be set", path,
                       p->name);
  return 0;
}

/* Explains a missing v1 symbol: another version of the ABI, or none at all. */
static void missing_symbol(void *lib, const char *path, td3_err_t *err) {
  for (unsigned v = 2; v <= 9; v++) {
    char sym[32];
    snprintf(sym, sizeof sym, "td3d_env_plugin_v%u", v);
    if (dlsym(lib, sym)) {
      td3_err_set(err, TD3_EVERSION,
                  "plugin %s exports %s but this td3d speaks ABI version %u (%s): use a td3d "
                  "that matches the plugin, or rebuild the plugin",
                  path, sym, TD3D_ENV_PLUGIN_ABI_VERSION, TD3D_ENV_PLUGIN_SYMBOL);
      return;
    }
  }
  td3_err_set(err, TD3_ENOTFOUND,
              "plugin %s does not export the symbol %s (C++: declare it with "
              "TD3D_ENV_PLUGIN_EXPORT or extern \"C\"; check with `nm -D %s`)",
              path, TD3D_ENV_PLUGIN_SYMBOL, path);
}

env_t *env_plugin_new(const char *spec, td3_err_t *err) {
  if (!spec) {
    td3_err_set(err, TD3_EINVAL, "no plugin given");
    return NULL;
  }
  size_t plen = strlen(ENV_PLUGIN_PREFIX);
  if (strncmp(spec, ENV_PLUGIN_PREFIX, plen) == 0) spec += plen;
  const char *colon = strchr(spec, ':');
  size_t path_len = colon ? (size_t)(colon - spec) : strlen(spec);
  const char *arg = colon ? colon + 1 : "";
  if (path_len == 0) {
    td3_err_set(err, TD3_EINVAL,
                "no library path in the plugin id; write " ENV_PLUGIN_PREFIX
                "/path/lib.so[:ARG]");
    return NULL;
  }

  plugin_env_t *s = xcalloc(1, sizeof *s);
  s->base.ops = &plugin_ops;
  if (path_len >= sizeof s->path) {
    td3_err_set(err, TD3_ERANGE, "plugin path is longer than %zu bytes", sizeof s->path - 1);
    goto fail;
  }
  memcpy(s->path, spec, path_len);
  s->path[path_len] = '\0';

  /* A path with a '/' names a file: say plainly when it is not there. Without one, dlopen
   * searches the library path (LD_LIBRARY_PATH, ld.so.conf) and its message says the rest. */
  if (strchr(s->path, '/') && access(s->path, R_OK) != 0) {
    td3_err_set(err, TD3_ENOTFOUND, "plugin library %s: %s", s->path, strerror(errno));
    goto fail;
  }
  dlerror();
  s->lib = dlopen(s->path, RTLD_NOW | RTLD_LOCAL);
  if (!s->lib) {
    const char *why = dlerror();
    td3_err_set(err, TD3_EFORMAT, "cannot load plugin %s: %s", s->path,
                why ? why : "unknown dlopen error");
    goto fail;
  }
  s->p = (const td3d_env_plugin_t *)dlsym(s->lib, TD3D_ENV_PLUGIN_SYMBOL);
  if (!s->p) {
    missing_symbol(s->lib, s->path, err);
    goto fail;
  }
  if (check_descriptor(s->p, s->path, err) != 0) goto fail;

  const td3d_env_plugin_t *p = s->p;
  s->low = xmalloc(p->act_dim * sizeof *s->low);
  s->high = xmalloc(p->act_dim * sizeof *s->high);
  memcpy(s->low, p->action_low, p->act_dim * sizeof *s->low);
  memcpy(s->high, p->action_high, p->act_dim * sizeof *s->high);

  char why[256] = "";
  s->handle = p->create(arg, why, sizeof why);
  why[sizeof why - 1] = '\0';
  if (!s->handle) {
    td3_err_set(err, TD3_EINVAL, "plugin %s (%s): create(\"%s\") failed: %s", s->path, p->name,
                arg, *why ? why : "no reason given");
    goto fail;
  }
  snprintf(s->base.info.id, sizeof s->base.info.id, "%s", p->name);
  s->base.info.obs_dim = p->obs_dim;
  s->base.info.act_dim = p->act_dim;
  s->base.info.action_low = s->low;
  s->base.info.action_high = s->high;
  s->base.info.max_episode_steps = p->max_episode_steps;
  return &s->base;

fail:
  plugin_destroy(&s->base);
  return NULL;
}
