/* The learner's trainer thread: TD3 iterations under the rate limiter and the weights
 * socket (a ROUTER and its table of subscribers).
 *
 * It runs updates while the rate limiter allows (at most 8 between checks of the stop flag
 * and the publish clock), otherwise waits for data with a 20 ms timeout. The actor's weights
 * are published with an increasing version every publish_every updates, and re-sent (same
 * version, fresh env step count) at least every 200 ms, within a byte budget: a broadcast is
 * one frame for every subscriber, so after one of B bytes to N subscribers the next waits
 * B x N / weights_budget_mb seconds (a new version waiting meanwhile goes out then, the
 * latest parameters with the next version number). N is the larger of the actors holding a
 * lease and the subscriber table's entries: a fleet subscribes before its Hellos are
 * answered. With a few actors the budget never binds; with 1000 Pendulum actors one
 * broadcast is 268 MB.
 *
 * Subscribers: each publish check first reads up to LEARNER_WEIGHTS_READ_MAX messages from the
 * socket without waiting; a subscribe frame (WIRE_WEIGHTS_SUBSCRIBE) adds or refreshes its
 * routing id in the table (weights_subs.h; a new one is refused and counted when the table is
 * full), anything else is dropped and counted (td3d_weights_frames_refused_total). Entries
 * not heard from for WIRE_WEIGHTS_SUBSCRIBER_TTL_MS go, and so does one whose peer is gone
 * (the send says EHOSTUNREACH). A broadcast encodes the Weights once into one message and
 * sends each subscriber its routing id and a copy of that message (zmq_msg_copy shares the
 * payload); a subscriber whose queue is full (EAGAIN) misses that broadcast.
 *
 * Every checkpoint_every seconds it
 * writes a checkpoint between updates (learner_checkpoint); a failed one is logged and
 * training goes on. A non-finite update is rejected (td3 leaves the networks as they were)
 * and the learner rolls back to its latest checkpoint's networks and Adam state, drops the
 * replay rows inserted since, and publishes the networks (learner_rollback, at most 3 times a
 * run); without a checkpoint, or past that, the run stops with the reason. Each update's
 * critic loss goes to the loss watch (learner/loss_watch.h), whose alarm /healthz reports. */
#include "learner_internal.h"

#include "log.h"
#include "rng.h"
#include "weights_subs.h"
#include "xalloc.h"
#include "zsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <zmq.h>

typedef struct trainer {
  learner_t *l;
  void *router;              /* the weights socket */
  void *mon;                 /* PAIR: its monitor (failed handshakes) */
  weights_subs_t *subs;      /* its subscribers, learner_weights_subs_cap entries */
  wire_buf_t buf;
  uint64_t last_publish_ns;
  uint64_t next_publish_ns;  /* monotonic: the earliest the byte budget allows a broadcast */
  int owed;                  /* publish_every updates passed since the last new version */
  uint64_t version;
  transition_batch_t batch;  /* each update's sample, allocated once */
  uint64_t ckpt_every_ns;    /* checkpoint_every; 0: none while training */
  uint64_t next_ckpt_ns;     /* monotonic: when the next checkpoint is due */
} trainer_t;

/* Reads up to LEARNER_WEIGHTS_READ_MAX messages from the weights socket without waiting:
 * subscribe frames go into the table, anything else is dropped and counted; then drops the
 * subscribers not heard from for the TTL and publishes the table's size. */
static void read_subscribers(trainer_t *t) {
  learner_t *l = t->l;
  uint64_t now = td3_now_ns();
  zmq_msg_t id, body;
  zmq_msg_init(&id);
  zmq_msg_init(&body);
  for (int k = 0; k < LEARNER_WEIGHTS_READ_MAX; k++) {
    if (zmq_msg_recv(&id, t->router, ZMQ_DONTWAIT) < 0) break;
    /* a ROUTER message is [routing id][frame...] (ZeroMQ hands over whole messages): exactly
     * one frame, the one byte WIRE_WEIGHTS_SUBSCRIBE, subscribes */
    int parts = 0, ok = 0, more = zmq_msg_more(&id);
    while (more && zmq_msg_recv(&body, t->router, ZMQ_DONTWAIT) >= 0) {
      ok = ++parts == 1 && zmq_msg_size(&body) == 1 &&
           *(const uint8_t *)zmq_msg_data(&body) == WIRE_WEIGHTS_SUBSCRIBE;
      more = zmq_msg_more(&body);
    }
    if (!ok)
      atomic_fetch_add(&l->weights_frames_refused, 1);
    else if (weights_subs_touch(t->subs, zmq_msg_data(&id), zmq_msg_size(&id),
                                zmq_msg_gets(&body, "Peer-Address"), now) != 0)
      atomic_fetch_add(&l->weights_subscribers_refused, 1);
  }
  zmq_msg_close(&body);
  zmq_msg_close(&id);
  weights_subs_expire(t->subs, now, WIRE_WEIGHTS_SUBSCRIBER_TTL_MS * 1000000ull);
  atomic_store(&l->weights_subscribers, weights_subs_count(t->subs));
}

/* Sends the frame in buf to every subscriber: one message, each send a copy of it (the
 * payload is shared, not copied). A subscriber that is gone leaves the table; one whose
 * queue is full misses this frame. Returns the subscribers it went to. */
static uint32_t send_to_subscribers(trainer_t *t, const wire_buf_t *buf) {
  zmq_msg_t payload, part;
  if (zmq_msg_init_size(&payload, buf->len) != 0) return 0;
  memcpy(zmq_msg_data(&payload), buf->data, buf->len);
  zmq_msg_init(&part);
  uint32_t sent = 0;
  for (uint32_t i = 0; i < weights_subs_count(t->subs);) {
    size_t len;
    const uint8_t *id = weights_subs_id(t->subs, i, &len);
    if (zmq_send(t->router, id, len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
      if (errno == EHOSTUNREACH) {
        weights_subs_remove(t->subs, i); /* the last entry moved into i */
        continue;
      }
      i++; /* EAGAIN: its queue is full */
      continue;
    }
    /* the routing id went: ZeroMQ routes the next frame to that peer and takes it whatever
     * its queue holds (the check was made on the first frame) */
    zmq_msg_copy(&part, &payload);
    if (zmq_msg_send(&part, t->router, ZMQ_DONTWAIT) >= 0) sent++;
    i++;
  }
  zmq_msg_close(&part);
  zmq_msg_close(&payload);
  atomic_store(&t->l->weights_subscribers, weights_subs_count(t->subs));
  return sent;
}

/* Copies the current actor into the learner's weights copy and sends it. new_version: the
 * parameters changed since the last publish. */
static void publish(trainer_t *t, int new_version) {
  learner_t *l = t->l;
  size_t n;
  const float *params = td3_actor_params(l->td3, &n);
  if (new_version) {
    t->version++;
    pthread_mutex_lock(&l->weights_lock);
    memcpy(l->weights_copy, params, n * sizeof(float));
    l->weights_copy_version = t->version;
    pthread_mutex_unlock(&l->weights_lock);
    atomic_store(&l->weights_version, t->version);
  }
  wire_weights_t w = {.run_id = l->run_id, .version = t->version, .n_layers = l->n_layers,
                      .n_params = n, .params = params,
                      .env_steps = atomic_load(&l->inserted),
                      .updates = atomic_load(&l->updates)};
  memcpy(w.layers, l->layers, sizeof w.layers);
  if (wire_weights_encode(&w, &t->buf) == 0) {
    send_to_subscribers(t, &t->buf);
    atomic_fetch_add(&l->weights_broadcasts, 1);
  }
  uint64_t now = td3_now_ns();
  double budget = l->cfg->weights_budget_mb * 1e6; /* bytes/s */
  int64_t leases = actors_count_active(l->actors, 0);
  int64_t subscribers = (int64_t)weights_subs_count(t->subs);
  double fanout = (double)t->buf.len * (double)(leases > subscribers ? leases : subscribers);
  t->last_publish_ns = now;
  t->next_publish_ns = now + (budget > 0 ? (uint64_t)(fanout / budget * 1e9) : 0);
  if (new_version) t->owed = 0;
}

/* A new version when publish_every updates have passed, else the same version again when the
 * last broadcast is 200 ms old; either only when the byte budget allows. */
static void maybe_publish(trainer_t *t) {
  learner_monitor_drain(t->l, t->mon, NULL, NULL);
  read_subscribers(t);
  uint64_t now = td3_now_ns();
  if (now < t->next_publish_ns) return;
  if (t->owed || now - t->last_publish_ns > 200000000ULL) publish(t, t->owed);
}

/* Writes a checkpoint when checkpoint_every seconds have passed since the last one; a failure
 * is logged and training goes on (the previous checkpoint stays). */
static void maybe_checkpoint(trainer_t *t) {
  learner_t *l = t->l;
  if (!l->ckpt_dir || !t->ckpt_every_ns || td3_now_ns() < t->next_ckpt_ns) return;
  td3_err_t err = {0};
  if (learner_checkpoint(l, &err) != 0)
    log_error("checkpoint failed (training goes on; the previous checkpoint stays, with %llu "
              "env steps of %llu): %s",
              (unsigned long long)atomic_load(&l->last_checkpoint_steps),
              (unsigned long long)atomic_load(&l->inserted), err.msg);
  t->next_ckpt_ns = td3_now_ns() + t->ckpt_every_ns;
}

/* Nothing to train: once ingest has closed, publishes the final weights (whatever
 * publish_every says) and marks the trainer drained; keeps the broadcast going and waits up
 * to 20 ms for data. */
static void wait_for_data(trainer_t *t) {
  learner_t *l = t->l;
  if (atomic_load(&l->ingest_closed) && !atomic_load(&l->trainer_drained)) {
    publish(t, 1);
    atomic_store(&l->trainer_drained, 1);
  }
  maybe_publish(t);
  uint64_t t0 = td3_now_ns();
  learner_wait(l, 20);
  atomic_fetch_add(&l->trainer_wait_ns, td3_now_ns() - t0);
}

/* One update's duration into the /status histogram and sum. */
static void record_update_time(learner_t *l, uint64_t took_ns) {
  int bucket = 0;
  while (bucket < STATUS_UPDATE_BUCKETS && (double)took_ns > status_update_bounds[bucket] * 1e9)
    bucket++;
  atomic_fetch_add(&l->update_hist[bucket], 1);
  atomic_fetch_add(&l->update_ns_sum, took_ns);
}

/* Test hook (learner_test_hooks_t): turns a good update number reject_at into a rejected one,
 * reject_times times in a row. Returns rc, or TD3_ENONFINITE when the hook fires. */
static int test_reject(learner_t *l, int rc) {
  const learner_test_hooks_t *h = l->cfg->test_hooks;
  if (rc || !h || !h->reject_at || atomic_load(&l->updates) + 1 != h->reject_at ||
      l->test_rejected >= h->reject_times)
    return rc;
  l->test_rejected++;
  return TD3_ENONFINITE;
}

/* A good update: counts it, keeps its statistics for /status, feeds the critic loss to the
 * loss watch (logging its alarm turning on or off) and publishes when a version is owed. */
static void record_update(trainer_t *t, const td3_stats_t *st) {
  learner_t *l = t->l;
  uint64_t u = atomic_fetch_add(&l->updates, 1) + 1;
  uint64_t now = td3_now_ns(), zero = 0;
  atomic_compare_exchange_strong(&l->first_update_ns, &zero, now);
  atomic_store(&l->last_update_ns, now);
  pthread_mutex_lock(&l->weights_lock);
  l->last_stats = *st;
  int changed = loss_watch_add(&l->critic_watch, st->critic_loss);
  loss_watch_t watch = l->critic_watch;
  pthread_mutex_unlock(&l->weights_lock);
  if (changed && watch.exploded)
    log_warn("critic loss exploded: %.3g over the latest updates, %.3g before (poisoned "
             "transitions, or a learning rate too high); /healthz reports it",
             loss_watch_latest(&watch), loss_watch_recent(&watch));
  else if (changed)
    log_warn("critic loss back to %.3g (recent level %.3g)", loss_watch_latest(&watch),
             loss_watch_recent(&watch));
  if (u % l->cfg->publish_every == 0) t->owed = 1;
  if (t->owed) maybe_publish(t);
}

/* A rejected update (td3 unchanged): a non-finite one rolls back to the latest checkpoint and
 * publishes the restored policy; otherwise, or when the rollback fails (no checkpoint, an
 * unreadable one, LEARNER_MAX_ROLLBACKS reached), the run fails with the reason. Returns 0
 * when training goes on, -1 when the run failed. */
static int on_rejected(trainer_t *t, int rc) {
  learner_t *l = t->l;
  td3_err_t rerr = {0};
  if (rc == TD3_ENONFINITE && learner_rollback(l, &rerr) == 0) {
    publish(t, 1); /* actors act with the restored policy */
    return 0;
  }
  learner_fail(l, rc,
               "training produced a non-finite loss or weight at update %llu; the update "
               "was rejected and no weights were published (%s); try a smaller learning "
               "rate",
               (unsigned long long)atomic_load(&l->updates) + 1,
               rc == TD3_ENONFINITE ? rerr.msg : td3_strerror(rc));
  return -1;
}

/* Runs up to n updates, each on a fresh sample (a rollback ends the round: the replay it
 * sampled from has changed). Returns 0, or -1 when the run failed. */
static int train_round(trainer_t *t, uint64_t n) {
  learner_t *l = t->l;
  const td3_config_t *tc = td3_config(l->td3);
  const learner_test_hooks_t *hooks = l->cfg->test_hooks;
  for (uint64_t k = 0; k < n; k++) {
    replay_sample(l->replay, &l->trainer_rng, tc->batch, &t->batch);
    td3_stats_t st;
    uint64_t t_start = td3_now_ns();
    int rc = td3_train(l->td3, &t->batch, &l->trainer_rng, &st);
    record_update_time(l, td3_now_ns() - t_start);
    rc = test_reject(l, rc);
    if (rc) return on_rejected(t, rc);
    record_update(t, &st);
    if (hooks && hooks->train_delay_us) td3_sleep_ms((hooks->train_delay_us + 999) / 1000);
  }
  return 0;
}

void *learner_trainer_thread(void *arg) {
  learner_t *l = arg;
  prctl(PR_SET_NAME, "td3d-trainer");
  trainer_t t = {.l = l, .router = l->weights_sock, .mon = l->weights_mon, /* bound by run_start */
                 .subs = weights_subs_new(learner_weights_subs_cap(l->cfg),
                                          learner_experience_cap_per_address(l->cfg))};
  l->weights_sock = l->weights_mon = NULL;
  const td3_config_t *tc = td3_config(l->td3);
  transition_batch_alloc(&t.batch, tc->batch, tc->obs_dim, tc->act_dim);
  t.version = atomic_load(&l->weights_version); /* a resumed run goes on from its version */
  /* the version published now shows the initial networks when nothing was trained yet */
  if (atomic_load(&l->updates) == 0) atomic_store(&l->untrained_version, t.version + 1);
  publish(&t, 1);
  t.ckpt_every_ns = (uint64_t)(l->cfg->checkpoint_every * 1e9);
  t.next_ckpt_ns = td3_now_ns() + t.ckpt_every_ns;

  while (!atomic_load(&l->stop)) {
    maybe_checkpoint(&t);
    uint64_t ins = atomic_load(&l->inserted), upd = atomic_load(&l->updates);
    uint64_t allowed = ratelimit_updates_allowed(&l->rl, ins, upd);
    /* a run resumed without its replay buffer trains once new transitions arrive */
    if (allowed && replay_size(l->replay) == 0) allowed = 0;
    if (allowed == 0) {
      wait_for_data(&t);
      continue;
    }
    if (train_round(&t, allowed > 8 ? 8 : allowed) != 0) break;
    learner_wake(l);
    maybe_publish(&t);
  }
  transition_batch_free(&t.batch);
  wire_buf_free(&t.buf);
  weights_subs_destroy(&t.subs);
  zsock_close(&t.mon);
  zsock_close(&t.router);
  return NULL;
}
