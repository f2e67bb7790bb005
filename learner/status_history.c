/* The status snapshot's throughput history and its rates (see status.h): a ring of counter
 * samples that lives inside the snapshot, so it is copied with it and allocated with it. */
#include "status.h"

#include <assert.h>

void status_history_push(status_snapshot_t *s, const status_sample_t *smp) {
  if (s->n_history < STATUS_HISTORY) {
    s->history[s->n_history++] = *smp;
    return;
  }
  s->history[s->history_head] = *smp; /* the oldest makes room */
  s->history_head = (s->history_head + 1) % STATUS_HISTORY;
}

const status_sample_t *status_history_at(const status_snapshot_t *s, uint32_t i) {
  assert(i < s->n_history);
  uint32_t oldest = s->n_history < STATUS_HISTORY ? 0 : s->history_head;
  return &s->history[(oldest + i) % STATUS_HISTORY];
}

void status_history_update(status_snapshot_t *s, const status_sample_t *now) {
  if (s->n_history == 0 ||
      now->wall_seconds - status_history_at(s, s->n_history - 1)->wall_seconds >=
          STATUS_HISTORY_EVERY_S)
    status_history_push(s, now);
  /* the newest sample at least a window old; the samples are a few seconds apart, so the
   * walk back from the newest is short */
  const status_sample_t *from = status_history_at(s, 0);
  for (uint32_t i = s->n_history; i-- > 0;) {
    const status_sample_t *smp = status_history_at(s, i);
    if (now->wall_seconds - smp->wall_seconds >= STATUS_RATE_WINDOW_S) {
      from = smp;
      break;
    }
  }
  double dt = now->wall_seconds - from->wall_seconds;
  if (!(dt > 0)) {
    s->env_steps_per_s = s->updates_per_s = 0;
    return;
  }
  /* the learner's counters never go back; a caller's that did would read as 0, not as a huge
   * unsigned difference */
  s->env_steps_per_s =
      now->env_steps >= from->env_steps ? (double)(now->env_steps - from->env_steps) / dt : 0;
  s->updates_per_s =
      now->updates >= from->updates ? (double)(now->updates - from->updates) / dt : 0;
}
