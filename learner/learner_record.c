/* The run's record of evaluations (main thread): evaluators' reports and the learner's own
 * final evaluation into the result, the status snapshot, progress.csv, curve.svg and
 * policy.td3p; the checks that stand between a report at or above the target return and the
 * end of the run (see learner_control.h). */
#include "learner_control.h"

#include "evaluate.h"
#include "log.h"
#include "xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void learner_record_init(learner_control_t *ct) {
  ct->report_block = xcalloc((size_t)(LEARNER_REPORT_QUEUE + 2) * WIRE_MAX_EVAL_EPISODES,
                             sizeof(double));
  ct->incoming.returns = ct->report_block;
  ct->checking.returns = ct->report_block + WIRE_MAX_EVAL_EPISODES;
  for (uint32_t i = 0; i < LEARNER_REPORT_QUEUE; i++)
    ct->queue[i].returns = ct->report_block + (size_t)(i + 2) * WIRE_MAX_EVAL_EPISODES;
}

void learner_record_free(learner_control_t *ct) {
  learner_eval_destroy(&ct->eval);
  ct->check_running = 0;
  free(ct->report_block);
  ct->report_block = NULL;
}

/* A run-directory write failed: logged, and counted for the run's end (a run whose outputs
 * were not all written must not end as if they were). */
static void output_failed(learner_control_t *ct, const td3_err_t *err) {
  log_error("%s", err->msg);
  ct->res->output_failures++;
  snprintf(ct->res->save_error, sizeof ct->res->save_error, "%s", err->msg);
}

#define LEARNER_OUTPUTS_EVERY_NS 2000000000ULL

/* Rewrites curve.svg and policy.td3p (the latest published weights) if an evaluation was
 * recorded since they were last written and, unless force, they are LEARNER_OUTPUTS_EVERY_NS
 * old. Main thread. */
void learner_control_write_outputs(learner_control_t *ct, int force) {
  learner_t *l = ct->l;
  uint64_t now = td3_now_ns();
  if (!ct->dir || !ct->outputs_stale ||
      (!force && ct->outputs_ns && now - ct->outputs_ns < LEARNER_OUTPUTS_EVERY_NS))
    return;
  ct->outputs_stale = 0;
  ct->outputs_ns = now;
  td3_err_t err = {0};
  if (rundir_draw(ct->dir, &err) != 0) output_failed(ct, &err);
  pthread_mutex_lock(&l->weights_lock);
  int rc = rundir_save_policy(ct->dir, l->info->id, l->layers, l->n_layers, l->info->action_low,
                              l->info->action_high, l->weights_copy, &err);
  pthread_mutex_unlock(&l->weights_lock);
  if (rc) output_failed(ct, &err);
}

/* Appends an evaluation to the status curve, keeping the latest STATUS_MAX_CURVE points. */
static void curve_push(status_snapshot_t *sn, status_point_t p) {
  if (sn->n_curve == STATUS_MAX_CURVE) {
    memmove(sn->curve, sn->curve + 1, (STATUS_MAX_CURVE - 1) * sizeof sn->curve[0]);
    sn->n_curve--;
  }
  sn->curve[sn->n_curve++] = p;
}

void learner_control_note_eval(learner_control_t *ct, status_point_t p) {
  learner_result_t *res = ct->res;
  status_snapshot_t *sn = ct->snap;
  res->last_eval = p.mean_return;
  res->evaluations++;
  curve_push(sn, p);
  if (p.untrained) return;
  res->best_eval = fmax(res->best_eval, p.mean_return); /* fmax ignores the initial NaN */
  if (!sn->have_best || p.mean_return > sn->best.mean_return) {
    sn->best = p;
    sn->have_best = 1;
  }
}

/* Records evaluation r: result, snapshot, progress line, progress.csv row (made at r's
 * arrival: its updates and wall time). Whether it ends the run is the caller's decision. */
static void record(learner_control_t *ct, const learner_report_t *r) {
  learner_t *l = ct->l;
  double mean, sd, lo, hi;
  evaluate_stats(r->returns, r->n, &mean, &sd, &lo, &hi);
  learner_control_note_eval(
      ct, (status_point_t){r->env_steps, r->updates, r->wall, mean, sd, r->untrained});
  progress_print(ct->pr, "eval  steps %8llu  return %9.2f +- %7.2f  updates %8llu  %6.1fs%s",
                 (unsigned long long)r->env_steps, mean, sd, (unsigned long long)r->updates,
                 r->wall, r->untrained ? "  (untrained)" : "");
  if (!ct->dir) return;
  /* the mean return of the training episodes finished since the previous row */
  uint64_t eps = atomic_load(&l->train_episodes);
  int64_t sum = atomic_load(&l->train_return_milli);
  double train = eps > ct->train_episodes_seen
                     ? (double)(sum - ct->train_return_seen) / 1000.0 /
                           (double)(eps - ct->train_episodes_seen)
                     : NAN;
  ct->train_episodes_seen = eps;
  ct->train_return_seen = sum;
  uint64_t ins = atomic_load(&l->inserted);
  td3_err_t err = {0};
  rundir_row_t row = {.env_steps = r->env_steps, .updates = r->updates,
                      .wall_seconds = r->wall, .eval_mean = mean, .eval_std = sd,
                      .eval_min = lo, .eval_max = hi, .eval_episodes = r->n,
                      .train_return_mean = train,
                      .env_steps_per_s = r->wall > 0 ? (double)ins / r->wall : 0,
                      .updates_per_s = r->wall > 0 ? (double)r->updates / r->wall : 0};
  if (rundir_append(ct->dir, &row, &err) != 0) output_failed(ct, &err);
  ct->outputs_stale = 1;
  learner_control_write_outputs(ct, 0);
}

/* The run reached its target with evaluation r. */
static void solve(learner_control_t *ct, const learner_report_t *r) {
  ct->res->solved = 1;
  ct->res->solved_at = r->env_steps;
  ct->res->solved_seconds = r->wall;
  ct->finish = 1;
}

static double mean_of(const learner_report_t *r) {
  double mean, sd, lo, hi;
  evaluate_stats(r->returns, r->n, &mean, &sd, &lo, &hi);
  return mean;
}

/* Fills *r from the report e as it arrives now. */
static void report_fill(learner_control_t *ct, learner_report_t *r, const wire_eval_report_t *e) {
  learner_t *l = ct->l;
  r->env_steps = e->env_steps;
  r->policy_version = e->policy_version;
  r->updates = atomic_load(&l->updates);
  r->wall = progress_elapsed(ct->pr);
  r->slot = e->slot;
  uint64_t untrained_version = atomic_load(&l->untrained_version);
  r->untrained = evaluate_untrained(e->env_steps, r->updates, l->cfg->start_steps) ||
                 (e->policy_version && e->policy_version <= untrained_version);
  r->n = e->n_returns;
  for (uint32_t i = 0; i < r->n; i++) r->returns[i] = e->returns[i];
}

static log_limit_t unconfirmed_limit, untrained_limit;

/* A report that claimed the target is refused: counted, logged with why, not recorded. */
static void unconfirmed(learner_control_t *ct, const learner_report_t *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void unconfirmed(learner_control_t *ct, const learner_report_t *r, const char *fmt, ...) {
  char why[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  atomic_fetch_add(&ct->l->target_unconfirmed, 1);
  log_limited(&unconfirmed_limit, 1000, LOG_WARN,
              "evaluation report of slot %u at %llu env steps claims the target return "
              "(%.2f >= %.2f) but is not confirmed: %s; not recorded, the run goes on",
              r->slot, (unsigned long long)r->env_steps, mean_of(r), ct->l->cfg->target_return,
              why);
}

/* Starts the learner's own evaluation of its latest weights to check r's claim (r is copied
 * into ct->checking); refuses r when no check may start. */
static void check_start(learner_control_t *ct, const learner_report_t *r) {
  learner_t *l = ct->l;
  const learner_config_t *c = l->cfg;
  uint64_t ins = atomic_load(&l->inserted), spacing = c->eval_every / 2;
  if (ct->ending) {
    unconfirmed(ct, r, "the run ended before the learner could check it");
    return;
  }
  /* a check costs an evaluation: at most one per half evaluation interval of the run, as
   * often as an evaluator reports */
  if (ct->have_checked && ins < ct->check_inserted + spacing) {
    unconfirmed(ct, r, "the learner checked a report %llu env steps ago (one check every %llu)",
                (unsigned long long)(ins - ct->check_inserted), (unsigned long long)spacing);
    return;
  }
  if (!ct->eval && !(ct->eval = learner_eval_new(c, l->layers, l->n_layers,
                                                 l->info->action_low, l->info->action_high))) {
    unconfirmed(ct, r, "the learner cannot make a policy to evaluate");
    return;
  }
  pthread_mutex_lock(&l->weights_lock);
  uint64_t version = l->weights_copy_version;
  learner_eval_load(ct->eval, l->weights_copy, version);
  pthread_mutex_unlock(&l->weights_lock);
  if (learner_eval_start(ct->eval) != 0) {
    unconfirmed(ct, r, "the learner cannot start its evaluation (no thread)");
    return;
  }
  ct->have_checked = 1;
  ct->check_inserted = ins;
  ct->check_running = 1;
  learner_report_t *k = &ct->checking;
  double *keep = k->returns;
  *k = *r;
  k->returns = keep;
  memcpy(k->returns, r->returns, r->n * sizeof *r->returns);
  char which[96];
  if (version == r->policy_version)
    snprintf(which, sizeof which, "the version the report names");
  else
    snprintf(which, sizeof which, "its latest; the report names %llu",
             (unsigned long long)r->policy_version);
  log_info("evaluation report of slot %u at %llu env steps claims the target return (%.2f >= "
           "%.2f): the learner checks it with its own evaluation of weights version %llu (%s)",
           r->slot, (unsigned long long)r->env_steps, mean_of(r), c->target_return,
           (unsigned long long)version, which);
}

/* Takes report r (not queued): recorded, or checked first when it claims the target. */
static void take(learner_control_t *ct, const learner_report_t *r) {
  learner_t *l = ct->l;
  double target = l->cfg->target_return, mean = mean_of(r);
  if (!isfinite(target) || ct->res->solved || mean < target) {
    ct->claims_in_row = 0;
    record(ct, r);
    return;
  }
  if (r->untrained) {
    atomic_fetch_add(&l->target_untrained, 1);
    log_limited(&untrained_limit, 1000, LOG_WARN,
                "evaluation report of slot %u at %llu env steps reaches the target return "
                "(%.2f >= %.2f) with the untrained networks: recorded, the run goes on",
                r->slot, (unsigned long long)r->env_steps, mean, target);
    ct->claims_in_row = 0;
    record(ct, r);
    return;
  }
  if (l->env) {
    check_start(ct, r);
    return;
  }
  /* an external env: the learner cannot evaluate; two reports in a row must agree */
  record(ct, r);
  if (++ct->claims_in_row < 2) {
    log_info("evaluation report of slot %u at %llu env steps reaches the target return (%.2f >= "
             "%.2f); %s is external, so the run ends when the next report reaches it too",
             r->slot, (unsigned long long)r->env_steps, mean, target, l->info->id);
    return;
  }
  atomic_fetch_add(&l->target_confirmed, 1);
  log_info("target return reached: a second evaluation report in a row at or above %.2f "
           "(%.2f at %llu env steps)",
           target, mean, (unsigned long long)r->env_steps);
  solve(ct, r);
}

/* Takes the reports waiting behind a check, in order, until one starts a check again. */
static void drain(learner_control_t *ct) {
  while (ct->queue_len && !ct->check_running && !ct->finish) {
    const learner_report_t *r = &ct->queue[ct->queue_head];
    ct->queue_head = (ct->queue_head + 1) % LEARNER_REPORT_QUEUE;
    ct->queue_len--;
    take(ct, r);
  }
}

static log_limit_t dropped_limit;

void learner_record_report(learner_control_t *ct, const wire_eval_report_t *e) {
  if (ct->check_running || ct->queue_len) {
    if (ct->queue_len == LEARNER_REPORT_QUEUE) {
      atomic_fetch_add(&ct->l->reports_dropped, 1);
      log_limited(&dropped_limit, 5000, LOG_WARN,
                  "evaluation report of slot %u at %llu env steps dropped: %u reports wait for "
                  "the learner's check of an earlier one",
                  e->slot, (unsigned long long)e->env_steps, LEARNER_REPORT_QUEUE);
      return;
    }
    report_fill(ct, &ct->queue[(ct->queue_head + ct->queue_len) % LEARNER_REPORT_QUEUE], e);
    ct->queue_len++;
    return;
  }
  report_fill(ct, &ct->incoming, e);
  take(ct, &ct->incoming);
}

/* Finishes the running check (wait: waits for it): the claim confirmed ends the run,
 * otherwise it is refused. */
static void check_finish(learner_control_t *ct, int wait) {
  learner_eval_result_t res;
  if (!ct->check_running || !learner_eval_poll(ct->eval, wait, &res)) return;
  ct->check_running = 0;
  const learner_report_t *r = &ct->checking;
  double target = ct->l->cfg->target_return;
  if (res.rc) {
    unconfirmed(ct, r, "the learner's own evaluation failed: %s", res.msg);
  } else if (res.mean < target) {
    unconfirmed(ct, r, "the learner's own evaluation of weights version %llu gets %.2f",
                (unsigned long long)res.version, res.mean);
  } else {
    atomic_fetch_add(&ct->l->target_confirmed, 1);
    double claimed = mean_of(r);
    log_info("target return reached: the learner's own evaluation of weights version %llu gets "
             "%.2f (%.1f s), confirming the report of slot %u at %llu env steps (%.2f)",
             (unsigned long long)res.version, res.mean, res.seconds, r->slot,
             (unsigned long long)r->env_steps, claimed);
    if (res.version == r->policy_version &&
        fabs(claimed - res.mean) > 1e-3 * fmax(1.0, fabs(res.mean)))
      log_warn("the report of slot %u claimed %.2f for weights version %llu, whose returns "
               "the learner measured as %.2f: the run's last row is the learner's figure",
               r->slot, claimed, (unsigned long long)res.version, res.mean);
    /* the row the run ends on is the learner's own evaluation (a real evaluator's returns of
     * the same weights are the same, exactly): a report's figures are only its sender's
     * word, and a registered stranger's claim must not become the run's result */
    learner_report_t *own = &ct->checking;
    own->policy_version = res.version;
    own->n = res.n < WIRE_MAX_EVAL_EPISODES ? res.n : WIRE_MAX_EVAL_EPISODES;
    memcpy(own->returns, res.returns, own->n * sizeof *own->returns);
    record(ct, own);
    solve(ct, own);
  }
}

void learner_record_poll(learner_control_t *ct) {
  check_finish(ct, 0);
  drain(ct);
}

void learner_record_settle(learner_control_t *ct) {
  ct->ending = 1;
  check_finish(ct, 1);
  drain(ct);
}

int learner_record_final(learner_control_t *ct, const float *params, uint64_t version,
                         td3_err_t *err) {
  learner_t *l = ct->l;
  const learner_config_t *c = l->cfg;
  learner_record_settle(ct);
  if (!ct->eval && !(ct->eval = learner_eval_new(c, l->layers, l->n_layers,
                                                 l->info->action_low, l->info->action_high)))
    return td3_err_set(err, TD3_EINVAL, "cannot make the policy to evaluate");
  learner_eval_result_t res;
  if (learner_eval_load(ct->eval, params, version) != 0 || learner_eval_start(ct->eval) != 0 ||
      !learner_eval_poll(ct->eval, 1, &res))
    return td3_err_set(err, TD3_ESYS, "cannot start the evaluation thread");
  if (res.rc) return td3_err_set(err, res.rc, "%s", res.msg);
  learner_report_t *r = &ct->incoming;
  r->env_steps = atomic_load(&l->inserted);
  r->policy_version = version;
  r->updates = atomic_load(&l->updates);
  r->wall = progress_elapsed(ct->pr);
  r->slot = 0;
  r->untrained = evaluate_untrained(r->env_steps, r->updates, c->start_steps) ||
                 (version && version <= atomic_load(&l->untrained_version));
  r->n = res.n;
  memcpy(r->returns, res.returns, res.n * sizeof *r->returns);
  record(ct, r);
  if (isfinite(c->target_return) && res.mean >= c->target_return && !r->untrained &&
      !ct->res->solved)
    solve(ct, r);
  return 0;
}
