/* The learner's ingest thread: experience socket (PULL) -> validation -> rate limiter ->
 * replay. It is replay's only writer.
 *
 * A frame is decoded and validated first (wire.h; each refusal counted by reason and logged
 * at most once per reason every 5 s), then checked against the actor table (a batch for a
 * slot without a lease, or that does not carry both words of the slot's 128-bit lease, is
 * refused as unregistered), then row by row against the run's bounds (a transition with an
 * observation or reward of magnitude max_abs_value or more, or an action outside the env's
 * bounds, is refused and counted; the batch's other rows go on). An accepted batch is
 * held until the rate limiter admits it; while it is held the thread does not read the
 * socket, so ZeroMQ's queues fill and the actors feel back-pressure. Once the run's step budget is inserted, the rest is
 * counted as over budget. */
#include "learner_internal.h"

#include "log.h"
#include "xalloc.h"
#include "zsock.h"

#include <math.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <zmq.h>

static log_limit_t reject_limits[WIRE_REASON_COUNT];
static log_limit_t unregistered_limit;

static log_limit_t bounds_limit;

/* 1 if |v| < max for each of the n values. */
static int below(const float *v, size_t n, double max) {
  for (size_t i = 0; i < n; i++)
    if (!(fabs((double)v[i]) < max)) return 0;
  return 1;
}

/* Marks in keep the rows of b that are sane: observations, next observations and reward below
 * the run's max_abs_value in magnitude, actions within the env's bounds (what every actor
 * sends: its actions are clipped to them). Returns how many are kept. Wire validation has
 * already refused non-finite values. */
static uint32_t mark_in_bounds(const learner_t *l, const transition_batch_t *b, uint8_t *keep) {
  const double max = l->cfg->max_abs_value;
  const size_t od = b->obs_dim, ad = b->act_dim;
  const float *low = l->info->action_low, *high = l->info->action_high;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < b->n; i++) {
    int ok = below(b->obs + i * od, od, max) && below(b->next_obs + i * od, od, max) &&
             below(b->reward + i, 1, max);
    for (size_t j = 0; ok && j < ad; j++) {
      float a = b->action[i * ad + j];
      ok = a >= low[j] && a <= high[j];
    }
    keep[i] = (uint8_t)ok;
    kept += (uint32_t)ok;
  }
  return kept;
}

/* Inserts the admitted batch's rows marked in keep (kept of them), in runs of consecutive
 * rows, cutting at the budget. */
static void insert_batch(learner_t *l, const wire_batch_t *b, const uint8_t *keep,
                         uint32_t kept) {
  const transition_batch_t *rows = &b->rows;
  uint64_t budget = l->cfg->steps, ins = atomic_load(&l->inserted);
  uint64_t n = kept;
  if (budget && ins + n > budget) {
    uint64_t room = budget > ins ? budget - ins : 0;
    atomic_fetch_add(&l->over_budget, n - room);
    n = room;
  }
  if (n) {
    uint64_t left = n;
    for (uint32_t i = 0; i < rows->n && left;) {
      if (!keep[i]) {
        i++;
        continue;
      }
      uint32_t j = i;
      while (j < rows->n && keep[j] && j - i < left) j++;
      replay_insert(l->replay, rows, i, j - i);
      left -= j - i;
      i = j;
    }
    atomic_fetch_add(&l->inserted, n);
    uint64_t now = td3_now_ns(), zero = 0;
    atomic_compare_exchange_strong(&l->first_insert_ns, &zero, now);
    atomic_store(&l->last_insert_ns, now);
  }
  atomic_fetch_add(&l->batches, 1);
  /* the training episodes the batch reports, for progress.csv's train_return_mean (a return
   * is a sum of at most `length` rewards, each below max_abs_value) */
  for (uint32_t i = 0; i < b->n_episodes && n; i++) {
    double r = b->episodes[i].episode_return;
    if (!isfinite(r) || fabs(r) >= l->cfg->max_abs_value * (double)b->episodes[i].length)
      continue;
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
  void *pull = l->experience_sock; /* bound by run_start; its monitor is the ZAP handler's */
  l->experience_sock = NULL;
  wire_batch_t pending = {0};
  int have = 0;
  uint32_t kept = 0;
  uint8_t *keep = xmalloc(l->limits.max_batch); /* the pending batch's rows in bounds */
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (!atomic_load(&l->stop)) {
    if (have) {
      if (atomic_load(&l->ingest_closed)) {
        atomic_fetch_add(&l->over_budget, kept);
        wire_batch_release(&pending);
        have = 0;
        continue;
      }
      uint64_t ins = atomic_load(&l->inserted), upd = atomic_load(&l->updates);
      /* an empty replay cannot be trained on: its data must not wait for training (after a
       * rollback that dropped every row, the two would wait for each other) */
      if (ratelimit_accept(&l->rl, ins, upd, kept) || replay_size(l->replay) == 0) {
        insert_batch(l, &pending, keep, kept);
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
    kept = mark_in_bounds(l, &pending.rows, keep);
    if (kept < pending.rows.n) {
      atomic_fetch_add(&l->rejected_bounds, 1);
      atomic_fetch_add(&l->out_of_bounds, pending.rows.n - kept);
      log_limited(&bounds_limit, 5000, LOG_WARN,
                  "batch from slot %u: %u of %u transitions refused, out of bounds (an "
                  "observation or reward of magnitude %g or more, or an action outside the "
                  "env's bounds)",
                  pending.slot, pending.rows.n - kept, pending.rows.n,
                  l->cfg->max_abs_value);
      if (kept == 0) { /* nothing to insert: the slot's sequence is still followed */
        actors_batch(l->actors, pending.slot, pending.seq, pending.policy_version, 0,
                     td3_now_ns());
        wire_batch_release(&pending);
        continue;
      }
    }
    have = 1;
  }
  free(keep);
  if (have) wire_batch_release(&pending);
  zmq_msg_close(&msg);
  zsock_close(&pull);
  return NULL;
}
