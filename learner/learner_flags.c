/* The learner's flag table (see learner_flags.h). Its rows carry the defaults, which
 * learner_config_default reads too; the hyperparameters a preset governs take theirs from
 * the default preset (preset.c). */
#include "learner_flags.h"

#include "cluster_flags.h"
#include "log.h"
#include "preset.h"
#include "status.h"

#include "checkpoint.h"
#include "xalloc.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The preset-governed rows' defaults (hidden sizes, batch, learning rates, start steps,
 * evaluation episodes) as
 * text, from the default preset, and notes naming the other presets' values: preset.c stays
 * their one source. */
static void preset_defaults_text(learner_cli_t *cli) {
  learner_preset_text_t *d = &cli->preset_text;
  const preset_t *p = preset_find(PRESET_DEFAULT);
  snprintf(d->hidden, sizeof d->hidden, "%u,%u", p->hidden[0], p->hidden[1]);
  snprintf(d->batch, sizeof d->batch, "%u", p->batch);
  snprintf(d->lr, sizeof d->lr, "%g", (double)p->lr);
  snprintf(d->start, sizeof d->start, "%llu", (unsigned long long)p->start_steps);
  size_t nh = 0, nb = 0, nl = 0;
  d->hidden_note[0] = d->batch_note[0] = d->lr_note[0] = '\0';
  for (size_t i = 0; (p = preset_at(i)) != NULL; i++) {
    if (strcmp(p->name, PRESET_DEFAULT) == 0) continue;
    const char *sep = nh ? ", " : "(";
    nh += (size_t)snprintf(d->hidden_note + nh, sizeof d->hidden_note - nh, "%s%s: %u,%u", sep,
                           p->name, p->hidden[0], p->hidden[1]);
    nb += (size_t)snprintf(d->batch_note + nb, sizeof d->batch_note - nb, "%s%s: %u", sep,
                           p->name, p->batch);
    nl += (size_t)snprintf(d->lr_note + nl, sizeof d->lr_note - nl, "%s%s: %g", sep, p->name,
                           (double)p->lr);
  }
  if (nh) {
    strncat(d->hidden_note, ")", sizeof d->hidden_note - strlen(d->hidden_note) - 1);
    strncat(d->batch_note, ")", sizeof d->batch_note - strlen(d->batch_note) - 1);
    strncat(d->lr_note, ")", sizeof d->lr_note - strlen(d->lr_note) - 1);
  }
  snprintf(d->eval, sizeof d->eval, "%u", preset_eval_episodes(NULL));
  snprintf(d->eval_note, sizeof d->eval_note, "(%u for %s)", preset_eval_episodes(CLUSTER_DEFAULT_ENV),
           CLUSTER_DEFAULT_ENV);
  p = preset_find(PRESET_DEFAULT);
  size_t ns = (size_t)snprintf(d->start_note, sizeof d->start_note,
                               "(the preset's for the env; %s: %llu for", p->name,
                               (unsigned long long)p->start_listed);
  for (const char *const *e = p->listed_envs; *e && ns < sizeof d->start_note; e++)
    ns += (size_t)snprintf(d->start_note + ns, sizeof d->start_note - ns, "%s %s",
                           e == p->listed_envs ? "" : ",", *e);
  if (ns < sizeof d->start_note) snprintf(d->start_note + ns, sizeof d->start_note - ns, ")");
}

/* Moves the values the table holds in cli's own fields (hidden sizes, replay capacity, noise
 * kind) into cli->cfg. Returns 0 or TD3_EINVAL with err naming the flag. */
static int cli_values_to_config(learner_cli_t *cli, td3_err_t *err) {
  learner_config_t *c = &cli->cfg;
  if (cli->hidden.n > NN_MAX_LAYERS - 2)
    return td3_err_set(err, TD3_EINVAL, "--hidden: at most %d hidden layers", NN_MAX_LAYERS - 2);
  c->td3.n_hidden = cli->hidden.n;
  memcpy(c->td3.hidden, cli->hidden.v, cli->hidden.n * sizeof cli->hidden.v[0]);
  c->replay_capacity = (size_t)cli->replay_capacity;
  if (strcmp(cli->noise, "gaussian") == 0) c->noise = LEARNER_NOISE_GAUSSIAN;
  else if (strcmp(cli->noise, "ou") == 0) c->noise = LEARNER_NOISE_OU;
  else return td3_err_set(err, TD3_EINVAL, "--noise: '%s' is not gaussian or ou", cli->noise);
  return 0;
}

void learner_cli_init(learner_cli_t *cli) {
  memset(cli, 0, sizeof *cli);
  learner_config_t *c = &cli->cfg;
  td3_config_default(&c->td3); /* what no flag sets: Adam's constants */
  c->target_return = NAN;      /* never: no flag value means it */
  c->progress = 1;
  flag_spec_t specs[LEARNER_MAX_FLAGS];
  size_t n = learner_flag_specs(cli, specs);
  td3_err_t err = {0};
  int rc = flags_defaults(specs, n, &err);
  if (rc == 0) rc = cli_values_to_config(cli, &err);
  assert(rc == 0 && "a default in the learner's flag table does not parse");
  (void)rc;
}

void learner_config_default(learner_config_t *c) {
  learner_cli_t cli;
  learner_cli_init(&cli);
  *c = cli.cfg;
  c->status_bind = NULL; /* a learner in a test or a bench serves no status page unless asked */
}

size_t learner_flag_specs(learner_cli_t *cli, flag_spec_t *out) {
  learner_config_t *c = &cli->cfg;
  td3_config_t *t = &c->td3;
  learner_preset_text_t *p = &cli->preset_text;
  preset_defaults_text(cli);
  const flag_spec_t specs[] = {
      cluster_flag_env(&c->env_id, "environment id (td3d envs lists them); external:NAME for an env the actors bring (clients/python/), with --obs-dim, --act-dim, --action-low, --action-high"),
      {"obs-dim", FLAG_U32, &c->external.obs_dim, "N", "--env external:NAME: the observation size", 0, 4096, NULL, NULL, NULL},
      {"act-dim", FLAG_U32, &c->external.act_dim, "M", "--env external:NAME: the action size", 0, 4096, NULL, NULL, NULL},
      {"action-low", FLAG_STRING, &cli->action_low, "X[,X..]", "--env external:NAME: the action lower bounds, one for all dimensions or one each", 0, 0, NULL, NULL, NULL},
      {"action-high", FLAG_STRING, &cli->action_high, "X[,X..]", "--env external:NAME: the action upper bounds, one for all dimensions or one each", 0, 0, NULL, NULL, NULL},
      {"preset", FLAG_STRING, &c->preset, "NAME", "defaults of the hyperparameters: " PRESET_DEFAULT " (default) or td3-paper (td3d presets); flags given still win", 0, 0, NULL, NULL, NULL},
      {"seed", FLAG_U64, &c->seed, "S", "run seed", 0, 1.8e19, NULL, "0", NULL},
      {"steps", FLAG_U64, &c->steps, "N", "env step budget (transitions)", 1, 1e12, NULL, "1000000", NULL},
      {"target-return", FLAG_DOUBLE, &c->target_return, "R", "stop once an evaluation's mean return reaches R (an evaluator's report once the learner's own evaluation agrees)", -1e12, 1e12, NULL, NULL, NULL},
      {"out", FLAG_STRING, &c->out_dir, "DIR", "run directory (config, progress.csv, curve.svg, policy.td3p)", 0, 0, NULL, NULL, NULL},
      {"overwrite", FLAG_BOOL, &c->overwrite, NULL, "reuse an --out directory that holds a run", 0, 0, NULL, NULL, NULL},
      {"start-steps", FLAG_U64, &c->start_steps, "N", "random-action steps first", 0, 1e12, NULL, p->start, p->start_note},
      {"eval-every", FLAG_U64, &c->eval_every, "N", "env steps between evaluations", 1, 1e12, NULL, "5000", NULL},
      {"eval-episodes", FLAG_U32, &c->eval_episodes, "N", "deterministic episodes per evaluation", 1, 1000, NULL, p->eval, p->eval_note},
      {"replay-capacity", FLAG_U64, &cli->replay_capacity, "N", "replay buffer transitions", 1, 1e10, NULL, "1000000", NULL},
      {"replay-ratio", FLAG_DOUBLE, &c->replay_ratio, "X", "TD3 updates per inserted transition", 1e-3, 1e3, NULL, "1", NULL},
      {"max-lead", FLAG_U64, &c->max_lead, "N", "transitions the data may run ahead of training (at least one training batch: the actors act at most about that many updates behind)", 1, 1e9, NULL, "64", NULL},
      {"publish-every", FLAG_U32, &c->publish_every, "N", "updates between weight broadcasts", 1, 1000000, NULL, "10", NULL},
      {"weights-budget", FLAG_DOUBLE, &c->weights_budget_mb, "MB/S", "megabytes per second the weights broadcast may take over all actors (each gets every broadcast; the next waits until they fit); 0 = no limit", 0, 1e6, NULL, "200", NULL},
      {"batch-steps", FLAG_U32, &c->batch_steps, "N", "transitions per experience message", 1, 65536, NULL, "32", NULL},
      {"expl-noise", FLAG_FLOAT, &c->expl_noise, "X", "actors' Gaussian noise std, fraction of the half action range", 0, 10, NULL, "0.1", NULL},
      {"noise", FLAG_STRING, &cli->noise, "KIND", "exploration noise: gaussian or ou (Ornstein-Uhlenbeck)", 0, 0, NULL, "gaussian", NULL},
      {"noise-spread", FLAG_BOOL, &c->noise_spread, NULL, "Ape-X style: slot sigmas log-spread from --noise-max down to --noise-min", 0, 0, NULL, NULL, NULL},
      {"noise-min", FLAG_FLOAT, &c->noise_min, "X", "smallest sigma with --noise-spread", 0, 10, NULL, "0.02", NULL},
      {"noise-max", FLAG_FLOAT, &c->noise_max, "X", "largest sigma with --noise-spread", 0, 10, NULL, "0.4", NULL},
      {"ou-sigma", FLAG_FLOAT, &c->ou_sigma, "X", "OU noise sigma, fraction of the half range", 0, 10, NULL, "0.5", NULL},
      {"ou-theta", FLAG_FLOAT, &c->ou_theta, "X", "OU mean reversion", 0, 100, NULL, "0.15", NULL},
      {"ou-dt", FLAG_FLOAT, &c->ou_dt, "X", "OU time step", 1e-6, 10, NULL, "0.01", NULL},
      {"hidden", FLAG_U32_LIST, &cli->hidden, "N,N", "hidden layer sizes of all networks", 1, 4096, NULL, p->hidden, p->hidden_note},
      {"batch", FLAG_U32, &t->batch, "N", "minibatch size", 1, 65536, NULL, p->batch, p->batch_note},
      {"actor-lr", FLAG_FLOAT, &t->actor_lr, "X", "actor Adam learning rate", 1e-9, 1, NULL, p->lr, p->lr_note},
      {"critic-lr", FLAG_FLOAT, &t->critic_lr, "X", "critic Adam learning rate", 1e-9, 1, NULL, p->lr, p->lr_note},
      {"gamma", FLAG_FLOAT, &t->gamma, "X", "discount", 0, 1, NULL, "0.99", NULL},
      {"tau", FLAG_FLOAT, &t->tau, "X", "Polyak rate of the targets", 1e-9, 1, NULL, "0.005", NULL},
      {"policy-noise", FLAG_FLOAT, &t->policy_noise, "X", "target smoothing std, fraction of half range", 0, 10, NULL, "0.2", NULL},
      {"noise-clip", FLAG_FLOAT, &t->noise_clip, "X", "target smoothing clip, fraction of half range", 0, 10, NULL, "0.5", NULL},
      {"policy-delay", FLAG_U32, &t->policy_delay, "N", "critic updates per actor update", 1, 1000, NULL, "2", NULL},
      {"threads", FLAG_U32, &cli->threads, "N", "threads of the training matrix products", 0, 64, NULL, "0", "= one per CPU (at most 8)"},
      {"bind", FLAG_STRING, &c->bind_host, "ADDR", "address the learner's sockets bind", 0, 0, NULL, "*", "(all; td3d run: 127.0.0.1)"},
      cluster_flag_port(CLUSTER_PORT_EXPERIENCE, &c->experience_port),
      cluster_flag_port(CLUSTER_PORT_WEIGHTS, &c->weights_port),
      cluster_flag_port(CLUSTER_PORT_CONTROL, &c->control_port),
      {"max-actors", FLAG_U32, &c->max_actors, "N", "actor slots", 1, 4096, NULL, "64", NULL},
      {"lease-ms", FLAG_U32, &c->lease_ms, "MS", "an actor silent this long loses its lease", 100, 3600000, NULL, "5000", NULL},
      {"insecure", FLAG_BOOL, &c->insecure, NULL, "let the sockets bind beyond loopback without CURVE (anyone who reaches them can join, send experience and read the weights); refused otherwise", 0, 0, NULL, NULL, NULL},
      {"eval-token-file", FLAG_STRING, &c->eval_token_file, "FILE", "an evaluator must present the token in FILE (its --eval-token-file; 16-256 bytes, mode 0600): others are refused; td3d run makes one per start; not kept in checkpoints", 0, 0, NULL, NULL, NULL},
      {"max-evaluators", FLAG_U32, &c->max_evaluators, "N", "slots evaluators may hold (td3d run starts one evaluator)", 1, 64, NULL, "1", NULL},
      {"idle-lease-ms", FLAG_U32, &c->idle_lease_ms, "MS", "when every slot is held, an actor that sent no experience for this long (the learner not holding data back) gives its slot to a newcomer", 1000, 3600000, NULL, "10000", NULL},
      cluster_flag_model(&c->env_opts.model_path),
      cluster_flag_mujoco_assets(&c->env_opts.assets_dir),
      {"status-bind", FLAG_STRING, &c->status_bind, "HOST:PORT", "status server (/, /metrics, /status, /healthz), off for none", 0, 0, NULL, STATUS_DEFAULT_BIND, NULL},
      cluster_flag_log_level(&cli->log_level),
      {"resume", FLAG_STRING, &c->resume_dir, "DIR", "continue the run in run directory DIR from its checkpoint (its flags apply, the command line's on top)", 0, 0, NULL, NULL, NULL},
      {"checkpoint-every", FLAG_DOUBLE, &c->checkpoint_every, "S", "seconds between checkpoints into DIR/checkpoint; 0 = only when the learner stops", 0, 1e9, NULL, "60", NULL},
      {"curve-key", FLAG_STRING, &c->curve_key, "FILE", "CURVE security on: the learner's key file (td3d keygen); actors must present a key from --curve-authorized", 0, 0, NULL, NULL, NULL},
      {"curve-authorized", FLAG_STRING, &c->curve_authorized, "DIR", "directory of the authorized actors' public keys (.pub files), with --curve-key", 0, 0, NULL, NULL, NULL},
      {"continue", FLAG_BOOL, &cli->continue_run, NULL, "continue the run in --out DIR from its checkpoint when it has one, else start a new run there (for restart loops: containers, services)", 0, 0, NULL, NULL, NULL},
      {"max-abs-value", FLAG_DOUBLE, &c->max_abs_value, "X", "refuse (and count) transitions with an observation or reward of magnitude X or more, or an action outside the env's bounds", 1e-6, 3.5e38, NULL, "1e6", NULL},
      {"checkpoint-replay", FLAG_BOOL, &c->checkpoint_replay, NULL, "checkpoints hold the replay buffer (=0 to leave it out)", 0, 0, NULL, "1", NULL},
  };
  _Static_assert(sizeof specs / sizeof specs[0] <= LEARNER_MAX_FLAGS, "raise LEARNER_MAX_FLAGS");
  size_t n = sizeof specs / sizeof specs[0];
  memcpy(out, specs, sizeof specs);
  return n;
}

/* Parses "X" or "X,X,..." (act_dim values) into out. Returns 0 or TD3_EINVAL naming flag. */
static int parse_bounds(const char *flag, const char *text, uint32_t act_dim, float *out,
                        td3_err_t *err) {
  uint32_t n = 0;
  const char *p = text;
  for (;;) {
    char *end;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v) || fabs(v) > 3.4e38)
      return td3_err_set(err, TD3_EINVAL, "--%s '%s': '%.*s' is not a finite number", flag,
                         text, (int)strcspn(p, ","), p);
    if (n == act_dim)
      return td3_err_set(err, TD3_EINVAL, "--%s '%s': more than --act-dim %u values", flag,
                         text, act_dim);
    out[n++] = (float)v;
    if (*end == '\0') break;
    if (*end != ',')
      return td3_err_set(err, TD3_EINVAL, "--%s '%s': values are separated by ','", flag, text);
    p = end + 1;
  }
  if (n == 1)
    for (uint32_t j = 1; j < act_dim; j++) out[j] = out[0];
  else if (n != act_dim)
    return td3_err_set(err, TD3_EINVAL, "--%s '%s': %u values for --act-dim %u (give one, or one "
                       "per dimension)", flag, text, n, act_dim);
  return 0;
}

/* --env external:NAME: the dims and bounds flags are required and checked; with any other env
 * they are refused (that env says its own). */
static int finish_external(learner_cli_t *cli, td3_err_t *err) {
  learner_config_t *c = &cli->cfg;
  learner_external_t *x = &c->external;
  const char *name = learner_external_name(c->env_id);
  if (!name) {
    if (x->obs_dim || x->act_dim || cli->action_low || cli->action_high)
      return td3_err_set(err, TD3_EINVAL, "--obs-dim, --act-dim, --action-low and --action-high "
                         "describe an external env (--env external:NAME); %s says its own",
                         c->env_id);
    return 0;
  }
  size_t len = strlen(name);
  if (len == 0 || len >= ENV_MAX_ID)
    return td3_err_set(err, TD3_EINVAL, "--env %s: the name after 'external:' must be 1..%d "
                       "characters", c->env_id, ENV_MAX_ID - 1);
  for (const char *p = name; *p; p++)
    if (*p <= ' ' || *p > '~')
      return td3_err_set(err, TD3_EINVAL, "--env %s: the name may hold printable characters "
                         "only, no spaces", c->env_id);
  char missing[96] = "";
  if (!x->obs_dim) strcat(missing, " --obs-dim N");
  if (!x->act_dim) strcat(missing, " --act-dim M");
  if (!cli->action_low) strcat(missing, " --action-low X");
  if (!cli->action_high) strcat(missing, " --action-high X");
  if (missing[0])
    return td3_err_set(err, TD3_EINVAL, "--env %s needs%s: the learner does not build an "
                       "external env, so the flags tell it the observation and action sizes and "
                       "the action bounds (its actors must say the same)", c->env_id, missing);
  free(cli->external_bounds);
  cli->external_bounds = xmalloc(2 * (size_t)x->act_dim * sizeof(float));
  float *low = cli->external_bounds, *high = low + x->act_dim;
  int rc;
  if ((rc = parse_bounds("action-low", cli->action_low, x->act_dim, low, err)) ||
      (rc = parse_bounds("action-high", cli->action_high, x->act_dim, high, err)))
    return rc;
  for (uint32_t j = 0; j < x->act_dim; j++)
    if (!(low[j] < high[j]))
      return td3_err_set(err, TD3_EINVAL, "--action-low must be below --action-high in every "
                         "dimension (dimension %u: %g, %g)", j, (double)low[j], (double)high[j]);
  x->action_low = low;
  x->action_high = high;
  return 0;
}

int learner_cli_finish(learner_cli_t *cli, td3_err_t *err) {
  learner_config_t *c = &cli->cfg;
  int rc = finish_external(cli, err);
  if (rc == 0) rc = cli_values_to_config(cli, err);
  if (rc) return rc;
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
  return cluster_log_level_apply(cli->log_level, err);
}

void learner_cli_default_out(const learner_cli_t *cli, char *out, size_t cap) {
  char id[96];
  snprintf(id, sizeof id, "%s", cli->cfg.env_id);
  for (char *p = id; *p; p++)
    if (*p == '/' || *p == ':' || *p == ' ') *p = '_';
  snprintf(out, cap, "runs/%s-seed%llu", id, (unsigned long long)cli->cfg.seed);
}

/* Flags that describe one invocation rather than the run: not stored in checkpoints. The
 * evaluator token's file is one: a path as this invocation sees it, and td3d run draws a
 * new token for every start. */
static int per_invocation(const char *name) {
  return strcmp(name, "resume") == 0 || strcmp(name, "overwrite") == 0 ||
         strcmp(name, "out") == 0 || strcmp(name, "continue") == 0 ||
         strcmp(name, "eval-token-file") == 0;
}

char *learner_cli_flags_text(const flag_spec_t *specs, size_t n) {
  size_t cap = 256, len = 0;
  char *text = xmalloc(cap), line[1100];
  text[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (per_invocation(specs[i].name) || flags_format(&specs[i], line, sizeof line) != 0)
      continue;
    size_t k = strlen(line);
    if (strchr(line, '\n')) continue; /* cannot be stored as one line */
    while (len + k + 2 > cap) text = xrealloc(text, cap *= 2);
    memcpy(text + len, line, k);
    len += k;
    text[len++] = '\n';
    text[len] = '\0';
  }
  return text;
}

/* Sets the preset's values into cli (defaults for the flags parsed after it). */
static void apply_preset(learner_cli_t *cli, const preset_t *p) {
  td3_config_t *t = &cli->cfg.td3;
  cli->hidden = (flag_u32_list_t){2, {p->hidden[0], p->hidden[1]}};
  t->actor_lr = t->critic_lr = p->lr;
  t->batch = p->batch;
  cli->cfg.start_steps = preset_start_steps(p, cli->cfg.env_id);
  cli->cfg.eval_episodes = preset_eval_episodes(cli->cfg.env_id);
  cli->cfg.preset = p->name;
}

int learner_cli_parse(learner_cli_t *cli, const flag_spec_t *specs, size_t n,
                      const flag_program_t *prog, int argc, char **argv, td3_err_t *err) {
  /* Two passes: the first finds the preset and the env (a preset's start steps depend on
   * the env), then the defaults are set again with the preset's values on top and the
   * command line is parsed once more, so that any flag given wins over the preset. */
  const learner_cli_t defaults = *cli;
  int rc = flags_parse(specs, n, prog, argc, argv, NULL, 0, NULL, err);
  if (rc != 0) return rc;
  const char *preset_name = cli->cfg.preset ? cli->cfg.preset : PRESET_DEFAULT;
  const preset_t *preset = preset_find(preset_name);
  if (!preset)
    return td3_err_set(err, TD3_EINVAL, "--preset: '%s' is not a preset (%s; td3d presets lists them)",
                       preset_name, preset_names());
  const char *env_given = cli->cfg.env_id, *preset_given = cli->cfg.preset;
  *cli = defaults;
  cli->cfg.env_id = env_given;
  apply_preset(cli, preset);
  if ((rc = flags_parse(specs, n, prog, argc, argv, NULL, 0, NULL, err)) != 0) return rc;
  if (cli->continue_run && !cli->cfg.resume_dir) {
    const char *out = cli->cfg.out_dir;
    if (!out) {
      learner_cli_default_out(cli, cli->continue_dir, sizeof cli->continue_dir);
      out = cli->continue_dir;
    }
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/%s", out, CHECKPOINT_DIR);
    if (checkpoint_exists(ckpt)) {
      log_info("--continue: %s has a checkpoint; continuing that run", out);
      cli->cfg.resume_dir = out;
    }
  }
  const char *resume = cli->cfg.resume_dir;
  if (resume) {
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s/%s", resume, CHECKPOINT_DIR);
    char *text = NULL;
    if ((rc = checkpoint_read_flags(ckpt, &text, err)) != 0) {
      if (rc == TD3_ENOTFOUND)
        td3_err_set(err, rc, "--resume %s: no checkpoint there (%s/%s is missing)", resume,
                    ckpt, CHECKPOINT_STATE);
      return rc;
    }
    /* the stored flags as an argv; the strings live as long as the program */
    size_t cap = 16, k = 1;
    char **av = xmalloc(cap * sizeof *av);
    av[0] = argv[0];
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      if (k + 2 > cap) av = xrealloc(av, (cap *= 2) * sizeof *av);
      av[k++] = line;
    }
    av[k] = NULL;
    cli->stored_flags = text;
    cli->stored_argv = av;
    /* stored values first (the preset's name among them), then the command line on top */
    cli->cfg.preset = NULL;
    if ((rc = flags_parse(specs, n, prog, (int)k, av, NULL, 0, NULL, err)) != 0) {
      if (rc < 0) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        td3_err_set(err, rc, "the flags stored in %s's checkpoint: %s", resume, msg);
      }
      return rc < 0 ? rc : TD3_EINVAL;
    }
    const char *stored_preset = cli->cfg.preset;
    if ((rc = flags_parse(specs, n, prog, argc, argv, NULL, 0, NULL, err)) != 0) return rc;
    if (preset_given && (!stored_preset || strcmp(preset_given, stored_preset) != 0))
      return td3_err_set(err, TD3_EINVAL,
                         "--preset %s: the run in %s was started with %s%s; a continued run keeps "
                         "its settings (give single flags to change them)",
                         preset_given, resume, stored_preset ? "--preset " : "no preset",
                         stored_preset ? stored_preset : "");
    cli->cfg.preset = stored_preset;
    if (cli->cfg.out_dir && strcmp(cli->cfg.out_dir, resume) != 0)
      return td3_err_set(err, TD3_EINVAL,
                         "--resume %s continues the run in that directory; --out %s names another",
                         resume, cli->cfg.out_dir);
    cli->cfg.out_dir = resume;
  }
  return 0;
}

void learner_cli_free(learner_cli_t *cli) {
  free(cli->stored_flags);
  free(cli->stored_argv);
  free(cli->flags_text);
  free(cli->external_bounds);
  cli->external_bounds = NULL;
  cli->cfg.external.action_low = cli->cfg.external.action_high = NULL;
  cli->stored_flags = NULL;
  cli->stored_argv = NULL;
  cli->flags_text = NULL;
}
