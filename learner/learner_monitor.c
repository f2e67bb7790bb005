/* The learner's three sockets, bound together, and their monitors: what ZeroMQ does to a
 * connection without passing a message up (a failed handshake, a connection it closes for a
 * frame over the limit) becomes a counter here. See learner_internal.h for the contract. */
#include "learner_internal.h"

#include "log.h"
#include "zsock.h"

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

int learner_sockets_bind(learner_t *l, void **router, void **router_mon, td3_err_t *err) {
  int backlog = learner_backlog(l->cfg);
  zsock_opts_t co = {.sndhwm = 1000, .rcvhwm = 1000, .maxmsgsize = 1 << 20, .curve = l->curve,
                     .backlog = backlog};
  if (!(*router = zsock_open(l->zctx, ZMQ_ROUTER, &co, l->control_ep, 1, err)))
    return err ? err->code : TD3_ESYS;
  *router_mon = learner_monitor_open(l, *router, LEARNER_MONITOR_EVENTS, "control");
  /* Every connection goes through the ZAP handler (LEARNER_EXPERIENCE_DOMAIN), which caps
   * them and counts them from the socket's monitor: the connections that succeed and end
   * (ZeroMQ closes one that sends a frame over max_frame without passing anything up), and
   * failed handshakes. A connection it tells to wait is closed after the handshake interval,
   * and the peer connects again. */
  void *emon = NULL;
  zsock_opts_t eo = {.rcvhwm = LEARNER_EXPERIENCE_HWM, .maxmsgsize = (int64_t)l->limits.max_frame,
                     .curve = l->curve, .backlog = backlog, .zap_domain = LEARNER_EXPERIENCE_DOMAIN,
                     .handshake_ivl_ms = LEARNER_EXPERIENCE_HANDSHAKE_MS, .monitor = &emon,
                     .monitor_events = ZAP_GUARD_MONITOR_EVENTS};
  td3_err_t e = {0};
  if (!(l->experience_sock = zsock_open(l->zctx, ZMQ_PULL, &eo, l->experience_ep, 1, &e)))
    return td3_err_set(err, e.code, "experience socket: %s", e.msg);
  zap_guard_watch(l->zap, emon);
  /* The weights socket is a ROUTER: subscribers (DEALERs) send a one-byte subscribe frame
   * (WIRE_WEIGHTS_SUBSCRIBE) every second and the trainer sends each Weights frame to the
   * routing ids in its table. Unlike a PUB, which keeps every distinct subscription a peer
   * sends until its connection ends (30,000 of 1000 bytes: 14 -> 959 MB), it keeps nothing
   * a peer's frames can grow: ZeroMQ drops a connection whose frame is over
   * LEARNER_SUBSCRIPTION_MAX before holding it and queues LEARNER_WEIGHTS_RCVHWM a connection
   * (without them, XSUB peers' 300 MB frames took the learner from 22 MB to 666 MB); the
   * trainer reads and drops whatever is not a subscribe frame. ROUTER_MANDATORY: a send to a
   * peer that is gone fails (EHOSTUNREACH, its entry goes) and one to a full queue says EAGAIN
   * (that subscriber misses the broadcast) instead of both being dropped unseen. */
  /* A linger of half a second lets the final weights (published as the run ends, right
   * before the socket closes) reach the subscribers, whose policy then matches policy.td3p */
  zsock_opts_t wo = {.sndhwm = LEARNER_WEIGHTS_SNDHWM, .rcvhwm = LEARNER_WEIGHTS_RCVHWM,
                     .maxmsgsize = LEARNER_SUBSCRIPTION_MAX, .curve = l->curve,
                     .backlog = backlog, .linger_ms = 500, .router_mandatory = 1};
  if (!(l->weights_sock = zsock_open(l->zctx, ZMQ_ROUTER, &wo, l->weights_ep, 1, &e)))
    return td3_err_set(err, e.code, "weights socket: %s", e.msg);
  l->weights_mon = learner_monitor_open(l, l->weights_sock, LEARNER_MONITOR_EVENTS, "weights");
  return 0;
}

void learner_sockets_close(learner_t *l) {
  zsock_close(&l->experience_sock);
  learner_monitor_close(&l->weights_mon);
  zsock_close(&l->weights_sock);
}
