/* Progress output (see progress.h). */
#include "progress.h"

#include "log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* The log hook: a log line is about to be written (before = 1: clear the live line and hold
 * the lock, so no redraw lands inside the log line) or was written (before = 0). */
static void on_log(int before, void *ctx) {
  progress_t *p = ctx;
  if (!p) return; /* the hook was being removed */
  if (!before) {
    pthread_mutex_unlock(&p->lock);
    return;
  }
  pthread_mutex_lock(&p->lock);
  if (p->line_shown) {
    fputs("\r\033[K", stdout);
    fflush(stdout);
    p->line_shown = 0;
    p->last_draw_ns = 0; /* redraw at the next update */
  }
}

void progress_init(progress_t *p, int level) {
  p->enabled = level > 0;
  p->live = level > 1 && isatty(STDOUT_FILENO);
  p->line_shown = 0;
  p->start_ns = td3_now_ns();
  p->offset_s = 0;
  p->last_draw_ns = 0;
  p->window_ns = p->window_steps = p->window_updates = 0;
  p->steps_rate = p->updates_rate = -1;
  pthread_mutex_init(&p->lock, NULL);
  p->hooked = p->enabled && p->live;
  if (p->hooked) log_set_console_hook(on_log, p);
}

double progress_elapsed(const progress_t *p) {
  return p->offset_s + (double)(td3_now_ns() - p->start_ns) * 1e-9;
}

static void clear_line(progress_t *p) {
  if (p->line_shown) {
    fputs("\r\033[K", stdout);
    p->line_shown = 0;
  }
}

/* The window over which the live line's rates are measured. */
#define PROGRESS_WINDOW_NS 3000000000ULL

/* Moves the rate window on once it is PROGRESS_WINDOW_NS long. */
static void measure_rates(progress_t *p, const progress_status_t *s, uint64_t now) {
  if (!p->window_ns || s->env_steps < p->window_steps || s->updates < p->window_updates) {
    p->window_ns = now; /* first call, or the counters went back (a new run): start over */
    p->window_steps = s->env_steps;
    p->window_updates = s->updates;
    return;
  }
  if (now - p->window_ns < PROGRESS_WINDOW_NS) return;
  double dt = (double)(now - p->window_ns) * 1e-9;
  p->steps_rate = (double)(s->env_steps - p->window_steps) / dt;
  p->updates_rate = (double)(s->updates - p->window_updates) / dt;
  p->window_ns = now;
  p->window_steps = s->env_steps;
  p->window_updates = s->updates;
}

void progress_update(progress_t *p, const progress_status_t *s) {
  if (!p->enabled || !p->live) return;
  uint64_t now = td3_now_ns();
  measure_rates(p, s, now);
  /* last_draw_ns is the log hook's too (a log line from any thread asks for a redraw) */
  pthread_mutex_lock(&p->lock);
  if (now - p->last_draw_ns < 250000000ULL) {
    pthread_mutex_unlock(&p->lock);
    return;
  }
  p->last_draw_ns = now;
  char eval[32] = "-", eta[32] = "-", sps[32] = "-", ups[32] = "-";
  if (isfinite(s->last_eval)) snprintf(eval, sizeof eval, "%.1f", s->last_eval);
  if (p->steps_rate >= 0) {
    snprintf(sps, sizeof sps, "%.0f", p->steps_rate);
    snprintf(ups, sizeof ups, "%.0f", p->updates_rate);
  }
  if (p->steps_rate > 0 && s->total_steps > s->env_steps)
    snprintf(eta, sizeof eta, "%.0fs", (double)(s->total_steps - s->env_steps) / p->steps_rate);
  clear_line(p);
  printf("steps %llu/%llu | %s steps/s | %s updates/s | replay %zu | last eval %s | ETA %s",
         (unsigned long long)s->env_steps, (unsigned long long)s->total_steps, sps, ups,
         s->replay_size, eval, eta);
  fflush(stdout);
  p->line_shown = 1;
  pthread_mutex_unlock(&p->lock);
}

void progress_print(progress_t *p, const char *fmt, ...) {
  if (!p->enabled) return;
  pthread_mutex_lock(&p->lock);
  clear_line(p);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
  p->last_draw_ns = 0; /* redraw the live line at the next update */
  pthread_mutex_unlock(&p->lock);
}

void progress_finish(progress_t *p) {
  if (p->hooked) {
    log_set_console_hook(NULL, NULL);
    p->hooked = 0;
  }
  pthread_mutex_lock(&p->lock);
  clear_line(p);
  fflush(stdout);
  pthread_mutex_unlock(&p->lock);
}
