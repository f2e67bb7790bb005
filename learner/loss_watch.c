/* The critic-loss watch (see loss_watch.h). */
#include "loss_watch.h"

#include <math.h>
#include <string.h>

void loss_watch_init(loss_watch_t *w) { memset(w, 0, sizeof *w); }

int loss_watch_add(loss_watch_t *w, double loss) {
  if (!isfinite(loss) || loss < 0) return 0;
  double floor_log = log10(LOSS_WATCH_FLOOR);
  double v = log10(fmax(loss, LOSS_WATCH_FLOOR * 1e-12)); /* 0 stays finite */
  if (w->n == 0) {
    w->fast_log = w->slow_log = v;
  } else {
    w->fast_log += (v - w->fast_log) / LOSS_WATCH_FAST;
    if (!w->exploded) w->slow_log += (v - w->slow_log) / LOSS_WATCH_SLOW;
  }
  w->n++;
  double base = fmax(w->slow_log, floor_log);
  if (!w->exploded && w->n >= LOSS_WATCH_WARMUP && w->fast_log - base >= log10(LOSS_WATCH_FACTOR)) {
    w->exploded = 1;
    w->explosions++;
    return 1;
  }
  if (w->exploded && w->fast_log - base < log10(LOSS_WATCH_CLEAR)) {
    w->exploded = 0;
    return 1;
  }
  return 0;
}

double loss_watch_latest(const loss_watch_t *w) { return w->n ? pow(10.0, w->fast_log) : NAN; }

double loss_watch_recent(const loss_watch_t *w) { return w->n ? pow(10.0, w->slow_log) : NAN; }
