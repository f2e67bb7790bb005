/* The results page (see results_page.h): the published figures, the statistics over groups
 * of seeds, the charts and the Markdown page. Reading the runs is results_runs.c's. */
#define _GNU_SOURCE
#include "results_page.h"
#include "results_runs.h"

#include "binfile.h"
#include "svg_plot.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Published figures (../shared/REFERENCE.md): the TD3 paper's learning-curve milestones (mean ±
 * std over 10 seeds), its Table 1 (max average return within 1M steps), and task targets. */

enum { N_MILESTONES = 6 };
static const double milestones[N_MILESTONES] = {50e3, 100e3, 200e3, 300e3, 500e3, 1e6};
static const char *const milestone_names[N_MILESTONES] = {"50k", "100k", "200k",
                                                          "300k", "500k", "1M"};

typedef struct paper {
  const char *env;
  double mean[N_MILESTONES], std[N_MILESTONES];
  double table1, table1_std;
} paper_t;

static const paper_t papers[] = {
    {"HalfCheetah-v4", {3352, 5514, 6833, 7697, 8445, 9567}, {851, 554, 683, 727, 826, 833},
     9636.95, 859.07},
    {"Hopper-v4", {285, 660, 2441, 2410, 2933, 3391}, {69, 752, 746, 900, 682, 378}, 3564.07,
     114.74},
    {"Walker2d-v4", {368, 770, 2421, 3336, 4196, 4413}, {145, 586, 872, 957, 549, 1030}, 4682.82,
     539.64},
    {"Ant-v4", {330, 586, 931, 1954, 2890, 4243}, {106, 185, 387, 1014, 782, 1098}, 4372.44,
     1000.33},
};

typedef struct target {
  const char *env;
  double value;
  const char *source;
} target_t;

static const target_t targets[] = {
    {"InvertedPendulum-v4", 1000, "the paper's curve first reaches 1000 at 25k steps"},
    {"MountainCarContinuous-v0", 90, "solved at 90; rl-baselines3-zoo's TD3 reaches 93.5 after "
                                     "300k steps with Ornstein-Uhlenbeck noise"},
    {"Pendulum-v1", -200, "rl-baselines3-zoo's TD3: -151.9 ± 90.2 after 20k steps"},
};

/* The goals the page checks: the td3-paper distributed mean at 300k against the paper's mean
 * minus one paper std; HalfCheetah at 1M; distributed against serial. */
#define GOAL_HC_1M 9000.0
#define GOAL_ASYNC_RATIO 0.95

static const paper_t *paper_of(const char *env) {
  for (size_t i = 0; i < sizeof papers / sizeof papers[0]; i++)
    if (strcmp(papers[i].env, env) == 0) return &papers[i];
  return NULL;
}

static const target_t *target_of(const char *env) {
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
    if (strcmp(targets[i].env, env) == 0) return &targets[i];
  return NULL;
}

typedef struct summary {
  double mean, std;
  int n;
} summary_t;

static void stat_add(double *acc, int *n, double v) {
  if (isfinite(v)) acc[(*n)++] = v;
}

static summary_t stat_of(const double *v, int n) {
  summary_t s = {NAN, NAN, n};
  if (n == 0) return s;
  double sum = 0;
  for (int i = 0; i < n; i++) sum += v[i];
  s.mean = sum / n;
  if (n > 1) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.std = sqrt(ss / (n - 1));
  }
  return s;
}

/* "7068 ± 512 (3)", "7068 (1)" or "–". */
static const char *fmt_stat(char *buf, size_t cap, summary_t s, int with_n) {
  if (s.n == 0) {
    snprintf(buf, cap, "–");
  } else if (s.n == 1 || !isfinite(s.std)) {
    if (with_n) snprintf(buf, cap, "%.0f (1)", s.mean);
    else snprintf(buf, cap, "%.0f", s.mean);
  } else if (with_n) {
    snprintf(buf, cap, "%.0f ± %.0f (%d)", s.mean, s.std, s.n);
  } else {
    snprintf(buf, cap, "%.0f ± %.0f", s.mean, s.std);
  }
  return buf;
}

/* A number for the page: whole numbers for large returns, two decimals for small ones. */
static const char *fmt_num(char *buf, size_t cap, double v) {
  if (!isfinite(v)) snprintf(buf, cap, "–");
  else if (fabs(v) >= 100) snprintf(buf, cap, "%.0f", v);
  else snprintf(buf, cap, "%.2f", v);
  return buf;
}

static const char *fmt_steps(char *buf, size_t cap, double steps) {
  if (!isfinite(steps)) snprintf(buf, cap, "–");
  else if (steps >= 1e6 && fmod(steps, 1e5) == 0) snprintf(buf, cap, "%gM", steps / 1e6);
  else if (steps >= 1e3 && fmod(steps, 1e3) == 0) snprintf(buf, cap, "%gk", steps / 1e3);
  else snprintf(buf, cap, "%.0f", steps);
  return buf;
}

/* A group: the runs of one task with one preset and mode (runs[] is sorted by env, then
 * directory name, so a group's runs are adjacent once sorted by preset and mode too). */
typedef struct group {
  const results_run_t **runs;
  int n;
} group_t;

static int run_order(const void *pa, const void *pb) {
  const results_run_t *a = pa, *b = pb;
  int c = strcmp(a->env, b->env);
  if (!c) c = strcmp(a->preset, b->preset);
  if (!c) c = strcmp(a->mode, b->mode);
  if (!c) c = (a->seed > b->seed) - (a->seed < b->seed);
  return c;
}

/* The stat over a group's runs of f(run, m). */
static summary_t group_stat(const group_t *g, double (*f)(const results_run_t *, double),
                            double m) {
  double v[256];
  int n = 0;
  for (int i = 0; i < g->n && n < 256; i++) stat_add(v, &n, f(g->runs[i], m));
  return stat_of(v, n);
}

/* The same, over the runs of g whose seed also has a run in other (for paired comparisons). */
static summary_t group_stat_paired(const group_t *g, const group_t *other, double m) {
  double v[256];
  int n = 0;
  for (int i = 0; i < g->n && n < 256; i++)
    for (int j = 0; j < other->n; j++)
      if (g->runs[i]->seed == other->runs[j]->seed &&
          isfinite(results_run_value_at(other->runs[j], m)))
        stat_add(v, &n, results_run_value_at(g->runs[i], m));
  return stat_of(v, n);
}

/* ---------------------------------------------------------------------------------------- */
/* The chart of one task. */

static int write_chart(const char *path, const char *env, const group_t *groups, int n_groups,
                       td3_err_t *err) {
  static const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};
  size_t n_series = 1, cap = 1;
  for (int g = 0; g < n_groups; g++) cap += (size_t)groups[g].n + 1;
  svg_series_t *s = xcalloc(cap, sizeof *s);
  double **owned = xcalloc(4 * cap, sizeof *owned);
  size_t n_owned = 0;
  char (*labels)[128] = xcalloc(cap, sizeof *labels);
  n_series = 0;
  for (int g = 0; g < n_groups; g++) {
    const group_t *gr = &groups[g];
    const char *col = colors[g % (sizeof colors / sizeof *colors)];
    double xmax = 0;
    for (int i = 0; i < gr->n; i++) {
      const results_run_t *r = gr->runs[i];
      double *x = xmalloc(r->n * sizeof *x), *y = xmalloc(r->n * sizeof *y);
      for (size_t k = 0; k < r->n; k++) {
        x[k] = r->pts[k].steps;
        y[k] = r->pts[k].mean;
      }
      xmax = fmax(xmax, r->pts[r->n - 1].steps);
      owned[n_owned++] = x;
      owned[n_owned++] = y;
      s[n_series++] = (svg_series_t){.x = x, .y = y, .n = r->n, .color = col, .width = 1,
                                     .opacity = 0.45, .style = SVG_LINE};
    }
    /* the mean over seeds on a 5k grid (each seed's evaluation nearest the grid step) */
    size_t n_grid = (size_t)(xmax / 5000) + 1, m = 0;
    double *x = xmalloc(n_grid * sizeof *x), *y = xmalloc(n_grid * sizeof *y);
    for (size_t k = 0; k < n_grid; k++) {
      double sum = 0;
      int cnt = 0;
      for (int i = 0; i < gr->n; i++) {
        double v = results_run_value_at(gr->runs[i], 5000.0 * (double)k);
        if (isfinite(v)) {
          sum += v;
          cnt++;
        }
      }
      if (cnt) {
        x[m] = 5000.0 * (double)k;
        y[m++] = sum / cnt;
      }
    }
    owned[n_owned++] = x;
    owned[n_owned++] = y;
    snprintf(labels[g], sizeof labels[g], "%s %s: mean of %d seed%s (thin: each seed)",
             gr->runs[0]->preset, gr->runs[0]->mode, gr->n, gr->n == 1 ? "" : "s");
    s[n_series++] = (svg_series_t){.label = labels[g], .x = x, .y = y, .n = m, .color = col,
                                   .width = 2.5, .style = SVG_LINE};
  }
  const paper_t *p = paper_of(env);
  double px[N_MILESTONES], py[N_MILESTONES], plo[N_MILESTONES], phi[N_MILESTONES];
  if (p) {
    /* published milestones up to the longest run shown */
    double xmax = 0;
    for (int g = 0; g < n_groups; g++)
      for (int i = 0; i < groups[g].n; i++)
        xmax = fmax(xmax, groups[g].runs[i]->pts[groups[g].runs[i]->n - 1].steps);
    size_t k = 0;
    for (int i = 0; i < N_MILESTONES; i++) {
      if (milestones[i] > xmax + RESULTS_MATCH_WINDOW) continue;
      px[k] = milestones[i];
      py[k] = p->mean[i];
      plo[k] = p->mean[i] - p->std[i];
      phi[k] = p->mean[i] + p->std[i];
      k++;
    }
    if (k)
      s[n_series++] = (svg_series_t){.label = "TD3 paper: mean ± std of 10 seeds", .x = px,
                                     .y = py, .lo = plo, .hi = phi, .n = k, .color = "#000000",
                                     .width = 2, .style = SVG_POINTS};
  }
  const target_t *t = target_of(env);
  char title[128];
  snprintf(title, sizeof title, "%s: evaluation return (10 episodes, deterministic policy)", env);
  svg_chart_t c = {.title = title, .xlabel = "environment steps", .ylabel = "return",
                   .series = s, .n_series = n_series, .hline = t ? t->value : NAN,
                   .hline_label = "target"};
  int rc = svg_chart_write(path, &c, err);
  for (size_t i = 0; i < n_owned; i++) free(owned[i]);
  free(owned);
  free(labels);
  free(s);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* The page. */

static const char intro[] =
    "# Results\n\n"
    "This page is generated by `bench/results.sh --report` from the runs collected under\n"
    "[results/](results/) (each run's progress.csv, config.json and run.json); do not edit it\n"
    "by hand. `bench/results.sh` makes the runs of `bench/results.matrix` one at a time with\n"
    "`td3d run`, continues interrupted ones with `--resume`, collects them and rewrites this "
    "page.\n\n"
    "**Protocol.** Every 5,000 environment steps the evaluator runs the deterministic policy "
    "(no exploration noise) for 10 episodes on its own environment seeded `seed + 100` and "
    "reports the mean undiscounted return; the learner evaluates once more at the end of the "
    "budget. A figure at a milestone (50k, 100k, ...) is each seed's evaluation nearest that "
    "many environment steps (within 2,500), then the mean ± sample standard deviation over "
    "seeds, with the number of seeds in brackets. \"Last 10\" is the average of the last 10 "
    "evaluations up to the milestone, the figure several libraries report. *distributed* is "
    "`td3d run` (learner + 2 actors + evaluator processes over ZeroMQ, the product's path) "
    "with the defaults of its day: until 2026-12-03 these let the data run 1000 transitions "
    "ahead of training (`--max-lead 1000`); *serial* is `td3d run --serial` (one process: "
    "step, then update, as in the authors' code). A mode with a label is a variant of it made "
    "with the flags its line in bench/results.matrix gives (each run's config.json has them "
    "all): *distributed-lead64* is `--max-lead 64`, `td3d run`'s default since "
    "2026-12-03.\n\n"
    "**Settings: paper or repository.** td3d has two presets (`td3d presets`). `td3-paper` is "
    "the TD3 paper's setting (Fujimoto et al., ICML 2018): 400-300 networks, Adam lr 1e-3, "
    "batch 100, 10k uniform-random start steps for HalfCheetah and Ant and 1k for the other "
    "tasks. `td3-repo`, td3d's default, is the authors' later repository's: 256-256, lr 3e-4, "
    "batch 256, 25k start steps (1k for Pendulum, InvertedPendulum, Reacher). Both share "
    "exploration noise N(0, 0.1 a_max), target smoothing noise 0.2 clipped at 0.5, policy delay "
    "2, tau 0.005, gamma 0.99, and a time-limit truncation that is not terminal. The paper's "
    "curves were made with its own settings, so the comparisons below use `td3-paper`. Where "
    "the two disagree on the schedule, td3d follows the repository and the paper's Algorithm 1: "
    "one training iteration per environment step after the start steps (the code released "
    "with the paper instead trained at the end of each episode, as many iterations as the "
    "episode had steps), because that is what a continuous stream of actors can do. The paper "
    "used Gym's v1 MuJoCo tasks (mujoco-py); td3d implements the Gymnasium v4 definitions on "
    "MuJoCo 2.2.2, whose models and rewards are those of v1 up to the simulator version.\n\n";

typedef struct page {
  FILE *f;
  const results_runs_t *runs;
} page_t;

/* The groups of the runs [a, b) of one task (sorted by preset and mode). */
static int groups_of(const results_runs_t *rs, size_t a, size_t b, group_t *g, int cap) {
  int n = 0;
  for (size_t i = a; i < b; i++) {
    const results_run_t *r = &rs->v[i];
    if (n == 0 || strcmp(g[n - 1].runs[0]->preset, r->preset) != 0 ||
        strcmp(g[n - 1].runs[0]->mode, r->mode) != 0) {
      if (n == cap) break;
      g[n].runs = xcalloc(b - a, sizeof *g[n].runs);
      g[n].n = 0;
      n++;
    }
    g[n - 1].runs[g[n - 1].n++] = r;
  }
  return n;
}

static const group_t *find_group(const group_t *g, int n, const char *preset, const char *mode) {
  for (int i = 0; i < n; i++)
    if (strcmp(g[i].runs[0]->preset, preset) == 0 && strcmp(g[i].runs[0]->mode, mode) == 0)
      return &g[i];
  return NULL;
}

/* Which milestones any run of the task reached (reached), and which are some run's budget
 * (budget: the "last 10" columns). */
static void milestones_reached(const group_t *g, int n_groups, int reached[N_MILESTONES],
                               int budget[N_MILESTONES]) {
  for (int m = 0; m < N_MILESTONES; m++) {
    reached[m] = budget[m] = 0;
    for (int i = 0; i < n_groups; i++)
      for (int k = 0; k < g[i].n; k++) {
        if (isfinite(results_run_value_at(g[i].runs[k], milestones[m]))) reached[m] = 1;
        if ((double)g[i].runs[k]->budget == milestones[m]) budget[m] = 1;
      }
  }
}

/* The goals section: one line per check, each saying the figures it compares. */
static void write_goals(FILE *f, const results_runs_t *rs) {
  fprintf(f, "## Against the goals\n\n");
  fprintf(f, "| check | td3d | goal | |\n|---|---|---|---|\n");
  char a[64], b[64];
  size_t i = 0;
  while (i < rs->n) {
    size_t j = i;
    while (j < rs->n && strcmp(rs->v[j].env, rs->v[i].env) == 0) j++;
    group_t g[8];
    int ng = groups_of(rs, i, j, g, 8);
    const char *env = rs->v[i].env;
    const paper_t *p = paper_of(env);
    const target_t *t = target_of(env);
    const group_t *dist = find_group(g, ng, "td3-paper", "distributed");
    const group_t *ser = find_group(g, ng, "td3-paper", "serial");
    if (p && dist) {
      summary_t s = group_stat(dist, results_run_value_at, 300e3);
      double goal = p->mean[3] - p->std[3];
      if (s.n)
        fprintf(f, "| %s at 300k, td3-paper distributed | %s | ≥ %.0f (paper %.0f − %.0f) | "
                "%s |\n", env, fmt_stat(a, sizeof a, s, 1), goal, p->mean[3], p->std[3],
                s.n < 3 ? "fewer than 3 seeds so far" : s.mean >= goal ? "met" : "short");
      if (strcmp(env, "HalfCheetah-v4") == 0) {
        s = group_stat(dist, results_run_value_at, 1e6);
        if (s.n)
          fprintf(f, "| %s at 1M, td3-paper distributed | %s | ≥ %.0f (paper Table 1: %.0f ± "
                  "%.0f) | %s |\n", env, fmt_stat(a, sizeof a, s, 1), GOAL_HC_1M, p->table1,
                  p->table1_std, s.n < 2 ? "fewer than 2 seeds so far" :
                  s.mean >= GOAL_HC_1M ? "met" : "short");
      }
    }
    /* the ratio for the distributed runs and for each labelled variant of them */
    for (int k = 0; ser && k < ng; k++) {
      const results_run_t *r0 = g[k].runs[0];
      if (strcmp(r0->preset, "td3-paper") != 0 || strncmp(r0->mode, "distributed", 11) != 0 ||
          (r0->mode[11] != 0 && r0->mode[11] != '-'))
        continue;
      summary_t sd = group_stat_paired(&g[k], ser, 300e3);
      summary_t ss = group_stat_paired(ser, &g[k], 300e3);
      if (sd.n && ss.n && ss.mean != 0)
        fprintf(f, "| %s at 300k, %s / serial (td3-paper, the same %d seed%s) | %s / "
                "%s = %.3f | ≥ %.2f | %s |\n", env, r0->mode, sd.n, sd.n == 1 ? "" : "s",
                fmt_stat(a, sizeof a, sd, 0), fmt_stat(b, sizeof b, ss, 0), sd.mean / ss.mean,
                GOAL_ASYNC_RATIO, sd.n < 3 ? "fewer than 3 seeds so far" :
                sd.mean / ss.mean >= GOAL_ASYNC_RATIO ? "met" : "short");
    }
    if (t && dist) {
      int reached = 0;
      double budget = 0;
      for (int k = 0; k < dist->n; k++) {
        budget = fmax(budget, (double)dist->runs[k]->budget);
        if (isfinite(results_run_first_reach(dist->runs[k], t->value))) reached++;
      }
      fprintf(f, "| %s reaches %s within %s, td3-paper distributed | %d of %d seeds | every "
              "seed | %s |\n", env, fmt_num(a, sizeof a, t->value),
              fmt_steps(b, sizeof b, budget), reached, dist->n, reached == dist->n ?
              (dist->n < 3 ? "met so far (fewer than 3 seeds)" : "met") : "short");
    }
    for (int k = 0; k < ng; k++) free(g[k].runs);
    i = j;
  }
  fprintf(f, "\n");
}

static void write_task(FILE *f, const results_runs_t *rs, size_t a, size_t b,
                       const char *chart_link) {
  const char *env = rs->v[a].env;
  group_t g[8];
  int ng = groups_of(rs, a, b, g, 8);
  const paper_t *p = paper_of(env);
  const target_t *t = target_of(env);
  int reached[N_MILESTONES], budget[N_MILESTONES];
  milestones_reached(g, ng, reached, budget);
  char buf[96], buf2[96];

  fprintf(f, "## %s\n\n![%s learning curves](%s)\n\n", env, env, chart_link);
  fprintf(f, "Evaluation return, mean ± std over seeds (seeds):\n\n| runs |");
  for (int m = 0; m < N_MILESTONES; m++)
    if (reached[m]) fprintf(f, " %s |", milestone_names[m]);
  for (int m = 0; m < N_MILESTONES; m++)
    if (reached[m] && budget[m])
      fprintf(f, " last 10 at %s |", milestone_names[m]);
  fprintf(f, "\n|---|");
  for (int m = 0; m < N_MILESTONES; m++)
    if (reached[m]) fprintf(f, "---|");
  for (int m = 0; m < N_MILESTONES; m++)
    if (reached[m] && budget[m])
      fprintf(f, "---|");
  fprintf(f, "\n");
  for (int k = 0; k < ng; k++) {
    fprintf(f, "| td3d %s, %s |", g[k].runs[0]->preset, g[k].runs[0]->mode);
    for (int m = 0; m < N_MILESTONES; m++)
      if (reached[m])
        fprintf(f, " %s |", fmt_stat(buf, sizeof buf,
                                     group_stat(&g[k], results_run_value_at, milestones[m]), 1));
    for (int m = 0; m < N_MILESTONES; m++)
      if (reached[m] && budget[m])
        fprintf(f, " %s |", fmt_stat(buf, sizeof buf,
                                     group_stat(&g[k], results_run_last10_at, milestones[m]), 1));
    fprintf(f, "\n");
  }
  if (p) {
    fprintf(f, "| TD3 paper (10 seeds) |");
    for (int m = 0; m < N_MILESTONES; m++)
      if (reached[m]) fprintf(f, " %.0f ± %.0f |", p->mean[m], p->std[m]);
    for (int m = 0; m < N_MILESTONES; m++)
      if (reached[m] && budget[m])
        fprintf(f, " |");
    fprintf(f, "\n\nThe paper's Table 1 (best average return within 1M steps, 10 seeds): %.2f ± "
            "%.2f.\n", p->table1, p->table1_std);
  }
  if (t) fprintf(f, "\nTarget %s: %s.\n", fmt_num(buf, sizeof buf, t->value), t->source);

  fprintf(f, "\nRuns:\n\n| preset | mode | seed | steps | final | best | last 10 | first ≥ "
          "target | wall time | updates/s | env steps/s | threads | commit |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = a; i < b; i++) {
    const results_run_t *r = &rs->v[i];
    const results_point_t *last = &r->pts[r->n - 1];
    double wall = isfinite(r->wall) && r->wall > 0 ? r->wall : last->wall;
    char c1[32], c2[32], c3[32], c4[32], c5[32], c6[32];
    fprintf(f, "| %s | %s | %lld | %s | %s | %s | %s | %s | %s | %s | %s | %lld | %s |\n",
            r->preset, r->mode, r->seed, fmt_steps(c1, sizeof c1, last->steps),
            fmt_num(c2, sizeof c2, last->mean), fmt_num(c3, sizeof c3, results_run_best(r)),
            fmt_num(c4, sizeof c4, results_run_last10_at(r, last->steps)),
            t ? fmt_steps(c5, sizeof c5, results_run_first_reach(r, t->value)) : "",
            wall >= 3600 ? (snprintf(buf, sizeof buf, "%.0f min", wall / 60), buf)
                         : (snprintf(buf, sizeof buf, "%.0f s", wall), buf),
            wall > 0 ? (snprintf(buf2, sizeof buf2, "%.0f", last->updates / wall), buf2) : "–",
            wall > 0 ? (snprintf(c6, sizeof c6, "%.0f", last->steps / wall), c6) : "–",
            r->threads, r->commit);
  }
  fprintf(f, "\n");
  for (int k = 0; k < ng; k++) free(g[k].runs);
}

int results_page_write(const char *results_dir, const char *out_md, td3_err_t *err) {
  results_runs_t rs = {0};
  int rc = results_runs_load(results_dir, &rs, err);
  char *text = NULL;
  size_t len = 0;
  FILE *f = NULL;
  if (rc != 0) goto out;
  qsort(rs.v, rs.n, sizeof *rs.v, run_order);

  /* chart links are relative to the page's directory when the results lie below it */
  char *out_copy = xstrdup(out_md);
  char *slash = strrchr(out_copy, '/');
  const char *page_dir = slash ? (*slash = '\0', out_copy) : ".";
  const char *rel = results_dir;
  size_t pl = strlen(page_dir);
  if (strcmp(page_dir, ".") != 0 && strncmp(results_dir, page_dir, pl) == 0 &&
      results_dir[pl] == '/')
    rel = results_dir + pl + 1;

  f = open_memstream(&text, &len);
  fputs(intro, f);
  /* machines */
  fprintf(f, "**Machines.** ");
  for (size_t i = 0; i < rs.n; i++) {
    int seen = 0;
    for (size_t j = 0; j < i; j++)
      if (strcmp(rs.v[j].cpu, rs.v[i].cpu) == 0 && rs.v[j].cpus == rs.v[i].cpus &&
          rs.v[j].threads == rs.v[i].threads)
        seen = 1;
    if (!seen)
      fprintf(f, "%s%s, %lld CPUs, %lld training threads", i ? "; " : "", rs.v[i].cpu,
              rs.v[i].cpus, rs.v[i].threads);
  }
  fprintf(f, ". One run at a time; wall time includes evaluation.\n\n");
  write_goals(f, &rs);
  for (size_t i = 0; i < rs.n && rc == 0;) {
    size_t j = i;
    while (j < rs.n && strcmp(rs.v[j].env, rs.v[i].env) == 0) j++;
    char svg[4096], link[4096];
    snprintf(svg, sizeof svg, "%s/%s/curves.svg", results_dir, rs.v[i].env);
    snprintf(link, sizeof link, "%s/%s/curves.svg", rel, rs.v[i].env);
    write_task(f, &rs, i, j, link);
    group_t g[8];
    int ng = groups_of(&rs, i, j, g, 8);
    rc = write_chart(svg, rs.v[i].env, g, ng, err);
    for (int k = 0; k < ng; k++) free(g[k].runs);
    i = j;
  }
  free(out_copy);
  fclose(f);
  f = NULL;
  if (rc == 0) {
    binw_t w = {(uint8_t *)text, len, len + 1};
    text = NULL;
    rc = binw_commit_text(&w, out_md, err);
  }
out:
  free(text);
  results_runs_free(&rs);
  return rc;
}
