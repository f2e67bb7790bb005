/* The learner's configuration: the checks a run makes before it starts, what follows from it
 * (slot noise, experience frame limits, exposure) and config.json's text. Its defaults are the
 * rows of the flag table (learner_flags.c: learner_config_default). */
#include "learner_internal.h"

#include "env_mujoco.h"
#include "rundir.h"

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

/* Appends "external": {name, dims, bounds} to the JSON object in out (replacing its final
 * '}'); leaves out as it was when the bounds do not fit. */
static void external_json(const env_info_t *info, char *out, size_t cap) {
  size_t len = strlen(out);
  if (len < 2 || out[len - 1] != '}') return;
  size_t at = len - 2; /* before "\n}" */
  int n = snprintf(out + at, cap - at, ",\n  \"external\": {\"name\": \"%s\", \"obs_dim\": %u, "
                   "\"act_dim\": %u, \"action_low\": [", info->id, info->obs_dim, info->act_dim);
  for (int side = 0; side < 2 && n > 0 && at + (size_t)n < cap; side++) {
    const float *v = side ? info->action_high : info->action_low;
    if (side) n += snprintf(out + at + n, cap - at - (size_t)n, "], \"action_high\": [");
    for (uint32_t j = 0; j < info->act_dim && at + (size_t)n < cap; j++)
      n += snprintf(out + at + n, cap - at - (size_t)n, "%s%.9g", j ? ", " : "", (double)v[j]);
  }
  if (n > 0 && at + (size_t)n < cap) n += snprintf(out + at + n, cap - at - (size_t)n, "]}\n}");
  if (n < 0 || at + (size_t)n >= cap) memcpy(out + at, "\n}", 3); /* too long: left out */
}

void learner_config_json(const learner_config_t *c, const learner_t *l, char *out, size_t cap) {
  char target[32] = "null";
  if (isfinite(c->target_return)) snprintf(target, sizeof target, "%.6g", c->target_return);
  char preset[64] = "null";
  if (c->preset) snprintf(preset, sizeof preset, "\"%s\"", c->preset);
  const td3_config_t *t = td3_config(l->td3);
  char model[1024];  /* the model file the learner's env loaded, for `td3d eval` */
  rundir_json_path(env_mujoco_model_path(l->env), model, sizeof model);
  snprintf(out, cap,
           "{\n  \"mode\": \"distributed\",\n  \"preset\": %s,\n  \"run_id\": \"%016llx\",\n  \"env\": \"%s\",\n"
           "  \"model\": %s,\n"
           "  \"seed\": %llu,\n  \"steps\": %llu,\n  \"start_steps\": %llu,\n"
           "  \"target_return\": %s,\n  \"replay_capacity\": %zu,\n  \"replay_ratio\": %.6g,\n"
           "  \"max_lead\": %llu,\n  \"publish_every\": %u,\n  \"batch_steps\": %u,\n"
           "  \"noise\": \"%s\",\n  \"expl_noise\": %.6g,\n  \"noise_spread\": %s,\n"
           "  \"eval_every\": %llu,\n  \"eval_episodes\": %u,\n  \"batch\": %u,\n"
           "  \"gamma\": %.6g,\n  \"tau\": %.6g,\n  \"actor_lr\": %.6g,\n  \"critic_lr\": %.6g,\n"
           "  \"policy_noise\": %.6g,\n  \"noise_clip\": %.6g,\n  \"policy_delay\": %u,\n"
           "  \"hidden\": [%u%s%u],\n  \"obs_dim\": %u,\n  \"act_dim\": %u,\n"
           "  \"ports\": {\"experience\": %u, \"weights\": %u, \"control\": %u}\n}",
           preset, (unsigned long long)l->run_id, c->env_id, model, (unsigned long long)c->seed,
           (unsigned long long)c->steps, (unsigned long long)c->start_steps, target,
           replay_capacity(l->replay), c->replay_ratio, (unsigned long long)c->max_lead,
           c->publish_every, c->batch_steps, c->noise == LEARNER_NOISE_OU ? "ou" : "gaussian",
           c->expl_noise, c->noise_spread ? "true" : "false", (unsigned long long)c->eval_every,
           c->eval_episodes, t->batch, t->gamma, t->tau, t->actor_lr, t->critic_lr,
           t->policy_noise, t->noise_clip, t->policy_delay, t->hidden[0],
           t->n_hidden > 1 ? ", " : "", t->n_hidden > 1 ? t->hidden[1] : 0u, t->obs_dim,
           t->act_dim, c->experience_port, c->weights_port, c->control_port);
  if (t->n_hidden == 1) { /* one hidden layer: drop the second entry printed above */
    char *p = strstr(out, "\"hidden\": [");
    if (p) {
      char *q = strchr(p, ']');
      char *comma = strchr(p, ',');
      if (comma && q && comma < q) memmove(comma, q, strlen(q) + 1);
    }
  }
  if (learner_external_name(c->env_id)) external_json(l->info, out, cap);
}
