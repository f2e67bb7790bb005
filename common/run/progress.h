/* Progress output for long runs, on standard output.
 *
 * On a terminal, one live status line is redrawn in place (at most 4 times a second) and
 * persistent lines (evaluations, notices) are printed above it; elsewhere (a pipe, a file,
 * CI) only the persistent lines are printed, one per event. A log line (common/base/log.h, from any
 * thread) clears the live line first and the next update redraws it below, so the two never
 * share a line. One thread calls the progress_* functions of a progress_t. */
#ifndef TD3_PROGRESS_H
#define TD3_PROGRESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct progress {
  int enabled;        /* 0: print nothing */
  int live;           /* redraw a live line (stdout is a terminal) */
  int line_shown;     /* a live line is on screen now */
  uint64_t start_ns;
  double offset_s;    /* seconds counted before start_ns (a resumed run's earlier time) */
  uint64_t last_draw_ns;
  /* the recent rates on the live line: counters at the start of the current window */
  uint64_t window_ns, window_steps, window_updates;
  double steps_rate, updates_rate; /* per second over the last window; < 0: none yet */
  pthread_mutex_t lock; /* held while the live line is drawn, or cleared for a log line */
  int hooked;           /* registered with log_set_console_hook */
} progress_t;

/* level: 0 quiet, 1 persistent lines only, 2 persistent lines and a live line on a TTY. */
void progress_init(progress_t *p, int level);

/* Seconds since progress_init, plus offset_s. */
double progress_elapsed(const progress_t *p);

typedef struct progress_status {
  uint64_t env_steps, total_steps;
  uint64_t updates;
  size_t replay_size;
  double last_eval;  /* NaN: none yet */
} progress_status_t;

/* Redraws the live line if due (no-op when not live). Its steps/s, updates/s and ETA are the
 * rates over the last few seconds, not averages over the run (a resumed run, a slow start or
 * a machine that got busy would make those stale). */
void progress_update(progress_t *p, const progress_status_t *s);

/* Prints a persistent line (a newline is added). */
void progress_print(progress_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the live line before the program prints something else or exits. */
void progress_finish(progress_t *p);

#endif
