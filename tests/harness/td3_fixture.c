/* The td3 tests' shared set-up (see td3_fixture.h). */
#include "td3_fixture.h"

#include "rng.h"

const float TD3_FIXTURE_LOW[3] = {-2.0f, -1.0f, 0.0f}, TD3_FIXTURE_HIGH[3] = {2.0f, 3.0f, 0.5f};

td3_config_t td3_fixture_config(uint32_t act, uint32_t n_hidden, const uint32_t *hidden) {
  td3_config_t c;
  td3_config_default(&c);
  c.obs_dim = 4;
  c.act_dim = act;
  c.n_hidden = n_hidden;
  for (uint32_t i = 0; i < n_hidden; i++) c.hidden[i] = hidden[i];
  c.action_low = TD3_FIXTURE_LOW;
  c.action_high = TD3_FIXTURE_HIGH;
  c.batch = 8;
  c.seed = 11;
  c.actor_lr = 1e-3f;
  c.critic_lr = 2e-3f;
  return c;
}

void td3_fixture_fill(td3_fixture_batch_t *bb, const td3_config_t *c, uint64_t seed) {
  const float *low = TD3_FIXTURE_LOW, *high = TD3_FIXTURE_HIGH;
  rng_t r;
  rng_init(&r, seed, 99);
  size_t B = c->batch, O = c->obs_dim, A = c->act_dim;
  rng_normal_fill(&r, bb->obs, B * O, 0.0f, 1.0f);
  rng_normal_fill(&r, bb->next_obs, B * O, 0.0f, 1.0f);
  rng_normal_fill(&r, bb->reward, B, 0.0f, 1.0f);
  rng_normal_fill(&r, bb->noise, B * A, 0.0f, 1.0f);
  for (size_t i = 0; i < B * A; i++) bb->action[i] = rng_uniformf(&r, low[i % A], high[i % A]);
  for (size_t i = 0; i < B; i++) bb->terminal[i] = (i % 3 == 1) ? 1.0f : 0.0f;
  bb->noise[0] = 4.0f; /* beyond the noise clip */
  bb->noise[A + A - 1] = -4.0f;
  bb->b = (transition_batch_t){.n = c->batch, .obs_dim = c->obs_dim, .act_dim = c->act_dim,
                               .obs = bb->obs, .action = bb->action, .reward = bb->reward,
                               .next_obs = bb->next_obs, .terminal = bb->terminal};
}
