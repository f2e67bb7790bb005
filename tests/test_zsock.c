/* Tests for common/net/zsock: the options zsock_open sets before the bind or connect, read
 * back from ZeroMQ, and a connect that nothing answers giving up after the connect timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zsock.h"

#include <string.h>
#include <zmq.h>

static int get_int(void *s, int opt) {
  int v = -12345;
  size_t len = sizeof v;
  assert_int_equal(zmq_getsockopt(s, opt, &v, &len), 0);
  return v;
}

/* connecting sockets get the 3 s connect timeout unless told otherwise; bound ones keep
 * ZeroMQ's none (the option is a connecter's) */
static void connect_timeout_default(void **state) {
  (void)state;
  void *ctx = zmq_ctx_new();
  td3_err_t err = {0};
  zsock_opts_t o = {.linger_ms = 0};
  void *c = zsock_open(ctx, ZMQ_PUSH, &o, "tcp://127.0.0.1:1", 0, &err);
  assert_non_null(c);
  assert_int_equal(get_int(c, ZMQ_CONNECT_TIMEOUT), ZSOCK_CONNECT_TIMEOUT_MS);
  assert_int_equal(ZSOCK_CONNECT_TIMEOUT_MS, 3000);
  zsock_close(&c);
  assert_null(c);
  void *n = zsock_open(ctx, ZMQ_DEALER, NULL, "tcp://127.0.0.1:1", 0, &err);
  assert_non_null(n);
  assert_int_equal(get_int(n, ZMQ_CONNECT_TIMEOUT), ZSOCK_CONNECT_TIMEOUT_MS);
  zsock_close(&n);
  o.connect_timeout_ms = 250;
  void *t = zsock_open(ctx, ZMQ_SUB, &o, "tcp://127.0.0.1:1", 0, &err);
  assert_non_null(t);
  assert_int_equal(get_int(t, ZMQ_CONNECT_TIMEOUT), 250);
  zsock_close(&t);
  o.connect_timeout_ms = -1;
  void *k = zsock_open(ctx, ZMQ_PUSH, &o, "tcp://127.0.0.1:1", 0, &err);
  assert_non_null(k);
  assert_int_equal(get_int(k, ZMQ_CONNECT_TIMEOUT), 0);
  zsock_close(&k);
  o.connect_timeout_ms = 0;
  void *b = zsock_open(ctx, ZMQ_PULL, &o, "tcp://127.0.0.1:*", 1, &err);
  assert_non_null(b);
  assert_int_equal(get_int(b, ZMQ_CONNECT_TIMEOUT), 0);
  zsock_close(&b);
  zsock_close(&b); /* a second close is a no-op */
  zmq_ctx_term(ctx);
}

/* the other options are set too, and a failing connect names its endpoint */
static void options_and_errors(void **state) {
  (void)state;
  void *ctx = zmq_ctx_new();
  td3_err_t err = {0};
  zsock_opts_t o = {.sndhwm = 7, .rcvhwm = 9, .linger_ms = 20, .immediate = 1,
                    .reconnect_ivl_ms = 100, .reconnect_ivl_max_ms = 2000};
  void *s = zsock_open(ctx, ZMQ_DEALER, &o, "tcp://127.0.0.1:1", 0, &err);
  assert_non_null(s);
  assert_int_equal(get_int(s, ZMQ_SNDHWM), 7);
  assert_int_equal(get_int(s, ZMQ_RCVHWM), 9);
  assert_int_equal(get_int(s, ZMQ_LINGER), 20);
  assert_int_equal(get_int(s, ZMQ_IMMEDIATE), 1);
  assert_int_equal(get_int(s, ZMQ_RECONNECT_IVL), 100);
  assert_int_equal(get_int(s, ZMQ_RECONNECT_IVL_MAX), 2000);
  zsock_close(&s);
  assert_null(zsock_open(ctx, ZMQ_PUSH, NULL, "tcp://no-such-endpoint", 0, &err));
  assert_non_null(strstr(err.msg, "tcp://no-such-endpoint"));
  zmq_ctx_term(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(connect_timeout_default),
      cmocka_unit_test(options_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
