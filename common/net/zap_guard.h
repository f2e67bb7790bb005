/* The ZAP handler of a server's ZeroMQ context: a thread answering every authentication
 * request (inproc://zeromq.zap.01) of the context's sockets that have a ZAP domain.
 *
 * It decides two things:
 *  - who: with authorized keys, CURVE clients whose key is in them and nothing else; without,
 *    NULL-mechanism clients (a socket without CURVE) and nothing else;
 *  - how many: the connections of one socket (the capped domain) that are through the
 *    handshake at once are held to cap_total, and to cap_per_address from one peer address
 *    (see below).
 *    A connection over the cap gets ZAP status 300 (temporary): ZeroMQ closes it within the
 *    socket's handshake interval and the client's ZeroMQ connects again by itself, so a
 *    client without any code for it retries. What a socket may queue is bounded per
 *    connection (ZMQ_RCVHWM, ZMQ_MAXMSGSIZE); the cap makes the whole bounded too, whatever
 *    the number of connections a peer opens.
 *
 * The handler counts the capped socket's open connections by peer address from its monitor
 * (zap_guard_watch): ACCEPTED adds one for the address of its descriptor, DISCONNECTED takes
 * it away. A connection goes through while its address has at most cap_per_address open and
 * the addresses' open connections, each counted up to cap_per_address, are at most
 * cap_total; so at most cap_per_address from one address are through the handshake, and one
 * told to wait counts only against its own address. Start the handler before binding the
 * sockets it serves and stop it before zmq_ctx_term. */
#ifndef TD3_ZAP_GUARD_H
#define TD3_ZAP_GUARD_H

#include "curve_security.h"
#include "error.h"

#include <stdatomic.h>
#include <stdint.h>
#include <zmq.h>

/* Events the capped socket's monitor must carry (zsock_opts_t.monitor_events). */
#define ZAP_GUARD_MONITOR_EVENTS                                                                  \
  (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |                                      \
   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)

typedef struct zap_guard_config {
  const curve_authorized_t *auth; /* CURVE keys accepted; NULL: no CURVE (NULL mechanism) */
  const char *capped_domain;      /* ZMQ_ZAP_DOMAIN of the capped socket; NULL: no cap */
  uint32_t cap_total;             /* its connections through the handshake at once */
  uint32_t cap_per_address;       /* of those, from one peer address */
  /* optional counters the handler adds the capped socket's events to: handshakes that failed
   * for another reason than this handler (no CURVE, not ZeroMQ), and connections that ended */
  _Atomic uint64_t *handshake_failures, *disconnects;
} zap_guard_config_t;

typedef struct zap_guard zap_guard_t;

/* Binds the ZAP endpoint of ctx and starts the thread; c is copied (auth must outlive the
 * handler). NULL with err filled on failure. */
zap_guard_t *zap_guard_start(void *ctx, const zap_guard_config_t *c, td3_err_t *err);

/* Hands the capped socket's monitor (a PAIR connected to it, with ZAP_GUARD_MONITOR_EVENTS,
 * set up before its bind) to the handler thread, which owns and closes it from then on. */
void zap_guard_watch(zap_guard_t *g, void *monitor);

/* Stops the thread, closes its sockets and frees g; *pg = NULL. NULL is fine. */
void zap_guard_stop(zap_guard_t **pg);

/* Figures so far (any thread; NULL: 0). accepted/refused: requests approved and refused for
 * their mechanism or key; over_cap: told to wait for the cap; connections: the capped
 * socket's open connections now (in their handshake or through it). */
uint64_t zap_guard_accepted(const zap_guard_t *g);
uint64_t zap_guard_refused(const zap_guard_t *g);
uint64_t zap_guard_over_cap(const zap_guard_t *g);
uint64_t zap_guard_connections(const zap_guard_t *g);

#endif
