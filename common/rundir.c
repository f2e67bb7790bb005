/* Run directory outputs (see rundir.h). */
#include "rundir.h"

#include "binfile.h"
#include "policy_file.h"
#include "svg_plot.h"
#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rundir {
  char *path;
  char file[4096];  /* scratch for rundir_file */
  FILE *progress;
  double *x, *y;    /* curve points: env steps, eval mean */
  size_t n, cap;
  char title[128];
};

const char *rundir_file(rundir_t *d, const char *name) {
  snprintf(d->file, sizeof d->file, "%s/%s", d->path, name);
  return d->file;
}

rundir_t *rundir_open(const char *path, const char *config_json, int overwrite, td3_err_t *err) {
  if (td3_mkdirs(path, err) != 0) return NULL;
  rundir_t *d = xcalloc(1, sizeof *d);
  d->path = xstrdup(path);
  snprintf(d->title, sizeof d->title, "evaluation return");
  const char *csv = rundir_file(d, "progress.csv");
  if (!overwrite && access(csv, F_OK) == 0) {
    td3_err_set(err, TD3_EINVAL,
                "%s already holds a run (progress.csv exists); choose another --out or "
                "pass --overwrite",
                path);
    goto fail;
  }
  FILE *cf = fopen(rundir_file(d, "config.json"), "w");
  if (!cf || fputs(config_json, cf) == EOF || fputc('\n', cf) == EOF || fclose(cf) != 0) {
    td3_err_set(err, TD3_EIO, "cannot write %s: %s", rundir_file(d, "config.json"),
                strerror(errno));
    goto fail;
  }
  d->progress = fopen(rundir_file(d, "progress.csv"), "w");
  if (!d->progress) {
    td3_err_set(err, TD3_EIO, "cannot create %s: %s", rundir_file(d, "progress.csv"),
                strerror(errno));
    goto fail;
  }
  fprintf(d->progress, "env_steps,updates,wall_seconds,eval_return_mean,eval_return_std,"
                       "eval_return_min,eval_return_max,eval_episodes,train_return_mean,"
                       "env_steps_per_second,updates_per_second\n");
  fflush(d->progress);
  return d;
fail:
  rundir_close(&d);
  return NULL;
}

int rundir_eval(rundir_t *d, const rundir_row_t *r, td3_err_t *err) {
  char train[32] = "";
  if (isfinite(r->train_return_mean)) snprintf(train, sizeof train, "%.4f", r->train_return_mean);
  fprintf(d->progress, "%llu,%llu,%.3f,%.4f,%.4f,%.4f,%.4f,%u,%s,%.1f,%.1f\n",
          (unsigned long long)r->env_steps, (unsigned long long)r->updates, r->wall_seconds,
          r->eval_mean, r->eval_std, r->eval_min, r->eval_max, r->eval_episodes, train,
          r->env_steps_per_s, r->updates_per_s);
  if (fflush(d->progress) != 0 || ferror(d->progress))
    return td3_err_set(err, TD3_EIO, "cannot write %s: %s", rundir_file(d, "progress.csv"),
                       strerror(errno));
  if (d->n == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 64;
    d->x = xrealloc(d->x, d->cap * sizeof *d->x);
    d->y = xrealloc(d->y, d->cap * sizeof *d->y);
  }
  d->x[d->n] = (double)r->env_steps;
  d->y[d->n] = r->eval_mean;
  d->n++;
  return svg_write_curve(rundir_file(d, "curve.svg"), d->title, "environment steps",
                         "mean evaluation return", d->x, d->y, d->n, err);
}

int rundir_save_policy(rundir_t *d, const char *env_id, const uint32_t *layers,
                       uint32_t n_layers, const float *low, const float *high,
                       const float *params, td3_err_t *err) {
  return policy_file_save(rundir_file(d, "policy.td3p"), env_id, layers, n_layers, low, high,
                          params, err);
}

void rundir_close(rundir_t **pd) {
  if (!pd || !*pd) return;
  rundir_t *d = *pd;
  if (d->progress) fclose(d->progress);
  free(d->x);
  free(d->y);
  free(d->path);
  free(d);
  *pd = NULL;
}
