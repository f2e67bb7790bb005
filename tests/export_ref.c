/* export_ref: td3d's own actions, the reference the export tests compare every format with
 * (tests/export.cmake).
 *
 *   export_ref policy OUT
 *     writes a synthetic policy with policy_file_save: env "td3d-export-test", layers
 *     5-32-24-16-3 (three hidden layers), asymmetric bounds per dimension, PyTorch-style
 *     initial weights with the output layer scaled up (so actions reach the tanh's flat
 *     ends), and a few awkward values (1, -0, the smallest subnormal) among the weights.
 *   export_ref actions POLICY N SEED OBS_OUT ACT_OUT
 *     draws N observations uniform in [-5, 5] (seeded) and writes them (N, obs_dim) and the
 *     policy's actions (N, act_dim) as raw little-endian float32. The actions come from
 *     policy_file_load + nn_policy_act one observation at a time, exactly as `td3d eval`
 *     and the actors compute them.
 * Exit 0, or 1 with a message. */
#include "nn.h"
#include "policy_file.h"
#include "rng.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_floats(const char *path, const float *v, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(v, sizeof(float), n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "export_ref: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

static int make_policy(const char *out) {
  const uint32_t layers[] = {5, 32, 24, 16, 3};
  const float low[] = {-1.0f, 0.0f, -3.5f}, high[] = {2.0f, 0.25f, 1.5f};
  nn_layout_t lay;
  if (nn_layout_init(&lay, layers, 5) != 0) return 1;
  float *params = xmalloc(lay.n_params * sizeof(float));
  rng_t rng;
  rng_init(&rng, 16, 0);
  nn_init_uniform(&lay, params, &rng);
  for (size_t i = lay.w_off[3]; i < lay.n_params; i++) params[i] *= 6.0f;
  params[0] = 1.0f;
  params[1] = -0.0f;
  params[2] = 1e-45f;
  td3_err_t err = {0};
  int rc = policy_file_save(out, "td3d-export-test", layers, 5, low, high, params, &err);
  free(params);
  if (rc) fprintf(stderr, "export_ref: %s\n", err.msg);
  return rc ? 1 : 0;
}

static int actions(const char *policy_path, size_t n, uint64_t seed, const char *obs_out,
                   const char *act_out) {
  policy_file_t pf;
  td3_err_t err = {0};
  if (policy_file_load(policy_path, &pf, &err) != 0) {
    fprintf(stderr, "export_ref: %s\n", err.msg);
    return 1;
  }
  size_t od = pf.layers[0], ad = pf.layers[pf.n_layers - 1];
  nn_policy_t *pol = nn_policy_new(pf.layers, pf.n_layers, pf.action_low, pf.action_high, 1);
  if (!pol) {
    fprintf(stderr, "export_ref: %s: unusable shape\n", policy_path);
    policy_file_free(&pf);
    return 1;
  }
  nn_policy_set_params(pol, pf.params);
  float *obs = xmalloc(n * od * sizeof(float)), *act = xmalloc(n * ad * sizeof(float));
  rng_t rng;
  rng_init(&rng, seed, 1);
  for (size_t i = 0; i < n * od; i++) obs[i] = rng_uniformf(&rng, -5.0f, 5.0f);
  for (size_t r = 0; r < n; r++) nn_policy_act(pol, obs + r * od, 1, act + r * ad);
  int rc = write_floats(obs_out, obs, n * od) || write_floats(act_out, act, n * ad);
  free(obs);
  free(act);
  nn_policy_destroy(&pol);
  policy_file_free(&pf);
  return rc;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "policy") == 0) return make_policy(argv[2]);
  if (argc == 7 && strcmp(argv[1], "actions") == 0) {
    size_t n = strtoull(argv[3], NULL, 10);
    if (n == 0 || n > 1000000) {
      fprintf(stderr, "export_ref: N must be 1..1000000\n");
      return 1;
    }
    return actions(argv[2], n, strtoull(argv[4], NULL, 10), argv[5], argv[6]);
  }
  fprintf(stderr, "usage: export_ref policy OUT\n"
                  "       export_ref actions POLICY N SEED OBS_OUT ACT_OUT\n");
  return 1;
}
