/* A small TD3 set-up shared by the td3 tests (tests/test_td3.c: against references;
 * tests/test_td3_update.c: what one update changes): a configuration with obs 4, up to 3
 * actions with asymmetric bounds and batch 8, and a batch of random transitions for it.
 * Nothing here asserts: callers check what they get. Single-threaded. */
#ifndef TD3_TD3_FIXTURE_H
#define TD3_TD3_FIXTURE_H

#include "td3.h"

#include <stdint.h>

/* The action bounds of td3_fixture_config (act up to 3): low -2, -1, 0; high 2, 3, 0.5. */
extern const float TD3_FIXTURE_LOW[3], TD3_FIXTURE_HIGH[3];

/* td3_config_default with obs 4, act (1 to 3) actions bounded by TD3_FIXTURE_LOW/HIGH,
 * n_hidden hidden layers of the given widths, batch 8, seed 11, actor lr 1e-3, critic lr
 * 2e-3. */
td3_config_t td3_fixture_config(uint32_t act, uint32_t n_hidden, const uint32_t *hidden);

/* A batch of 8 rows held in its own arrays (b borrows them), with target-smoothing noise. */
typedef struct td3_fixture_batch {
  float obs[8 * 4], action[8 * 3], reward[8], next_obs[8 * 4], terminal[8], noise[8 * 3];
  transition_batch_t b;
} td3_fixture_batch_t;

/* Fills *bb for c (a td3_fixture_config) from seed: normal observations, rewards and noise
 * (two noise values beyond the clip), uniform actions within the bounds, every third row
 * (1, 4, 7) terminal. */
void td3_fixture_fill(td3_fixture_batch_t *bb, const td3_config_t *c, uint64_t seed);

#endif
