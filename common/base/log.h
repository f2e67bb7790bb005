/* Logging: levels, timestamps, and a rate limit for repeated messages.
 *
 * Lines go to stderr as `2026-11-21T22:10:03.123Z W [learner] message`. The level comes
 * from log_set_level() or the TD3D_LOG_LEVEL environment variable (error, warn, info,
 * debug). Messages that can repeat at a peer's pace (a bad frame, a full queue) go through a
 * log_limit_t: at most one line per interval, and the next printed line says how many were
 * suppressed. All functions are thread-safe; one write(2) per line keeps lines whole. When
 * stderr is a terminal, each line starts with "\r\033[K" (column 0, clear the line), so it
 * does not land inside a live progress line another process drew there (td3d run's
 * children share one terminal; the process that draws the line clears it itself, see
 * log_set_console_hook). */
#ifndef TD3_LOG_H
#define TD3_LOG_H

#include <stdatomic.h>
#include <stdint.h>

typedef enum log_level {
  LOG_ERROR = 0,
  LOG_WARN = 1,
  LOG_INFO = 2,
  LOG_DEBUG = 3
} log_level_t;

/* Sets the level and the component tag printed on each line (tag is copied; may be NULL). */
void log_set_level(log_level_t level);
void log_set_tag(const char *tag);
log_level_t log_get_level(void);

/* Parses "error", "warn", "info" or "debug"; returns 0 and sets *out, or TD3_EINVAL. */
int log_level_parse(const char *s, log_level_t *out);

/* Applies TD3D_LOG_LEVEL if it is set and valid; returns TD3_EINVAL if set but invalid. */
int log_init_from_env(void);

void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Rate-limit state for one kind of repeated message; zero-initialise (LOG_LIMIT_INIT). */
typedef struct log_limit {
  _Atomic uint64_t next_ns;     /* monotonic time before which lines are suppressed */
  _Atomic uint64_t suppressed;  /* lines dropped since the last printed one */
} log_limit_t;
#define LOG_LIMIT_INIT {0, 0}

/* Logs like log_msg, but at most once per interval_ms for this limit; returns 1 if the
 * line was printed, 0 if it was suppressed (or below the level). */
int log_limited(log_limit_t *lim, uint32_t interval_ms, log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Monotonic clock in nanoseconds. */
uint64_t td3_now_ns(void);

/* Sleeps ms milliseconds (restarting after signals only until a stop is likely: it returns
 * early when a signal interrupts it, so callers re-check their stop flags). */
void td3_sleep_ms(unsigned ms);

/* A console that shares the terminal with log lines (a live progress line) registers a hook:
 * hook(1, ctx) runs before each log line is written (clear the line; the hook may hold a lock
 * until the matching call) and hook(0, ctx) after it. NULL removes it. Any thread may log;
 * the caller of this function keeps ctx alive until it removes the hook. A hook must do
 * nothing when ctx is NULL (a log line racing with the hook's removal may pass NULL). */
void log_set_console_hook(void (*hook)(int before, void *ctx), void *ctx);

#endif
