/* The learner's side of the status server (main thread): starting the server and filling the
 * snapshot it shows (learner/status.h). */
#ifndef TD3_LEARNER_STATUS_H
#define TD3_LEARNER_STATUS_H

#include "learner_control.h"

/* Starts the status server on c->status_bind, or returns NULL when it is off or cannot be
 * bound (a warning: the server only observes, a taken port must not stop a training run).
 * The caller owns the server (status_destroy). */
status_server_t *learner_status_start(const learner_config_t *c);

/* Fills ct->snap from the learner's counters (counters.h), the rate limiter, the latest
 * training stats (a copy under weights_lock), the process's memory and the actor table.
 * start_ns: monotonic start of this process; finished: the run is over. Main thread. */
void learner_status_fill(learner_control_t *ct, uint64_t start_ns, int finished);

#endif
