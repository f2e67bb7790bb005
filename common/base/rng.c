/* Random number streams (see rng.h). */
#include "rng.h"

#include <math.h>

/* SplitMix64 step: a bijective mixer used to expand seeds into generator state. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void rng_init(rng_t *r, uint64_t seed, uint64_t stream) {
  /* Hash (seed, stream) into one 64-bit key, then expand the key with SplitMix64. Two
   * rounds keep nearby seeds and nearby stream ids far apart in the key space. */
  uint64_t a = seed, b = stream ^ 0x6a09e667f3bcc909ULL;
  uint64_t key = splitmix64(&a) ^ (splitmix64(&b) * 0xd1342543de82ef95ULL);
  key = splitmix64(&key);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&key);
  if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
  r->spare = 0.0;
  r->has_spare = 0;
  r->pad_ = 0;
}

uint64_t rng_below(rng_t *r, uint64_t n) {
  unsigned __int128 m = (unsigned __int128)rng_next_u64(r) * n;
  uint64_t low = (uint64_t)m;
  if (low < n) {
    uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = (unsigned __int128)rng_next_u64(r) * n;
      low = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

double rng_normal(rng_t *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u1, u2;
  do {
    u1 = rng_uniform(r);
  } while (u1 <= 0.0);
  u2 = rng_uniform(r);
  double radius = sqrt(-2.0 * log(u1));
  double angle = 6.28318530717958647692 * u2; /* 2 pi */
  r->spare = radius * sin(angle);
  r->has_spare = 1;
  return radius * cos(angle);
}

void rng_normal_fill(rng_t *r, float *out, size_t n, float mean, float std) {
  for (size_t i = 0; i < n; i++) out[i] = mean + std * (float)rng_normal(r);
}
