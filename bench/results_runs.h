/* The runs behind the results page (results_page.h): what bench/results.sh collected under
 * RESULTS/<env>/<preset>-<mode>-seed<S>/ (run.json and progress.csv), read into memory, and
 * the figures the page takes from one run: the evaluation at a milestone (the one nearest it
 * within 2,500 env steps, half the evaluation interval; of two equally near, the later), the
 * average of the last 10 up to it, the best, the first to reach a value.
 *
 * Single-threaded; a results_runs_t owns its runs and their points. */
#ifndef TD3_RESULTS_RUNS_H
#define TD3_RESULTS_RUNS_H

#include "error.h"

#include <stddef.h>

/* How far from a milestone an evaluation may lie and still count for it: half the
 * evaluation interval, in env steps. */
#define RESULTS_MATCH_WINDOW 2500.0

/* One evaluation row of progress.csv. */
typedef struct results_point {
  double steps, updates, wall, mean; /* env steps, updates, wall seconds, mean return */
} results_point_t;

/* One run: its run.json and its evaluations. */
typedef struct results_run {
  char env[64], preset[32], mode[48], commit[48], cpu[128], dir[64];
  long long seed, budget, threads, cpus;
  double wall;
  results_point_t *pts; /* evaluations, one per env_steps value (the later row of equal ones) */
  size_t n;
} results_run_t;

/* All runs read: v[0..n), room for cap. */
typedef struct results_runs {
  results_run_t *v;
  size_t n, cap;
} results_runs_t;

/* Reads every run under root (<env>/<run>/run.json and progress.csv; environments and runs in
 * directory-name order) into *out, which starts zeroed. Returns 0, or TD3_ENOTFOUND (no runs),
 * TD3_EFORMAT or TD3_EIO with err naming the file; what was read stays in *out either way
 * (free it with results_runs_free). */
int results_runs_load(const char *root, results_runs_t *out, td3_err_t *err);

/* Frees the runs and their points and zeroes *rs. */
void results_runs_free(results_runs_t *rs);

/* The evaluation nearest env step m (within RESULTS_MATCH_WINDOW; ties: the later); NAN when
 * the run has none there. */
double results_run_value_at(const results_run_t *r, double m);

/* The average of the last 10 evaluations up to the one nearest m (fewer if the run has
 * fewer); NAN when the run did not reach m. */
double results_run_last10_at(const results_run_t *r, double m);

/* The run's best evaluation (-INFINITY for a run without any). */
double results_run_best(const results_run_t *r);

/* The env steps of the first evaluation at or above v; NAN if none. */
double results_run_first_reach(const results_run_t *r, double v);

#endif
