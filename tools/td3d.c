/* td3d: the single user-facing command, git-style (`td3d <subcommand> [flags]`).
 *
 * This file only dispatches: each subcommand lives in its own module and is listed in the
 * table below once it exists. Unknown subcommands get an error that names the valid ones. */
#include "error.h"
#include "log.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>

typedef struct subcommand {
  const char *name;
  const char *summary;
  int (*main)(int argc, char **argv);
} subcommand_t;

static int version_main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf("usage: td3d version\n\nPrints td3d's version and the wire protocol version it "
             "speaks (actors and\nlearners of different protocol versions refuse each "
             "other).\n");
      return 0;
    }
    fprintf(stderr, "td3d version: unknown argument '%s' (it takes none)\n", argv[i]);
    return 2;
  }
  printf("td3d %s (wire protocol %u)\n", TD3D_VERSION, WIRE_PROTOCOL_VERSION);
  return 0;
}

int cmd_run_main(int argc, char **argv);
int cmd_eval_main(int argc, char **argv);
int cmd_learner_main(int argc, char **argv);
int cmd_actor_main(int argc, char **argv);
int cmd_envs_main(int argc, char **argv);
int cmd_status_main(int argc, char **argv);
int cmd_checkpoint_main(int argc, char **argv);
int cmd_keygen_main(int argc, char **argv);
int cmd_presets_main(int argc, char **argv);
int cmd_export_main(int argc, char **argv);

static const subcommand_t commands[] = {
    {"run", "train a policy: a local learner + actors + evaluator (--serial: one process)", cmd_run_main},
    {"learner", "the learner of a distributed run (replay, training, weight broadcast)", cmd_learner_main},
    {"actor", "an actor of a distributed run (--eval: the evaluator)", cmd_actor_main},
    {"eval", "run a saved policy deterministically and print its returns", cmd_eval_main},
    {"export", "write a policy as an ONNX model, a C header or NumPy arrays, for use outside td3d", cmd_export_main},
    {"presets", "list the hyperparameter presets of --preset (td3-repo, td3-paper)", cmd_presets_main},
    {"envs", "list the environments with their dimensions, bounds and step limits", cmd_envs_main},
    {"status", "show a running learner's state from its status server (--json, --watch)", cmd_status_main},
    {"checkpoint", "describe a run directory's checkpoint (what --resume continues from)", cmd_checkpoint_main},
    {"keygen", "make a CURVE key pair (NAME.key, NAME.pub) for the learner or an actor", cmd_keygen_main},
    {"version", "print the version and exit", version_main},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

static void usage(FILE *f) {
  fprintf(f,
          "usage: td3d <command> [options]\n"
          "       td3d --help | --version\n"
          "\n"
          "Distributed TD3 (Twin Delayed DDPG) training: actors stream experience over\n"
          "ZeroMQ to one learner that trains and broadcasts fresh policy weights.\n"
          "\n"
          "commands:\n");
  for (size_t i = 0; i < n_commands; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\n"
          "Run `td3d <command> --help` for a command's options. Every option can also be set\n"
          "through an environment variable TD3D_<OPTION> (see README.md).\n");
}

static void list_names(FILE *f) {
  for (size_t i = 0; i < n_commands; i++)
    fprintf(f, "%s%s", i ? ", " : "", commands[i].name);
}

int main(int argc, char **argv) {
  if (log_init_from_env() != 0)
    fprintf(stderr, "td3d: ignoring TD3D_LOG_LEVEL (use error, warn, info or debug)\n");
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) return version_main(0, NULL);
  for (size_t i = 0; i < n_commands; i++) {
    if (strcmp(cmd, commands[i].name) == 0) {
      log_set_tag(commands[i].name);
      return commands[i].main(argc - 1, argv + 1);
    }
  }
  fprintf(stderr, "td3d: unknown command '%s'; valid commands: ", cmd);
  list_names(stderr);
  fprintf(stderr, " (see td3d --help)\n");
  return 2;
}
