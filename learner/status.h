/* The learner's status server: an HTTP/1.1 endpoint for people and Prometheus.
 *
 *   GET /         a self-contained dashboard (inline JS and CSS) that polls /status
 *   GET /metrics  Prometheus text exposition 0.0.4; five series per actor up to
 *                 STATUS_METRICS_ACTORS actors, beyond that only the fleet's gauges (1000
 *                 actors were 400 KB a scrape, a median 140 ms to fetch on a busy machine)
 *   GET /status   the same figures as JSON, with the run's configuration and eval curve; the
 *                 actor table is summarised whole ("actors_summary") and listed from row
 *                 ?actors_offset=N (default 0), at most ?actors_limit=M rows (default
 *                 STATUS_PAGE_ACTORS): 1000 actors are 230 KB and 7 ms of jansson per render
 *   GET /healthz  200 "ok" while the trainer makes progress (or legitimately waits), else 503
 *
 * The server runs a libuv loop in a thread of its own (status_http.c; requests parsed by
 * libhttp-parser). It never reads the learner's state: the learner's main thread fills a
 * status_snapshot_t every ~250 ms and hands it over with status_publish (one copy under a
 * short mutex, then uv_async_send); the server renders from its own copy (status_render.c).
 *
 * Rates and the throughput history (status_history.c): the learner samples its counters every
 * STATUS_HISTORY_EVERY_S seconds into a fixed ring of STATUS_HISTORY samples inside the
 * snapshot (10 minutes, carved once with the snapshot; nothing is allocated per sample), from
 * the moment this learner process started: a resumed run's restored totals count as its
 * first sample, never as a rate. The rates shown are over the last STATUS_RATE_WINDOW_S
 * seconds, or since the process started when it is younger. Transitions arrive in bursts: an
 * actor waits while the data is half of max_lead ahead of training, so after a start or a
 * resume (when a whole max_lead is admitted at once) a trainer at 50 updates/s inserts nothing
 * for 10 s; a checkpoint holds ingest while it copies the replay. A shorter window read 0 /s
 * then although every actor was running.
 *
 * Limits (each refusal is logged at debug level, the server keeps serving): request headers
 * STATUS_MAX_HEADER_BYTES (431), STATUS_MAX_HEADERS header lines (431), bodies
 * STATUS_MAX_BODY_BYTES (413); a request not complete STATUS_REQUEST_MS after its connection
 * was accepted (or after its first byte on a kept-alive connection) closes the connection, as
 * does STATUS_IDLE_MS of idleness between requests; at STATUS_MAX_CONNS open connections a
 * new one still gets in (a health check must): an idle kept-alive connection is closed to
 * make room, or else the one that has waited longest for its request. */
#ifndef TD3_STATUS_H
#define TD3_STATUS_H

#include "actors.h"
#include "error.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>

#define STATUS_DEFAULT_BIND "127.0.0.1:9100"
#define STATUS_MAX_HEADER_BYTES 8192
#define STATUS_MAX_HEADERS 64
#define STATUS_MAX_BODY_BYTES 65536
#define STATUS_REQUEST_MS 5000
#define STATUS_IDLE_MS 30000
#define STATUS_MAX_CONNS 256
#define STATUS_MAX_ACTORS WIRE_MAX_SLOTS /* the snapshot holds the whole actor table */
#define STATUS_PAGE_ACTORS 100 /* /status lists this many actors unless the query asks others */
#define STATUS_METRICS_ACTORS 256 /* /metrics has per-actor series up to this many actors */
#define STATUS_MAX_CURVE 1024
/* A trainer that is allowed to update but has not for this long is unhealthy. */
#define STATUS_STALL_NS 30000000000ULL

/* Histogram bucket upper bounds (the +Inf bucket is implicit, the last count). */
#define STATUS_LAG_BUCKETS 9
#define STATUS_UPDATE_BUCKETS 10
extern const double status_lag_bounds[STATUS_LAG_BUCKETS];      /* weights versions */
extern const double status_update_bounds[STATUS_UPDATE_BUCKETS]; /* seconds */

#define STATUS_HISTORY 300          /* throughput samples kept */
#define STATUS_HISTORY_EVERY_S 2.0  /* seconds between them */
#define STATUS_RATE_WINDOW_S 30.0   /* rates are over at least this many seconds */

/* One throughput sample: the run's counters at a moment. */
typedef struct status_sample {
  double wall_seconds;            /* run seconds (a resumed run's earlier time included) */
  uint64_t env_steps, updates;
} status_sample_t;

typedef struct status_point {
  uint64_t env_steps;
  uint64_t updates;
  double wall_seconds;
  double mean_return;
  double std_return;
  int untrained;                  /* the initial networks were evaluated (evaluate_untrained) */
} status_point_t;

/* Everything the server shows: plain data, copied whole. The counters' fields are filled and
 * rendered through the table of learner/counters.h (their offsets are in it). */
typedef struct status_snapshot {
  uint64_t taken_ns;              /* monotonic time the learner filled it */
  char run_id[17];                /* hex */
  char env_id[64];
  char config_json[4096];         /* the run's configuration (config.json's text) */
  double wall_seconds;            /* since the learner started */
  uint64_t inserted, updates, batches, over_budget, weights_version;
  uint64_t weights_broadcasts;    /* Weights frames published (each goes to every subscriber) */
  uint64_t weights_subscribers;   /* the weights socket's subscribers (routing ids heard from) */
  uint64_t weights_subscribers_max; /* the subscriber table's capacity */
  uint64_t weights_subscribers_refused; /* subscribe frames refused: the table was full */
  uint64_t weights_frames_refused; /* frames to the weights socket that were not subscribes */
  uint64_t experience_disconnects; /* experience connections that ended (one ZeroMQ closed
                                     for a frame over the limit among them) */
  uint64_t experience_connections, experience_connections_max; /* open now; the cap */
  uint64_t experience_connections_refused; /* told to wait: over the cap */
  uint64_t steps_budget;          /* 0: no limit */
  uint64_t rejected[WIRE_REASON_COUNT];
  uint64_t rejected_unregistered;
  uint64_t rejected_bounds;       /* batches that carried transitions out of bounds */
  uint64_t out_of_bounds;         /* those transitions, refused */
  uint64_t rollback_dropped;      /* replay rows dropped by rollbacks */
  uint64_t target_confirmed, target_unconfirmed, target_untrained; /* reports at or above the
                                     target return: ended the run, not confirmed, untrained */
  uint64_t reports_dropped;       /* evaluation reports dropped behind a check */
  uint64_t hellos_dropped, hellos_refused, slots_preempted;
  uint64_t hellos_unauthorized;   /* evaluator Hellos without the evaluator token, refused */
  uint64_t insecure;              /* 1: sockets bound beyond loopback without CURVE (--insecure) */
  uint64_t replay_size, replay_capacity;   /* transitions */
  double env_steps_per_s, updates_per_s;   /* over STATUS_RATE_WINDOW_S (status_history_update) */
  int rl_state;                   /* ratelimit_state_t */
  uint64_t ingest_wait_ns, trainer_wait_ns; /* cumulative time each side was held back */
  int have_stats;                 /* the fields below hold a TD3 update's figures */
  double critic_loss, actor_loss, mean_q;
  double critic_loss_latest;      /* the loss watch's fast level (learner/loss_watch.h) */
  double critic_loss_recent;      /* its slow level, frozen while exploded */
  int critic_loss_exploded;       /* the critic loss exploded against its recent level */
  uint64_t lag_sum, lag_count, lag_max;
  uint64_t lag_hist[STATUS_LAG_BUCKETS + 1];       /* per bucket (not cumulative) */
  uint64_t update_hist[STATUS_UPDATE_BUCKETS + 1]; /* per bucket (not cumulative) */
  uint64_t update_ns_sum;         /* total time of the updates in update_hist */
  uint64_t last_update_ns;        /* monotonic; 0 before the first update */
  uint64_t start_ns;              /* monotonic time the learner started */
  int fatal;                      /* the run failed: fatal_msg says why */
  char fatal_msg[512];
  int finished;                   /* the run is over (final figures) */
  uint64_t rss_bytes;
  uint64_t resumed;               /* 1: the run continued from a checkpoint */
  uint64_t checkpoints, checkpoint_failures;  /* written (by this learner process), failed */
  uint64_t rollbacks;             /* non-finite updates undone from the last checkpoint */
  uint64_t last_checkpoint_steps; /* env steps in the latest checkpoint (0: none) */
  uint64_t last_checkpoint_ns;    /* monotonic time of it (0: none by this process) */
  uint64_t curve_on;              /* 1: CURVE security on */
  uint64_t authorized_keys;       /* actor keys the learner accepts (CURVE) */
  uint64_t auth_accepted, auth_refused; /* CURVE handshakes accepted, refused */
  uint64_t handshake_failures;    /* handshakes failed for another reason (no CURVE, not ZMTP) */
  uint32_t n_actors;
  actor_info_t actors[STATUS_MAX_ACTORS];
  uint32_t n_curve;               /* evaluations, oldest first (the latest STATUS_MAX_CURVE) */
  status_point_t curve[STATUS_MAX_CURVE];
  int have_best;                  /* best holds an evaluation of a trained policy */
  status_point_t best;            /* the highest mean return of those (untrained ones never) */
  uint32_t n_history;             /* throughput samples held, at most STATUS_HISTORY */
  uint32_t history_head;          /* index of the oldest once the ring is full */
  status_sample_t history[STATUS_HISTORY]; /* a ring: read it with status_history_at */
} status_snapshot_t;

typedef struct status_server status_server_t;

/* Parses "HOST:PORT" (an IPv4 address or "localhost"). Returns 0, or TD3_EINVAL with err
 * filled. host receives at most hcap bytes. */
int status_parse_bind(const char *s, char *host, size_t hcap, unsigned *port, td3_err_t *err);

/* Binds bind ("HOST:PORT") and starts the server thread. Returns the server (the caller owns
 * it: status_destroy), or NULL with err filled when the address is invalid or taken.
 * Thread: any; the server's thread is its own. */
status_server_t *status_new(const char *bind, td3_err_t *err);

/* Stops the thread, closes every connection and frees the server. NULL-safe, sets *p = NULL. */
void status_destroy(status_server_t **p);

/* Hands a snapshot to the server (copied; snap stays the caller's). Thread: any one thread
 * at a time (the learner's main thread). */
void status_publish(status_server_t *s, const status_snapshot_t *snap);

/* The port actually bound (useful with port 0). */
unsigned status_port(const status_server_t *s);

/* ---- throughput history (status_history.c): the ring inside a snapshot ---- */

/* Appends a sample to s's ring, dropping the oldest when it is full. Allocates nothing. */
void status_history_push(status_snapshot_t *s, const status_sample_t *smp);

/* The i-th sample of s's ring, oldest first (i < s->n_history; borrowed). */
const status_sample_t *status_history_at(const status_snapshot_t *s, uint32_t i);

/* Called with the counters as they are now (now->wall_seconds never decreasing): appends now
 * when the ring is empty or its newest sample is STATUS_HISTORY_EVERY_S old, and sets
 * s->env_steps_per_s and s->updates_per_s from the newest sample at least
 * STATUS_RATE_WINDOW_S older than now, or from the oldest (this process's start) when none
 * is that old; 0 when no time has passed. Thread: the snapshot's filler. */
void status_history_update(status_snapshot_t *s, const status_sample_t *now);

/* ---- rendering (status_render.c): pure functions of a snapshot ---- */

/* Growable byte buffer for rendered documents. */
typedef struct status_buf {
  char *data;
  size_t len, cap;
} status_buf_t;

void status_buf_printf(status_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void status_buf_free(status_buf_t *b);

/* Appends the Prometheus exposition (format 0.0.4) of snap to out. now_ns: monotonic now. */
void status_render_metrics(const status_snapshot_t *snap, uint64_t now_ns, status_buf_t *out);
/* Appends the JSON document of /status listing the actor table's rows [offset, offset + limit)
 * (its summary counts every row). status_render_json lists the first STATUS_PAGE_ACTORS. */
void status_render_json_page(const status_snapshot_t *snap, uint64_t now_ns, uint32_t offset,
                             uint32_t limit, status_buf_t *out);
void status_render_json(const status_snapshot_t *snap, uint64_t now_ns, status_buf_t *out);
/* The dashboard page (static, borrowed). */
const char *status_dashboard_html(void);
/* Health: returns 1 if healthy, else 0 with why filled. */
int status_health(const status_snapshot_t *snap, uint64_t now_ns, char *why, size_t cap);

#endif
