/* The runs the results page is made from (see results_runs.h): reading each run's run.json
 * and progress.csv under RESULTS/<env>/<run>/, and the figures of one run. */
#define _GNU_SOURCE
#include "results_runs.h"

#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int load_run_json(results_run_t *r, const char *path, td3_err_t *err) {
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!j) return td3_err_set(err, TD3_EFORMAT, "%s: %s (line %d)", path, je.text, je.line);
  const char *env = json_string_value(json_object_get(j, "env"));
  const char *preset = json_string_value(json_object_get(j, "preset"));
  const char *mode = json_string_value(json_object_get(j, "mode"));
  json_t *seed = json_object_get(j, "seed"), *steps = json_object_get(j, "steps");
  int rc = 0;
  if (!env || !preset || !mode || !json_is_integer(seed) || !json_is_integer(steps)) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s: env, preset, mode (strings), seed and steps "
                     "(integers) are required", path);
    goto out;
  }
  snprintf(r->env, sizeof r->env, "%s", env);
  snprintf(r->preset, sizeof r->preset, "%s", preset);
  snprintf(r->mode, sizeof r->mode, "%s", mode);
  r->seed = json_integer_value(seed);
  r->budget = json_integer_value(steps);
  r->wall = json_number_value(json_object_get(j, "wall_seconds"));
  r->threads = json_integer_value(json_object_get(j, "threads"));
  r->cpus = json_integer_value(json_object_get(j, "cpus"));
  const char *s = json_string_value(json_object_get(j, "cpu"));
  snprintf(r->cpu, sizeof r->cpu, "%s", s ? s : "unknown CPU");
  s = json_string_value(json_object_get(j, "td3d_commit"));
  snprintf(r->commit, sizeof r->commit, "%s", s ? s : "unknown");
out:
  json_decref(j);
  return rc;
}

/* The column index of name in a CSV header line, or -1. */
static int column(const char *header, const char *name) {
  size_t len = strlen(name);
  int i = 0;
  for (const char *p = header; p; i++) {
    if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\n' || p[len] == '\r' ||
                                       p[len] == '\0'))
      return i;
    p = strchr(p, ',');
    if (p) p++;
  }
  return -1;
}

/* The field at index col of a CSV line, parsed as a number; NAN when absent or empty. */
static double field(const char *line, int col) {
  const char *p = line;
  for (int i = 0; i < col && p; i++) {
    p = strchr(p, ',');
    if (p) p++;
  }
  if (!p || *p == ',' || *p == '\n' || *p == '\0') return NAN;
  char *end;
  double v = strtod(p, &end);
  return end == p ? NAN : v;
}

static int load_progress(results_run_t *r, const char *path, td3_err_t *err) {
  FILE *f = fopen(path, "r");
  if (!f) return td3_err_set(err, TD3_EIO, "cannot open %s: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0, cap_pts = 0;
  int rc = 0;
  if (getline(&line, &cap, f) < 0) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s is empty", path);
    goto out;
  }
  int c_steps = column(line, "env_steps"), c_upd = column(line, "updates"),
      c_wall = column(line, "wall_seconds"), c_mean = column(line, "eval_return_mean");
  if (c_steps < 0 || c_upd < 0 || c_wall < 0 || c_mean < 0) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s: the header lacks env_steps, updates, wall_seconds "
                     "or eval_return_mean", path);
    goto out;
  }
  for (long lineno = 2; getline(&line, &cap, f) >= 0; lineno++) {
    if (line[0] == '\n' || line[0] == '\0') continue;
    results_point_t p = {field(line, c_steps), field(line, c_upd), field(line, c_wall),
                 field(line, c_mean)};
    if (!isfinite(p.steps) || !isfinite(p.mean) || p.steps < 0) {
      rc = td3_err_set(err, TD3_EFORMAT, "%s line %ld: env_steps and eval_return_mean must be "
                       "numbers", path, lineno);
      goto out;
    }
    if (r->n && p.steps < r->pts[r->n - 1].steps) {
      rc = td3_err_set(err, TD3_EFORMAT, "%s line %ld: env_steps goes back (%.0f after %.0f)",
                       path, lineno, p.steps, r->pts[r->n - 1].steps);
      goto out;
    }
    if (r->n && p.steps == r->pts[r->n - 1].steps) { /* the later evaluation of the two */
      r->pts[r->n - 1] = p;
      continue;
    }
    if (r->n == cap_pts) {
      cap_pts = cap_pts ? 2 * cap_pts : 256;
      r->pts = xrealloc(r->pts, cap_pts * sizeof *r->pts);
    }
    r->pts[r->n++] = p;
  }
  if (r->n == 0) rc = td3_err_set(err, TD3_EFORMAT, "%s has no evaluation rows", path);
out:
  free(line);
  fclose(f);
  return rc;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory that are directories, sorted; *n of them (caller frees each and
 * the array). */
static char **subdirs(const char *path, size_t *n, td3_err_t *err) {
  DIR *d = opendir(path);
  *n = 0;
  if (!d) {
    td3_err_set(err, errno == ENOENT ? TD3_ENOTFOUND : TD3_EIO, "cannot open %s: %s", path,
                strerror(errno));
    return NULL;
  }
  char **v = NULL;
  size_t cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char full[4096];
    struct stat st;
    snprintf(full, sizeof full, "%s/%s", path, e->d_name);
    if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      v = xrealloc(v, cap * sizeof *v);
    }
    v[(*n)++] = xstrdup(e->d_name);
  }
  closedir(d);
  if (*n) qsort(v, *n, sizeof *v, by_name);
  return v ? v : xcalloc(1, sizeof *v);
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

int results_runs_load(const char *root, results_runs_t *out, td3_err_t *err) {
  size_t n_env;
  char **envs = subdirs(root, &n_env, err);
  if (!envs) return err ? err->code : TD3_EIO;
  int rc = 0;
  for (size_t e = 0; e < n_env && rc == 0; e++) {
    char env_dir[4096];
    snprintf(env_dir, sizeof env_dir, "%s/%s", root, envs[e]);
    size_t n_run;
    char **names = subdirs(env_dir, &n_run, err);
    if (!names) {
      rc = err ? err->code : TD3_EIO;
      break;
    }
    for (size_t i = 0; i < n_run && rc == 0; i++) {
      if (out->n == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 32;
        out->v = xrealloc(out->v, out->cap * sizeof *out->v);
      }
      results_run_t *r = &out->v[out->n];
      memset(r, 0, sizeof *r);
      char path[4096 + 512];
      snprintf(r->dir, sizeof r->dir, "%s", names[i]);
      snprintf(path, sizeof path, "%s/%s/run.json", env_dir, names[i]);
      if ((rc = load_run_json(r, path, err)) != 0) break;
      if (strcmp(r->env, envs[e]) != 0) {
        rc = td3_err_set(err, TD3_EFORMAT, "%s names env %s but lies under %s", path, r->env,
                         envs[e]);
        break;
      }
      snprintf(path, sizeof path, "%s/%s/progress.csv", env_dir, names[i]);
      if ((rc = load_progress(r, path, err)) != 0) {
        free(r->pts);
        break;
      }
      out->n++;
    }
    free_names(names, n_run);
  }
  free_names(envs, n_env);
  if (rc == 0 && out->n == 0)
    rc = td3_err_set(err, TD3_ENOTFOUND, "%s holds no runs (<env>/<run>/run.json)", root);
  return rc;
}

void results_runs_free(results_runs_t *rs) {
  for (size_t i = 0; i < rs->n; i++) free(rs->v[i].pts);
  free(rs->v);
  memset(rs, 0, sizeof *rs);
}

/* ---------------------------------------------------------------------------------------- */
/* Figures of one run (contracts in results_runs.h) */

/* The index of the evaluation nearest env step m within RESULTS_MATCH_WINDOW (ties: the
 * later), or -1. */
static long nearest(const results_run_t *r, double m) {
  long best = -1;
  double best_d = INFINITY;
  for (size_t i = 0; i < r->n; i++) {
    double d = fabs(r->pts[i].steps - m);
    if (d <= RESULTS_MATCH_WINDOW && d <= best_d) {
      best = (long)i;
      best_d = d;
    }
  }
  return best;
}

double results_run_value_at(const results_run_t *r, double m) {
  long i = nearest(r, m);
  return i < 0 ? NAN : r->pts[i].mean;
}

double results_run_last10_at(const results_run_t *r, double m) {
  long i = nearest(r, m);
  if (i < 0) return NAN;
  double s = 0;
  long k = 0;
  for (long j = i; j >= 0 && k < 10; j--, k++) s += r->pts[j].mean;
  return s / (double)k;
}

double results_run_best(const results_run_t *r) {
  double b = -INFINITY;
  for (size_t i = 0; i < r->n; i++) b = fmax(b, r->pts[i].mean);
  return b;
}

double results_run_first_reach(const results_run_t *r, double v) {
  for (size_t i = 0; i < r->n; i++)
    if (r->pts[i].mean >= v) return r->pts[i].steps;
  return NAN;
}
