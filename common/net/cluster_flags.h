/* Flag rows that every process of a distributed run shares: the learner (`td3d learner`,
 * `td3d run`) and its actors (`td3d actor`) name the env, the three ports, the MuJoCo model
 * files, the log level and the env copies per actor alike. Each row carries its default
 * (flags.h: def), so a learner and its actors started without flags agree.
 *
 * Each function returns one row whose destination is dst (borrowed: it must outlive the
 * table). Thread: any (no shared state). */
#ifndef TD3_CLUSTER_FLAGS_H
#define TD3_CLUSTER_FLAGS_H

#include "flags.h"

#include <stdint.h>

#define CLUSTER_DEFAULT_ENV "Pendulum-v1"

typedef enum cluster_port {
  CLUSTER_PORT_EXPERIENCE, /* the learner's PULL socket */
  CLUSTER_PORT_WEIGHTS,    /* its PUB socket */
  CLUSTER_PORT_CONTROL     /* its ROUTER socket */
} cluster_port_t;

/* --env ID; help differs by program (what the id must match). */
flag_spec_t cluster_flag_env(const char **dst, const char *help);

/* --experience-port, --weights-port or --control-port. */
flag_spec_t cluster_flag_port(cluster_port_t which, unsigned *dst);

/* --model PATH and --mujoco-assets DIR (env_options_t's two paths). */
flag_spec_t cluster_flag_model(const char **dst);
flag_spec_t cluster_flag_mujoco_assets(const char **dst);

/* --envs-per-actor K. */
flag_spec_t cluster_flag_envs_per_actor(uint32_t *dst);

/* --log-level LEVEL, and applying it once parsed: level NULL leaves the level as it is.
 * Returns 0 or TD3_EINVAL with err naming the flag. */
flag_spec_t cluster_flag_log_level(const char **dst);
int cluster_log_level_apply(const char *level, td3_err_t *err);

#endif
