/* Building blocks of a run's config.json (jansson), shared by the learner
 * (learner_config_json) and serial mode (tools/serial/serial.c): numbers written as they
 * always were ("%.6g" for the hyperparameters, "%.9g" for action bounds), the td3 settings,
 * the model path, and the dump into a fixed buffer.
 *
 * Ownership: the json_t results are new references the caller owns (or hands to an object
 * with json_object_set_new). Thread: any. */
#ifndef TD3_RUN_JSON_H
#define TD3_RUN_JSON_H

#include "env.h"
#include "td3.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The number the text "%.<digits>g" of x holds (an integer when that text has no '.' or
 * exponent, so 1 stays 1); null for a non-finite x (target_return NaN: none). digits <= 9. */
json_t *run_json_number(double x, int digits);

/* A whole number; one above JSON's integer range (a seed >= 2^63) as the nearest real. */
json_t *run_json_u64(uint64_t v);

/* A string, or null for NULL (and for text that is not UTF-8). */
json_t *run_json_string(const char *s);

/* The model file env loaded, as an absolute path (rundir_json_path), or null. */
json_t *run_json_model(const env_t *env);

/* Adds batch, gamma, tau, actor_lr, critic_lr, policy_noise, noise_clip, policy_delay,
 * hidden (one entry per hidden layer), obs_dim and act_dim of t to o, in that order. */
void run_json_td3(json_t *o, const td3_config_t *t);

/* o as text into out: indented, or on one line when that does not fit. Returns 0, or -1 when
 * neither fits in cap (out unchanged). */
int run_json_dump(const json_t *o, char *out, size_t cap);

#endif
