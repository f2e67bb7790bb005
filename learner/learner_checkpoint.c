/* The learner's checkpoints: what goes into one, and when (see learner.h). */
#include "learner_internal.h"

#include "checkpoint.h"
#include "log.h"

#include <stdio.h>

double learner_wall(const learner_t *l) {
  return l->wall_offset + (double)(td3_now_ns() - l->start_ns) * 1e-9;
}

int learner_checkpoint(learner_t *l, td3_err_t *err) {
  if (!l->ckpt_dir) return 0;
  checkpoint_meta_t m = {0};
  snprintf(m.env_id, sizeof m.env_id, "%s", l->info->id);
  m.run_id = l->run_id;
  m.seed = l->cfg->seed;
  m.inserted = atomic_load(&l->inserted);
  m.updates = atomic_load(&l->updates);
  m.weights_version = atomic_load(&l->weights_version);
  m.wall_seconds = learner_wall(l);
  m.trainer_rng = l->trainer_rng;
  uint64_t t0 = td3_now_ns();
  int rc = checkpoint_save(l->ckpt_dir, l->td3, l->cfg->checkpoint_replay ? l->replay : NULL, &m,
                           l->cfg->flags_text, err);
  if (rc) {
    atomic_fetch_add(&l->checkpoint_failures, 1);
    return rc;
  }
  uint64_t now = td3_now_ns();
  atomic_fetch_add(&l->checkpoints, 1);
  atomic_store(&l->last_checkpoint_steps, m.inserted);
  atomic_store(&l->last_checkpoint_ns, now);
  log_info("checkpoint: %llu env steps, %llu updates, weights version %llu%s in %s (%.2f s)",
           (unsigned long long)m.inserted, (unsigned long long)m.updates,
           (unsigned long long)m.weights_version, m.has_replay ? ", replay" : "", l->ckpt_dir,
           (double)(now - t0) * 1e-9);
  return 0;
}

int learner_rollback(learner_t *l, td3_err_t *err) {
  uint32_t done = (uint32_t)atomic_load(&l->rollbacks);
  if (!l->ckpt_dir || !checkpoint_exists(l->ckpt_dir))
    return td3_err_set(err, TD3_ENOTFOUND, "there is no checkpoint to roll back to");
  if (done >= LEARNER_MAX_ROLLBACKS)
    return td3_err_set(err, TD3_ERANGE, "it was rolled back %u times already", done);
  checkpoint_meta_t m;
  td3_err_t lerr = {0};
  if (checkpoint_load(l->ckpt_dir, l->info->id, l->td3, NULL, &m, &lerr) != 0)
    return td3_err_set(err, lerr.code, "rolling back failed: %s", lerr.msg);
  atomic_store(&l->rollbacks, done + 1);
  /* The rows that arrived since the checkpoint go too: poisoned transitions (huge rewards
   * within the ingest bounds) would make the restored networks non-finite again. */
  uint64_t dropped = replay_drop_since(l->replay, m.inserted);
  atomic_fetch_add(&l->rollback_dropped, dropped);
  log_warn("non-finite update rejected: networks and Adam state rolled back to the checkpoint of "
           "%llu env steps, %llu updates, and the %llu replay rows inserted since dropped "
           "(rollback %u of at most %d); training goes on",
           (unsigned long long)m.inserted, (unsigned long long)m.updates,
           (unsigned long long)dropped, done + 1, LEARNER_MAX_ROLLBACKS);
  return 0;
}

int learner_resume(learner_t *l, checkpoint_meta_t *m, td3_err_t *err) {
  const learner_config_t *c = l->cfg;
  if (!c->resume_dir) {
    /* a new run here: the old run's checkpoint must not be resumed by mistake */
    if (l->ckpt_dir && checkpoint_exists(l->ckpt_dir)) checkpoint_remove(l->ckpt_dir);
    return 0;
  }
  int rc = checkpoint_load(l->ckpt_dir, l->info->id, l->td3, l->replay, m, err);
  if (rc) return rc;
  l->run_id = m->run_id;
  l->trainer_rng = m->trainer_rng;
  l->wall_offset = m->wall_seconds;
  atomic_store(&l->inserted, m->inserted);
  atomic_store(&l->updates, m->updates);
  atomic_store(&l->weights_version, m->weights_version);
  atomic_store(&l->last_checkpoint_steps, m->inserted);
  l->resumed = 1;
  if (c->steps && m->inserted >= c->steps) { /* nothing to collect: finish the run */
    atomic_store(&l->ingest_closed, 1);
    log_warn("the checkpoint already has the whole budget of %llu env steps; give a larger "
             "--steps to train on",
             (unsigned long long)c->steps);
  }
  return 0;
}
