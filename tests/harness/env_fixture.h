/* What the MuJoCo tests share (tests/test_env_mujoco.c: the tasks against Gymnasium;
 * tests/test_env_mujoco_models.c: model lookup, load errors and td3d's own runner): whether a
 * reference model is present, random actions, a float comparison that fails the running
 * cmocka test, and one step from a state set by hand. Single-threaded; call from a cmocka test. */
#ifndef TD3_ENV_FIXTURE_H
#define TD3_ENV_FIXTURE_H

#include "env.h"
#include "rng.h"

#include <stdint.h>

/* Whether the reference model file (e.g. "hopper.xml") is readable in assets_dir. */
int env_fixture_have_model(const char *assets_dir, const char *file);

/* Fills a (act_dim floats) with scale times a uniform draw within e's action bounds. */
void env_fixture_random_action(rng_t *r, const env_t *e, float *a, float scale);

/* The sum of squares of a[0..n), in double. */
double env_fixture_sumsq(const float *a, uint32_t n);

/* Fails the running test (naming what) unless got is within 1e-5 relative (to max(1, |want|))
 * of want. */
void env_fixture_assert_close(double got, double want, const char *what);

/* Resets e (seed 3), sets qpos[qpos_i] = qpos_v and qvel[qvel_i] = qvel_v (an index < 0 sets
 * nothing), steps once with zero action and returns whether that step was terminal (*rew:
 * its reward). Fails the running test if the step fails. */
int env_fixture_terminal_after(env_t *e, int qpos_i, double qpos_v, int qvel_i, double qvel_v,
                               float *rew);

#endif
