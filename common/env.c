/* The environment registry (see env.h). New built-in environments add a line to the table. */
#include "env.h"

#include <stdio.h>
#include <string.h>

static const env_entry_t registry[] = {
    {"Pendulum-v1", "swing up and balance a pendulum (Gymnasium Pendulum-v1)", env_pendulum_new},
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
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (strcmp(id, registry[i].id) == 0) return registry[i].create(opts, err);

  char known[512] = "";
  size_t used = 0;
  for (size_t i = 0; i < sizeof registry / sizeof registry[0] && used < sizeof known; i++)
    used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                             registry[i].id);
  td3_err_set(err, TD3_ENOTFOUND, "unknown environment '%s'; known: %s", id, known);
  return NULL;
}

void env_destroy(env_t **pe) {
  if (!pe || !*pe) return;
  (*pe)->ops->destroy(*pe);
  *pe = NULL;
}
