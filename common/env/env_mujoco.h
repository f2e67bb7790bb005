/* MuJoCo environments: what tests, tools and benchmarks may look at beyond env.h.
 *
 * The tasks themselves are created through env_create (or the env_*_new constructors in env.h).
 * This header gives read access to the simulator state behind a MuJoCo env, so a test can
 * compare observations with qpos/qvel and a benchmark can time raw mj_step against the env,
 * and it tells where a task's model file is looked for.
 *
 * Model files. A Gymnasium task (HalfCheetah-v4, Hopper-v4, Walker2d-v4, Ant-v4,
 * InvertedPendulum-v4, Reacher-v4) loads, in this order:
 *   1. env_options_t.model_path (--model PATH), when given: that file and nothing else;
 *   2. <env_options_t.assets_dir>/<file> (--mujoco-assets DIR), when given;
 *   3. <$TD3D_MUJOCO_ASSETS>/<file>, when the variable is set;
 *   4. when neither 2 nor 3 is given: a pip-installed Gymnasium's
 *      <site-packages>/gymnasium/envs/mujoco/assets/<file>, in $VIRTUAL_ENV, $CONDA_PREFIX,
 *      ~/.local, pyenv's versions, /usr/local/lib and /usr/lib (a few glob patterns);
 * where <file> is Gymnasium's name for it (hopper.xml, ...). Runner-td3d-v0 loads
 * td3d_runner.xml, the project's own model, from model_path, else $TD3D_MODELS_DIR, else the
 * source tree it was built from (common/env/models/), else the install tree
 * (<prefix>/share/td3d/models/, put there by `cmake --install`). The first existing file wins;
 * when none exists the error lists every place looked at and the file needed.
 *
 * Ownership: every pointer returned here is borrowed from the env and lives until
 * env_destroy. Thread safety: as for the env itself (one thread per env). */
#ifndef TD3_ENV_MUJOCO_H
#define TD3_ENV_MUJOCO_H

#include "env.h"

#include <mujoco/mujoco.h>

/* Where a task's model comes from: Gymnasium's files (model_path, assets_dir,
 * $TD3D_MUJOCO_ASSETS, pip's site-packages) or td3d's own (model_path, $TD3D_MODELS_DIR, source tree, install
 * tree). */
typedef enum env_model_origin {
  ENV_MODEL_GYMNASIUM,
  ENV_MODEL_TD3D
} env_model_origin_t;

/* Finds the model file `file` (e.g. "hopper.xml") of task `task_id` in the places listed
 * above, in that order; writes the first readable path to out (cap bytes) and returns 0.
 * Otherwise returns TD3_ENOTFOUND with err naming the task, the file it needs, every place
 * looked at and what to pass instead. opts may be NULL. (env_mujoco_models.c) */
int env_mujoco_find_model(const char *task_id, const char *file, env_model_origin_t origin,
                          const env_options_t *opts, char *out, size_t cap, td3_err_t *err);

/* Gymnasium's model file name of task id ("hopper.xml" for Hopper-v4), or NULL when id is not
 * one of Gymnasium's MuJoCo tasks (Runner-td3d-v0's model is td3d's own). */
const char *env_mujoco_gymnasium_file(const char *id);

/* The model and the live data of a MuJoCo env, or NULL when e is not a MuJoCo env. A caller
 * may change the data (a test putting the body into a chosen state); the next env_step
 * continues from whatever it finds there. */
const mjModel *env_mujoco_model(const env_t *e);
mjData *env_mujoco_data(env_t *e);

/* Simulator steps per env step, and the env's time step (timestep x frame_skip, seconds);
 * 0 when e is not a MuJoCo env. */
int env_mujoco_frame_skip(const env_t *e);
double env_mujoco_dt(const env_t *e);

/* The model file the env loaded (a path), or NULL when e is not a MuJoCo env. */
const char *env_mujoco_model_path(const env_t *e);

/* Name of the joint that action dimension i drives (action i is the ctrl of the model's
 * actuator i), or NULL when e is not a MuJoCo env or i is out of range. */
const char *env_mujoco_action_joint(const env_t *e, uint32_t i);

#endif
