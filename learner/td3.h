/* One TD3 training iteration (Fujimoto et al. 2018, the authors' sfujim/TD3 code): target
 * policy smoothing, clipped double-Q targets, delayed actor updates, Polyak-averaged targets.
 *
 * A td3_t owns six networks in nn.h's layout: the actor (obs -> hidden... -> act, output
 * mid + half tanh(z)), two critics ([obs, act] -> hidden... -> 1) and a target copy of each,
 * plus Adam state (m, v, step count) for the actor and each critic, gradients and scratch.
 * Everything is allocated by td3_new; td3_train allocates nothing.
 *
 * An iteration either completes or changes nothing: the trained networks are double-buffered
 * (the Adam step writes the new weights and moments into the spare buffer, which becomes live
 * only when every new value is finite). Consequence: a pointer from td3_params,
 * td3_actor_params or td3_adam_state is valid until the next td3_train/td3_train_with_noise
 * call (or td3_destroy); fetch it again after training.
 *
 * Thread rules: a td3_t belongs to one thread at a time; every function here, td3_act
 * included, uses its scratch. OpenBLAS threads are set by the caller. */
#ifndef TD3_TD3_H
#define TD3_TD3_H

#include "error.h"
#include "nn.h"
#include "rng.h"
#include "transition.h"

#include <stddef.h>
#include <stdint.h>

typedef struct td3_config {
  uint32_t obs_dim, act_dim;            /* 1..NN_MAX_DIM */
  uint32_t n_hidden;                    /* hidden layers, 1..NN_MAX_LAYERS-2; default 2 */
  uint32_t hidden[NN_MAX_LAYERS - 2];   /* widths, 1..NN_MAX_DIM; default 256, 256 */
  const float *action_low, *action_high;/* (act_dim) finite, low < high; copied by td3_new */
  uint32_t batch;                       /* rows per iteration, 1..TD3_MAX_BATCH; 256 */
  float gamma;                          /* discount, [0, 1]; 0.99 */
  float tau;                            /* Polyak rate, (0, 1]; 0.005 */
  float actor_lr, critic_lr;            /* Adam step sizes, > 0; 3e-4 */
  float adam_beta1, adam_beta2, adam_eps; /* [0,1), [0,1), > 0; 0.9, 0.999, 1e-8 */
  float policy_noise;                   /* smoothing std, fraction of half the range; 0.2 */
  float noise_clip;                     /* smoothing clip, fraction of half the range; 0.5 */
  uint32_t policy_delay;                /* actor/target update every d-th iteration, >= 1; 2 */
  uint64_t seed;                        /* init stream (seed, rng_stream_id(RNG_PURPOSE_INIT, 0)) */
} td3_config_t;

#define TD3_MAX_BATCH (1u << 16)

/* Hyperparameter defaults above (the authors' main.py); dims 0, bounds NULL, seed 0. */
void td3_config_default(td3_config_t *c);

typedef struct td3 td3_t;

/* Validates c (each bad field gets its own message in err, code TD3_EINVAL) and allocates
 * everything. Initialisation draws, from one stream, the actor, then critic 1, then critic 2
 * (nn_init_uniform); the targets start as copies. Returns NULL on error. The caller owns the
 * result (td3_destroy). */
td3_t *td3_new(const td3_config_t *c, td3_err_t *err);
/* NULL-safe; sets *p = NULL. */
void td3_destroy(td3_t **p);

typedef struct td3_stats {
  float critic_loss;    /* MSE(Q1, y) + MSE(Q2, y) before the critic step */
  float actor_loss;     /* -mean Q1(s, pi(s)) with the new critic 1 at this iteration's
                         * actor step, else that of the latest one (NaN before the first) */
  float mean_q;         /* mean Q1(s, a) over the batch before the critic step */
  int actor_step;       /* 1 if this iteration updated the actor and the targets */
  uint64_t iterations;  /* completed iterations after this call */
} td3_stats_t;

/* A training batch is a transition_batch_t (transition.h) of at least cfg.batch rows with
 * the networks' dims, e.g. filled by replay_sample; the first cfg.batch rows are used. It is
 * borrowed for the duration of the call and only read. */

/* One TD3 iteration on cfg.batch rows (the "15 steps" of REFERENCE.md):
 *  1. a' = clip(pi_targ(s') + clip(policy_noise half eps, -noise_clip half, noise_clip half),
 *     low, high), eps ~ N(0, 1) drawn from rng per (row, act dim), row-major;
 *  2. y = r + gamma (1 - terminal) min(Q1_targ(s', a'), Q2_targ(s', a'));
 *  3. one Adam step on each critic for MSE(Q1(s,a), y) + MSE(Q2(s,a), y);
 *  4. on iterations d, 2d, ... (counted from 1, as sfujim's total_it): one Adam step on the
 *     actor for -mean Q1(s, pi(s)) using the new critic 1 (critics unchanged by it), then
 *     Polyak-average all three targets.
 * Returns 0, or TD3_ENONFINITE if a loss, a new weight or a new Adam moment is NaN or
 * infinite: then the networks, the Adam state and the iteration count are exactly as before
 * the call (out still gets the losses, for the log). out may be NULL. Allocates nothing. */
int td3_train(td3_t *t, const transition_batch_t *b, rng_t *rng, td3_stats_t *out);
/* The same with the standard-normal draws given: noise (batch, act_dim). */
int td3_train_with_noise(td3_t *t, const transition_batch_t *b, const float *noise,
                         td3_stats_t *out);

/* Deterministic pi(s) with the current actor: obs (n, obs_dim) -> action (n, act_dim),
 * n <= batch. */
void td3_act(td3_t *t, const float *obs, size_t n, float *action);

const td3_config_t *td3_config(const td3_t *t);  /* borrowed; bounds point into t */
uint64_t td3_iterations(const td3_t *t);         /* completed (successful) iterations */
/* Sets the count, e.g. when restoring a checkpoint (it decides the next actor step). */
void td3_set_iterations(td3_t *t, uint64_t iterations);

/* Layer sizes (obs, hidden..., act) into layers (NN_MAX_LAYERS); returns their count. */
uint32_t td3_actor_layers(const td3_t *t, uint32_t *layers);
/* Layer sizes of each critic (obs + act, hidden..., 1); returns their count. */
uint32_t td3_critic_layers(const td3_t *t, uint32_t *layers);
/* The live actor parameters (layout of nn.h) and their count; see the validity rule above. */
const float *td3_actor_params(const td3_t *t, size_t *n_params);

/* The six networks. Values are stable (checkpoints may store them). */
typedef enum td3_net {
  TD3_ACTOR = 0,
  TD3_ACTOR_TARGET = 1,
  TD3_CRITIC1 = 2,
  TD3_CRITIC2 = 3,
  TD3_CRITIC1_TARGET = 4,
  TD3_CRITIC2_TARGET = 5,
  TD3_N_NETS = 6
} td3_net_t;

/* A network's live parameter array (nn.h layout: the actor's by td3_actor_layers, a critic's
 * by td3_critic_layers), writable (to load a checkpoint or a test fixture); *n receives the
 * count if n is not NULL. NULL for a bad which. Valid until the next training call. */
float *td3_params(td3_t *t, td3_net_t which, size_t *n);

/* Adam state of a trained network (TD3_ACTOR, TD3_CRITIC1, TD3_CRITIC2): first and second
 * moments (same layout as the parameters, writable), their count, and the number of Adam
 * steps taken (t in the bias corrections). Returns 0, or TD3_EINVAL for a target network.
 * Pointers valid until the next training call. */
int td3_adam_state(td3_t *t, td3_net_t which, float **m, float **v, size_t *n, uint64_t *step);
/* Sets the step count (checkpoint restore). Returns 0, or TD3_EINVAL for a target network. */
int td3_set_adam_step(td3_t *t, td3_net_t which, uint64_t step);

/* Test hooks: pieces of an iteration with the current weights, changing no network, no Adam
 * state and no count (they reuse the scratch). noise as in td3_train_with_noise. */
/* y (batch) = the TD target of step 2. */
void td3_target_q(td3_t *t, const transition_batch_t *b, const float *noise, float *y);
/* Critic loss of step 3 (returned) and its gradients w.r.t. each critic's parameters,
 * g1, g2 (n_params of a critic each); mean_q may be NULL. */
float td3_critic_grad(td3_t *t, const transition_batch_t *b, const float *noise, float *g1,
                      float *g2, float *mean_q);
/* Actor loss -mean Q1(s, pi(s)) (returned) with the current critic 1, and its gradient
 * w.r.t. the actor parameters, g (n_params of the actor). obs (batch, obs_dim). */
float td3_actor_grad(td3_t *t, const float *obs, float *g);

#endif
