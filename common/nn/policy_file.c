/* Policy file save/load (see policy_file.h). */
#include "policy_file.h"

#include "binfile.h"
#include "nn.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = {'T', 'D', '3', 'D', 'P', 'O', 'L', '\0'};

static int shape_ok(const uint32_t *layers, uint32_t n_layers) {
  return n_layers >= 2 && n_layers <= POLICY_MAX_LAYERS && nn_param_count(layers, n_layers) > 0;
}

int policy_file_save(const char *path, const char *env_id, const uint32_t *layers,
                     uint32_t n_layers, const float *low, const float *high,
                     const float *params, td3_err_t *err) {
  if (!shape_ok(layers, n_layers))
    return td3_err_set(err, TD3_EINVAL, "cannot save %s: invalid network shape", path);
  uint32_t act = layers[n_layers - 1];
  size_t n_params = nn_param_count(layers, n_layers);
  binw_t w = {0};
  binw_bytes(&w, magic, sizeof magic);
  binw_u32(&w, POLICY_FILE_VERSION);
  binw_str(&w, env_id, 64);
  binw_u32(&w, n_layers);
  for (uint32_t i = 0; i < n_layers; i++) binw_u32(&w, layers[i]);
  binw_f32s(&w, low, act);
  binw_f32s(&w, high, act);
  binw_u64(&w, n_params);
  binw_f32s(&w, params, n_params);
  return binw_commit(&w, path, err);
}

static int all_finite(const float *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(p[i])) return 0;
  return 1;
}

int policy_file_load(const char *path, policy_file_t *out, td3_err_t *err) {
  memset(out, 0, sizeof *out);
  binr_t r;
  /* the largest legal policy: 7 layers of 4096 x 4097 floats, plus headers */
  int rc = binr_load(&r, path, (size_t)7 * 4096 * 4097 * 4 + 65536, err);
  if (rc) return rc;
  char m[8];
  binr_bytes(&r, m, sizeof m);
  if (memcmp(m, magic, sizeof m) != 0) {
    rc = td3_err_set(err, TD3_EFORMAT,
                     "%s is not a td3d policy file (bad magic); policies are written by "
                     "`td3d run` as policy.td3p in the run directory",
                     path);
    goto fail;
  }
  uint32_t version = binr_u32(&r);
  if (version != POLICY_FILE_VERSION) {
    rc = td3_err_set(err, TD3_EVERSION,
                     "%s has policy format version %u; this td3d reads version %u", path,
                     version, POLICY_FILE_VERSION);
    goto fail;
  }
  binr_str(&r, out->env_id, 64);
  out->n_layers = binr_u32(&r);
  if (out->n_layers < 2 || out->n_layers > POLICY_MAX_LAYERS) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s: %u layer sizes (expected 2..%u)", path,
                     out->n_layers, POLICY_MAX_LAYERS);
    goto fail;
  }
  for (uint32_t i = 0; i < out->n_layers; i++) out->layers[i] = binr_u32(&r);
  if (r.bad || !shape_ok(out->layers, out->n_layers)) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s: invalid network shape", path);
    goto fail;
  }
  uint32_t act = out->layers[out->n_layers - 1];
  out->action_low = xmalloc(act * sizeof(float));
  out->action_high = xmalloc(act * sizeof(float));
  binr_f32s(&r, out->action_low, act);
  binr_f32s(&r, out->action_high, act);
  uint64_t n_params = binr_u64(&r);
  size_t expect = nn_param_count(out->layers, out->n_layers);
  if (r.bad || n_params != expect) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s: %llu parameters, the shape needs %zu", path,
                     (unsigned long long)n_params, expect);
    goto fail;
  }
  if (binr_left(&r) != expect * sizeof(float)) {
    rc = td3_err_set(err, TD3_EFORMAT, "%s: %zu bytes of parameters, expected %zu", path,
                     binr_left(&r), expect * sizeof(float));
    goto fail;
  }
  out->n_params = expect;
  out->params = xmalloc(expect * sizeof(float));
  binr_f32s(&r, out->params, expect);
  for (uint32_t i = 0; i < act; i++) {
    if (!isfinite(out->action_low[i]) || !isfinite(out->action_high[i]) ||
        !(out->action_low[i] < out->action_high[i])) {
      rc = td3_err_set(err, TD3_EFORMAT, "%s: invalid action bounds", path);
      goto fail;
    }
  }
  if (!all_finite(out->params, expect)) {
    rc = td3_err_set(err, TD3_ENONFINITE, "%s: the parameters contain NaN or infinity", path);
    goto fail;
  }
  binr_free(&r);
  return 0;
fail:
  binr_free(&r);
  policy_file_free(out);
  return rc;
}

void policy_file_free(policy_file_t *p) {
  if (!p) return;
  free(p->action_low);
  free(p->action_high);
  free(p->params);
  memset(p, 0, sizeof *p);
}
