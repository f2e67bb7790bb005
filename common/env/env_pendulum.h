/* Pendulum-v1 extras beyond the env interface: setting the state directly, for tests and
 * tools that check the dynamics against hand-computed values. */
#ifndef TD3_ENV_PENDULUM_H
#define TD3_ENV_PENDULUM_H

#include "env.h"

/* Sets the pendulum's angle (radians, unwrapped) and angular velocity; e must come from
 * env_create("Pendulum-v1"). */
void env_pendulum_set_state(env_t *e, double th, double thdot);

#endif
