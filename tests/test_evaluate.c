/* Tests for common/env/evaluate: the step callback sees every step of every episode without
 * changing the returns (each episode's rewards add up to its return, exactly, in the same
 * order); terminal and truncated are set where the episode ends (MountainCar reaching the goal
 * under an energy-pumping policy, Pendulum at its step limit); eval_record_t writes one
 * episode as CSV whose numbers read back to the same floats, and refuses an unwritable path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evaluate.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(callback_sees_every_step),
      cmocka_unit_test(terminal_ends_an_episode),
      cmocka_unit_test(record_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
