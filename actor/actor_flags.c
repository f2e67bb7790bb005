/* The actor's flag table (see actor_flags.h). */
#include "actor_flags.h"

#include "log.h"

#include <string.h>

void actor_cli_init(actor_cli_t *cli) {
  memset(cli, 0, sizeof *cli);
  actor_config_default(&cli->cfg);
}

size_t actor_flag_specs(actor_cli_t *cli, flag_spec_t *out) {
  actor_config_t *c = &cli->cfg;
  const flag_spec_t specs[] = {
      {"env", FLAG_STRING, &c->env_id, "ID", "environment id; must be the learner's; default Pendulum-v1", 0, 0, NULL},
      {"learner", FLAG_STRING, &c->learner_host, "HOST", "learner's host name or address; default 127.0.0.1", 0, 0, NULL},
      {"experience-port", FLAG_U32, &c->experience_port, "PORT", "learner's experience socket; default 5555", 1, 65535, NULL},
      {"weights-port", FLAG_U32, &c->weights_port, "PORT", "learner's weights socket; default 5556", 1, 65535, NULL},
      {"control-port", FLAG_U32, &c->control_port, "PORT", "learner's control socket; default 5557", 1, 65535, NULL},
      {"name", FLAG_STRING, &c->name, "NAME", "stable actor name (a restart with it gets its slot back); default HOST/0", 0, 0, NULL},
      {"envs-per-actor", FLAG_U32, &c->envs, "K", "env copies stepped together with one batched policy pass; default 1", 1, 1024, NULL},
      {"eval", FLAG_BOOL, &c->eval, NULL, "evaluator: deterministic episodes every eval-every run steps", 0, 0, NULL},
      {"heartbeat-ms", FLAG_U32, &c->heartbeat_ms, "MS", "heartbeat interval (it also paces sending); default 200", 10, 600000, NULL},
      {"learner-timeout-ms", FLAG_U32, &c->learner_timeout_ms, "MS", "register again after this long without an answer; default 5000", 100, 3600000, NULL},
      {"send-timeout-ms", FLAG_U32, &c->send_timeout_ms, "MS", "block this long on back-pressure before dropping a batch; default 30000", 0, 3600000, NULL},
      {"max-env-steps", FLAG_U64, &c->max_env_steps, "N", "exit after this many env steps (0: run until stopped)", 0, 1e15, NULL},
      {"model", FLAG_STRING, &c->env_opts.model_path, "PATH", "MuJoCo model file for the env", 0, 0, NULL},
      {"mujoco-assets", FLAG_STRING, &c->env_opts.assets_dir, "DIR", "directory with Gymnasium's MuJoCo model files", 0, 0, NULL},
      {"curve-key", FLAG_STRING, &c->curve_key, "FILE", "CURVE security: this actor's key file (td3d keygen); its .pub must be authorized by the learner", 0, 0, NULL},
      {"curve-server", FLAG_STRING, &c->curve_server, "FILE", "CURVE security: the learner's public key file (.pub), with --curve-key", 0, 0, NULL},
      {"log-level", FLAG_STRING, &cli->log_level, "LEVEL", "error, warn, info or debug", 0, 0, NULL},
  };
  memcpy(out, specs, sizeof specs);
  return sizeof specs / sizeof specs[0];
}

int actor_cli_finish(actor_cli_t *cli, td3_err_t *err) {
  if (cli->log_level) {
    log_level_t lv;
    if (log_level_parse(cli->log_level, &lv) != 0)
      return td3_err_set(err, TD3_EINVAL, "--log-level: '%s' is not one of error, warn, info, debug",
                         cli->log_level);
    log_set_level(lv);
  }
  return 0;
}
