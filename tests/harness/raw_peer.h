/* A peer that speaks the control protocol by hand, for tests that feed a learner what no
 * real actor sends (forged reports, bad frames, floods): the Pendulum Hello such a peer
 * introduces itself with, and the Hello-Welcome exchange over a caller's DEALER socket.
 * Nothing here asserts or exits: callers check the return values. One thread per socket. */
#ifndef TD3_RAW_PEER_H
#define TD3_RAW_PEER_H

#include "wire.h"

/* Fills *c with a Hello for Pendulum-v1 (obs 3, act 1, one env) from the actor called name
 * in role; its action bounds point at bounds[0] (low) and bounds[1] (high), which the caller
 * sets (-2 and 2 for Pendulum) and keeps alive while c is encoded. */
void raw_hello_pendulum(wire_control_t *c, const char *name, wire_role_t role, float bounds[2]);

/* Sends hello on dealer (connected to a learner's control port) and waits up to wait_ms for
 * the answer, sending it again up to tries times in all while nothing comes (a learner may
 * still be starting). Returns 0 with the answer decoded into *reply (the caller releases it:
 * wire_control_release), -1 when nothing answered or the send failed, or the wire_reason_t
 * (> 0) of an answer that did not decode. */
int raw_hello_send(void *dealer, const wire_control_t *hello, int tries, int wait_ms,
                   wire_control_t *reply);

/* A DEALER of ctx (linger 0) connecting to the control port of a learner whose ports start at
 * port (control = port + 2); NULL when it cannot be made. */
void *raw_dealer_connect(void *ctx, unsigned port);

/* raw_dealer_connect from the loopback address source ("127.0.0.2": another host, as the
 * learner sees it; Linux answers for all of 127.0.0.0/8). */
void *raw_dealer_connect_from(void *ctx, const char *source, unsigned port);

#endif
