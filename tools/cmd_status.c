/* `td3d status [HOST:PORT]`: asks a running learner's status server for /status (plain TCP,
 * HTTP/1.1, Connection: close) and prints it as a table, or the raw JSON with --json;
 * --watch [SECONDS] repeats every SECONDS (default 2). Exit 1 when the learner cannot be
 * reached or answers with something else than a status document; 2 for a bad command line. */
#include "status.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000
#define MAX_RESPONSE (16u << 20)

static void usage(FILE *f) {
  fprintf(f,
          "usage: td3d status [HOST:PORT] [--json] [--watch [SECONDS]]\n"
          "\n"
          "Shows a running learner's state, read from its status server (td3d learner\n"
          "--status-bind; default %s): counters, throughput, rate limiter, training figures,\n"
          "the actor table and the latest evaluations.\n"
          "\n"
          "  --json              print the raw JSON document of /status\n"
          "  --watch [SECONDS]   refresh every SECONDS (default 2) until interrupted\n",
          STATUS_DEFAULT_BIND);
}

static int wait_fd(int fd, short events) {
  struct pollfd p = {fd, events, 0};
  int rc;
  do rc = poll(&p, 1, TIMEOUT_MS);
  while (rc < 0 && errno == EINTR);
  return rc;
}

/* Fetches path from host:port; returns the body (caller frees) or NULL with err filled. */
static char *fetch(const char *host, unsigned port, const char *path, td3_err_t *err) {
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%u", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
  int g = getaddrinfo(host, portstr, &hints, &ai);
  if (g != 0) {
    td3_err_set(err, TD3_EIO, "cannot resolve %s: %s", host, gai_strerror(g));
    return NULL;
  }
  int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    td3_err_set(err, TD3_EIO, "cannot connect to the learner's status server at %s:%u: %s "
                "(is a learner running with --status-bind %s:%u?)",
                host, port, strerror(errno), host, port);
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return NULL;
  }
  freeaddrinfo(ai);
  char req[512];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%u\r\nAccept: application/json\r\n"
                   "Connection: close\r\n\r\n", path, host, port);
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    td3_err_set(err, TD3_EIO, "%s:%u: sending the request failed: %s", host, port, strerror(errno));
    close(fd);
    return NULL;
  }
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap);
  for (;;) {
    if (wait_fd(fd, POLLIN) <= 0) {
      td3_err_set(err, TD3_EIO, "%s:%u: no answer within %d s", host, port, TIMEOUT_MS / 1000);
      goto fail;
    }
    if (len + 1 >= cap) {
      if (cap >= MAX_RESPONSE) {
        td3_err_set(err, TD3_EIO, "%s:%u: answer larger than %u bytes", host, port, MAX_RESPONSE);
        goto fail;
      }
      cap *= 2;
      buf = realloc(buf, cap);
    }
    ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      td3_err_set(err, TD3_EIO, "%s:%u: %s", host, port, strerror(errno));
      goto fail;
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  buf[len] = 0;
  int code = 0;
  char *body = strstr(buf, "\r\n\r\n");
  if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1 || !body) {
    td3_err_set(err, TD3_EIO, "%s:%u did not answer in HTTP (is it a td3d learner?)", host, port);
    free(buf);
    return NULL;
  }
  if (code != 200) {
    td3_err_set(err, TD3_EIO, "%s:%u answered %s with HTTP %d", host, port, path, code);
    free(buf);
    return NULL;
  }
  body += 4;
  memmove(buf, body, strlen(body) + 1);
  return buf;
fail:
  close(fd);
  free(buf);
  return NULL;
}

static double num(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* o's number key printed with fmt (one double conversion), or "-" when it is absent or null (a
 * loss before the first update, the policy lag before the first batch). The text lives in one
 * of a few rotating buffers: enough for the arguments of one printf. */
static const char *numf(json_t *o, const char *key, const char *fmt) {
  static char bufs[16][64];
  static unsigned next;
  double v = num(o, key);
  if (!isfinite(v)) return "-";
  char *b = bufs[next++ % 16];
  snprintf(b, sizeof bufs[0], fmt, v);
  return b;
}

static const char *str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "-";
}

static void print_table(json_t *s) {
  json_t *c = json_object_get(s, "counters"), *t = json_object_get(s, "throughput");
  json_t *rl = json_object_get(s, "ratelimit"), *tr = json_object_get(s, "training");
  json_t *h = json_object_get(s, "health"), *lag = json_object_get(s, "policy_lag");
  printf("run %s  %s  %s s%s\n", str(s, "run_id"), str(s, "env"), numf(s, "wall_seconds", "%.0f"),
         json_is_true(json_object_get(s, "finished")) ? "  (finished)" : "");
  printf("health        %s\n", json_is_true(json_object_get(h, "ok")) ? "ok" : str(h, "reason"));
  printf("env steps     %s / %s   (%s /s)\n", numf(c, "env_steps", "%.0f"),
         numf(c, "env_steps_budget", "%.0f"), numf(t, "env_steps_per_second", "%.1f"));
  printf("updates       %s   (%s /s)   weights version %s\n", numf(c, "updates", "%.0f"),
         numf(t, "updates_per_second", "%.1f"), numf(c, "weights_version", "%.0f"));
  printf("replay        %s / %s transitions\n", numf(c, "replay_size", "%.0f"),
         numf(c, "replay_capacity", "%.0f"));
  printf("rate limiter  %s   (blocked: ingest %s s, trainer %s s)\n", str(rl, "state"),
         numf(rl, "ingest_blocked_seconds", "%.1f"), numf(rl, "trainer_blocked_seconds", "%.1f"));
  printf("training      critic loss %s  actor loss %s  mean Q %s\n",
         numf(tr, "critic_loss", "%.4g"), numf(tr, "actor_loss", "%.4g"), numf(tr, "mean_q", "%.4g"));
  printf("policy lag    mean %s  max %s versions\n", numf(lag, "mean", "%.2f"),
         numf(lag, "max", "%.0f"));
  json_t *rej = json_object_get(c, "rejected");
  const char *key;
  json_t *v;
  double total = 0;
  json_object_foreach(rej, key, v) total += json_number_value(v);
  printf("rejected      %.0f messages", total);
  if (total > 0) {
    json_object_foreach(rej, key, v)
      if (json_integer_value(v)) printf("  %s %lld", key, (long long)json_integer_value(v));
  }
  json_t *sec = json_object_get(s, "security");
  if (json_is_true(json_object_get(sec, "curve")))
    printf("\nsecurity      CURVE, %s authorized keys   (handshakes accepted %s, refused %s, "
           "failed %s)",
           numf(sec, "authorized_keys", "%.0f"), numf(sec, "accepted", "%.0f"),
           numf(sec, "refused", "%.0f"), numf(sec, "handshake_failures", "%.0f"));
  else if (sec)
    printf("\nsecurity      off (no CURVE: keep the ports on a trusted network)");
  printf("\n\n%4s  %-24s %-9s %-6s %10s %11s %8s %9s\n", "slot", "name", "role", "active",
         "env steps", "transitions", "policy", "seen s");
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(s, "actors"), i, a)
    printf("%4s  %-24s %-9s %-6s %10s %11s %8s %9s\n", numf(a, "slot", "%.0f"), str(a, "name"),
           str(a, "role"), json_is_true(json_object_get(a, "active")) ? "yes" : "no",
           numf(a, "env_steps", "%.0f"), numf(a, "transitions", "%.0f"),
           numf(a, "policy_version", "%.0f"), numf(a, "last_seen_seconds", "%.1f"));
  json_t *sum = json_object_get(s, "actors_summary");
  json_int_t n_table = json_integer_value(json_object_get(sum, "total"));
  if (n_table > (json_int_t)json_array_size(json_object_get(s, "actors")))
    printf("      (%lld actors, %s active, oldest seen %s s ago; /status?actors_offset=N lists "
           "more)\n", (long long)n_table, numf(sum, "active", "%.0f"),
           numf(sum, "last_seen_max_seconds", "%.1f"));
  json_t *curve = json_object_get(s, "curve");
  size_t n = json_array_size(curve);
  printf("\nevaluations   %zu\n", n);
  for (i = n > 5 ? n - 5 : 0; i < n; i++) {
    a = json_array_get(curve, i);
    printf("  steps %10s  return %9s +- %7s  (%s s)%s\n", numf(a, "env_steps", "%.0f"),
           numf(a, "mean_return", "%.2f"), numf(a, "std_return", "%.2f"),
           numf(a, "wall_seconds", "%.0f"),
           json_is_true(json_object_get(a, "untrained")) ? "  untrained" : "");
  }
  json_t *best = json_object_get(s, "best_eval");
  if (json_is_object(best))
    printf("best          return %s +- %s at %s steps\n", numf(best, "mean_return", "%.2f"),
           numf(best, "std_return", "%.2f"), numf(best, "env_steps", "%.0f"));
  else if (n)
    printf("best          - (no evaluation of a trained policy yet)\n");
}

int cmd_status_main(int argc, char **argv) {
  const char *addr = STATUS_DEFAULT_BIND;
  int as_json = 0;
  double watch = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--json")) {
      as_json = 1;
    } else if (!strcmp(argv[i], "--watch")) {
      watch = 2;
      if (i + 1 < argc && argv[i + 1][0] != '-' && !strchr(argv[i + 1], ':')) {
        char *end;
        watch = strtod(argv[++i], &end);
        if (*end || !(watch >= 0.1 && watch <= 3600)) {
          fprintf(stderr, "td3d status: --watch: '%s' is not a number of seconds (0.1 to 3600)\n",
                  argv[i]);
          return 2;
        }
      }
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "td3d status: unknown option '%s' (see td3d status --help)\n", argv[i]);
      return 2;
    } else {
      addr = argv[i];
    }
  }
  char host[128];
  unsigned port;
  td3_err_t err = {0};
  if (status_parse_bind(addr, host, sizeof host, &port, &err) != 0) {
    fprintf(stderr, "td3d status: %s\n", err.msg);
    return 2;
  }
  for (;;) {
    char *body = fetch(host, port, "/status", &err);
    if (!body) {
      fprintf(stderr, "td3d status: %s\n", err.msg);
      return 1;
    }
    json_error_t jerr;
    json_t *s = json_loads(body, 0, &jerr);
    if (!s) {
      fprintf(stderr, "td3d status: %s:%u sent invalid JSON (%s, line %d)\n", host, port,
              jerr.text, jerr.line);
      free(body);
      return 1;
    }
    if (watch > 0 && !as_json) printf("\033[H\033[2J");
    if (as_json) fputs(body, stdout);
    else print_table(s);
    fflush(stdout);
    json_decref(s);
    free(body);
    if (watch <= 0) return 0;
    struct timespec ts = {(time_t)watch, (long)((watch - (double)(time_t)watch) * 1e9)};
    nanosleep(&ts, NULL);
  }
}
