/* The local launcher's process supervision (see launcher.h). */
#include "launcher.h"

#include "log.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int start(const char *exe, launch_child_t *c, td3_err_t *err) {
  pid_t pid = fork();
  if (pid < 0) return td3_err_set(err, TD3_ESYS, "cannot start the %s: fork: %s", c->role, strerror(errno));
  if (pid == 0) {
    /* the child: default signal handling, then the program */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execv(exe, c->argv);
    _exit(127);
  }
  c->pid = pid;
  c->started_ns = td3_now_ns();
  c->restart_at_ns = 0;
  return 0;
}

static int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

static void describe(int status, char *out, size_t cap) {
  if (WIFEXITED(status)) snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else snprintf(out, cap, "stopped");
}

/* Sends sig to the running children in [from, to). */
static void signal_all(launch_child_t *ch, uint32_t from, uint32_t to, int sig) {
  for (uint32_t i = from; i < to; i++)
    if (ch[i].pid > 0) kill(ch[i].pid, sig);
}

/* Reaps exited children (non-blocking); returns the index of one that exited, with its
 * status, or -1 when none did. */
static int reap(launch_child_t *ch, uint32_t n, int *status) {
  for (;;) {
    pid_t pid = waitpid(-1, status, WNOHANG);
    if (pid <= 0) return -1;
    for (uint32_t i = 0; i < n; i++)
      if (ch[i].pid == pid) {
        ch[i].pid = 0;
        return (int)i;
      }
  }
}

/* Waits up to ms for the children in [from, to) to exit; returns 1 if all did. */
static int wait_exit(launch_child_t *ch, uint32_t n, uint32_t from, uint32_t to, uint32_t ms) {
  uint64_t deadline = td3_now_ns() + (uint64_t)ms * 1000000ULL;
  for (;;) {
    int status, running = 0;
    while (reap(ch, n, &status) >= 0) {
    }
    for (uint32_t i = from; i < to; i++) running |= ch[i].pid > 0;
    if (!running) return 1;
    if (td3_now_ns() > deadline) return 0;
    td3_sleep_ms(20);
  }
}

int launcher_run(const char *exe, launch_child_t *ch, uint32_t n, _Atomic int *stop,
                 uint32_t grace_ms, launcher_result_t *res, td3_err_t *err) {
  memset(res, 0, sizeof *res);
  for (uint32_t i = 0; i < n; i++) {
    ch[i].backoff_ms = 1000;
    if (start(exe, &ch[i], err) != 0) {
      signal_all(ch, 0, i, SIGTERM);
      wait_exit(ch, n, 0, i, grace_ms);
      signal_all(ch, 0, i, SIGKILL);
      wait_exit(ch, n, 0, i, 1000);
      return err->code;
    }
  }
  int primary_done = 0, stopping = 0, killed = 0;
  uint64_t stop_ns = 0;
  while (!primary_done) {
    if (stop && *stop && !stopping) {
      stopping = 1;
      stop_ns = td3_now_ns();
      log_info("stopping: asking the %s to finish", ch[0].role);
      signal_all(ch, 0, 1, SIGTERM);
    }
    if (stopping && !killed && td3_now_ns() - stop_ns > (uint64_t)grace_ms * 1000000ULL) {
      log_warn("the %s did not stop within %u ms; killing it", ch[0].role, grace_ms);
      signal_all(ch, 0, 1, SIGKILL);
      killed = 1;
    }
    int status;
    int i;
    while ((i = reap(ch, n, &status)) >= 0) {
      char how[96];
      describe(status, how, sizeof how);
      if (i == 0 && (stopping || !WIFSIGNALED(status) || !ch[0].resume_argv ||
                     ch[0].restarts >= ch[0].max_restarts)) {
        res->primary_status = exit_code(status);
        if (res->primary_status != 0 && res->primary_status != LAUNCH_EXIT_UNSOLVED)
          log_error("the %s %s", ch[0].role, how);
        primary_done = 1;
        break;
      }
      if (stopping) continue;
      launch_child_t *c = &ch[i];
      if (i != 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        /* an actor that ends cleanly was told the run is over: it is done, not crashed */
        log_info("the %s finished", c->role);
        continue;
      }
      uint64_t ran_ms = (td3_now_ns() - c->started_ns) / 1000000ULL;
      if (ran_ms > 60000) c->backoff_ms = 1000;
      const char *from = "";
      if (i == 0) {
        int resume = ch[0].resume_check && access(ch[0].resume_check, F_OK) == 0;
        c->argv = resume ? ch[0].resume_argv : ch[0].fresh_argv;
        from = resume ? " from its checkpoint" : " from the start (it had no checkpoint yet)";
      }
      log_warn("the %s %s; restarting it in %u ms%s", c->role, how, c->backoff_ms, from);
      c->restart_at_ns = td3_now_ns() + (uint64_t)c->backoff_ms * 1000000ULL;
      c->backoff_ms = c->backoff_ms * 2 > 30000 ? 30000 : c->backoff_ms * 2;
    }
    if (primary_done) break;
    if (stopping && ch[0].pid == 0) { /* stopped while the primary waited for its restart */
      res->primary_status = 0;
      break;
    }
    uint64_t now = td3_now_ns();
    for (uint32_t k = 0; k < n && !stopping; k++)
      if (ch[k].pid == 0 && ch[k].restart_at_ns && now >= ch[k].restart_at_ns) {
        td3_err_t e = {0};
        if (start(exe, &ch[k], &e) == 0) {
          ch[k].restarts++;
          if (k == 0) res->primary_restarts++;
          else res->restarts++;
        } else {
          log_error("%s", e.msg);
          ch[k].restart_at_ns = now + (uint64_t)ch[k].backoff_ms * 1000000ULL;
        }
      }
    td3_sleep_ms(50);
  }
  /* the run is over: the others stop */
  signal_all(ch, 1, n, SIGTERM);
  if (!wait_exit(ch, n, 1, n, grace_ms)) {
    signal_all(ch, 1, n, SIGKILL);
    wait_exit(ch, n, 1, n, 2000);
  }
  return 0;
}

const char *launch_fmt_return(char *buf, size_t cap, double v) {
  if (isnan(v)) snprintf(buf, cap, "-");
  else snprintf(buf, cap, "%.2f", v);
  return buf;
}

void launch_print_unsolved(double best, double target) {
  if (isnan(best))
    printf("target NOT reached: no evaluation of a trained policy, the target %.2f (exit status "
           "%d)\n", target, LAUNCH_EXIT_UNSOLVED);
  else
    printf("target NOT reached: the best evaluation was %.2f, the target %.2f (exit status %d)\n",
           best, target, LAUNCH_EXIT_UNSOLVED);
}
