/* The learner's flag table (see learner_flags.h). */
#include "learner_flags.h"

#include "log.h"
#include "serial.h"
#include "status.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void learner_cli_init(learner_cli_t *cli) {
  memset(cli, 0, sizeof *cli);
  learner_config_default(&cli->cfg);
  cli->hidden = (flag_u32_list_t){2, {256, 256}};
  cli->replay_capacity = cli->cfg.replay_capacity;
  cli->threads = 0;
  cli->noise = "gaussian";
  cli->cfg.status_bind = STATUS_DEFAULT_BIND;
}

size_t learner_flag_specs(learner_cli_t *cli, flag_spec_t *out) {
  learner_config_t *c = &cli->cfg;
  td3_config_t *t = &c->td3;
  const flag_spec_t specs[] = {
      {"env", FLAG_STRING, &c->env_id, "ID", "environment id (td3d envs lists them); default Pendulum-v1", 0, 0, NULL},
      {"seed", FLAG_U64, &c->seed, "S", "run seed; default 0", 0, 1.8e19, NULL},
      {"steps", FLAG_U64, &c->steps, "N", "env step budget (transitions); default 1000000", 1, 1e12, NULL},
      {"target-return", FLAG_DOUBLE, &c->target_return, "R", "stop once an evaluation's mean return reaches R", -1e12, 1e12, NULL},
      {"out", FLAG_STRING, &c->out_dir, "DIR", "run directory (config, progress.csv, curve.svg, policy.td3p)", 0, 0, NULL},
      {"overwrite", FLAG_BOOL, &c->overwrite, NULL, "reuse an --out directory that holds a run", 0, 0, NULL},
      {"start-steps", FLAG_U64, &c->start_steps, "N", "random-action steps first; default 25000 (1000 for Pendulum, InvertedPendulum, Reacher)", 0, 1e12, &cli->start_seen},
      {"eval-every", FLAG_U64, &c->eval_every, "N", "env steps between evaluations; default 5000", 1, 1e12, NULL},
      {"eval-episodes", FLAG_U32, &c->eval_episodes, "N", "deterministic episodes per evaluation; default 10", 1, 1000, NULL},
      {"replay-capacity", FLAG_U64, &cli->replay_capacity, "N", "replay buffer transitions; default 1000000", 1, 1e10, NULL},
      {"replay-ratio", FLAG_DOUBLE, &c->replay_ratio, "X", "TD3 updates per inserted transition; default 1", 1e-3, 1e3, NULL},
      {"max-lead", FLAG_U64, &c->max_lead, "N", "transitions the data may run ahead of training; default 1000", 1, 1e9, NULL},
      {"publish-every", FLAG_U32, &c->publish_every, "N", "updates between weight broadcasts; default 10", 1, 1000000, NULL},
      {"batch-steps", FLAG_U32, &c->batch_steps, "N", "transitions per experience message; default 32", 1, 65536, NULL},
      {"expl-noise", FLAG_FLOAT, &c->expl_noise, "X", "actors' Gaussian noise std, fraction of the half action range; default 0.1", 0, 10, NULL},
      {"noise", FLAG_STRING, &cli->noise, "KIND", "exploration noise: gaussian (default) or ou (Ornstein-Uhlenbeck)", 0, 0, NULL},
      {"noise-spread", FLAG_BOOL, &c->noise_spread, NULL, "Ape-X style: slot sigmas log-spread from --noise-max down to --noise-min", 0, 0, NULL},
      {"noise-min", FLAG_FLOAT, &c->noise_min, "X", "smallest sigma with --noise-spread; default 0.02", 0, 10, NULL},
      {"noise-max", FLAG_FLOAT, &c->noise_max, "X", "largest sigma with --noise-spread; default 0.4", 0, 10, NULL},
      {"ou-sigma", FLAG_FLOAT, &c->ou_sigma, "X", "OU noise sigma, fraction of the half range; default 0.5", 0, 10, NULL},
      {"ou-theta", FLAG_FLOAT, &c->ou_theta, "X", "OU mean reversion; default 0.15", 0, 100, NULL},
      {"ou-dt", FLAG_FLOAT, &c->ou_dt, "X", "OU time step; default 0.01", 1e-6, 10, NULL},
      {"hidden", FLAG_U32_LIST, &cli->hidden, "N,N", "hidden layer sizes of all networks; default 256,256", 1, 4096, NULL},
      {"batch", FLAG_U32, &t->batch, "N", "minibatch size; default 256", 1, 65536, NULL},
      {"actor-lr", FLAG_FLOAT, &t->actor_lr, "X", "actor Adam learning rate; default 3e-4", 1e-9, 1, NULL},
      {"critic-lr", FLAG_FLOAT, &t->critic_lr, "X", "critic Adam learning rate; default 3e-4", 1e-9, 1, NULL},
      {"gamma", FLAG_FLOAT, &t->gamma, "X", "discount; default 0.99", 0, 1, NULL},
      {"tau", FLAG_FLOAT, &t->tau, "X", "Polyak rate of the targets; default 0.005", 1e-9, 1, NULL},
      {"policy-noise", FLAG_FLOAT, &t->policy_noise, "X", "target smoothing std, fraction of half range; default 0.2", 0, 10, NULL},
      {"noise-clip", FLAG_FLOAT, &t->noise_clip, "X", "target smoothing clip, fraction of half range; default 0.5", 0, 10, NULL},
      {"policy-delay", FLAG_U32, &t->policy_delay, "N", "critic updates per actor update; default 2", 1, 1000, NULL},
      {"threads", FLAG_U32, &cli->threads, "N", "OpenBLAS threads for training; default 0 = one per CPU (at most 8)", 0, 64, NULL},
      {"bind", FLAG_STRING, &c->bind_host, "ADDR", "address the learner's sockets bind; default * (all)", 0, 0, NULL},
      {"experience-port", FLAG_U32, &c->experience_port, "PORT", "experience socket; default 5555", 1, 65535, NULL},
      {"weights-port", FLAG_U32, &c->weights_port, "PORT", "weights socket; default 5556", 1, 65535, NULL},
      {"control-port", FLAG_U32, &c->control_port, "PORT", "control socket; default 5557", 1, 65535, NULL},
      {"max-actors", FLAG_U32, &c->max_actors, "N", "actor slots; default 64", 1, 4096, NULL},
      {"lease-ms", FLAG_U32, &c->lease_ms, "MS", "an actor silent this long loses its lease; default 5000", 100, 3600000, NULL},
      {"model", FLAG_STRING, &c->env_opts.model_path, "PATH", "MuJoCo model file for the env", 0, 0, NULL},
      {"mujoco-assets", FLAG_STRING, &c->env_opts.assets_dir, "DIR", "directory with Gymnasium's MuJoCo model files", 0, 0, NULL},
      {"status-bind", FLAG_STRING, &c->status_bind, "HOST:PORT", "status server (/, /metrics, /status, /healthz); default 127.0.0.1:9100, off for none", 0, 0, NULL},
      {"log-level", FLAG_STRING, &cli->log_level, "LEVEL", "error, warn, info or debug", 0, 0, NULL},
  };
  size_t n = sizeof specs / sizeof specs[0];
  memcpy(out, specs, sizeof specs);
  return n;
}

int learner_cli_finish(learner_cli_t *cli, td3_err_t *err) {
  learner_config_t *c = &cli->cfg;
  if (cli->hidden.n > NN_MAX_LAYERS - 2)
    return td3_err_set(err, TD3_EINVAL, "--hidden: at most %d hidden layers", NN_MAX_LAYERS - 2);
  c->td3.n_hidden = cli->hidden.n;
  memcpy(c->td3.hidden, cli->hidden.v, cli->hidden.n * sizeof cli->hidden.v[0]);
  c->replay_capacity = (size_t)cli->replay_capacity;
  if (!cli->start_seen) c->start_steps = serial_default_start_steps(c->env_id);
  if (strcmp(cli->noise, "gaussian") == 0) c->noise = LEARNER_NOISE_GAUSSIAN;
  else if (strcmp(cli->noise, "ou") == 0) c->noise = LEARNER_NOISE_OU;
  else return td3_err_set(err, TD3_EINVAL, "--noise: '%s' is not gaussian or ou", cli->noise);
  if (c->noise_spread && !(c->noise_min > 0 && c->noise_min <= c->noise_max))
    return td3_err_set(err, TD3_EINVAL, "--noise-min must be > 0 and <= --noise-max");
  if (cli->threads == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cli->threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (uint32_t)cpus;
  }
  if (c->status_bind && strcmp(c->status_bind, "off") != 0) {
    char host[128];
    unsigned port;
    if (status_parse_bind(c->status_bind, host, sizeof host, &port, err) != 0) return err->code;
  }
  if (cli->log_level) {
    log_level_t lv;
    if (log_level_parse(cli->log_level, &lv) != 0)
      return td3_err_set(err, TD3_EINVAL, "--log-level: '%s' is not one of error, warn, info, debug",
                         cli->log_level);
    log_set_level(lv);
  }
  return 0;
}

void learner_cli_default_out(const learner_cli_t *cli, char *out, size_t cap) {
  char id[96];
  snprintf(id, sizeof id, "%s", cli->cfg.env_id);
  for (char *p = id; *p; p++)
    if (*p == '/' || *p == ':' || *p == ' ') *p = '_';
  snprintf(out, cap, "runs/%s-seed%llu", id, (unsigned long long)cli->cfg.seed);
}
