/* Serial mode: the authors' training loop in one process (see serial.h). */
#include "serial.h"

#include "evaluate.h"
#include "learner.h"
#include "log.h"
#include "progress.h"
#include "replay.h"
#include "run_json.h"
#include "rng.h"
#include "rundir.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void serial_config_from_learner(serial_config_t *c, const learner_config_t *l) {
  memset(c, 0, sizeof *c);
  c->env_id = l->env_id;
  c->preset = l->preset;
  c->env_opts = l->env_opts;
  c->seed = l->seed;
  c->steps = l->steps;
  c->start_steps = l->start_steps;
  c->expl_noise = l->expl_noise;
  c->eval_every = l->eval_every;
  c->eval_episodes = l->eval_episodes;
  c->replay_capacity = l->replay_capacity;
  c->target_return = l->target_return;
  c->out_dir = l->out_dir;
  c->overwrite = l->overwrite;
  c->progress = l->progress;
  c->td3 = l->td3;
}

void serial_config_default(serial_config_t *c) {
  learner_config_t l;
  learner_config_default(&l);
  serial_config_from_learner(c, &l);
}

/* The run's configuration as JSON, for config.json; env is the training env (its model file is
 * recorded for `td3d eval`). Returns 0, or -1 when it does not fit in cap. */
static int config_json(const serial_config_t *c, const td3_config_t *t, const env_t *env,
                       char *out, size_t cap) {
  json_t *o = json_object();
  json_object_set_new(o, "mode", json_string("serial"));
  json_object_set_new(o, "preset", run_json_string(c->preset));
  json_object_set_new(o, "env", run_json_string(c->env_id));
  json_object_set_new(o, "model", run_json_model(env));
  json_object_set_new(o, "seed", run_json_u64(c->seed));
  json_object_set_new(o, "steps", run_json_u64(c->steps));
  json_object_set_new(o, "start_steps", run_json_u64(c->start_steps));
  json_object_set_new(o, "expl_noise", run_json_number(c->expl_noise, 6));
  json_object_set_new(o, "eval_every", run_json_u64(c->eval_every));
  json_object_set_new(o, "eval_episodes", json_integer(c->eval_episodes));
  json_object_set_new(o, "replay_capacity", run_json_u64(c->replay_capacity));
  json_object_set_new(o, "target_return", run_json_number(c->target_return, 6));
  run_json_td3(o, t);
  int rc = run_json_dump(o, out, cap);
  json_decref(o);
  return rc;
}

static void act_deterministic(void *ctx, const float *obs, float *action) {
  td3_act((td3_t *)ctx, obs, 1, action);
}

/* Everything the loop owns (freed in one place) and its running state. */
typedef struct loop {
  env_t *env, *eval_env;
  td3_t *td3;
  replay_t *replay;
  transition_batch_t batch;  /* each update's sample */
  transition_batch_t step;   /* the current transition (one row); obs and next_obs swap */
  rundir_t *dir;
  double *returns;           /* (eval_episodes) one evaluation's returns */
  td3_config_t tc;           /* the run's td3 settings with the env's dims and bounds */
  rng_t act_rng, env_rng, train_rng;
  double ep_return;          /* the current episode's return so far */
  uint32_t ep_len;           /* its steps so far */
  double train_sum;          /* returns of the episodes ended since the last evaluation ... */
  uint32_t train_count;      /* ... and how many (cut episodes do not count) */
  uint64_t env_errors;       /* steps that failed and cut their episode */
} loop_t;

static void loop_free(loop_t *l) {
  env_destroy(&l->env);
  env_destroy(&l->eval_env);
  td3_destroy(&l->td3);
  replay_destroy(&l->replay);
  transition_batch_free(&l->batch);
  transition_batch_free(&l->step);
  rundir_close(&l->dir);
  free(l->returns);
}

/* Evaluates the current policy, records a row, saves the policy; updates res. */
static int evaluate_now(const serial_config_t *c, loop_t *l, progress_t *pr, uint64_t t,
                        double train_mean, serial_result_t *res, td3_err_t *err) {
  int rc = evaluate_episodes(l->eval_env, evaluate_seed(c->seed), c->eval_episodes, act_deterministic,
                             l->td3, l->returns, err);
  if (rc) return rc;
  double mean, sd, lo, hi;
  evaluate_stats(l->returns, c->eval_episodes, &mean, &sd, &lo, &hi);
  double wall = progress_elapsed(pr);
  uint64_t updates = td3_iterations(l->td3);
  int untrained = evaluate_untrained(t, updates, c->start_steps);
  res->last_eval = mean;
  if (!untrained) res->best_eval = fmax(res->best_eval, mean); /* fmax ignores the initial NaN */
  res->evaluations++;
  progress_print(pr, "eval  steps %8llu  return %9.2f +- %7.2f  updates %8llu  %6.1fs%s",
                 (unsigned long long)t, mean, sd, (unsigned long long)updates, wall,
                 untrained ? "  (untrained)" : "");
  if (isfinite(c->target_return) && mean >= c->target_return && !res->solved) {
    res->solved = 1;
    res->solved_at = t;
    res->solved_seconds = wall;
  }
  if (!l->dir) return 0;
  rundir_row_t row = {.env_steps = t, .updates = updates, .wall_seconds = wall,
                      .eval_mean = mean, .eval_std = sd, .eval_min = lo, .eval_max = hi,
                      .eval_episodes = c->eval_episodes, .train_return_mean = train_mean,
                      .env_steps_per_s = wall > 0 ? (double)t / wall : 0,
                      .updates_per_s = wall > 0 ? (double)updates / wall : 0};
  if ((rc = rundir_eval(l->dir, &row, err))) return rc;
  uint32_t layers[NN_MAX_LAYERS];
  uint32_t n_layers = td3_actor_layers(l->td3, layers);
  size_t n_params;
  const float *params = td3_actor_params(l->td3, &n_params);
  const env_info_t *info = &l->env->info;
  return rundir_save_policy(l->dir, info->id, layers, n_layers, info->action_low,
                            info->action_high, params, err);
}

/* Opens what the loop owns: the training and evaluation envs, td3, the replay buffer (at
 * most steps transitions), the batches, the run directory with config.json, and the RNG
 * streams; resets the env for the first step. Returns 0, or a negative code with err filled
 * (what was opened stays in l for loop_free). */
static int loop_open(const serial_config_t *c, loop_t *l, td3_err_t *err) {
  int rc;
  if (!(l->env = env_create(c->env_id, &c->env_opts, err))) return err ? err->code : TD3_EINVAL;
  if (!(l->eval_env = env_create(c->env_id, &c->env_opts, err)))
    return err ? err->code : TD3_EINVAL;
  const env_info_t *info = &l->env->info;
  l->tc = c->td3;
  l->tc.obs_dim = info->obs_dim;
  l->tc.act_dim = info->act_dim;
  l->tc.action_low = info->action_low;
  l->tc.action_high = info->action_high;
  l->tc.seed = c->seed;
  if (!(l->td3 = td3_new(&l->tc, err))) return err ? err->code : TD3_EINVAL;
  size_t cap = c->replay_capacity < c->steps ? c->replay_capacity : (size_t)c->steps;
  if (!(l->replay = replay_new(cap, info->obs_dim, info->act_dim)))
    return td3_err_set(err, TD3_ENOMEM,
                       "cannot allocate a replay buffer of %zu transitions (%zu bytes; %zu bytes "
                       "of memory available): lower --replay-capacity",
                       cap, replay_bytes(cap, info->obs_dim, info->act_dim),
                       td3_memory_available());
  log_info("serial run: %s, obs %u, act %u, %llu steps, replay %zu transitions (%.1f MiB)",
           info->id, info->obs_dim, info->act_dim, (unsigned long long)c->steps, cap,
           (double)replay_bytes(cap, info->obs_dim, info->act_dim) / (1024.0 * 1024.0));
  transition_batch_alloc(&l->batch, l->tc.batch, info->obs_dim, info->act_dim);
  transition_batch_alloc(&l->step, 1, info->obs_dim, info->act_dim);
  l->step.n = 1;
  l->returns = xmalloc(c->eval_episodes * sizeof(double));
  if (c->out_dir) {
    char json[8192];
    if (config_json(c, &l->tc, l->env, json, sizeof json) != 0)
      return td3_err_set(err, TD3_EINVAL, "the run's configuration does not fit config.json's "
                         "%zu bytes", sizeof json);
    if (!(l->dir = rundir_open(c->out_dir, json, c->overwrite, err)))
      return err ? err->code : TD3_EIO;
    char title[128];
    snprintf(title, sizeof title, "%s, seed %llu, serial%s%s", info->id,
             (unsigned long long)c->seed, c->preset ? ", " : "", c->preset ? c->preset : "");
    rundir_set_chart(l->dir, title, c->target_return, NULL);
  }
  rng_init(&l->act_rng, c->seed, rng_stream_id(RNG_PURPOSE_ACTOR, 0));
  rng_init(&l->env_rng, c->seed, rng_stream_id(RNG_PURPOSE_ENV, 0));
  rng_init(&l->train_rng, c->seed, rng_stream_id(RNG_PURPOSE_TRAINER, 0));
  if ((rc = env_reset(l->env, rng_next_u64(&l->env_rng), l->step.obs)))
    return td3_err_set(err, rc, "%s: reset failed: %s", info->id, td3_strerror(rc));
  return 0;
}

/* Step t's action into l->step: uniform in the bounds while t < start_steps, afterwards the
 * policy plus Gaussian noise (expl_noise of the half range), clipped to the bounds. */
static void choose_action(const serial_config_t *c, loop_t *l, uint64_t t) {
  const env_info_t *info = &l->env->info;
  const float *low = info->action_low, *high = info->action_high;
  transition_batch_t *st = &l->step;
  if (t < c->start_steps) {
    for (uint32_t j = 0; j < info->act_dim; j++)
      st->action[j] = rng_uniformf(&l->act_rng, low[j], high[j]);
    return;
  }
  td3_act(l->td3, st->obs, 1, st->action);
  for (uint32_t j = 0; j < info->act_dim; j++) {
    float half = 0.5f * (high[j] - low[j]);
    float a = st->action[j] + c->expl_noise * half * (float)rng_normal(&l->act_rng);
    st->action[j] = fminf(fmaxf(a, low[j]), high[j]);
  }
}

/* Steps the env with the chosen action and stores the transition in replay. A broken step
 * (e.g. a simulator NaN) cuts the episode and stores nothing (*failed = 1). Returns 1 when
 * the episode is over (terminal, the step limit, or a broken step). */
static int step_env(loop_t *l, int *failed) {
  static log_limit_t step_error_limit = LOG_LIMIT_INIT;
  const env_info_t *info = &l->env->info;
  transition_batch_t *st = &l->step;
  float reward;
  int terminal = 0;
  int src = env_step(l->env, st->action, st->next_obs, &reward, &terminal);
  *failed = src != 0;
  if (src) {
    l->env_errors++;
    log_limited(&step_error_limit, 5000, LOG_WARN, "%s: step failed (%s); episode cut",
                info->id, td3_strerror(src));
    return 1;
  }
  st->reward[0] = reward;
  st->terminal[0] = terminal ? 1.0f : 0.0f;
  replay_insert(l->replay, st, 0, 1);
  l->ep_return += reward;
  l->ep_len++;
  return terminal || l->ep_len >= info->max_episode_steps;
}

/* One TD3 iteration on a fresh sample. Serial mode has no checkpoint to roll back to, so a
 * rejected (non-finite) update ends the run: returns 0 or the code with err filled. */
static int train_step(loop_t *l, uint64_t t, td3_err_t *err) {
  replay_sample(l->replay, &l->train_rng, l->tc.batch, &l->batch);
  int rc = td3_train(l->td3, &l->batch, &l->train_rng, NULL);
  if (rc)
    td3_err_set(err, rc,
                "training produced a non-finite loss or weight at update %llu (env step "
                "%llu); the update was rejected; try a smaller learning rate",
                (unsigned long long)td3_iterations(l->td3) + 1, (unsigned long long)t);
  return rc;
}

/* After a step: an episode that is over counts its return (unless a broken step cut it) and
 * the env resets; otherwise s' becomes s. Returns 0 or the reset's code with err filled. */
static int next_state(loop_t *l, int episode_over, int failed, td3_err_t *err) {
  transition_batch_t *st = &l->step;
  if (!episode_over) {
    float *tmp = st->obs;
    st->obs = st->next_obs;
    st->next_obs = tmp;
    return 0;
  }
  if (!failed) {
    l->train_sum += l->ep_return;
    l->train_count++;
  }
  l->ep_return = 0;
  l->ep_len = 0;
  int rc = env_reset(l->env, rng_next_u64(&l->env_rng), st->obs);
  if (rc) td3_err_set(err, rc, "%s: reset failed: %s", l->env->info.id, td3_strerror(rc));
  return rc;
}

/* The mean return of the training episodes ended since the last call (NaN: none); starts
 * the next count. */
static double take_train_mean(loop_t *l) {
  double mean = l->train_count ? l->train_sum / l->train_count : NAN;
  l->train_sum = 0;
  l->train_count = 0;
  return mean;
}

int serial_run(const serial_config_t *c, serial_result_t *res, td3_err_t *err) {
  loop_t l = {0};
  progress_t pr;
  int rc = 0;
  memset(res, 0, sizeof *res);
  res->last_eval = NAN;
  res->best_eval = NAN;
  progress_init(&pr, c->progress);

  if (c->steps == 0 || c->eval_every == 0 || c->eval_episodes == 0)
    return td3_err_set(err, TD3_EINVAL, "steps, eval_every and eval_episodes must be positive");
  if ((rc = loop_open(c, &l, err)) || (rc = evaluate_now(c, &l, &pr, 0, NAN, res, err)))
    goto out;

  uint64_t t, last_eval_t = 0;
  /* a target the untrained policy already meets ends the run before training */
  for (t = 0; t < c->steps && !res->solved; t++) {
    if (c->stop && *c->stop) {
      res->stopped = 1;
      break;
    }
    choose_action(c, &l, t);
    int failed, episode_over = step_env(&l, &failed);
    if (t >= c->start_steps && (rc = train_step(&l, t, err))) goto out;
    if ((rc = next_state(&l, episode_over, failed, err))) goto out;
    if ((t + 1) % c->eval_every == 0) {
      if ((rc = evaluate_now(c, &l, &pr, t + 1, take_train_mean(&l), res, err))) goto out;
      last_eval_t = t + 1;
      if (res->solved) {
        t++;
        break;
      }
    }
    if ((t & 255) == 0) {
      progress_status_t s = {t + 1, c->steps, td3_iterations(l.td3), replay_size(l.replay),
                             res->last_eval};
      progress_update(&pr, &s);
    }
  }
  res->env_steps = t;
  if (t != last_eval_t && t > 0 &&
      (rc = evaluate_now(c, &l, &pr, t, take_train_mean(&l), res, err)))
    goto out;
  if (l.env_errors) log_warn("%s: %llu steps failed and cut their episodes", l.env->info.id,
                             (unsigned long long)l.env_errors);
out:
  progress_finish(&pr);
  if (l.td3) res->updates = td3_iterations(l.td3);
  res->wall_seconds = progress_elapsed(&pr);
  loop_free(&l);
  return rc;
}
