/* Tests for common/base/flags: command line over environment over defaults, value checks with
 * messages that name the flag or variable, --help, unknown options, positionals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flags.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
  uint64_t steps;
  uint32_t actors;
  double target;
  float lr;
  int serial;
  const char *env;
  flag_u32_list_t hidden;
  int target_seen;
} opts_t;

static size_t specs_for(opts_t *o, flag_spec_t *s) {
  size_t n = 0;
  s[n++] = (flag_spec_t){"steps", FLAG_U64, &o->steps, "N", "env steps", 1, 1e12, NULL, NULL, NULL};
  s[n++] = (flag_spec_t){"actors", FLAG_U32, &o->actors, "N", "actors", 0, 256, NULL, NULL, NULL};
  s[n++] = (flag_spec_t){"target-return", FLAG_DOUBLE, &o->target, "R", "stop at", -1e9, 1e9,
                         &o->target_seen, NULL, NULL};
  s[n++] = (flag_spec_t){"lr", FLAG_FLOAT, &o->lr, "X", "learning rate", 1e-8, 1, NULL, NULL, NULL};
  s[n++] = (flag_spec_t){"serial", FLAG_BOOL, &o->serial, NULL, "serial mode", 0, 0, NULL, NULL, NULL};
  s[n++] = (flag_spec_t){"env", FLAG_STRING, &o->env, "ID", "environment", 0, 0, NULL, NULL, NULL};
  s[n++] = (flag_spec_t){"hidden", FLAG_U32_LIST, &o->hidden, "N,N", "sizes", 1, 4096, NULL, NULL, NULL};
  return n;
}

static const flag_program_t prog = {"test [options]", "A test program.", NULL};

static int parse(opts_t *o, td3_err_t *err, int argc, char **argv) {
  flag_spec_t s[16];
  size_t n = specs_for(o, s);
  return flags_parse(s, n, &prog, argc, argv, NULL, 0, NULL, err);
}

static void clear_env(void) {
  unsetenv("TD3D_STEPS");
  unsetenv("TD3D_ACTORS");
  unsetenv("TD3D_TARGET_RETURN");
  unsetenv("TD3D_SERIAL");
  unsetenv("TD3D_HIDDEN");
}

static void defaults_env_and_cli(void **state) {
  (void)state;
  clear_env();
  opts_t o = {.steps = 100, .actors = 2, .target = -200, .lr = 3e-4f, .env = "Pendulum-v1"};
  td3_err_t err = {0};
  char *a0[] = {"test"};
  assert_int_equal(parse(&o, &err, 1, a0), 0);
  assert_int_equal(o.steps, 100);
  assert_int_equal(o.target_seen, 0);

  setenv("TD3D_STEPS", "5000", 1);
  setenv("TD3D_TARGET_RETURN", "-150.5", 1);
  setenv("TD3D_SERIAL", "yes", 1);
  setenv("TD3D_HIDDEN", "64,32", 1);
  assert_int_equal(parse(&o, &err, 1, a0), 0);
  assert_int_equal(o.steps, 5000);
  assert_true(o.target == -150.5);
  assert_int_equal(o.target_seen, 1);
  assert_int_equal(o.serial, 1);
  assert_int_equal(o.hidden.n, 2);
  assert_int_equal(o.hidden.v[1], 32);

  char *a1[] = {"test", "--steps", "1e6", "--actors=3", "--env", "Hopper-v4", "--lr", "0.001"};
  assert_int_equal(parse(&o, &err, 8, a1), 0);
  assert_int_equal(o.steps, 1000000); /* command line beats the environment */
  assert_int_equal(o.actors, 3);
  assert_string_equal(o.env, "Hopper-v4");
  assert_float_equal(o.lr, 0.001, 1e-9);

  /* an empty variable is as good as unset: the value before stays */
  setenv("TD3D_STEPS", "", 1);
  setenv("TD3D_TARGET_RETURN", "", 1);
  opts_t e = {.steps = 100, .target = -200};
  assert_int_equal(parse(&e, &err, 1, a0), 0);
  assert_int_equal(e.steps, 100);
  assert_int_equal(e.target_seen, 0);
  clear_env();
}

static void bad_values_named(void **state) {
  (void)state;
  clear_env();
  opts_t o = {0};
  td3_err_t err = {0};
  char *a1[] = {"test", "--steps", "abc"};
  assert_int_equal(parse(&o, &err, 3, a1), TD3_EINVAL);
  assert_string_equal(err.msg, "--steps: 'abc' is not a whole number");
  char *a2[] = {"test", "--steps", "-5"};
  assert_int_equal(parse(&o, &err, 3, a2), TD3_EINVAL);
  char *a3[] = {"test", "--steps", "0"};
  assert_int_equal(parse(&o, &err, 3, a3), TD3_ERANGE);
  assert_non_null(strstr(err.msg, "out of range"));
  char *a4[] = {"test", "--actors", "257"};
  assert_int_equal(parse(&o, &err, 3, a4), TD3_ERANGE);
  char *a5[] = {"test", "--target-return", "nan"};
  assert_int_equal(parse(&o, &err, 3, a5), TD3_EINVAL);
  char *a6[] = {"test", "--lr", "2"};
  assert_int_equal(parse(&o, &err, 3, a6), TD3_ERANGE);
  char *a7[] = {"test", "--hidden", "64,,32"};
  assert_int_equal(parse(&o, &err, 3, a7), TD3_EINVAL);
  char *a8[] = {"test", "--hidden", "64,0"};
  assert_int_equal(parse(&o, &err, 3, a8), TD3_ERANGE);
  char *a9[] = {"test", "--frobnicate"};
  assert_int_equal(parse(&o, &err, 2, a9), TD3_EINVAL);
  assert_string_equal(err.msg, "unknown option '--frobnicate' (see --help)");
  char *a10[] = {"test", "--steps"};
  assert_int_equal(parse(&o, &err, 2, a10), TD3_EINVAL);
  assert_non_null(strstr(err.msg, "needs a value"));
  char *a11[] = {"test", "stray"};
  assert_int_equal(parse(&o, &err, 2, a11), TD3_EINVAL);
  char *a12[] = {"test", "--steps", "12x"};
  assert_int_equal(parse(&o, &err, 3, a12), TD3_EINVAL);
  char *a13[] = {"test", "--env="};
  assert_int_equal(parse(&o, &err, 2, a13), TD3_EINVAL);

  setenv("TD3D_ACTORS", "many", 1);
  assert_int_equal(parse(&o, &err, 1, a1), TD3_EINVAL);
  assert_string_equal(err.msg, "TD3D_ACTORS: 'many' is not a whole number");
  setenv("TD3D_ACTORS", "2", 1);
  setenv("TD3D_SERIAL", "maybe", 1);
  assert_int_equal(parse(&o, &err, 1, a1), TD3_EINVAL);
  assert_non_null(strstr(err.msg, "TD3D_SERIAL"));
  clear_env();
}

static void help_and_positionals(void **state) {
  (void)state;
  clear_env();
  opts_t o = {0};
  td3_err_t err = {0};
  char *a1[] = {"test", "--steps", "5", "--help"};
  assert_int_equal(parse(&o, &err, 4, a1), 1);
  flag_spec_t s[16];
  size_t n = specs_for(&o, s);
  const char *pos[2];
  size_t npos = 0;
  char *a2[] = {"test", "host:9100", "--steps", "7"};
  assert_int_equal(flags_parse(s, n, &prog, 4, a2, pos, 2, &npos, &err), 0);
  assert_int_equal(npos, 1);
  assert_string_equal(pos[0], "host:9100");
  char env[64];
  flags_env_name("target-return", env, sizeof env);
  assert_string_equal(env, "TD3D_TARGET_RETURN");
}

/* A row's def is written by flags_defaults (not marking it seen) and shown by --help with
 * its note; a def that does not parse is an error naming the flag. */
static void defaults_from_rows(void **state) {
  (void)state;
  uint64_t steps = 0;
  const char *env = NULL;
  int seen = 0;
  flag_spec_t s[] = {
      {"steps", FLAG_U64, &steps, "N", "env steps", 1, 1e12, &seen, "1e6", "(or fewer)"},
      {"env", FLAG_STRING, &env, "ID", "environment", 0, 0, NULL, "Pendulum-v1", NULL},
  };
  td3_err_t err = {0};
  assert_int_equal(flags_defaults(s, 2, &err), 0);
  assert_int_equal(steps, 1000000);
  assert_string_equal(env, "Pendulum-v1");
  assert_int_equal(seen, 0);
  char buf[1024] = "";
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  assert_non_null(f);
  flags_usage(f, s, 2, &prog);
  fclose(f);
  assert_non_null(strstr(buf, "env steps; default 1e6 (or fewer) [TD3D_STEPS]"));
  assert_non_null(strstr(buf, "environment; default Pendulum-v1 [TD3D_ENV]"));
  s[0].def = "0"; /* below min 1 */
  assert_int_equal(flags_defaults(s, 2, &err), TD3_ERANGE);
  assert_non_null(strstr(err.msg, "the default of --steps"));
}

static const char *format(const flag_spec_t *f) {
  static char buf[128];
  assert_int_equal(flags_format(f, buf, sizeof buf), 0);
  return buf;
}

/* flags_format writes the shortest number that reads back as the stored value (the flags a
 * run stores and `td3d checkpoint` shows): --gamma=0.99, not the float's 0.99000001. */
static void format_shortest_numbers(void **state) {
  (void)state;
  opts_t o = {.steps = 1000000, .actors = 3, .target = 0.1, .lr = 0.99f, .serial = 1,
              .env = "Pendulum-v1", .hidden = {.n = 2, .v = {400, 300}}};
  flag_spec_t s[16];
  specs_for(&o, s);
  const flag_spec_t *steps = &s[0], *actors = &s[1], *target = &s[2], *lr = &s[3];
  assert_string_equal(format(lr), "--lr=0.99");
  o.lr = 3e-4f;
  assert_string_equal(format(lr), "--lr=0.0003");
  o.lr = 0.005f;
  assert_string_equal(format(lr), "--lr=0.005");
  o.lr = 1e-8f;
  assert_string_equal(format(lr), "--lr=1e-08");
  o.lr = 1.0f / 3.0f; /* no shorter text reads back as this float */
  assert_string_equal(format(lr), "--lr=0.33333334");
  assert_string_equal(format(target), "--target-return=0.1");
  o.target = -200;
  assert_string_equal(format(target), "--target-return=-200"); /* not -2e+02 */
  o.target = 1e6;
  assert_string_equal(format(target), "--target-return=1000000");
  o.target = 0.1 + 0.2; /* a double that needs all its digits */
  assert_string_equal(format(target), "--target-return=0.30000000000000004");
  o.target = NAN; /* no value: not written */
  char buf[64];
  assert_int_equal(flags_format(target, buf, sizeof buf), 1);
  assert_string_equal(format(steps), "--steps=1000000");
  assert_string_equal(format(actors), "--actors=3");
  assert_string_equal(format(&s[4]), "--serial=1");
  assert_string_equal(format(&s[5]), "--env=Pendulum-v1");
  assert_string_equal(format(&s[6]), "--hidden=400,300");
  /* every formatted value parses back to the same number */
  for (float x = 1e-6f; x < 1e6f; x *= 1.37f) {
    o.lr = x;
    const char *t = format(lr) + strlen("--lr=");
    assert_true(strtof(t, NULL) == x);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_env_and_cli),
      cmocka_unit_test(bad_values_named),
      cmocka_unit_test(help_and_positionals),
      cmocka_unit_test(defaults_from_rows),
      cmocka_unit_test(format_shortest_numbers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
