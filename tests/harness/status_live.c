/* A live learner and an HTTP client for the status-server tests (see status_live.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "status_live.h"

#include "http_client.h"
#include "inproc.h"
#include "log.h"
#include "tmpdir.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char tmp[256];           /* the learner's run directory */
static char status_bind[64];    /* 127.0.0.1:status_port */
static unsigned live_port, live_status_port;
static inproc_learner_t L;
static inproc_actor_t A[3];     /* two actors and the evaluator */

static void actor_start(inproc_actor_t *j, const char *name, int eval) {
  inproc_actor_init(j, "Pendulum-v1", live_port, name, eval);
  assert_int_equal(inproc_actor_start(j), 0);
}

int status_live_start(unsigned port, unsigned status_port, const char *tag) {
  live_port = port;
  live_status_port = status_port;
  openblas_set_num_threads(1);
  log_set_level(LOG_WARN);
  if (tmpdir_create(tmp, sizeof tmp, tag) != 0) return -1;
  inproc_learner_init(&L, "Pendulum-v1", port);
  L.cfg.steps = 500000; /* out of reach; below the replay capacity, which it caps */
  L.cfg.start_steps = 500;
  L.cfg.eval_every = 1000;
  L.cfg.eval_episodes = 2;
  L.cfg.td3.hidden[0] = L.cfg.td3.hidden[1] = 32;
  L.cfg.td3.batch = 32;
  L.cfg.out_dir = tmp;
  L.cfg.overwrite = 1;
  L.cfg.progress = 0;
  snprintf(status_bind, sizeof status_bind, "127.0.0.1:%u", status_port);
  L.cfg.status_bind = status_bind;
  if (inproc_learner_start(&L) != 0) return -1;
  actor_start(&A[0], "status/0", 0);
  actor_start(&A[1], "status/1", 0);
  actor_start(&A[2], "status/eval", 1);
  for (int i = 0; i < 100; i++) { /* the server is up within 10 s */
    int fd = status_live_connect();
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    td3_sleep_ms(100);
  }
  return -1;
}

int status_live_wait_healthy(unsigned limit_ms) {
  for (unsigned waited = 0; waited <= limit_ms; waited += 100) {
    char *r = status_live_get("GET", "/healthz");
    int code = status_live_code(r);
    free(r);
    if (code == 200) return 0;
    td3_sleep_ms(100);
  }
  return -1;
}

int status_live_stop(void) {
  inproc_learner_join(&L, 0); /* its budget is out of reach: stop it now */
  for (int i = 0; i < 3; i++) inproc_actor_stop(&A[i]);
  return tmpdir_remove(tmp) == 0 && L.rc == 0 ? 0 : -1;
}

int status_live_connect(void) { return http_connect(live_status_port); }

char *status_live_exchange(const char *raw) {
  int fd = status_live_connect();
  assert_true(fd >= 0);
  assert_int_equal(send(fd, raw, strlen(raw), MSG_NOSIGNAL), (ssize_t)strlen(raw));
  char *out = http_read_all(fd, NULL);
  close(fd);
  return out;
}

char *status_live_get(const char *method, const char *path) {
  char req[512];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", method,
           path);
  return status_live_exchange(req);
}

int status_live_code(const char *resp) {
  int code = 0;
  if (sscanf(resp, "HTTP/1.1 %d", &code) != 1) return 0;
  return code;
}

const char *status_live_body(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  return b ? b + 4 : "";
}

double status_live_metric(const char *text, const char *name) {
  char key[256];
  snprintf(key, sizeof key, "\n%s ", name);
  const char *p = strstr(text, key);
  return p ? strtod(p + strlen(key), NULL) : NAN;
}

void status_live_healthz_check(void) {
  char *r = status_live_get("GET", "/healthz");
  assert_int_equal(status_live_code(r), 200);
  assert_string_equal(status_live_body(r), "ok\n");
  free(r);
}
