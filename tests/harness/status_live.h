/* A live learner for the status-server tests (tests/test_status.c: the documents and the
 * command; tests/test_status_limits.c: errors and limits): a small Pendulum learner in this
 * process with two actors and an evaluator on loopback, its status server up, and a minimal
 * HTTP client for it. One learner per test binary (the state is this module's): start it in
 * the group setup, stop it in the group teardown. Cmocka tests only (the client asserts);
 * one thread. */
#ifndef TD3_STATUS_LIVE_H
#define TD3_STATUS_LIVE_H

/* Starts the learner (experience, weights, control on port..port + 2; status on 127.0.0.1:
 * status_port; a budget out of reach; its run directory a new $TMPDIR/td3d_<tag>_XXXXXX) and
 * the actors, and waits up to 10 s for the status server. Returns 0, or -1 when something did
 * not start (a cmocka group setup returns it as it is). */
int status_live_start(unsigned port, unsigned status_port, const char *tag);

/* Waits up to limit_ms for GET /healthz to answer 200 (a learner that has just started has
 * not reported yet: 503). Returns 0, or -1 when it did not in time. */
int status_live_wait_healthy(unsigned limit_ms);

/* Stops the learner and the actors and removes the run directory. Returns 0, or -1 when the
 * removal failed or the learner's run had ended with an error. */
int status_live_stop(void);

/* A new connection to the status server, or -1. The caller closes it. */
int status_live_connect(void);

/* Sends raw bytes on a new connection and returns everything that came back until the server
 * closed it (the request should ask to close). The caller frees the answer. */
char *status_live_exchange(const char *raw);

/* A request for path with method and "Connection: close"; the whole answer (caller frees). */
char *status_live_get(const char *method, const char *path);

/* The status code of an HTTP/1.1 answer, 0 when there is none. */
int status_live_code(const char *resp);

/* The body of an answer (borrowed from it; "" when there is none). */
const char *status_live_body(const char *resp);

/* The value of the metric line `name value` in a Prometheus exposition, NAN when absent. */
double status_live_metric(const char *text, const char *name);

/* Fails the running test unless GET /healthz answers 200 "ok\n". */
void status_live_healthz_check(void);

#endif
