/* A cap on Hellos per connection: a token bucket for each ZeroMQ routing id (hashed into a
 * fixed table, so the memory does not grow with connections; connections that share a bucket
 * share its allowance, which only ever makes the cap stricter).
 *
 * A real actor says Hello at most every 250 ms and backs off to 4 s; the default allowance
 * (a burst of 4, then 2 a second) never binds on it, while a peer that floods Hellos over one
 * connection is answered a few times a second and the rest is dropped and counted.
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
