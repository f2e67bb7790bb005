/* Built by tests/export_c.sh against a header from `td3d export --format c`, with the strictest
 * flags the export promises (-std=c99 -Wall -Wextra -Werror -pedantic). Compile with
 * -DPOLICY_HEADER='"file.h"' -DP=<prefix> -DPU=<PREFIX>.
 *
 *   export_c_check OBS REF N TOL
 * reads N observations and td3d's actions for them (raw float32, from tests/export_ref.c),
 * computes P_act for each, checks every action lies within P_action_low/high, prints the
 * largest absolute difference and exits 1 when it exceeds TOL. */
#include POLICY_HEADER

#include <stdio.h>
#include <stdlib.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define ACT CAT(P, _act)
#define LOW CAT(P, _action_low)
#define HIGH CAT(P, _action_high)
#define OBS_DIM CAT(PU, _OBS_DIM)
#define ACT_DIM CAT(PU, _ACT_DIM)

static float *read_floats(const char *path, size_t n) {
  float *v = malloc(n * sizeof *v);
  FILE *f = fopen(path, "rb");
  if (!v || !f || fread(v, sizeof *v, n, f) != n) {
    fprintf(stderr, "cannot read %lu floats from %s\n", (unsigned long)n, path);
    exit(1);
  }
  fclose(f);
  return v;
}

int main(int argc, char **argv) {
  size_t n, i, j;
  float *obs, *ref, action[ACT_DIM];
  double tol, worst = 0.0;
  if (argc != 5) {
    fprintf(stderr, "usage: export_c_check OBS REF N TOL\n");
    return 1;
  }
  n = (size_t)strtoul(argv[3], NULL, 10);
  tol = strtod(argv[4], NULL);
  obs = read_floats(argv[1], n * OBS_DIM);
  ref = read_floats(argv[2], n * ACT_DIM);
  for (i = 0; i < n; i++) {
    ACT(obs + i * OBS_DIM, action);
    for (j = 0; j < ACT_DIM; j++) {
      double d = (double)action[j] - (double)ref[i * ACT_DIM + j];
      if (d < 0) d = -d;
      if (d > worst) worst = d;
      if (!(action[j] >= LOW[j] && action[j] <= HIGH[j])) {
        fprintf(stderr, "observation %lu: action %lu = %g outside [%g, %g]\n",
                (unsigned long)i, (unsigned long)j, action[j], LOW[j], HIGH[j]);
        return 1;
      }
    }
  }
  printf("C header %s: max abs difference %.3g over %lu observations (tolerance %g)\n",
         POLICY_HEADER, worst, (unsigned long)n, tol);
  free(obs);
  free(ref);
  return worst <= tol ? 0 : 1;
}
