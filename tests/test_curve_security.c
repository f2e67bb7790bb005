/* Tests for common/net/curve_security: key files (made, read, refused when damaged or
 * mismatched; their directory made, private, when missing), the authorized keys directory, and the ZAP handler over real CURVE sockets on loopback: an
 * authorized client's message arrives, an unauthorized client's handshake fails with an
 * authentication event and nothing of it arrives, a client without CURVE fails with a
 * mechanism mismatch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "curve_security.h"
#include "zap_guard.h"
#include "zsock.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static char g_dir[64];

static int setup(void **state) {
  (void)state;
  return tmpdir_create(g_dir, sizeof g_dir, "curve");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_dir);
}

static void path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

static void write_text(const char *name, const char *text) {
  char p[128];
  path(p, sizeof p, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void key_files(void **state) {
  (void)state;
  assert_true(curve_available());
  curve_keypair_t made, back;
  td3_err_t err = {0};
  assert_int_equal(curve_keygen(g_dir, "learner", 0, &made, &err), 0);
  char key[128], pub[128];
  path(key, sizeof key, "learner.key");
  path(pub, sizeof pub, "learner.pub");
  struct stat st;
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600); /* the secret stays private */
  assert_int_equal(stat(pub, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);

  assert_int_equal(curve_read_keypair(key, &back, &err), 0);
  assert_string_equal(back.public_key, made.public_key);
  assert_string_equal(back.secret_key, made.secret_key);
  char z85[CURVE_Z85_LEN + 1];
  assert_int_equal(curve_read_public(pub, z85, &err), 0);
  assert_string_equal(z85, made.public_key);
  assert_int_equal(curve_read_public(key, z85, &err), 0); /* a .key has the public key too */
  assert_string_equal(z85, made.public_key);

  /* existing files: refused unless overwrite, which makes a new pair */
  assert_int_equal(curve_keygen(g_dir, "learner", 0, NULL, &err), TD3_EINVAL);
  assert_non_null(strstr(err.msg, "exists"));
  assert_int_equal(curve_keygen(g_dir, "learner", 1, &back, &err), 0);
  assert_string_not_equal(back.public_key, made.public_key);
  /* names that could leave the directory */
  assert_int_equal(curve_keygen(g_dir, "../x", 0, NULL, &err), TD3_EINVAL);
  assert_int_equal(curve_keygen(g_dir, ".hidden", 0, NULL, &err), TD3_EINVAL);
  assert_int_equal(curve_keygen(g_dir, "", 0, NULL, &err), TD3_EINVAL);
}

/* A missing key directory is made, with its parents, for its owner alone; a file in the way
 * is refused. */
static void key_directory_created(void **state) {
  (void)state;
  char parent[128], deep[128], key[160];
  path(parent, sizeof parent, "keys");
  path(deep, sizeof deep, "keys/site");
  snprintf(key, sizeof key, "%s/learner.key", deep);
  curve_keypair_t made, back;
  td3_err_t err = {0};
  assert_int_equal(curve_keygen(deep, "learner", 0, &made, &err), 0);
  struct stat st;
  assert_int_equal(stat(parent, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(stat(deep, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(curve_read_keypair(key, &back, &err), 0);
  assert_string_equal(back.public_key, made.public_key);
  /* an existing directory is used as it is */
  assert_int_equal(curve_keygen(deep, "actor", 0, NULL, &err), 0);

  write_text("plain", "not a directory\n");
  char plain[128];
  path(plain, sizeof plain, "plain");
  assert_int_equal(curve_keygen(plain, "learner", 0, NULL, &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "not a directory"));
}

static void damaged_key_files(void **state) {
  (void)state;
  curve_keypair_t a, b, kp;
  td3_err_t err = {0};
  assert_int_equal(curve_keygen(g_dir, "a", 0, &a, &err), 0);
  assert_int_equal(curve_keygen(g_dir, "b", 0, &b, &err), 0);
  char p[128], text[256];

  /* a public key given where the pair is needed */
  path(p, sizeof p, "a.pub");
  assert_int_equal(curve_read_keypair(p, &kp, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "no secret-key line"));
  /* one pair's public key with another's secret key */
  snprintf(text, sizeof text, "public-key %s\nsecret-key %s\n", a.public_key, b.secret_key);
  write_text("mixed.key", text);
  path(p, sizeof p, "mixed.key");
  assert_int_equal(curve_read_keypair(p, &kp, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "does not belong"));
  /* a cut key, a stray line, no key at all, no file */
  write_text("short.pub", "public-key abc\n");
  path(p, sizeof p, "short.pub");
  assert_int_equal(curve_read_public(p, text, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "short.pub:1"));
  write_text("stray.pub", "# comment\n\nhello world\n");
  path(p, sizeof p, "stray.pub");
  assert_int_equal(curve_read_public(p, text, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "stray.pub:3"));
  write_text("empty.pub", "# nothing\n");
  path(p, sizeof p, "empty.pub");
  assert_int_equal(curve_read_public(p, text, &err), TD3_EFORMAT);
  path(p, sizeof p, "missing.pub");
  assert_int_equal(curve_read_public(p, text, &err), TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "missing.pub"));
}

static void authorized_directory(void **state) {
  (void)state;
  char dir[128], p[160];
  path(dir, sizeof dir, "auth");
  assert_int_equal(mkdir(dir, 0755), 0);
  curve_authorized_t auth;
  td3_err_t err = {0};
  assert_int_equal(curve_authorized_load(dir, &auth, &err), TD3_ENOTFOUND); /* empty */
  assert_non_null(strstr(err.msg, "no .pub file"));
  curve_keypair_t k1, k2, k3;
  assert_int_equal(curve_keygen(dir, "actor1", 0, &k1, &err), 0);
  assert_int_equal(curve_keygen(dir, "actor2", 0, &k2, &err), 0);
  assert_int_equal(curve_keygen(g_dir, "outsider", 0, &k3, &err), 0);
  assert_int_equal(curve_authorized_load(dir, &auth, &err), 0);
  assert_int_equal(auth.n, 2); /* the .key files beside them are not read */
  uint8_t raw[32];
  zmq_z85_decode(raw, k2.public_key);
  int i = curve_authorized_find(&auth, raw);
  assert_true(i >= 0);
  assert_string_equal(auth.names[i], "actor2");
  zmq_z85_decode(raw, k3.public_key);
  assert_int_equal(curve_authorized_find(&auth, raw), -1);
  curve_authorized_free(&auth);
  /* one damaged file spoils the directory, named */
  snprintf(p, sizeof p, "%s/bad.pub", dir);
  FILE *f = fopen(p, "w");
  fputs("public-key 0123\n", f);
  fclose(f);
  assert_int_equal(curve_authorized_load(dir, &auth, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "bad.pub"));
  snprintf(p, sizeof p, "%s/nowhere", g_dir);
  assert_int_equal(curve_authorized_load(p, &auth, &err), TD3_ENOTFOUND);
}

/* Waits up to 5 s for a message on s; returns its size or -1. */
static int recv_within(void *s, char *buf, size_t cap) {
  zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
  if (zmq_poll(&it, 1, 5000) <= 0) return -1;
  return zmq_recv(s, buf, cap, 0);
}

/* Waits up to 5 s for a handshake failure event on mon; returns the event or 0. */
static int event_within(void *mon, uint32_t *value) {
  for (int i = 0; i < 100; i++) {
    int ev;
    if (curve_monitor_next(mon, &ev, value)) return ev;
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

static void zap_over_sockets(void **state) {
  (void)state;
  char dir[128];
  path(dir, sizeof dir, "zapauth");
  assert_int_equal(mkdir(dir, 0755), 0);
  td3_err_t err = {0};
  curve_keypair_t server, good, bad;
  assert_int_equal(curve_keygen(g_dir, "server", 0, &server, &err), 0);
  assert_int_equal(curve_keygen(dir, "good", 0, &good, &err), 0);
  assert_int_equal(curve_keygen(g_dir, "bad", 0, &bad, &err), 0);
  curve_authorized_t auth;
  assert_int_equal(curve_authorized_load(dir, &auth, &err), 0);

  void *ctx = zmq_ctx_new();
  zap_guard_t *zap = zap_guard_start(ctx, &(zap_guard_config_t){.auth = &auth}, &err);
  assert_non_null(zap);
  curve_sock_t sc = {.server = 1};
  sc.own = server;
  zsock_opts_t so = {.curve = &sc};
  const char *ep = "tcp://127.0.0.1:28960";
  void *pull = zsock_open(ctx, ZMQ_PULL, &so, ep, 1, &err);
  assert_non_null(pull);

  /* a client whose key is not authorized: an authentication failure, nothing delivered */
  curve_sock_t cb = {0};
  cb.own = bad;
  memcpy(cb.server_key, server.public_key, sizeof cb.server_key);
  void *mon = NULL, *mon_plain = NULL;
  zsock_opts_t bo = {.curve = &cb, .immediate = 1, .monitor = &mon};
  void *push_bad = zsock_open(ctx, ZMQ_PUSH, &bo, ep, 0, &err);
  assert_non_null(push_bad);
  assert_non_null(mon);
  zmq_send(push_bad, "from-bad", 8, ZMQ_DONTWAIT);
  uint32_t value = 0;
  int ev = event_within(mon, &value);
  assert_int_equal(ev, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  assert_int_equal(value, 400);
  int fatal;
  const char *why = curve_handshake_problem(ev, value, 1, &fatal);
  assert_int_equal(fatal, 1);
  assert_non_null(strstr(why, "--curve-authorized"));
  assert_true(zap_guard_refused(zap) >= 1);

  /* a client without CURVE: a mechanism mismatch, nothing delivered */
  zsock_opts_t no = {.immediate = 1, .monitor = &mon_plain};
  void *push_plain = zsock_open(ctx, ZMQ_PUSH, &no, ep, 0, &err);
  assert_non_null(push_plain);
  assert_non_null(mon_plain);
  zmq_send(push_plain, "from-plain", 10, ZMQ_DONTWAIT);
  ev = event_within(mon_plain, &value);
  assert_int_equal(ev, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
  why = curve_handshake_problem(ev, value, 0, &fatal);
  assert_int_equal(fatal, 1);
  assert_non_null(strstr(why, "uses CURVE security"));

  /* the authorized client gets through */
  curve_sock_t cg = {0};
  cg.own = good;
  memcpy(cg.server_key, server.public_key, sizeof cg.server_key);
  zsock_opts_t go = {.curve = &cg};
  void *push_good = zsock_open(ctx, ZMQ_PUSH, &go, ep, 0, &err);
  assert_non_null(push_good);
  assert_int_equal(zmq_send(push_good, "from-good", 9, 0), 9);
  char buf[32];
  int n = recv_within(pull, buf, sizeof buf);
  assert_int_equal(n, 9);
  assert_memory_equal(buf, "from-good", 9);
  assert_true(zap_guard_accepted(zap) >= 1);
  /* and nothing else ever arrived */
  zmq_pollitem_t it = {pull, 0, ZMQ_POLLIN, 0};
  assert_int_equal(zmq_poll(&it, 1, 300), 0);

  zsock_close(&mon);
  zsock_close(&mon_plain);
  zsock_close(&push_bad);
  zsock_close(&push_plain);
  zsock_close(&push_good);
  zsock_close(&pull);
  zap_guard_stop(&zap);
  assert_null(zap);
  zmq_ctx_term(ctx);
  curve_authorized_free(&auth);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(key_files, setup, teardown),
      cmocka_unit_test_setup_teardown(key_directory_created, setup, teardown),
      cmocka_unit_test_setup_teardown(damaged_key_files, setup, teardown),
      cmocka_unit_test_setup_teardown(authorized_directory, setup, teardown),
      cmocka_unit_test_setup_teardown(zap_over_sockets, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
