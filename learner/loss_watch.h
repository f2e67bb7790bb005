/* A watch on the critic loss: notices when it explodes by orders of magnitude against its
 * recent level (poisoned transitions within the ingest bounds, a learning rate too high), so
 * that /healthz can say so long before a non-finite update would.
 *
 * Two exponential averages of log10(loss): a fast one (about the last LOSS_WATCH_FAST
 * updates) and a slow one (about the last LOSS_WATCH_SLOW), so one odd batch moves neither
 * much and a legitimate rise over thousands of updates moves both. The loss has exploded
 * when the fast level is LOSS_WATCH_FACTOR times the slow one or more, once LOSS_WATCH_WARMUP
 * losses were seen; the slow level is then frozen (the explosion must not become the new
 * normal) until the fast one is back within LOSS_WATCH_CLEAR times it. Levels below
 * LOSS_WATCH_FLOOR count as that floor: a loss that starts near 0 (rewards near 0 at first,
 * as in MountainCar) may grow a thousandfold without anything being wrong.
 *
 * Plain data, no allocation; the caller serializes access (the trainer thread updates it,
 * the main thread copies it under the learner's weights lock). */
#ifndef TD3_LOSS_WATCH_H
#define TD3_LOSS_WATCH_H

#include <stdint.h>

#define LOSS_WATCH_FAST 8.0       /* updates, time constant of the fast level */
#define LOSS_WATCH_SLOW 1000.0    /* updates, time constant of the slow level */
#define LOSS_WATCH_WARMUP 100     /* losses before the watch may raise an alarm */
#define LOSS_WATCH_FACTOR 1000.0  /* fast / slow that counts as an explosion */
#define LOSS_WATCH_CLEAR 10.0     /* fast / frozen slow under which the alarm ends */
#define LOSS_WATCH_FLOOR 1.0      /* loss level below which nothing counts as exploded */

typedef struct loss_watch {
  double fast_log, slow_log; /* exponential averages of log10(loss) */
  uint64_t n;                /* finite losses seen */
  int exploded;              /* 1 while the loss is exploded */
  uint64_t explosions;       /* times it exploded */
} loss_watch_t;

/* Starts with nothing seen. */
void loss_watch_init(loss_watch_t *w);

/* Takes one update's loss (a non-finite or negative one is ignored). Returns 1 when this
 * loss made the watch raise or clear its alarm, else 0. */
int loss_watch_add(loss_watch_t *w, double loss);

/* The fast (latest) and slow (recent) levels, in loss units; NaN before the first loss. */
double loss_watch_latest(const loss_watch_t *w);
double loss_watch_recent(const loss_watch_t *w);

#endif
