/* Tests for common/run/rundir: progress.csv is its header and one row per evaluation, each
 * figure in its column and format (an empty train_return_mean when no training episode
 * finished); a new run refuses a directory that holds one; a resumed run keeps
 * the progress rows up to its checkpoint (dropping later and damaged ones), appends after
 * them and redraws the curve; config.json's model path is written absolute and escaped, and
 * read back with the env id (null, missing and damaged configurations included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rundir.h"
#include "tmpdir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_dir);
}

static rundir_row_t row(uint64_t steps, double mean) {
  return (rundir_row_t){.env_steps = steps, .updates = steps / 2, .wall_seconds = steps / 100.0,
                        .eval_mean = mean, .eval_std = 1.5, .eval_min = mean - 2,
                        .eval_max = mean + 2, .eval_episodes = 10,
                        .train_return_mean = steps == 2000 ? NAN : mean - 10,
                        .env_steps_per_s = 500, .updates_per_s = 250};
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void test_progress_csv_exact(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/td3d_test_rundir_csv_%ld", (long)getpid());
  td3_err_t err = {0};
  rundir_t *d = rundir_open(g_dir, "{}", 0, &err);
  assert_non_null(d);
  rundir_row_t a = row(1000, -900.125), b = row(2000, -800);
  b.wall_seconds = 1234.5678; /* rounded to milliseconds */
  b.env_steps_per_s = 512.26;
  assert_int_equal(rundir_eval(d, &a, &err), 0);
  assert_int_equal(rundir_append(d, &b, &err), 0);
  size_t n;
  rundir_rows(d, &n);
  assert_int_equal(n, 2);
  char csv[400];
  snprintf(csv, sizeof csv, "%s", rundir_file(d, "progress.csv"));
  rundir_close(&d);
  assert_string_equal(slurp(csv),
                      "env_steps,updates,wall_seconds,eval_return_mean,eval_return_std,"
                      "eval_return_min,eval_return_max,eval_episodes,train_return_mean,"
                      "env_steps_per_second,updates_per_second\n"
                      "1000,500,10.000,-900.1250,1.5000,-902.1250,-898.1250,10,-910.1250,500.0,"
                      "250.0\n"
                      "2000,1000,1234.568,-800.0000,1.5000,-802.0000,-798.0000,10,,512.3,250.0\n");
}

static void test_resume_keeps_rows_up_to_checkpoint(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/td3d_test_rundir_%ld", (long)getpid());
  td3_err_t err = {0};
  rundir_t *d = rundir_open(g_dir, "{}", 0, &err);
  assert_non_null(d);
  for (uint64_t s = 1000; s <= 4000; s += 1000) {
    rundir_row_t r = row(s, -1000.0 + (double)s / 10);
    assert_int_equal(rundir_eval(d, &r, &err), 0);
  }
  rundir_close(&d);
  /* a crash cut the last line short */
  char csv[400];
  snprintf(csv, sizeof csv, "%s/progress.csv", g_dir);
  FILE *f = fopen(csv, "a");
  fputs("5000,2500,50.0", f);
  fclose(f);

  /* a new run here is refused and points at --resume */
  assert_null(rundir_open(g_dir, "{}", 0, &err));
  assert_non_null(strstr(err.msg, "--resume"));

  /* the checkpoint holds 3000 env steps: rows 4000 and the cut one go */
  d = rundir_resume(g_dir, "{\"resumed\": true}", 3000, &err);
  assert_non_null(d);
  assert_int_equal(rundir_dropped(d), 2);
  size_t n;
  const rundir_row_t *rows = rundir_rows(d, &n);
  assert_int_equal(n, 3);
  assert_int_equal(rows[0].env_steps, 1000);
  assert_int_equal(rows[2].env_steps, 3000);
  assert_int_equal(rows[2].updates, 1500);
  assert_true(fabs(rows[2].eval_mean - (-700.0)) < 1e-3);
  assert_true(fabs(rows[2].wall_seconds - 30.0) < 1e-3);
  assert_int_equal(rows[2].eval_episodes, 10);
  assert_true(isnan(rows[1].train_return_mean));
  assert_true(fabs(rows[0].train_return_mean - (-910.0)) < 1e-3);
  rundir_row_t r = row(3500, -650);
  assert_int_equal(rundir_eval(d, &r, &err), 0);
  rundir_close(&d);

  const char *text = slurp(csv);
  assert_non_null(strstr(text, "env_steps,updates,"));
  assert_non_null(strstr(text, "\n3000,1500,"));
  assert_non_null(strstr(text, "\n3500,1750,"));
  assert_null(strstr(text, "\n4000,"));
  assert_null(strstr(text, "\n5000,"));
  char cfg[400];
  snprintf(cfg, sizeof cfg, "%s/config.json", g_dir);
  assert_non_null(strstr(slurp(cfg), "resumed"));
  char svg[400];
  snprintf(svg, sizeof svg, "%s/curve.svg", g_dir);
  assert_int_equal(access(svg, F_OK), 0);
}

static void test_resume_without_progress(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/td3d_test_rundir_empty_%ld", (long)getpid());
  td3_err_t err = {0};
  rundir_t *d = rundir_resume(g_dir, "{}", 100, &err);
  assert_non_null(d);
  size_t n;
  rundir_rows(d, &n);
  assert_int_equal(n, 0);
  rundir_close(&d);
  char csv[400];
  snprintf(csv, sizeof csv, "%s/progress.csv", g_dir);
  assert_non_null(strstr(slurp(csv), "env_steps,updates,"));
}

/* Writes text as g_dir/config.json through a run directory, as the learner does. */
static void write_config(const char *text) {
  td3_err_t err = {0};
  rundir_t *d = rundir_open(g_dir, text, 1, &err);
  assert_non_null(d);
  rundir_close(&d);
}

static void test_config_env_and_model(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/td3d_test_rundir_cfg_%ld", (long)getpid());
  td3_err_t err = {0};
  rundir_env_t run;
  /* no run there yet */
  assert_int_equal(rundir_read_env(g_dir, &run, &err), TD3_ENOTFOUND);
  assert_non_null(strstr(err.msg, "config.json"));

  /* a relative path is recorded absolute; quotes and backslashes survive the round trip */
  char json[600], model[400], cwd[256];
  assert_non_null(getcwd(cwd, sizeof cwd));
  rundir_json_path("models/a\"b\\c.xml", model, sizeof model);
  char want[400];
  snprintf(want, sizeof want, "\"%s/models/a\\\"b\\\\c.xml\"", cwd);
  assert_string_equal(model, want);
  snprintf(json, sizeof json, "{\"env\": \"Hopper-v4\", \"model\": %s, \"seed\": 3}", model);
  write_config(json);
  assert_int_equal(rundir_read_env(g_dir, &run, &err), 0);
  assert_string_equal(run.env_id, "Hopper-v4");
  snprintf(want, sizeof want, "%s/models/a\"b\\c.xml", cwd);
  assert_string_equal(run.model, want);
  /* an existing path is resolved: /tmp/./ goes */
  rundir_json_path("/tmp/./", model, sizeof model);
  assert_string_equal(model, "\"/tmp\"");

  /* no model: null, or an older run without the field */
  rundir_json_path(NULL, model, sizeof model);
  assert_string_equal(model, "null");
  rundir_json_path("/far/too/long/a/path", model, 8); /* does not fit */
  assert_string_equal(model, "null");
  write_config("{\"env\": \"Pendulum-v1\", \"model\": null}");
  assert_int_equal(rundir_read_env(g_dir, &run, &err), 0);
  assert_string_equal(run.env_id, "Pendulum-v1");
  assert_string_equal(run.model, "");
  write_config("{\"env\": \"Pendulum-v1\"}");
  assert_int_equal(rundir_read_env(g_dir, &run, &err), 0);
  assert_string_equal(run.model, "");

  /* damaged: not JSON, no env, a model that is not a path */
  write_config("{\"env\": ");
  assert_int_equal(rundir_read_env(g_dir, &run, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "config.json"));
  write_config("{\"model\": \"/x.xml\"}");
  assert_int_equal(rundir_read_env(g_dir, &run, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "\"env\""));
  write_config("{\"env\": \"Hopper-v4\", \"model\": 7}");
  assert_int_equal(rundir_read_env(g_dir, &run, &err), TD3_EFORMAT);
  assert_non_null(strstr(err.msg, "\"model\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_progress_csv_exact, teardown),
      cmocka_unit_test_teardown(test_resume_keeps_rows_up_to_checkpoint, teardown),
      cmocka_unit_test_teardown(test_resume_without_progress, teardown),
      cmocka_unit_test_teardown(test_config_env_and_model, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
