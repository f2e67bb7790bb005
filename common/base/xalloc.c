/* Aborting allocation wrappers (see xalloc.h). */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void oom(size_t n, const char *file, int line) {
  fprintf(stderr, "td3d: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
  abort();
}

void *td3_xmalloc_at(size_t n, const char *file, int line) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n, file, line);
  return p;
}

void *td3_xcalloc_at(size_t count, size_t size, const char *file, int line) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) oom(count * size, file, line);
  return p;
}

void *td3_xrealloc_at(void *p, size_t n, const char *file, int line) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n, file, line);
  return q;
}

char *td3_xstrdup_at(const char *s, const char *file, int line) {
  size_t n = strlen(s) + 1;
  char *p = td3_xmalloc_at(n, file, line);
  memcpy(p, s, n);
  return p;
}

void *td3_xaligned_at(size_t n, const char *file, int line) {
  void *p = NULL;
  size_t rounded = (n + 63) & ~(size_t)63;
  if (rounded < n || posix_memalign(&p, 64, rounded ? rounded : 64) != 0) oom(n, file, line);
  return p;
}

size_t td3_memory_available(void) {
  size_t avail = 0;
  FILE *f = fopen("/proc/meminfo", "r");
  if (f) {
    char line[128];
    unsigned long long kb;
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
        avail = (size_t)kb * 1024;
        break;
      }
    fclose(f);
  }
  if (!avail) {
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && size > 0) avail = (size_t)pages * (size_t)size;
  }
  int kinds[] = {RLIMIT_AS, RLIMIT_DATA};
  for (int i = 0; i < 2; i++) {
    struct rlimit rl;
    if (getrlimit(kinds[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (!avail || (size_t)rl.rlim_cur < avail))
      avail = (size_t)rl.rlim_cur;
  }
  return avail;
}

int td3_memory_fits(size_t n) {
  size_t avail = td3_memory_available();
  return !avail || n <= avail - avail / 10;
}
