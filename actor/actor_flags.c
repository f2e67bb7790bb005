/* The actor's flag table (see actor_flags.h). Its rows carry the defaults: actor_config_default
 * reads them too. */
#include "actor_flags.h"

#include "cluster_flags.h"

#include <assert.h>
#include <string.h>

void actor_cli_init(actor_cli_t *cli) {
  memset(cli, 0, sizeof *cli);
  flag_spec_t specs[ACTOR_MAX_FLAGS];
  size_t n = actor_flag_specs(cli, specs);
  td3_err_t err = {0};
  int rc = flags_defaults(specs, n, &err);
  assert(rc == 0 && "a default in the actor's flag table does not parse");
  (void)rc;
}

void actor_config_default(actor_config_t *c) {
  actor_cli_t cli;
  actor_cli_init(&cli);
  *c = cli.cfg;
}

size_t actor_flag_specs(actor_cli_t *cli, flag_spec_t *out) {
  actor_config_t *c = &cli->cfg;
  const flag_spec_t specs[] = {
      cluster_flag_env(&c->env_id, "environment id; must be the learner's"),
      {"learner", FLAG_STRING, &c->learner_host, "HOST", "learner's host name or address", 0, 0, NULL, "127.0.0.1", NULL},
      cluster_flag_port(CLUSTER_PORT_EXPERIENCE, &c->experience_port),
      cluster_flag_port(CLUSTER_PORT_WEIGHTS, &c->weights_port),
      cluster_flag_port(CLUSTER_PORT_CONTROL, &c->control_port),
      {"name", FLAG_STRING, &c->name, "NAME", "stable actor name (a restart with it gets its slot back); default HOST/0", 0, 0, NULL, NULL, NULL},
      cluster_flag_envs_per_actor(&c->envs),
      {"eval", FLAG_BOOL, &c->eval, NULL, "evaluator: deterministic episodes every eval-every run steps", 0, 0, NULL, NULL, NULL},
      {"heartbeat-ms", FLAG_U32, &c->heartbeat_ms, "MS", "heartbeat interval (it also paces sending)", 10, 600000, NULL, "200", NULL},
      {"learner-timeout-ms", FLAG_U32, &c->learner_timeout_ms, "MS", "register again after this long without an answer", 100, 3600000, NULL, "5000", NULL},
      {"send-timeout-ms", FLAG_U32, &c->send_timeout_ms, "MS", "block this long on back-pressure before dropping a batch", 0, 3600000, NULL, "30000", NULL},
      {"max-env-steps", FLAG_U64, &c->max_env_steps, "N", "exit after this many env steps (0: run until stopped)", 0, 1e15, NULL, NULL, NULL},
      cluster_flag_model(&c->env_opts.model_path),
      cluster_flag_mujoco_assets(&c->env_opts.assets_dir),
      {"curve-key", FLAG_STRING, &c->curve_key, "FILE", "CURVE security: this actor's key file (td3d keygen); its .pub must be authorized by the learner", 0, 0, NULL, NULL, NULL},
      {"curve-server", FLAG_STRING, &c->curve_server, "FILE", "CURVE security: the learner's public key file (.pub), with --curve-key", 0, 0, NULL, NULL, NULL},
      {"eval-token-file", FLAG_STRING, &c->eval_token_file, "FILE", "with --eval: the learner's evaluator token (its --eval-token-file; mode 0600), without which it refuses this evaluator", 0, 0, NULL, NULL, NULL},
      cluster_flag_log_level(&cli->log_level),
  };
  _Static_assert(sizeof specs / sizeof specs[0] <= ACTOR_MAX_FLAGS, "raise ACTOR_MAX_FLAGS");
  memcpy(out, specs, sizeof specs);
  return sizeof specs / sizeof specs[0];
}

int actor_cli_finish(actor_cli_t *cli, td3_err_t *err) {
  return cluster_log_level_apply(cli->log_level, err);
}
