/* `td3d keygen NAME`: a CURVE key pair for CURVE security (common/net/curve_security.h).
 * Exit 0, 1 when the files cannot be written, 2 for a usage error. */
#include "curve_security.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: td3d keygen NAME [--dir DIR] [--overwrite]\n"
          "\n"
          "Makes a CURVE key pair for td3d's CURVE security: DIR/NAME.key (both keys, mode 0600:\n"
          "keep it secret) and DIR/NAME.pub (the public key, to hand out). The learner takes its\n"
          ".key with --curve-key and a directory of the actors' .pub files with\n"
          "--curve-authorized; an actor takes its own .key with --curve-key and the learner's\n"
          ".pub with --curve-server. An actor whose .pub is not authorized delivers nothing.\n"
          "\n"
          "options:\n"
          "  --dir DIR     where to write the files; default . (created with its parents,\n"
          "                mode 0700, when missing)\n"
          "  --overwrite   replace existing NAME.key and NAME.pub\n"
          "  -h, --help    print this help\n");
}

int cmd_keygen_main(int argc, char **argv) {
  const char *name = NULL, *dir = ".";
  int overwrite = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--overwrite")) {
      overwrite = 1;
    } else if (!strcmp(a, "--dir") || !strncmp(a, "--dir=", 6)) {
      if (a[5] == '=') dir = a + 6;
      else if (i + 1 < argc) dir = argv[++i];
      else {
        fprintf(stderr, "td3d keygen: --dir needs a value (see --help)\n");
        return 2;
      }
    } else if (a[0] == '-' || name) {
      fprintf(stderr, "td3d keygen: unexpected argument '%s' (see --help)\n", a);
      return 2;
    } else {
      name = a;
    }
  }
  if (!name) {
    fprintf(stderr, "td3d keygen: NAME is required, e.g. `td3d keygen learner` (see --help)\n");
    return 2;
  }
  curve_keypair_t kp;
  td3_err_t err = {0};
  if (curve_keygen(dir, name, overwrite, &kp, &err) != 0) {
    fprintf(stderr, "td3d keygen: %s\n", err.msg);
    return err.code == TD3_EINVAL && strstr(err.msg, "key name") ? 2 : 1;
  }
  printf("%s/%s.key  key pair (secret: keep it on this machine, mode 0600)\n", dir, name);
  printf("%s/%s.pub  public key %s\n", dir, name, kp.public_key);
  return 0;
}
