/* The learner process's run (see learner.h): learner_run opens the run, resumes it or starts
 * it anew, serves the main loop, finishes it (final checkpoint, final evaluation, RunOver)
 * and closes it. The pieces live in learner_state.c (construction), learner_config.c,
 * learner_control.c (the control socket and evaluations), learner_status.c (the status
 * snapshot) and learner_checkpoint.c (checkpoints, resume, rollback). */
#include "learner_internal.h"

#include "counters.h"
#include "learner_control.h"
#include "learner_status.h"
#include "log.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Everything a run holds. Each step acquires into it; run_close releases whatever was
 * acquired, so a step fails by returning its code. Main thread. */
typedef struct run {
  learner_t l;
  learner_control_t ct;
  progress_t pr;
  learner_result_t *res;             /* borrowed: the caller's */
  td3_err_t *err;                    /* borrowed: the caller's, may be NULL */
  const char *run_dir;               /* resume_dir or out_dir, NULL: none */
  checkpoint_meta_t resumed;         /* what a resumed checkpoint held */
  status_server_t *status;           /* NULL: none */
  uint64_t start_ns, last_status;    /* monotonic: this process's start, the latest snapshot */
  pthread_t ingest, trainer;
  int have_ingest, have_trainer;
  double ratio_min, ratio_max;       /* sampled update/transition ratio (NaN: never) */
  curve_sock_t curve;                /* CURVE keys; must outlive the sockets and the handler */
  curve_authorized_t authorized;
} run_t;

/* Checks the configuration and builds the learner's state (no socket yet). */
static int run_open(run_t *r) {
  const learner_config_t *c = r->l.cfg;
  int rc = learner_config_check(c, r->err);
  if (rc) return rc;
  if (!c->curve_key && !learner_bind_is_loopback(c->bind_host))
    log_warn("INSECURE: the learner's sockets bind %s without CURVE (--insecure): anyone who "
             "reaches ports %u-%u can join, send experience and read the weights",
             c->bind_host, c->experience_port, c->control_port);
  if (c->eval_token_file) {
    if ((rc = eval_token_read(c->eval_token_file, &r->l.eval_token, r->err)) != 0) return rc;
    log_info("evaluators must present the evaluator token of %s", c->eval_token_file);
  }
  r->run_dir = c->resume_dir ? c->resume_dir : c->out_dir;
  return learner_state_open(&r->l, r->run_dir, r->err);
}

/* Takes a resumed run's checkpoint into the learner (a new run: removes an old one), then
 * sizes what follows from the run id and the networks. */
static int run_resume(run_t *r) {
  int rc = learner_resume(&r->l, &r->resumed, r->err);
  if (rc) return rc;
  if (r->l.resumed) {
    r->pr.offset_s = r->resumed.wall_seconds;
    r->res->resumed = 1;
  }
  r->res->run_id = r->l.run_id;
  learner_state_wire(&r->l);
  return 0;
}

/* Binds the sockets (and CURVE), starts the status server, opens the run directory,
 * writes a new run's first checkpoint and starts the ingest and trainer threads. */
static int run_start(run_t *r) {
  const learner_config_t *c = r->l.cfg;
  learner_t *l = &r->l;
  int rc;
  l->zctx = zmq_ctx_new();
  if (c->curve_key && (rc = learner_curve_start(l, &r->curve, &r->authorized, r->err)) != 0)
    return rc;
  if ((rc = learner_guard_start(l, &r->authorized, r->err)) != 0) return rc;
  if ((rc = learner_sockets_bind(l, &r->ct.router, &r->ct.monitor, r->err)) != 0) return rc;
  status_snapshot_t *snap = r->ct.snap;
  learner_config_json(c, l, snap->config_json, sizeof snap->config_json);
  snprintf(snap->run_id, sizeof snap->run_id, "%016llx", (unsigned long long)l->run_id);
  /* an external env shows as external:NAME, so /status says the learner does not build it */
  snprintf(snap->env_id, sizeof snap->env_id, "%.63s",
           l->env ? l->info->id : c->env_id);
  r->status = learner_status_start(c);
  rc = learner_control_dir_open(&r->ct, r->run_dir, r->l.resumed ? &r->resumed : NULL, r->err);
  if (rc) return rc;
  size_t cap = replay_capacity(l->replay);
  log_info("learner %016llx: %s, obs %u, act %u, replay %zu transitions (%.1f MiB), ports "
           "%u/%u/%u",
           (unsigned long long)l->run_id, l->info->id, l->info->obs_dim, l->info->act_dim, cap,
           (double)replay_bytes(cap, l->info->obs_dim, l->info->act_dim) / 1048576.0,
           c->experience_port, c->weights_port, c->control_port);
  l->start_ns = td3_now_ns();
  /* the throughput history starts here: rates count what this process inserts and trains,
   * never the restored totals */
  status_history_update(snap, &(status_sample_t){progress_elapsed(&r->pr),
                                                 atomic_load(&l->inserted),
                                                 atomic_load(&l->updates)});
  if (!c->resume_dir && l->ckpt_dir) {
    /* A new run is resumable from its first moment: a learner that dies before its first
     * periodic checkpoint (or a supervisor's --continue) comes back as this same run. */
    td3_err_t cerr = {0};
    if (learner_checkpoint(l, &cerr) != 0) log_error("first checkpoint failed: %s", cerr.msg);
  }
  if (pthread_create(&r->ingest, NULL, learner_ingest_thread, l) != 0)
    return td3_err_set(r->err, TD3_ESYS, "cannot start the ingest thread");
  r->have_ingest = 1;
  if (pthread_create(&r->trainer, NULL, learner_trainer_thread, l) != 0)
    return td3_err_set(r->err, TD3_ESYS, "cannot start the trainer thread");
  r->have_trainer = 1;
  return 0;
}

/* Samples the update/transition ratio (every 100 ms once past 10 x max_lead), for stats_out. */
static void sample_ratio(run_t *r) {
  const ratelimit_t *rl = &r->l.rl;
  uint64_t ins = atomic_load(&r->l.inserted), upd = atomic_load(&r->l.updates);
  if (rl->ratio > 0 && ins > rl->start && ins - rl->start >= 10 * rl->max_lead) {
    double ratio = (double)upd / (rl->ratio * (double)(ins - rl->start));
    r->ratio_min = isnan(r->ratio_min) ? ratio : fmin(r->ratio_min, ratio);
    r->ratio_max = isnan(r->ratio_max) ? ratio : fmax(r->ratio_max, ratio);
  }
}

/* The main loop: the control socket, leases, progress, outputs and status snapshots, until
 * the run is over, a thread fails or a stop is requested. */
static void run_loop(run_t *r) {
  const learner_config_t *c = r->l.cfg;
  learner_t *l = &r->l;
  uint64_t last_tick = td3_now_ns(), last_sample = 0;
  while (!atomic_load(&l->stop)) {
    learner_control_serve(&r->ct, 100);
    if (r->ct.finish) break;
    if (c->stop && *c->stop) {
      log_info("stop requested");
      break;
    }
    if (atomic_load(&l->trainer_drained)) break;
    uint64_t now = td3_now_ns();
    if (now - last_sample > 100000000ULL) {
      last_sample = now;
      sample_ratio(r);
    }
    if (now - last_tick > 1000000000ULL) {
      last_tick = now;
      uint64_t ins = atomic_load(&l->inserted), upd = atomic_load(&l->updates);
      actors_tick(l->actors, now, ins,
                  ratelimit_state(&l->rl, ins, upd, c->batch_steps) == RL_WAIT_TRAINER);
      uint32_t gone = actors_expire(l->actors, now);
      if (gone) log_warn("%u actor lease%s expired", gone, gone == 1 ? "" : "s");
    }
    progress_status_t s = {atomic_load(&l->inserted), c->steps, atomic_load(&l->updates),
                           replay_size(l->replay), r->res->last_eval};
    progress_update(&r->pr, &s);
    learner_control_write_outputs(&r->ct, 0); /* what a burst of evaluations left to write */
    if (r->status && now - r->last_status >= 250000000ULL) {
      r->last_status = now;
      learner_status_fill(&r->ct, r->start_ns, 0);
      status_publish(r->status, r->ct.snap);
    }
  }
}

/* Stops and joins the ingest and trainer threads (if they run). */
static void run_join(run_t *r) {
  if (!r->have_ingest && !r->have_trainer) return;
  atomic_store(&r->l.stop, 1);
  learner_wake(&r->l);
  if (r->have_ingest) pthread_join(r->ingest, NULL);
  if (r->have_trainer) pthread_join(r->trainer, NULL);
  r->have_ingest = r->have_trainer = 0;
}

/* A run that spent its budget ends with the learner's own evaluation of the final policy
 * (learner_record_final: on the evaluation thread the learner checks reports with). */
static void final_evaluation(run_t *r) {
  learner_t *l = &r->l;
  size_t n;
  const float *p = td3_actor_params(l->td3, &n);
  pthread_mutex_lock(&l->weights_lock);
  memcpy(l->weights_copy, p, n * sizeof(float));
  pthread_mutex_unlock(&l->weights_lock);
  if (!l->env) {
    log_info("no final evaluation: the learner cannot step the external env %s (the "
             "evaluator's reports are the run's evaluations)", l->info->id);
    r->ct.outputs_stale = 1; /* policy.td3p gets the final policy as the run closes */
    return;
  }
  td3_err_t err = {0};
  if (learner_record_final(&r->ct, p, atomic_load(&l->weights_version), &err) != 0)
    log_error("final evaluation failed: %s", err.msg);
}

/* Joins the threads, then: a fatal error is the run's error; otherwise the final checkpoint
 * (a failure is recorded in the result, not returned), the final evaluation of a run that
 * spent its budget, and RunOver for a run that is over. */
static int run_finish(run_t *r) {
  learner_t *l = &r->l;
  learner_result_t *res = r->res;
  run_join(r);
  if (atomic_load(&l->fatal))
    return td3_err_set(r->err, l->fatal_err.code, "%s", l->fatal_err.msg);
  if (l->ckpt_dir) { /* the run as it ends: `--resume` goes on from here */
    td3_err_t cerr = {0};
    if (learner_checkpoint(l, &cerr) != 0) {
      /* the previous checkpoint stays whole, and is all a --resume has: say how far back */
      res->checkpoint_failed = 1;
      snprintf(res->save_error, sizeof res->save_error, "%s", cerr.msg);
      log_error("final checkpoint failed: %s; the latest checkpoint holds %llu of the run's %llu "
                "env steps",
                cerr.msg, (unsigned long long)atomic_load(&l->last_checkpoint_steps),
                (unsigned long long)atomic_load(&l->inserted));
    }
  }
  /* a check of a report that claims the target finishes (it may end the run solved), and the
   * reports behind it are recorded, before the final evaluation's row */
  learner_record_settle(&r->ct);
  if (atomic_load(&l->trainer_drained) && !res->solved) final_evaluation(r);
  /* The run is over (budget spent or target reached; not a stop from outside, after which
   * the run goes on with --resume): actors and the evaluator are told, and exit. */
  if (atomic_load(&l->trainer_drained) || res->solved)
    learner_control_announce_run_over(&r->ct,
                                      res->solved ? "target return reached" : "step budget spent");
  return 0;
}

/* Whatever the steps reached: joins the threads, writes the outputs, fills the result (and
 * stats_out), publishes the final snapshot and releases everything. */
static void run_close(run_t *r) {
  const learner_config_t *c = r->l.cfg;
  learner_t *l = &r->l;
  run_join(r);
  learner_control_write_outputs(&r->ct, 1); /* the run's final state, whatever the throttle held back */
  progress_finish(&r->pr);
  counters_result(l, r->res);
  r->res->wall_seconds = progress_elapsed(&r->pr);
  if (c->stats_out) {
    learner_stats_t *st = c->stats_out;
    memset(st, 0, sizeof *st);
    counters_stats(l, st);
    st->ratio_min = r->ratio_min;
    st->ratio_max = r->ratio_max;
    if (l->actors) st->n_actors = actors_snapshot(l->actors, st->actors, 64);
  }
  if (r->status) {
    if (l->actors) {
      learner_status_fill(&r->ct, r->start_ns, 1);
      status_publish(r->status, r->ct.snap);
    }
    status_destroy(&r->status);
  }
  learner_control_free(&r->ct);
  learner_sockets_close(l); /* what no thread took */
  learner_state_free(l); /* stops the ZAP handler, which reads authorized */
  curve_authorized_free(&r->authorized);
}

int learner_run(const learner_config_t *c, learner_result_t *res, td3_err_t *err) {
  run_t *r = xcalloc(1, sizeof *r);
  memset(res, 0, sizeof *res);
  res->last_eval = NAN;
  res->best_eval = NAN;
  r->res = res;
  r->err = err;
  r->ratio_min = r->ratio_max = NAN;
  learner_state_init(&r->l, c);
  progress_init(&r->pr, c->progress);
  learner_control_init(&r->ct, &r->l, res, &r->pr);
  r->start_ns = td3_now_ns();
  int rc = run_open(r);
  if (rc == 0) rc = run_resume(r);
  if (rc == 0) rc = run_start(r);
  if (rc == 0) {
    run_loop(r);
    rc = run_finish(r);
  }
  run_close(r);
  free(r);
  return rc;
}
