/* Finding the model file of a MuJoCo task (see env_mujoco.h for the search order).
 *
 * Gymnasium's model files are not part of td3d (the user points at them), so a miss is an
 * ordinary user error: the message names the task, the file it needs, every place looked at
 * with the reason it failed there, and the flags or variables that fix it. td3d's own models
 * live in common/env/models/ of the source tree and are installed to <prefix>/share/td3d/models;
 * both paths are compiled in (TD3D_MODELS_SOURCE_DIR, TD3D_MODELS_INSTALL_DIR, set by
 * common/env/CMakeLists.txt), and $TD3D_MODELS_DIR overrides them for a moved installation.
 *
 * With neither --mujoco-assets nor $TD3D_MUJOCO_ASSETS, a pip-installed Gymnasium is looked
 * for in the usual site-packages directories (a few glob patterns, no Python run): a user who
 * points somewhere is told when the files are not there, rather than handed other ones. */
#include "env_mujoco.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TD3D_MODELS_SOURCE_DIR
#define TD3D_MODELS_SOURCE_DIR ""
#endif
#ifndef TD3D_MODELS_INSTALL_DIR
#define TD3D_MODELS_INSTALL_DIR ""
#endif

/* The places looked at so far, "label path (why); ...", bounded. */
typedef struct notes {
  char text[400];
  size_t used;
} notes_t;

static void note(notes_t *n, const char *label, const char *what) {
  if (n->used >= sizeof n->text) return;
  int w = snprintf(n->text + n->used, sizeof n->text - n->used, "%s %s; ", label, what);
  if (w > 0) n->used += (size_t)w;
  if (n->used > sizeof n->text) n->used = sizeof n->text;
}

/* Tries dir/file (or file alone when dir is NULL); on success copies the path to out and
 * returns 1, else notes why not and returns 0. */
static int try_file(const char *label, const char *dir, const char *file, char *out,
                    size_t cap, notes_t *n) {
  char path[PATH_MAX];
  int w = dir ? snprintf(path, sizeof path, "%s/%s", dir, file)
              : snprintf(path, sizeof path, "%s", file);
  if (w < 0 || (size_t)w >= sizeof path || (size_t)w >= cap) {
    note(n, label, "(path too long)");
    return 0;
  }
  if (access(path, R_OK) == 0) {
    memcpy(out, path, (size_t)w + 1);
    return 1;
  }
  char why[PATH_MAX + 64];
  snprintf(why, sizeof why, "%s (%s)", path, strerror(errno));
  note(n, label, why);
  return 0;
}

/* Tries $var/file when the variable is set, else notes that it is not. */
static int try_env_dir(const char *var, const char *label, const char *file, char *out,
                       size_t cap, notes_t *n) {
  const char *dir = getenv(var);
  if (dir && *dir) return try_file(label, dir, file, out, cap, n);
  note(n, label, "not set");
  return 0;
}

/* Where pip installs packages: a virtualenv, a conda env, the user's ~/.local, pyenv's
 * Pythons, /usr/local and /usr (site-packages, or Debian's dist-packages). A leading $VAR is
 * the variable's value; a pattern whose variable is unset is skipped. */
static const char *const site_patterns[] = {
    "$VIRTUAL_ENV/lib/python3*/site-packages",
    "$CONDA_PREFIX/lib/python3*/site-packages",
    "$HOME/.local/lib/python3*/site-packages",
    "$HOME/.pyenv/versions/*/lib/python3*/site-packages",
    "/usr/local/lib/python3*/site-packages",
    "/usr/local/lib/python3*/dist-packages",
    "/usr/lib/python3*/site-packages",
    "/usr/lib/python3/dist-packages",
};

/* Tries <site-packages>/gymnasium/envs/mujoco/assets/file for each pattern above, in order;
 * 1 with the path in out, or 0 with a note. */
static int try_pip(const char *file, char *out, size_t cap, notes_t *n) {
  for (size_t i = 0; i < sizeof site_patterns / sizeof site_patterns[0]; i++) {
    const char *pat = site_patterns[i], *prefix = "";
    char var[32] = "", pattern[PATH_MAX];
    if (pat[0] == '$') {
      size_t len = strcspn(pat + 1, "/");
      if (len >= sizeof var) continue;
      memcpy(var, pat + 1, len);
      var[len] = '\0';
      prefix = getenv(var);
      if (!prefix || !*prefix) continue;
      pat += 1 + len;
    }
    int w = snprintf(pattern, sizeof pattern, "%s%s/gymnasium/envs/mujoco/assets", prefix, pat);
    if (w < 0 || (size_t)w >= sizeof pattern) continue;
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) continue;
    notes_t ignored = {.used = 0};
    int found = 0;
    for (size_t k = 0; k < g.gl_pathc && !found; k++)
      found = try_file("pip", g.gl_pathv[k], file, out, cap, &ignored);
    globfree(&g);
    if (found) return 1;
  }
  note(n, "pip-installed Gymnasium", "not found in site-packages");
  return 0;
}

int env_mujoco_find_model(const char *task_id, const char *file, env_model_origin_t origin,
                          const env_options_t *opts, char *out, size_t cap, td3_err_t *err) {
  notes_t n = {.used = 0};
  if (opts && opts->model_path && *opts->model_path) {
    if (try_file("--model", NULL, opts->model_path, out, cap, &n)) return 0;
    return td3_err_set(err, TD3_ENOTFOUND, "%s: cannot read the model file: %s", task_id,
                       n.text);
  }
  if (origin == ENV_MODEL_TD3D) {
    if (try_env_dir("TD3D_MODELS_DIR", "$TD3D_MODELS_DIR", file, out, cap, &n)) return 0;
    if (*TD3D_MODELS_SOURCE_DIR &&
        try_file("source tree", TD3D_MODELS_SOURCE_DIR, file, out, cap, &n))
      return 0;
    if (*TD3D_MODELS_INSTALL_DIR &&
        try_file("install tree", TD3D_MODELS_INSTALL_DIR, file, out, cap, &n))
      return 0;
    return td3_err_set(err, TD3_ENOTFOUND,
                       "%s needs td3d's model file %s; looked at: %sset TD3D_MODELS_DIR to "
                       "the directory holding it (common/env/models/ in td3d's source) or pass "
                       "--model PATH",
                       task_id, file, n.text);
  }
  int given = opts && opts->assets_dir && *opts->assets_dir;
  if (given) {
    if (try_file("--mujoco-assets", opts->assets_dir, file, out, cap, &n)) return 0;
  } else {
    note(&n, "--mujoco-assets", "not given");
  }
  const char *var = getenv("TD3D_MUJOCO_ASSETS");
  given |= var && *var;
  if (try_env_dir("TD3D_MUJOCO_ASSETS", "$TD3D_MUJOCO_ASSETS", file, out, cap, &n)) return 0;
  if (!given && try_pip(file, out, cap, &n)) return 0;
  return td3_err_set(err, TD3_ENOTFOUND,
                     "%s needs Gymnasium's model file %s; looked at: %spass --model PATH, or "
                     "--mujoco-assets DIR (or TD3D_MUJOCO_ASSETS=DIR) with DIR holding %s "
                     "(Gymnasium's gymnasium/envs/mujoco/assets/)",
                     task_id, file, n.text, file);
}
