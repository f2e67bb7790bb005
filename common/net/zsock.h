/* ZeroMQ sockets set up the td3d way: every option (high-water marks, ZMQ_LINGER, never
 * infinite, ZMQ_MAXMSGSIZE, reconnect intervals, subscription) is set before the bind or
 * connect, and failures come back as messages that name the endpoint. There is no CONFLATE:
 * libzmq's leaks a frame when its reader and the I/O thread meet, so a reader that wants only
 * the newest message keeps a small queue (rcvhwm) and drains it (actor_poll_weights).
 *
 * A socket belongs to the thread that uses it (ZeroMQ sockets are not thread-safe). */
#ifndef TD3_ZSOCK_H
#define TD3_ZSOCK_H

#include "curve_security.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct zsock_opts {
  int sndhwm;              /* messages; 0 keeps ZeroMQ's default (1000) */
  int rcvhwm;
  int linger_ms;           /* time to flush on close; default here 0 when left 0 */
  int64_t maxmsgsize;      /* bytes a peer may send; 0 = no limit set (-1 in ZeroMQ) */
  int reconnect_ivl_ms;    /* first reconnect wait; 0 keeps the default (100 ms) */
  int reconnect_ivl_max_ms;/* back-off cap; 0 keeps the default */
  int subscribe_all;       /* SUB: subscribe to every message */
  int router_mandatory;    /* ROUTER: report unroutable sends instead of dropping */
  int immediate;           /* queue only to completed connections (PUSH: back-pressure when no peer) */
  int backlog;             /* bind: pending connections the kernel queues (listen(2)); 0 keeps
                              ZeroMQ's 100; the kernel caps it at net.core.somaxconn */
  int connect_timeout_ms;  /* connect: how long one TCP connect may take before ZeroMQ gives
                              up and retries (resolving the name again); 0 means
                              ZSOCK_CONNECT_TIMEOUT_MS, -1 none (the kernel's SYN retries) */
  const curve_sock_t *curve; /* CURVE keys (server or client side); NULL: no security */
  void **monitor;          /* set: a PAIR socket receiving this socket's handshake failures
                              (curve_monitor_next), watching from before the bind/connect */
  int monitor_events;      /* with monitor: the events it receives (0: handshake failures) */
  const char *zap_domain;  /* ZMQ_ZAP_DOMAIN (a server socket): its connections go through the
                              context's ZAP handler (zap_guard.h) with or without CURVE;
                              NULL: "td3d" with CURVE, none without */
  int handshake_ivl_ms;    /* ZMQ_HANDSHAKE_IVL: a handshake not done by then is dropped (a
                              connection the ZAP handler told to wait, among them); 0 keeps
                              ZeroMQ's 30 s */
} zsock_opts_t;

/* A connect to an address that went away (a peer restarted elsewhere, on an overlay network
 * where nothing answers for its old address) would otherwise wait for the kernel's SYN
 * retries, about 2 minutes, before ZeroMQ resolves the name again and finds the new one. */
#define ZSOCK_CONNECT_TIMEOUT_MS 3000

/* Opens a socket of type (ZMQ_PUSH, ...) on ctx, sets the options, then binds (bind != 0)
 * or connects to endpoint. Returns the socket or NULL with err filled. */
void *zsock_open(void *ctx, int type, const zsock_opts_t *o, const char *endpoint, int bind,
                 td3_err_t *err);

/* Closes *ps (NULL is fine) and sets it to NULL. */
void zsock_close(void **ps);

/* Builds "tcp://HOST:PORT" into out. */
void zsock_endpoint(char *out, size_t cap, const char *host, unsigned port);

#endif
