/* Logging (see log.h). */
#include "log.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int g_level = LOG_INFO;
static char g_tag[32] = "td3d";

void log_set_level(log_level_t level) { atomic_store(&g_level, (int)level); }

log_level_t log_get_level(void) { return (log_level_t)atomic_load(&g_level); }

void log_set_tag(const char *tag) {
  /* Called from main before threads start. */
  snprintf(g_tag, sizeof g_tag, "%s", tag ? tag : "td3d");
}

int log_level_parse(const char *s, log_level_t *out) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, names[i]) == 0) {
      *out = (log_level_t)i;
      return 0;
    }
  }
  return TD3_EINVAL;
}

int log_init_from_env(void) {
  const char *v = getenv("TD3D_LOG_LEVEL");
  if (!v || !*v) return 0;
  log_level_t l;
  if (log_level_parse(v, &l) != 0) return TD3_EINVAL;
  log_set_level(l);
  return 0;
}

uint64_t td3_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void td3_sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void (*_Atomic g_console_hook)(int before, void *ctx);
static void *_Atomic g_console_ctx;

void log_set_console_hook(void (*hook)(int before, void *ctx), void *ctx) {
  /* a writer that read the old hook may read the new ctx: hooks accept NULL as "do nothing" */
  atomic_store(&g_console_hook, NULL);
  atomic_store(&g_console_ctx, ctx);
  atomic_store(&g_console_hook, hook);
}

static void vlog(log_level_t level, uint64_t suppressed, const char *fmt, va_list ap) {
  static const char letters[] = "EWID";
  char line[2048];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  /* On a terminal the line first returns to column 0 and clears it: another process (the
   * learner under td3d run) may have left its live progress line there without a newline.
   * Asked each time: a test may point stderr elsewhere. */
  const char *clear = isatty(STDERR_FILENO) ? "\r\033[K" : "";
  int n = snprintf(line, sizeof line, "%s%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %c [%s] ", clear,
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, ts.tv_nsec / 1000000L, letters[level], g_tag);
  if (n < 0) return;
  size_t used = (size_t)n;
  int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
  if (m > 0) used += (size_t)m;
  if (used > sizeof line - 64) used = sizeof line - 64; /* truncated: keep room for tail */
  if (suppressed)
    used += (size_t)snprintf(line + used, sizeof line - used, " (%llu similar suppressed)",
                             (unsigned long long)suppressed);
  line[used++] = '\n';
  void (*hook)(int, void *) = atomic_load(&g_console_hook);
  void *ctx = atomic_load(&g_console_ctx);
  if (hook) hook(1, ctx);
  ssize_t w = write(STDERR_FILENO, line, used);
  (void)w; /* nothing sensible to do if stderr is gone */
  if (hook) hook(0, ctx);
}

void log_msg(log_level_t level, const char *fmt, ...) {
  if ((int)level > atomic_load(&g_level)) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(level, 0, fmt, ap);
  va_end(ap);
}

int log_limited(log_limit_t *lim, uint32_t interval_ms, log_level_t level, const char *fmt,
                ...) {
  if ((int)level > atomic_load(&g_level)) return 0;
  uint64_t now = td3_now_ns();
  uint64_t next = atomic_load(&lim->next_ns);
  /* Only the thread that wins the exchange prints; the others count a suppression. */
  if (now < next ||
      !atomic_compare_exchange_strong(&lim->next_ns, &next,
                                      now + (uint64_t)interval_ms * 1000000ULL)) {
    atomic_fetch_add(&lim->suppressed, 1);
    return 0;
  }
  uint64_t suppressed = atomic_exchange(&lim->suppressed, 0);
  va_list ap;
  va_start(ap, fmt);
  vlog(level, suppressed, fmt, ap);
  va_end(ap);
  return 1;
}
