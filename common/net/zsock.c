/* ZeroMQ socket setup (see zsock.h). */
#include "zsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static int set_int(void *s, int opt, int v) { return zmq_setsockopt(s, opt, &v, sizeof v); }

void *zsock_open(void *ctx, int type, const zsock_opts_t *o, const char *endpoint, int bind,
                 td3_err_t *err) {
  static const zsock_opts_t none = {0};
  if (!o) o = &none;
  void *s = zmq_socket(ctx, type);
  if (!s) {
    td3_err_set(err, TD3_ESYS, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    return NULL;
  }
  int rc = 0;
  rc |= set_int(s, ZMQ_LINGER, o->linger_ms > 0 ? o->linger_ms : 0);
  if (o->sndhwm) rc |= set_int(s, ZMQ_SNDHWM, o->sndhwm);
  if (o->rcvhwm) rc |= set_int(s, ZMQ_RCVHWM, o->rcvhwm);
  if (o->maxmsgsize) rc |= zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &o->maxmsgsize, sizeof o->maxmsgsize);
  if (o->reconnect_ivl_ms) rc |= set_int(s, ZMQ_RECONNECT_IVL, o->reconnect_ivl_ms);
  if (o->reconnect_ivl_max_ms) rc |= set_int(s, ZMQ_RECONNECT_IVL_MAX, o->reconnect_ivl_max_ms);
  if (o->subscribe_all) rc |= zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
  if (o->router_mandatory) rc |= set_int(s, ZMQ_ROUTER_MANDATORY, 1);
  if (o->immediate) rc |= set_int(s, ZMQ_IMMEDIATE, 1);
  if (o->backlog) rc |= set_int(s, ZMQ_BACKLOG, o->backlog);
  if (o->zap_domain) rc |= zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, o->zap_domain, strlen(o->zap_domain));
  if (o->handshake_ivl_ms) rc |= set_int(s, ZMQ_HANDSHAKE_IVL, o->handshake_ivl_ms);
  if (!bind && o->connect_timeout_ms >= 0)
    rc |= set_int(s, ZMQ_CONNECT_TIMEOUT,
                  o->connect_timeout_ms ? o->connect_timeout_ms : ZSOCK_CONNECT_TIMEOUT_MS);
  if (o->curve) {
    const curve_sock_t *c = o->curve;
    if (c->server) {
      rc |= set_int(s, ZMQ_CURVE_SERVER, 1);
      if (!o->zap_domain) rc |= zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "td3d", 4);
    } else {
      rc |= zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->server_key, CURVE_Z85_LEN);
      rc |= zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->own.public_key, CURVE_Z85_LEN);
    }
    rc |= zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->own.secret_key, CURVE_Z85_LEN);
  }
  if (rc != 0) {
    td3_err_set(err, TD3_ESYS, "cannot set socket options for %s: %s", endpoint,
                zmq_strerror(errno));
    zmq_close(s);
    return NULL;
  }
  if (o->monitor &&
      !(*o->monitor = curve_monitor_open(ctx, s, "zsock", o->monitor_events, err))) {
    zmq_close(s);
    return NULL;
  }
  rc = bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint);
  if (rc != 0) {
    int e = errno;
    if (o->monitor) {
      zmq_close(*o->monitor);
      *o->monitor = NULL;
    }
    td3_err_set(err, TD3_ESYS, "cannot %s %s: %s%s", bind ? "bind" : "connect to", endpoint,
                zmq_strerror(e),
                bind && e == EADDRINUSE ? " (another learner running? choose other ports)" : "");
    zmq_close(s);
    return NULL;
  }
  return s;
}

void zsock_close(void **ps) {
  if (!ps || !*ps) return;
  zmq_close(*ps);
  *ps = NULL;
}

void zsock_endpoint(char *out, size_t cap, const char *host, unsigned port) {
  snprintf(out, cap, "tcp://%s:%u", host, port);
}
