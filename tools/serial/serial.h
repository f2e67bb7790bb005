/* Serial mode: one process steps one environment and trains, in the authors' loop.
 *
 * For t = 0 .. steps-1: act uniformly at random while t < start_steps, afterwards
 * a = clip(pi(s) + N(0, (expl_noise * half range)^2), low, high); step; store (s, a, r, s',
 * terminal) with time-limit truncation NOT terminal; from t >= start_steps run one TD3
 * iteration per step; reset on terminal or at the step limit; every eval_every steps (and
 * once before training) run eval_episodes deterministic episodes on a separate environment
 * seeded evaluate_seed(seed) (common/env/evaluate.h), and write a progress row, the curve and
 * the policy.
 *
 * This is the reproducible baseline that distributed mode is compared with: for a seed, on
 * one machine with one OpenBLAS thread, two runs give bit-identical results. */
#ifndef TD3_SERIAL_H
#define TD3_SERIAL_H

#include "env.h"
#include "learner.h"
#include "td3.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct serial_config {
  const char *env_id;
  const char *preset;       /* the preset named in config.json (learner/preset.h); NULL: none */
  env_options_t env_opts;
  uint64_t seed;
  uint64_t steps;           /* env step budget */
  uint64_t start_steps;     /* uniform-random steps before the policy acts */
  float expl_noise;         /* exploration std, fraction of the half action range */
  uint64_t eval_every;      /* env steps between evaluations */
  uint32_t eval_episodes;
  size_t replay_capacity;
  double target_return;     /* stop once an evaluation reaches it; NaN: never */
  const char *out_dir;      /* run directory, or NULL for none */
  int overwrite;            /* allow an out_dir that already holds a run */
  int progress;             /* 0 quiet, 1 a line per evaluation, 2 also a live line */
  td3_config_t td3;         /* obs/act dims and bounds are filled from the env */
  _Atomic int *stop;   /* optional: set (by a signal handler or another thread) to stop early */
} serial_config_t;

typedef struct serial_result {
  uint64_t env_steps;
  uint64_t updates;
  double wall_seconds;
  double last_eval;         /* mean return of the last evaluation (NaN if none) */
  double best_eval;         /* the highest of a trained policy (NaN: none; see
                               evaluate_untrained) */
  int solved;               /* 1 if an evaluation reached target_return */
  uint64_t solved_at;       /* env steps at that evaluation */
  double solved_seconds;    /* wall time then */
  uint32_t evaluations;
  int stopped;              /* 1 if *stop ended the run early */
} serial_result_t;

/* Defaults: the learner's (learner_config_default: its flag table's and the default preset's
 * values); td3d run sets the preset's start steps for the env (learner/preset.h). */
void serial_config_default(serial_config_t *c);

/* The serial run of a learner configuration: the fields both have, copied (strings borrowed
 * from l); stop is NULL. */
void serial_config_from_learner(serial_config_t *c, const learner_config_t *l);

/* Runs the loop. Returns 0 (budget spent, target reached, or stopped), or a negative code
 * with err filled (bad config, env creation, file output, non-finite training). */
int serial_run(const serial_config_t *c, serial_result_t *res, td3_err_t *err);

#endif
