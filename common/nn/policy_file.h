/* Policy files: a trained actor that `td3d eval` (or any program) can load and run.
 *
 * Format (little-endian), version 1:
 *   magic "TD3DPOL\0" (8 bytes) | u32 format version | env id (64 bytes, NUL-padded) |
 *   u32 n_layers | u32 layers[n_layers] (obs_dim, hidden..., act_dim) |
 *   f32 action_low[act_dim] | f32 action_high[act_dim] | u64 n_params |
 *   f32 params[n_params] (layout of common/nn/nn.h: per layer W (out, in) row-major, then b) |
 *   u32 CRC-32 of all preceding bytes.
 * The network is ReLU hidden layers and action = mid + half * tanh(z) per dimension, with
 * mid = (high + low) / 2 and half = (high - low) / 2. Written atomically (binfile.h). */
#ifndef TD3_POLICY_FILE_H
#define TD3_POLICY_FILE_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define POLICY_FILE_VERSION 1u
#define POLICY_MAX_LAYERS 8u

typedef struct policy_file {
  char env_id[65];
  uint32_t n_layers;
  uint32_t layers[POLICY_MAX_LAYERS];
  float *action_low;   /* (act_dim), owned */
  float *action_high;  /* (act_dim), owned */
  size_t n_params;
  float *params;       /* (n_params), owned */
} policy_file_t;

/* Writes a policy. Returns 0, TD3_EINVAL (inconsistent shape) or TD3_EIO, with err filled. */
int policy_file_save(const char *path, const char *env_id, const uint32_t *layers,
                     uint32_t n_layers, const float *low, const float *high,
                     const float *params, td3_err_t *err);

/* Reads and checks a policy (magic, version, shape, parameter count, finiteness, CRC).
 * On success the caller owns out's arrays (policy_file_free). On failure out holds nothing
 * and err says what is wrong and what to do. */
int policy_file_load(const char *path, policy_file_t *out, td3_err_t *err);
void policy_file_free(policy_file_t *p);

#endif
