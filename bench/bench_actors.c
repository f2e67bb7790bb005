/* bench_actors: does one learner hold 1000 actors?
 *
 * Starts `td3d learner` (Pendulum-v1) as a child process in a session of its own on loopback
 * ports of its own (learner_probe.h), then N simulated actors in this process (sim_actors.h:
 * each with its own control, experience and weights socket, Hello with the actor's back-off,
 * heartbeats every 200 ms, paced Pendulum batches at --rate with the lease, the Weights
 * received). Once all joined (and 2 s more) it measures a window of --seconds.
 *
 * Figures: time for all N to join (split into the control connections coming up and the
 * Welcome after the first Hello) and listen-queue overflows meanwhile; heartbeat round trips
 * seen by the actors (p50, p99, max) and their own longest silence (a starved machine, not the
 * learner); the learner's view (the oldest last-seen of the leases, /status); transitions/s
 * sent and inserted (the learner's /status counters over the window); refused and over-budget
 * counts; leases lost although nothing failed (a Reject UNKNOWN_SLOT, or 5 s without an
 * answer: must be 0) and leases the learner expired (its log); the weights fan-out; the
 * learner's CPU and run-queue wait (main thread, total, per thread name), RSS and descriptors
 * from /proc; /status and /metrics fetch time (median, slowest) and size, and their render CPU
 * time for a snapshot of N actors in this process. The last line is one JSON object. --check
 * exits 1 unless every actor joined, none lost its lease or had it expired, no batch was
 * refused as unregistered and /metrics counts all connected. */
#include "flags.h"
#include "learner_probe.h"
#include "log.h"
#include "sim_actors.h"
#include "status.h"
#include "wire.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TD3D_BINARY
#define TD3D_BINARY "td3d"
#endif

#define FETCHES 256 /* /metrics and /status fetch times kept */

typedef struct opts {
  uint32_t actors, max_actors, threads, io_threads, learner_threads, batch_steps;
  double seconds, rate, join_limit;
  const char *train, *td3d;
  const char *learner_args;     /* more flags for td3d learner, space-separated */
  uint32_t port, status_port;
  uint32_t learner_nofile;      /* the learner's soft descriptor limit (0: the shell's) */
  int check, keep, no_decode, no_weights;
} opts_t;

/* ---------------------------------------------------------------------------------------- */
/* Figures                                                                                  */

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* The median of v[0..n) (sorted in place). */
static double median(double *v, size_t n) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return v[n / 2];
}

static double pct_ms(const uint32_t *v, size_t n, double p) {
  if (!n) return 0;
  return v[(size_t)(p * (double)(n - 1) + 0.5)] / 1000.0;
}

/* What one run saw: the join, then the measured window. */
typedef struct figures {
  uint32_t joined;
  double join_s;                 /* start of the connects to the last first Welcome */
  double connect_p50_s, connect_max_s;  /* start to the first Hello out (connection up) */
  double answer_p50_s, answer_max_s;    /* that Hello to its Welcome */
  uint64_t overflows;            /* listen queue overflows while they joined */
  uint64_t expired;              /* leases the learner ended (its log, the whole run) */
  uint64_t expired_window;       /* of those, while measuring */
  double window_from, window_to; /* the window in UNIX seconds (the log's clock) */
  double window_s;
  uint32_t *rtt_us;              /* heartbeat round trips in the window, sorted */
  double hb_gap_max_s;           /* the simulated actors' longest silence (their own lateness) */
  double hb_gap_all_s;           /* the same over the whole run */
  size_t n_rtt;
  probe_view_t v0, v1;           /* /status at the window's start and end */
  double last_seen_max_s;        /* the largest the learner showed during the window */
  sim_totals_t c0, c1;           /* the simulated actors' counters */
  probe_cpu_t l0, l1, b0, b1;    /* CPU of the learner and of this process */
  double rss_mib;
  int fds;
  double metrics_ms_max, status_ms_max;   /* slowest fetch */
  double metrics_ms[FETCHES], status_ms[FETCHES];  /* each fetch (the first FETCHES) */
  size_t metrics_bytes, status_bytes;
  long connected;                /* td3d_actors_connected */
  uint32_t table_rows, listed;   /* actors in /status's table, and listed there */
  uint32_t n_fetch;              /* fetches of each page */
  double render_metrics_ms, render_status_ms;  /* CPU time of this thread */
  double render_all_ms;          /* /status listing every actor */
  uint32_t render_rows;
  double load;
} figures_t;

/* CPU time of the calling thread: what rendering costs, whatever else runs on the machine. */
static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Render time of /metrics and /status for a snapshot holding n actors (as many as the snapshot
 * type can hold), in this process: the server's cost per new snapshot, without the network. */
static void render_times(uint32_t n, figures_t *f) {
  status_snapshot_t *s = xcalloc(1, sizeof *s);
  uint64_t now = td3_now_ns();
  snprintf(s->run_id, sizeof s->run_id, "0123456789abcdef");
  snprintf(s->env_id, sizeof s->env_id, "Pendulum-v1");
  snprintf(s->config_json, sizeof s->config_json, "{\"env\": \"Pendulum-v1\"}");
  s->taken_ns = s->start_ns = now;
  s->n_actors = n < STATUS_MAX_ACTORS ? n : STATUS_MAX_ACTORS;
  for (uint32_t i = 0; i < s->n_actors; i++) {
    actor_info_t *a = &s->actors[i];
    a->slot = i;
    snprintf(a->name, sizeof a->name, "host-%03u.example/%u", i / 8, i % 8);
    a->role = WIRE_ROLE_ACTOR;
    a->envs = 1;
    a->active = 1;
    a->registered_ns = a->last_seen_ns = now;
    a->env_steps = a->transitions = 100000 + i;
    a->batches = 3000 + i;
    a->policy_version = 400;
  }
  s->weights_version = 401;
  status_buf_t b = {0};
  enum { REPS = 20 };
  uint64_t t0 = thread_cpu_ns();
  for (int r = 0; r < REPS; r++) {
    b.len = 0;
    status_render_metrics(s, now, &b);
  }
  uint64_t t1 = thread_cpu_ns();
  for (int r = 0; r < REPS; r++) {
    b.len = 0;
    status_render_json(s, now, &b);
  }
  uint64_t t2 = thread_cpu_ns();
  for (int r = 0; r < REPS; r++) {
    b.len = 0;
    status_render_json_page(s, now, 0, UINT32_MAX, &b);
  }
  uint64_t t3 = thread_cpu_ns();
  f->render_metrics_ms = (double)(t1 - t0) / 1e6 / REPS;
  f->render_status_ms = (double)(t2 - t1) / 1e6 / REPS;
  f->render_all_ms = (double)(t3 - t2) / 1e6 / REPS;
  f->render_rows = s->n_actors;
  status_buf_free(&b);
  free(s);
}

/* Waits until every actor joined or the join limit passed. */
static void await_join(const opts_t *o, sim_t *s, figures_t *f, uint64_t overflows0) {
  uint64_t limit = (uint64_t)(o->join_limit * 1e9);
  while (atomic_load(&s->joined) < o->actors && td3_now_ns() - s->start_ns < limit)
    td3_sleep_ms(10);
  f->joined = atomic_load(&s->joined);
  uint64_t last = 0;
  for (uint32_t i = 0; i < o->actors; i++)
    if (s->a[i].joined_ns > last) last = s->a[i].joined_ns;
  f->join_s = f->joined ? (double)(last - s->start_ns) / 1e9 : 0;
  double *up = xmalloc(o->actors * sizeof *up), *answer = xmalloc(o->actors * sizeof *up);
  size_t n = 0;
  for (uint32_t i = 0; i < o->actors; i++) {
    const sim_actor_t *a = &s->a[i];
    if (!a->joined_ns || !a->hello_out_ns || a->hello_out_ns > a->joined_ns) continue;
    up[n] = (double)(a->hello_out_ns - s->start_ns) / 1e9;
    answer[n++] = (double)(a->joined_ns - a->hello_out_ns) / 1e9;
  }
  f->connect_p50_s = median(up, n);
  f->answer_p50_s = median(answer, n);
  f->connect_max_s = n ? up[n - 1] : 0;
  f->answer_max_s = n ? answer[n - 1] : 0;
  free(up);
  free(answer);
  f->overflows = probe_listen_overflows() - overflows0;
}

/* The measured window: counters, CPU and /status at both ends; /metrics and /status fetched
 * every second in between (as a scraper and a dashboard would). */
static void measure(const opts_t *o, sim_t *s, pid_t pid, figures_t *f) {
  sim_totals(s, &f->c0);
  probe_cpu(pid, &f->l0);
  probe_cpu(getpid(), &f->b0);
  probe_status(o->status_port, &f->v0, NULL, NULL);
  atomic_store(&s->measuring, 1);
  f->window_from = probe_unix_now();
  uint64_t m0 = td3_now_ns(), end = m0 + (uint64_t)(o->seconds * 1e9);
  for (uint32_t tick = 0; td3_now_ns() < end; tick++) {
    td3_sleep_ms(500);
    if (tick % 2) continue;
    double ms;
    size_t bytes = 0;
    char *m = probe_http_get(o->status_port, "/metrics", &ms, &bytes);
    if (m) {
      if (ms > f->metrics_ms_max) f->metrics_ms_max = ms;
      if (f->n_fetch < FETCHES) f->metrics_ms[f->n_fetch] = ms;
      f->metrics_bytes = bytes;
      f->connected = probe_metrics_connected(m);
      free(m);
    }
    probe_view_t v;
    if (probe_status(o->status_port, &v, &ms, &bytes) == 0) {
      if (ms > f->status_ms_max) f->status_ms_max = ms;
      if (f->n_fetch < FETCHES) f->status_ms[f->n_fetch] = ms;
      f->status_bytes = bytes;
      f->table_rows = v.table_rows;
      f->listed = v.listed;
      if (v.last_seen_max_s > f->last_seen_max_s) f->last_seen_max_s = v.last_seen_max_s;
    }
    f->n_fetch++;
  }
  atomic_store(&s->measuring, 0);
  f->window_to = probe_unix_now();
  f->window_s = (double)(td3_now_ns() - m0) / 1e9;
  sim_totals(s, &f->c1);
  probe_cpu(pid, &f->l1);
  probe_cpu(getpid(), &f->b1);
  probe_status(o->status_port, &f->v1, NULL, NULL);
  f->rss_mib = probe_rss_mib(pid);
  f->fds = probe_fds(pid);
  f->load = probe_load_average();
}

/* Prints "name cpu%/wait%" per thread name over the window, and the same as JSON into json. */
static void print_threads(const char *label, const probe_cpu_t *a, const probe_cpu_t *b,
                          double window, char *json, size_t cap) {
  printf("%s (CPU %% / run-queue wait %%):", label);
  size_t at = 0;
  for (uint32_t k = 0; k < b->n; k++) {
    double s0 = 0, w0 = 0;
    for (uint32_t j = 0; j < a->n; j++)
      if (!strcmp(a->name[j], b->name[k])) s0 = a->s[j], w0 = a->wait_s[j];
    double cpu = 100 * (b->s[k] - s0) / window, wait = 100 * (b->wait_s[k] - w0) / window;
    printf(" %s %.1f/%.1f", b->name[k], cpu, wait);
    if (json && at < cap)
      at += (size_t)snprintf(json + at, cap - at, "%s\"%s\": [%.1f, %.1f]", at ? ", " : "",
                             b->name[k], cpu, wait);
  }
  printf("\n");
}

/* Prints the figures (the last line one JSON object); returns 1 if every actor joined and
 * none lost its lease. */
static int report(const opts_t *o, figures_t *f) {
  const sim_totals_t *c0 = &f->c0, *c1 = &f->c1;
  double wall = f->v1.wall_s - f->v0.wall_s, w = f->window_s;
  double ins = wall > 0 ? (double)(f->v1.inserted - f->v0.inserted) / wall : 0;
  double upd = wall > 0 ? (double)(f->v1.updates - f->v0.updates) / wall : 0;
  double sent = (double)(c1->transitions - c0->transitions) / w;
  double weights = (double)(c1->weights - c0->weights) / w;
  uint64_t lost = c1->unknown_slot + c1->timeouts;  /* the whole run */
  uint64_t lost_window = lost - c0->unknown_slot - c0->timeouts;
  uint64_t blocked = c1->send_eagain - c0->send_eagain, paced = c1->paced - c0->paced;
  double main_cpu = (f->l1.main_s - f->l0.main_s) / w;
  double total_cpu = (f->l1.total_s - f->l0.total_s) / w;
  double main_wait = (f->l1.main_wait_s - f->l0.main_wait_s) / w;
  double p50 = pct_ms(f->rtt_us, f->n_rtt, 0.5), p99 = pct_ms(f->rtt_us, f->n_rtt, 0.99);
  double pmax = pct_ms(f->rtt_us, f->n_rtt, 1.0);
  char threads[1024] = "";
  printf("actors %u (max %u), train %s, batch %u, offered %.0f transitions/s each, %.1f s "
         "measured, load average %.1f\n", o->actors, o->max_actors, o->train, o->batch_steps,
         o->rate, w, f->load);
  printf("joined: %u of %u in %.2f s (%llu connections refused by a full listen queue); "
         "control connection up after %.2f s median, %.2f s at most; Welcome %.2f s median, "
         "%.2f s at most after the first Hello out (Hellos are retried 0.25, 0.5, 1, 2, 4 s "
         "apart until the connection is up)\n", f->joined, o->actors, f->join_s,
         (unsigned long long)f->overflows, f->connect_p50_s, f->connect_max_s, f->answer_p50_s,
         f->answer_max_s);
  printf("heartbeat round trip: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu answers); the "
         "learner's oldest last-seen %.2f s; longest between an actor's heartbeats %.2f s "
         "(%.2f s in the whole run)\n", p50, p99, pmax, f->n_rtt, f->last_seen_max_s,
         f->hb_gap_max_s, f->hb_gap_all_s);
  printf("transitions: sent %.0f /s, inserted %.0f /s; updates %.0f /s; sends blocked %llu "
         "times, paced %llu times\n", sent, ins, upd, (unsigned long long)blocked,
         (unsigned long long)paced);
  printf("refused: %llu (%s); over budget %llu; full %llu\n", (unsigned long long)f->v1.rejected,
         f->v1.rejected_text[0] ? f->v1.rejected_text : "none",
         (unsigned long long)f->v1.over_budget, (unsigned long long)c1->reject_full);
  printf("leases lost: %llu while measuring, %llu in the whole run (Reject UNKNOWN_SLOT %llu, "
         "no answer for 5 s %llu); the learner expired %llu while measuring, %llu in the whole "
         "run\n", (unsigned long long)lost_window, (unsigned long long)lost,
         (unsigned long long)c1->unknown_slot, (unsigned long long)c1->timeouts,
         (unsigned long long)f->expired_window, (unsigned long long)f->expired);
  double bcast = wall > 0 ? (double)(f->v1.broadcasts - f->v0.broadcasts) / wall : 0;
  double fanout_mb = bcast * (double)f->v1.subscribers * (double)c1->weights_bytes / 1e6;
  printf("weights: the learner broadcast %.2f /s to %llu subscribers (%.0f KB each: %.0f MB/s); "
         "the actors received %.0f /s (%llu refused)\n", bcast,
         (unsigned long long)f->v1.subscribers, (double)c1->weights_bytes / 1e3, fanout_mb,
         weights, (unsigned long long)c1->weights_bad);
  printf("learner: main thread %.1f%% CPU (%.1f%% waiting for one), total %.1f%%; RSS %.1f "
         "MiB; %d descriptors\n", 100 * main_cpu, 100 * main_wait, 100 * total_cpu, f->rss_mib,
         f->fds);
  print_threads("learner threads", &f->l0, &f->l1, w, threads, sizeof threads);
  print_threads("bench threads", &f->b0, &f->b1, w, NULL, 0);
  size_t nf = f->n_fetch < FETCHES ? f->n_fetch : FETCHES;
  double m50 = median(f->metrics_ms, nf), s50 = median(f->status_ms, nf);
  printf("/metrics: %zu bytes, fetch median %.1f ms, slowest %.1f ms, actors connected %ld; "
         "/status: %zu bytes, fetch median %.1f ms, slowest %.1f ms, %u actors in its table, %u "
         "listed (%u fetches each)\n", f->metrics_bytes, m50, f->metrics_ms_max, f->connected,
         f->status_bytes, s50, f->status_ms_max, f->table_rows, f->listed, f->n_fetch);
  printf("render in this process, %u actors: /metrics %.2f ms, /status %.2f ms (%.2f ms listing "
         "all) of CPU\n", f->render_rows, f->render_metrics_ms, f->render_status_ms,
         f->render_all_ms);
  /* all joined, and none lost its lease: no actor had to say Hello again, the learner refused
   * no batch as unregistered, and it counts every one connected */
  int ok = f->joined == o->actors && lost == 0 && f->expired == 0 && c1->reject_fatal == 0 &&
           f->v1.unregistered == 0 && f->connected == (long)o->actors;
  /* the JSON line, group by group */
  printf("{\"actors\": %u, \"max_actors\": %u, \"train\": \"%s\", \"batch_steps\": %u, "
         "\"rate_per_actor\": %.0f, \"seconds\": %.1f, \"load_average\": %.1f, ",
         o->actors, o->max_actors, o->train, o->batch_steps, o->rate, w, f->load);
  printf("\"joined\": %u, \"join_seconds\": %.3f, \"listen_overflows\": %llu, "
         "\"connect_s\": {\"p50\": %.3f, \"max\": %.3f}, \"welcome_s\": {\"p50\": %.3f, "
         "\"max\": %.3f}, ", f->joined, f->join_s, (unsigned long long)f->overflows,
         f->connect_p50_s, f->connect_max_s, f->answer_p50_s, f->answer_max_s);
  printf("\"heartbeat_rtt_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f, \"n\": %zu}, "
         "\"learner_last_seen_max_s\": %.3f, \"heartbeat_gap_max_s\": %.3f, "
         "\"heartbeat_gap_all_s\": %.3f, ", p50, p99, pmax, f->n_rtt, f->last_seen_max_s,
         f->hb_gap_max_s, f->hb_gap_all_s);
  printf("\"sent_per_s\": %.0f, \"inserted_per_s\": %.0f, \"updates_per_s\": %.1f, "
         "\"sends_blocked\": %llu, \"paced\": %llu, \"weights_per_s\": %.0f, "
         "\"broadcasts_per_s\": %.2f, \"weights_mb_per_s\": %.1f, ", sent, ins, upd,
         (unsigned long long)blocked, (unsigned long long)paced, weights, bcast, fanout_mb);
  printf("\"rejected\": {%s}, \"over_budget\": %llu, \"leases_lost_window\": %llu, "
         "\"leases_lost\": %llu, \"unknown_slot\": %llu, \"no_answer\": %llu, "
         "\"expired_window\": %llu, \"expired\": %llu, \"reject_full\": %llu, ",
         f->v1.rejected_text, (unsigned long long)f->v1.over_budget,
         (unsigned long long)lost_window, (unsigned long long)lost,
         (unsigned long long)c1->unknown_slot, (unsigned long long)c1->timeouts,
         (unsigned long long)f->expired_window, (unsigned long long)f->expired,
         (unsigned long long)c1->reject_full);
  printf("\"learner\": {\"main_cpu\": %.3f, \"main_wait\": %.3f, \"total_cpu\": %.3f, "
         "\"rss_mib\": %.1f, \"fds\": %d, \"threads\": {%s}}, ", main_cpu, main_wait,
         total_cpu, f->rss_mib, f->fds, threads);
  printf("\"metrics\": {\"bytes\": %zu, \"fetch_ms_p50\": %.2f, \"fetch_ms_max\": %.2f, "
         "\"render_cpu_ms\": %.3f, \"connected\": %ld}, ", f->metrics_bytes, m50,
         f->metrics_ms_max, f->render_metrics_ms, f->connected);
  printf("\"status\": {\"bytes\": %zu, \"fetch_ms_p50\": %.2f, \"fetch_ms_max\": %.2f, "
         "\"render_cpu_ms\": %.3f, \"render_all_cpu_ms\": %.3f, \"actor_rows\": %u, "
         "\"listed\": %u}, \"ok\": %s}\n", f->status_bytes, s50, f->status_ms_max,
         f->render_status_ms, f->render_all_ms, f->table_rows, f->listed, ok ? "true" : "false");
  return ok;
}

/* ---------------------------------------------------------------------------------------- */
/* main                                                                                     */

/* Starts `td3d learner` for the run: Pendulum-v1 on the bench's ports, nothing written but a
 * final small checkpoint, training off unless asked, the --learner-args after the bench's own. */
static pid_t start_learner(const opts_t *o, const char *dir, const char *log_path,
                           rlim_t shell_nofile) {
  char a[24][64];
  int n = 0;
#define ARG(...) snprintf(a[n++], sizeof a[0], __VA_ARGS__)
  ARG("%s", "learner");
  ARG("--env=Pendulum-v1");
  ARG("--bind=127.0.0.1");
  ARG("--experience-port=%u", o->port);
  ARG("--weights-port=%u", o->port + 1);
  ARG("--control-port=%u", o->port + 2);
  ARG("--status-bind=127.0.0.1:%u", o->status_port);
  ARG("--max-actors=%u", o->max_actors);
  ARG("--batch-steps=%u", o->batch_steps);
  ARG("--threads=%u", o->learner_threads);
  ARG("--steps=1000000000000");
  ARG("--checkpoint-every=0");
  ARG("--checkpoint-replay=0");
  ARG("--overwrite");
  ARG("--quiet");
  ARG("--out=%s/run", dir);
  /* training off: the random-action phase never ends, so the rate limiter owes no update
   * and admits every batch (--replay-ratio must be positive) */
  if (!strcmp(o->train, "off")) ARG("--start-steps=1000000000000");
#undef ARG
  char *argv[48], *extra = xstrdup(o->learner_args ? o->learner_args : ""), *save = NULL;
  argv[0] = (char *)o->td3d;
  for (int i = 0; i < n; i++) argv[i + 1] = a[i];
  int argc = n + 1;
  for (char *t = strtok_r(extra, " ", &save); t && argc < 47; t = strtok_r(NULL, " ", &save))
    argv[argc++] = t;
  argv[argc] = NULL;
  /* the learner gets the descriptor limit a shell gives it, not this bench's raised one */
  rlim_t nofile = o->learner_nofile ? o->learner_nofile : shell_nofile;
  pid_t pid = probe_learner_start(argv, log_path, nofile);
  free(extra);
  return pid;
}

/* Raises this process's soft descriptor limit to what n actors need (three TCP connections
 * and three ZeroMQ mailboxes each). Returns the limit it found (the one a shell gives the
 * learner), or 0 with a message when the hard limit is too low. */
static rlim_t raise_nofile(uint32_t n) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t shell = rl.rlim_cur, need = (rlim_t)n * 6 + 256;
  if (rl.rlim_cur >= need) return shell;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
    fprintf(stderr, "bench_actors: %u actors need %llu descriptors; the hard limit is %llu "
                    "(raise it: ulimit -Hn, limits.conf)\n",
            n, (unsigned long long)need, (unsigned long long)rl.rlim_max);
    return 0;
  }
  rl.rlim_cur = need;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    fprintf(stderr, "bench_actors: setrlimit(RLIMIT_NOFILE, %llu): %s\n",
            (unsigned long long)need, strerror(errno));
    return 0;
  }
  return shell;
}

/* Parses the flags into o (its defaults set by the caller). Returns -1 to go on, else the exit
 * status to end with now (0 after --help; 2 after a bad flag, said on stderr). */
static int parse_args(int argc, char **argv, opts_t *o) {
  const flag_spec_t specs[] = {
      {"actors", FLAG_U32, &o->actors, "N", "simulated actors; default 64", 1, WIRE_MAX_SLOTS, NULL, NULL, NULL},
      {"seconds", FLAG_DOUBLE, &o->seconds, "S", "measured seconds once all joined; default 20", 1, 86400, NULL, NULL, NULL},
      {"rate", FLAG_DOUBLE, &o->rate, "R", "transitions/s each actor offers (0: heartbeats only); default 200", 0, 1e7, NULL, NULL, NULL},
      {"batch-steps", FLAG_U32, &o->batch_steps, "N", "transitions per ExperienceBatch (the learner's --batch-steps); default 32", 1, 65536, NULL, NULL, NULL},
      {"train", FLAG_STRING, &o->train, "on|off", "the learner trains (ratio 1 after its start steps) or only ingests; default off", 0, 0, NULL, NULL, NULL},
      {"max-actors", FLAG_U32, &o->max_actors, "N", "the learner's --max-actors; default the larger of 64 and --actors", 0, WIRE_MAX_SLOTS, NULL, NULL, NULL},
      {"threads", FLAG_U32, &o->threads, "N", "threads serving the simulated actors; default 2", 1, 64, NULL, NULL, NULL},
      {"io-threads", FLAG_U32, &o->io_threads, "N", "ZeroMQ I/O threads of the actors' control and experience sockets, and as many for their weights sockets; default 1", 1, 16, NULL, NULL, NULL},
      {"learner-threads", FLAG_U32, &o->learner_threads, "N", "the learner's --threads (training); default 1", 1, 64, NULL, NULL, NULL},
      {"learner-nofile", FLAG_U32, &o->learner_nofile, "N", "the learner's soft descriptor limit; default the one this shell gives", 0, 1e7, NULL, NULL, NULL},
      {"join-limit", FLAG_DOUBLE, &o->join_limit, "S", "seconds to wait for all to join; default 30", 1, 3600, NULL, NULL, NULL},
      {"port", FLAG_U32, &o->port, "PORT", "learner experience port (+1 weights, +2 control); default 7755", 1, 65533, NULL, NULL, NULL},
      {"status-port", FLAG_U32, &o->status_port, "PORT", "learner status port; default 7758", 1, 65535, NULL, NULL, NULL},
      {"learner-args", FLAG_STRING, &o->learner_args, "FLAGS", "more flags for td3d learner, space-separated (e.g. \"--weights-budget=50\")", 0, 0, NULL, NULL, NULL},
      {"td3d", FLAG_STRING, &o->td3d, "PATH", "the td3d binary; default the build's", 0, 0, NULL, NULL, NULL},
      {"no-weights", FLAG_BOOL, &o->no_weights, NULL, "open no weights socket (to tell the weights' cost apart)", 0, 0, NULL, NULL, NULL},
      {"no-decode", FLAG_BOOL, &o->no_decode, NULL, "count received Weights without decoding them", 0, 0, NULL, NULL, NULL},
      {"check", FLAG_BOOL, &o->check, NULL, "exit 1 unless every actor joined, none lost its lease, none was refused as unregistered and /metrics counts all connected", 0, 0, NULL, NULL, NULL},
      {"keep", FLAG_BOOL, &o->keep, NULL, "keep the learner's run directory and log", 0, 0, NULL, NULL, NULL},
  };
  const flag_program_t prog = {
      "bench_actors [options]",
      "Starts `td3d learner` (Pendulum-v1) on loopback and N simulated actors in this process\n"
      "(own DEALER, PUSH and weights DEALER sockets each; Hello, heartbeats every 200 ms, batches at\n"
      "--rate, weights received), then measures join time, heartbeat round trips, ingest,\n"
      "refusals, lost leases, the learner's CPU, memory and descriptors, and /status and\n"
      "/metrics with N actors. The last line is one JSON object.",
      NULL};
  td3_err_t err = {0};
  int rc =
      flags_parse(specs, sizeof specs / sizeof specs[0], &prog, argc, argv, NULL, 0, NULL, &err);
  if (rc == 1) return 0;
  if (rc < 0) {
    fprintf(stderr, "bench_actors: %s\n", err.msg);
    return 2;
  }
  if (strcmp(o->train, "on") && strcmp(o->train, "off")) {
    fprintf(stderr, "bench_actors: --train takes on or off\n");
    return 2;
  }
  return -1;
}

/* Waits up to 30 s for the learner (*pid) to answer on its status port. Returns 0, or -1
 * (said on stderr; o->keep set, so its log stays) when it exited first (then *pid = 0:
 * reaped) or did not answer in time. */
static int learner_wait(opts_t *o, pid_t *pid, const char *log_path) {
  probe_view_t up;
  uint64_t t_wait = td3_now_ns();
  while (probe_status(o->status_port, &up, NULL, NULL) != 0) {
    int st, exited = waitpid(*pid, &st, WNOHANG) == *pid;
    if (exited || td3_now_ns() - t_wait > 30000000000ULL) {
      fprintf(stderr, "bench_actors: the learner did not come up (see %s)\n", log_path);
      if (exited) *pid = 0; /* reaped */
      o->keep = 1;
      return -1;
    }
    td3_sleep_ms(50);
  }
  return 0;
}

int main(int argc, char **argv) {
  opts_t o = {.actors = 64, .seconds = 20, .rate = 200, .threads = 2, .io_threads = 1,
              .learner_threads = 1, .batch_steps = 32, .join_limit = 30, .train = "off",
              .td3d = TD3D_BINARY, .port = 7755, .status_port = 7758};
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  td3_err_t err = {0};
  if (!o.max_actors) o.max_actors = o.actors > 64 ? o.actors : 64;
  log_set_level(LOG_WARN);
  signal(SIGPIPE, SIG_IGN);
  rlim_t shell_nofile = raise_nofile(o.actors);
  if (!shell_nofile) return 2;
  char dir[] = "/tmp/bench_actors.XXXXXX";
  if (!mkdtemp(dir)) {
    fprintf(stderr, "bench_actors: mkdtemp: %s\n", strerror(errno));
    return 2;
  }

  int ok = 0, status = 2;
  sim_t s = {0};
  const sim_config_t sc = {.actors = o.actors, .threads = o.threads, .io_threads = o.io_threads,
                           .batch_steps = o.batch_steps, .rate = o.rate, .port = o.port,
                           .no_weights = o.no_weights, .no_decode = o.no_decode};
  char log_path[512];
  snprintf(log_path, sizeof log_path, "%s/learner.log", dir);
  figures_t f = {.connected = -1};
  pid_t pid = start_learner(&o, dir, log_path, shell_nofile);
  if (pid < 0) {
    fprintf(stderr, "bench_actors: fork: %s\n", strerror(errno));
    goto out;
  }
  if (learner_wait(&o, &pid, log_path) != 0) goto out;
  uint64_t overflows0 = probe_listen_overflows();
  if (sim_open(&s, &sc, &err) != 0) {
    fprintf(stderr, "bench_actors: %s\n", err.msg);
    goto out;
  }
  sim_start(&s);
  await_join(&o, &s, &f, overflows0);
  fflush(stdout);
  td3_sleep_ms(2000); /* past the join's burst */
  measure(&o, &s, pid, &f);
  render_times(o.actors, &f);
  sim_stop(&s);
  f.rtt_us = sim_rtt(&s, &f.n_rtt, &f.hb_gap_max_s, &f.hb_gap_all_s);
  /* the learner first: its log is complete, and the side that closes first keeps the
   * connections in TIME_WAIT, on its fixed ports rather than on thousands of ephemeral ones
   * (where other programs' fixed ports may lie) */
  probe_learner_stop(pid);
  pid = 0;
  sim_close(&s);
  f.expired = probe_learner_expired(log_path, f.window_from, f.window_to, &f.expired_window);
  ok = report(&o, &f);
  status = o.check && !ok ? 1 : 0;
  free(f.rtt_us);

out:
  sim_stop(&s);
  sim_close(&s);
  if (pid > 0) probe_learner_stop(pid);
  if (o.keep) printf("kept %s (learner.log, run/)\n", dir);
  else probe_remove_dir(dir);
  return status;
}
