/* Allocation wrappers that abort with file:line on out-of-memory, and checked size math.
 *
 * td3d allocates at start-up; running out of memory there is not recoverable, so callers
 * carry no NULL checks. Size products that come from outside (a flag, a file, a peer) must
 * go through td3_size_mul first, which reports overflow instead of wrapping. */
#ifndef TD3_XALLOC_H
#define TD3_XALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *td3_xmalloc_at(size_t n, const char *file, int line);
void *td3_xcalloc_at(size_t count, size_t size, const char *file, int line);
void *td3_xrealloc_at(void *p, size_t n, const char *file, int line);
char *td3_xstrdup_at(const char *s, const char *file, int line);
/* 64-byte aligned (cache line / SIMD); free with free(). */
void *td3_xaligned_at(size_t n, const char *file, int line);

#define xmalloc(n) td3_xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(c, s) td3_xcalloc_at((c), (s), __FILE__, __LINE__)
#define xrealloc(p, n) td3_xrealloc_at((p), (n), __FILE__, __LINE__)
#define xstrdup(s) td3_xstrdup_at((s), __FILE__, __LINE__)
#define xaligned(n) td3_xaligned_at((n), __FILE__, __LINE__)

/* Bytes this process may still allocate and touch: the kernel's MemAvailable, or less under
 * a finite RLIMIT_AS / RLIMIT_DATA; 0 when unknown. For refusing sizes that come from flags
 * with a clear error before an allocation that would abort or be killed. */
size_t td3_memory_available(void);

/* 1 if n bytes fit in nine tenths of td3_memory_available (or it is unknown). */
int td3_memory_fits(size_t n);

/* *out = a * b; returns false (and leaves *out alone) on overflow. */
static inline bool td3_size_mul(size_t a, size_t b, size_t *out) {
  size_t r;
  if (__builtin_mul_overflow(a, b, &r)) return false;
  *out = r;
  return true;
}

#endif
