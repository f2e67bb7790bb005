/* `td3d actor`: an actor (or, with --eval, the evaluator) of a distributed run
 * (actor/actor.h). Flags and wiring only. */
#include "actor_flags.h"
#include "log.h"

#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static _Atomic int g_stop = 0;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

int cmd_actor_main(int argc, char **argv) {
  actor_cli_t cli;
  actor_cli_init(&cli);
  flag_spec_t specs[ACTOR_MAX_FLAGS];
  size_t n = actor_flag_specs(&cli, specs);
  const flag_program_t prog = {
      "td3d actor [--learner HOST] [options]",
      "Steps copies of the run's environment with the learner's latest policy plus\n"
      "exploration noise and streams the transitions to the learner; with --eval, runs the\n"
      "deterministic evaluations instead. Start it before or after the learner: it waits,\n"
      "and when the learner goes away it keeps retrying and rejoins by itself. SIGTERM or\n"
      "Ctrl-C sends what it holds and exits.",
      NULL};
  td3_err_t err = {0};
  int rc = flags_parse(specs, n, &prog, argc, argv, NULL, 0, NULL, &err);
  if (rc == 1) return 0;
  if (rc < 0 || actor_cli_finish(&cli, &err) != 0) {
    fprintf(stderr, "td3d actor: %s\n", err.msg);
    return 2;
  }
  openblas_set_num_threads(1);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  cli.cfg.stop = &g_stop;
  actor_result_t res;
  rc = actor_run(&cli.cfg, &res, &err);
  if (rc) {
    fprintf(stderr, "td3d actor: %s\n", err.msg);
    return 1;
  }
  log_info("%llu env steps, %llu sent, %llu dropped, %llu episodes, %.1fs blocked, "
          "weights version %llu",
          (unsigned long long)res.env_steps, (unsigned long long)res.sent,
          (unsigned long long)res.dropped, (unsigned long long)res.episodes,
          (double)res.blocked_us / 1e6, (unsigned long long)res.policy_version);
  return 0;
}
