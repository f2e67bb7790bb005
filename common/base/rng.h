/* Seedable random numbers with independent streams.
 *
 * Generator: xoshiro256** (Blackman & Vigna), 256-bit state, period 2^256 - 1. A stream is
 * named by (seed, stream id): td3d uses the run seed and a stream id per purpose and actor
 * slot (rng_stream_id), so every actor, the evaluator and the trainer draw from their own
 * sequence and a run is reproducible from its seed. The state is plain data: copy it into a
 * checkpoint and back to resume the same sequence.
 *
 * Not thread-safe: each rng_t belongs to one thread. */
#ifndef TD3_RNG_H
#define TD3_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
  uint64_t s[4];        /* xoshiro256** state, never all zero */
  double spare;         /* second Box-Muller normal, valid when has_spare */
  uint32_t has_spare;   /* 1 when spare holds an unused normal draw */
  uint32_t pad_;        /* keeps the layout fixed for checkpoints */
} rng_t;

/* Purposes of streams: combined with an index (slot, env copy) by rng_stream_id. */
enum {
  RNG_PURPOSE_TRAINER = 1,  /* replay sampling and target-smoothing noise */
  RNG_PURPOSE_ACTOR = 2,    /* exploration noise and random actions, per slot */
  RNG_PURPOSE_ENV = 3,      /* environment resets, per slot and env copy */
  RNG_PURPOSE_INIT = 4,     /* network initialisation */
  RNG_PURPOSE_EVAL = 5      /* evaluation environments */
};

/* Stream id for a purpose and an index (e.g. actor slot << 16 | env copy). */
static inline uint64_t rng_stream_id(uint32_t purpose, uint64_t index) {
  return ((uint64_t)purpose << 56) ^ index;
}

/* Initialises r for (seed, stream). Different (seed, stream) pairs give independent
 * sequences; the same pair gives the same sequence on every machine. */
void rng_init(rng_t *r, uint64_t seed, uint64_t stream);

/* Next 64 random bits. */
static inline uint64_t rng_next_u64(rng_t *r) {
  uint64_t *s = r->s;
  uint64_t x = s[1] * 5;
  uint64_t result = ((x << 7) | (x >> 57)) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double rng_uniform(rng_t *r) {
  return (double)(rng_next_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform float in [lo, hi). */
static inline float rng_uniformf(rng_t *r, float lo, float hi) {
  float u = (float)(rng_next_u64(r) >> 40) * 0x1.0p-24f;
  return lo + (hi - lo) * u;
}

/* Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject); n > 0. */
uint64_t rng_below(rng_t *r, uint64_t n);

/* Standard normal N(0, 1) (Box-Muller; caches the second draw). */
double rng_normal(rng_t *r);

/* Fills out[0..n) with N(mean, std^2) as float. */
void rng_normal_fill(rng_t *r, float *out, size_t n, float mean, float std);

#endif
