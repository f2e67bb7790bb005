/* Tests for common/base/log (level parsing, rate limiting) and common/base/error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void level_parse(void **state) {
  (void)state;
  log_level_t l;
  assert_int_equal(log_level_parse("debug", &l), 0);
  assert_int_equal(l, LOG_DEBUG);
  assert_int_equal(log_level_parse("WARN", &l), 0);
  assert_int_equal(l, LOG_WARN);
  assert_int_equal(log_level_parse("loud", &l), TD3_EINVAL);
  setenv("TD3D_LOG_LEVEL", "error", 1);
  assert_int_equal(log_init_from_env(), 0);
  assert_int_equal(log_get_level(), LOG_ERROR);
  setenv("TD3D_LOG_LEVEL", "nonsense", 1);
  assert_int_equal(log_init_from_env(), TD3_EINVAL);
  assert_int_equal(log_get_level(), LOG_ERROR);
  unsetenv("TD3D_LOG_LEVEL");
  log_set_level(LOG_INFO);
}

static void rate_limit(void **state) {
  (void)state;
  log_set_level(LOG_INFO);
  log_limit_t lim = LOG_LIMIT_INIT;
  int printed = 0;
  for (int i = 0; i < 1000; i++) printed += log_limited(&lim, 60000, LOG_WARN, "bad frame %d", i);
  assert_int_equal(printed, 1);
  assert_int_equal(atomic_load(&lim.suppressed), 999);
  /* after the interval the next line prints and takes the suppressed count with it */
  log_limit_t quick = LOG_LIMIT_INIT;
  assert_int_equal(log_limited(&quick, 1, LOG_WARN, "first"), 1);
  assert_int_equal(log_limited(&quick, 1, LOG_WARN, "second"), 0);
  struct timespec ts = {0, 3 * 1000 * 1000};
  nanosleep(&ts, NULL);
  assert_int_equal(log_limited(&quick, 1, LOG_WARN, "third"), 1);
  assert_int_equal(atomic_load(&quick.suppressed), 0);
  /* below the level: neither printed nor counted */
  log_limit_t quiet = LOG_LIMIT_INIT;
  assert_int_equal(log_limited(&quiet, 1, LOG_DEBUG, "hidden"), 0);
  assert_int_equal(atomic_load(&quiet.suppressed), 0);
}

static void strerror_and_errbuf(void **state) {
  (void)state;
  for (int c = TD3_ECODE_MIN; c <= 0; c++) assert_string_not_equal(td3_strerror(c), "unknown error");
  assert_string_equal(td3_strerror(-999), "unknown error");
  td3_err_t err = {0};
  assert_int_equal(td3_err_set(&err, TD3_ERANGE, "--steps %d must be positive", -3), TD3_ERANGE);
  assert_int_equal(err.code, TD3_ERANGE);
  assert_string_equal(err.msg, "--steps -3 must be positive");
  assert_int_equal(td3_err_set(NULL, TD3_EIO, "x"), TD3_EIO);
}

static void size_mul(void **state) {
  (void)state;
  size_t r = 0;
  assert_true(td3_size_mul(1000, 1000, &r));
  assert_int_equal(r, 1000000);
  assert_false(td3_size_mul(SIZE_MAX / 2 + 1, 2, &r));
  assert_int_equal(r, 1000000);
  void *p = xaligned(100);
  assert_int_equal((uintptr_t)p % 64, 0);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(level_parse),
      cmocka_unit_test(rate_limit),
      cmocka_unit_test(strerror_and_errbuf),
      cmocka_unit_test(size_mul),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
