/* `td3d eval`: runs a saved policy deterministically on its environment and prints the
 * returns; --record FILE also writes the first episode's trajectory as CSV. Flags and wiring
 * only: the policy network is common/nn/nn.h's nn_policy, the episodes and the record are
 * common/env/evaluate.h's.
 *
 * A MuJoCo policy's model file: --model or --mujoco-assets when given (or their variables,
 * $TD3D_MODEL and $TD3D_MUJOCO_ASSETS, set), else the model its run loaded (config.json's "model" in the
 * policy's directory, when the run was on the same env and the file is still there), else
 * what env_mujoco_find_model finds by itself (a pip-installed Gymnasium). */
#include "binfile.h"
#include "env.h"
#include "evaluate.h"
#include "flags.h"
#include "nn.h"
#include "policy_file.h"
#include "rundir.h"
#include "xalloc.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void act_policy(void *ctx, const float *obs, float *action) {
  nn_policy_act((nn_policy_t *)ctx, obs, 1, action);
}

/* Points opts at the model file the policy's run loaded, when nothing else names one (see
 * above); model (cap bytes) holds the path opts borrows. A run directory that says nothing
 * usable is passed over quietly: the env's own search then reports what is missing. */
static void use_run_model(const char *policy_path, const char *env_id, env_options_t *opts,
                          char *model, size_t cap) {
  if ((opts->model_path && *opts->model_path) || (opts->assets_dir && *opts->assets_dir))
    return; /* a flag or its variable names one */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", policy_path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  rundir_env_t run;
  if (rundir_read_env(dir, &run, NULL) != 0 || !run.model[0] || strcmp(run.env_id, env_id) != 0)
    return;
  if (access(run.model, R_OK) != 0) {
    fprintf(stderr, "td3d eval: note: the run's model %s is not readable (%s); looking elsewhere\n",
            run.model, strerror(errno));
    return;
  }
  snprintf(model, cap, "%s", run.model);
  opts->model_path = model;
}

/* Refuses a --record path that cannot be written before any episode runs: a directory, or a
 * place where the temporary file cannot be created (it is removed again). 0 or TD3_EIO. */
static int check_record_path(const char *path, td3_err_t *err) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return td3_err_set(err, TD3_EIO, "--record %s: is a directory; name a file", path);
  binf_t f;
  if (binf_open(&f, path, err) != 0) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    return td3_err_set(err, TD3_EIO, "--record %s: %s", path, why);
  }
  binf_abort(&f);
  return 0;
}

/* What the command line asks for. Strings are borrowed from argv. */
typedef struct eval_args {
  const char *policy_path, *env_id, *record_path; /* env_id NULL: the policy's own */
  uint32_t episodes;
  uint64_t seed;
  int json;
  env_options_t opts; /* --model, --mujoco-assets */
} eval_args_t;

/* Parses the flags into *a. Returns -1 to go on, else the exit status to end with now (0
 * after --help; 2 after a bad flag or no --policy, said on stderr). */
static int parse_args(int argc, char **argv, eval_args_t *a) {
  *a = (eval_args_t){.episodes = 10, .seed = 100};
  flag_spec_t specs[] = {
      {"policy", FLAG_STRING, &a->policy_path, "FILE", "policy file (policy.td3p of a run directory); required", 0, 0, NULL, NULL, NULL},
      {"env", FLAG_STRING, &a->env_id, "ID", "environment; default the one the policy was trained on", 0, 0, NULL, NULL, NULL},
      {"episodes", FLAG_U32, &a->episodes, "N", "deterministic episodes; default 10", 1, 100000, NULL, NULL, NULL},
      {"seed", FLAG_U64, &a->seed, "S", "evaluation seed; default 100 (a run with seed S evaluates with S+100)", 0, 1.8e19, NULL, NULL, NULL},
      {"json", FLAG_BOOL, &a->json, NULL, "print one JSON object instead of text", 0, 0, NULL, NULL, NULL},
      {"record", FLAG_STRING, &a->record_path, "FILE", "write the first episode's trajectory to FILE as CSV: step, obs_0.., action_0.., reward, terminal, truncated (a row per step)", 0, 0, NULL, NULL, NULL},
      {"model", FLAG_STRING, &a->opts.model_path, "PATH", "MuJoCo model file for the env; default the one the policy's run loaded (config.json beside the policy)", 0, 0, NULL, NULL, NULL},
      {"mujoco-assets", FLAG_STRING, &a->opts.assets_dir, "DIR", "directory with Gymnasium's MuJoCo model files, instead of the run's model", 0, 0, NULL, NULL, NULL},
  };
  const flag_program_t prog = {
      "td3d eval --policy FILE [--env ID] [--episodes N] [options]",
      "Runs a trained policy without exploration noise and prints each episode's\n"
      "undiscounted return, then their mean and standard deviation. --record FILE also\n"
      "writes the first episode step by step (observation, action, reward, terminal,\n"
      "truncated; numbers that read back exactly), replacing FILE atomically.",
      NULL};
  td3_err_t err = {0};
  int rc = flags_parse(specs, sizeof specs / sizeof specs[0], &prog, argc, argv, NULL, 0, NULL,
                       &err);
  if (rc == 1) return 0;
  if (rc < 0) {
    fprintf(stderr, "td3d eval: %s\n", err.msg);
    return 2;
  }
  if (!a->policy_path) {
    fprintf(stderr, "td3d eval: --policy FILE is required (see --help)\n");
    return 2;
  }
  return -1;
}

/* The policy network of pf, once its shape fits env (warning on stderr when only the action
 * bounds differ). NULL, said on stderr, when it does not fit or is unusable. The caller owns
 * the result (nn_policy_destroy). */
static nn_policy_t *policy_for_env(const policy_file_t *pf, const env_t *env, const char *env_id,
                                   const char *policy_path) {
  uint32_t obs = pf->layers[0], act = pf->layers[pf->n_layers - 1];
  if (env->info.obs_dim != obs || env->info.act_dim != act) {
    fprintf(stderr,
            "td3d eval: the policy maps %u observations to %u actions but %s has %u and %u; "
            "pass the --env it was trained on (%s)\n",
            obs, act, env_id, env->info.obs_dim, env->info.act_dim, pf->env_id);
    return NULL;
  }
  if (memcmp(env->info.action_low, pf->action_low, act * sizeof(float)) != 0 ||
      memcmp(env->info.action_high, pf->action_high, act * sizeof(float)) != 0)
    fprintf(stderr, "td3d eval: warning: %s's action bounds differ from the policy's\n", env_id);
  nn_policy_t *policy = nn_policy_new(pf->layers, pf->n_layers, pf->action_low, pf->action_high, 1);
  if (!policy) {
    fprintf(stderr, "td3d eval: %s: unusable network shape\n", policy_path);
    return NULL;
  }
  nn_policy_set_params(policy, pf->params);
  return policy;
}

/* Prints the episodes' returns and their statistics on stdout, as text or one JSON object,
 * and where the record went (record: the steps it holds). */
static void print_returns(const eval_args_t *a, const char *env_id, const double *returns,
                          const eval_record_t *record) {
  double mean, sd, lo, hi;
  evaluate_stats(returns, a->episodes, &mean, &sd, &lo, &hi);
  if (a->json) {
    printf("{\"policy\": \"%s\", \"env\": \"%s\", \"episodes\": %u, \"mean\": %.6f, "
           "\"std\": %.6f, \"min\": %.6f, \"max\": %.6f, \"returns\": [",
           a->policy_path, env_id, a->episodes, mean, sd, lo, hi);
    for (uint32_t i = 0; i < a->episodes; i++) printf("%s%.6f", i ? ", " : "", returns[i]);
    printf("]}\n");
    return;
  }
  for (uint32_t i = 0; i < a->episodes; i++)
    printf("episode %u: return %.3f\n", i + 1, returns[i]);
  printf("%s on %s: mean return %.3f +- %.3f over %u episodes (min %.3f, max %.3f)\n",
         a->policy_path, env_id, mean, sd, a->episodes, lo, hi);
  if (a->record_path)
    printf("episode 1's trajectory (%u steps): %s\n", record->steps, a->record_path);
}

int cmd_eval_main(int argc, char **argv) {
  eval_args_t a;
  int rc = parse_args(argc, argv, &a);
  if (rc >= 0) return rc;
  openblas_set_num_threads(1);
  td3_err_t err = {0};
  policy_file_t pf;
  if (policy_file_load(a.policy_path, &pf, &err) != 0) {
    fprintf(stderr, "td3d eval: %s\n", err.msg);
    return 1;
  }
  const char *env_id = a.env_id ? a.env_id : pf.env_id;
  char run_model[4096];
  use_run_model(a.policy_path, env_id, &a.opts, run_model, sizeof run_model);
  int status = 1;
  eval_record_t record = {0};
  nn_policy_t *policy = NULL;
  double *returns = NULL;
  env_t *env = env_create(env_id, &a.opts, &err);
  if (!env) {
    fprintf(stderr, "td3d eval: %s\n", err.msg);
    goto out;
  }
  if (!(policy = policy_for_env(&pf, env, env_id, a.policy_path))) goto out;
  if (a.record_path && check_record_path(a.record_path, &err) != 0) {
    fprintf(stderr, "td3d eval: %s\n", err.msg);
    goto out;
  }
  if (a.record_path) eval_record_init(&record, &env->info, 0);
  returns = xmalloc(a.episodes * sizeof *returns);
  if (evaluate_episodes_each(env, a.seed, a.episodes, act_policy, policy,
                             a.record_path ? eval_record_step : NULL, &record, returns,
                             &err) != 0) {
    fprintf(stderr, "td3d eval: %s\n", err.msg);
    goto out;
  }
  if (a.record_path && eval_record_commit(&record, a.record_path, &err) != 0) {
    fprintf(stderr, "td3d eval: --record %s: %s\n", a.record_path, err.msg);
    goto out;
  }
  print_returns(&a, env_id, returns, &record);
  status = 0;
out:
  eval_record_free(&record);
  free(returns);
  nn_policy_destroy(&policy);
  env_destroy(&env);
  policy_file_free(&pf);
  return status;
}
