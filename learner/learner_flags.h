/* The learner's command-line flags, shared by `td3d learner` and `td3d run` (which hands
 * the same values to the learner it starts, through flags_format). */
#ifndef TD3_LEARNER_FLAGS_H
#define TD3_LEARNER_FLAGS_H

#include "flags.h"
#include "learner.h"

#define LEARNER_MAX_FLAGS 64

/* Default texts of the rows a preset governs (flag_spec_t def and def_note point here). */
typedef struct learner_preset_text {
  char hidden[24], batch[16], lr[16], start[24], eval[16];
  char hidden_note[64], batch_note[48], lr_note[48], start_note[160], eval_note[48];
} learner_preset_text_t;

typedef struct learner_cli {
  learner_config_t cfg;
  flag_u32_list_t hidden;
  uint64_t replay_capacity;
  uint32_t threads;         /* OpenBLAS threads; 0 on the command line = one per CPU */
  const char *noise;        /* "gaussian" or "ou" */
  const char *log_level;
  int continue_run;         /* --continue: resume the run directory when it has a checkpoint */
  char continue_dir[256];   /* --continue without --out: the default run directory */
  char *stored_flags;       /* --resume: the checkpoint's flags text (argv strings point in) */
  char **stored_argv;
  char *flags_text;         /* this run's flags for its checkpoints (learner_cli_flags_text) */
  const char *action_low;   /* --action-low / --action-high of an external env: "X" or "X,X,.." */
  const char *action_high;
  float *external_bounds;   /* (2, act_dim) their values, low then high; cfg.external points in */
  learner_preset_text_t preset_text; /* the default preset's values, for the table's rows */
} learner_cli_t;

/* Fills the defaults: the table's rows (learner_flag_specs), the default preset's for the
 * rows a preset governs. learner_config_default (learner.h) gives the same values but for
 * status_bind (NULL: no status server). */
void learner_cli_init(learner_cli_t *cli);

/* Writes the flag table into out (at least LEARNER_MAX_FLAGS entries); returns its length. */
size_t learner_flag_specs(learner_cli_t *cli, flag_spec_t *out);

/* flags_parse for a table that holds the learner's flags, with --resume DIR handled: the
 * flags stored in DIR's checkpoint are applied first and the command line (and TD3D_*
 * variables) again on top, and --out becomes DIR. --continue turns into --resume DIR when the
 * run directory (--out or the default) holds a checkpoint, and does nothing otherwise.
 * Returns as flags_parse does (1: --help was printed); a missing or damaged checkpoint is an
 * error naming the file. */
int learner_cli_parse(learner_cli_t *cli, const flag_spec_t *specs, size_t n,
                      const flag_program_t *prog, int argc, char **argv, td3_err_t *err);

/* The run's flags as "--name=value" lines (all of the table except --resume, --out and
 * --overwrite), for learner_config.flags_text. malloc'd. */
char *learner_cli_flags_text(const flag_spec_t *specs, size_t n);

/* Frees what learner_cli_parse and the caller stored in cli. */
void learner_cli_free(learner_cli_t *cli);

/* Applies what the table cannot express (hidden sizes, noise kind, replay capacity,
 * thread count, status address check, log level, an external env's dims and bounds: required with --env external:NAME, refused
 * with any other env); returns 0 or TD3_EINVAL with err filled. */
int learner_cli_finish(learner_cli_t *cli, td3_err_t *err);

/* The default run directory, runs/<env>-seed<S>, with the env id made safe for a path
 * (a plugin id's '/' and ':' become '_'). */
void learner_cli_default_out(const learner_cli_t *cli, char *out, size_t cap);

#endif
