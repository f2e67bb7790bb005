/* A cap on Hellos: a token bucket for each key (a ZeroMQ routing id, a peer address or a
 * CURVE client key), hashed into a fixed table, so the memory does not grow with
 * connections; keys that share a bucket share its allowance, which only ever makes the cap
 * stricter.
 *
 * The control socket keeps three (learner_control.c): per connection, a burst of 4, then 2 a
 * second (a real actor says Hello at most every 250 ms and backs off to 4 s, so this never
 * binds on it); per peer address and per CURVE key, a burst of the slot count + 4, then the
 * larger of 2 and a quarter of the slots a second, so a host that opens many connections
 * (or holds one key on many) gets no more than that in all, while every actor of a host can
 * still start at once. A Hello over any of them is dropped and counted.
 *
 * Thread safety: one thread (the learner's main thread) uses a limiter. */
#ifndef TD3_HELLO_LIMIT_H
#define TD3_HELLO_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define HELLO_LIMIT_BUCKETS 1024

typedef struct hello_limit {
  double rate;                 /* Hellos a second a connection may say */
  double burst;                /* and at once */
  struct {
    uint64_t at_ns;            /* last refill; 0: never used */
    double tokens;
  } b[HELLO_LIMIT_BUCKETS];
} hello_limit_t;

void hello_limit_init(hello_limit_t *hl, double rate, double burst);

/* 1 if the connection with routing id (len bytes) may say Hello at now_ns (and takes a
 * token), 0 if the Hello is to be dropped. */
int hello_limit_allow(hello_limit_t *hl, const void *id, size_t len, uint64_t now_ns);

#endif
