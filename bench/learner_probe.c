#define _XOPEN_SOURCE 700 /* nftw */
/* Observing a td3d learner from outside (see learner_probe.h). */
#include "learner_probe.h"

#include "log.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void probe_cpu(pid_t pid, probe_cpu_t *out) {
  memset(out, 0, sizeof *out);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return;
  long tick = sysconf(_SC_CLK_TCK);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char p[320], line[1024];
    snprintf(p, sizeof p, "/proc/%d/task/%s/stat", (int)pid, de->d_name);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    size_t len = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[len] = 0;
    char *open = strchr(line, '('), *close = strrchr(line, ')');
    if (!open || !close) continue;
    char comm[20];
    snprintf(comm, sizeof comm, "%.*s", (int)(close - open - 1), open + 1);
    unsigned long long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
      continue;
    double sec = (double)(ut + st) / (double)tick, wait = 0;
    unsigned long long on_ns, wait_ns;
    snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
    if ((f = fopen(p, "r"))) {
      if (fscanf(f, "%llu %llu", &on_ns, &wait_ns) == 2) wait = (double)wait_ns / 1e9;
      fclose(f);
    }
    out->total_s += sec;
    out->total_wait_s += wait;
    if (atoi(de->d_name) == (int)pid) out->main_s = sec, out->main_wait_s = wait;
    uint32_t k = 0;
    while (k < out->n && strcmp(out->name[k], comm) != 0) k++;
    if (k == out->n && out->n < 16) snprintf(out->name[out->n++], sizeof out->name[0], "%s", comm);
    if (k < 16) out->s[k] += sec, out->wait_s[k] += wait;
  }
  closedir(d);
}

double probe_rss_mib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  double kb = 0;
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lf kB", &kb) == 1) break;
  fclose(f);
  return kb / 1024.0;
}

int probe_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d))) n += de->d_name[0] != '.';
  closedir(d);
  return n;
}

char *probe_http_get(unsigned port, const char *path, double *ms, size_t *bytes) {
  uint64_t t0 = td3_now_ns();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t len = 0, cap = 1 << 16;
  char *buf = NULL;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
    char req[160];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
      buf = xmalloc(cap);
      ssize_t r;
      for (;;) {
        if (len + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
      }
      buf[len] = 0;
    }
  }
  close(fd);
  if (ms) *ms = (double)(td3_now_ns() - t0) / 1e6;
  char *body = buf ? strstr(buf, "\r\n\r\n") : NULL;
  if (!body || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
    free(buf);
    return NULL;
  }
  body += 4;
  if (bytes) *bytes = len - (size_t)(body - buf);
  memmove(buf, body, len - (size_t)(body - buf) + 1);
  return buf;
}


int probe_status(unsigned port, probe_view_t *v, double *ms, size_t *bytes) {
  memset(v, 0, sizeof *v);
  char *body = probe_http_get(port, "/status", ms, bytes);
  if (!body) return -1;
  json_error_t jerr;
  json_t *root = json_loads(body, 0, &jerr);
  free(body);
  if (!root) return -1;
  json_t *c = json_object_get(root, "counters");
  v->wall_s = json_number_value(json_object_get(root, "wall_seconds"));
  v->inserted = (uint64_t)json_integer_value(json_object_get(c, "transitions_inserted"));
  v->updates = (uint64_t)json_integer_value(json_object_get(c, "updates"));
  v->over_budget = (uint64_t)json_integer_value(json_object_get(c, "over_budget"));
  v->broadcasts = (uint64_t)json_integer_value(json_object_get(c, "weights_broadcasts"));
  v->subscribers = (uint64_t)json_integer_value(json_object_get(c, "weights_subscribers"));
  json_t *rej = json_object_get(c, "rejected");
  const char *key;
  json_t *val;
  size_t at = 0;
  json_object_foreach(rej, key, val) {
    uint64_t k = (uint64_t)json_integer_value(val);
    if (!strcmp(key, "unregistered")) v->unregistered = k;
    v->rejected += k;
    if (k && at < sizeof v->rejected_text)
      at += (size_t)snprintf(v->rejected_text + at, sizeof v->rejected_text - at, "%s\"%s\": %llu",
                             at ? ", " : "", key, (unsigned long long)k);
  }
  json_t *actors = json_object_get(root, "actors"), *sum = json_object_get(root, "actors_summary");
  v->listed = (uint32_t)json_array_size(actors);
  if (sum) { /* the whole table, whatever page was listed */
    v->table_rows = (uint32_t)json_integer_value(json_object_get(sum, "total"));
    v->table_active = (uint32_t)json_integer_value(json_object_get(sum, "active"));
    v->last_seen_max_s = json_number_value(json_object_get(sum, "last_seen_max_seconds"));
  } else { /* a learner from before the summary: every row it lists */
    size_t i;
    json_t *e;
    json_array_foreach(actors, i, e) {
      v->table_rows++;
      if (!json_is_true(json_object_get(e, "active"))) continue;
      v->table_active++;
      double seen = json_number_value(json_object_get(e, "last_seen_seconds"));
      if (seen > v->last_seen_max_s) v->last_seen_max_s = seen;
    }
  }
  json_decref(root);
  v->ok = 1;
  return 0;
}

long probe_metrics_connected(const char *text) {
  const char *p = strstr(text, "\ntd3d_actors_connected ");
  return p ? strtol(p + sizeof "\ntd3d_actors_connected " - 1, NULL, 10) : -1;
}

uint64_t probe_listen_overflows(void) {
  FILE *f = fopen("/proc/net/netstat", "r");
  if (!f) return 0;
  char names[4096], values[4096];
  uint64_t v = 0;
  while (fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
    if (strncmp(names, "TcpExt:", 7) != 0) continue;
    char *sn, *sv, *n = strtok_r(names, " \n", &sn), *x = strtok_r(values, " \n", &sv);
    while (n && x && strcmp(n, "ListenOverflows") != 0) {
      n = strtok_r(NULL, " \n", &sn);
      x = strtok_r(NULL, " \n", &sv);
    }
    if (n && x) v = strtoull(x, NULL, 10);
    break;
  }
  fclose(f);
  return v;
}

double probe_load_average(void) {
  FILE *f = fopen("/proc/loadavg", "r");
  double l = 0;
  if (f && fscanf(f, "%lf", &l) != 1) l = 0;
  if (f) fclose(f);
  return l;
}

/* UNIX seconds of a log line's "2026-12-02T15:56:37.854Z" (common/log.c), or -1. */
static double line_time(const char *line) {
  int y, mo, d, h, mi;
  double sec;
  if (sscanf(line, "%d-%d-%dT%d:%d:%lfZ", &y, &mo, &d, &h, &mi, &sec) != 6) return -1;
  /* days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
  y -= mo <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400, doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
  return (double)days * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
}

double probe_unix_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t probe_learner_expired(const char *log_path, double from_s, double to_s,
                               uint64_t *in_window) {
  char line[1024];
  FILE *f = fopen(log_path, "r");
  uint64_t n = 0;
  if (in_window) *in_window = 0;
  while (f && fgets(line, sizeof line, f)) {
    char *p = strstr(line, " actor lease");
    if (!p || !strstr(p, "expired")) continue;
    while (p > line && p[-1] >= '0' && p[-1] <= '9') p--;
    uint64_t k = strtoull(p, NULL, 10);
    double t = line_time(line);
    n += k;
    if (in_window && t >= from_s && t <= to_s) *in_window += k;
  }
  if (f) fclose(f);
  return n;
}

void probe_learner_stop(pid_t pid) {
  kill(pid, SIGTERM);
  int st = 0;
  uint64_t t0 = td3_now_ns();
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (td3_now_ns() - t0 > 30000000000ULL) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return;
    }
    td3_sleep_ms(20);
  }
}

pid_t probe_learner_start(char *const *argv, const char *log_path, rlim_t nofile) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  /* A session of its own, as a learner started by a supervisor or on its own host has: where
   * the kernel shares the CPU between sessions first (autogroup), the learner does not share
   * the caller's portion. */
  setsid();
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = nofile;
  setrlimit(RLIMIT_NOFILE, &rl);
  FILE *f = freopen(log_path, "w", stdout);
  if (f) dup2(fileno(stdout), 2);
  execv(argv[0], argv);
  fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

static int remove_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  return remove(p);
}

void probe_remove_dir(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }
