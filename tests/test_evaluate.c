/* Tests for common/env/evaluate: the step callback sees every step of every episode without
 * changing the returns (each episode's rewards add up to its return, exactly, in the same
 * order); terminal and truncated are set where the episode ends (MountainCar reaching the goal
 * under an energy-pumping policy, Pendulum at its step limit); eval_record_t writes one
 * episode as CSV whose numbers read back to the same floats, and refuses an unwritable path.
 * With a scripted env: episode i resets with the i-th draw of the evaluation stream of the
 * seed, runs to terminal or the step limit, and a failing step ends the evaluation with the
 * env's code and the episode's number. The same seed gives the same returns, another seed
 * others; evaluate_seed is the run seed + 100; evaluate_stats and evaluate_untrained give
 * the figures stated in their contracts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evaluate.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EPISODES 3
#define MAX_STEPS 1000

/* Pendulum: a damping torque (obs_2 is the angular velocity). */
static void act_damp(void *ctx, const float *obs, float *action) {
  (void)ctx;
  action[0] = fmaxf(-2.0f, fminf(2.0f, -0.5f * obs[2]));
}

/* MountainCar: push along the velocity (obs_1), which reaches the goal. */
static void act_pump(void *ctx, const float *obs, float *action) {
  (void)ctx;
  action[0] = obs[1] >= 0 ? 1.0f : -1.0f;
}

/* What the callback saw, per episode. */
typedef struct seen {
  uint32_t steps[MAX_EPISODES];
  double sum[MAX_EPISODES];
  int terminal_at_end[MAX_EPISODES], truncated_at_end[MAX_EPISODES];
  int flags_before_end;   /* a terminal or truncated step that was not the last */
  int out_of_order;       /* a step index that did not follow the previous one */
} seen_t;

static void on_step(void *ctx, const eval_step_t *s) {
  seen_t *w = ctx;
  assert_true(s->episode < MAX_EPISODES);
  uint32_t e = s->episode;
  if (s->t != w->steps[e]) w->out_of_order = 1;
  if (w->terminal_at_end[e] || w->truncated_at_end[e]) w->flags_before_end = 1;
  w->steps[e]++;
  w->sum[e] += s->reward;
  w->terminal_at_end[e] = s->terminal;
  w->truncated_at_end[e] = s->truncated;
}

static void callback_sees_every_step(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_t *env = env_create("Pendulum-v1", NULL, &err);
  assert_non_null(env);
  double plain[MAX_EPISODES], each[MAX_EPISODES];
  seen_t w = {0};
  assert_int_equal(evaluate_episodes(env, 7, MAX_EPISODES, act_damp, NULL, plain, &err), 0);
  assert_int_equal(evaluate_episodes_each(env, 7, MAX_EPISODES, act_damp, NULL, on_step, &w,
                                          each, &err), 0);
  for (int e = 0; e < MAX_EPISODES; e++) {
    assert_true(plain[e] == each[e]);  /* the callback changes nothing */
    assert_true(w.sum[e] == each[e]);  /* same rewards, same order */
    assert_int_equal(w.steps[e], 200);
    assert_int_equal(w.truncated_at_end[e], 1);
    assert_int_equal(w.terminal_at_end[e], 0);
  }
  assert_int_equal(w.flags_before_end, 0);
  assert_int_equal(w.out_of_order, 0);
  env_destroy(&env);
}

static void terminal_ends_an_episode(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_t *env = env_create("MountainCarContinuous-v0", NULL, &err);
  assert_non_null(env);
  double ret[1];
  seen_t w = {0};
  assert_int_equal(evaluate_episodes_each(env, 3, 1, act_pump, NULL, on_step, &w, ret, &err), 0);
  assert_true(w.steps[0] < env->info.max_episode_steps);
  assert_int_equal(w.terminal_at_end[0], 1);
  assert_int_equal(w.truncated_at_end[0], 0);
  assert_int_equal(w.flags_before_end, 0);
  assert_true(w.sum[0] == ret[0]);
  env_destroy(&env);
}

static void record_round_trips(void **state) {
  (void)state;
  td3_err_t err = {0};
  env_t *env = env_create("Pendulum-v1", NULL, &err);
  assert_non_null(env);
  eval_record_t rec;
  eval_record_init(&rec, &env->info, 1);  /* keep the second episode */
  double ret[2];
  assert_int_equal(evaluate_episodes_each(env, 11, 2, act_damp, NULL, eval_record_step, &rec,
                                          ret, &err), 0);
  assert_int_equal(rec.steps, 200);
  char path[128];
  snprintf(path, sizeof path, "/tmp/td3d_test_evaluate_%ld.csv", (long)getpid());
  assert_int_equal(eval_record_commit(&rec, path, &err), 0);
  eval_record_free(&rec);  /* safe after commit */

  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[512];
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "step,obs_0,obs_1,obs_2,action_0,reward,terminal,truncated\n");
  double sum = 0;
  int rows = 0, last_truncated = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned t;
    float o0, o1, o2, a, r;
    int term, trunc;
    assert_int_equal(sscanf(line, "%u,%f,%f,%f,%f,%f,%d,%d", &t, &o0, &o1, &o2, &a, &r, &term,
                            &trunc), 8);
    assert_int_equal(t, (unsigned)rows);
    /* the action read back is exactly the policy's for the observation read back */
    float obs[3] = {o0, o1, o2}, again;
    act_damp(NULL, obs, &again);
    assert_true(again == a);
    assert_int_equal(term, 0);
    sum += r;
    last_truncated = trunc;
    rows++;
  }
  fclose(f);
  unlink(path);
  assert_int_equal(rows, 200);
  assert_int_equal(last_truncated, 1);
  assert_true(sum == ret[1]);  /* %.9g gave back every reward exactly */

  /* an unwritable place: an error naming it, nothing written */
  eval_record_init(&rec, &env->info, 0);
  assert_int_equal(eval_record_commit(&rec, "/nonexistent/dir/t.csv", &err), TD3_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent/dir/t.csv"));
  eval_record_free(&rec);
  env_destroy(&env);
}

/* A scripted env: obs_0 is the step index, each step's reward is 0.5 plus the action; it is
 * terminal at step terminal_at (0: never) and fails at step fail_at of episode fail_episode
 * (0: never); it records the seeds it was reset with. */
typedef struct script_env {
  env_t base;
  float low, high;
  uint32_t t, episode;
  uint32_t terminal_at, fail_at, fail_episode;
  uint64_t seeds[8];
  uint32_t resets;
} script_env_t;

static int script_reset(env_t *e, uint64_t seed, float *obs) {
  script_env_t *s = (script_env_t *)e;
  if (s->resets < 8) s->seeds[s->resets] = seed;
  s->resets++;
  s->episode++;
  s->t = 0;
  obs[0] = 0;
  return 0;
}

static int script_step(env_t *e, const float *action, float *next, float *reward, int *terminal) {
  script_env_t *s = (script_env_t *)e;
  s->t++;
  if (s->fail_at && s->episode == s->fail_episode && s->t == s->fail_at) return TD3_ENONFINITE;
  next[0] = (float)s->t;
  *reward = 0.5f + action[0];
  *terminal = s->terminal_at && s->t == s->terminal_at;
  return 0;
}

static void script_destroy(env_t *e) { (void)e; }

static const env_ops_t script_ops = {script_reset, script_step, script_destroy};

static void script_init(script_env_t *s, uint32_t max_steps) {
  memset(s, 0, sizeof *s);
  s->base.ops = &script_ops;
  snprintf(s->base.info.id, sizeof s->base.info.id, "Scripted-v0");
  s->base.info.obs_dim = 1;
  s->base.info.act_dim = 1;
  s->low = -1;
  s->high = 1;
  s->base.info.action_low = &s->low;
  s->base.info.action_high = &s->high;
  s->base.info.max_episode_steps = max_steps;
}

/* The action is 0.25 for even steps (obs_0), 0 for odd ones. */
static void act_script(void *ctx, const float *obs, float *action) {
  (void)ctx;
  action[0] = ((int)obs[0] % 2 == 0) ? 0.25f : 0.0f;
}

static void scripted_episodes(void **state) {
  (void)state;
  script_env_t s;
  td3_err_t err = {0};
  double ret[3];
  /* the step limit: 10 steps, 5 at 0.75 and 5 at 0.5 */
  script_init(&s, 10);
  assert_int_equal(evaluate_episodes(&s.base, 42, 3, act_script, NULL, ret, &err), 0);
  for (int i = 0; i < 3; i++) assert_true(ret[i] == 6.25);
  /* the seeds: the evaluation stream of 42, in order */
  rng_t r;
  rng_init(&r, 42, rng_stream_id(RNG_PURPOSE_EVAL, 0));
  assert_int_equal(s.resets, 3);
  for (int i = 0; i < 3; i++) assert_true(s.seeds[i] == rng_next_u64(&r));
  /* terminal at step 3: three rewards */
  script_init(&s, 10);
  s.terminal_at = 3;
  seen_t w = {0};
  assert_int_equal(evaluate_episodes_each(&s.base, 1, 2, act_script, NULL, on_step, &w, ret,
                                          &err), 0);
  assert_true(ret[0] == 0.75 + 0.5 + 0.75 && ret[1] == ret[0]);
  assert_int_equal(w.steps[0], 3);
  assert_int_equal(w.terminal_at_end[1], 1);
  assert_int_equal(w.truncated_at_end[1], 0);
  /* a step that fails in episode 2: the evaluation stops there, saying which */
  script_init(&s, 10);
  s.fail_episode = 2;
  s.fail_at = 4;
  memset(&err, 0, sizeof err);
  ret[2] = -1;
  assert_int_equal(evaluate_episodes(&s.base, 1, 3, act_script, NULL, ret, &err),
                   TD3_ENONFINITE);
  assert_int_equal(err.code, TD3_ENONFINITE);
  assert_non_null(strstr(err.msg, "evaluation episode 2 of Scripted-v0 failed"));
  assert_int_equal(s.resets, 2); /* the third never started */
  assert_true(ret[0] == 6.25);
  assert_true(ret[2] == -1);
}

static void seeds_decide_episodes(void **state) {
  (void)state;
  assert_int_equal(evaluate_seed(0), 100);
  assert_int_equal(evaluate_seed(7), 107);
  td3_err_t err = {0};
  env_t *env = env_create("Pendulum-v1", NULL, &err);
  assert_non_null(env);
  double a[2], b[2], c[2];
  assert_int_equal(evaluate_episodes(env, evaluate_seed(3), 2, act_damp, NULL, a, &err), 0);
  assert_int_equal(evaluate_episodes(env, evaluate_seed(3), 2, act_damp, NULL, b, &err), 0);
  assert_int_equal(evaluate_episodes(env, evaluate_seed(4), 2, act_damp, NULL, c, &err), 0);
  assert_memory_equal(a, b, sizeof a); /* the env's earlier episodes change nothing */
  assert_true(a[0] != c[0] && a[1] != c[1]);
  assert_true(a[0] != a[1]); /* each episode its own start */
  env_destroy(&env);
}

static void stats_and_untrained(void **state) {
  (void)state;
  const double v[] = {1, 2, 3, 4};
  double mean, std, lo, hi;
  evaluate_stats(v, 4, &mean, &std, &lo, &hi);
  assert_true(mean == 2.5 && lo == 1 && hi == 4);
  assert_true(fabs(std - sqrt(1.25)) < 1e-15); /* population, not sample (1.29) */
  const double neg[] = {-1500.5};
  evaluate_stats(neg, 1, &mean, &std, &lo, &hi);
  assert_true(mean == -1500.5 && std == 0 && lo == -1500.5 && hi == -1500.5);
  /* untrained: no update yet, or no more steps than the random start */
  assert_int_equal(evaluate_untrained(0, 0, 1000), 1);
  assert_int_equal(evaluate_untrained(5000, 0, 1000), 1);
  assert_int_equal(evaluate_untrained(1000, 10, 1000), 1);
  assert_int_equal(evaluate_untrained(1001, 1, 1000), 0);
  assert_int_equal(evaluate_untrained(1, 1, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(callback_sees_every_step),
      cmocka_unit_test(terminal_ends_an_episode),
      cmocka_unit_test(record_round_trips),
      cmocka_unit_test(scripted_episodes),
      cmocka_unit_test(seeds_decide_episodes),
      cmocka_unit_test(stats_and_untrained),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
