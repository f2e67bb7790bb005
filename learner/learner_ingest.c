/* The learner's ingest thread: experience socket (PULL) -> validation -> rate limiter ->
 * replay. It is replay's only writer.
 *
 * A frame is decoded and validated first (wire.h; each refusal counted by reason and logged
 * at most once per reason every 5 s), then checked against the actor table (a slot without
 * a lease is refused as unregistered). An accepted batch is held until the rate limiter
 * admits it; while it is held the thread does not read the socket, so ZeroMQ's queues fill
 * and the actors feel back-pressure. Once the run's step budget is inserted, the rest is
 * counted as over budget. */
#include "learner_internal.h"

#include "log.h"
#include "zsock.h"

#include <math.h>
#include <sys/prctl.h>
#include <zmq.h>

static log_limit_t reject_limits[WIRE_REASON_COUNT];
static log_limit_t unregistered_limit;

/* Inserts the admitted batch, cutting it at the budget. */
static void insert_batch(learner_t *l, const wire_batch_t *b) {
  uint64_t budget = l->cfg->steps, ins = atomic_load(&l->inserted);
  uint64_t n = b->n;
  if (budget && ins + n > budget) {
    uint64_t keep = budget > ins ? budget - ins : 0;
    atomic_fetch_add(&l->over_budget, n - keep);
    n = keep;
  }
  if (n) {
    replay_insert(l->replay, (size_t)n, b->obs, b->action, b->reward, b->next_obs, b->terminal);
    atomic_fetch_add(&l->inserted, n);
    uint64_t now = td3_now_ns(), zero = 0;
    atomic_compare_exchange_strong(&l->first_insert_ns, &zero, now);
    atomic_store(&l->last_insert_ns, now);
  }
  atomic_fetch_add(&l->batches, 1);
  /* the training episodes the batch reports, for progress.csv's train_return_mean */
  for (uint32_t i = 0; i < b->n_episodes && n; i++) {
    double r = b->episodes[i].episode_return;
    if (!isfinite(r)) continue;
    r = fmax(-1e12, fmin(1e12, r));
    atomic_fetch_add(&l->train_return_milli, (int64_t)llround(r * 1000.0));
    atomic_fetch_add(&l->train_episodes, 1);
  }
  uint64_t now_version = atomic_load(&l->weights_version);
  if (b->policy_version > 0 && now_version >= b->policy_version) {
    uint64_t lag = now_version - b->policy_version, max = atomic_load(&l->lag_max);
    atomic_fetch_add(&l->lag_sum, lag);
    atomic_fetch_add(&l->lag_count, 1);
    int bucket = 0;
    while (bucket < STATUS_LAG_BUCKETS && (double)lag > status_lag_bounds[bucket]) bucket++;
    atomic_fetch_add(&l->lag_hist[bucket], 1);
    while (lag > max && !atomic_compare_exchange_weak(&l->lag_max, &max, lag)) {
    }
  }
  actors_batch(l->actors, b->slot, b->seq, b->policy_version, (uint32_t)n, td3_now_ns());
  if (budget && atomic_load(&l->inserted) >= budget) atomic_store(&l->ingest_closed, 1);
  learner_wake(l);
}

void *learner_ingest_thread(void *arg) {
  learner_t *l = arg;
  prctl(PR_SET_NAME, "td3d-ingest"); /* thread names: top -H, bench_run's CPU per thread */
  td3_err_t err = {0};
  /* ZeroMQ drops the connection of a peer sending more than maxmsgsize; frames between
   * max_frame and twice that arrive and are refused (and counted) as oversize. */
  zsock_opts_t o = {.rcvhwm = 16, .maxmsgsize = 2 * (int64_t)l->limits.max_frame,
                    .curve = l->curve, .backlog = learner_backlog(l->cfg)};
  void *pull = zsock_open(l->zctx, ZMQ_PULL, &o, l->experience_ep, 1, &err);
  if (!pull) {
    learner_fail(l, err.code, "experience socket: %s", err.msg);
    return NULL;
  }
  wire_batch_t pending = {0};
  int have = 0;
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (!atomic_load(&l->stop)) {
    if (have) {
      if (atomic_load(&l->ingest_closed)) {
        atomic_fetch_add(&l->over_budget, pending.n);
        wire_batch_release(&pending);
        have = 0;
        continue;
      }
      uint64_t ins = atomic_load(&l->inserted), upd = atomic_load(&l->updates);
      if (ratelimit_accept(&l->rl, ins, upd, pending.n)) {
        insert_batch(l, &pending);
        wire_batch_release(&pending);
        have = 0;
      } else {
        uint64_t t0 = td3_now_ns();
        learner_wait(l, 20);
        atomic_fetch_add(&l->ingest_wait_ns, td3_now_ns() - t0);
      }
      continue;
    }
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&item, 1, 50);
    if (rc <= 0) continue; /* timeout or EINTR: check stop and retry */
    if (zmq_msg_recv(&msg, pull, ZMQ_DONTWAIT) < 0) continue;
    wire_reason_t r = wire_batch_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &l->limits,
                                        &pending);
    if (r != WIRE_OK) {
      atomic_fetch_add(&l->rejected[r], 1);
      log_limited(&reject_limits[r], 5000, LOG_WARN, "experience frame of %zu bytes refused: %s",
                  zmq_msg_size(&msg), wire_reason_name(r));
      continue;
    }
    if (!actors_lease_ok(l->actors, pending.slot, pending.lease)) {
      atomic_fetch_add(&l->rejected_unregistered, 1);
      log_limited(&unregistered_limit, 5000, LOG_WARN,
                  "batch from slot %u refused: %s", pending.slot,
                  actors_active(l->actors, pending.slot)
                      ? "it does not carry the slot's lease (not from the process that holds it)"
                      : "no lease (the actor must say Hello first)");
      wire_batch_release(&pending);
      continue;
    }
    have = 1;
  }
  if (have) wire_batch_release(&pending);
  zmq_msg_close(&msg);
  zsock_close(&pull);
  return NULL;
}
