/* `td3d presets`: the hyperparameter presets that --preset names (learner/preset.h). */
#include "flags.h"
#include "preset.h"

#include <stdio.h>

int cmd_presets_main(int argc, char **argv) {
  const flag_program_t prog = {
      "td3d presets",
      "Lists the hyperparameter presets of `td3d run --preset NAME` and `td3d learner\n"
      "--preset NAME`. A preset sets defaults only: a flag given on the command line (or as\n"
      "a TD3D_* variable) wins. Without --preset, td3-repo applies.",
      NULL};
  td3_err_t err = {0};
  int rc = flags_parse(NULL, 0, &prog, argc, argv, NULL, 0, NULL, &err);
  if (rc == 1) return 0;
  if (rc < 0) {
    fprintf(stderr, "td3d presets: %s\n", err.msg);
    return 2;
  }
  printf("%-10s %-8s %-7s %-6s %-12s %s\n", "preset", "hidden", "lr", "batch", "start steps",
         "tasks with other start steps");
  for (size_t i = 0; preset_at(i); i++) {
    const preset_t *p = preset_at(i);
    char hidden[32], listed[256];
    size_t used = 0;
    snprintf(hidden, sizeof hidden, "%u-%u", p->hidden[0], p->hidden[1]);
    listed[0] = '\0';
    for (const char *const *e = p->listed_envs; *e; e++)
      used += (size_t)snprintf(listed + used, sizeof listed - used, "%s%s", used ? ", " : "", *e);
    printf("%-10s %-8s %-7g %-6u %-12llu %s: %llu\n", p->name, hidden, (double)p->lr, p->batch,
           (unsigned long long)p->start_steps, listed, (unsigned long long)p->start_listed);
  }
  printf("\n");
  for (size_t i = 0; preset_at(i); i++)
    printf("%s%s: %s\n", preset_at(i)->name, i == 0 ? " (default)" : "", preset_at(i)->summary);
  printf("\nBoth: gamma 0.99, tau 0.005, target smoothing 0.2 clipped at 0.5, policy delay 2,\n"
         "exploration noise 0.1, replay 1e6, one update per env step, evaluation every 5000\n"
         "steps on 10 episodes (50 for Pendulum-v1, whose start states alone spread a good\n"
         "policy's returns from 0 to -400).\n");
  return 0;
}
