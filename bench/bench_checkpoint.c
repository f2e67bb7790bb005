/* bench_checkpoint: how long a learner checkpoint takes to write and to read back, with the
 * replay buffer of a given size (HalfCheetah-shaped by default: obs 17, act 6, 256-256
 * networks), so a user can choose --checkpoint-every. The replay is filled with random
 * transitions; the checkpoint goes to a temporary directory (or --dir) and is removed after.
 * Prints the figures and, last, one JSON object. */
#include "checkpoint.h"
#include "log.h"
#include "replay.h"
#include "rng.h"
#include "td3.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_checkpoint [--transitions N] [--obs N] [--act N] [--dir DIR]\n"
          "Times writing and restoring a learner checkpoint with a full replay buffer.\n"
          "  --transitions N  replay rows (default 1000000)\n"
          "  --obs N, --act N observation and action sizes (default 17, 6: HalfCheetah)\n"
          "  --dir DIR        where to write (default a new directory under /tmp)\n"
          "  -h, --help       this help\n");
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  char *end;
  unsigned long long v = strtoull(s ? s : "", &end, 10);
  if (!s || !*s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static uint64_t dir_bytes(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "du -sb '%s' 2>/dev/null", dir);
  FILE *p = popen(cmd, "r");
  unsigned long long b = 0;
  if (p) {
    if (fscanf(p, "%llu", &b) != 1) b = 0;
    pclose(p);
  }
  return b;
}

/* What the command line asks for; dir_arg is borrowed from argv (NULL: a new directory). */
typedef struct bench_opts {
  uint64_t rows, obs, act;
  const char *dir_arg;
} bench_opts_t;

/* Parses the flags into o. Returns -1 to go on, else the exit status to end with now (0
 * after --help; 2 after a bad flag, with the usage on stderr). */
static int parse_args(int argc, char **argv, bench_opts_t *o) {
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0;
    if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(f, "--transitions")) {
      bad = parse_u64(v, 1, 100000000, &o->rows);
    } else if (!strcmp(f, "--obs")) {
      bad = parse_u64(v, 1, 4096, &o->obs);
    } else if (!strcmp(f, "--act")) {
      bad = parse_u64(v, 1, 4096, &o->act);
    } else if (!strcmp(f, "--dir")) {
      bad = v == NULL;
      o->dir_arg = v;
    } else {
      bad = 1;
    }
    if (bad) {
      fprintf(stderr, "bench_checkpoint: bad or missing value for '%s'\n", f);
      usage(stderr);
      return 2;
    }
    i++;
  }
  return -1;
}

/* Inserts rows random transitions (none terminal) into r, a block at a time. */
static void replay_fill_random(replay_t *r, uint64_t rows, uint64_t obs, uint64_t act) {
  enum { BLOCK = 4096 };
  transition_batch_t b;
  transition_batch_alloc(&b, BLOCK, (uint32_t)obs, (uint32_t)act);
  memset(b.terminal, 0, BLOCK * sizeof(float));
  rng_t rng;
  rng_init(&rng, 1, 1);
  for (uint64_t done = 0; done < rows; done += BLOCK) {
    uint32_t n = rows - done < BLOCK ? (uint32_t)(rows - done) : BLOCK;
    rng_normal_fill(&rng, b.obs, (size_t)n * obs, 0, 1);
    rng_normal_fill(&rng, b.next_obs, (size_t)n * obs, 0, 1);
    rng_normal_fill(&rng, b.action, (size_t)n * act, 0, 0.5f);
    rng_normal_fill(&rng, b.reward, n, 0, 1);
    b.n = n;
    replay_insert(r, &b, 0, n);
  }
  transition_batch_free(&b);
}

/* What a save and a load took. */
typedef struct timing {
  double write_s, read_s; /* seconds: checkpoint_save (fsync included), checkpoint_load */
  uint64_t bytes;         /* the checkpoint's size on disk */
  int same;               /* the restored replay and meta match what was saved */
} timing_t;

/* Saves t and r as a checkpoint in dir, loads it into u and r2, and times both. Returns 0, or
 * 1 (said on stderr) when either failed. */
static int round_trip(const char *dir, td3_t *t, replay_t *r, td3_t *u, replay_t *r2,
                      timing_t *out) {
  td3_err_t err = {0};
  checkpoint_meta_t m = {0};
  snprintf(m.env_id, sizeof m.env_id, "bench");
  m.updates = 12345;
  rng_init(&m.trainer_rng, 1, 2);
  uint64_t t0 = td3_now_ns();
  if (checkpoint_save(dir, t, r, &m, "--env=bench\n", &err) != 0) {
    fprintf(stderr, "bench_checkpoint: %s\n", err.msg);
    return 1;
  }
  out->write_s = (double)(td3_now_ns() - t0) * 1e-9;
  out->bytes = dir_bytes(dir);
  checkpoint_meta_t got;
  t0 = td3_now_ns();
  if (checkpoint_load(dir, "bench", u, r2, &got, &err) != 0) {
    fprintf(stderr, "bench_checkpoint: %s\n", err.msg);
    return 1;
  }
  out->read_s = (double)(td3_now_ns() - t0) * 1e-9;
  out->same = replay_size(r2) == replay_size(r) && got.updates == m.updates;
  return 0;
}

/* Prints the figures and, last, the JSON line. */
static void report_print(const bench_opts_t *o, const timing_t *tm) {
  double mib = (double)tm->bytes / 1048576.0, write_s = tm->write_s, read_s = tm->read_s;
  printf("checkpoint of %llu transitions (obs %llu, act %llu) + 256-256 networks: %.1f MiB\n",
         (unsigned long long)o->rows, (unsigned long long)o->obs, (unsigned long long)o->act,
         mib);
  printf("write (incl. fsync): %.3f s (%.0f MiB/s)\n", write_s, write_s > 0 ? mib / write_s : 0);
  printf("read and restore:    %.3f s (%.0f MiB/s)\n", read_s, read_s > 0 ? mib / read_s : 0);
  printf("{\"bench\": \"checkpoint\", \"transitions\": %llu, \"obs\": %llu, \"act\": %llu, "
         "\"mib\": %.1f, \"write_seconds\": %.3f, \"read_seconds\": %.3f, \"restored\": %s}\n",
         (unsigned long long)o->rows, (unsigned long long)o->obs, (unsigned long long)o->act,
         mib, write_s, read_s, tm->same ? "true" : "false");
}

int main(int argc, char **argv) {
  bench_opts_t o = {.rows = 1000000, .obs = 17, .act = 6};
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  char dir[4096];
  if (o.dir_arg) {
    snprintf(dir, sizeof dir, "%s", o.dir_arg);
  } else {
    snprintf(dir, sizeof dir, "/tmp/td3d_bench_checkpoint_XXXXXX");
    if (!mkdtemp(dir)) {
      perror("bench_checkpoint: mkdtemp");
      return 1;
    }
  }
  log_set_level(LOG_WARN);
  float low[4096], high[4096];
  for (uint64_t j = 0; j < o.act; j++) {
    low[j] = -1.0f;
    high[j] = 1.0f;
  }
  td3_config_t c;
  td3_config_default(&c);
  c.obs_dim = (uint32_t)o.obs;
  c.act_dim = (uint32_t)o.act;
  c.action_low = low;
  c.action_high = high;
  td3_err_t err = {0};
  td3_t *t = td3_new(&c, &err), *u = td3_new(&c, &err);
  replay_t *r = replay_new(o.rows, (uint32_t)o.obs, (uint32_t)o.act);
  replay_t *r2 = replay_new(o.rows, (uint32_t)o.obs, (uint32_t)o.act);
  if (!t || !u || !r || !r2) {
    fprintf(stderr, "bench_checkpoint: cannot allocate (%s)\n", err.msg[0] ? err.msg : "replay");
    return 1;
  }
  replay_fill_random(r, o.rows, o.obs, o.act);
  timing_t tm = {0};
  if (round_trip(dir, t, r, u, r2, &tm) != 0) return 1;
  checkpoint_remove(dir);
  if (!o.dir_arg) rmdir(dir);
  report_print(&o, &tm);
  replay_destroy(&r);
  replay_destroy(&r2);
  td3_destroy(&t);
  td3_destroy(&u);
  return tm.same ? 0 : 1;
}
