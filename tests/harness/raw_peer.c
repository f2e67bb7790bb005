/* A hand-made control-protocol peer (see raw_peer.h). */
#include "raw_peer.h"

#include <stdint.h>
#include <stdio.h>
#include <zmq.h>

void raw_hello_pendulum(wire_control_t *c, const char *name, wire_role_t role, float bounds[2]) {
  *c = (wire_control_t){.type = WIRE_MSG_HELLO};
  wire_hello_t *h = &c->u.hello;
  snprintf(h->actor_name, sizeof h->actor_name, "%s", name);
  snprintf(h->env_id, sizeof h->env_id, "Pendulum-v1");
  h->role = role;
  h->obs_dim = 3;
  h->act_dim = 1;
  h->action_low = &bounds[0];
  h->action_high = &bounds[1];
  h->envs = 1;
}

int raw_hello_send(void *dealer, const wire_control_t *hello, int tries, int wait_ms,
                   wire_control_t *reply) {
  wire_buf_t buf = {0};
  int rc = -1;
  if (wire_control_encode(hello, &buf) != 0) goto out;
  zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
  int got = 0;
  for (int attempt = 0; attempt < tries && !got; attempt++) {
    if (zmq_send(dealer, buf.data, buf.len, 0) < 0) goto out;
    got = zmq_poll(&item, 1, wait_ms) == 1;
  }
  if (!got) goto out;
  uint8_t answer[4096];
  int n = zmq_recv(dealer, answer, sizeof answer, 0);
  if (n <= 0) goto out;
  rc = (int)wire_control_decode(answer, (size_t)n, NULL, reply);
out:
  wire_buf_free(&buf);
  return rc;
}

void *raw_dealer_connect(void *ctx, unsigned port) { return raw_dealer_connect_from(ctx, NULL, port); }

void *raw_dealer_connect_from(void *ctx, const char *source, unsigned port) {
  void *d = zmq_socket(ctx, ZMQ_DEALER);
  if (!d) return NULL;
  int zero = 0;
  zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
  char ep[96];
  if (source) /* ZeroMQ's "source;destination" form, any source port */
    snprintf(ep, sizeof ep, "tcp://%s:0;127.0.0.1:%u", source, port + 2);
  else
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port + 2);
  if (zmq_connect(d, ep) != 0) {
    zmq_close(d);
    return NULL;
  }
  return d;
}
