/* Tests for learner/preset and the --preset flag (learner/learner_flags.c): a preset sets the
 * defaults (per-env start steps included), a flag given still wins, an unknown name is refused
 * with the known ones, and the default is td3-repo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "learner_flags.h"
#include "preset.h"

#include <stdlib.h>
#include <string.h>

static const flag_program_t prog = {"td3d learner [options]", "test", NULL};

/* Parses argv (NULL-terminated, argv[0] included) into cli; returns learner_cli_parse's code. */
static int parse(learner_cli_t *cli, char **argv, td3_err_t *err) {
  int argc = 0;
  while (argv[argc]) argc++;
  learner_cli_init(cli);
  flag_spec_t specs[LEARNER_MAX_FLAGS];
  size_t n = learner_flag_specs(cli, specs);
  return learner_cli_parse(cli, specs, n, &prog, argc, argv, err);
}

static void test_table(void **state) {
  (void)state;
  const preset_t *repo = preset_find("td3-repo"), *paper = preset_find("td3-paper");
  assert_non_null(repo);
  assert_non_null(paper);
  assert_null(preset_find("td3"));
  assert_null(preset_find(NULL));
  assert_string_equal(PRESET_DEFAULT, "td3-repo");
  assert_int_equal(preset_start_steps(repo, "HalfCheetah-v4"), 25000);
  assert_int_equal(preset_start_steps(repo, "InvertedPendulum-v4"), 1000);
  assert_int_equal(preset_start_steps(paper, "HalfCheetah-v4"), 10000);
  assert_int_equal(preset_start_steps(paper, "Ant-v4"), 10000);
  assert_int_equal(preset_start_steps(paper, "Hopper-v4"), 1000);
  assert_int_equal(preset_start_steps(paper, NULL), 1000);
  size_t k = 0;
  while (preset_at(k)) k++;
  assert_int_equal(k, 2);
}

static void test_paper_sets_defaults(void **state) {
  (void)state;
  learner_cli_t cli;
  td3_err_t err = {0};
  char *argv[] = {"learner", "--env", "HalfCheetah-v4", "--preset", "td3-paper", NULL};
  assert_int_equal(parse(&cli, argv, &err), 0);
  assert_string_equal(cli.cfg.preset, "td3-paper");
  assert_int_equal(cli.hidden.n, 2);
  assert_int_equal(cli.hidden.v[0], 400);
  assert_int_equal(cli.hidden.v[1], 300);
  assert_int_equal(cli.cfg.td3.batch, 100);
  assert_float_equal(cli.cfg.td3.actor_lr, 1e-3f, 1e-9);
  assert_float_equal(cli.cfg.td3.critic_lr, 1e-3f, 1e-9);
  assert_int_equal(cli.cfg.start_steps, 10000);
  learner_cli_free(&cli);
  /* the env may come after the preset: its start steps still apply */
  char *argv2[] = {"learner", "--preset", "td3-paper", "--env", "Hopper-v4", NULL};
  assert_int_equal(parse(&cli, argv2, &err), 0);
  assert_int_equal(cli.cfg.start_steps, 1000);
  learner_cli_free(&cli);
}

static void test_flags_win(void **state) {
  (void)state;
  learner_cli_t cli;
  td3_err_t err = {0};
  char *argv[] = {"learner", "--batch", "64", "--preset", "td3-paper", "--env", "Ant-v4",
                  "--start-steps", "500", "--hidden", "32,32", NULL};
  assert_int_equal(parse(&cli, argv, &err), 0);
  assert_int_equal(cli.cfg.td3.batch, 64);
  assert_int_equal(cli.cfg.start_steps, 500);
  assert_int_equal(cli.hidden.v[0], 32);
  assert_float_equal(cli.cfg.td3.actor_lr, 1e-3f, 1e-9); /* not given: the preset's */
  learner_cli_free(&cli);
}

static void test_default_is_repo(void **state) {
  (void)state;
  learner_cli_t cli;
  td3_err_t err = {0};
  char *argv[] = {"learner", "--env", "Walker2d-v4", NULL};
  assert_int_equal(parse(&cli, argv, &err), 0);
  assert_string_equal(cli.cfg.preset, "td3-repo");
  assert_int_equal(cli.hidden.v[0], 256);
  assert_int_equal(cli.cfg.td3.batch, 256);
  assert_int_equal(cli.cfg.start_steps, 25000);
  learner_cli_free(&cli);
  char *argv2[] = {"learner", "--env", "Pendulum-v1", NULL};
  assert_int_equal(parse(&cli, argv2, &err), 0);
  assert_int_equal(cli.cfg.start_steps, 1000);
  learner_cli_free(&cli);
}

/* Pendulum's random start states spread a good policy's returns from 0 to -400: its
 * evaluations take 50 episodes whatever the preset, other tasks 10; the flag still wins. */
static void test_eval_episodes_per_env(void **state) {
  (void)state;
  assert_int_equal(preset_eval_episodes("Pendulum-v1"), 50);
  assert_int_equal(preset_eval_episodes("HalfCheetah-v4"), 10);
  assert_int_equal(preset_eval_episodes(NULL), 10);
  learner_cli_t cli;
  td3_err_t err = {0};
  char *argv[] = {"learner", "--env", "Pendulum-v1", NULL};
  assert_int_equal(parse(&cli, argv, &err), 0);
  assert_int_equal(cli.cfg.eval_episodes, 50);
  learner_cli_free(&cli);
  char *argv2[] = {"learner", "--eval-episodes", "7", "--preset", "td3-paper", "--env",
                   "Pendulum-v1", NULL};
  assert_int_equal(parse(&cli, argv2, &err), 0);
  assert_int_equal(cli.cfg.eval_episodes, 7);
  learner_cli_free(&cli);
  char *argv3[] = {"learner", "--env", "Hopper-v4", "--preset", "td3-paper", NULL};
  assert_int_equal(parse(&cli, argv3, &err), 0);
  assert_int_equal(cli.cfg.eval_episodes, 10);
  learner_cli_free(&cli);
}

static void test_unknown_refused(void **state) {
  (void)state;
  learner_cli_t cli;
  td3_err_t err = {0};
  char *argv[] = {"learner", "--preset", "td3-fast", NULL};
  assert_int_equal(parse(&cli, argv, &err), TD3_EINVAL);
  assert_non_null(strstr(err.msg, "'td3-fast' is not a preset"));
  assert_non_null(strstr(err.msg, "td3-repo, td3-paper"));
  learner_cli_free(&cli);
}

int main(void) {
  /* TD3D_* variables are flags too: none may leak in from the environment */
  unsetenv("TD3D_PRESET");
  unsetenv("TD3D_BATCH");
  unsetenv("TD3D_START_STEPS");
  unsetenv("TD3D_HIDDEN");
  unsetenv("TD3D_ENV");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_paper_sets_defaults),
      cmocka_unit_test(test_flags_win),
      cmocka_unit_test(test_default_is_repo),
      cmocka_unit_test(test_eval_episodes_per_env),
      cmocka_unit_test(test_unknown_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
