/* `td3d learner`: the learner process of a distributed run (learner/learner.h). Flags and
 * wiring only. */
#include "gemm.h"
#include "launcher.h"
#include "learner_flags.h"
#include "log.h"

#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static _Atomic int g_stop = 0;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

/* The last lines of a run whose end could not be saved (a full disk): what is missing and how
 * far back --resume goes. On standard error, also with --quiet. */
static void print_not_saved(const learner_config_t *c, const learner_result_t *res) {
  const char *dir = c->out_dir;
  if (res->checkpoint_failed) {
    fprintf(stderr, "td3d learner: ERROR: the run's final checkpoint could not be written: %s\n",
            res->save_error);
    if (res->checkpoints || res->resumed)
      fprintf(stderr,
              "td3d learner: the latest checkpoint in %s/checkpoint holds %llu of the run's %llu "
              "env steps: --resume %s goes back to it (%llu env steps collected and trained "
              "again); free space before resuming\n",
              dir, (unsigned long long)res->checkpoint_steps, (unsigned long long)res->inserted,
              dir, (unsigned long long)(res->inserted - res->checkpoint_steps));
    else
      fprintf(stderr, "td3d learner: %s holds no checkpoint: the run cannot be resumed\n", dir);
  }
  if (res->output_failures)
    fprintf(stderr,
            "td3d learner: ERROR: %u write%s of progress.csv, curve.svg or policy.td3p in %s "
            "failed (the latest: %s); those files miss what the run did\n",
            res->output_failures, res->output_failures == 1 ? "" : "s", dir, res->save_error);
  fprintf(stderr, "td3d learner: the run's end was not saved (exit status %d)\n",
          LAUNCH_EXIT_NOT_SAVED);
}

int cmd_learner_main(int argc, char **argv) {
  learner_cli_t cli;
  learner_cli_init(&cli);
  int quiet = 0;
  char default_out[256];
  flag_spec_t specs[LEARNER_MAX_FLAGS + 1];
  size_t n = learner_flag_specs(&cli, specs);
  specs[n++] = (flag_spec_t){"quiet", FLAG_BOOL, &quiet, NULL, "no progress output", 0, 0, NULL, NULL, NULL};
  const flag_program_t prog = {
      "td3d learner [options]",
      "Runs the learner of a distributed run: it binds the experience (PULL), weights (PUB)\n"
      "and control (ROUTER) sockets, accepts actors (`td3d actor`) and an evaluator\n"
      "(`td3d actor --eval`), keeps the replay buffer, trains TD3 under the rate limiter and\n"
      "broadcasts the actor's weights. It ends when --steps transitions have been inserted and\n"
      "trained on (then it evaluates the final policy itself), when an evaluation reaches\n"
      "--target-return, or on SIGINT/SIGTERM; the run directory gets config.json,\n"
      "progress.csv, curve.svg, policy.td3p and checkpoint/ (written every\n"
      "--checkpoint-every seconds and when the learner stops). --resume DIR continues a run\n"
      "from its checkpoint: counters, weights version and replay as they were.",
      NULL};
  td3_err_t err = {0};
  int rc = learner_cli_parse(&cli, specs, n, &prog, argc, argv, &err);
  if (rc == 1) {
    learner_cli_free(&cli);
    return 0;
  }
  if (rc < 0 || learner_cli_finish(&cli, &err) != 0) {
    fprintf(stderr, "td3d learner: %s\n", err.msg);
    learner_cli_free(&cli);
    return 2;
  }
  learner_config_t *c = &cli.cfg;
  if (!c->out_dir) {
    learner_cli_default_out(&cli, default_out, sizeof default_out);
    c->out_dir = default_out;
  }
  cli.flags_text = learner_cli_flags_text(specs, n - 1);
  c->flags_text = cli.flags_text;
  c->progress = quiet ? 0 : 2;
  if (quiet && !cli.log_level) log_set_level(LOG_WARN);
  openblas_set_num_threads((int)cli.threads);
  gemm_set_threads((int)cli.threads);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  c->stop = &g_stop;

  learner_result_t res;
  rc = learner_run(c, &res, &err);
  if (rc) {
    fprintf(stderr, "td3d learner: %s\n", err.msg);
    learner_cli_free(&cli);
    return 1;
  }
  if (!quiet) {
    char last[32], best[32];
    printf("done: %llu transitions, %llu updates, weights version %llu in %.1fs; last eval %s, "
           "best %s",
           (unsigned long long)res.inserted, (unsigned long long)res.updates,
           (unsigned long long)res.weights_version, res.wall_seconds,
           launch_fmt_return(last, sizeof last, res.last_eval),
           launch_fmt_return(best, sizeof best, res.best_eval));
    if (isfinite(c->target_return) && res.solved)
      printf("; target %.2f reached at %llu steps (%.1fs)", c->target_return,
             (unsigned long long)res.solved_at, res.solved_seconds);
    printf("%s\npolicy: %s/policy.td3p\n", g_stop ? " (stopped early)" : "", c->out_dir);
    if (res.checkpoints && !res.checkpoint_failed)
      printf("checkpoint: %s/checkpoint (continue with --resume %s)\n", c->out_dir, c->out_dir);
  }
  if (res.checkpoint_failed || res.output_failures) {
    /* Never a quiet success: the run's end was not saved, and --resume would go back. */
    print_not_saved(c, &res);
    learner_cli_free(&cli);
    return LAUNCH_EXIT_NOT_SAVED;
  }
  /* A service (--continue, restarted by Docker or systemd on failure) ends a finished run
   * with 0 either way, or its supervisor would start it again. */
  int unsolved = isfinite(c->target_return) && !res.solved && !g_stop && !cli.continue_run;
  if (unsolved) launch_print_unsolved(res.best_eval, c->target_return);
  learner_cli_free(&cli);
  return unsolved ? LAUNCH_EXIT_UNSOLVED : 0;
}
