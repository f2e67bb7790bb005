/* bench_actors: does one learner hold 1000 actors?
 *
 * Starts `td3d learner` (Pendulum-v1) as a child process on loopback ports of its own, then
 * simulates N actors in this process. Each has its own control DEALER, experience PUSH and
 * weights SUB socket with the options of actor/actor.c, says Hello under a unique name (with
 * the real actor's back-off), heartbeats every 200 ms, sends Pendulum ExperienceBatches (obs 3,
 * act 1; the Welcome's batch_steps rows of real Pendulum transitions under random actions)
 * at --rate transitions/s carrying its Welcome's lease, paces itself as a real actor does,
 * says Hello again after a Reject(UNKNOWN_SLOT) or 5 s without an answer, and decodes the
 * Weights it receives. A few threads serve all actors, each waiting in epoll on its sockets'
 * ZMQ_FDs (libzmq 4.3's zmq_poll is O(sockets) per call; its poller API is a draft).
 *
 * Figures: time for all N to join; heartbeat round trip seen by the actors (p50, p99, max);
 * the oldest "last seen" the learner shows on /status; transitions/s inserted (the learner's
 * /status counters over the measured window); refused and over-budget counts; leases lost
 * although nothing failed (Reject UNKNOWN_SLOT, or 5 s without an answer: must be 0); the
 * learner's CPU (main thread, total, per thread name), RSS and open descriptors from /proc;
 * /status and /metrics fetch time and size with N actors, and their render time for a
 * snapshot of N actors in this process. The last line is one JSON object. --check exits 1
 * unless every actor joined and none lost its lease. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "flags.h"
#include "log.h"
#include "rng.h"
#include "env.h"
#include "status.h"
#include "wire.h"
#include "xalloc.h"
#include "zsock.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#ifndef TD3D_BINARY
#define TD3D_BINARY "td3d"
#endif

#define HEARTBEAT_NS 200000000ULL        /* actor.c's heartbeat_ms */
#define LEARNER_TIMEOUT_NS 5000000000ULL /* actor.c's learner_timeout_ms */
#define TICK_NS 10000000ULL               /* the simulated actors' timer resolution */
#define HB_RING 16                       /* heartbeats in flight per actor */
#define POOL_ROWS 4000                   /* real Pendulum transitions each worker sends from */
#define EP_LEN 200                       /* Pendulum's time limit */
#define FETCHES 256                      /* /metrics and /status fetch times kept */

typedef struct opts {
  uint32_t actors, max_actors, threads, io_threads, learner_threads, batch_steps;
  double seconds, rate, join_limit;
  const char *train, *td3d;
  const char *learner_args;      /* more flags for td3d learner, space-separated */
  uint32_t port, status_port;
  uint32_t learner_nofile;  /* the learner's soft descriptor limit (0: the shell's) */
  int check, keep, no_decode, no_weights;
} opts_t;

typedef struct sim_actor {
  uint32_t index;
  void *dealer, *sub, *push;
  int registered, dead;
  wire_welcome_t welcome;
  uint64_t joined_ns;            /* first Welcome (0: never) */
  uint64_t hello_out_ns;         /* the first Hello ZeroMQ took (the control connection was up) */
  uint64_t hello_ns, backoff_ms, last_hb_ns, last_ack_ns, next_send_ns, blocked_since_ns;
  uint64_t hb_sent[HB_RING];     /* send times of unanswered heartbeats, a FIFO */
  uint32_t hb_head, hb_n;
  uint64_t seq, session_sent, session_accepted, accepted_changed_ns;
  uint64_t run_env_steps, run_updates, version;
  uint32_t pool_at;              /* next pool row to send */
} sim_actor_t;

typedef struct counters {
  _Atomic uint64_t hellos, welcomes, reject_full, reject_fatal, unknown_slot, timeouts;
  _Atomic uint64_t hb_sent, hb_answered, batches, transitions, send_eagain, paced;
  _Atomic uint64_t weights, weights_bad, control_bad, blocked_ns;
  _Atomic uint64_t weights_bytes;  /* the largest Weights frame */
} counters_t;

typedef struct sim sim_t;

typedef struct worker {
  sim_t *sim;
  pthread_t thread;
  uint32_t first;                /* actors first, first + step, ... */
  int epfd;
  wire_buf_t buf, cbuf;
  float *obs, *act, *rew, *next, *term;  /* one batch being built */
  wire_episode_t *eps;
  counters_t c;
  uint64_t hb_gap_max_ns;        /* longest between two heartbeats of one actor while measuring
                                    (this process late: a starved machine, not the learner) */
  uint32_t *rtt_us;              /* heartbeat round trips while measuring */
  size_t n_rtt, cap_rtt;
} worker_t;

struct sim {
  const opts_t *o;
  void *zctx;                    /* control and experience sockets */
  void *wctx;                    /* weights sockets: I/O threads of their own, as in separate
                                    actor processes (a weights backlog does not hold up the
                                    control path) */
  sim_actor_t *a;
  worker_t *w;
  uint32_t step;                 /* = threads */
  uint32_t batch_steps;          /* from the first Welcome, else the flag */
  /* the pool: consecutive Pendulum steps under uniform random actions, episodes of 200 */
  float *p_obs, *p_act, *p_rew, *p_next;
  float p_ep_return[POOL_ROWS / EP_LEN];
  _Atomic int stop, measuring;
  _Atomic uint32_t joined;
  uint64_t start_ns;
};

/* ---------------------------------------------------------------------------------------- */
/* The simulated actors                                                                     */

/* 0 when ZeroMQ took the message (with ZMQ_IMMEDIATE: the connection is up), else -1. */
static int send_control(worker_t *w, sim_actor_t *a, const wire_control_t *m) {
  if (wire_control_encode(m, &w->cbuf) != 0) return -1;
  return zmq_send(a->dealer, w->cbuf.data, w->cbuf.len, ZMQ_DONTWAIT) >= 0 ? 0 : -1;
}

static void send_hello(worker_t *w, sim_actor_t *a, uint64_t now) {
  static const float low[1] = {-2.0f}, high[1] = {2.0f};
  wire_control_t m = {.type = WIRE_MSG_HELLO};
  wire_hello_t *h = &m.u.hello;
  snprintf(h->actor_name, sizeof h->actor_name, "sim-%d/%u", (int)getpid(), a->index);
  snprintf(h->env_id, sizeof h->env_id, "Pendulum-v1");
  h->role = WIRE_ROLE_ACTOR;
  h->obs_dim = 3;
  h->act_dim = 1;
  h->action_low = low;
  h->action_high = high;
  h->envs = 1;
  if (send_control(w, a, &m) == 0 && !a->hello_out_ns) a->hello_out_ns = now;
  atomic_fetch_add(&w->c.hellos, 1);
  a->hello_ns = now;
}

static void send_heartbeat(worker_t *w, sim_actor_t *a, uint64_t now) {
  wire_control_t m = {.type = WIRE_MSG_HEARTBEAT};
  m.u.heartbeat = (wire_heartbeat_t){.run_id = a->welcome.run_id, .slot = a->welcome.slot,
                                     .env_steps = a->session_sent, .policy_version = a->version};
  send_control(w, a, &m);
  if (atomic_load_explicit(&w->sim->measuring, memory_order_relaxed) &&
      now - a->last_hb_ns > w->hb_gap_max_ns)
    w->hb_gap_max_ns = now - a->last_hb_ns;
  if (a->hb_n == HB_RING) { /* the oldest went unanswered: forget it */
    a->hb_head = (a->hb_head + 1) % HB_RING;
    a->hb_n--;
  }
  a->hb_sent[(a->hb_head + a->hb_n++) % HB_RING] = now;
  a->last_hb_ns = now;
  atomic_fetch_add(&w->c.hb_sent, 1);
}

static void note_rtt(worker_t *w, sim_actor_t *a, uint64_t now) {
  if (!a->hb_n) return;
  uint64_t sent = a->hb_sent[a->hb_head];
  a->hb_head = (a->hb_head + 1) % HB_RING;
  a->hb_n--;
  if (!atomic_load_explicit(&w->sim->measuring, memory_order_relaxed)) return;
  if (w->n_rtt == w->cap_rtt) {
    w->cap_rtt = w->cap_rtt ? 2 * w->cap_rtt : 4096;
    w->rtt_us = xrealloc(w->rtt_us, w->cap_rtt * sizeof *w->rtt_us);
  }
  w->rtt_us[w->n_rtt++] = (uint32_t)((now - sent) / 1000);
}

static void on_welcome(worker_t *w, sim_actor_t *a, const wire_welcome_t *wel, uint64_t now) {
  sim_t *s = w->sim;
  if (!(a->registered || a->joined_ns) || wel->run_id != a->welcome.run_id ||
      wel->slot != a->welcome.slot)
    a->seq = 0;
  a->welcome = *wel;
  a->registered = 1;
  a->run_env_steps = a->run_updates = 0;
  a->session_sent = a->session_accepted = 0;
  a->accepted_changed_ns = a->last_ack_ns = a->last_hb_ns = now;
  a->hb_n = 0;
  a->backoff_ms = 250;
  a->blocked_since_ns = 0;
  uint32_t bs = wel->batch_steps ? wel->batch_steps : 1;
  if (bs > s->batch_steps) bs = s->batch_steps; /* the buffers' size; the flag told the learner */
  uint64_t interval = s->o->rate > 0 ? (uint64_t)(bs * 1e9 / s->o->rate) : 0;
  a->next_send_ns = now + (interval ? (uint64_t)a->index * 7919u * 1000003u % interval : 0);
  atomic_fetch_add(&w->c.welcomes, 1);
  if (!a->joined_ns) {
    a->joined_ns = now;
    atomic_fetch_add(&s->joined, 1);
  }
}

/* Reads every pending control message of a (after a wake-up, a send or a sweep). */
static void drain_control(worker_t *w, sim_actor_t *a) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (zmq_msg_recv(&msg, a->dealer, ZMQ_DONTWAIT) >= 0) {
    uint64_t now = td3_now_ns();
    wire_control_t m;
    wire_limits_t lim = {.max_frame = 1 << 20};
    if (wire_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &lim, &m) != WIRE_OK) {
      atomic_fetch_add(&w->c.control_bad, 1);
      continue;
    }
    switch (m.type) {
    case WIRE_MSG_WELCOME: on_welcome(w, a, &m.u.welcome, now); break;
    case WIRE_MSG_HEARTBEAT:
      if (a->registered && m.u.heartbeat.run_id == a->welcome.run_id) {
        note_rtt(w, a, now);
        atomic_fetch_add(&w->c.hb_answered, 1);
        a->last_ack_ns = now;
        if (m.u.heartbeat.accepted != a->session_accepted) {
          a->session_accepted = m.u.heartbeat.accepted;
          a->accepted_changed_ns = now;
        }
        if (m.u.heartbeat.env_steps > a->run_env_steps) a->run_env_steps = m.u.heartbeat.env_steps;
      }
      break;
    case WIRE_MSG_REJECT:
      if (m.u.reject.reason == WIRE_REJECT_UNKNOWN_SLOT) { /* a lost lease: Hello again */
        note_rtt(w, a, now);
        atomic_fetch_add(&w->c.unknown_slot, 1);
        a->registered = 0;
      } else if (m.u.reject.reason == WIRE_REJECT_FULL) {
        atomic_fetch_add(&w->c.reject_full, 1);
      } else {
        atomic_fetch_add(&w->c.reject_fatal, 1); /* a real actor would exit */
        a->dead = 1;
      }
      break;
    default: break;
    }
    wire_control_release(&m);
  }
  zmq_msg_close(&msg);
}

static void drain_weights(worker_t *w, sim_actor_t *a) {
  if (!a->sub) return;
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (zmq_msg_recv(&msg, a->sub, ZMQ_DONTWAIT) >= 0) {
    atomic_fetch_add(&w->c.weights, 1);
    if (zmq_msg_size(&msg) > atomic_load(&w->c.weights_bytes))
      atomic_store(&w->c.weights_bytes, zmq_msg_size(&msg));
    if (!a->registered || w->sim->o->no_decode) continue;
    wire_weights_t wt;
    wire_limits_t lim = {.run_id = a->welcome.run_id, .obs_dim = 3, .act_dim = 1};
    wire_reason_t r = wire_weights_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &lim, &wt);
    if (r != WIRE_OK) {
      atomic_fetch_add(&w->c.weights_bad, 1);
      continue;
    }
    a->version = wt.version;
    if (wt.env_steps > a->run_env_steps) a->run_env_steps = wt.env_steps;
    if (wt.updates > a->run_updates) a->run_updates = wt.updates;
    wire_weights_release(&wt);
  }
  zmq_msg_close(&msg);
}

/* actor.c's should_pace: at most half of max_lead of this actor's transitions unconfirmed, and
 * the data at most that far ahead of training as the latest Weights tell. */
static int should_pace(sim_actor_t *a, uint32_t bs, uint64_t now) {
  const wire_welcome_t *wel = &a->welcome;
  if (!(wel->replay_ratio > 0)) return 0;
  double window = 0.5 * (double)wel->max_lead;
  if (window < 2.0 * bs) window = 2.0 * bs;
  if (a->session_sent > a->session_accepted &&
      (double)(a->session_sent - a->session_accepted) >= window) {
    if (now - a->accepted_changed_ns > 10 * LEARNER_TIMEOUT_NS) {
      a->session_sent = a->session_accepted;
      return 0;
    }
    return 1;
  }
  if (a->version == 0) return 0;
  double past =
      a->run_env_steps > wel->start_steps ? (double)(a->run_env_steps - wel->start_steps) : 0;
  return past - (double)a->run_updates / wel->replay_ratio > window;
}

/* Builds the next batch from the pool and sends it; on back-pressure (EAGAIN) it is sent again
 * (same seq) on a later tick, as a blocked real actor would. */
static void send_batch(worker_t *w, sim_actor_t *a, uint32_t n, uint64_t now) {
  sim_t *s = w->sim;
  uint32_t n_eps = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t r = (a->pool_at + i) % POOL_ROWS;
    memcpy(w->obs + 3 * i, s->p_obs + 3 * r, 3 * sizeof(float));
    memcpy(w->next + 3 * i, s->p_next + 3 * r, 3 * sizeof(float));
    w->act[i] = s->p_act[r];
    w->rew[i] = s->p_rew[r];
    w->term[i] = 0.0f; /* Pendulum only truncates */
    if (r % EP_LEN == EP_LEN - 1)
      w->eps[n_eps++] = (wire_episode_t){s->p_ep_return[r / EP_LEN], EP_LEN};
  }
  wire_batch_t b = {.run_id = a->welcome.run_id, .slot = a->welcome.slot,
                    .lease = a->welcome.lease, .seq = a->seq, .policy_version = a->version,
                    .n = n, .obs_dim = 3, .act_dim = 1, .obs = w->obs, .action = w->act,
                    .reward = w->rew, .next_obs = w->next, .terminal = w->term,
                    .n_episodes = n_eps, .episodes = w->eps};
  if (wire_batch_encode(&b, &w->buf) != 0) return;
  if (zmq_send(a->push, w->buf.data, w->buf.len, ZMQ_DONTWAIT) < 0) {
    atomic_fetch_add(&w->c.send_eagain, 1);
    if (!a->blocked_since_ns) a->blocked_since_ns = now;
    return;
  }
  if (a->blocked_since_ns) {
    atomic_fetch_add(&w->c.blocked_ns, now - a->blocked_since_ns);
    a->blocked_since_ns = 0;
  }
  a->seq++;
  a->pool_at = (a->pool_at + n) % POOL_ROWS;
  a->session_sent += n;
  atomic_fetch_add(&w->c.batches, 1);
  atomic_fetch_add(&w->c.transitions, n);
  uint64_t interval = (uint64_t)(n * 1e9 / s->o->rate);
  a->next_send_ns += interval;
  if (a->next_send_ns + 1000000000ULL < now) a->next_send_ns = now; /* no catch-up burst */
}

/* What a real actor's loop does between waits: Hello (with back-off) until welcomed, then
 * heartbeats, the learner timeout and the next batch when it is due. */
static void actor_tick(worker_t *w, sim_actor_t *a, uint64_t now) {
  if (a->dead) return;
  if (!a->registered) {
    if (now - a->hello_ns > a->backoff_ms * 1000000ULL) {
      send_hello(w, a, now);
      a->backoff_ms = a->backoff_ms * 2 > 4000 ? 4000 : a->backoff_ms * 2;
      drain_control(w, a);
    }
    return;
  }
  if (now - a->last_ack_ns > LEARNER_TIMEOUT_NS) {
    atomic_fetch_add(&w->c.timeouts, 1);
    a->registered = 0;
    a->backoff_ms = 250;
    return;
  }
  if (now - a->last_hb_ns > HEARTBEAT_NS) {
    send_heartbeat(w, a, now);
    drain_control(w, a);
  }
  const sim_t *s = w->sim;
  if (s->o->rate > 0 && now >= a->next_send_ns) {
    uint32_t n = a->welcome.batch_steps < s->batch_steps ? a->welcome.batch_steps : s->batch_steps;
    if (should_pace(a, n, now)) {
      atomic_fetch_add(&w->c.paced, 1);
      a->next_send_ns = now + 5000000ULL; /* actor.c polls 5 ms while it paces */
    } else {
      send_batch(w, a, n, now);
    }
  }
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  sim_t *s = w->sim;
  prctl(PR_SET_NAME, "bench-actors");
  struct epoll_event ev[256];
  uint64_t next_tick = 0, last_sweep = 0;
  while (!atomic_load(&s->stop)) {
    uint64_t now = td3_now_ns();
    /* timers every TICK_NS, not on every wake-up: a wake-up per message would cost a pass
     * over all of this thread's actors */
    if (now >= next_tick) {
      for (uint32_t i = w->first; i < s->o->actors; i += s->step) actor_tick(w, &s->a[i], now);
      next_tick = now + TICK_NS;
    }
    int wait_ms = now < next_tick ? (int)((next_tick - now + 999999) / 1000000) : 0;
    int n = epoll_wait(w->epfd, ev, 256, wait_ms);
    for (int k = 0; k < n; k++) {
      sim_actor_t *a = &s->a[ev[k].data.u64 >> 1];
      if (ev[k].data.u64 & 1) drain_weights(w, a);
      else drain_control(w, a);
    }
    /* ZMQ_FD signals only changes: a send may take a pending signal with it, so every socket
     * is looked at again now and then */
    if (now - last_sweep > 100000000ULL) {
      last_sweep = now;
      for (uint32_t i = w->first; i < s->o->actors; i += s->step) {
        drain_control(w, &s->a[i]);
        drain_weights(w, &s->a[i]);
      }
    }
  }
  return NULL;
}

/* Real Pendulum transitions under uniform random actions: the rows every batch is cut from. */
static int make_pool(sim_t *s, td3_err_t *err) {
  env_t *e = env_create("Pendulum-v1", NULL, err);
  if (!e) return -1;
  s->p_obs = xmalloc(POOL_ROWS * 3 * sizeof(float));
  s->p_next = xmalloc(POOL_ROWS * 3 * sizeof(float));
  s->p_act = xmalloc(POOL_ROWS * sizeof(float));
  s->p_rew = xmalloc(POOL_ROWS * sizeof(float));
  rng_t r;
  rng_init(&r, 7, rng_stream_id(RNG_PURPOSE_ACTOR, 0));
  float obs[3];
  double ret = 0;
  for (uint32_t i = 0; i < POOL_ROWS; i++) {
    if (i % EP_LEN == 0) {
      env_reset(e, rng_next_u64(&r), obs);
      ret = 0;
    }
    float act = rng_uniformf(&r, -2.0f, 2.0f), rew;
    int term;
    memcpy(s->p_obs + 3 * i, obs, sizeof obs);
    env_step(e, &act, s->p_next + 3 * i, &rew, &term);
    memcpy(obs, s->p_next + 3 * i, sizeof obs);
    s->p_act[i] = act;
    s->p_rew[i] = rew;
    ret += rew;
    if (i % EP_LEN == EP_LEN - 1) s->p_ep_return[i / EP_LEN] = (float)ret;
  }
  env_destroy(&e);
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The learner: a child process, observed through /proc and its status server               */

/* CPU seconds per thread name (summed over threads of one name) of process pid. */
typedef struct proc_cpu {
  uint32_t n;
  char name[16][20];
  double s[16];
  double main_s, total_s;
  double wait_s[16];             /* seconds runnable but waiting for a CPU (schedstat) */
  double main_wait_s, total_wait_s;
} proc_cpu_t;

static void read_cpu(pid_t pid, proc_cpu_t *out) {
  memset(out, 0, sizeof *out);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return;
  long tick = sysconf(_SC_CLK_TCK);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char p[320], line[1024];
    snprintf(p, sizeof p, "/proc/%d/task/%s/stat", (int)pid, de->d_name);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    size_t len = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[len] = 0;
    char *open = strchr(line, '('), *close = strrchr(line, ')');
    if (!open || !close) continue;
    char comm[20];
    snprintf(comm, sizeof comm, "%.*s", (int)(close - open - 1), open + 1);
    unsigned long long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
      continue;
    double sec = (double)(ut + st) / (double)tick, wait = 0;
    unsigned long long on_ns, wait_ns;
    snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
    if ((f = fopen(p, "r"))) {
      if (fscanf(f, "%llu %llu", &on_ns, &wait_ns) == 2) wait = (double)wait_ns / 1e9;
      fclose(f);
    }
    out->total_s += sec;
    out->total_wait_s += wait;
    if (atoi(de->d_name) == (int)pid) out->main_s = sec, out->main_wait_s = wait;
    uint32_t k = 0;
    while (k < out->n && strcmp(out->name[k], comm) != 0) k++;
    if (k == out->n && out->n < 16) snprintf(out->name[out->n++], sizeof out->name[0], "%s", comm);
    if (k < 16) out->s[k] += sec, out->wait_s[k] += wait;
  }
  closedir(d);
}

static double read_rss_mb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  double kb = 0;
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lf kB", &kb) == 1) break;
  fclose(f);
  return kb / 1024.0;
}

static int count_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d))) n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

/* GET path from the status server on a fresh connection: the body (caller frees) or NULL;
 * *ms is the time from connect to the last byte, *bytes the body's size. */
static char *http_get(unsigned port, const char *path, double *ms, size_t *bytes) {
  uint64_t t0 = td3_now_ns();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t len = 0, cap = 1 << 16;
  char *buf = NULL;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
    char req[160];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
      buf = xmalloc(cap);
      ssize_t r;
      for (;;) {
        if (len + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
      }
      buf[len] = 0;
    }
  }
  close(fd);
  if (ms) *ms = (double)(td3_now_ns() - t0) / 1e6;
  char *body = buf ? strstr(buf, "\r\n\r\n") : NULL;
  if (!body || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
    free(buf);
    return NULL;
  }
  body += 4;
  if (bytes) *bytes = len - (size_t)(body - buf);
  memmove(buf, body, len - (size_t)(body - buf) + 1);
  return buf;
}

/* What /status says about the run and its actor table. */
typedef struct learner_view {
  int ok;
  double wall_s;
  uint64_t inserted, updates, over_budget, unregistered, rejected; /* rejected: every reason */
  uint64_t broadcasts, subscribers;    /* Weights published; the weights socket's connections */
  uint32_t table_rows, table_active;   /* the actor table's rows, and those holding a lease */
  uint32_t listed;                     /* rows /status listed */
  double last_seen_max_s;              /* the oldest latest-message age among active ones */
  char rejected_text[512];             /* the non-zero reasons */
} learner_view_t;

static int read_status(unsigned port, learner_view_t *v, double *ms, size_t *bytes) {
  memset(v, 0, sizeof *v);
  char *body = http_get(port, "/status", ms, bytes);
  if (!body) return -1;
  json_error_t jerr;
  json_t *root = json_loads(body, 0, &jerr);
  free(body);
  if (!root) return -1;
  json_t *c = json_object_get(root, "counters");
  v->wall_s = json_number_value(json_object_get(root, "wall_seconds"));
  v->inserted = (uint64_t)json_integer_value(json_object_get(c, "transitions_inserted"));
  v->updates = (uint64_t)json_integer_value(json_object_get(c, "updates"));
  v->over_budget = (uint64_t)json_integer_value(json_object_get(c, "over_budget"));
  v->broadcasts = (uint64_t)json_integer_value(json_object_get(c, "weights_broadcasts"));
  v->subscribers = (uint64_t)json_integer_value(json_object_get(c, "weights_subscribers"));
  json_t *rej = json_object_get(c, "rejected");
  const char *key;
  json_t *val;
  size_t at = 0;
  json_object_foreach(rej, key, val) {
    uint64_t k = (uint64_t)json_integer_value(val);
    if (!strcmp(key, "unregistered")) v->unregistered = k;
    v->rejected += k;
    if (k && at < sizeof v->rejected_text)
      at += (size_t)snprintf(v->rejected_text + at, sizeof v->rejected_text - at, "%s\"%s\": %llu",
                             at ? ", " : "", key, (unsigned long long)k);
  }
  json_t *actors = json_object_get(root, "actors"), *sum = json_object_get(root, "actors_summary");
  v->listed = (uint32_t)json_array_size(actors);
  if (sum) { /* the whole table, whatever page was listed */
    v->table_rows = (uint32_t)json_integer_value(json_object_get(sum, "total"));
    v->table_active = (uint32_t)json_integer_value(json_object_get(sum, "active"));
    v->last_seen_max_s = json_number_value(json_object_get(sum, "last_seen_max_seconds"));
  } else { /* a learner from before the summary: every row it lists */
    size_t i;
    json_t *e;
    json_array_foreach(actors, i, e) {
      v->table_rows++;
      if (!json_is_true(json_object_get(e, "active"))) continue;
      v->table_active++;
      double seen = json_number_value(json_object_get(e, "last_seen_seconds"));
      if (seen > v->last_seen_max_s) v->last_seen_max_s = seen;
    }
  }
  json_decref(root);
  v->ok = 1;
  return 0;
}

/* td3d_actors_connected from /metrics, or -1. */
static long metrics_connected(const char *text) {
  const char *p = strstr(text, "\ntd3d_actors_connected ");
  return p ? strtol(p + sizeof "\ntd3d_actors_connected " - 1, NULL, 10) : -1;
}

static pid_t start_learner(const opts_t *o, const char *dir, rlim_t shell_nofile) {
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
  char log_path[512];
  snprintf(log_path, sizeof log_path, "%s/learner.log", dir);
  pid_t pid = fork();
  if (pid != 0) {
    free(extra);
    return pid;
  }
  /* A session of its own, as a learner started by a supervisor or on its own host has: where
   * the kernel shares the CPU between sessions first (autogroup), the learner does not share
   * this bench's portion. */
  setsid();
  /* the learner gets the descriptor limit a shell gives it, not this bench's raised one */
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = o->learner_nofile ? o->learner_nofile : shell_nofile;
  setrlimit(RLIMIT_NOFILE, &rl);
  FILE *f = freopen(log_path, "w", stdout);
  if (f) dup2(fileno(stdout), 2);
  execv(o->td3d, argv);
  fprintf(stderr, "bench_actors: cannot run %s: %s\n", o->td3d, strerror(errno));
  _exit(127);
}

/* TcpExt ListenOverflows (/proc/net/netstat): connections the kernel refused because a listen
 * queue was full (the network namespace's total). */
static uint64_t listen_overflows(void) {
  FILE *f = fopen("/proc/net/netstat", "r");
  if (!f) return 0;
  char names[4096], values[4096];
  uint64_t v = 0;
  while (fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
    if (strncmp(names, "TcpExt:", 7) != 0) continue;
    char *sn, *sv, *n = strtok_r(names, " \n", &sn), *x = strtok_r(values, " \n", &sv);
    while (n && x && strcmp(n, "ListenOverflows") != 0) {
      n = strtok_r(NULL, " \n", &sn);
      x = strtok_r(NULL, " \n", &sv);
    }
    if (n && x) v = strtoull(x, NULL, 10);
    break;
  }
  fclose(f);
  return v;
}

/* The 1-minute load average (/proc/loadavg): how shared the machine was. */
static double load_average(void) {
  FILE *f = fopen("/proc/loadavg", "r");
  double l = 0;
  if (f && fscanf(f, "%lf", &l) != 1) l = 0;
  if (f) fclose(f);
  return l;
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(p);
}

/* ---------------------------------------------------------------------------------------- */
/* Figures                                                                                  */

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return (a > b) - (a < b);
}

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

typedef struct totals {
  uint64_t hellos, welcomes, reject_full, reject_fatal, unknown_slot, timeouts;
  uint64_t hb_sent, hb_answered, batches, transitions, send_eagain, paced, weights, weights_bad,
      control_bad, blocked_ns, weights_bytes;
} totals_t;

static void sum_counters(const sim_t *s, totals_t *t) {
  memset(t, 0, sizeof *t);
  for (uint32_t k = 0; k < s->step; k++) {
    const counters_t *c = &s->w[k].c;
#define ADD(f) t->f += atomic_load(&c->f)
    ADD(hellos), ADD(welcomes), ADD(reject_full), ADD(reject_fatal), ADD(unknown_slot);
    ADD(timeouts), ADD(hb_sent), ADD(hb_answered), ADD(batches), ADD(transitions);
    ADD(send_eagain), ADD(paced), ADD(weights), ADD(weights_bad), ADD(control_bad);
    ADD(blocked_ns);
#undef ADD
    if (atomic_load(&c->weights_bytes) > t->weights_bytes) t->weights_bytes = c->weights_bytes;
  }
}

/* What one run saw: the join, then the measured window. */
typedef struct figures {
  uint32_t joined;
  double join_s;                 /* start of the connects to the last first Welcome */
  double connect_p50_s, connect_max_s;  /* start to the first Hello out (connection up) */
  double answer_p50_s, answer_max_s;    /* that Hello to its Welcome */
  uint64_t overflows;            /* listen queue overflows while they joined */
  uint64_t expired;              /* leases the learner ended (its log, the whole run) */
  double window_s;
  uint32_t *rtt_us;              /* heartbeat round trips in the window, sorted */
  double hb_gap_max_s;           /* the simulated actors' longest silence (their own lateness) */
  size_t n_rtt;
  learner_view_t v0, v1;         /* /status at the window's start and end */
  double last_seen_max_s;        /* the largest the learner showed during the window */
  totals_t c0, c1;               /* the simulated actors' counters */
  proc_cpu_t l0, l1, b0, b1;     /* CPU of the learner and of this process */
  double rss_mib;
  int fds;
  double metrics_ms_max, status_ms_max;   /* slowest fetch */
  double metrics_ms[FETCHES], status_ms[FETCHES];  /* each fetch (the first FETCHES) */
  size_t metrics_bytes, status_bytes;
  long connected;                /* td3d_actors_connected */
  uint32_t table_rows, listed;   /* actors in /status's table, and listed there */
  uint32_t n_fetch;              /* fetches of each page */
  double render_metrics_ms, render_status_ms;       /* CPU time of this thread */
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
static void await_join(sim_t *s, figures_t *f, uint64_t overflows0) {
  uint64_t limit = (uint64_t)(s->o->join_limit * 1e9);
  while (atomic_load(&s->joined) < s->o->actors && td3_now_ns() - s->start_ns < limit)
    td3_sleep_ms(10);
  f->joined = atomic_load(&s->joined);
  uint64_t last = 0;
  for (uint32_t i = 0; i < s->o->actors; i++)
    if (s->a[i].joined_ns > last) last = s->a[i].joined_ns;
  f->join_s = f->joined ? (double)(last - s->start_ns) / 1e9 : 0;
  double *up = xmalloc(s->o->actors * sizeof *up), *answer = xmalloc(s->o->actors * sizeof *up);
  size_t n = 0;
  for (uint32_t i = 0; i < s->o->actors; i++) {
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
  f->overflows = listen_overflows() - overflows0;
}

/* The measured window: counters, CPU and /status at both ends; /metrics and /status fetched
 * every second in between (as a scraper and a dashboard would). */
static void measure(sim_t *s, pid_t pid, figures_t *f) {
  const opts_t *o = s->o;
  sum_counters(s, &f->c0);
  read_cpu(pid, &f->l0);
  read_cpu(getpid(), &f->b0);
  read_status(o->status_port, &f->v0, NULL, NULL);
  atomic_store(&s->measuring, 1);
  uint64_t m0 = td3_now_ns(), end = m0 + (uint64_t)(o->seconds * 1e9);
  for (uint32_t tick = 0; td3_now_ns() < end; tick++) {
    td3_sleep_ms(500);
    if (tick % 2) continue;
    double ms;
    size_t bytes = 0;
    char *m = http_get(o->status_port, "/metrics", &ms, &bytes);
    if (m) {
      if (ms > f->metrics_ms_max) f->metrics_ms_max = ms;
      if (f->n_fetch < FETCHES) f->metrics_ms[f->n_fetch] = ms;
      f->metrics_bytes = bytes;
      f->connected = metrics_connected(m);
      free(m);
    }
    learner_view_t v;
    if (read_status(o->status_port, &v, &ms, &bytes) == 0) {
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
  f->window_s = (double)(td3_now_ns() - m0) / 1e9;
  sum_counters(s, &f->c1);
  read_cpu(pid, &f->l1);
  read_cpu(getpid(), &f->b1);
  read_status(o->status_port, &f->v1, NULL, NULL);
  f->rss_mib = read_rss_mb(pid);
  f->fds = count_fds(pid);
  f->load = load_average();
}

/* Collects the workers' round trips (after they stopped) into f, sorted. */
static void collect_rtt(sim_t *s, figures_t *f) {
  size_t n = 0;
  for (uint32_t k = 0; k < s->step; k++) {
    n += s->w[k].n_rtt;
    double gap = (double)s->w[k].hb_gap_max_ns / 1e9;
    if (gap > f->hb_gap_max_s) f->hb_gap_max_s = gap;
  }
  f->rtt_us = xmalloc((n ? n : 1) * sizeof *f->rtt_us);
  for (uint32_t k = 0; k < s->step; k++) {
    memcpy(f->rtt_us + f->n_rtt, s->w[k].rtt_us, s->w[k].n_rtt * sizeof *f->rtt_us);
    f->n_rtt += s->w[k].n_rtt;
  }
  qsort(f->rtt_us, f->n_rtt, sizeof *f->rtt_us, cmp_u32);
}

/* Prints "name cpu%/wait%" per thread name over the window, and the same as JSON into json. */
static void print_threads(const char *label, const proc_cpu_t *a, const proc_cpu_t *b,
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
  const totals_t *c0 = &f->c0, *c1 = &f->c1;
  double wall = f->v1.wall_s - f->v0.wall_s, w = f->window_s;
  double ins = wall > 0 ? (double)(f->v1.inserted - f->v0.inserted) / wall : 0;
  double upd = wall > 0 ? (double)(f->v1.updates - f->v0.updates) / wall : 0;
  double sent = (double)(c1->transitions - c0->transitions) / w;
  double weights = (double)(c1->weights - c0->weights) / w;
  uint64_t lost = c1->unknown_slot + c1->timeouts;
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
         "learner's oldest last-seen %.2f s; longest between an actor's heartbeats %.2f s\n",
         p50, p99, pmax, f->n_rtt, f->last_seen_max_s, f->hb_gap_max_s);
  printf("transitions: sent %.0f /s, inserted %.0f /s; updates %.0f /s; sends blocked %llu "
         "times, paced %llu times\n", sent, ins, upd, (unsigned long long)blocked,
         (unsigned long long)paced);
  printf("refused: %llu (%s); over budget %llu; leases lost %llu (Reject UNKNOWN_SLOT %llu, "
         "no answer for 5 s %llu); the learner expired %llu; full %llu\n",
         (unsigned long long)f->v1.rejected,
         f->v1.rejected_text[0] ? f->v1.rejected_text : "none",
         (unsigned long long)f->v1.over_budget, (unsigned long long)lost,
         (unsigned long long)c1->unknown_slot, (unsigned long long)c1->timeouts,
         (unsigned long long)f->expired, (unsigned long long)c1->reject_full);
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
         "\"learner_last_seen_max_s\": %.3f, \"heartbeat_gap_max_s\": %.3f, ",
         p50, p99, pmax, f->n_rtt, f->last_seen_max_s, f->hb_gap_max_s);
  printf("\"sent_per_s\": %.0f, \"inserted_per_s\": %.0f, \"updates_per_s\": %.1f, "
         "\"sends_blocked\": %llu, \"paced\": %llu, \"weights_per_s\": %.0f, "
         "\"broadcasts_per_s\": %.2f, \"weights_mb_per_s\": %.1f, ", sent, ins, upd,
         (unsigned long long)blocked, (unsigned long long)paced, weights, bcast, fanout_mb);
  printf("\"rejected\": {%s}, \"over_budget\": %llu, \"leases_lost\": %llu, "
         "\"unknown_slot\": %llu, \"no_answer\": %llu, \"expired\": %llu, "
         "\"reject_full\": %llu, ", f->v1.rejected_text, (unsigned long long)f->v1.over_budget,
         (unsigned long long)lost, (unsigned long long)c1->unknown_slot,
         (unsigned long long)c1->timeouts, (unsigned long long)f->expired,
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
/* Set-up and tear-down                                                                     */

/* Opens every actor's sockets (as actor/actor.c does) in one context sized for them, and
 * registers their ZMQ_FDs with their worker's epoll set. 0, or -1 with err filled. */
static int open_actors(sim_t *s, td3_err_t *err) {
  const opts_t *o = s->o;
  s->zctx = zmq_ctx_new();
  s->wctx = zmq_ctx_new();
  zmq_ctx_set(s->zctx, ZMQ_MAX_SOCKETS, (int)(o->actors * 2 + 64));
  zmq_ctx_set(s->zctx, ZMQ_IO_THREADS, (int)o->io_threads);
  zmq_ctx_set(s->wctx, ZMQ_MAX_SOCKETS, (int)(o->actors + 64));
  zmq_ctx_set(s->wctx, ZMQ_IO_THREADS, (int)o->io_threads);
  s->a = xcalloc(o->actors, sizeof *s->a);
  s->w = xcalloc(o->threads, sizeof *s->w);
  size_t bs = o->batch_steps;
  for (uint32_t k = 0; k < o->threads; k++) {
    worker_t *w = &s->w[k];
    w->sim = s;
    w->first = k;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->obs = xmalloc(bs * 3 * sizeof(float));
    w->next = xmalloc(bs * 3 * sizeof(float));
    w->act = xmalloc(bs * sizeof(float));
    w->rew = xmalloc(bs * sizeof(float));
    w->term = xmalloc(bs * sizeof(float));
    w->eps = xmalloc((bs / EP_LEN + 2) * sizeof *w->eps);
  }
  char ep_c[64], ep_w[64], ep_e[64];
  zsock_endpoint(ep_c, sizeof ep_c, "127.0.0.1", o->port + 2);
  zsock_endpoint(ep_w, sizeof ep_w, "127.0.0.1", o->port + 1);
  zsock_endpoint(ep_e, sizeof ep_e, "127.0.0.1", o->port);
  const zsock_opts_t oc = {.sndhwm = 100, .rcvhwm = 100, .maxmsgsize = 1 << 20,
                           .reconnect_ivl_ms = 100, .reconnect_ivl_max_ms = 2000, .immediate = 1};
  const zsock_opts_t ow = {.rcvhwm = 1, .conflate = 1, .subscribe_all = 1,
                           .maxmsgsize = (int64_t)WIRE_DEFAULT_MAX_FRAME, .reconnect_ivl_ms = 100,
                           .reconnect_ivl_max_ms = 2000};
  const zsock_opts_t oe = {.sndhwm = 4, .immediate = 1, .reconnect_ivl_ms = 100,
                           .reconnect_ivl_max_ms = 2000};
  s->start_ns = td3_now_ns();
  for (uint32_t i = 0; i < o->actors; i++) {
    sim_actor_t *a = &s->a[i];
    a->index = i;
    a->backoff_ms = 250;
    a->pool_at = (i * 997u) % POOL_ROWS;
    if (!(a->dealer = zsock_open(s->zctx, ZMQ_DEALER, &oc, ep_c, 0, err)) ||
        (!o->no_weights && !(a->sub = zsock_open(s->wctx, ZMQ_SUB, &ow, ep_w, 0, err))) ||
        !(a->push = zsock_open(s->zctx, ZMQ_PUSH, &oe, ep_e, 0, err)))
      return -1;
    worker_t *w = &s->w[i % o->threads];
    for (int k = 0; k < (a->sub ? 2 : 1); k++) {
      int fd;
      size_t len = sizeof fd;
      zmq_getsockopt(k ? a->sub : a->dealer, ZMQ_FD, &fd, &len);
      struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i << 1 | (uint64_t)k};
      epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
  }
  return 0;
}

static void close_actors(sim_t *s) {
  for (uint32_t i = 0; s->a && i < s->o->actors; i++) {
    zsock_close(&s->a[i].dealer);
    zsock_close(&s->a[i].sub);
    zsock_close(&s->a[i].push);
  }
  for (uint32_t k = 0; s->w && k < s->o->threads; k++) {
    worker_t *w = &s->w[k];
    if (w->epfd > 0) close(w->epfd);
    wire_buf_free(&w->buf);
    wire_buf_free(&w->cbuf);
    free(w->obs), free(w->next), free(w->act), free(w->rew), free(w->term), free(w->eps);
    free(w->rtt_us);
  }
  if (s->zctx) zmq_ctx_term(s->zctx);
  if (s->wctx) zmq_ctx_term(s->wctx);
  free(s->a), free(s->w);
  free(s->p_obs), free(s->p_next), free(s->p_act), free(s->p_rew);
  s->zctx = s->wctx = NULL;
  s->a = NULL, s->w = NULL;
  s->p_obs = s->p_next = s->p_act = s->p_rew = NULL;
}

/* Leases the learner ended (its "N actor leases expired" warnings), over the whole run. */
static uint64_t learner_expired(const char *dir) {
  char path[512], line[1024];
  snprintf(path, sizeof path, "%s/learner.log", dir);
  FILE *f = fopen(path, "r");
  uint64_t n = 0;
  while (f && fgets(line, sizeof line, f)) {
    char *p = strstr(line, " actor lease");
    if (!p || !strstr(p, "expired")) continue;
    while (p > line && p[-1] >= '0' && p[-1] <= '9') p--;
    n += strtoull(p, NULL, 10);
  }
  if (f) fclose(f);
  return n;
}

/* SIGTERM to the learner (it writes its final checkpoint), SIGKILL after 30 s. */
static void stop_learner(pid_t pid) {
  kill(pid, SIGTERM);
  int st = 0;
  uint64_t t0 = td3_now_ns();
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (td3_now_ns() - t0 > 30000000000ULL) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return;
    }
    td3_sleep_ms(20);
  }
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

int main(int argc, char **argv) {
  opts_t o = {.actors = 64, .seconds = 20, .rate = 200, .threads = 2, .io_threads = 1,
              .learner_threads = 1, .batch_steps = 32, .join_limit = 30, .train = "off",
              .td3d = TD3D_BINARY, .port = 7755, .status_port = 7758};
  const flag_spec_t specs[] = {
      {"actors", FLAG_U32, &o.actors, "N", "simulated actors; default 64", 1, WIRE_MAX_SLOTS, NULL},
      {"seconds", FLAG_DOUBLE, &o.seconds, "S", "measured seconds once all joined; default 20", 1, 86400, NULL},
      {"rate", FLAG_DOUBLE, &o.rate, "R", "transitions/s each actor offers (0: heartbeats only); default 200", 0, 1e7, NULL},
      {"batch-steps", FLAG_U32, &o.batch_steps, "N", "transitions per ExperienceBatch (the learner's --batch-steps); default 32", 1, 65536, NULL},
      {"train", FLAG_STRING, &o.train, "on|off", "the learner trains (ratio 1 after its start steps) or only ingests; default off", 0, 0, NULL},
      {"max-actors", FLAG_U32, &o.max_actors, "N", "the learner's --max-actors; default the larger of 64 and --actors", 0, WIRE_MAX_SLOTS, NULL},
      {"threads", FLAG_U32, &o.threads, "N", "threads serving the simulated actors; default 2", 1, 64, NULL},
      {"io-threads", FLAG_U32, &o.io_threads, "N", "ZeroMQ I/O threads of the actors' control and experience sockets, and as many for their weights sockets; default 1", 1, 16, NULL},
      {"learner-threads", FLAG_U32, &o.learner_threads, "N", "the learner's --threads (training); default 1", 1, 64, NULL},
      {"learner-nofile", FLAG_U32, &o.learner_nofile, "N", "the learner's soft descriptor limit; default the one this shell gives", 0, 1e7, NULL},
      {"join-limit", FLAG_DOUBLE, &o.join_limit, "S", "seconds to wait for all to join; default 30", 1, 3600, NULL},
      {"port", FLAG_U32, &o.port, "PORT", "learner experience port (+1 weights, +2 control); default 7755", 1, 65533, NULL},
      {"status-port", FLAG_U32, &o.status_port, "PORT", "learner status port; default 7758", 1, 65535, NULL},
      {"learner-args", FLAG_STRING, &o.learner_args, "FLAGS", "more flags for td3d learner, space-separated (e.g. \"--weights-budget=50\")", 0, 0, NULL},
      {"td3d", FLAG_STRING, &o.td3d, "PATH", "the td3d binary; default the build's", 0, 0, NULL},
      {"no-weights", FLAG_BOOL, &o.no_weights, NULL, "open no weights socket (to tell the weights' cost apart)", 0, 0, NULL},
      {"no-decode", FLAG_BOOL, &o.no_decode, NULL, "count received Weights without decoding them", 0, 0, NULL},
      {"check", FLAG_BOOL, &o.check, NULL, "exit 1 unless every actor joined, none lost its lease, none was refused as unregistered and /metrics counts all connected", 0, 0, NULL},
      {"keep", FLAG_BOOL, &o.keep, NULL, "keep the learner's run directory and log", 0, 0, NULL},
  };
  const flag_program_t prog = {
      "bench_actors [options]",
      "Starts `td3d learner` (Pendulum-v1) on loopback and N simulated actors in this process\n"
      "(own DEALER, PUSH and SUB sockets each; Hello, heartbeats every 200 ms, batches at\n"
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
  if (strcmp(o.train, "on") && strcmp(o.train, "off")) {
    fprintf(stderr, "bench_actors: --train takes on or off\n");
    return 2;
  }
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
  sim_t s = {.o = &o, .step = o.threads, .batch_steps = o.batch_steps};
  figures_t f = {.connected = -1};
  learner_view_t up;
  pid_t pid = start_learner(&o, dir, shell_nofile);
  if (pid < 0) {
    fprintf(stderr, "bench_actors: fork: %s\n", strerror(errno));
    goto out;
  }
  uint64_t t_wait = td3_now_ns();
  while (read_status(o.status_port, &up, NULL, NULL) != 0) {
    int st, exited = waitpid(pid, &st, WNOHANG) == pid;
    if (exited || td3_now_ns() - t_wait > 30000000000ULL) {
      fprintf(stderr, "bench_actors: the learner did not come up (see %s/learner.log)\n", dir);
      if (exited) pid = 0; /* reaped */
      o.keep = 1;
      goto out;
    }
    td3_sleep_ms(50);
  }
  uint64_t overflows0 = listen_overflows();
  if (make_pool(&s, &err) != 0 || open_actors(&s, &err) != 0) {
    fprintf(stderr, "bench_actors: %s\n", err.msg);
    goto out;
  }
  for (uint32_t k = 0; k < o.threads; k++)
    pthread_create(&s.w[k].thread, NULL, worker_main, &s.w[k]);
  await_join(&s, &f, overflows0);
  fflush(stdout);
  td3_sleep_ms(2000); /* past the join's burst */
  measure(&s, pid, &f);
  render_times(o.actors, &f);
  atomic_store(&s.stop, 1);
  for (uint32_t k = 0; k < o.threads; k++) pthread_join(s.w[k].thread, NULL);
  collect_rtt(&s, &f);
  close_actors(&s);
  stop_learner(pid); /* its log is complete */
  pid = 0;
  f.expired = learner_expired(dir);
  ok = report(&o, &f);
  status = o.check && !ok ? 1 : 0;
  free(f.rtt_us);

out:
  close_actors(&s);
  if (pid > 0) stop_learner(pid);
  if (o.keep) printf("kept %s (learner.log, run/)\n", dir);
  else nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return status;
}
