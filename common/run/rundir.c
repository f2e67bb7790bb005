/* Run directory outputs (see rundir.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "rundir.h"

#include "binfile.h"
#include "policy_file.h"
#include "svg_plot.h"
#include "xalloc.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rundir {
  char *path;
  char file[4096];  /* scratch for rundir_file */
  FILE *progress;
  rundir_row_t *rows; /* evaluations so far, oldest first */
  size_t n, cap;
  char title[128];     /* curve.svg's title */
  double target;       /* curve.svg's target line; NAN: none */
  size_t dropped;     /* progress rows rundir_resume left out */
  uint64_t dropped_steps; /* the most env steps among them (0: none) */
  int stale;           /* curve.svg lacks rows appended since it was drawn */
};

const char *rundir_file(rundir_t *d, const char *name) {
  snprintf(d->file, sizeof d->file, "%s/%s", d->path, name);
  return d->file;
}

static const char csv_header[] =
    "env_steps,updates,wall_seconds,eval_return_mean,eval_return_std,eval_return_min,"
    "eval_return_max,eval_episodes,train_return_mean,env_steps_per_second,updates_per_second";

static int write_config(rundir_t *d, const char *config_json, td3_err_t *err) {
  FILE *cf = fopen(rundir_file(d, "config.json"), "w");
  if (!cf || fputs(config_json, cf) == EOF || fputc('\n', cf) == EOF || fclose(cf) != 0)
    return td3_err_set(err, TD3_EIO, "cannot write %s: %s", rundir_file(d, "config.json"),
                       strerror(errno));
  return 0;
}

static void write_row(FILE *f, const rundir_row_t *r) {
  char train[32] = "";
  if (isfinite(r->train_return_mean)) snprintf(train, sizeof train, "%.4f", r->train_return_mean);
  fprintf(f, "%llu,%llu,%.3f,%.4f,%.4f,%.4f,%.4f,%u,%s,%.1f,%.1f\n",
          (unsigned long long)r->env_steps, (unsigned long long)r->updates, r->wall_seconds,
          r->eval_mean, r->eval_std, r->eval_min, r->eval_max, r->eval_episodes, train,
          r->env_steps_per_s, r->updates_per_s);
}

static void add_row(rundir_t *d, const rundir_row_t *r) {
  if (d->n == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 64;
    d->rows = xrealloc(d->rows, d->cap * sizeof *d->rows);
  }
  d->rows[d->n++] = *r;
}

static int draw_curve(rundir_t *d, td3_err_t *err) {
  double *x = xmalloc((d->n + 1) * sizeof *x), *y = xmalloc((d->n + 1) * sizeof *y);
  double *lo = xmalloc((d->n + 1) * sizeof *lo), *hi = xmalloc((d->n + 1) * sizeof *hi);
  for (size_t i = 0; i < d->n; i++) {
    x[i] = (double)d->rows[i].env_steps;
    y[i] = d->rows[i].eval_mean;
    lo[i] = y[i] - d->rows[i].eval_std;
    hi[i] = y[i] + d->rows[i].eval_std;
  }
  svg_series_t s = {.label = "mean evaluation return, band \xc2\xb1 1 std over episodes",
                    .x = x, .y = y, .lo = lo, .hi = hi, .n = d->n, .style = SVG_LINE, .markers = 1};
  svg_chart_t c = {.title = d->title, .xlabel = "environment steps",
                   .ylabel = "evaluation return", .series = &s, .n_series = 1,
                   .hline = d->target, .hline_label = "target return"};
  int rc = svg_chart_write(rundir_file(d, "curve.svg"), &c, err);
  free(x);
  free(y);
  free(lo);
  free(hi);
  return rc;
}

int rundir_set_chart(rundir_t *d, const char *title, double target, td3_err_t *err) {
  snprintf(d->title, sizeof d->title, "%s", title);
  d->target = target;
  return d->n ? draw_curve(d, err) : 0;
}

static rundir_t *rundir_new(const char *path, td3_err_t *err) {
  if (td3_mkdirs(path, err) != 0) return NULL;
  rundir_t *d = xcalloc(1, sizeof *d);
  d->path = xstrdup(path);
  snprintf(d->title, sizeof d->title, "evaluation return");
  d->target = NAN;
  return d;
}

rundir_t *rundir_open(const char *path, const char *config_json, int overwrite, td3_err_t *err) {
  rundir_t *d = rundir_new(path, err);
  if (!d) return NULL;
  const char *csv = rundir_file(d, "progress.csv");
  if (!overwrite && access(csv, F_OK) == 0) {
    td3_err_set(err, TD3_EINVAL,
                "%s already holds a run (progress.csv exists); choose another --out, pass "
                "--overwrite, or continue it with --resume %s",
                path, path);
    goto fail;
  }
  if (write_config(d, config_json, err) != 0) goto fail;
  d->progress = fopen(rundir_file(d, "progress.csv"), "w");
  if (!d->progress) {
    td3_err_set(err, TD3_EIO, "cannot create %s: %s", rundir_file(d, "progress.csv"),
                strerror(errno));
    goto fail;
  }
  fprintf(d->progress, "%s\n", csv_header);
  fflush(d->progress);
  return d;
fail:
  rundir_close(&d);
  return NULL;
}

/* Parses one progress.csv line; 0 on success. */
static int parse_row(const char *line, rundir_row_t *r) {
  unsigned long long steps, updates;
  char train[64] = "";
  int used = 0;
  memset(r, 0, sizeof *r);
  if (sscanf(line, "%llu,%llu,%lf,%lf,%lf,%lf,%lf,%u,%n", &steps, &updates, &r->wall_seconds,
             &r->eval_mean, &r->eval_std, &r->eval_min, &r->eval_max, &r->eval_episodes,
             &used) != 8 || used == 0)
    return -1;
  const char *p = line + used, *comma = strchr(p, ',');
  if (!comma || (size_t)(comma - p) >= sizeof train) return -1;
  memcpy(train, p, (size_t)(comma - p));
  r->train_return_mean = train[0] ? strtod(train, NULL) : NAN;
  if (sscanf(comma + 1, "%lf,%lf", &r->env_steps_per_s, &r->updates_per_s) != 2) return -1;
  r->env_steps = steps;
  r->updates = updates;
  return 0;
}

rundir_t *rundir_resume(const char *path, const char *config_json, uint64_t max_env_steps,
                        td3_err_t *err) {
  rundir_t *d = rundir_new(path, err);
  if (!d) return NULL;
  if (write_config(d, config_json, err) != 0) goto fail;
  char *csv = xstrdup(rundir_file(d, "progress.csv"));
  FILE *in = fopen(csv, "r");
  size_t dropped = 0, lineno = 0;
  if (in) {
    char line[1024];
    while (fgets(line, sizeof line, in)) {
      lineno++;
      if (lineno == 1 && strncmp(line, "env_steps,", 10) == 0) continue;
      rundir_row_t r;
      if (parse_row(line, &r) != 0) { /* a line cut by a crash, or not ours: left out */
        dropped++;
        continue;
      }
      if (r.env_steps > max_env_steps) {
        dropped++;
        if (r.env_steps > d->dropped_steps) d->dropped_steps = r.env_steps;
        continue;
      }
      add_row(d, &r);
    }
    fclose(in);
  }
  /* rewrite the kept rows, then go on appending */
  char *tmp = xmalloc(strlen(csv) + 32);
  sprintf(tmp, "%s.tmp.%ld", csv, (long)getpid());
  FILE *out = fopen(tmp, "w");
  int ok = out != NULL;
  if (ok) {
    fprintf(out, "%s\n", csv_header);
    for (size_t i = 0; i < d->n; i++) write_row(out, &d->rows[i]);
    ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
    ok = (fclose(out) == 0) && ok;
  }
  if (!ok || rename(tmp, csv) != 0) {
    td3_err_set(err, TD3_EIO, "cannot rewrite %s: %s", csv, strerror(errno));
    unlink(tmp);
    free(tmp);
    free(csv);
    goto fail;
  }
  free(tmp);
  d->progress = fopen(csv, "a");
  if (!d->progress) {
    td3_err_set(err, TD3_EIO, "cannot open %s: %s", csv, strerror(errno));
    free(csv);
    goto fail;
  }
  free(csv);
  d->dropped = dropped;
  if (d->n && draw_curve(d, err) != 0) goto fail;
  return d;
fail:
  rundir_close(&d);
  return NULL;
}

const rundir_row_t *rundir_rows(const rundir_t *d, size_t *n) {
  *n = d->n;
  return d->rows;
}

size_t rundir_dropped(const rundir_t *d) { return d->dropped; }

uint64_t rundir_dropped_steps(const rundir_t *d) { return d->dropped_steps; }

int rundir_append(rundir_t *d, const rundir_row_t *r, td3_err_t *err) {
  write_row(d->progress, r);
  add_row(d, r);
  d->stale = 1;
  if (fflush(d->progress) != 0 || ferror(d->progress))
    return td3_err_set(err, TD3_EIO, "cannot write %s: %s", rundir_file(d, "progress.csv"),
                       strerror(errno));
  return 0;
}

int rundir_draw(rundir_t *d, td3_err_t *err) {
  if (!d->stale) return 0;
  int rc = draw_curve(d, err);
  if (rc == 0) d->stale = 0;
  return rc;
}

int rundir_eval(rundir_t *d, const rundir_row_t *r, td3_err_t *err) {
  int rc = rundir_append(d, r, err);
  return rc ? rc : rundir_draw(d, err);
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
  free(d->rows);
  free(d->path);
  free(d);
  *pd = NULL;
}

int rundir_read_env(const char *dir, rundir_env_t *out, td3_err_t *err) {
  memset(out, 0, sizeof *out);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/config.json", dir);
  if (access(path, F_OK) != 0)
    return td3_err_set(err, TD3_ENOTFOUND, "cannot open %s: %s", path, strerror(errno));
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    return td3_err_set(err, TD3_EFORMAT, "%s:%d: not a run's config.json: %s", path, je.line,
                       je.text);
  json_t *env = json_object_get(root, "env"), *model = json_object_get(root, "model");
  int rc = 0;
  if (!json_is_string(env) || strlen(json_string_value(env)) >= sizeof out->env_id)
    rc = td3_err_set(err, TD3_EFORMAT, "%s: \"env\" is not an environment id", path);
  else if (model && !json_is_null(model) &&
           (!json_is_string(model) || strlen(json_string_value(model)) >= sizeof out->model))
    rc = td3_err_set(err, TD3_EFORMAT, "%s: \"model\" is not a path or null", path);
  if (rc == 0) {
    snprintf(out->env_id, sizeof out->env_id, "%s", json_string_value(env));
    if (json_is_string(model)) snprintf(out->model, sizeof out->model, "%s", json_string_value(model));
  }
  json_decref(root);
  return rc;
}

void rundir_json_path(const char *path, char *out, size_t cap) {
  snprintf(out, cap, "null");
  if (!path || !*path) return;
  char abs[PATH_MAX];
  const char *p = path;
  if (realpath(path, abs)) {
    p = abs;
  } else if (path[0] != '/' && getcwd(abs, sizeof abs)) { /* not there (yet): still absolute */
    size_t n = strlen(abs);
    if (n + 1 + strlen(path) < sizeof abs) {
      snprintf(abs + n, sizeof abs - n, "/%s", path);
      p = abs;
    }
  }
  json_t *s = json_string(p);  /* NULL: not UTF-8 */
  char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
  if (text && strlen(text) < cap) snprintf(out, cap, "%s", text);
  free(text);
  json_decref(s);
}
