/* The environment registry (see env.h). New built-in environments add a line to the table. */
#include "env.h"

#include <stdio.h>
#include <string.h>

static const env_entry_t registry[] = {
    {"Pendulum-v1", "swing up and balance a pendulum (Gymnasium Pendulum-v1)", env_pendulum_new},
    {"MountainCarContinuous-v0", "drive an underpowered car up a hill (Gymnasium)",
     env_mountaincar_new},
    {"HalfCheetah-v4", "planar cheetah runs forward (MuJoCo, half_cheetah.xml)",
     env_half_cheetah_new},
    {"Hopper-v4", "one-legged planar hopper (MuJoCo, hopper.xml)", env_hopper_new},
    {"Walker2d-v4", "planar biped walks forward (MuJoCo, walker2d.xml)", env_walker2d_new},
    {"Ant-v4", "four-legged ant walks forward (MuJoCo, ant.xml)", env_ant_new},
    {"InvertedPendulum-v4", "balance a pole on a cart (MuJoCo, inverted_pendulum.xml)",
     env_inverted_pendulum_new},
    {"Reacher-v4", "two-link arm reaches a target (MuJoCo, reacher.xml)", env_reacher_new},
    {"Runner-td3d-v0", "planar two-legged runner on td3d's own model (MuJoCo, td3d_runner.xml)",
     env_runner_new},
};

const env_entry_t *env_registry(size_t *n) {
  *n = sizeof registry / sizeof registry[0];
  return registry;
}

env_t *env_create(const char *id, const env_options_t *opts, td3_err_t *err) {
  static const env_options_t none = {0};
  if (!opts) opts = &none;
  if (!id || !*id) {
    td3_err_set(err, TD3_EINVAL, "no environment id given");
    return NULL;
  }
  if (strncmp(id, ENV_PLUGIN_PREFIX, strlen(ENV_PLUGIN_PREFIX)) == 0)
    return env_plugin_new(id, err);
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (strcmp(id, registry[i].id) == 0) return registry[i].create(opts, err);

  char known[512] = "";
  size_t used = 0;
  for (size_t i = 0; i < sizeof registry / sizeof registry[0] && used < sizeof known; i++)
    used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                             registry[i].id);
  td3_err_set(err, TD3_ENOTFOUND,
              "unknown environment '%s'; known: %s, or " ENV_PLUGIN_PREFIX "/path/lib.so[:ARG]",
              id, known);
  return NULL;
}

void env_destroy(env_t **pe) {
  if (!pe || !*pe) return;
  (*pe)->ops->destroy(*pe);
  *pe = NULL;
}
