/* The rate limiter: holds TD3 updates per inserted transition at a target ratio, whatever
 * the number of actors (the authors' loop does one update per environment step).
 *
 * With I transitions inserted, U updates done, start steps S and ratio r:
 *   - the trainer may run an update while U < r * (I - S) (nothing before I >= S);
 *   - ingest may accept a batch of n while r * (I + n - S) - U <= r * max_lead, i.e. the data
 *     is at most max_lead transitions ahead of training, and whenever the trainer owes no
 *     update (so a ratio below 1 / max_lead cannot stall); before S everything is accepted.
 * When ingest refuses, the learner stops reading its experience socket, the ZeroMQ queues
 * fill and actors feel back-pressure. When the trainer may not update, it waits for data.
 * Neither side waits without a timeout; ratelimit_state names what each is waiting for.
 *
 * Pure arithmetic on caller-provided counters: thread safety is the caller's (the learner
 * reads its atomics and calls these). */
#ifndef TD3_RATELIMIT_H
#define TD3_RATELIMIT_H

#include <stdint.h>

typedef struct ratelimit {
  double ratio;        /* target updates per inserted transition; 0 turns training off and
                          admits everything (ingest benchmarks) */
  uint64_t start;      /* transitions before training starts */
  uint64_t max_lead;   /* transitions the data may run ahead of training (>= 1 batch) */
} ratelimit_t;

typedef enum ratelimit_state {
  RL_COLLECTING = 0,   /* before start steps: no training, ingest unlimited */
  RL_BALANCED,         /* both sides may proceed */
  RL_WAIT_DATA,        /* the trainer is ahead: it waits for transitions */
  RL_WAIT_TRAINER      /* the data is ahead by max_lead: ingest pauses, actors are throttled */
} ratelimit_state_t;

/* Updates the trainer may still run now (0 when it must wait). */
uint64_t ratelimit_updates_allowed(const ratelimit_t *rl, uint64_t inserted, uint64_t updates);

/* 1 if ingest may accept n more transitions now. */
int ratelimit_accept(const ratelimit_t *rl, uint64_t inserted, uint64_t updates, uint64_t n);

ratelimit_state_t ratelimit_state(const ratelimit_t *rl, uint64_t inserted, uint64_t updates,
                                  uint64_t pending);
const char *ratelimit_state_name(ratelimit_state_t s);

#endif
