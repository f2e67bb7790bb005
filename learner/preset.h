/* Hyperparameter presets: named sets of defaults for `td3d run` and `td3d learner`.
 *
 *   td3-repo   the authors' repository defaults (sfujim/TD3 main.py): 256-256 networks,
 *              Adam lr 3e-4, batch 256, 25000 start steps (1000 for Pendulum-v1,
 *              InvertedPendulum-v4 and Reacher-v4). What td3d uses when no preset is named.
 *   td3-paper  the TD3 paper's settings (Fujimoto et al. 2018, section 6.1 and appendix):
 *              400-300 networks, Adam lr 1e-3, batch 100, 10000 start steps for HalfCheetah
 *              and Ant, 1000 for every other task.
 *
 * Both keep gamma 0.99, tau 0.005, target smoothing 0.2 clipped at 0.5, policy delay 2,
 * exploration noise 0.1, a 1e6 replay and one update per env step. A preset only sets
 * defaults: a flag given on the command line (or as a TD3D_* variable) still wins.
 * Thread: any (pure functions over constant tables). */
#ifndef TD3_PRESET_H
#define TD3_PRESET_H

#include <stddef.h>
#include <stdint.h>

#define PRESET_DEFAULT "td3-repo"

typedef struct preset {
  const char *name;
  const char *summary;      /* one line for `td3d presets` */
  uint32_t hidden[2];       /* hidden layer sizes of every network */
  float lr;                 /* Adam learning rate of the actor and the critics */
  uint32_t batch;           /* minibatch size */
  uint64_t start_steps;     /* random-action steps for every task not listed ... */
  uint64_t start_listed;    /* ... and for the tasks in listed_envs */
  const char *const *listed_envs; /* NULL-terminated env ids */
} preset_t;

/* The preset called name, or NULL. The pointer is to a constant table entry. */
const preset_t *preset_find(const char *name);

/* The i-th preset (0-based) or NULL past the end, for listings. */
const preset_t *preset_at(size_t i);

/* The preset's start steps for env_id (env_id NULL or not listed: start_steps). */
uint64_t preset_start_steps(const preset_t *p, const char *env_id);

/* Deterministic episodes per evaluation for env_id, whatever the preset: 10, the paper's
 * protocol, except on tasks whose random start states alone spread one episode's return
 * widely. Pendulum-v1 gets 50: a near-optimal policy scores 0 to -400 by where the pendulum
 * starts (about -150 +- 80), so a mean over 10 episodes is off by +-25 and a run whose
 * policy is done can sit on either side of a -200 target. */
uint32_t preset_eval_episodes(const char *env_id);

/* "td3-repo, td3-paper": the known names, for error messages. */
const char *preset_names(void);

#endif
