/* The evaluator token (common/net/eval_token.h, --eval-token-file): who may hold an evaluator's
 * slot, against a live learner on loopback (ports 23370-23395).
 *  1. Token files: a missing, empty, short (15 bytes), overlong (300 bytes) or group- or
 *     world-readable file is refused with a message naming the file; a 0600 file of 16 bytes
 *     and a newline is read without the newline; eval_token_create writes 64 hex characters
 *     with mode 0600 in place of an old file, and removes a link at its path instead of
 *     writing through it; a token matches only itself (not a prefix, a longer one or one
 *     that differs in its last byte).
 *  2. A learner whose --eval-token-file is world-readable, or too short, refuses to start
 *     with the file's name in the error.
 *  3. With a token, a stranger's Hello as an evaluator without a token, or with a wrong one,
 *     is refused (REJECT_UNAUTHORIZED, saying --eval-token-file) and counted
 *     (td3d_hellos_unauthorized_total, counters.hellos_unauthorized in /status, the run's
 *     stats); an actor's Hello needs none; the right token gets a Welcome. Before, the
 *     stranger got the evaluator's slot and its reports went into the run's curve.
 *  4. The C evaluator (actor_run with eval): without the token it ends with the learner's
 *     reason; with --eval-token-file it joins and its evaluations are recorded.
 * The time limits are only there so that a hang fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client.h"

#include "eval_token.h"
#include "inproc.h"
#include "log.h"
#include "raw_peer.h"
#include "tmpdir.h"
#include "wire.h"

#include <cblas.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static char tmp[256];

static int setup(void **state) {
  (void)state;
  openblas_set_num_threads(1);
  log_set_level(LOG_ERROR);
  return tmpdir_create(tmp, sizeof tmp, "test_eval_token");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(tmp);
}

/* Writes len bytes of text to tmp/name with mode; the path goes to path (cap bytes). */
static void write_file(char *path, size_t cap, const char *name, const char *text, size_t len,
                       mode_t mode) {
  snprintf(path, cap, "%s/%s", tmp, name);
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  assert_int_equal(close(fd), 0);
  assert_int_equal(chmod(path, mode), 0); /* exact: the umask does not apply */
}

/* eval_token_read of path fails with code and a message naming path. */
static void refused(const char *path, int code) {
  eval_token_t t;
  td3_err_t err = {0};
  assert_int_equal(eval_token_read(path, &t, &err), code);
  assert_non_null(strstr(err.msg, path));
  assert_int_equal(t.len, 0);
}

#define TOKEN16 "0123456789abcdef"

/* ---- 1. token files ---- */

static void token_files(void **state) {
  (void)state;
  char path[512], other[512];
  snprintf(path, sizeof path, "%s/missing", tmp);
  refused(path, TD3_ENOTFOUND);
  write_file(path, sizeof path, "empty", "\n\n", 2, 0600);
  refused(path, TD3_EFORMAT);
  write_file(path, sizeof path, "short", "0123456789abcde\n", 16, 0600); /* 15 + newline */
  refused(path, TD3_EFORMAT);
  char big[301];
  memset(big, 'x', 300);
  big[300] = '\0';
  write_file(path, sizeof path, "long", big, 300, 0600);
  refused(path, TD3_EFORMAT);
  write_file(path, sizeof path, "world", TOKEN16, 16, 0604);
  refused(path, TD3_EINVAL);
  write_file(path, sizeof path, "group", TOKEN16, 16, 0640);
  refused(path, TD3_EINVAL);
  snprintf(path, sizeof path, "%s", tmp);
  refused(path, TD3_EINVAL); /* a directory */

  eval_token_t t;
  td3_err_t err = {0};
  write_file(path, sizeof path, "good", TOKEN16 "\r\n", 18, 0400);
  assert_int_equal(eval_token_read(path, &t, &err), 0);
  assert_int_equal(t.len, 16);
  assert_memory_equal(t.bytes, TOKEN16, 16);
  assert_true(eval_token_matches(&t, (const uint8_t *)TOKEN16, 16));
  assert_false(eval_token_matches(&t, (const uint8_t *)TOKEN16, 15));
  assert_false(eval_token_matches(&t, (const uint8_t *)TOKEN16 "0", 17));
  assert_false(eval_token_matches(&t, (const uint8_t *)"0123456789abcdeX", 16));
  assert_false(eval_token_matches(&t, NULL, 0));
  eval_token_t none = {0};
  assert_false(eval_token_matches(&none, NULL, 0)); /* no token matches nothing */
  eval_token_clear(&t);
  assert_int_equal(t.len, 0);

  /* a new token replaces an old file; a link at the path is removed, its target untouched */
  write_file(path, sizeof path, "eval.token", "old token, world-readable", 25, 0644);
  assert_int_equal(eval_token_create(path, &err), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, 65);
  assert_int_equal(eval_token_read(path, &t, &err), 0);
  assert_int_equal(t.len, 64);
  assert_int_equal(strspn((const char *)t.bytes, "0123456789abcdef"), 64);
  eval_token_t first = t;
  assert_int_equal(eval_token_create(path, &err), 0);
  assert_int_equal(eval_token_read(path, &t, &err), 0);
  assert_false(eval_token_matches(&t, first.bytes, first.len)); /* a new one each time */
  write_file(other, sizeof other, "target", "keep", 4, 0644);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(symlink(other, path), 0);
  assert_int_equal(eval_token_create(path, &err), 0);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(stat(other, &st), 0);
  assert_int_equal(st.st_size, 4);
}

/* ---- 2. a learner refuses a bad token file ---- */

static void learner_refuses_bad_file(void **state) {
  (void)state;
  char out[512], path[512];
  const char *cases[][2] = {{"readable", TOKEN16}, {"short", "0123456789"}};
  const mode_t modes[] = {0644, 0600};
  for (int i = 0; i < 2; i++) {
    write_file(path, sizeof path, cases[i][0], cases[i][1], strlen(cases[i][1]), modes[i]);
    snprintf(out, sizeof out, "%s/run-%s", tmp, cases[i][0]);
    inproc_learner_t L;
    inproc_learner_init_small(&L, 23390, 1000, out, NULL);
    L.cfg.eval_token_file = path;
    assert_int_equal(inproc_learner_start(&L), 0);
    assert_int_equal(inproc_learner_join(&L, 30000), 1); /* it ends by itself, at once */
    assert_int_not_equal(L.rc, 0);
    assert_non_null(strstr(L.err.msg, "--eval-token-file"));
    assert_non_null(strstr(L.err.msg, path));
  }
}

/* ---- 3. a stranger's Hellos ---- */

/* Says Hello once (the learner is up: nothing is sent twice, so the counts are exact) as
 * name in role with token (NULL: none) and returns the answer's type; a Reject's reason and
 * detail go to *reason and detail. */
static wire_msg_type_t hello(void *dealer, const char *name, wire_role_t role, const char *token,
                             wire_reject_reason_t *reason, char *detail, size_t cap) {
  float bounds[2] = {-2, 2};
  wire_control_t m, reply;
  raw_hello_pendulum(&m, name, role, bounds);
  m.u.hello.eval_token = (const uint8_t *)token;
  m.u.hello.eval_token_len = token ? strlen(token) : 0;
  assert_int_equal(raw_hello_send(dealer, &m, 1, 30000, &reply), 0);
  wire_msg_type_t type = reply.type;
  if (type == WIRE_MSG_REJECT) {
    *reason = reply.u.reject.reason;
    snprintf(detail, cap, "%s", reply.u.reject.detail);
  }
  wire_control_release(&reply);
  return type;
}

static double metric(unsigned port, const char *sample) {
  char *body = http_get_body(port, "/metrics");
  if (!body) return -1;
  double v = -1;
  size_t n = strlen(sample);
  for (char *line = body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (strncmp(line, sample, n) == 0 && line[n] == ' ') {
      v = strtod(line + n + 1, NULL);
      break;
    }
  free(body);
  return v;
}

/* counters.hellos_unauthorized of /status, -1 when absent. */
static long long status_unauthorized(unsigned port) {
  char *js = http_get_body(port, "/status");
  json_t *s = js ? json_loads(js, 0, NULL) : NULL;
  free(js);
  json_t *v = json_object_get(json_object_get(s, "counters"), "hellos_unauthorized");
  long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
  json_decref(s);
  return n;
}

static void stranger_refused(void **state) {
  (void)state;
  enum { PORT = 23370 };
  char out[512], status[64], path[512];
  write_file(path, sizeof path, "learner.token", TOKEN16 TOKEN16 "\n", 33, 0600);
  snprintf(out, sizeof out, "%s/stranger", tmp);
  snprintf(status, sizeof status, "127.0.0.1:%u", PORT + 5);
  inproc_learner_t L;
  inproc_learner_init_small(&L, PORT, 100000000, out, status);
  L.cfg.eval_token_file = path;
  assert_int_equal(inproc_learner_start(&L), 0);
  for (int i = 0; i < 600 && metric(PORT + 5, "td3d_hellos_refused_total") < 0; i++)
    td3_sleep_ms(100); /* up: its sockets are bound before the status server starts */
  void *ctx = zmq_ctx_new();
  void *d = raw_dealer_connect(ctx, PORT);
  assert_non_null(d);
  wire_reject_reason_t reason = 0;
  char detail[WIRE_MAX_DETAIL + 1] = "";

  assert_int_equal(hello(d, "stranger/eval", WIRE_ROLE_EVALUATOR, NULL, &reason, detail,
                         sizeof detail), WIRE_MSG_REJECT);
  assert_int_equal(reason, WIRE_REJECT_UNAUTHORIZED);
  assert_non_null(strstr(detail, "--eval-token-file"));
  /* one byte off, and the token's first half */
  td3_sleep_ms(600); /* the Hello cap: 2 a second on a connection */
  assert_int_equal(hello(d, "stranger/eval", WIRE_ROLE_EVALUATOR, TOKEN16 "0123456789abcdeF",
                         &reason, detail, sizeof detail), WIRE_MSG_REJECT);
  assert_int_equal(reason, WIRE_REJECT_UNAUTHORIZED);
  td3_sleep_ms(600);
  assert_int_equal(hello(d, "stranger/eval", WIRE_ROLE_EVALUATOR, TOKEN16, &reason, detail,
                         sizeof detail), WIRE_MSG_REJECT);
  assert_int_equal(reason, WIRE_REJECT_UNAUTHORIZED);
  double unauthorized = metric(PORT + 5, "td3d_hellos_unauthorized_total");
  for (int i = 0; i < 50 && unauthorized != 3; i++) { /* the snapshot is ~250 ms behind */
    td3_sleep_ms(100);
    unauthorized = metric(PORT + 5, "td3d_hellos_unauthorized_total");
  }
  assert_true(unauthorized == 3);
  assert_true(metric(PORT + 5, "td3d_hellos_refused_total") >= 3);
  assert_int_equal(status_unauthorized(PORT + 5), 3);

  /* an actor needs no token; the evaluator with the token gets the slot */
  td3_sleep_ms(600);
  assert_int_equal(hello(d, "stranger/0", WIRE_ROLE_ACTOR, NULL, &reason, detail, sizeof detail),
                   WIRE_MSG_WELCOME);
  void *e = raw_dealer_connect(ctx, PORT);
  assert_non_null(e);
  assert_int_equal(hello(e, "real/eval", WIRE_ROLE_EVALUATOR, TOKEN16 TOKEN16, &reason, detail,
                         sizeof detail), WIRE_MSG_WELCOME);
  zmq_close(d);
  zmq_close(e);
  zmq_ctx_term(ctx);
  inproc_learner_join(&L, 0);
  assert_int_equal(L.rc, 0);
  assert_int_equal(L.stats.hellos_unauthorized, 3);
}

/* ---- 4. the C evaluator ---- */

static void evaluator_with_and_without_token(void **state) {
  (void)state;
  enum { PORT = 23380 };
  char out[512], status[64], path[512];
  snprintf(path, sizeof path, "%s/eval.token", tmp);
  td3_err_t err = {0};
  assert_int_equal(eval_token_create(path, &err), 0);
  snprintf(out, sizeof out, "%s/evaluator", tmp);
  snprintf(status, sizeof status, "127.0.0.1:%u", PORT + 5);
  inproc_learner_t L;
  inproc_learner_init_small(&L, PORT, 4000, out, status);
  L.cfg.eval_every = 1000;
  L.cfg.eval_episodes = 2;
  L.cfg.eval_token_file = path;
  assert_int_equal(inproc_learner_start(&L), 0);

  inproc_actor_t without;
  inproc_actor_init(&without, "Pendulum-v1", PORT, "token/none", 1);
  assert_int_equal(inproc_actor_start(&without), 0);
  inproc_actor_join(&without); /* ends by itself: a retry would carry no token either */
  assert_int_not_equal(without.rc, 0);
  assert_non_null(strstr(without.err.msg, "--eval-token-file"));
  assert_int_equal(without.res.registrations, 0);

  inproc_actor_t a, ev;
  inproc_actor_init(&a, "Pendulum-v1", PORT, "token/0", 0);
  inproc_actor_init(&ev, "Pendulum-v1", PORT, "token/eval", 1);
  ev.cfg.eval_token_file = path;
  assert_int_equal(inproc_actor_start(&a), 0);
  assert_int_equal(inproc_actor_start(&ev), 0);
  assert_int_equal(inproc_learner_join(&L, 300000), 1);
  inproc_actor_stop(&a);
  inproc_actor_stop(&ev);
  assert_int_equal(L.rc, 0);
  assert_int_equal(ev.rc, 0);
  assert_true(ev.res.registrations >= 1);
  assert_true(ev.res.evaluations >= 1);
  assert_true(L.res.evaluations >= 2); /* the evaluator's, and the learner's final one */
  assert_true(L.stats.hellos_unauthorized >= 1); /* its Hellos until the refusal came back */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(token_files, setup, teardown),
      cmocka_unit_test_setup_teardown(learner_refuses_bad_file, setup, teardown),
      cmocka_unit_test_setup_teardown(stranger_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(evaluator_with_and_without_token, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
