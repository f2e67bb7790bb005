/* `td3d run`: train a policy with one command. By default it starts a local cluster (a
 * learner, --actors actors and an evaluator as child processes of this one, supervised by
 * tools/launcher.h); with --serial, one process steps the environment and trains
 * (serial/serial.h), the reproducible baseline. Flags and wiring only. */
#include "actor_flags.h"
#include "binfile.h"
#include "checkpoint.h"
#include "cluster_flags.h"
#include "env.h"
#include "eval_token.h"
#include "gemm.h"
#include "launcher.h"
#include "learner_flags.h"
#include "log.h"
#include "serial.h"
#include "wire.h"
#include "xalloc.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic int g_stop = 0;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static int run_serial(const learner_cli_t *cli, int quiet) {
  const learner_config_t *l = &cli->cfg;
  serial_config_t c;
  serial_config_from_learner(&c, l);
  c.progress = quiet ? 0 : 2;
  c.stop = &g_stop;
  openblas_set_num_threads((int)cli->threads);
  gemm_set_threads((int)cli->threads);
  if (!quiet) {
    printf("td3d run --serial: %s, seed %llu, %llu steps, start steps %llu, run directory %s\n",
           c.env_id, (unsigned long long)c.seed, (unsigned long long)c.steps,
           (unsigned long long)c.start_steps, c.out_dir);
    fflush(stdout);
  }
  serial_result_t res;
  td3_err_t err = {0};
  if (serial_run(&c, &res, &err) != 0) {
    fprintf(stderr, "td3d run: %s\n", err.msg);
    return 1;
  }
  if (!quiet) {
    char last[32], best[32];
    printf("done: %llu env steps, %llu updates in %.1fs; last eval %s, best %s",
           (unsigned long long)res.env_steps, (unsigned long long)res.updates, res.wall_seconds,
           launch_fmt_return(last, sizeof last, res.last_eval),
           launch_fmt_return(best, sizeof best, res.best_eval));
    if (isfinite(c.target_return) && res.solved)
      printf("; target %.2f reached at %llu steps (%.1fs)", c.target_return,
             (unsigned long long)res.solved_at, res.solved_seconds);
    printf("%s\npolicy: %s/policy.td3p\n", res.stopped ? " (stopped early)" : "", c.out_dir);
  }
  if (isfinite(c.target_return) && !res.solved && !res.stopped) {
    launch_print_unsolved(res.best_eval, c.target_return);
    return LAUNCH_EXIT_UNSOLVED;
  }
  return 0;
}

/* A growable NULL-terminated argv. */
typedef struct args {
  char **v;
  size_t n, cap;
} args_t;

static void args_add(args_t *a, const char *s) {
  if (a->n + 2 > a->cap) {
    a->cap = a->cap ? 2 * a->cap : 32;
    a->v = xrealloc(a->v, a->cap * sizeof *a->v);
  }
  a->v[a->n++] = xstrdup(s);
  a->v[a->n] = NULL;
}

static void args_add_flag(args_t *a, const flag_spec_t *f) {
  char buf[1024];
  if (flags_format(f, buf, sizeof buf) == 0) args_add(a, buf);
}

static void args_free(args_t *a) {
  for (size_t i = 0; i < a->n; i++) free(a->v[i]);
  free(a->v);
  memset(a, 0, sizeof *a);
}

/* Arguments of an actor (or the evaluator) of this local run. */
static void actor_args(args_t *a, const learner_config_t *l, uint32_t envs, const char *name,
                       int eval, const char *log_level) {
  actor_cli_t ac;
  actor_cli_init(&ac);
  ac.cfg.env_id = l->env_id;
  ac.cfg.env_opts = l->env_opts;
  ac.cfg.learner_host = "127.0.0.1";
  ac.cfg.experience_port = l->experience_port;
  ac.cfg.weights_port = l->weights_port;
  ac.cfg.control_port = l->control_port;
  ac.cfg.name = name;
  ac.cfg.envs = envs;
  ac.cfg.eval = eval;
  ac.cfg.eval_token_file = eval ? l->eval_token_file : NULL;
  ac.log_level = log_level;
  flag_spec_t specs[ACTOR_MAX_FLAGS];
  size_t n = actor_flag_specs(&ac, specs);
  args_add(a, "td3d");
  args_add(a, "actor");
  for (size_t i = 0; i < n; i++) args_add_flag(a, &specs[i]);
}

static int run_local(learner_cli_t *cli, flag_spec_t *lspecs, size_t n_lspecs, uint32_t actors,
                     uint32_t envs, int quiet) {
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) {
    fprintf(stderr, "td3d run: cannot find this program's path (/proc/self/exe)\n");
    return 1;
  }
  exe[len] = '\0';
  const learner_config_t *l = &cli->cfg;
  char host[64] = "local";
  gethostname(host, sizeof host - 1);

  uint32_t n = actors + 2;
  args_t *args = xcalloc(n, sizeof *args);
  launch_child_t *ch = xcalloc(n, sizeof *ch);
  char (*roles)[32] = xcalloc(n, sizeof *roles);
  args_add(&args[0], "td3d");
  args_add(&args[0], "learner");
  for (size_t i = 0; i < n_lspecs; i++) args_add_flag(&args[0], &lspecs[i]);
  if (quiet) args_add(&args[0], "--quiet");
  snprintf(roles[0], sizeof roles[0], "learner");
  /* A learner that is killed comes back: from its checkpoint when it has one, otherwise as
   * a new run in the same directory (nothing was checkpointed, so nothing is lost). */
  args_t resume_args = {0}, fresh_args = {0};
  char flag[PATH_MAX + 16], check[PATH_MAX + 64];
  for (size_t i = 0; i < args[0].n; i++) {
    args_add(&resume_args, args[0].v[i]);
    args_add(&fresh_args, args[0].v[i]);
  }
  snprintf(flag, sizeof flag, "--resume=%s", l->out_dir);
  args_add(&resume_args, flag);
  args_add(&fresh_args, "--overwrite");
  snprintf(check, sizeof check, "%s/%s/%s", l->out_dir, CHECKPOINT_DIR, CHECKPOINT_STATE);
  ch[0].resume_argv = resume_args.v;
  ch[0].fresh_argv = l->resume_dir ? resume_args.v : fresh_args.v;
  ch[0].resume_check = check;
  ch[0].max_restarts = 10;
  for (uint32_t i = 0; i < actors; i++) {
    char name[WIRE_MAX_NAME + 1];
    snprintf(name, sizeof name, "%.40s/%u", host, i);
    actor_args(&args[1 + i], l, envs, name, 0, "warn");
    snprintf(roles[1 + i], sizeof roles[0], "actor %u", i);
  }
  char eval_name[WIRE_MAX_NAME + 1];
  snprintf(eval_name, sizeof eval_name, "%.40s/eval", host);
  actor_args(&args[n - 1], l, 1, eval_name, 1, "warn");
  snprintf(roles[n - 1], sizeof roles[0], "evaluator");
  for (uint32_t i = 0; i < n; i++) {
    ch[i].role = roles[i];
    ch[i].argv = args[i].v;
  }
  if (!quiet) {
    printf("td3d run: %s, seed %llu, %llu steps, start steps %llu, %u actor%s x %u env%s + "
           "evaluator, run directory %s\n",
           l->env_id, (unsigned long long)l->seed, (unsigned long long)l->steps,
           (unsigned long long)l->start_steps, actors, actors == 1 ? "" : "s", envs,
           envs == 1 ? "" : "s", l->out_dir);
    fflush(stdout);
  }
  launcher_result_t res;
  td3_err_t err = {0};
  int rc = launcher_run(exe, ch, n, &g_stop, 15000, &res, &err);
  int status;
  if (rc) {
    fprintf(stderr, "td3d run: %s\n", err.msg);
    status = 1;
  } else {
    status = res.primary_status;
    if (res.restarts) log_warn("%u actor restart%s during the run", res.restarts, res.restarts == 1 ? "" : "s");
    if (res.primary_restarts)
      log_warn("%u learner restart%s during the run", res.primary_restarts,
               res.primary_restarts == 1 ? "" : "s");
  }
  args_free(&resume_args);
  args_free(&fresh_args);
  for (uint32_t i = 0; i < n; i++) args_free(&args[i]);
  free(args);
  free(ch);
  free(roles);
  return status == 0 || status == LAUNCH_EXIT_UNSOLVED || status == LAUNCH_EXIT_NOT_SAVED
             ? status
             : 1;
}

/* What every child would refuse, checked once before any starts: the environment can be
 * made (id, model files) and the run directory does not hold a run that this one would
 * overwrite. Returns 0 or a TD3_E* code with err filled. */
static int preflight(const learner_config_t *l, td3_err_t *err) {
  int rc = learner_exposure_check(l, err);
  if (rc) return rc;
  env_t *e = env_create(l->env_id, &l->env_opts, err);
  if (!e) return err->code ? err->code : TD3_EINVAL;
  env_destroy(&e);
  char csv[PATH_MAX + 32];
  snprintf(csv, sizeof csv, "%s/progress.csv", l->out_dir);
  if (!l->resume_dir && !l->overwrite && access(csv, F_OK) == 0)
    return td3_err_set(err, TD3_EINVAL,
                       "%s already holds a run (progress.csv exists); choose another --out, pass "
                       "--overwrite, or continue it with --resume %s",
                       l->out_dir, l->out_dir);
  return 0;
}

int cmd_run_main(int argc, char **argv) {
  learner_cli_t cli;
  learner_cli_init(&cli);
  cli.cfg.bind_host = "127.0.0.1"; /* a local cluster: unreachable from the network unless --bind */
  int serial = 0, quiet = 0;
  uint32_t actors, envs;
  char default_out[256];
  flag_spec_t specs[LEARNER_MAX_FLAGS + 4];
  size_t n_learner = learner_flag_specs(&cli, specs), n = n_learner;
  specs[n++] = (flag_spec_t){"serial", FLAG_BOOL, &serial, NULL, "one process steps the env and trains (reproducible baseline)", 0, 0, NULL, NULL, NULL};
  specs[n++] = (flag_spec_t){"actors", FLAG_U32, &actors, "N", "actor processes", 1, 1024, NULL, "2", NULL};
  specs[n++] = cluster_flag_envs_per_actor(&envs);
  specs[n++] = (flag_spec_t){"quiet", FLAG_BOOL, &quiet, NULL, "no progress output", 0, 0, NULL, NULL, NULL};
  td3_err_t err = {0};
  if (flags_defaults(specs + n_learner, n - n_learner, &err) != 0) {
    fprintf(stderr, "td3d run: %s\n", err.msg);
    return 2;
  }
  const flag_program_t prog = {
      "td3d run [--serial] [--env ID] [--steps N] [--target-return R] [--out DIR] [options]",
      "Trains a TD3 policy with one command. By default it starts a local cluster: a\n"
      "learner, --actors actor processes and an evaluator, restarting a crashed actor with\n"
      "back-off and stopping everything on Ctrl-C, at the step budget or at --target-return.\n"
      "--serial runs the authors' loop in one process instead (bit-reproducible for a seed).\n"
      "Progress shows on the terminal (a live line, and a line per evaluation); the run\n"
      "directory receives config.json, progress.csv, curve.svg, policy.td3p (load it\n"
      "with `td3d eval`) and the learner's checkpoint/. A learner that dies is restarted\n"
      "from its checkpoint; --resume DIR continues a stopped run.",
      NULL};
  int rc = learner_cli_parse(&cli, specs, n, &prog, argc, argv, &err);
  if (rc == 1) return 0;
  if (rc < 0 || learner_cli_finish(&cli, &err) != 0) {
    fprintf(stderr, "td3d run: %s\n", err.msg);
    learner_cli_free(&cli);
    return 2;
  }
  if (cli.cfg.curve_key || cli.cfg.curve_authorized) {
    fprintf(stderr, "td3d run: CURVE security is for a learner with actors on other hosts (td3d "
                    "learner --curve-key ...); a local run's sockets are on 127.0.0.1\n");
    learner_cli_free(&cli);
    return 2;
  }
  const char *external = learner_external_name(cli.cfg.env_id);
  if (external) { /* its actors are the user's programs: nothing here could start them */
    fprintf(stderr, "td3d run: %s is an env the actors bring; td3d run starts td3d's own actors, "
                    "which cannot step it. Start the learner alone (td3d learner --env %s "
                    "--obs-dim N --act-dim M --action-low X --action-high X ...) and your actors "
                    "(python3 -m td3d.actor --learner HOST --env-factory MODULE:FUNCTION, see "
                    "clients/python/README.md)\n",
            cli.cfg.env_id, cli.cfg.env_id);
    learner_cli_free(&cli);
    return 2;
  }
  if (serial && cli.cfg.resume_dir) {
    fprintf(stderr, "td3d run: --resume continues a distributed run; --serial runs have no "
                    "checkpoints\n");
    learner_cli_free(&cli);
    return 2;
  }
  if (!cli.cfg.out_dir) {
    learner_cli_default_out(&cli, default_out, sizeof default_out);
    cli.cfg.out_dir = default_out;
  }
  if (preflight(&cli.cfg, &err) != 0) {
    fprintf(stderr, "td3d run: %s\n", err.msg);
    learner_cli_free(&cli);
    return 1;
  }
  /* The local cluster's evaluator proves itself with a token drawn for this start (a
   * --resume too), in a file only this user can read: anyone else on the host who reaches
   * the control port cannot take the evaluator's slot. One the user gave is used as is. */
  char token_path[PATH_MAX];
  if (!serial && !cli.cfg.eval_token_file) {
    snprintf(token_path, sizeof token_path, "%s/eval.token", cli.cfg.out_dir);
    if (td3_mkdirs(cli.cfg.out_dir, &err) != 0 || eval_token_create(token_path, &err) != 0) {
      fprintf(stderr, "td3d run: %s\n", err.msg);
      learner_cli_free(&cli);
      return 1;
    }
    cli.cfg.eval_token_file = token_path;
  }
  if (quiet && !cli.log_level) log_set_level(LOG_WARN);
  install_signals();
  if (serial) rc = run_serial(&cli, quiet);
  else rc = run_local(&cli, specs, n_learner, actors, envs, quiet);
  learner_cli_free(&cli);
  return rc;
}
