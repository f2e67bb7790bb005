/* The learner's configuration: the checks a run makes before it starts, what follows from it
 * (slot noise, experience frame limits, exposure) and config.json's text. Its defaults are the
 * rows of the flag table (learner_flags.c: learner_config_default). */
#include "learner_internal.h"

#include "run_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *learner_external_name(const char *env_id) {
  size_t k = sizeof LEARNER_EXTERNAL_PREFIX - 1;
  return env_id && strncmp(env_id, LEARNER_EXTERNAL_PREFIX, k) == 0 ? env_id + k : NULL;
}

int learner_config_check(const learner_config_t *c, td3_err_t *err) {
  const learner_external_t *x = &c->external;
  if (learner_external_name(c->env_id) &&
      (!x->obs_dim || x->obs_dim > ENV_MAX_DIM || !x->act_dim || x->act_dim > ENV_MAX_DIM ||
       !x->action_low || !x->action_high))
    return td3_err_set(err, TD3_EINVAL, "%s: an external env needs its dims (1..%d) and "
                       "action bounds", c->env_id, ENV_MAX_DIM);
  if (c->publish_every == 0 || c->batch_steps == 0 || c->eval_episodes == 0 ||
      !(c->replay_ratio >= 0))
    return td3_err_set(err, TD3_EINVAL,
                       "publish_every, batch_steps and eval_episodes must be positive, "
                       "replay_ratio not negative");
  if (c->resume_dir && c->out_dir && strcmp(c->resume_dir, c->out_dir) != 0)
    return td3_err_set(err, TD3_EINVAL,
                       "--resume %s continues the run in that directory; --out %s names another",
                       c->resume_dir, c->out_dir);
  if (!(c->checkpoint_every >= 0))
    return td3_err_set(err, TD3_EINVAL, "checkpoint_every must be 0 or more seconds");
  return learner_exposure_check(c, err);
}

float learner_slot_sigma(const learner_config_t *c, uint32_t slot) {
  if (c->noise == LEARNER_NOISE_OU) return c->ou_sigma;
  if (!c->noise_spread) return c->expl_noise;
  /* log-uniform from noise_max (position 0) down to noise_min (position 7), repeating */
  double p = (double)(slot % 8) / 7.0;
  return (float)(c->noise_max * pow(c->noise_min / c->noise_max, p));
}

uint32_t learner_batch_rows(const learner_config_t *c) {
  uint64_t rows = (uint64_t)c->batch_steps + WIRE_MAX_ENVS;
  return rows > WIRE_DEFAULT_MAX_BATCH ? WIRE_DEFAULT_MAX_BATCH : (uint32_t)rows;
}

size_t learner_frame_limit(const learner_config_t *c, uint32_t obs_dim, uint32_t act_dim) {
  /* the columns (obs, action, reward, next obs, terminal) as float32, their protobuf framing,
   * the header fields and the episode ends an actor may report with a batch */
  size_t row = (2 * (size_t)obs_dim + act_dim + 2) * sizeof(float) + 2 * sizeof(float);
  return (size_t)learner_batch_rows(c) * row + 65536;
}

int learner_bind_is_loopback(const char *host) {
  if (!host) return 0;
  if (strncmp(host, "127.", 4) == 0) return strspn(host + 4, "0123456789.") == strlen(host + 4);
  return strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0 ||
         strcmp(host, "localhost") == 0 || strcmp(host, "lo") == 0;
}

int learner_exposure_check(const learner_config_t *c, td3_err_t *err) {
  if (c->curve_key || c->insecure || learner_bind_is_loopback(c->bind_host)) return 0;
  return td3_err_set(err, TD3_EINVAL,
                     "the learner's sockets would bind %s without CURVE: anyone who reaches "
                     "ports %u-%u could join, send experience and read the weights. Give it "
                     "keys (td3d keygen; --curve-key and --curve-authorized), bind loopback "
                     "(--bind 127.0.0.1), or pass --insecure (TD3D_INSECURE=1) to run open on "
                     "purpose",
                     c->bind_host ? c->bind_host : "(none)", c->experience_port,
                     c->control_port);
}

/* "external": {name, obs_dim, act_dim, action_low, action_high} of an external env. */
static json_t *external_json(const env_info_t *info) {
  json_t *x = json_object(), *low = json_array(), *high = json_array();
  for (uint32_t j = 0; j < info->act_dim; j++) {
    json_array_append_new(low, run_json_number(info->action_low[j], 9));
    json_array_append_new(high, run_json_number(info->action_high[j], 9));
  }
  json_object_set_new(x, "name", run_json_string(info->id));
  json_object_set_new(x, "obs_dim", json_integer(info->obs_dim));
  json_object_set_new(x, "act_dim", json_integer(info->act_dim));
  json_object_set_new(x, "action_low", low);
  json_object_set_new(x, "action_high", high);
  return x;
}

void learner_config_json(const learner_config_t *c, const learner_t *l, char *out, size_t cap) {
  const td3_config_t *t = td3_config(l->td3);
  char run_id[17];
  snprintf(run_id, sizeof run_id, "%016llx", (unsigned long long)l->run_id);
  json_t *o = json_object();
  json_object_set_new(o, "mode", json_string("distributed"));
  json_object_set_new(o, "preset", run_json_string(c->preset));
  json_object_set_new(o, "run_id", json_string(run_id));
  json_object_set_new(o, "env", run_json_string(c->env_id));
  json_object_set_new(o, "model", run_json_model(l->env)); /* for `td3d eval` */
  json_object_set_new(o, "seed", run_json_u64(c->seed));
  json_object_set_new(o, "steps", run_json_u64(c->steps));
  json_object_set_new(o, "start_steps", run_json_u64(c->start_steps));
  json_object_set_new(o, "target_return", run_json_number(c->target_return, 6));
  json_object_set_new(o, "replay_capacity", run_json_u64(replay_capacity(l->replay)));
  json_object_set_new(o, "replay_ratio", run_json_number(c->replay_ratio, 6));
  json_object_set_new(o, "max_lead", run_json_u64(c->max_lead));
  json_object_set_new(o, "publish_every", json_integer(c->publish_every));
  json_object_set_new(o, "batch_steps", json_integer(c->batch_steps));
  json_object_set_new(o, "noise", json_string(c->noise == LEARNER_NOISE_OU ? "ou" : "gaussian"));
  json_object_set_new(o, "expl_noise", run_json_number(c->expl_noise, 6));
  json_object_set_new(o, "noise_spread", json_boolean(c->noise_spread));
  json_object_set_new(o, "eval_every", run_json_u64(c->eval_every));
  json_object_set_new(o, "eval_episodes", json_integer(c->eval_episodes));
  run_json_td3(o, t);
  json_t *ports = json_object();
  json_object_set_new(ports, "experience", json_integer(c->experience_port));
  json_object_set_new(ports, "weights", json_integer(c->weights_port));
  json_object_set_new(ports, "control", json_integer(c->control_port));
  json_object_set_new(o, "ports", ports);
  int dumped = -1;
  if (learner_external_name(c->env_id)) {
    json_object_set_new(o, "external", external_json(l->info));
    dumped = run_json_dump(o, out, cap);
    json_object_del(o, "external"); /* too long (thousands of bounds): left out */
  }
  if (dumped != 0 && run_json_dump(o, out, cap) != 0) snprintf(out, cap, "{}");
  json_decref(o);
}
