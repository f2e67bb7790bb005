/* bench_update: how many TD3 training iterations per second the learner's update runs, next
 * to its ceiling on this machine.
 *
 * The ceiling is the bare matrix-product sequence of the same iterations: the products of
 * policy_delay consecutive td3_train calls (so exactly one actor step) are recorded with
 * nn_gemm_trace and replayed alone, on the same operands, in the same run. The ratio says
 * how much of the update is spent outside the products (elementwise passes, Adam, Polyak,
 * noise). Real and ceiling runs alternate in rounds; the best round of each is reported (the
 * machine is shared, so the medians are printed too). The products run on gemm.h's kernel
 * (TD3D_GEMM picks it), named in the output. The last line is one JSON object.
 *
 * Usage: bench_update [--obs 17] [--act 6] [--hidden 256,256] [--batch 256] [--iters N]
 *                     [--threads 1] [--per-call] */
#include "gemm.h"
#include "nn.h"
#include "rng.h"
#include "td3.h"
#include "xalloc.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 5
#define POOL 4 /* distinct random batches, cycled */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_update [--obs N] [--act N] [--hidden W,W,...] [--batch N] [--iters N]\n"
          "                    [--threads N]\n"
          "Times td3_train (random data) against the bare GEMM sequence of the same iterations.\n"
          "  --obs      observation size (default 17)\n"
          "  --act      action size (default 6)\n"
          "  --hidden   hidden widths, comma-separated (default 256,256)\n"
          "  --batch    rows per update (default 256)\n"
          "  --iters    timed updates in total, split over %d rounds (default 2000)\n"
          "  --threads  threads per product, gemm and OpenBLAS (default 1)\n"
          "  --per-call also time each recorded product alone\n",
          ROUNDS);
}

static int parse_u32(const char *s, unsigned long max, uint32_t *out) {
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (end == s || *end || v < 1 || v > max) return -1;
  *out = (uint32_t)v;
  return 0;
}

static int parse_hidden(const char *s, td3_config_t *c) {
  c->n_hidden = 0;
  while (*s) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || v < 1 || v > NN_MAX_DIM || c->n_hidden == NN_MAX_LAYERS - 2) return -1;
    c->hidden[c->n_hidden++] = (uint32_t)v;
    s = end;
    if (*s == ',') s++;
    else if (*s) return -1;
  }
  return c->n_hidden ? 0 : -1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The flags that are not TD3 settings. */
typedef struct bench_opts {
  uint32_t iters;   /* timed updates in total */
  uint32_t threads; /* per product, gemm and OpenBLAS */
  int per_call;     /* also time each recorded product alone */
} bench_opts_t;

/* Parses the flags into c (shape, batch) and o. Returns -1 to go on, else the exit status to
 * end with now (0 after --help; 2 after a bad flag, with the usage on stderr). */
static int parse_args(int argc, char **argv, td3_config_t *c, bench_opts_t *o) {
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0;
    if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(f, "--per-call")) {
      o->per_call = 1;
      continue;
    } else if (!v) {
      bad = 1;
    } else if (!strcmp(f, "--obs")) {
      bad = parse_u32(v, NN_MAX_DIM, &c->obs_dim);
    } else if (!strcmp(f, "--act")) {
      bad = parse_u32(v, NN_MAX_DIM, &c->act_dim);
    } else if (!strcmp(f, "--hidden")) {
      bad = parse_hidden(v, c);
    } else if (!strcmp(f, "--batch")) {
      bad = parse_u32(v, TD3_MAX_BATCH, &c->batch);
    } else if (!strcmp(f, "--iters")) {
      bad = parse_u32(v, 100000000ul, &o->iters);
    } else if (!strcmp(f, "--threads")) {
      bad = parse_u32(v, 1024, &o->threads);
    } else {
      bad = 1;
    }
    if (bad) {
      fprintf(stderr, "bench_update: bad or missing value for '%s'\n", f);
      usage(stderr);
      return 2;
    }
    i++;
  }
  return -1;
}

/* Allocates the POOL batches of c->batch rows and fills them with random transitions (about
 * 1% terminal). The caller frees them (transition_batch_free). */
static void batches_fill(transition_batch_t *batch, const td3_config_t *c, rng_t *rng) {
  const size_t B = c->batch, O = c->obs_dim, A = c->act_dim;
  for (int k = 0; k < POOL; k++) {
    transition_batch_t *b = &batch[k];
    transition_batch_alloc(b, (uint32_t)B, (uint32_t)O, (uint32_t)A);
    b->n = (uint32_t)B;
    rng_normal_fill(rng, b->obs, B * O, 0.0f, 1.0f);
    for (size_t i = 0; i < B * A; i++) b->action[i] = rng_uniformf(rng, -1.0f, 1.0f);
    rng_normal_fill(rng, b->reward, B, 0.0f, 1.0f);
    rng_normal_fill(rng, b->next_obs, B * O, 0.0f, 1.0f);
    for (size_t i = 0; i < B; i++) b->terminal[i] = rng_uniform(rng) < 0.01 ? 1.0f : 0.0f;
  }
}

/* Warms up, then records into tr the products of policy_delay updates (one actor step); *it
 * counts the updates run. Returns the FLOPs per update, or -1 (said on stderr) when the trace
 * overflowed. */
static double trace_record(td3_t *t, const td3_config_t *c, transition_batch_t *batch,
                           rng_t *rng, uint64_t *it, nn_gemm_trace_t *tr) {
  for (int i = 0; i < 20; i++, (*it)++) td3_train(t, &batch[*it % POOL], rng, NULL);
  double flops = 0;
  nn_gemm_trace_begin(tr);
  for (uint32_t i = 0; i < c->policy_delay; i++, (*it)++)
    td3_train(t, &batch[*it % POOL], rng, NULL);
  nn_gemm_trace_end();
  if (tr->dropped) {
    fprintf(stderr, "bench_update: trace overflow (%zu calls dropped)\n", tr->dropped);
    return -1;
  }
  for (size_t i = 0; i < tr->n; i++)
    flops += 2.0 * tr->calls[i].m * tr->calls[i].n * tr->calls[i].k;
  return flops / c->policy_delay;
}

/* Prints the time of each recorded product alone, many times over: where the ceiling's
 * time goes. */
static void trace_print_calls(const nn_gemm_trace_t *tr, uint32_t policy_delay) {
  double total = 0;
  for (size_t i = 0; i < tr->n; i++) {
    const nn_gemm_call_t *g = &tr->calls[i];
    int n_rep = 200;
    double t0 = now();
    for (int r = 0; r < n_rep; r++) nn_gemm_replay(g, 1);
    double us = (now() - t0) / n_rep * 1e6;
    total += us;
    printf("call %2zu: %c%c m %4u n %4u k %4u  %8.1f us  %6.1f GFLOP/s\n", i,
           g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', g->m, g->n, g->k, us,
           2.0 * g->m * g->n * g->k / us / 1e3);
  }
  printf("sum %.1f us per %u updates\n", total, policy_delay);
}

/* The rates of the rounds, updates per second: the real update and its GEMM ceiling. */
typedef struct rates {
  uint32_t per_round;            /* updates timed per round */
  double best_real, med_real;    /* td3_train */
  double best_ceil, med_ceil;    /* the recorded products replayed alone */
  int failures;                  /* updates that returned an error */
} rates_t;

/* Times ROUNDS rounds of iters / ROUNDS real updates, each followed by as many replayed
 * actor steps of the trace. */
static rates_t rounds_time(td3_t *t, const td3_config_t *c, transition_batch_t *batch,
                           rng_t *rng, uint64_t *it, const nn_gemm_trace_t *tr, uint32_t iters) {
  rates_t q = {0};
  q.per_round = iters / ROUNDS ? iters / ROUNDS : 1;
  uint32_t reps = (q.per_round + c->policy_delay - 1) / c->policy_delay;
  double real[ROUNDS], ceil_[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now();
    for (uint32_t i = 0; i < q.per_round; i++, (*it)++)
      q.failures += td3_train(t, &batch[*it % POOL], rng, NULL) != 0;
    real[r] = q.per_round / (now() - t0);
    t0 = now();
    for (uint32_t i = 0; i < reps; i++) nn_gemm_replay(tr->calls, tr->n);
    ceil_[r] = (double)reps * c->policy_delay / (now() - t0);
  }
  for (int r = 0; r < ROUNDS; r++) {
    if (real[r] > q.best_real) q.best_real = real[r];
    if (ceil_[r] > q.best_ceil) q.best_ceil = ceil_[r];
  }
  qsort(real, ROUNDS, sizeof real[0], cmp_double);
  qsort(ceil_, ROUNDS, sizeof ceil_[0], cmp_double);
  q.med_real = real[ROUNDS / 2];
  q.med_ceil = ceil_[ROUNDS / 2];
  return q;
}

/* Prints the report: the shape, the kernels, the rates and the ratio, then the JSON line. */
static void report_print(const td3_config_t *c, const nn_gemm_trace_t *tr, double flops,
                         const rates_t *q) {
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  char hidden[128] = "";
  size_t used = 0;
  for (uint32_t i = 0; i < c->n_hidden; i++)
    used += (size_t)snprintf(hidden + used, sizeof hidden - used, "%s%u", i ? "," : "",
                             c->hidden[i]);
  int nthreads = openblas_get_num_threads();
  printf("shape: obs %u, act %u, hidden %s, batch %u; %u updates in %d rounds\n", c->obs_dim,
         c->act_dim, hidden, c->batch, q->per_round * ROUNDS, ROUNDS);
  printf("gemm kernel: %s, %d thread(s) per product\n", gemm_kernel_name(), gemm_get_threads());
  printf("openblas: %d thread(s), core %s, OPENBLAS_CORETYPE=%s\n", nthreads,
         openblas_get_corename(), coretype ? coretype : "(unset)");
  printf("gemm calls per update: %.1f, %.1f MFLOP per update\n", (double)tr->n / c->policy_delay,
         flops / 1e6);
  printf("td3_train:      %8.1f updates/s best, %8.1f median (%.1f GFLOP/s best)\n", q->best_real,
         q->med_real, q->best_real * flops / 1e9);
  printf("bare GEMM seq:  %8.1f updates/s best, %8.1f median (%.1f GFLOP/s best)\n", q->best_ceil,
         q->med_ceil, q->best_ceil * flops / 1e9);
  printf("ratio:          %8.3f best/best, %.3f median/median\n", q->best_real / q->best_ceil,
         q->med_real / q->med_ceil);
  if (q->failures) printf("warning: %d updates returned an error\n", q->failures);
  printf("{\"obs\": %u, \"act\": %u, \"hidden\": [%s], \"batch\": %u, \"updates_per_s\": %.1f, "
         "\"updates_per_s_median\": %.1f, \"gemm_ceiling_per_s\": %.1f, "
         "\"gemm_ceiling_per_s_median\": %.1f, \"ratio\": %.4f, \"mflop_per_update\": %.2f, "
         "\"openblas_threads\": %d, \"openblas_core\": \"%s\", \"openblas_coretype_env\": \"%s\", "
         "\"gemm_kernel\": \"%s\", \"gemm_threads\": %d, \"failures\": %d}\n",
         c->obs_dim, c->act_dim, hidden, c->batch, q->best_real, q->med_real, q->best_ceil,
         q->med_ceil, q->best_real / q->best_ceil, flops / 1e6, nthreads,
         openblas_get_corename(), coretype ? coretype : "", gemm_kernel_name(),
         gemm_get_threads(), q->failures);
}

int main(int argc, char **argv) {
  td3_config_t c;
  td3_config_default(&c);
  c.obs_dim = 17;
  c.act_dim = 6;
  bench_opts_t o = {.iters = 2000, .threads = 1};
  int rc = parse_args(argc, argv, &c, &o);
  if (rc >= 0) return rc;
  openblas_set_num_threads((int)o.threads);
  gemm_set_threads((int)o.threads);

  const size_t A = c.act_dim;
  float *low = xmalloc(A * sizeof(float)), *high = xmalloc(A * sizeof(float));
  for (size_t j = 0; j < A; j++) {
    low[j] = -1.0f;
    high[j] = 1.0f;
  }
  c.action_low = low;
  c.action_high = high;
  c.seed = 1;
  td3_err_t err = {0};
  td3_t *t = td3_new(&c, &err);
  if (!t) {
    fprintf(stderr, "bench_update: %s\n", err.msg);
    return 2;
  }
  rng_t rng;
  rng_init(&rng, 1, rng_stream_id(RNG_PURPOSE_TRAINER, 0));
  transition_batch_t batch[POOL];
  batches_fill(batch, &c, &rng);

  uint64_t it = 0;
  nn_gemm_trace_t tr = {xmalloc(4096 * sizeof(nn_gemm_call_t)), 4096, 0, 0};
  double flops = trace_record(t, &c, batch, &rng, &it, &tr);
  if (flops < 0) return 1;
  if (o.per_call) trace_print_calls(&tr, c.policy_delay);
  rates_t q = rounds_time(t, &c, batch, &rng, &it, &tr, o.iters);
  report_print(&c, &tr, flops, &q);

  free(tr.calls);
  for (int k = 0; k < POOL; k++)
    transition_batch_free(&batch[k]);
  free(low);
  free(high);
  td3_destroy(&t);
  return q.failures ? 1 : 0;
}
