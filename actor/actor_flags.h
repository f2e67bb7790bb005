/* The actor's command-line flags, shared by `td3d actor` and `td3d run`. */
#ifndef TD3_ACTOR_FLAGS_H
#define TD3_ACTOR_FLAGS_H

#include "actor.h"
#include "flags.h"

#define ACTOR_MAX_FLAGS 24

typedef struct actor_cli {
  actor_config_t cfg;
  const char *log_level;
} actor_cli_t;

void actor_cli_init(actor_cli_t *cli);

/* Writes the flag table into out (at least ACTOR_MAX_FLAGS entries); returns its length. */
size_t actor_flag_specs(actor_cli_t *cli, flag_spec_t *out);

/* Applies the log level; returns 0 or TD3_EINVAL with err filled. */
int actor_cli_finish(actor_cli_t *cli, td3_err_t *err);

#endif
