/* bench_status: does a busy status client slow training? One learner (Pendulum, hidden 64,64,
 * batch 64) with two actors in this process; the update rate is measured in alternating
 * phases without and with a client requesting /status and /metrics 100 times a second
 * (keep-alive off: a new connection each time, the worst case). Prints both rates and their
 * ratio; the last line is JSON. Usage: bench_status [PHASE_SECONDS] (default 4). */
#include "actor.h"
#include "learner.h"
#include "log.h"

#include <arpa/inet.h>
#include <cblas.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORT 38450u
#define STATUS_PORT 38495u

static learner_config_t lc;
static learner_result_t lres;
static td3_err_t lerr;
static _Atomic int lstop, astop;
static _Atomic uint64_t requests;
static _Atomic int client_on, client_quit;

static void *learner_main(void *arg) {
  (void)arg;
  if (learner_run(&lc, &lres, &lerr) != 0) fprintf(stderr, "learner: %s\n", lerr.msg);
  return NULL;
}

typedef struct { actor_config_t cfg; actor_result_t res; td3_err_t err; char name[16]; } actor_job_t;

static void *actor_main(void *arg) {
  actor_job_t *j = arg;
  actor_run(&j->cfg, &j->res, &j->err);
  return NULL;
}

/* One request on a fresh connection; returns the bytes received (0 on failure). The answer
 * is also how the bench reads the learner's update count (from /metrics). */
static size_t fetch(const char *path, char *out, size_t cap) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(STATUS_PORT)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  size_t len = 0;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
      ssize_t r;
      while ((r = recv(fd, out + len, cap - len - 1, 0)) > 0 && len + 1 < cap) len += (size_t)r;
    }
  }
  close(fd);
  out[len] = 0;
  return len;
}

static void *client_main(void *arg) {
  (void)arg;
  static char buf[1 << 20];
  uint64_t k = 0;
  while (!atomic_load(&client_quit)) {
    if (atomic_load(&client_on) && fetch(k++ % 2 ? "/metrics" : "/status", buf, sizeof buf))
      atomic_fetch_add(&requests, 1);
    td3_sleep_ms(10);
  }
  return NULL;
}

static uint64_t updates_now(void) {
  static char buf[1 << 20];
  fetch("/metrics", buf, sizeof buf);
  const char *p = strstr(buf, "\ntd3d_updates_total ");
  return p ? strtoull(p + 20, NULL, 10) : 0;
}

int main(int argc, char **argv) {
  unsigned phase_s = 4;
  if (argc > 1) {
    char *end;
    unsigned long v = strtoul(argv[1], &end, 10);
    if (strcmp(argv[1], "--help") == 0 || argc > 2 || *end || v == 0 || v > 600) {
      fprintf(strcmp(argv[1], "--help") == 0 ? stdout : stderr,
              "usage: bench_status [SECONDS]\n"
              "Runs a learner with two actors (Pendulum, hidden 64,64) and alternates phases of\n"
              "SECONDS (default 4, 1..600) without and with a client requesting /status and\n"
              "/metrics 100 times a second; prints each phase's update rate and, last, one JSON\n"
              "object with the loaded/unloaded ratio (target >= 0.98).\n");
      return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    phase_s = (unsigned)v;
  }
  openblas_set_num_threads(1);
  log_set_level(LOG_ERROR);
  learner_config_default(&lc);
  lc.steps = 100000000;
  lc.start_steps = 1000;
  lc.td3.hidden[0] = lc.td3.hidden[1] = 64;
  lc.td3.batch = 64;
  lc.eval_every = 1000000000;
  lc.bind_host = "127.0.0.1";
  lc.experience_port = PORT;
  lc.weights_port = PORT + 1;
  lc.control_port = PORT + 2;
  lc.progress = 0;
  lc.status_bind = "127.0.0.1:38495";
  lc.stop = &lstop;
  pthread_t lt, ct, at[2];
  actor_job_t aj[2];
  pthread_create(&lt, NULL, learner_main, NULL);
  for (int i = 0; i < 2; i++) {
    memset(&aj[i], 0, sizeof aj[i]);
    actor_config_default(&aj[i].cfg);
    snprintf(aj[i].name, sizeof aj[i].name, "bench/%d", i);
    aj[i].cfg.name = aj[i].name;
    aj[i].cfg.learner_host = "127.0.0.1";
    aj[i].cfg.experience_port = PORT;
    aj[i].cfg.weights_port = PORT + 1;
    aj[i].cfg.control_port = PORT + 2;
    aj[i].cfg.stop = &astop;
    pthread_create(&at[i], NULL, actor_main, &aj[i]);
  }
  pthread_create(&ct, NULL, client_main, NULL);
  td3_sleep_ms(3000); /* warm up past the start steps */
  double rate[2] = {0, 0}, secs[2] = {0, 0};
  for (int round = 0; round < 6; round++) {
    int loaded = round % 2;
    atomic_store(&client_on, loaded);
    td3_sleep_ms(300);
    uint64_t u0 = updates_now(), t0 = td3_now_ns();
    td3_sleep_ms(phase_s * 1000);
    uint64_t u1 = updates_now(), t1 = td3_now_ns();
    double s = (double)(t1 - t0) / 1e9;
    rate[loaded] += (double)(u1 - u0);
    secs[loaded] += s;
    printf("phase %d %-8s %8.1f updates/s\n", round, loaded ? "loaded" : "unloaded",
           (double)(u1 - u0) / s);
  }
  atomic_store(&client_quit, 1);
  pthread_join(ct, NULL);
  lstop = 1;
  pthread_join(lt, NULL);
  astop = 1;
  for (int i = 0; i < 2; i++) pthread_join(at[i], NULL);
  double unloaded = rate[0] / secs[0], loaded = rate[1] / secs[1];
  double req_rate = (double)atomic_load(&requests) / secs[1];
  printf("unloaded %.1f updates/s, loaded %.1f updates/s (%.0f requests/s), ratio %.3f\n",
         unloaded, loaded, req_rate, loaded / unloaded);
  printf("{\"bench\":\"status\",\"unloaded_updates_per_s\":%.1f,\"loaded_updates_per_s\":%.1f,"
         "\"requests_per_s\":%.1f,\"ratio\":%.4f}\n", unloaded, loaded, req_rate, loaded / unloaded);
  return 0;
}
