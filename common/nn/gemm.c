/* Kernel choice (TD3D_GEMM), dispatch, and the worker threads that split one product into
 * row or column blocks of C (see gemm.h). The AVX-512 kernel itself is in gemm_avx512.c.
 *
 * Workers. gemm_set_threads(n) records n; the first product big enough to split starts the
 * n - 1 workers. A product is cut into a few blocks per thread, which the caller and the
 * workers claim one at a time from a shared counter: nobody owns a block in advance, so a
 * worker the OS has descheduled (an actor or the evaluator took its core) delays only a
 * block it already claimed, and the caller finishes the rest itself. The caller posts a
 * product by writing the plan and then the claim word (generation and blocks left), claims
 * blocks until none are left, then waits for the claimed ones to finish: spinning briefly,
 * then yielding its core, since the block it waits for may belong to a thread that needs
 * that core. An idle worker spins on the generation for up to SPIN_NS (a training
 * iteration's products come microseconds apart), then sleeps on a condition variable that
 * the caller signals when it sees sleepers. */
#include "gemm.h"

#include "error.h"
#include "gemm_avx512.h"
#include "log.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Products with fewer multiply-adds than this run on one thread: waking a worker and
 * waiting for it costs a few microseconds. */
#define SPLIT_MIN_FMA (1u << 18)
#define SPIN_NS 200000u /* how long an idle worker polls before it sleeps */
#define WAIT_SPIN_NS 20000u /* how long the caller spins on claimed blocks before yielding */

/* ---------------------------------------------------------------------------------------- */
/* Kernel choice                                                                            */

static _Atomic int g_kernel = -1; /* gemm_kernel_t once chosen, -1 before */
static pthread_once_t g_env_once = PTHREAD_ONCE_INIT;

int gemm_kernel_parse(const char *s, gemm_kernel_t *out) {
  if (!s || !*s || !strcmp(s, "auto")) *out = GEMM_KERNEL_AUTO;
  else if (!strcmp(s, "avx512")) *out = GEMM_KERNEL_AVX512;
  else if (!strcmp(s, "openblas")) *out = GEMM_KERNEL_OPENBLAS;
  else return TD3_EINVAL;
  return 0;
}

gemm_kernel_t gemm_select(gemm_kernel_t want) {
  bool have = gemm_avx512_supported();
  gemm_kernel_t k = want;
  if (want == GEMM_KERNEL_AUTO) {
    k = have ? GEMM_KERNEL_AVX512 : GEMM_KERNEL_OPENBLAS;
  } else if (want == GEMM_KERNEL_AVX512 && !have) {
    log_warn("gemm: AVX-512 kernel requested but this CPU lacks avx512f/vl/bw/dq; using OpenBLAS");
    k = GEMM_KERNEL_OPENBLAS;
  }
  atomic_store(&g_kernel, (int)k);
  return k;
}

int gemm_init_from_env(void) {
  const char *s = getenv("TD3D_GEMM");
  gemm_kernel_t want;
  int rc = gemm_kernel_parse(s, &want);
  if (rc) {
    log_error("gemm: TD3D_GEMM='%s' is not one of auto, avx512, openblas; using auto", s);
    want = GEMM_KERNEL_AUTO;
  }
  gemm_select(want);
  return rc;
}

static void env_once(void) {
  if (atomic_load(&g_kernel) < 0) gemm_init_from_env();
}

static gemm_kernel_t active_kernel(void) {
  int k = atomic_load_explicit(&g_kernel, memory_order_relaxed);
  if (k < 0) {
    pthread_once(&g_env_once, env_once);
    k = atomic_load(&g_kernel);
  }
  return (gemm_kernel_t)k;
}

const char *gemm_kernel_name(void) {
  return active_kernel() == GEMM_KERNEL_AVX512 ? "avx512" : "openblas";
}

/* ---------------------------------------------------------------------------------------- */
/* Workers                                                                                  */

/* The claim word: the generation of the posted product (high 32 bits) and the number of its
 * blocks nobody has claimed yet (low 32 bits). A thread that claims a block (a successful
 * compare-and-swap that lowers the count) may read the plan: the caller does not post the
 * next product before every claimed block is done. */
#define WORD(gen, left) (((uint64_t)(gen) << 32) | (uint32_t)(left))
#define WORD_GEN(w) ((uint32_t)((w) >> 32))
#define WORD_LEFT(w) ((uint32_t)(w))

static struct {
  pthread_mutex_t use;       /* held by the caller whose product is posted */
  pthread_mutex_t mu;        /* with wake: sleeping workers */
  pthread_cond_t wake;
  _Atomic int threads;       /* gemm_set_threads value */
  int started;               /* workers running, threads - 1 once started */
  pthread_t tid[GEMM_MAX_THREADS];
  _Atomic uint64_t word;     /* WORD(generation, blocks left to claim) */
  _Atomic uint32_t done;     /* blocks of the posted product finished */
  _Atomic int sleepers;      /* workers waiting on wake */
  _Atomic int quit_from;     /* workers with an index >= this exit */
  const gemm_plan_t *plan;   /* the posted product (valid until every block is done) */
  bool by_cols;              /* its blocks are column ranges of C, else row ranges */
  size_t unit;               /* rows or columns per tile: MR or NR */
  size_t len;                /* rows or columns of C being split */
  uint32_t bound[GEMM_MAX_BLOCKS + 1]; /* block b is tiles bound[b] .. bound[b + 1] - 1 */
  uint32_t blocks;           /* blocks of the posted product */
} g_pool = {.use = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER,
            .wake = PTHREAD_COND_INITIALIZER, .threads = 1, .quit_from = GEMM_MAX_THREADS};

/* Block `part` of the posted product: its range of tiles, as rows (or columns) of C. */
static void run_part(uint32_t part) {
  const gemm_plan_t *p = g_pool.plan;
  size_t begin = g_pool.bound[part] * g_pool.unit, end = g_pool.bound[part + 1] * g_pool.unit;
  if (end > g_pool.len) end = g_pool.len;
  if (g_pool.by_cols) gemm_plan_run(p, 0, p->m, begin, end);
  else gemm_plan_run(p, begin, end, 0, p->n);
}

/* Claims and runs blocks of generation gen until none are left (or another product is
 * posted, which means gen's are all claimed). Returns how many this thread ran. */
static uint32_t claim_and_run(uint32_t gen) {
  uint32_t ran = 0;
  uint64_t w = atomic_load(&g_pool.word);
  while (WORD_GEN(w) == gen && WORD_LEFT(w) > 0) {
    if (!atomic_compare_exchange_weak(&g_pool.word, &w, w - 1)) continue; /* w reloaded */
    /* claimed: the plan stays valid until this block is counted done */
    uint32_t part = g_pool.blocks - WORD_LEFT(w);
    run_part(part);
    atomic_fetch_add(&g_pool.done, 1);
    ran++;
    w = atomic_load(&g_pool.word);
  }
  return ran;
}

static void *worker_main(void *arg) {
  int id = (int)(intptr_t)arg; /* 1..started */
  prctl(PR_SET_NAME, "td3d-gemm");
  uint32_t seen = 0;           /* generation last served; 0: none (posts start at 1) */
  for (;;) {
    uint64_t t0 = td3_now_ns(), spins = 0;
    while (WORD_GEN(atomic_load(&g_pool.word)) == seen && id < atomic_load(&g_pool.quit_from)) {
      cpu_relax();
      if (++spins % 256 == 0 && td3_now_ns() - t0 > SPIN_NS) {
        pthread_mutex_lock(&g_pool.mu);
        atomic_fetch_add(&g_pool.sleepers, 1);
        while (WORD_GEN(atomic_load(&g_pool.word)) == seen && id < atomic_load(&g_pool.quit_from))
          pthread_cond_wait(&g_pool.wake, &g_pool.mu);
        atomic_fetch_sub(&g_pool.sleepers, 1);
        pthread_mutex_unlock(&g_pool.mu);
      }
    }
    if (id >= atomic_load(&g_pool.quit_from)) return NULL;
    seen = WORD_GEN(atomic_load(&g_pool.word));
    claim_and_run(seen);
  }
}

/* Stops workers with index >= keep + 1. Caller holds g_pool.use. */
static void stop_workers(int keep) {
  if (g_pool.started <= keep) return;
  atomic_store(&g_pool.quit_from, keep + 1);
  pthread_mutex_lock(&g_pool.mu);
  pthread_cond_broadcast(&g_pool.wake);
  pthread_mutex_unlock(&g_pool.mu);
  for (int i = keep + 1; i <= g_pool.started; i++) pthread_join(g_pool.tid[i], NULL);
  g_pool.started = keep;
  atomic_store(&g_pool.quit_from, GEMM_MAX_THREADS);
}

/* In a child of fork() the workers do not exist and the locks may be mid-use: start over. */
static void pool_after_fork_child(void) {
  g_pool.started = 0;
  atomic_store(&g_pool.word, WORD(WORD_GEN(atomic_load(&g_pool.word)), 0));
  atomic_store(&g_pool.sleepers, 0);
  atomic_store(&g_pool.quit_from, GEMM_MAX_THREADS);
  pthread_mutex_init(&g_pool.use, NULL);
  pthread_mutex_init(&g_pool.mu, NULL);
  pthread_cond_init(&g_pool.wake, NULL);
}

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) { pthread_atfork(NULL, NULL, pool_after_fork_child); }

/* Starts workers up to threads - 1. Caller holds g_pool.use. A failed pthread_create
 * leaves fewer workers (logged once); products then use the ones there are. */
static void start_workers(void) {
  pthread_once(&g_atfork_once, register_atfork);
  while (g_pool.started < g_pool.threads - 1) {
    int id = g_pool.started + 1;
    if (pthread_create(&g_pool.tid[id], NULL, worker_main, (void *)(intptr_t)id) != 0) {
      log_warn("gemm: cannot start worker thread %d; products use %d thread(s)", id, id);
      g_pool.threads = id;
      break;
    }
    g_pool.started = id;
  }
}

void gemm_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > GEMM_MAX_THREADS) n = GEMM_MAX_THREADS;
  /* OpenBLAS's pool only where OpenBLAS does the products (see gemm.h) */
  openblas_set_num_threads(strcmp(gemm_kernel_name(), "openblas") == 0 ? n : 1);
  pthread_mutex_lock(&g_pool.use);
  g_pool.threads = n;
  stop_workers(n - 1);
  pthread_mutex_unlock(&g_pool.use);
}

int gemm_get_threads(void) { return atomic_load(&g_pool.threads); }

/* Cuts `tiles` tiles into blocks for `threads` threads, writing the block bounds; returns the
 * number of blocks. The first `threads` blocks, the first each thread claims, hold three
 * quarters of a thread's fair share each: when every thread is running they do most of the
 * product in as few blocks as a fixed split would (each block packs its own copy of what the
 * threads share, so fewer blocks are cheaper). The rest is cut into blocks of about an
 * eighth of a share, which whoever is running claims: a thread that was descheduled
 * before its first claim costs nothing, and one descheduled inside a big block costs at
 * most that block. */
uint32_t gemm_schedule(size_t tiles, size_t threads, uint32_t bound[GEMM_MAX_BLOCKS + 1]) {
  size_t big = tiles * 3 / (4 * threads), nbig = threads, rest, small;
  if (big == 0) { /* fewer tiles than a block per thread: one tile each */
    big = 1;
    nbig = tiles < GEMM_MAX_BLOCKS ? tiles : GEMM_MAX_BLOCKS;
  }
  rest = tiles - big * nbig;
  small = (rest + 2 * threads - 1) / (2 * threads);
  if (small == 0) small = 1;
  while (rest && nbig + (rest + small - 1) / small > GEMM_MAX_BLOCKS) small++;
  uint32_t b = 0, at = 0;
  bound[0] = 0;
  for (size_t i = 0; i < nbig; i++) bound[++b] = at += (uint32_t)big;
  while (at < tiles) {
    at = at + small < tiles ? at + (uint32_t)small : (uint32_t)tiles;
    bound[++b] = at;
  }
  return b;
}

/* Runs the plan split over the workers when it is big enough and they are free; else on
 * the calling thread alone. The split is by columns of C when A is read in place (each
 * block then packs only its own columns of B, and nothing of A) or C has too few rows;
 * else by rows (each block packs its rows of A, and all of B). */
static void run_plan(const gemm_plan_t *p) {
  const size_t mr = GEMM_AVX512_MR, nr = GEMM_AVX512_NR;
  size_t row_tiles = (p->m + mr - 1) / mr, col_tiles = (p->n + nr - 1) / nr;
  if (p->m * p->n * p->k < SPLIT_MIN_FMA || (row_tiles < 2 && col_tiles < 2) ||
      atomic_load_explicit(&g_pool.threads, memory_order_relaxed) < 2 ||
      pthread_mutex_trylock(&g_pool.use) != 0) {
    gemm_plan_run(p, 0, p->m, 0, p->n);
    return;
  }
  start_workers();
  if (g_pool.started == 0) {
    pthread_mutex_unlock(&g_pool.use);
    gemm_plan_run(p, 0, p->m, 0, p->n);
    return;
  }
  size_t threads = (size_t)g_pool.started + 1;
  bool by_cols = col_tiles >= 2 && (!p->ta || row_tiles < 2);
  g_pool.plan = p;
  g_pool.by_cols = by_cols;
  g_pool.unit = by_cols ? nr : mr;
  g_pool.len = by_cols ? p->n : p->m;
  g_pool.blocks = gemm_schedule(by_cols ? col_tiles : row_tiles, threads, g_pool.bound);
  atomic_store(&g_pool.done, 0);
  uint32_t gen = WORD_GEN(atomic_load(&g_pool.word)) + 1;
  if (gen == 0) gen = 1; /* 0 means "none" to a new worker */
  atomic_store(&g_pool.word, WORD(gen, g_pool.blocks)); /* publishes the plan */
  if (atomic_load(&g_pool.sleepers) > 0) {
    pthread_mutex_lock(&g_pool.mu);
    pthread_cond_broadcast(&g_pool.wake);
    pthread_mutex_unlock(&g_pool.mu);
  }
  claim_and_run(gen);
  /* every block is claimed; wait for those other threads are running */
  uint64_t t0 = 0;
  for (uint32_t spins = 0; atomic_load(&g_pool.done) < g_pool.blocks; spins++) {
    cpu_relax();
    if (spins % 64 == 63) {
      uint64_t now = td3_now_ns();
      if (!t0) t0 = now;
      else if (now - t0 > WAIT_SPIN_NS) sched_yield();
    }
  }
  pthread_mutex_unlock(&g_pool.use);
}

/* ---------------------------------------------------------------------------------------- */
/* Dispatch                                                                                 */

void gemm_epilogue_apply(const gemm_epilogue_t *ep, float *c, size_t m, size_t n, size_t ldc) {
  if (!ep) return;
  /* One loop per step, each without a data-dependent branch, so that they vectorise (a
   * branch on the sign of C would be mispredicted half the time). */
  for (size_t i = 0; i < m; i++) {
    float *row = c + i * ldc;
    if (ep->bias)
      for (size_t j = 0; j < n; j++) row[j] += ep->bias[j];
    if (ep->relu)
      for (size_t j = 0; j < n; j++) row[j] = row[j] < 0.0f ? 0.0f : row[j]; /* NaN stays */
    if (ep->gate) {
      const float *g = ep->gate + i * ep->ldg;
      for (size_t j = 0; j < n; j++) row[j] = g[j] > 0.0f ? row[j] : 0.0f;
    }
  }
}

/* C = alpha x y^T + beta C, x = op(A) (m), y = op(B) (n): the k == 1 product in plain C. */
static void outer_product(bool ta, bool tb, size_t m, size_t n, float alpha, const float *a,
                          size_t lda, const float *b, size_t ldb, float beta, float *c,
                          size_t ldc) {
  size_t incx = ta ? 1 : lda, incy = tb ? ldb : 1;
  for (size_t i = 0; i < m; i++) {
    float xi = alpha * a[i * incx];
    float *row = c + i * ldc;
    if (beta == 0.0f) {
      if (incy == 1)
        for (size_t j = 0; j < n; j++) row[j] = xi * b[j];
      else
        for (size_t j = 0; j < n; j++) row[j] = xi * b[j * incy];
    } else {
      for (size_t j = 0; j < n; j++) row[j] = beta * row[j] + xi * b[j * incy];
    }
  }
}

void gemm_scale_apply(float beta, const gemm_epilogue_t *ep, float *c, size_t m, size_t n,
                      size_t ldc) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
  gemm_epilogue_apply(ep, c, m, n, ldc);
}

void gemm_avx512_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                       const float *a, size_t lda, const float *b, size_t ldb, float beta,
                       float *c, size_t ldc, const gemm_epilogue_t *ep) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    gemm_scale_apply(beta, ep, c, m, n, ldc);
    return;
  }
  gemm_plan_t p;
  gemm_plan_init(&p, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
  gemm_plan_run(&p, 0, p.m, 0, p.n);
}

void gemm_sgemm_ex(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc, const gemm_epilogue_t *ep) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    gemm_scale_apply(beta, ep, c, m, n, ldc);
    return;
  }
  if (active_kernel() == GEMM_KERNEL_AVX512) {
    gemm_plan_t p;
    gemm_plan_init(&p, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
    run_plan(&p);
    return;
  }
  if (k == 1) { /* an outer product, which cblas_sgemm runs several times slower */
    outer_product(trans_a, trans_b, m, n, alpha, a, lda, b, ldb, beta, c, ldc);
    gemm_epilogue_apply(ep, c, m, n, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
              (int)ldb, beta, c, (int)ldc);
  gemm_epilogue_apply(ep, c, m, n, ldc);
}

void gemm_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                size_t ldc) {
  gemm_sgemm_ex(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL);
}
