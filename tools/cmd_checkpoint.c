/* `td3d checkpoint DIR`: what a run directory's checkpoint holds (learner/checkpoint.h):
 * environment, network shape, counters, replay file, the flags `--resume` will apply. The
 * state file and the replay file are checked as `--resume` would (CRC, format, the replay
 * belonging to the state); exit 0, 1 when there is no checkpoint that can be resumed, 2 for a
 * usage error. */
#include "checkpoint.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: td3d checkpoint RUN_DIR\n"
          "\n"
          "Describes the learner checkpoint in RUN_DIR/checkpoint (written by `td3d learner` and\n"
          "`td3d run`; continued with --resume RUN_DIR): environment, network shape, env steps,\n"
          "updates, weights version, run time, replay file and the run's stored flags. The\n"
          "state file and the replay file are read whole and checked (format, checksum) as\n"
          "--resume would; exit status 1 when either cannot be resumed.\n"
          "\n"
          "options:\n"
          "  -h, --help  print this help\n");
}

int cmd_checkpoint_main(int argc, char **argv) {
  const char *run_dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    if (argv[i][0] == '-' || run_dir) {
      fprintf(stderr, "td3d checkpoint: unexpected argument '%s' (see --help)\n", argv[i]);
      return 2;
    }
    run_dir = argv[i];
  }
  if (!run_dir) {
    fprintf(stderr, "td3d checkpoint: RUN_DIR is required (see --help)\n");
    return 2;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", run_dir, CHECKPOINT_DIR);
  checkpoint_info_t in;
  td3_err_t err = {0};
  if (checkpoint_describe(dir, &in, &err) != 0) {
    fprintf(stderr, "td3d checkpoint: %s\n", err.msg);
    return 1;
  }
  const checkpoint_meta_t *m = &in.meta;
  printf("checkpoint   %s\n", dir);
  printf("run id       %016llx (seed %llu)\n", (unsigned long long)m->run_id,
         (unsigned long long)m->seed);
  printf("environment  %s (obs %u, act %u)\n", m->env_id, in.obs_dim, in.act_dim);
  printf("actor        ");
  for (uint32_t i = 0; i < in.n_actor_layers; i++)
    printf("%s%u", i ? "-" : "", in.actor_layers[i]);
  printf("\n");
  printf("env steps    %llu\n", (unsigned long long)m->inserted);
  printf("updates      %llu\n", (unsigned long long)m->updates);
  printf("weights      version %llu\n", (unsigned long long)m->weights_version);
  printf("run time     %.1f s\n", m->wall_seconds);
  /* the replay file is read whole and checked as --resume would, so that a damaged one is
   * reported here rather than by the resume that refuses it */
  td3_err_t rerr = {0};
  int replay_bad = !in.replay_missing && checkpoint_check_replay(dir, &in, &rerr) != 0;
  if (!m->has_replay)
    printf("replay       not included (--checkpoint-replay=0)\n");
  else if (in.replay_missing)
    printf("replay       %s MISSING (the checkpoint cannot be resumed)\n", in.replay_file);
  else if (replay_bad)
    printf("replay       %s DAMAGED (the checkpoint cannot be resumed): %s\n", in.replay_file,
           rerr.msg);
  else
    printf("replay       %s, %.1f MiB, checked\n", in.replay_file,
           (double)in.replay_bytes / 1048576.0);
  printf("state file   %.1f MiB\n", (double)in.state_bytes / 1048576.0);
  printf("flags        %s", in.flags[0] ? "" : "(none)\n");
  int first = 1;
  for (char *line = strtok(in.flags, "\n"); line; line = strtok(NULL, "\n")) {
    printf("%s%s", first ? "" : " ", line);
    first = 0;
  }
  if (!first) printf("\n");
  int rc = in.replay_missing || replay_bad ? 1 : 0;
  if (rc)
    fprintf(stderr,
            "td3d checkpoint: %s cannot be resumed: its replay file is %s (--resume refuses "
            "it); restore the directory from a backup, or start a new run with --overwrite\n",
            dir, in.replay_missing ? "missing" : "damaged");
  else
    printf("continue with: td3d run --resume %s   (or td3d learner --resume %s)\n", run_dir,
           run_dir);
  checkpoint_info_free(&in);
  return rc;
}
