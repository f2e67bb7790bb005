/* The learner's side of the status server: its start and the snapshot the main thread fills
 * every ~250 ms (see learner_status.h). */
#include "learner_status.h"

#include "counters.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

status_server_t *learner_status_start(const learner_config_t *c) {
  if (!c->status_bind || strcmp(c->status_bind, "off") == 0) return NULL;
  status_server_t *status;
  td3_err_t serr = {0};
  /* The status server only observes: a taken port must not stop a training run. */
  if (!(status = status_new(c->status_bind, &serr)))
    log_warn("no status server: %s", serr.msg);
  else
    log_info("status server on http://%s/", c->status_bind);
  char host[128];
  unsigned port;
  td3_err_t perr = {0};
  if (status && status_parse_bind(c->status_bind, host, sizeof host, &port, &perr) == 0 &&
      !learner_bind_is_loopback(host))
    log_warn("the status server binds %s: it serves the run's configuration and run id (which "
             "the experience and control sockets check) to anyone who reaches port %u",
             host, port);
  return status;
}

static uint64_t resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size = 0, rss = 0;
  if (!f) return 0;
  int n = fscanf(f, "%llu %llu", &size, &rss);
  fclose(f);
  return n == 2 ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

void learner_status_fill(learner_control_t *ct, uint64_t start_ns, int finished) {
  learner_t *l = ct->l;
  status_snapshot_t *s = ct->snap;
  uint64_t now = td3_now_ns();
  s->taken_ns = now;
  s->start_ns = start_ns;
  s->wall_seconds = progress_elapsed(ct->pr);
  counters_snapshot(l, s);
  status_history_update(s, &(status_sample_t){s->wall_seconds, s->inserted, s->updates});
  s->rl_state = (int)ratelimit_state(&l->rl, s->inserted, s->updates, l->cfg->batch_steps);
  pthread_mutex_lock(&l->weights_lock);
  td3_stats_t st = l->last_stats;
  loss_watch_t watch = l->critic_watch;
  pthread_mutex_unlock(&l->weights_lock);
  s->critic_loss_latest = loss_watch_latest(&watch);
  s->critic_loss_recent = loss_watch_recent(&watch);
  s->critic_loss_exploded = watch.exploded;
  /* the figures of an update this process made: a resumed run's counters say updates were
   * done, but their losses are not in the checkpoint */
  s->have_stats = atomic_load(&l->last_update_ns) != 0;
  s->critic_loss = st.critic_loss;
  s->actor_loss = st.actor_loss;
  s->mean_q = st.mean_q;
  s->fatal = atomic_load(&l->fatal);
  if (s->fatal) snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s", l->fatal_err.msg);
  s->finished = finished;
  s->rss_bytes = resident_bytes();
  s->n_actors = actors_snapshot(l->actors, s->actors, STATUS_MAX_ACTORS);
}
