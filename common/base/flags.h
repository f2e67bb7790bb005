/* Command-line flags with environment-variable fallback, for every td3d program.
 *
 * A program declares a table of flag_spec_t; each row may carry its default as text (def),
 * which flags_defaults writes into the destination and `--help` shows, so the default is
 * written once. flags_parse fills the destinations from, in increasing priority: the
 * defaults already in the destinations, environment variables
 * TD3D_<NAME> (upper case, '-' -> '_', e.g. --target-return -> TD3D_TARGET_RETURN), and the
 * command line (`--name value` or `--name=value`; booleans take no value on the command line
 * and accept 1/0/true/false/yes/no in the environment). Every value is checked: numbers must
 * parse completely and lie within [min, max]; a bad value gives a message naming the flag or
 * the variable, the value, and what is expected. A variable set but empty counts as unset.
 * `--help` prints usage from the table.
 *
 * Not thread-safe (called from main before threads start). */
#ifndef TD3_FLAGS_H
#define TD3_FLAGS_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum flag_type {
  FLAG_BOOL,     /* int *: 0 or 1 */
  FLAG_STRING,   /* const char **: borrowed from argv or the environment */
  FLAG_U64,      /* uint64_t *: whole number in [min, max] */
  FLAG_U32,      /* uint32_t *: whole number in [min, max] */
  FLAG_DOUBLE,   /* double *: finite number in [min, max] */
  FLAG_FLOAT,    /* float *: finite number in [min, max] */
  FLAG_U32_LIST  /* flag_u32_list_t *: comma-separated whole numbers, each in [min, max] */
} flag_type_t;

#define FLAG_LIST_MAX 8

typedef struct flag_u32_list {
  uint32_t n;
  uint32_t v[FLAG_LIST_MAX];
} flag_u32_list_t;

typedef struct flag_spec {
  const char *name;     /* without dashes: "target-return" */
  flag_type_t type;
  void *dst;            /* see flag_type_t; holds the default on entry */
  const char *metavar;  /* shown in help: "N", "PATH" (NULL for booleans) */
  const char *help;     /* one line */
  double min, max;      /* numeric range (ignored for strings and booleans) */
  int *seen;            /* optional: set to 1 when the flag was given (either source) */
  const char *def;      /* optional: the default as a value ("5000", "256,256", "Pendulum-v1"),
                           written by flags_defaults and shown by --help as "; default <def>";
                           NULL: none (the destination's value on entry stands, --help is quiet) */
  const char *def_note; /* optional words --help adds after the default: "(td3-paper: 100)" */
} flag_spec_t;

/* What a program says about itself in --help. */
typedef struct flag_program {
  const char *usage;    /* "td3d run [options]" */
  const char *summary;  /* a paragraph above the options */
  const char *footer;   /* optional text below the options */
} flag_program_t;

/* Parses argv[1..argc) (argv[0] is the program or subcommand name). Positional arguments
 * are refused unless positional is not NULL: then they are stored there, at most
 * max_positional of them, and *n_positional is set.
 * Returns 0 on success, 1 when --help was printed to stdout (the caller exits 0), or a
 * negative code with err filled (the caller prints it and exits 2). */
int flags_parse(const flag_spec_t *specs, size_t n_specs, const flag_program_t *prog, int argc,
                char **argv, const char **positional, size_t max_positional,
                size_t *n_positional, td3_err_t *err);

/* Writes every row's def into its destination (rows without one are left as they are); seen
 * stays untouched. Returns 0, or a negative code with err filled when a def does not parse or
 * lies outside the row's range (a bug in the table: tests call it on every table). */
int flags_defaults(const flag_spec_t *specs, size_t n_specs, td3_err_t *err);

/* Prints the help text for the table: a row's help, then "; default <def>[ <def_note>]". */
void flags_usage(FILE *f, const flag_spec_t *specs, size_t n_specs, const flag_program_t *prog);

/* Writes the flag's current value as one argument "--name=value" into out, for handing a
 * configuration to a child process. Returns 0, or 1 when there is nothing to pass (an unset
 * string, a non-finite number). */
int flags_format(const flag_spec_t *f, char *out, size_t cap);

/* The environment variable name for a flag: "target-return" -> "TD3D_TARGET_RETURN". */
void flags_env_name(const char *flag, char *out, size_t cap);

#endif
