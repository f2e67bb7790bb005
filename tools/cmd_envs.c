/* `td3d envs`: lists the environments td3d can run, with their dimensions, action bounds
 * and episode limits.
 *
 * It creates each environment to read what it declares. In the full listing a Gymnasium MuJoCo
 * task whose model file cannot be found gets one short line, and what to do about it is said
 * once at the end; an environment named on the command line that cannot be created is listed
 * with the whole reason (where it looked, which file it needs). Ids given
 * on the command line (built-in ones or plugin:/path/lib.so[:ARG]) are described instead of
 * the whole registry; --verbose adds each one's summary, model file and action joints. Exit
 * status: 0, 1 when an environment named on the command line cannot be created, 2 for a
 * usage error. */
#include "env.h"
#include "env_mujoco.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: td3d envs [options] [ENV_ID...]\n"
          "\n"
          "Lists the environments with their observation and action sizes, action bounds and\n"
          "episode step limit. With ENV_IDs, describes only those (an id may be\n"
          "plugin:/path/lib.so[:ARG], a user's environment plugin).\n"
          "\n"
          "options:\n"
          "  --mujoco-assets DIR  directory holding Gymnasium's MuJoCo model files\n"
          "                       (half_cheetah.xml, hopper.xml, ...); default\n"
          "                       $TD3D_MUJOCO_ASSETS, else a pip-installed Gymnasium's\n"
          "  --model PATH         model file for the MuJoCo environment named (needs one id)\n"
          "  -v, --verbose        also print each one's summary, model file and action joints\n"
          "  -h, --help           print this help\n"
          "\n"
          "Runner-td3d-v0 uses td3d's own model (td3d_runner.xml), found in $TD3D_MODELS_DIR,\n"
          "the source tree or the install tree.\n");
}

static const char *summary_of(const char *id) {
  size_t n;
  const env_entry_t *reg = env_registry(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(reg[i].id, id) == 0) return reg[i].summary;
  return strncmp(id, ENV_PLUGIN_PREFIX, strlen(ENV_PLUGIN_PREFIX)) == 0 ? "a plugin" : "";
}

/* Prints the bounds compactly: "[-1, 1] x6" when all dims share them, else each pair. */
static void print_bounds(const env_info_t *in) {
  int same = 1;
  for (uint32_t i = 1; i < in->act_dim; i++)
    same &= in->action_low[i] == in->action_low[0] && in->action_high[i] == in->action_high[0];
  if (same) {
    printf("[%g, %g]", (double)in->action_low[0], (double)in->action_high[0]);
    if (in->act_dim > 1) printf(" x%u", in->act_dim);
    return;
  }
  for (uint32_t i = 0; i < in->act_dim && i < 6; i++)
    printf("%s[%g, %g]", i ? " " : "", (double)in->action_low[i], (double)in->action_high[i]);
  if (in->act_dim > 6) printf(" ...");
}

/* Describes one env; returns 0, or 1 when it cannot be created. brief: a Gymnasium task
 * whose model file is missing gets a short line and 2 is returned (the caller explains once). */
static int describe(const char *id, const env_options_t *opts, int verbose, int brief) {
  td3_err_t err = {0};
  env_t *e = env_create(id, opts, &err);
  if (!e && brief && err.code == TD3_ENOTFOUND && env_mujoco_gymnasium_file(id)) {
    printf("%-26s %4s %4s %6s  (needs Gymnasium's model files)\n", id, "-", "-", "-");
    return 2;
  }
  if (!e) {
    printf("%-26s %4s %4s %6s  unavailable:\n    %s\n", id, "-", "-", "-", err.msg);
    return 1;
  }
  const env_info_t *in = &e->info;
  printf("%-26s %4u %4u %6u  ", in->id, in->obs_dim, in->act_dim, in->max_episode_steps);
  print_bounds(in);
  printf("\n");
  if (verbose) {
    printf("    %s\n", summary_of(id));
    const char *path = env_mujoco_model_path(e);
    if (path) {
      printf("    model %s, dt %g s (%d MuJoCo steps)\n    actions:", path, env_mujoco_dt(e),
             env_mujoco_frame_skip(e));
      for (uint32_t i = 0; i < in->act_dim; i++)
        printf(" %s", *env_mujoco_action_joint(e, i) ? env_mujoco_action_joint(e, i) : "?");
      printf("\n");
    }
  }
  env_destroy(&e);
  return 0;
}

/* Reads the value of --name VALUE or --name=VALUE at argv[*i]; NULL if argv[*i] is not it. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, int *missing) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

int cmd_envs_main(int argc, char **argv) {
  env_options_t opts = {0};
  const char *ids[MAX_IDS];
  int n_ids = 0, verbose = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      verbose = 1;
    } else if ((v = flag_value(argc, argv, &i, "--mujoco-assets", &missing))) {
      opts.assets_dir = v;
    } else if ((v = flag_value(argc, argv, &i, "--model", &missing))) {
      opts.model_path = v;
    } else if (missing) {
      fprintf(stderr, "td3d envs: %s needs a value (see td3d envs --help)\n", a);
      return 2;
    } else if (a[0] == '-') {
      fprintf(stderr, "td3d envs: unknown option '%s' (see td3d envs --help)\n", a);
      return 2;
    } else if (n_ids < MAX_IDS) {
      ids[n_ids++] = a;
    } else {
      fprintf(stderr, "td3d envs: at most %d environment ids\n", MAX_IDS);
      return 2;
    }
  }
  if (opts.model_path && n_ids != 1) {
    fprintf(stderr, "td3d envs: --model PATH applies to one environment: name it, e.g. "
                    "td3d envs --model %s Hopper-v4\n",
            opts.model_path);
    return 2;
  }

  printf("%-26s %4s %4s %6s  %s\n", "id", "obs", "act", "steps", "action bounds");
  int failed = 0;
  if (n_ids > 0) {
    for (int i = 0; i < n_ids; i++) failed |= describe(ids[i], &opts, verbose, 0);
    return failed ? 1 : 0;
  }
  size_t n;
  const env_entry_t *reg = env_registry(&n);
  const char *missing = NULL; /* the first task without its model file */
  for (size_t i = 0; i < n; i++)
    if (describe(reg[i].id, &opts, verbose, 1) == 2 && !missing) missing = reg[i].id;
  printf("\nand plugin:/path/lib.so[:ARG] for an environment of your own (td3d_env_plugin.h)\n");
  if (missing)
    printf("\n(needs Gymnasium's model files): td3d does not ship Gymnasium's MuJoCo models. Pass\n"
           "--mujoco-assets DIR or set TD3D_MUJOCO_ASSETS=DIR, with DIR holding Gymnasium's\n"
           "gymnasium/envs/mujoco/assets/ files (%s, ...); without either, td3d looks\n"
           "for a pip-installed Gymnasium's. `td3d envs %s` says where td3d looked.\n",
           env_mujoco_gymnasium_file(missing), missing);
  return 0;
}
