/* Building blocks of config.json (see run_json.h). */
#include "run_json.h"

#include "env_mujoco.h"
#include "rundir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *run_json_number(double x, int digits) {
  if (!isfinite(x)) return json_null();
  char text[48];
  snprintf(text, sizeof text, "%.*g", digits, x);
  json_t *v = json_loads(text, JSON_DECODE_ANY, NULL); /* integer or real, as a reader sees it */
  return v ? v : json_real(strtod(text, NULL));         /* an integer beyond JSON's range */
}

json_t *run_json_u64(uint64_t v) {
  return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

json_t *run_json_string(const char *s) {
  json_t *v = s ? json_string(s) : NULL;
  return v ? v : json_null();
}

json_t *run_json_model(const env_t *env) {
  char text[4200]; /* a JSON string of a path up to PATH_MAX, or null */
  rundir_json_path(env_mujoco_model_path(env), text, sizeof text);
  json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
  return v ? v : json_null();
}

void run_json_td3(json_t *o, const td3_config_t *t) {
  json_object_set_new(o, "batch", json_integer(t->batch));
  json_object_set_new(o, "gamma", run_json_number(t->gamma, 6));
  json_object_set_new(o, "tau", run_json_number(t->tau, 6));
  json_object_set_new(o, "actor_lr", run_json_number(t->actor_lr, 6));
  json_object_set_new(o, "critic_lr", run_json_number(t->critic_lr, 6));
  json_object_set_new(o, "policy_noise", run_json_number(t->policy_noise, 6));
  json_object_set_new(o, "noise_clip", run_json_number(t->noise_clip, 6));
  json_object_set_new(o, "policy_delay", json_integer(t->policy_delay));
  json_t *hidden = json_array();
  for (uint32_t i = 0; i < t->n_hidden; i++) json_array_append_new(hidden, json_integer(t->hidden[i]));
  json_object_set_new(o, "hidden", hidden);
  json_object_set_new(o, "obs_dim", json_integer(t->obs_dim));
  json_object_set_new(o, "act_dim", json_integer(t->act_dim));
}

int run_json_dump(const json_t *o, char *out, size_t cap) {
  /* 9 digits: a "%.6g" value and a float bound read back as the same text. Indented, or on
   * one line when that does not fit (an external env's thousands of bounds). */
  const size_t styles[] = {JSON_INDENT(2), 0};
  for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
    size_t flags = styles[i] | JSON_REAL_PRECISION(9);
    size_t need = json_dumpb(o, NULL, 0, flags);
    if (need == 0 || need >= cap) continue;
    json_dumpb(o, out, cap, flags);
    out[need] = '\0';
    return 0;
  }
  return -1;
}
