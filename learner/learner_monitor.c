/* Socket monitors of the learner's three sockets: what ZeroMQ does to a connection without
 * passing a message up (a failed handshake, a connection it closes for a frame over the limit)
 * becomes a counter here. See learner_internal.h for the contract. */
#include "learner_internal.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <zmq.h>

void *learner_monitor_open(learner_t *l, void *sock, int events, const char *tag) {
  char ep[128];
  snprintf(ep, sizeof ep, "inproc://td3d-learner-%s-%p", tag, sock);
  void *mon = NULL;
  if (zmq_socket_monitor(sock, ep, events) == 0) {
    mon = zmq_socket(l->zctx, ZMQ_PAIR);
    int linger = 0;
    if (mon && (zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
                zmq_connect(mon, ep) != 0)) {
      zmq_close(mon);
      mon = NULL;
    }
  }
  if (!mon)
    log_warn("no monitor on the %s socket (%s): its failed handshakes are not counted", tag,
             zmq_strerror(errno));
  return mon;
}

void learner_monitor_drain(learner_t *l, void *mon, int64_t *connections,
                           _Atomic uint64_t *disconnects) {
  int event;
  uint32_t value;
  while (mon && curve_monitor_next(mon, &event, &value)) {
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      atomic_fetch_add(&l->handshake_failures, 1);
      break;
    case ZMQ_EVENT_ACCEPTED:
      if (connections) (*connections)++;
      break;
    case ZMQ_EVENT_DISCONNECTED:
      if (connections && *connections > 0) (*connections)--;
      if (disconnects) atomic_fetch_add(disconnects, 1);
      break;
    default: break;
    }
  }
}

void learner_monitor_close(void **mon) {
  if (*mon) zmq_close(*mon);
  *mon = NULL;
}
