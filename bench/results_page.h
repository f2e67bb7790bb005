/* The results page: docs/results.md and one SVG chart per task, generated from the runs that
 * bench/results.sh collected (RESULTS/<env>/<preset>-<mode>-seed<S>/{progress.csv, run.json,
 * config.json}), beside the TD3 paper's published figures. The page is a pure function of those
 * files: the same files give the same bytes, so a test can regenerate it and compare.
 *
 * What it computes, per task and per (preset, mode) group of seeds:
 *   - the evaluation at each milestone (50k, 100k, 200k, 300k, 500k, 1M env steps): the
 *     evaluation nearest the milestone, within 2,500 steps (half the evaluation interval; of
 *     two equally near, the later: a run's final evaluation follows the evaluator's last one);
 *     then mean and sample standard deviation (n - 1) over the seeds that reached it;
 *   - the average of the last 10 evaluations up to the milestone (what other libraries report);
 *   - wall-clock time, updates/s and env steps/s per run, with the machine and thread count;
 *   - for tasks with a published target (InvertedPendulum 1000, MountainCarContinuous 90), the
 *     first evaluation that reaches it;
 *   - the checks of docs/results.md's "Against the goals" section.
 *
 * Single-threaded; the caller owns nothing it does not pass in. */
#ifndef TD3_RESULTS_PAGE_H
#define TD3_RESULTS_PAGE_H

#include "error.h"

/* Reads every run under results_dir and writes the page to out_md and the charts to
 * results_dir/<env>/curves.svg (linked from the page relative to out_md's directory).
 * A run directory whose files are missing or malformed is an error naming the file (the page
 * must not quietly leave a run out). Returns 0, TD3_ENOTFOUND (no runs), TD3_EFORMAT or
 * TD3_EIO, with err filled. */
int results_page_write(const char *results_dir, const char *out_md, td3_err_t *err);

#endif
