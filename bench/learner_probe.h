/* Observing a td3d learner from outside, for benchmarks: start it as a child process (its
 * own session, a log file, a chosen descriptor limit) and stop it, read its threads' CPU and
 * run-queue wait, RSS and descriptors from /proc, fetch its /status and /metrics (timed), and
 * count what its log says. Also two machine-wide figures (listen-queue overflows, the load
 * average). Linux only; no function keeps state; called from one thread. */
#ifndef TD3_LEARNER_PROBE_H
#define TD3_LEARNER_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* CPU seconds per thread name (threads of one name summed) of a process. */
typedef struct probe_cpu {
  uint32_t n;
  char name[16][20];
  double s[16];
  double main_s, total_s;
  double wait_s[16];             /* seconds runnable but waiting for a CPU (schedstat) */
  double main_wait_s, total_wait_s;
} probe_cpu_t;

/* Fills out for process pid (zeroes when it is gone). */
void probe_cpu(pid_t pid, probe_cpu_t *out);

/* Resident memory of pid in MiB (0 when unknown). */
double probe_rss_mib(pid_t pid);

/* Open descriptors of pid, or -1. */
int probe_fds(pid_t pid);

/* GET path from 127.0.0.1:port on a fresh connection: the body of a 200 answer (the caller
 * frees it), else NULL; *ms (may be NULL) is the time from connect to the last byte, *bytes
 * (may be NULL) the body's size. */
char *probe_http_get(unsigned port, const char *path, double *ms, size_t *bytes);

/* What /status says about the run and its actor table. */
typedef struct probe_view {
  int ok;
  double wall_s;
  uint64_t inserted, updates, over_budget, unregistered, rejected; /* rejected: every reason */
  uint64_t broadcasts, subscribers;    /* Weights published; the weights socket's connections */
  uint32_t table_rows, table_active;   /* the actor table's rows, and those holding a lease */
  uint32_t listed;                     /* rows /status listed */
  double last_seen_max_s;              /* the oldest latest-message age among active ones */
  char rejected_text[512];             /* the non-zero reasons */
} probe_view_t;

/* Fetches /status into v: 0, or -1 (v zeroed) when it did not answer or did not parse. A
 * learner from before "actors_summary" is read from the rows it lists. */
int probe_status(unsigned port, probe_view_t *v, double *ms, size_t *bytes);

/* td3d_actors_connected in a /metrics document, or -1. */
long probe_metrics_connected(const char *text);

/* Starts argv (argv[0] the program) in a new session with its stdout and stderr to log_path
 * and a soft descriptor limit of nofile. Returns the child's pid, or -1 (errno) when fork
 * failed; a failed exec makes the child exit 127. */
pid_t probe_learner_start(char *const *argv, const char *log_path, rlim_t nofile);

/* SIGTERM to pid (a learner writes its final checkpoint), SIGKILL after 30 s; reaps it. */
void probe_learner_stop(pid_t pid);

/* The leases a learner's log says it ended ("N actor leases expired"), summed; those logged
 * between the UNIX times from_s and to_s in *in_window (may be NULL). */
uint64_t probe_learner_expired(const char *log_path, double from_s, double to_s,
                               uint64_t *in_window);

/* Now as UNIX seconds (the clock of the learner's log lines). */
double probe_unix_now(void);

/* TcpExt ListenOverflows (/proc/net/netstat): connections the kernel dropped because a listen
 * queue was full, the network namespace's total. */
uint64_t probe_listen_overflows(void);

/* The 1-minute load average: how busy the machine was. */
double probe_load_average(void);

/* Removes dir and everything below it. */
void probe_remove_dir(const char *dir);

#endif
