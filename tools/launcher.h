/* The local launcher: runs a learner and its actors as child processes of one command and
 * supervises them.
 *
 * The first child is primary (the learner): when it exits, the run is over (unless it was
 * killed and can resume from its checkpoint, see launch_child_t); the others are asked to stop (SIGTERM, then SIGKILL after a grace period) and its exit status becomes the
 * launcher's. Any other child that dies while the run goes on is restarted after a back-off
 * (1 s, doubling to 30 s; reset after a minute of good running). A stop request (the caller's
 * flag, set from SIGINT/SIGTERM) is passed on to the primary first, so it can finish its
 * update and write its outputs, then to the others.
 *
 * Children inherit standard output and error; they are started with execv(exe, argv). */
#ifndef TD3_LAUNCHER_H
#define TD3_LAUNCHER_H

#include "error.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct launch_child {
  const char *role;     /* "learner", "actor 0", ... for messages */
  char **argv;          /* NULL-terminated; argv[0] is the program name shown by ps */
  pid_t pid;            /* 0 when not running */
  uint32_t restarts;
  uint64_t started_ns;
  uint64_t restart_at_ns;  /* when a dead child is due to start again (0: not waiting) */
  uint32_t backoff_ms;
  /* The primary only: when it is killed by a signal the launcher did not send (a crash, the
   * OOM killer, kill -9), it is started again after the back-off with resume_argv if the file
   * resume_check exists (its checkpoint), else with fresh_argv; at most max_restarts times.
   * NULL argvs: the run ends with the primary, as for any exit status. */
  char **resume_argv, **fresh_argv;
  const char *resume_check;
  uint32_t max_restarts;
} launch_child_t;

/* The exit status of a learner (or serial run) that spent its step budget without reaching
 * its --target-return: not a failure of the process, so the launcher does not log it as
 * one, and `td3d run` passes it on so that a script can tell. */
#define LAUNCH_EXIT_UNSOLVED 3

/* The exit status of a learner whose run ended without its outputs saved: the checkpoint of
 * its end, or rows of progress.csv, curve.svg or policy.td3p, could not be written (a full
 * disk). Its last lines say what is missing and how far back --resume goes; `td3d run`
 * passes it on. */
#define LAUNCH_EXIT_NOT_SAVED 4

/* A run's mean return for its last lines: "%.2f", or "-" when v is NaN (no evaluation, or
 * no evaluation of a trained policy). Writes into buf (cap bytes) and returns it. */
const char *launch_fmt_return(char *buf, size_t cap, double v);

/* Prints the line of a run that spent its budget below target: its best evaluation of a
 * trained policy (NaN: none) and the target. */
void launch_print_unsolved(double best, double target);

typedef struct launcher_result {
  int primary_status;   /* exit code of the primary (128 + signal if killed) */
  uint32_t restarts;    /* restarts of the other children */
  uint32_t primary_restarts;
} launcher_result_t;

/* Starts every child and supervises them until the primary exits or *stop is set (then the
 * primary gets SIGTERM and up to grace_ms to exit). Returns 0, or TD3_ESYS with err filled
 * when a child cannot be started at all. */
int launcher_run(const char *exe, launch_child_t *children, uint32_t n,
                 _Atomic int *stop, uint32_t grace_ms, launcher_result_t *res,
                 td3_err_t *err);

#endif
