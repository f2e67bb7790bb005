/* The learner's shared state (learner_internal.h): its construction from the configuration,
 * its release, and the helpers every thread uses (fatal errors, wake-ups). */
#include "learner_internal.h"

#include "checkpoint.h"
#include "log.h"
#include "rng.h"
#include "weights_subs.h"
#include "xalloc.h"
#include "zsock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

void learner_fail(learner_t *l, int code, const char *fmt, ...) {
  int expected = 0;
  if (atomic_compare_exchange_strong(&l->fatal, &expected, 1)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->fatal_err.msg, sizeof l->fatal_err.msg, fmt, ap);
    va_end(ap);
    l->fatal_err.code = code ? code : TD3_EINVAL;
  }
  atomic_store(&l->stop, 1);
  learner_wake(l);
}

void learner_wake(learner_t *l) {
  pthread_mutex_lock(&l->wake_lock);
  pthread_cond_broadcast(&l->wake);
  pthread_mutex_unlock(&l->wake_lock);
}

void learner_wait(learner_t *l, unsigned ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&l->wake_lock);
  pthread_cond_timedwait(&l->wake, &l->wake_lock, &ts);
  pthread_mutex_unlock(&l->wake_lock);
}

static uint64_t make_run_id(uint64_t seed) {
  rng_t r;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rng_init(&r, seed ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec, (uint64_t)getpid());
  uint64_t id;
  do id = rng_next_u64(&r); while (id == 0);
  return id;
}

void learner_state_init(learner_t *l, const learner_config_t *c) {
  memset(l, 0, sizeof *l);
  l->cfg = c;
  loss_watch_init(&l->critic_watch);
  pthread_mutex_init(&l->weights_lock, NULL);
  pthread_mutex_init(&l->wake_lock, NULL);
  pthread_cond_init(&l->wake, NULL);
}

int learner_state_open(learner_t *l, const char *run_dir, td3_err_t *err) {
  const learner_config_t *c = l->cfg;
  if (run_dir) {
    size_t len = strlen(run_dir) + sizeof CHECKPOINT_DIR + 2;
    l->ckpt_dir = xmalloc(len);
    snprintf(l->ckpt_dir, len, "%s/%s", run_dir, CHECKPOINT_DIR);
  }
  const char *external = learner_external_name(c->env_id);
  if (external) { /* the actors bring the env: the learner knows what the flags say */
    env_info_t *x = &l->external_info;
    snprintf(x->id, sizeof x->id, "%s", external);
    x->obs_dim = c->external.obs_dim;
    x->act_dim = c->external.act_dim;
    x->action_low = c->external.action_low;
    x->action_high = c->external.action_high;
    l->info = x;
  } else {
    if (!(l->env = env_create(c->env_id, &c->env_opts, err))) return err ? err->code : TD3_EINVAL;
    l->info = &l->env->info;
  }
  td3_config_t tc = c->td3;
  tc.obs_dim = l->info->obs_dim;
  tc.act_dim = l->info->act_dim;
  tc.action_low = l->info->action_low;
  tc.action_high = l->info->action_high;
  tc.seed = c->seed;
  if (!(l->td3 = td3_new(&tc, err))) return err ? err->code : TD3_EINVAL;
  size_t cap = c->replay_capacity;
  if (c->steps && c->steps < cap) cap = (size_t)c->steps;
  if (!(l->replay = replay_new(cap, l->info->obs_dim, l->info->act_dim)))
    return td3_err_set(err, TD3_ENOMEM,
                       "cannot allocate a replay buffer of %zu transitions (%zu bytes; %zu bytes "
                       "of memory available): lower --replay-capacity",
                       cap, replay_bytes(cap, l->info->obs_dim, l->info->act_dim),
                       td3_memory_available());
  if ((l->actors = actors_new(c->max_actors, (uint64_t)c->lease_ms * 1000000ULL)))
    actors_configure(l->actors,
                     &(actors_policy_t){.idle_ns = (uint64_t)c->idle_lease_ms * 1000000ULL,
                                        .max_evaluators = c->max_evaluators,
                                        .eval_idle_steps = 3 * c->eval_every + 10000});
  if (!l->actors) return td3_err_set(err, TD3_EINVAL, "max actors must be 1..%u", WIRE_MAX_SLOTS);
  l->run_id = make_run_id(c->seed);
  rng_init(&l->trainer_rng, c->seed, rng_stream_id(RNG_PURPOSE_TRAINER, 0));
  return 0;
}

/* Each actor holds three TCP connections to the learner, a descriptor each: under a soft limit
 * of 1024 (a common default) about 330 actors exhaust it, and then ZeroMQ cannot accept
 * connections nor the status server answer, and leases expire with nothing in the log. Raises
 * the soft limit to what max_actors need (at most the hard limit) and says when that is short. */
static void raise_fd_limit(uint32_t max_actors) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t need = (rlim_t)max_actors * 3 + STATUS_MAX_CONNS + 128; /* + files, eventfds, pollers */
  if (rl.rlim_cur >= need) return;
  rlim_t was = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
  if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = was;
  if (rl.rlim_cur < need)
    log_warn("%u actor slots need about %llu file descriptors; the limit is %llu, enough for "
             "about %llu actors (raise the hard limit: ulimit -Hn, LimitNOFILE=, docker --ulimit "
             "nofile=)",
             max_actors, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
             (unsigned long long)(rl.rlim_cur > STATUS_MAX_CONNS + 128
                                      ? (rl.rlim_cur - STATUS_MAX_CONNS - 128) / 3 : 0));
}

void learner_state_wire(learner_t *l) {
  const learner_config_t *c = l->cfg;
  l->rl = (ratelimit_t){c->replay_ratio, c->start_steps,
                        c->max_lead > c->td3.batch ? c->max_lead : c->td3.batch};
  l->n_layers = td3_actor_layers(l->td3, l->layers);
  td3_actor_params(l->td3, &l->n_params);
  l->weights_copy = xcalloc(l->n_params, sizeof(float));
  uint32_t max_rows = learner_batch_rows(c);
  l->limits = (wire_limits_t){.max_frame = c->max_frame ? c->max_frame
                                                        : learner_frame_limit(c, l->info->obs_dim,
                                                                              l->info->act_dim),
                              .max_batch = max_rows,
                              .run_id = l->run_id, .obs_dim = l->info->obs_dim,
                              .act_dim = l->info->act_dim};
  zsock_endpoint(l->experience_ep, sizeof l->experience_ep, c->bind_host, c->experience_port);
  zsock_endpoint(l->weights_ep, sizeof l->weights_ep, c->bind_host, c->weights_port);
  zsock_endpoint(l->control_ep, sizeof l->control_ep, c->bind_host, c->control_port);
  raise_fd_limit(c->max_actors);
  uint32_t per_address = learner_experience_cap_per_address(c);
  log_info("experience: frames up to %.0f KiB (%u transitions), %d queued a connection and one "
           "arriving, %u connections at most (%u from one address): at most %.0f MiB held",
           (double)l->limits.max_frame / 1024.0, l->limits.max_batch, LEARNER_EXPERIENCE_HWM,
           2 * per_address, per_address,
           (double)l->limits.max_frame * (LEARNER_EXPERIENCE_HWM + 1) * 2.0 * per_address /
               (1024.0 * 1024.0));
  log_info("weights: %u subscribers at most (each a routing id of up to %d bytes), frames in "
           "of at most %d bytes, %d queued a connection",
           learner_weights_subs_cap(c), WEIGHTS_SUBS_ID_MAX, LEARNER_SUBSCRIPTION_MAX,
           LEARNER_WEIGHTS_RCVHWM);
}

void learner_state_free(learner_t *l) {
  env_destroy(&l->env);
  td3_destroy(&l->td3);
  replay_destroy(&l->replay);
  actors_destroy(&l->actors);
  free(l->weights_copy);
  l->weights_copy = NULL;
  free(l->ckpt_dir);
  l->ckpt_dir = NULL;
  pthread_mutex_destroy(&l->weights_lock);
  pthread_mutex_destroy(&l->wake_lock);
  pthread_cond_destroy(&l->wake);
  zap_guard_stop(&l->zap);
  eval_token_clear(&l->eval_token);
  if (l->zctx) zmq_ctx_term(l->zctx);
  l->zctx = NULL;
}
