/* Tests for the flag tables' defaults (common/net/cluster_flags, learner/learner_flags.c,
 * actor/actor_flags.c): every row's default parses, the config defaults are the tables', the
 * learner and its actors agree on the shared rows, the preset-governed rows take the default
 * preset's values, and the td3 module's own defaults match the learner's rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "actor_flags.h"
#include "cluster_flags.h"
#include "learner_flags.h"
#include "preset.h"
#include "serial.h"
#include "status.h"

#include <math.h>
#include <string.h>

static void tables_defaults_parse(void **state) {
  (void)state;
  td3_err_t err = {0};
  learner_cli_t lc;
  learner_cli_init(&lc);
  flag_spec_t ls[LEARNER_MAX_FLAGS];
  size_t ln = learner_flag_specs(&lc, ls);
  assert_int_equal(flags_defaults(ls, ln, &err), 0);
  actor_cli_t ac;
  actor_cli_init(&ac);
  flag_spec_t as[ACTOR_MAX_FLAGS];
  size_t an = actor_flag_specs(&ac, as);
  assert_int_equal(flags_defaults(as, an, &err), 0);
  learner_cli_free(&lc);
}

static void learner_and_actor_agree(void **state) {
  (void)state;
  learner_config_t l;
  actor_config_t a;
  learner_config_default(&l);
  actor_config_default(&a);
  assert_string_equal(l.env_id, CLUSTER_DEFAULT_ENV);
  assert_string_equal(a.env_id, l.env_id);
  assert_int_equal(l.experience_port, 5555);
  assert_int_equal(a.experience_port, l.experience_port);
  assert_int_equal(a.weights_port, l.weights_port);
  assert_int_equal(a.control_port, l.control_port);
  assert_int_equal(a.envs, 1);
  assert_string_equal(a.learner_host, "127.0.0.1");
  assert_int_equal(a.heartbeat_ms, 200);
  assert_int_equal(a.send_timeout_ms, 30000);
}

static void config_defaults_are_the_rows(void **state) {
  (void)state;
  learner_config_t l;
  learner_config_default(&l);
  const preset_t *p = preset_find(PRESET_DEFAULT);
  assert_int_equal(l.td3.n_hidden, 2);
  assert_int_equal(l.td3.hidden[0], p->hidden[0]);
  assert_int_equal(l.td3.hidden[1], p->hidden[1]);
  assert_true(l.td3.actor_lr == p->lr && l.td3.critic_lr == p->lr);
  assert_int_equal(l.td3.batch, p->batch);
  assert_int_equal(l.start_steps, p->start_steps);
  assert_int_equal(l.eval_episodes, preset_eval_episodes(NULL));
  assert_int_equal(l.steps, 1000000);
  assert_int_equal(l.replay_capacity, 1000000);
  assert_int_equal(l.noise, LEARNER_NOISE_GAUSSIAN);
  assert_true(l.expl_noise == 0.1f && l.ou_dt == 0.01f);
  assert_string_equal(l.bind_host, "*");
  assert_null(l.status_bind); /* a library learner serves no status page */
  assert_true(isnan(l.target_return));
  assert_int_equal(l.checkpoint_replay, 1);
  assert_int_equal(l.progress, 1);
  /* the td3 module's own defaults (for its direct users) are the learner's rows' */
  td3_config_t t;
  td3_config_default(&t);
  assert_true(t.gamma == l.td3.gamma && t.tau == l.td3.tau);
  assert_true(t.policy_noise == l.td3.policy_noise && t.noise_clip == l.td3.noise_clip);
  assert_int_equal(t.policy_delay, l.td3.policy_delay);
  assert_int_equal(t.batch, l.td3.batch);
  assert_true(t.actor_lr == l.td3.actor_lr);
  /* serial mode's defaults are the learner's */
  serial_config_t s;
  serial_config_default(&s);
  assert_string_equal(s.env_id, l.env_id);
  assert_int_equal(s.steps, l.steps);
  assert_int_equal(s.start_steps, l.start_steps);
  assert_int_equal(s.eval_every, l.eval_every);
  assert_int_equal(s.eval_episodes, l.eval_episodes);
  assert_int_equal(s.replay_capacity, l.replay_capacity);
  assert_true(s.expl_noise == l.expl_noise && isnan(s.target_return));
  assert_int_equal(s.progress, 1);
  assert_memory_equal(&s.td3, &l.td3, sizeof s.td3);
}

/* The command line's defaults are the library's, but for the status server. */
static void cli_defaults(void **state) {
  (void)state;
  learner_cli_t c;
  learner_cli_init(&c);
  learner_config_t l;
  learner_config_default(&l);
  assert_string_equal(c.cfg.status_bind, STATUS_DEFAULT_BIND);
  c.cfg.status_bind = NULL;
  assert_memory_equal(&c.cfg, &l, sizeof l);
  assert_int_equal(c.threads, 0);
  learner_cli_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tables_defaults_parse),
      cmocka_unit_test(learner_and_actor_agree),
      cmocka_unit_test(config_defaults_are_the_rows),
      cmocka_unit_test(cli_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
