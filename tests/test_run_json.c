/* Tests for learner/run_json: config.json's numbers read back as the "%.6g" / "%.9g" text
 * they always were, a non-finite target is null, a seed past JSON's integers stays a number,
 * and the td3 block lists every hidden layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "run_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* o dumped on one line the way run_json_dump writes numbers. */
static char *dump(const json_t *o) {
  return json_dumps(o, JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
}

static void numbers_as_before(void **state) {
  (void)state;
  struct {
    double x;
    int digits;
    const char *text;
  } cases[] = {{0.99f, 6, "0.99"},   {3e-4f, 6, "0.0003"}, {1.0, 6, "1"},
               {-200, 6, "-200"},     {0.005f, 6, "0.005"}, {-1.123456789f, 9, "-1.12345684"},
               {2.25f, 9, "2.25"},    {-1, 9, "-1"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *v = run_json_number(cases[i].x, cases[i].digits);
    char *t = dump(v);
    assert_string_equal(t, cases[i].text);
    free(t);
    json_decref(v);
  }
  json_t *v = run_json_number(1234567, 6); /* "1.23457e+06" before: the same value */
  assert_true(json_is_real(v) && json_real_value(v) == 1234570.0);
  json_decref(v);
  v = run_json_number(NAN, 6);
  assert_true(json_is_null(v));
  json_decref(v);
  v = run_json_u64(UINT64_MAX);
  assert_true(json_is_real(v));
  json_decref(v);
  v = run_json_u64(7);
  assert_true(json_is_integer(v) && json_integer_value(v) == 7);
  json_decref(v);
  v = run_json_string(NULL);
  assert_true(json_is_null(v));
  json_decref(v);
}

static void td3_block(void **state) {
  (void)state;
  td3_config_t t;
  td3_config_default(&t);
  t.n_hidden = 1;
  t.hidden[0] = 64;
  t.obs_dim = 3;
  t.act_dim = 1;
  json_t *o = json_object();
  run_json_td3(o, &t);
  char *s = json_dumps(o, JSON_REAL_PRECISION(9));
  assert_non_null(strstr(s, "\"hidden\": [64]"));
  assert_non_null(strstr(s, "\"gamma\": 0.99,"));
  assert_non_null(strstr(s, "\"policy_delay\": 2,"));
  free(s);
  char small[16], big[4096];
  assert_int_equal(run_json_dump(o, small, sizeof small), -1);
  assert_int_equal(run_json_dump(o, big, sizeof big), 0);
  assert_non_null(strstr(big, "\n  \"batch\": 256,\n"));
  json_t *back = json_loads(big, 0, NULL);
  assert_non_null(back);
  assert_true(json_equal(back, o));
  json_decref(back);
  json_decref(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(numbers_as_before),
      cmocka_unit_test(td3_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
