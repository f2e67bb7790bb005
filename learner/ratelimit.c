/* Rate limiter arithmetic (see ratelimit.h). */
#include "ratelimit.h"

#include <math.h>

/* Updates owed for this many inserted transitions: floor(r * (I - S)). */
static uint64_t owed(const ratelimit_t *rl, uint64_t inserted) {
  if (inserted < rl->start) return 0;
  return (uint64_t)floor(rl->ratio * (double)(inserted - rl->start));
}

uint64_t ratelimit_updates_allowed(const ratelimit_t *rl, uint64_t inserted, uint64_t updates) {
  if (!(rl->ratio > 0)) return 0; /* training off */
  uint64_t o = owed(rl, inserted);
  return o > updates ? o - updates : 0;
}

/* Transitions past the start not yet matched by updates, in transitions. */
static double backlog(const ratelimit_t *rl, uint64_t inserted, uint64_t updates) {
  double past = inserted > rl->start ? (double)(inserted - rl->start) : 0.0;
  return past - (double)updates / rl->ratio;
}

int ratelimit_accept(const ratelimit_t *rl, uint64_t inserted, uint64_t updates, uint64_t n) {
  if (!(rl->ratio > 0)) return 1; /* training off: ingest only */
  /* Accept when the trainer owes no update, whatever n (a batch larger than max_lead must
   * not stall the run, nor a ratio whose one update needs more than max_lead transitions),
   * or when the backlog after this batch stays within max_lead. */
  if (ratelimit_updates_allowed(rl, inserted, updates) == 0) return 1;
  return backlog(rl, inserted + n, updates) <= (double)rl->max_lead;
}

ratelimit_state_t ratelimit_state(const ratelimit_t *rl, uint64_t inserted, uint64_t updates,
                                  uint64_t pending) {
  if (inserted < rl->start) return RL_COLLECTING;
  if (pending && !ratelimit_accept(rl, inserted, updates, pending)) return RL_WAIT_TRAINER;
  if (ratelimit_updates_allowed(rl, inserted, updates) == 0) return RL_WAIT_DATA;
  return RL_BALANCED;
}

const char *ratelimit_state_name(ratelimit_state_t s) {
  switch (s) {
  case RL_COLLECTING: return "collecting";
  case RL_BALANCED: return "balanced";
  case RL_WAIT_DATA: return "waiting_for_data";
  case RL_WAIT_TRAINER: return "waiting_for_trainer";
  }
  return "unknown";
}
