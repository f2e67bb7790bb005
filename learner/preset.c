/* Hyperparameter presets (see preset.h). */
#include "preset.h"

#include <string.h>

static const char *const repo_listed[] = {"Pendulum-v1", "InvertedPendulum-v4", "Reacher-v4", NULL};
static const char *const paper_listed[] = {"HalfCheetah-v4", "Ant-v4", NULL};

static const preset_t presets[] = {
    {"td3-repo", "the authors' repository defaults: 256-256, lr 3e-4, batch 256, 25k start steps "
                 "(1k for Pendulum, InvertedPendulum, Reacher)",
     {256, 256}, 3e-4f, 256, 25000, 1000, repo_listed},
    {"td3-paper", "the TD3 paper's settings: 400-300, lr 1e-3, batch 100, 10k start steps for "
                  "HalfCheetah and Ant, 1k for the rest",
     {400, 300}, 1e-3f, 100, 1000, 10000, paper_listed},
};

const preset_t *preset_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    if (strcmp(presets[i].name, name) == 0) return &presets[i];
  return NULL;
}

const preset_t *preset_at(size_t i) {
  return i < sizeof presets / sizeof presets[0] ? &presets[i] : NULL;
}

uint64_t preset_start_steps(const preset_t *p, const char *env_id) {
  for (const char *const *e = p->listed_envs; env_id && *e; e++)
    if (strcmp(*e, env_id) == 0) return p->start_listed;
  return p->start_steps;
}

uint32_t preset_eval_episodes(const char *env_id) {
  return env_id && strcmp(env_id, "Pendulum-v1") == 0 ? 50 : 10;
}

const char *preset_names(void) { return "td3-repo, td3-paper"; }
