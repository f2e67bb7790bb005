/* The Hello cap (see hello_limit.h). */
#include "hello_limit.h"

#include <string.h>

void hello_limit_init(hello_limit_t *hl, double rate, double burst) {
  memset(hl, 0, sizeof *hl);
  hl->rate = rate;
  hl->burst = burst < 1.0 ? 1.0 : burst;
}

/* FNV-1a over the routing id, then mixed: ZeroMQ's generated ids differ in a counter. */
static uint32_t bucket_of(const void *id, size_t len) {
  const unsigned char *p = id;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (uint32_t)(h % HELLO_LIMIT_BUCKETS);
}

int hello_limit_allow(hello_limit_t *hl, const void *id, size_t len, uint64_t now_ns) {
  uint32_t i = bucket_of(id, len);
  if (hl->b[i].at_ns == 0) {
    hl->b[i].at_ns = now_ns ? now_ns : 1;
    hl->b[i].tokens = hl->burst;
  } else if (now_ns > hl->b[i].at_ns) {
    double t = hl->b[i].tokens + (double)(now_ns - hl->b[i].at_ns) * 1e-9 * hl->rate;
    hl->b[i].tokens = t > hl->burst ? hl->burst : t;
    hl->b[i].at_ns = now_ns;
  }
  if (hl->b[i].tokens < 1.0) return 0;
  hl->b[i].tokens -= 1.0;
  return 1;
}
