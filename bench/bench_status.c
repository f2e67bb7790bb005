/* bench_status: does a busy status client slow training? One learner (Pendulum, hidden 64,64,
 * batch 64) with two actors in this process; the update rate is measured in alternating
 * phases without and with a client requesting /status and /metrics 100 times a second
 * (keep-alive off: a new connection each time, the worst case). Prints both rates and their
 * ratio; the last line is JSON. Usage: bench_status [PHASE_SECONDS] (default 4). */
#include "inproc.h"
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

#define PORT 28450u
#define STATUS_PORT 28495u

static inproc_learner_t L;
static inproc_actor_t A[2];
static _Atomic uint64_t requests;
static _Atomic int client_on, client_quit;

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
  inproc_learner_init(&L, NULL, PORT);
  L.cfg.steps = 100000000;
  L.cfg.start_steps = 1000;
  L.cfg.td3.hidden[0] = L.cfg.td3.hidden[1] = 64;
  L.cfg.td3.batch = 64;
  L.cfg.eval_every = 1000000000;
  L.cfg.progress = 0;
  L.cfg.status_bind = "127.0.0.1:28495";
  if (inproc_learner_start(&L) != 0) {
    fprintf(stderr, "bench_status: cannot start the learner thread\n");
    return 1;
  }
  for (int i = 0; i < 2; i++) {
    char name[16];
    snprintf(name, sizeof name, "bench/%d", i);
    inproc_actor_init(&A[i], NULL, PORT, name, 0);
    if (inproc_actor_start(&A[i]) != 0) {
      fprintf(stderr, "bench_status: cannot start an actor thread\n");
      inproc_learner_join(&L, 0);
      return 1;
    }
  }
  pthread_t ct;
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
  inproc_learner_join(&L, 0);
  if (L.rc != 0) fprintf(stderr, "learner: %s\n", L.err.msg);
  for (int i = 0; i < 2; i++) inproc_actor_stop(&A[i]);
  double unloaded = rate[0] / secs[0], loaded = rate[1] / secs[1];
  double req_rate = (double)atomic_load(&requests) / secs[1];
  printf("unloaded %.1f updates/s, loaded %.1f updates/s (%.0f requests/s), ratio %.3f\n",
         unloaded, loaded, req_rate, loaded / unloaded);
  printf("{\"bench\":\"status\",\"unloaded_updates_per_s\":%.1f,\"loaded_updates_per_s\":%.1f,"
         "\"requests_per_s\":%.1f,\"ratio\":%.4f}\n", unloaded, loaded, req_rate, loaded / unloaded);
  return 0;
}
