/* The run directory: what a training run leaves behind for its user.
 *
 *   config.json    the run's configuration (written once at the start); its "env" and "model"
 *                  (the absolute path of the MuJoCo model file the run loaded, or null) let
 *                  `td3d eval` load the same model without being told where it is
 *   progress.csv   one row per evaluation (header below), flushed as it is written
 *   curve.svg      the learning curve (eval return against env steps), rewritten per evaluation
 *                  (or less often: rundir_append + rundir_draw)
 *   policy.td3p    the latest policy (common/nn/policy_file.h), loadable by `td3d eval`
 *
 * progress.csv columns: env_steps, updates, wall_seconds, eval_return_mean, eval_return_std,
 * eval_return_min, eval_return_max, eval_episodes, train_return_mean (mean return of the
 * training episodes finished since the previous row; empty if none), env_steps_per_second,
 * updates_per_second.
 *
 * One thread uses a rundir_t. */
#ifndef TD3_RUNDIR_H
#define TD3_RUNDIR_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rundir rundir_t;

typedef struct rundir_row {
  uint64_t env_steps;
  uint64_t updates;
  double wall_seconds;
  double eval_mean, eval_std, eval_min, eval_max;
  uint32_t eval_episodes;
  double train_return_mean;  /* NaN when no training episode finished */
  double env_steps_per_s;
  double updates_per_s;
} rundir_row_t;

/* Creates the directory (and parents) and writes config.json (config_json is a complete
 * JSON document). Refuses a directory that already holds a progress.csv unless overwrite
 * is set, so a finished run is never clobbered by accident. */
rundir_t *rundir_open(const char *path, const char *config_json, int overwrite, td3_err_t *err);

/* Opens a run directory to continue its run (after a checkpoint was restored): config.json
 * is rewritten, progress.csv keeps its rows with env_steps <= max_env_steps (later rows
 * describe training the checkpoint does not hold; a damaged line is dropped too) and new rows
 * are appended; curve.svg is redrawn. A directory without progress.csv gets a new one. */
rundir_t *rundir_resume(const char *path, const char *config_json, uint64_t max_env_steps,
                        td3_err_t *err);

/* The evaluation rows so far (kept by rundir_resume, then appended), oldest first; borrowed,
 * valid until the next rundir call. */
const rundir_row_t *rundir_rows(const rundir_t *d, size_t *n);

/* Rows rundir_resume left out, and the most env steps among those newer than the checkpoint
 * (how far the run had gone; 0 when none was). */
size_t rundir_dropped(const rundir_t *d);
uint64_t rundir_dropped_steps(const rundir_t *d);

/* Appends an evaluation row and rewrites curve.svg. Returns 0 or TD3_EIO. */
int rundir_eval(rundir_t *d, const rundir_row_t *row, td3_err_t *err);

/* The two halves of rundir_eval, for a caller that redraws less often than it appends (the
 * learner, whose evaluator may report faster than a curve can be drawn): rundir_append
 * writes the row to progress.csv (O(1)) and keeps it; rundir_draw rewrites curve.svg when
 * rows were appended since it was last drawn. Each returns 0 or TD3_EIO. */
int rundir_append(rundir_t *d, const rundir_row_t *row, td3_err_t *err);
int rundir_draw(rundir_t *d, td3_err_t *err);

/* Names curve.svg's chart (e.g. "HalfCheetah-v4, seed 0") and its target line (NAN: none),
 * and redraws it if it has points. Returns 0 or TD3_EIO. */
int rundir_set_chart(rundir_t *d, const char *title, double target, td3_err_t *err);

/* Writes policy.td3p. */
int rundir_save_policy(rundir_t *d, const char *env_id, const uint32_t *layers,
                       uint32_t n_layers, const float *low, const float *high,
                       const float *params, td3_err_t *err);

/* What a run's config.json says about its environment. */
typedef struct rundir_env {
  char env_id[64];    /* "env" */
  char model[4096];   /* "model": the model file the run loaded (absolute); "" when null or
                         absent (a non-MuJoCo env, or a run from before td3d recorded it) */
} rundir_env_t;

/* Reads dir/config.json's "env" and "model" into out. Returns 0, TD3_ENOTFOUND (no
 * config.json), or TD3_EFORMAT (not JSON, or the fields are not strings), with err filled.
 * Any thread. */
int rundir_read_env(const char *dir, rundir_env_t *out, td3_err_t *err);

/* Writes path as a config.json value into out (cap bytes): its absolute form (realpath, or
 * the working directory joined with path when that fails) as a JSON string, or null when path
 * is NULL or empty or does not fit. */
void rundir_json_path(const char *path, char *out, size_t cap);

/* Full path of a file in the run directory (static buffer per rundir). */
const char *rundir_file(rundir_t *d, const char *name);

void rundir_close(rundir_t **pd);

#endif
