/* bench_env: environment steps per second, single-threaded, for every built-in environment.
 *
 * Actions are drawn uniformly within the bounds before timing starts (a ring of 16384), so
 * the random number generator is not what is measured; episodes reset at terminal and at the
 * step limit, and the resets are timed too. For MuJoCo tasks the same run also times raw
 * mj_step on the very same trajectories: before each chunk of env steps the simulator state
 * is copied, and afterwards the copy is driven through the same controls with bare mj_step
 * calls (frame_skip per env step). The env's overhead on top of MuJoCo is the median over
 * chunks of time(env) / time(raw) - 1, with resets left out of both (the rates are totals,
 * so on a busy machine they wander more than the overhead does). MuJoCo tasks whose model
 * file is missing are skipped, saying why. The last line of output is one JSON object. */
#include "env.h"
#include "env_mujoco.h"
#include "log.h"
#include "rng.h"
#include "xalloc.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ACTIONS 16384u   /* pregenerated action rows (a power of two) */
#define CHUNK 256u         /* env steps between MuJoCo snapshots */
#define MAX_ENVS 32

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_env [--seconds S] [--env ID]... [--mujoco-assets DIR]\n"
          "\n"
          "Measures env steps per second on one thread for each environment (default: all\n"
          "built-in ones), and for MuJoCo tasks the raw mj_step rate on the same trajectories\n"
          "and the env's overhead on top of it. Targets: >= 10M steps/s for Pendulum and\n"
          "MountainCar, <= 10%% MuJoCo overhead.\n"
          "\n"
          "  --seconds S          time spent per environment (default 1)\n"
          "  --env ID             environment to measure (repeatable; plugin:... allowed)\n"
          "  --mujoco-assets DIR  Gymnasium's model files (default $TD3D_MUJOCO_ASSETS, else\n"
          "                       ../shared/assets/gymnasium-mujoco next to the source tree)\n"
          "  -h, --help           this help\n");
}

typedef struct result {
  char id[256];                /* the env's own id, or the id asked for when it failed */
  const char *skipped;      /* reason, or NULL */
  char why[512];
  double env_steps_per_s;
  int mujoco;               /* 1: the fields below are set */
  int frame_skip;
  double mj_steps_per_s;    /* raw mj_step calls per second */
  double overhead_pct;      /* env time over raw time, minus 1, in percent */
} result_t;

static double now_s(void) { return (double)td3_now_ns() * 1e-9; }

static float *make_actions(const env_info_t *in) {
  float *a = xmalloc((size_t)N_ACTIONS * in->act_dim * sizeof *a);
  rng_t r;
  rng_init(&r, 1, rng_stream_id(RNG_PURPOSE_ACTOR, 0));
  for (size_t i = 0; i < N_ACTIONS; i++)
    for (uint32_t k = 0; k < in->act_dim; k++)
      a[i * in->act_dim + k] = rng_uniformf(&r, in->action_low[k], in->action_high[k]);
  return a;
}

/* Plain env loop: batches of steps until the time is up. */
static void bench_plain(env_t *e, double seconds, result_t *res) {
  const env_info_t *in = &e->info;
  float *acts = make_actions(in);
  float *obs = xmalloc(in->obs_dim * sizeof *obs);
  uint64_t seed = 0, steps = 0;
  uint32_t len = 0, i = 0;
  env_reset(e, seed++, obs);
  double t0 = now_s(), t;
  do {
    for (int b = 0; b < 65536; b++) {
      float r;
      int term;
      if (env_step(e, acts + (size_t)i * in->act_dim, obs, &r, &term) != 0 || term ||
          ++len >= in->max_episode_steps) {
        env_reset(e, seed++, obs);
        len = 0;
      }
      i = (i + 1) & (N_ACTIONS - 1);
    }
    steps += 65536;
    t = now_s() - t0;
  } while (t < seconds);
  res->env_steps_per_s = (double)steps / t;
  free(acts);
  free(obs);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* MuJoCo: chunks of env steps, each replayed with bare mj_step from a snapshot. */
static void bench_mujoco(env_t *e, double seconds, result_t *res) {
  const env_info_t *in = &e->info;
  const mjModel *m = env_mujoco_model(e);
  mjData *d = env_mujoco_data(e);
  mjData *snap = mj_makeData(m);
  int fs = env_mujoco_frame_skip(e);
  float *acts = make_actions(in);
  float *obs = xmalloc(in->obs_dim * sizeof *obs);
  uint64_t seed = 0, steps = 0;
  uint32_t len = 0, i = 0;
  double t_env = 0, t_raw = 0;
  size_t n_ratios = 0, cap_ratios = 1024;
  double *ratios = xmalloc(cap_ratios * sizeof *ratios);
  env_reset(e, seed++, obs);
  while (t_env + t_raw < seconds) {
    mj_copyData(snap, m, d);
    uint32_t i0 = i, n = 0;
    int ended = 0;
    double t0 = now_s();
    while (n < CHUNK && !ended) {
      float r;
      int term;
      int rc = env_step(e, acts + (size_t)i * in->act_dim, obs, &r, &term);
      ended = rc != 0 || term || ++len >= in->max_episode_steps;
      i = (i + 1) & (N_ACTIONS - 1);
      n++;
    }
    double t1 = now_s();
    for (uint32_t j = 0, ai = i0; j < n; j++, ai = (ai + 1) & (N_ACTIONS - 1)) {
      const float *a = acts + (size_t)ai * in->act_dim;
      for (int k = 0; k < m->nu; k++) snap->ctrl[k] = a[k];
      for (int s = 0; s < fs; s++) mj_step(m, snap);
    }
    double t2 = now_s();
    t_env += t1 - t0;
    t_raw += t2 - t1;
    steps += n;
    if (n_ratios == cap_ratios) {
      cap_ratios *= 2;
      ratios = xrealloc(ratios, cap_ratios * sizeof *ratios);
    }
    if (t2 > t1) ratios[n_ratios++] = (t1 - t0) / (t2 - t1);
    if (ended) {
      env_reset(e, seed++, obs);
      len = 0;
    }
  }
  res->mujoco = 1;
  res->frame_skip = fs;
  res->env_steps_per_s = (double)steps / t_env;
  res->mj_steps_per_s = (double)steps * fs / t_raw;
  /* The median chunk, not the totals: other processes on the machine steal time in bursts
   * that land on one side of a chunk pair, and the median ignores them. */
  qsort(ratios, n_ratios, sizeof *ratios, cmp_double);
  res->overhead_pct = n_ratios ? 100.0 * (ratios[n_ratios / 2] - 1.0) : 0.0;
  free(ratios);
  mj_deleteData(snap);
  free(acts);
  free(obs);
}

/* ../shared/assets/gymnasium-mujoco beside the source tree this file was compiled from. */
static const char *default_assets(char *buf, size_t cap) {
  char src[PATH_MAX];
  snprintf(src, sizeof src, "%s", __FILE__);
  if (src[0] != '/') return NULL;
  char *bench_dir = dirname(src);          /* <root>/bench */
  char *root = dirname(bench_dir);         /* <root> */
  snprintf(buf, cap, "%s/../shared/assets/gymnasium-mujoco", root);
  return access(buf, R_OK) == 0 ? buf : NULL;
}

int main(int argc, char **argv) {
  double seconds = 1.0;
  const char *ids[MAX_ENVS];
  int n_ids = 0;
  env_options_t opts = {0};
  for (int a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
      seconds = atof(argv[++a]);
      if (!(seconds > 0)) {
        fprintf(stderr, "bench_env: --seconds needs a positive number\n");
        return 2;
      }
    } else if (!strcmp(argv[a], "--env") && a + 1 < argc && n_ids < MAX_ENVS) {
      ids[n_ids++] = argv[++a];
    } else if (!strcmp(argv[a], "--mujoco-assets") && a + 1 < argc) {
      opts.assets_dir = argv[++a];
    } else {
      fprintf(stderr, "bench_env: bad argument '%s' (see --help)\n", argv[a]);
      return 2;
    }
  }
  char assets[PATH_MAX];
  if (!opts.assets_dir && !getenv("TD3D_MUJOCO_ASSETS"))
    opts.assets_dir = default_assets(assets, sizeof assets);
  if (n_ids == 0) {
    size_t n;
    const env_entry_t *reg = env_registry(&n);
    for (size_t k = 0; k < n && n_ids < MAX_ENVS; k++) ids[n_ids++] = reg[k].id;
  }

  static result_t res[MAX_ENVS];
  printf("%-26s %14s %14s %14s %9s\n", "env", "env steps/s", "mj_step/s", "mj-only env/s",
         "overhead");
  for (int k = 0; k < n_ids; k++) {
    result_t *r = &res[k];
    snprintf(r->id, sizeof r->id, "%s", ids[k]);
    td3_err_t err = {0};
    env_t *e = env_create(ids[k], &opts, &err);
    if (!e) {
      snprintf(r->why, sizeof r->why, "%s", err.msg);
      r->skipped = r->why;
      printf("%-26s skipped: %s\n", ids[k], err.msg);
      fflush(stdout);
      continue;
    }
    snprintf(r->id, sizeof r->id, "%s", e->info.id);
    if (env_mujoco_model(e)) {
      bench_mujoco(e, seconds, r);
      printf("%-26s %14.0f %14.0f %14.0f %8.1f%%\n", r->id, r->env_steps_per_s,
             r->mj_steps_per_s, r->mj_steps_per_s / r->frame_skip, r->overhead_pct);
    } else {
      bench_plain(e, seconds, r);
      printf("%-26s %14.0f %14s %14s %9s\n", r->id, r->env_steps_per_s, "-", "-", "-");
    }
    fflush(stdout);
    env_destroy(&e);
  }

  printf("{\"bench\":\"env\",\"seconds_per_env\":%g,\"envs\":[", seconds);
  for (int k = 0; k < n_ids; k++) {
    const result_t *r = &res[k];
    printf("%s{\"id\":\"%s\"", k ? "," : "", r->id);
    if (r->skipped) {
      printf(",\"skipped\":\"");
      for (const char *c = r->skipped; *c; c++)
        if (*c == '"' || *c == '\\') printf("\\%c", *c);
        else if ((unsigned char)*c >= 0x20) putchar(*c);
      printf("\"}");
      continue;
    }
    printf(",\"env_steps_per_s\":%.0f", r->env_steps_per_s);
    if (r->mujoco)
      printf(",\"frame_skip\":%d,\"mj_steps_per_s\":%.0f,\"mj_only_env_steps_per_s\":%.0f,"
             "\"overhead_pct\":%.2f",
             r->frame_skip, r->mj_steps_per_s, r->mj_steps_per_s / r->frame_skip,
             r->overhead_pct);
    printf("}");
  }
  printf("]}\n");
  return 0;
}
